"""Subject access and erasure for the audit log.

Audit entries name actors and ids, not contact data, but some name a shopper (`shopper:<identity>` for a
consent decision, `identity` of a minted token). Those are exported and, on erasure, kept with the
shopper's identifiers replaced: the log still shows that something happened, not to whom.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from shopcall.db.engine import Database
from shopcall.db.models import AuditEntry
from shopcall.db.subject import Subject, drop_ips, find_ips, mentions, row_dict, scrub


class AuditSubjectData:
    name: str = "audit"
    tables: tuple[str, ...] = ("audit_log",)

    def __init__(self, db: Database) -> None:
        self.db = db

    def _entries(self, s: Any, subject: Subject) -> list[AuditEntry]:
        needles = subject.needles()
        rows = s.scalars(select(AuditEntry).where(AuditEntry.app_id == subject.app_id))
        return [e for e in rows if mentions([e.actor, e.details], needles)]

    def identify(self, subject: Subject) -> None:
        return None

    def export(self, subject: Subject) -> dict[str, list[dict[str, Any]]]:
        with self.db.session() as s:
            return {"audit_log": [row_dict(e) for e in self._entries(s, subject)]}

    def erase(self, subject: Subject) -> dict[str, int]:
        needles = subject.needles()
        with self.db.session() as s:
            entries = self._entries(s, subject)
            for e in entries:
                e.actor, e.details = scrub(e.actor, needles)[:200], scrub(e.details, needles)
        return {"audit_log.anonymised": len(entries)} if entries else {}

    retention_kinds: tuple[str, ...] = ("ip_addresses",)

    def retain(self, app_id: str, kind: str, before: datetime) -> dict[str, int]:
        n = 0
        with self.db.session() as s:
            for e in s.scalars(select(AuditEntry).where(AuditEntry.app_id == app_id, AuditEntry.created_at < before)):
                if find_ips(e.details):
                    e.details = drop_ips(e.details)
                    n += 1
        return {"audit_log.ips_removed": n}
