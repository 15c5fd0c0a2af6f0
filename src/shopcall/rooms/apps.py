"""Tenant (app) records."""

from __future__ import annotations

from shopcall.auth.secrets import hash_secret, new_app_secret
from shopcall.db.engine import Database
from shopcall.db.ids import new_id
from shopcall.db.models import App


def create_app(db: Database, name: str, *, app_id: str | None = None, secret: str | None = None) -> tuple[App, str]:
    """Return (app, secret). The secret is not stored, only its digest: show it once."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ValueError("the app name must be 1-200 characters")
    secret = secret or new_app_secret()
    with db.session() as s:
        app = App(id=app_id or new_id("app"), name=name, secret_hash=hash_secret(secret))
        s.add(app)
    return app, secret


def app_exists(db: Database, app_id: str) -> bool:
    with db.session() as s:
        return s.get(App, app_id) is not None
