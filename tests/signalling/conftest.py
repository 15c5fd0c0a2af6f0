"""Signalling fixtures: the real app on a Starlette test client with the in-memory media fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shopcall.api.deps import services_of
from shopcall.app import create_app
from shopcall.config import Settings
from shopcall.media.fake import FakeMediaBackend
from shopcall.rooms.apps import create_app as create_tenant


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[TestClient, FakeMediaBackend, str]]:
    media = FakeMediaBackend()
    app = create_app(Settings(data_dir=tmp_path / "d"), media=media)
    with TestClient(app) as client:
        tenant, _ = create_tenant(services_of(app).db, "Shop")
        yield client, media, tenant.id
