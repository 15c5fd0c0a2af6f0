from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from shopcall.api.deps import services_of
from shopcall.app import create_app
from shopcall.config import Settings
from shopcall.rooms.apps import create_app as create_tenant


class Tenant:
    def __init__(self, app_id: str, secret: str) -> None:
        self.id, self.secret = app_id, secret
        self.auth = httpx.BasicAuth(app_id, secret)


@pytest.fixture
def client(tmp_path, db_url) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", database_url=db_url, media_backend="none")
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def tenant(client) -> Tenant:
    return Tenant(*_create(client, "Shop A"))


@pytest.fixture
def other_tenant(client) -> Tenant:
    return Tenant(*_create(client, "Shop B"))


def _create(client: TestClient, name: str) -> tuple[str, str]:
    a, secret = create_tenant(services_of(client.app).db, name)
    return a.id, secret
