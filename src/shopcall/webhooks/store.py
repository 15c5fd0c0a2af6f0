"""Reads of the webhook tables for the API (endpoints, the delivery log) and the conversions table.

Endpoint changes that touch secrets (create, rotate, delete) and delivery state stay with
`WebhookDispatcher`, which owns the signing box and the delivery loop. Synchronous (SQLAlchemy
sessions): handlers call it from FastAPI's thread pool or a thread.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shopcall.db.engine import Database
from shopcall.db.ids import new_id
from shopcall.db.models import Call, Conversion, WebhookDelivery, WebhookEndpoint


class DuplicateOrder(ValueError):
    """The app already recorded a conversion for this order id."""


class WebhookStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def endpoints(self, app_id: str) -> list[WebhookEndpoint]:
        """The app's active endpoints, oldest first."""
        with self.db.session() as s:
            return list(s.scalars(select(WebhookEndpoint)
                                  .where(WebhookEndpoint.app_id == app_id, WebhookEndpoint.active.is_(True))
                                  .order_by(WebhookEndpoint.created_at)))

    def deliveries(self, app_id: str, *, status: str | None = None, event_type: str | None = None,
                   endpoint_id: str | None = None, delivery_id: str | None = None,
                   limit: int = 50) -> list[tuple[WebhookDelivery, str]]:
        """The app's deliveries, newest first, each with its endpoint's URL; None filters match all."""
        q = (select(WebhookDelivery, WebhookEndpoint.url).join(WebhookEndpoint)
             .where(WebhookDelivery.app_id == app_id)
             .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(limit))
        for col, val in ((WebhookDelivery.status, status), (WebhookDelivery.event_type, event_type),
                         (WebhookDelivery.endpoint_id, endpoint_id), (WebhookDelivery.id, delivery_id)):
            if val is not None:
                q = q.where(col == val)
        with self.db.session() as s:
            return list(s.execute(q))

    def add_conversion(self, app_id: str, *, call_id: str, order_id: str, amount_cents: int,
                       currency: str) -> tuple[Conversion, Call] | None:
        """Attribute an order to one of the app's calls; None if the call is not the app's.

        Raises DuplicateOrder when the order is already recorded, also when two posts race.
        """
        try:
            with self.db.session() as s:
                call = s.get(Call, call_id)
                if call is None or call.app_id != app_id:
                    return None
                if s.scalar(select(Conversion.id).where(Conversion.app_id == app_id, Conversion.order_id == order_id)):
                    raise DuplicateOrder(order_id)
                conv = Conversion(id=new_id("cv"), app_id=app_id, call_id=call.id, order_id=order_id,
                                  amount_cents=amount_cents, currency=currency)
                s.add(conv)
                s.flush()
        except IntegrityError:  # the same order posted twice at the same moment
            raise DuplicateOrder(order_id) from None
        return conv, call
