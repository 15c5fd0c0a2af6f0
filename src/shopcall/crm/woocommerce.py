"""WooCommerce REST API v3: customer by id or email, orders paged with X-WP-TotalPages."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import overload

import httpx
from pydantic import BaseModel

from shopcall.crm import _http
from shopcall.crm.base import CrmUnavailable
from shopcall.crm.model import CrmLookup, CustomerProfile, OrderItem, OrderSummary, as_utc, money
from shopcall.outbound import OutboundPolicy

VENDOR = "WooCommerce"
PER_PAGE = 100
PAID_STATUSES = frozenset({"processing", "completed"})  # what WooCommerce itself counts as "total spent"


class _Billing(BaseModel):
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None


class _Customer(BaseModel):
    id: int
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    date_created: datetime | None = None
    date_created_gmt: datetime | None = None
    billing: _Billing | None = None


class _LineItem(BaseModel):
    name: str = ""
    sku: str | None = None
    quantity: int = 0
    price: Decimal = Decimal(0)  # a JSON number in v3 (a string in older versions; both parse)


class _Order(BaseModel):
    id: int
    number: str | None = None
    status: str | None = None
    currency: str | None = None
    date_created: datetime
    date_created_gmt: datetime | None = None
    total: Decimal
    line_items: list[_LineItem] = []


class _Customers(BaseModel):
    items: list[_Customer]


class _Orders(BaseModel):
    items: list[_Order]



@overload
def _gmt(local: datetime, gmt: datetime | None) -> datetime: ...


@overload
def _gmt(local: datetime | None, gmt: datetime | None) -> datetime | None: ...


def _gmt(local: datetime | None, gmt: datetime | None) -> datetime | None:
    """`date_created` is in the site's time zone without an offset; `*_gmt` is UTC."""
    return as_utc(gmt) if gmt is not None else local


class WooCommerceConnector:
    """Needs a REST API key with Read access (WooCommerce → Settings → Advanced → REST API)."""

    name = "woocommerce"

    def __init__(self, *, site_url: str, consumer_key: str, consumer_secret: str, timeout_s: float = 2.0,
                 outbound: OutboundPolicy | None = None,
                 max_order_pages: int = 5) -> None:
        self.base_url = site_url.rstrip("/") + "/wp-json/wc/v3"
        self.timeout_s = timeout_s
        self.max_order_pages = max_order_pages
        self._client = _http.make_client(self.base_url, timeout_s, auth=httpx.BasicAuth(consumer_key, consumer_secret),
                                         outbound=outbound)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def lookup(self, q: CrmLookup) -> CustomerProfile | None:
        customer = None
        if q.customer_id and (cid := _http.numeric_id(q.customer_id)):
            customer = await self._by_id(cid)
        if customer is None and q.email:
            customer = await self._by_email(q.email)
        if customer is None:
            return None
        orders, total = await self._orders(customer.id)
        return _profile(customer, orders, total)

    async def _get(self, url: str, params: dict[str, str | int] | None = None) -> _http.JsonResponse:
        r = await _http.get_json(self._client, VENDOR, url, params)
        _http.check_status(r, VENDOR)
        return r

    async def _by_id(self, cid: str) -> _Customer | None:
        r = await self._get(f"/customers/{cid}")
        return None if r.status == 404 else _http.parse(_Customer, r.data, VENDOR, "customer")

    async def _by_email(self, email: str) -> _Customer | None:
        r = await self._get("/customers", {"email": email, "role": "all"})
        if r.status == 404:
            return None
        found = _http.parse(_Customers, {"items": r.data}, VENDOR, "customer list").items
        return next((c for c in found if (c.email or "").lower() == email.lower()), None)

    async def _orders(self, customer_id: int) -> tuple[list[_Order], int]:
        """All orders up to the page cap, and the total count WooCommerce reports (X-WP-Total)."""
        orders: list[_Order] = []
        page, total_pages, total = 1, 1, None
        while page <= min(total_pages, self.max_order_pages):
            r = await self._get("/orders", {"customer": customer_id, "per_page": PER_PAGE, "page": page})
            if r.status == 404:
                raise CrmUnavailable("bad_response", "WooCommerce answered 404 for the orders list")
            batch = _http.parse(_Orders, {"items": r.data}, VENDOR, "orders page").items
            orders += batch
            total_pages = _int(r.headers.get("X-WP-TotalPages")) or (page + 1 if len(batch) == PER_PAGE else page)
            total = _int(r.headers.get("X-WP-Total"))
            page += 1
        return orders, total if total is not None else len(orders)


def _profile(c: _Customer, raw_orders: list[_Order], orders_count: int) -> CustomerProfile:
    orders = [
        OrderSummary(external_id=str(o.id), number=o.number, placed_at=_gmt(o.date_created, o.date_created_gmt),
                     total=money(o.total), currency=o.currency, status=o.status,
                     items=[OrderItem(title=i.name, sku=i.sku or None, quantity=i.quantity, price=money(i.price))
                            for i in o.line_items])
        for o in raw_orders
    ]
    paid = [o for o in orders if o.status in PAID_STATUSES]
    currency = max(orders, key=lambda o: o.placed_at).currency if orders else None
    ltv = money(sum((Decimal(str(o.total)) for o in paid if o.currency == currency), Decimal(0)))
    billing = c.billing or _Billing()
    name = (" ".join(p for p in (c.first_name, c.last_name) if p)
            or " ".join(p for p in (billing.first_name, billing.last_name) if p)
            or c.username or c.email or f"Customer {c.id}")
    return CustomerProfile(
        external_id=str(c.id), name=name, email=c.email, phone=billing.phone or None,
        created_at=_gmt(c.date_created, c.date_created_gmt), orders=orders, lifetime_value=ltv,
        currency=currency, orders_count=max(orders_count, len(orders)), source="woocommerce",
    )


def _int(v: str | None) -> int | None:
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None
