"""Helpers for the hardening tests: an app built with chosen settings, cheap password hashes, sign-in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from shopcall.api.deps import services_of
from shopcall.app import create_app
from shopcall.config import Settings
from shopcall.console import accounts
from shopcall.console.accounts import upsert_agent
from shopcall.rooms.apps import create_app as create_tenant

GOOD = "correct horse battery"  # 21 characters: passes the policy


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 with tiny costs: these tests hash dozens of times."""
    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", cheap)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", cheap.hash("dummy"))


@contextmanager
def app_client(tmp_path: Path, db_url: str, client: tuple[str, int] = ("10.1.1.1", 5000),
               **settings: Any) -> Iterator[TestClient]:
    s = Settings(data_dir=tmp_path / "data", database_url=db_url, media_backend="none", **settings)
    with TestClient(create_app(s), client=client) as c:
        yield c


def tenant_with_agents(c: TestClient) -> tuple[str, str]:
    """(app id, secret) of a new app with admin `anna` and agent `ben`, both with password GOOD."""
    db = services_of(c.app).db
    app, secret = create_tenant(db, "Shop")
    upsert_agent(db, app.id, "anna", name="Anna", password=GOOD, role="admin")
    upsert_agent(db, app.id, "ben", name="Ben", password=GOOD)
    return app.id, secret


def login(c: TestClient, app_id: str, who: str, password: str = GOOD) -> Any:
    return c.post("/v1/console/login", json={"app_id": app_id, "login": who, "password": password})
