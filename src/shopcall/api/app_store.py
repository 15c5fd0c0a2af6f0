"""The tenant (`apps`) row as the REST API reads and changes it: credentials and settings.

Synchronous (SQLAlchemy sessions): handlers call it from FastAPI's thread pool or a thread.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from shopcall.auth.secrets import hash_secret, new_app_secret, verify_secret
from shopcall.db.engine import Database
from shopcall.db.models import App, AuditEntry, Recording, Room, utcnow


class AppStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def authenticate(self, app_id: str, secret: str) -> tuple[str, str] | None:
        """(id, name) if `secret` is the app's; None for an unknown app or a wrong secret alike."""
        with self.db.session() as s:
            app = s.get(App, app_id)
            if app is None:
                return None
            if verify_secret(secret, app.secret_hash):
                return app.id, app.name
            in_overlap = app.prev_secret_expires_at is not None and app.prev_secret_expires_at > utcnow()
            if in_overlap and app.prev_secret_hash and verify_secret(secret, app.prev_secret_hash):
                return app.id, app.name
            return None

    def rotate_secret(self, app_id: str, overlap: timedelta) -> tuple[str, App] | None:
        """A new secret (returned once); the current one stays valid for `overlap` (0 = revoked now)."""
        secret = new_app_secret()
        with self.db.session() as s:
            app = s.get(App, app_id, with_for_update=True)
            if app is None:
                return None
            keep = overlap.total_seconds() > 0
            app.prev_secret_hash = app.secret_hash if keep else None
            app.prev_secret_expires_at = utcnow() + overlap if keep else None
            app.secret_hash = hash_secret(secret)
            return secret, app

    def recording_keys(self, app_id: str) -> list[tuple[str | None, str | None]]:
        """(storage key, raw folder) of every recording of the app, for deleting their files."""
        with self.db.session() as s:
            return [(k, f) for k, f in s.execute(select(Recording.storage_key, Recording.folder)
                                                 .where(Recording.app_id == app_id))]

    def open_rooms(self, app_id: str) -> list[str]:
        with self.db.session() as s:
            return list(s.scalars(select(Room.id).where(Room.app_id == app_id, Room.status == "open")))

    def delete(self, app_id: str, actor: str) -> bool:
        """Delete the app with every row it owns (foreign keys cascade; its audit entries too), leaving one
        app-less `app.deleted` entry. False if unknown."""
        with self.db.session() as s:
            app = s.get(App, app_id)
            if app is None:
                return False
            s.delete(app)
            s.execute(delete(AuditEntry).where(AuditEntry.app_id == app_id))
            s.add(AuditEntry(app_id=None, actor=actor, action="app.deleted", details={"app": app_id}))
            return True

    def all(self) -> list[App]:
        """Every app, oldest first."""
        with self.db.session() as s:
            return list(s.scalars(select(App).order_by(App.created_at)))

    def get(self, app_id: str) -> App | None:
        with self.db.session() as s:
            return s.get(App, app_id)

    def widget_origins(self, app_id: str) -> list[str] | None:
        """The origins whose pages may use the app's widget (normalised entries); None for an unknown app."""
        with self.db.session() as s:
            app = s.get(App, app_id)
            if app is None:
                return None
            found = (app.widget or {}).get("allowed_origins", [])
            return [o for o in found if isinstance(o, str)] if isinstance(found, list) else []

    def widget_settings(self, app_id: str) -> dict[str, Any] | None:
        """The app's stored widget group (origins, theme, labels, position); None for an unknown app."""
        with self.db.session() as s:
            app = s.get(App, app_id)
            return None if app is None else dict(app.widget or {})

    def change_region(self, app_id: str, region: str) -> int:
        """Move the app to `region` unless recordings are stored in its current one: 0 when done (or already
        there, audited as `settings.changed`), else the number of recordings that refuse the move."""
        with self.db.session() as s:
            app = s.get(App, app_id, with_for_update=True)
            if app is None or app.region == region:
                return 0
            blocking = len(list(s.scalars(select(Recording.id).where(Recording.app_id == app_id,
                                                                      Recording.region != region))))
            if blocking:
                return blocking
            app.region = region
            s.add(AuditEntry(app_id=app_id, actor=f"app:{app_id}", action="settings.changed",
                             details={"changed": ["region"]}))
            return 0

    def update_settings(self, app_id: str, *, business_hours: dict[str, Any] | None = None,
                        crm_config: dict[str, Any] | None = None, routing: dict[str, Any] | None = None,
                        recording: tuple[str, bool, int | None] | None = None,
                        widget: dict[str, Any] | None = None,
                        retention: dict[str, Any] | None = None) -> App | None:
        """Change the given settings (None = leave as is); `recording` is (policy, consent, retention_days);
        `widget` keys replace the stored ones of the same name, others stay.

        Audited as `settings.changed` by the app, naming the changed groups (never their values)."""
        changed = [name for name, v in (("business_hours", business_hours), ("crm", crm_config),
                                        ("routing", routing), ("recording", recording), ("widget", widget),
                                        ("retention", retention))
                   if v is not None]
        with self.db.session() as s:
            app = s.get(App, app_id)
            if app is None:
                return None
            if changed:
                s.add(AuditEntry(app_id=app_id, actor=f"app:{app_id}", action="settings.changed",
                                 details={"changed": changed}))
            if business_hours is not None:
                app.business_hours = business_hours
            if crm_config is not None:
                app.crm_config = crm_config
            if routing is not None:
                app.routing = routing
            if recording is not None:
                app.recording_policy, app.recording_consent, app.retention_days = recording
            if widget is not None:
                app.widget = {**(app.widget or {}), **widget}
            if retention is not None:  # the kinds sent replace the stored ones; null = keep forever
                app.retention = {k: v for k, v in {**(app.retention or {}), **retention}.items() if v is not None}
            return app
