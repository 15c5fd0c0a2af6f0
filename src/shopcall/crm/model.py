"""The one customer shape every connector returns, whatever the vendor: the console panel renders only this."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


def as_utc(v: datetime) -> datetime:
    """Vendors mix naive and offset timestamps; compare and show them all as aware UTC."""
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)


def money(v: Decimal | float | int) -> float:
    """Amounts travel as floats in currency units (the panel only displays them), rounded to cents."""
    return float(round(Decimal(str(v)), 2))


class OrderItem(BaseModel):
    model_config = ConfigDict(coerce_numbers_to_str=True)

    title: str
    sku: str | None = None
    quantity: int = Field(ge=0)
    price: float = Field(description="unit price in the order's currency")


class OrderSummary(BaseModel):
    model_config = ConfigDict(coerce_numbers_to_str=True)

    external_id: str = Field(min_length=1)
    number: str | None = Field(None, description="what the shop shows the customer, e.g. '#1001'")
    placed_at: datetime
    total: float
    currency: str | None = None
    status: str | None = None
    items: list[OrderItem] = Field(default_factory=list)

    @field_validator("placed_at")
    @classmethod
    def _placed_utc(cls, v: datetime) -> datetime:
        return as_utc(v)


class CustomerProfile(BaseModel):
    model_config = ConfigDict(coerce_numbers_to_str=True)

    external_id: str
    name: str
    email: str | None = None
    phone: str | None = None
    created_at: datetime | None = None
    tags: list[str] = Field(default_factory=list)
    orders: list[OrderSummary] = Field(default_factory=list, description="most recent first")
    lifetime_value: float = Field(description="in `currency` units")
    currency: str | None = None
    orders_count: int = Field(ge=0, description="all orders, even when `orders` holds only the first pages")
    source: str = Field(description="connector name: builtin, shopify, woocommerce or http")

    @field_validator("created_at")
    @classmethod
    def _created_utc(cls, v: datetime | None) -> datetime | None:
        return None if v is None else as_utc(v)

    @field_validator("orders")
    @classmethod
    def _newest_first(cls, v: list[OrderSummary]) -> list[OrderSummary]:
        return sorted(v, key=lambda o: o.placed_at, reverse=True)


def lifetime_value(orders: Sequence[OrderSummary]) -> tuple[float, str | None]:
    """Sum of totals in the currency of the most recent order (other currencies cannot be added up)."""
    if not orders:
        return 0.0, None
    currency = max(orders, key=lambda o: o.placed_at).currency
    return money(sum(Decimal(str(o.total)) for o in orders if o.currency == currency)), currency


class CrmLookup(BaseModel):
    """Who to look up: the merchant's customer id and/or an email (id first, email as fallback)."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    customer_id: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320)

    @field_validator("customer_id", "email")
    @classmethod
    def _blank_is_none(cls, v: str | None) -> str | None:
        return v or None

    @model_validator(mode="after")
    def _one_needed(self) -> CrmLookup:
        if self.customer_id is None and self.email is None:
            raise ValueError("a CRM lookup needs a customer_id or an email")
        return self
