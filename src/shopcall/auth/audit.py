"""The audit log (`audit_log`): who did what to an app's data or credentials, and when.

Entries name the acting identity (`agent:anna`, `app:<id>`, `cli`, `shopper:<identity>`) and ids;
never passwords, secrets, tokens or other personal data.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shopcall.db.engine import Database
from shopcall.db.models import AuditEntry


def record(db: Database, app_id: str | None, actor: str, action: str, **details: Any) -> None:
    """Write one entry (its own transaction)."""
    with db.session() as s:
        s.add(AuditEntry(app_id=app_id, actor=actor[:200], action=action[:60], details=details))


def entries(db: Database, app_id: str, *, limit: int = 100, before_id: int | None = None) -> list[AuditEntry]:
    """The app's entries, newest first."""
    q = select(AuditEntry).where(AuditEntry.app_id == app_id)
    if before_id is not None:
        q = q.where(AuditEntry.id < before_id)
    with db.session() as s:
        return list(s.scalars(q.order_by(AuditEntry.id.desc()).limit(limit)))
