"""Subject access and erasure for the console's tables: call notes and callback requests.

Notes about the shopper's calls (or naming their customer id) and their callback requests (found by
the identity or customer in their context, or by the email they left as contact) are deleted: both are
free text written about or by the shopper, which cannot be anonymised reliably.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select

from shopcall.db.engine import Database, rowcount
from shopcall.db.models import CallbackRequest, CallNote
from shopcall.db.subject import Subject, drop_ips, find_ips, row_dict


class ConsoleSubjectData:
    name: str = "console"
    tables: tuple[str, ...] = ("call_notes", "callback_requests")

    def __init__(self, db: Database) -> None:
        self.db = db

    def _callbacks(self, s: Any, subject: Subject) -> list[CallbackRequest]:
        contacts = {*subject.emails, subject.query.lower()}
        rows = s.scalars(select(CallbackRequest).where(CallbackRequest.app_id == subject.app_id))
        return [r for r in rows if r.contact.strip().lower() in contacts
                or (r.context or {}).get("identity") in subject.identities
                or (r.context or {}).get("customer") in subject.customer_ids]

    def _notes(self, s: Any, subject: Subject) -> list[CallNote]:
        return list(s.scalars(select(CallNote).where(CallNote.app_id == subject.app_id, or_(
            CallNote.call_id.in_(subject.calls), CallNote.customer_id.in_(subject.customer_ids)))))

    def identify(self, subject: Subject) -> None:
        with self.db.session() as s:
            for r in self._callbacks(s, subject):
                if "@" in r.contact:
                    subject.emails.add(r.contact.strip().lower())
                if r.name:
                    subject.names.add(r.name)
                ident = (r.context or {}).get("identity")
                if isinstance(ident, str) and ident:
                    subject.identities.add(ident)
                subject.ips |= find_ips(r.context)
            # a callback left with the email the query names (no customer record needed)
            hits = s.scalar(select(func.count()).select_from(CallbackRequest).where(
                CallbackRequest.app_id == subject.app_id, func.lower(CallbackRequest.contact) == subject.query.lower()))
            if hits and "@" in subject.query:
                subject.emails.add(subject.query.lower())

    def export(self, subject: Subject) -> dict[str, list[dict[str, Any]]]:
        with self.db.session() as s:
            return {"call_notes": [row_dict(n) for n in self._notes(s, subject)],
                    "callback_requests": [row_dict(r) for r in self._callbacks(s, subject)]}

    def erase(self, subject: Subject) -> dict[str, int]:
        with self.db.session() as s:
            notes, callbacks = self._notes(s, subject), self._callbacks(s, subject)
            for row in (*notes, *callbacks):
                s.delete(row)
        return {k: v for k, v in (("call_notes.deleted", len(notes)),
                                  ("callback_requests.deleted", len(callbacks))) if v}

    retention_kinds: tuple[str, ...] = ("callback_requests", "ip_addresses")

    def retain(self, app_id: str, kind: str, before: datetime) -> dict[str, int]:
        with self.db.session() as s:
            if kind == "callback_requests":
                return {"callback_requests.deleted": rowcount(s.execute(delete(CallbackRequest).where(
                    CallbackRequest.app_id == app_id, CallbackRequest.created_at < before)))}
            n = 0
            for r in s.scalars(select(CallbackRequest).where(CallbackRequest.app_id == app_id,
                                                             CallbackRequest.created_at < before)):
                if find_ips(r.context):
                    r.context = drop_ips(r.context)
                    n += 1
            return {"callback_requests.ips_removed": n}
