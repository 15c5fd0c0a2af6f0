"""Shared fixtures: settings in a temp folder (with or without a real Janus), and a database on SQLite and
PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopcall.config import Settings
from shopcall.db.engine import Database

PG_ADMIN_URL = os.environ.get("SHOPCALL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
JANUS = "/usr/bin/janus"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# TURN stays off unless a test asks for it (turn_mode="managed", turn_port=0): every test app (and server
# subprocess, which inherits this) starting coturn on port 3478 would only fight over that port.
os.environ.setdefault("SHOPCALL_TURN_MODE", "off")


def _pg_available() -> bool:
    from sqlalchemy import create_engine, text

    try:
        with create_engine(PG_ADMIN_URL).connect() as c:
            c.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", media_backend="none")


@pytest.fixture
def janus_settings(tmp_path: Path) -> Settings:
    """Settings for Debian's real Janus; the test is skipped where it is not installed."""
    if not os.path.exists(JANUS):
        pytest.skip(f"{JANUS} is not installed")
    # A port range of its own so a parallel Janus (another test run) does not collide.
    return Settings(data_dir=tmp_path / "data", rtp_port_min=41000, rtp_port_max=41999, janus_binary=JANUS)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind. PostgreSQL is required in CI (CI=true)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL} (required in CI)")
        pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432 (runs in CI)")
    from sqlalchemy import create_engine, text

    name = "shopcall_t_" + secrets.token_hex(4)
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    d = Database(db_url)
    d.migrate()
    yield d
    d.dispose()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
