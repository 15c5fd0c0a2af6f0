"""Shopify Admin REST API: customer by id or email, orders with Link-header cursor pagination."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import httpx
from pydantic import BaseModel

from shopcall.crm import _http
from shopcall.crm.base import CrmUnavailable
from shopcall.crm.model import CrmLookup, CustomerProfile, OrderItem, OrderSummary, lifetime_value, money
from shopcall.outbound import OutboundPolicy

VENDOR = "Shopify"
DEFAULT_API_VERSION = "2024-10"
PAGE_LIMIT = 250


class _LineItem(BaseModel):
    title: str = ""
    sku: str | None = None
    quantity: int = 0
    price: Decimal = Decimal(0)


class _Order(BaseModel):
    id: int
    name: str | None = None
    created_at: datetime
    total_price: Decimal
    currency: str | None = None
    financial_status: str | None = None
    line_items: list[_LineItem] = []


class _Customer(BaseModel):
    id: int
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    created_at: datetime | None = None
    tags: str | None = ""
    orders_count: int | None = None
    total_spent: Decimal | None = None
    currency: str | None = None


class _CustomerBody(BaseModel):
    customer: _Customer


class _SearchBody(BaseModel):
    customers: list[_Customer]


class _OrdersBody(BaseModel):
    orders: list[_Order]



class ShopifyConnector:
    """Needs an Admin API access token with read_customers and read_orders scopes."""

    name = "shopify"

    def __init__(self, *, access_token: str, shop: str | None = None, base_url: str | None = None,
                 api_version: str = DEFAULT_API_VERSION, timeout_s: float = 2.0,
                 outbound: OutboundPolicy | None = None, max_order_pages: int = 4) -> None:
        if not base_url and not shop:
            raise ValueError("Shopify needs a shop name or a base_url")
        self.base_url = (base_url or f"https://{shop}.myshopify.com/admin/api/{api_version}").rstrip("/")
        self.timeout_s = timeout_s
        self.max_order_pages = max_order_pages
        self._client = _http.make_client(self.base_url, timeout_s, headers={"X-Shopify-Access-Token": access_token},
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
        return _profile(customer, await self._orders(customer.id))

    async def _get(self, url: str, params: dict[str, str | int] | None = None) -> _http.JsonResponse:
        r = await _http.get_json(self._client, VENDOR, url, params)
        _http.check_status(r, VENDOR)
        return r

    async def _by_id(self, cid: str) -> _Customer | None:
        r = await self._get(f"/customers/{cid}.json")
        return None if r.status == 404 else _http.parse(_CustomerBody, r.data, VENDOR, "customer").customer

    async def _by_email(self, email: str) -> _Customer | None:
        r = await self._get("/customers/search.json", {"query": f"email:{email}"})
        if r.status == 404:
            return None
        found = _http.parse(_SearchBody, r.data, VENDOR, "customer search result").customers
        # search is fuzzy across fields; showing the wrong person is worse than showing nobody
        return next((c for c in found if (c.email or "").lower() == email.lower()), None)

    async def _orders(self, customer_id: int) -> list[_Order]:
        url: str | None = "/orders.json"
        params: dict[str, str | int] | None = {"customer_id": customer_id, "status": "any", "limit": PAGE_LIMIT}
        orders: list[_Order] = []
        pages = 0
        while url is not None and pages < self.max_order_pages:
            r = await self._get(url, params)
            if r.status == 404:
                raise CrmUnavailable("bad_response", "Shopify answered 404 for the orders list")
            orders += _http.parse(_OrdersBody, r.data, VENDOR, "orders page").orders
            url, params = self._next_page(r), None  # the next link carries its own page_info and limit
            pages += 1
        return orders

    def _next_page(self, r: _http.JsonResponse) -> str | None:
        nxt = r.links.get("next", {}).get("url")
        if not nxt:
            return None
        target, base = httpx.URL(nxt), httpx.URL(self.base_url)
        if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
            raise CrmUnavailable("bad_response", "Shopify's next-page link points to another host; not followed")
        return nxt


def _profile(c: _Customer, raw_orders: list[_Order]) -> CustomerProfile:
    orders = [
        OrderSummary(external_id=str(o.id), number=o.name, placed_at=o.created_at, total=money(o.total_price),
                     currency=o.currency, status=o.financial_status,
                     items=[OrderItem(title=i.title, sku=i.sku or None, quantity=i.quantity, price=money(i.price))
                            for i in o.line_items])
        for o in raw_orders
    ]
    ltv, currency = lifetime_value(orders)
    name = " ".join(p for p in (c.first_name, c.last_name) if p) or c.email or f"Customer {c.id}"
    return CustomerProfile(
        external_id=str(c.id), name=name, email=c.email, phone=c.phone or None, created_at=c.created_at,
        tags=[t.strip() for t in (c.tags or "").split(",") if t.strip()], orders=orders,
        # Shopify's own totals cover every order, also those beyond the pages we fetched
        lifetime_value=money(c.total_spent) if c.total_spent is not None else ltv,
        currency=c.currency or currency,
        orders_count=c.orders_count if c.orders_count is not None else len(orders), source="shopify",
    )
