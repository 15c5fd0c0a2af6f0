"""Subject access and erasure for the built-in customer store (customers and their orders).

A customer is found by their customer id (`external_id`) or email; erasure deletes the customer
with their orders (an external CRM keeps its own data: the merchant erases it there).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from shopcall.db.engine import Database
from shopcall.db.models import Customer
from shopcall.db.subject import Subject, row_dict


class CrmSubjectData:
    name: str = "crm"
    tables: tuple[str, ...] = ("customers", "orders")

    def __init__(self, db: Database) -> None:
        self.db = db

    def _customers(self, s: Any, subject: Subject) -> list[Customer]:
        q = subject.query
        return list(s.scalars(select(Customer).where(Customer.app_id == subject.app_id, or_(
            Customer.external_id.in_(subject.customer_ids | {q}),
            func.lower(Customer.email).in_(subject.emails | {q.lower()})))))

    def identify(self, subject: Subject) -> None:
        with self.db.session() as s:
            for c in self._customers(s, subject):
                subject.customer_ids.add(c.external_id)
                subject.names.add(c.name)
                if c.email:
                    subject.emails.add(c.email.lower())

    def export(self, subject: Subject) -> dict[str, list[dict[str, Any]]]:
        with self.db.session() as s:
            customers = self._customers(s, subject)
            return {"customers": [row_dict(c) for c in customers],
                    "orders": [row_dict(o) for c in customers for o in c.orders]}

    def erase(self, subject: Subject) -> dict[str, int]:
        with self.db.session() as s:
            customers = self._customers(s, subject)
            orders = sum(len(c.orders) for c in customers)
            for c in customers:
                s.delete(c)  # orders cascade
        return {k: v for k, v in (("customers.deleted", len(customers)), ("orders.deleted", orders)) if v}
