"""Database helpers: the health ping and the typed UPDATE row count."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import update

from shopcall.db.engine import Database, rowcount
from shopcall.db.models import App
from shopcall.rooms.apps import create_app


def test_ping_tells_a_reachable_database_from_an_unreachable_one(tmp_path: Path) -> None:
    ok = Database(f"sqlite:///{tmp_path / 'ok.db'}")
    down = Database("postgresql://nobody@127.0.0.1:1/none")  # nothing listens on port 1
    try:
        assert ok.ping() is True
        assert down.ping() is False
    finally:
        ok.dispose()
        down.dispose()


def test_rowcount_of_an_orm_update(db: Database) -> None:
    app, _ = create_app(db, "Shop")
    with db.session() as s:
        assert rowcount(s.execute(update(App).where(App.id == app.id).values(name="Renamed"))) == 1
        assert rowcount(s.execute(update(App).where(App.id == "app_none").values(name="x"))) == 0
