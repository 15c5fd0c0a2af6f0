"""Migration 0010 (apps.retention, app_keys) goes down and up again on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect, text

from shopcall.db.engine import Database
from tests.unit.test_migrations import _alembic


def test_0010_down_and_up_keeps_apps(db_url: str) -> None:
    db = Database(db_url)
    try:
        db.migrate()
        cols = {c["name"] for c in inspect(db.engine).get_columns("apps")}
        assert "retention" in cols and "app_keys" in inspect(db.engine).get_table_names()
        with db.engine.begin() as c:
            c.execute(text("INSERT INTO apps (id, name, secret_hash, region, created_at, crm_config, business_hours,"
                           " routing, recording_policy, recording_consent, widget, retention) VALUES ('app_r', 'S',"
                           " 'h', 'eu', CURRENT_TIMESTAMP, '{}', '{}', '{}', 'off', true, '{}', '{\"chat\": 30}')"))
            c.execute(text("INSERT INTO app_keys (app_id, version, wrapped, created_at) VALUES "
                           "('app_r', 1, 'x', CURRENT_TIMESTAMP)"))
        _alembic(db, "downgrade", "0009")
        assert "app_keys" not in inspect(db.engine).get_table_names()
        assert "retention" not in {c["name"] for c in inspect(db.engine).get_columns("apps")}
        _alembic(db, "upgrade", "head")
        with db.engine.connect() as c:
            assert c.execute(text("SELECT region FROM apps WHERE id = 'app_r'")).scalar_one() == "eu"
    finally:
        db.dispose()
