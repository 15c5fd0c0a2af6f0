"""The tenant (`apps`) row as the REST API reads and changes it: credentials and settings.

Synchronous (SQLAlchemy sessions): handlers call it from FastAPI's thread pool or a thread.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shopcall.auth.secrets import verify_secret
from shopcall.db.engine import Database
from shopcall.db.models import App


class AppStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def authenticate(self, app_id: str, secret: str) -> tuple[str, str] | None:
        """(id, name) if `secret` is the app's; None for an unknown app or a wrong secret alike."""
        with self.db.session() as s:
            app = s.get(App, app_id)
            if app is None or not verify_secret(secret, app.secret_hash):
                return None
            return app.id, app.name

    def all(self) -> list[App]:
        """Every app, oldest first."""
        with self.db.session() as s:
            return list(s.scalars(select(App).order_by(App.created_at)))

    def get(self, app_id: str) -> App | None:
        with self.db.session() as s:
            return s.get(App, app_id)

    def update_settings(self, app_id: str, *, business_hours: dict[str, Any] | None = None,
                        crm_config: dict[str, Any] | None = None, routing: dict[str, Any] | None = None,
                        recording: tuple[str, bool, int | None] | None = None) -> App | None:
        """Change the given settings (None = leave as is); `recording` is (policy, consent, retention_days)."""
        with self.db.session() as s:
            app = s.get(App, app_id)
            if app is None:
                return None
            if business_hours is not None:
                app.business_hours = business_hours
            if crm_config is not None:
                app.crm_config = crm_config
            if routing is not None:
                app.routing = routing
            if recording is not None:
                app.recording_policy, app.recording_consent, app.retention_days = recording
            return app
