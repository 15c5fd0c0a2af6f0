"""The built-in customer store (tables `customers` and `orders`), one tenant per connector."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from shopcall.crm.base import CrmUnavailable
from shopcall.crm.model import CrmLookup, CustomerProfile, OrderItem, OrderSummary, lifetime_value, money
from shopcall.db.engine import Database
from shopcall.db.models import Customer, Order


class BuiltinConnector:
    """Reads only rows of `app_id`: one merchant can never see another's customers."""

    name = "builtin"

    def __init__(self, db: Database, app_id: str, *, timeout_s: float = 2.0) -> None:
        self._db = db
        self.app_id = app_id
        self.timeout_s = timeout_s

    async def aclose(self) -> None:
        return None

    async def lookup(self, q: CrmLookup) -> CustomerProfile | None:
        # the engine is synchronous: a thread keeps a slow database from stalling the signalling loop
        try:
            return await asyncio.to_thread(self._lookup, q)
        except SQLAlchemyError as e:
            detail = f"the customer store is not reachable ({type(e).__name__})"
            raise CrmUnavailable("database_error", detail) from None

    def _lookup(self, q: CrmLookup) -> CustomerProfile | None:
        with self._db.session() as s:
            customer = None
            if q.customer_id:
                customer = s.scalar(select(Customer).where(Customer.app_id == self.app_id,
                                                           Customer.external_id == q.customer_id))
            if customer is None and q.email:
                customer = s.scalars(
                    select(Customer)
                    .where(Customer.app_id == self.app_id, func.lower(Customer.email) == q.email.lower())
                    .order_by(Customer.id.desc())
                    .limit(1)
                ).first()
            if customer is None:
                return None
            orders = s.scalars(select(Order).where(Order.customer_id == customer.id)).all()
            return _profile(customer, orders)


def _profile(c: Customer, rows: Sequence[Order]) -> CustomerProfile:
    orders = [
        OrderSummary(external_id=o.external_id, placed_at=o.placed_at, total=money(o.total_cents / 100),
                     currency=o.currency, items=[_item(i) for i in o.items or [] if isinstance(i, dict)])
        for o in rows
    ]
    ltv, currency = lifetime_value(orders)
    return CustomerProfile(external_id=c.external_id, name=c.name, email=c.email, orders=orders,
                           lifetime_value=ltv, currency=currency, orders_count=len(orders), source="builtin")


def _item(d: dict[str, Any]) -> OrderItem:
    """Items are stored as {title, sku, qty, price_cents}; rows seeded before titles existed lack `title`."""
    cents = d.get("price_cents")
    price = money(cents / 100) if isinstance(cents, int | float) else money(d.get("price") or 0)
    sku = d.get("sku")
    return OrderItem(title=str(d.get("title") or sku or "item"), sku=str(sku) if sku else None,
                     quantity=int(d.get("qty", d.get("quantity", 1)) or 0), price=price)
