"""Alembic migrations (run to head at every start) go down and up again, on SQLite and PostgreSQL."""

import json

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from shopcall.db.engine import MIGRATIONS, Database


def _alembic(db: Database, *args: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, args[0])(cfg, *args[1:])


def _app_columns(db: Database) -> set[str]:
    return {c["name"] for c in inspect(db.engine).get_columns("apps")}


def test_0008_widget_settings_downgrade_and_upgrade_keep_apps(db_url: str) -> None:
    db = Database(db_url)
    try:
        db.migrate()
        assert "widget" in _app_columns(db)
        with db.engine.begin() as c:
            c.execute(text("INSERT INTO apps (id, name, secret_hash, region, created_at, crm_config, business_hours,"
                           " routing, recording_policy, recording_consent, widget) VALUES ('app_m', 'Shop', 'h', "
                           "'local', CURRENT_TIMESTAMP, '{}', '{}', '{}', 'off', true, "
                           "'{\"allowed_origins\": [\"https://shop.example.com\"]}')"))
        _alembic(db, "downgrade", "0007")
        assert "widget" not in _app_columns(db)
        _alembic(db, "upgrade", "head")
        with db.engine.connect() as c:
            row = c.execute(text("SELECT name, widget FROM apps WHERE id = 'app_m'")).one()
        widget = row.widget if isinstance(row.widget, dict) else json.loads(row.widget)
        assert row.name == "Shop" and widget == {}  # the column comes back empty for rows that outlived it
        _alembic(db, "downgrade", "base")
        assert "apps" not in inspect(db.engine).get_table_names()
        db.migrate()
        assert "widget" in _app_columns(db)
    finally:
        db.dispose()


def test_0009_agent_locale_downgrade_and_upgrade(db_url: str) -> None:
    db = Database(db_url)
    try:
        db.migrate()
        assert "locale" in {c["name"] for c in inspect(db.engine).get_columns("agents")}
        _alembic(db, "downgrade", "0008")
        assert "locale" not in {c["name"] for c in inspect(db.engine).get_columns("agents")}
        _alembic(db, "upgrade", "head")
        assert "locale" in {c["name"] for c in inspect(db.engine).get_columns("agents")}
    finally:
        db.dispose()
