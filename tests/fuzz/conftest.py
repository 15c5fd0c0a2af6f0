"""Fuzzing fixtures: the real app in-process (API-only for schemathesis, the media fake for signalling),
a tenant with an admin and an agent, and the credentials each kind of endpoint needs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from shopcall.api.deps import services_of
from shopcall.auth import tokens
from shopcall.config import Settings
from shopcall.console import accounts
from shopcall.console.accounts import upsert_agent
from shopcall.rooms.apps import create_app as create_tenant
from shopcall.rooms.store import RoomStore

PASSWORD = "correct horse battery"
COOKIE = "sc_console"
# Limits high enough that the fuzzer's own failed sign-ins and wrong secrets never lock it out (a 429 would
# hide what a request does). `test_limits_still_answer_429` checks the limits with the defaults.
NO_LIMITS: dict[str, Any] = {
    "login_limits": ["100000/minute"],
    "login_address_limits": ["100000/minute"],
    "token_mint_limit": "100000/minute",
}


@pytest.fixture(scope="session")
def cheap_hashing() -> Iterator[None]:
    """argon2 with tiny costs: the fuzzer signs in again after every logout or password change."""
    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(accounts, "_hasher", cheap)
        mp.setattr(accounts, "_DUMMY_HASH", cheap.hash("dummy"))
        yield


def fuzz_settings(data_dir: Path, **overrides: Any) -> Settings:
    return Settings(data_dir=data_dir, media_backend="none", **{**NO_LIMITS, **overrides})


@dataclass
class FuzzTenant:
    """The tenant the fuzzer acts as: app secret (HTTP Basic), admin console session, shopper token."""

    app: FastAPI
    app_id: str
    secret: str
    room_id: str
    shopper_token: str
    cookie: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def seed_admin(self) -> None:
        db = services_of(self.app).db
        upsert_agent(db, self.app_id, "anna", name="Anna", password=PASSWORD, role="admin")
        upsert_agent(db, self.app_id, "ben", name="Ben", password=PASSWORD)
        accounts.set_disabled(db, self.app_id, "anna", False)


def make_tenant(app: FastAPI) -> FuzzTenant:
    services = services_of(app)
    tenant, secret = create_tenant(services.db, "Fuzz Shop")
    room = RoomStore(services.db).create_room(tenant.id, name="fuzz room")
    token, _ = tokens.mint(services.signing_key, app_id=tenant.id, identity="cus_fuzz", role="shopper",
                           rooms=[room.id], ttl_s=3600)
    t = FuzzTenant(app=app, app_id=tenant.id, secret=secret, room_id=room.id, shopper_token=token)
    t.seed_admin()
    return t


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything here is `fuzz` (`pytest -m fuzz` runs only the fuzzers, `-m "not fuzz"` skips them)."""
    for item in items:
        if "tests/fuzz/" in item.nodeid:
            item.add_marker(pytest.mark.fuzz)
