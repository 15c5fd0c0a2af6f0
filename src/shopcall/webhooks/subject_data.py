"""Subject access and erasure for the webhook delivery log.

Deliveries whose payload or attempt log mentions the shopper (their identity, customer id, email, name or
IP address, or one of their calls or rooms) are exported; on erasure, queued ones (pending) are deleted
so their data never leaves, and delivered or failed ones are kept for the delivery log with the shopper's
identifiers replaced.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from shopcall.db.engine import Database
from shopcall.db.models import WebhookDelivery
from shopcall.db.subject import Subject, drop_ips, find_ips, mentions, row_dict, scrub


class WebhookSubjectData:
    name: str = "webhooks"
    tables: tuple[str, ...] = ("webhook_deliveries",)

    def __init__(self, db: Database) -> None:
        self.db = db

    def _deliveries(self, s: Any, subject: Subject) -> list[WebhookDelivery]:
        needles = [*subject.needles(), *subject.calls, *subject.rooms]
        rows = s.scalars(select(WebhookDelivery).where(WebhookDelivery.app_id == subject.app_id))
        return [d for d in rows if mentions([d.payload, d.log, d.last_error], needles)]

    def identify(self, subject: Subject) -> None:
        return None

    def export(self, subject: Subject) -> dict[str, list[dict[str, Any]]]:
        with self.db.session() as s:
            return {"webhook_deliveries": [row_dict(d) for d in self._deliveries(s, subject)]}

    def erase(self, subject: Subject) -> dict[str, int]:
        needles = subject.needles()
        deleted = anonymised = 0
        with self.db.session() as s:
            for d in self._deliveries(s, subject):
                if d.status == "pending":
                    s.delete(d)
                    deleted += 1
                else:
                    d.payload, d.log = scrub(d.payload, needles), scrub(d.log, needles)
                    d.last_error = scrub(d.last_error, needles) if d.last_error else d.last_error
                    anonymised += 1
        return {k: v for k, v in (("webhook_deliveries.deleted", deleted),
                                  ("webhook_deliveries.anonymised", anonymised)) if v}

    retention_kinds: tuple[str, ...] = ("ip_addresses",)

    def retain(self, app_id: str, kind: str, before: datetime) -> dict[str, int]:
        n = 0
        with self.db.session() as s:
            for d in s.scalars(select(WebhookDelivery).where(WebhookDelivery.app_id == app_id,
                                                             WebhookDelivery.created_at < before)):
                if find_ips(d.payload):
                    d.payload = drop_ips(d.payload)
                    n += 1
        return {"webhook_deliveries.ips_removed": n}
