"""The merchant's own endpoint: GET {url}?customer_id=..&email=.. answering the documented profile JSON."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shopcall.crm import _http
from shopcall.crm.model import CrmLookup, CustomerProfile, OrderSummary, lifetime_value
from shopcall.outbound import OutboundPolicy

VENDOR = "the merchant's CRM endpoint"


class HttpProfilePayload(BaseModel):
    """The contract (docs/crm.md): a CustomerProfile in which the totals may be left for ShopCall to compute."""

    model_config = ConfigDict(coerce_numbers_to_str=True, extra="ignore")

    external_id: str = Field(min_length=1)
    name: str
    email: str | None = None
    phone: str | None = None
    created_at: datetime | None = None
    tags: list[str] = Field(default_factory=list)
    orders: list[OrderSummary] = Field(default_factory=list)
    lifetime_value: float | None = None
    currency: str | None = None
    orders_count: int | None = Field(None, ge=0)

    def to_profile(self) -> CustomerProfile:
        ltv, currency = lifetime_value(self.orders)
        return CustomerProfile(
            external_id=self.external_id, name=self.name, email=self.email, phone=self.phone,
            created_at=self.created_at, tags=self.tags, orders=self.orders,
            lifetime_value=self.lifetime_value if self.lifetime_value is not None else ltv,
            currency=self.currency or currency,
            orders_count=self.orders_count if self.orders_count is not None else len(self.orders), source="http",
        )



class HttpConnector:
    """200 = the profile, 404 = unknown customer, 401/403 = bad token, anything else = unavailable."""

    name = "http"

    def __init__(self, *, url: str, token: str | None = None, timeout_s: float = 2.0,
                 outbound: OutboundPolicy | None = None) -> None:
        self.url = url
        self.timeout_s = timeout_s
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = _http.make_client("", timeout_s, headers=headers, outbound=outbound)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def lookup(self, q: CrmLookup) -> CustomerProfile | None:
        params = {k: v for k, v in (("customer_id", q.customer_id), ("email", q.email)) if v}
        r = await _http.get_json(self._client, VENDOR, self.url, params)
        _http.check_status(r, VENDOR)
        if r.status == 404:
            return None
        return _http.parse(HttpProfilePayload, r.data, VENDOR, "profile").to_profile()
