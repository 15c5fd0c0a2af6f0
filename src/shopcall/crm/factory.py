"""Per-app CRM configuration (a tagged union) and the connector it builds. Secrets are SecretStr."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, field_validator, model_validator

from shopcall.crm.base import DEFAULT_TIMEOUT_S, CrmConnector
from shopcall.crm.builtin import BuiltinConnector
from shopcall.crm.generic_http import HttpConnector
from shopcall.crm.shopify import DEFAULT_API_VERSION, ShopifyConnector
from shopcall.crm.woocommerce import WooCommerceConnector
from shopcall.db.engine import Database
from shopcall.outbound import OutboundPolicy

Timeout = Annotated[float, Field(DEFAULT_TIMEOUT_S, gt=0, le=30, description="seconds for the whole lookup")]


def _http_url(v: str) -> str:
    if not re.match(r"^https?://[^/\s]+", v):
        raise ValueError("must be an http:// or https:// URL")
    return v.rstrip("/")


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BuiltinCrmConfig(_Base):
    kind: Literal["builtin"] = "builtin"
    timeout_s: Timeout


class ShopifyCrmConfig(_Base):
    kind: Literal["shopify"]
    shop: str | None = Field(None, description="the NAME in NAME.myshopify.com")
    base_url: str | None = Field(None, description="overrides https://{shop}.myshopify.com/admin/api/{api_version}")
    access_token: SecretStr
    api_version: str = Field(DEFAULT_API_VERSION, pattern=r"^\d{4}-\d{2}$|^unstable$")
    timeout_s: Timeout
    max_order_pages: int = Field(4, ge=1, le=20, description="pages of 250 orders")

    @field_validator("shop")
    @classmethod
    def _shop_name(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.strip().lower().removeprefix("https://").removesuffix("/").removesuffix(".myshopify.com")
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,99}", v):
            raise ValueError("shop must be the NAME of NAME.myshopify.com")
        return v

    @field_validator("base_url")
    @classmethod
    def _base(cls, v: str | None) -> str | None:
        return None if v is None else _http_url(v)

    @model_validator(mode="after")
    def _where(self) -> ShopifyCrmConfig:
        if not self.shop and not self.base_url:
            raise ValueError("Shopify needs `shop` (or `base_url`)")
        return self


class WooCommerceCrmConfig(_Base):
    kind: Literal["woocommerce"]
    site_url: str = Field(description="the WordPress site, e.g. https://shop.example.com")
    consumer_key: SecretStr
    consumer_secret: SecretStr
    timeout_s: Timeout
    max_order_pages: int = Field(5, ge=1, le=20, description="pages of 100 orders")

    @field_validator("site_url")
    @classmethod
    def _site(cls, v: str) -> str:
        return _http_url(v)


class HttpCrmConfig(_Base):
    kind: Literal["http"]
    url: str = Field(description="GET {url}?customer_id=..&email=.. returns the profile JSON (docs/crm.md)")
    token: SecretStr | None = Field(None, description="sent as `Authorization: Bearer <token>`")
    timeout_s: Timeout

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _http_url(v)


CrmConfig = Annotated[BuiltinCrmConfig | ShopifyCrmConfig | WooCommerceCrmConfig | HttpCrmConfig,
                      Field(discriminator="kind")]
_adapter: TypeAdapter[CrmConfig] = TypeAdapter(CrmConfig)


def parse_crm_config(data: dict[str, Any] | str | bytes) -> CrmConfig:
    """From a dict or a JSON string (e.g. a stored per-app setting). Raises pydantic.ValidationError."""
    return _adapter.validate_json(data) if isinstance(data, str | bytes) else _adapter.validate_python(data)


def dump_crm_config(config: CrmConfig, *, reveal_secrets: bool = False) -> dict[str, Any]:
    """JSON-ready dict; secrets masked unless `reveal_secrets` (only for writing to the settings store)."""
    out = config.model_dump(mode="json")
    if reveal_secrets:
        for key, value in config:
            if isinstance(value, SecretStr):
                out[key] = value.get_secret_value()
    return out


def target_urls(config: CrmConfig) -> list[str]:
    """The URLs a connector will fetch, for the save-time outbound check (empty for the builtin store)."""
    match config:
        case ShopifyCrmConfig():
            return [config.base_url or f"https://{config.shop}.myshopify.com/"]
        case WooCommerceCrmConfig():
            return [config.site_url]
        case HttpCrmConfig():
            return [config.url]
    return []


def connector_for(config: CrmConfig, *, db: Database | None, app_id: str,
                  outbound: OutboundPolicy | None = None) -> CrmConnector:
    """A connector for one app (`db` is needed by "builtin" only).

    `outbound` is the operator's policy for the addresses connectors may reach (default: public only).
    Connectors hold an HTTP connection pool: keep one per app and `await connector.aclose()` it when the
    app's configuration changes or the server stops.
    """
    match config:
        case BuiltinCrmConfig():
            if db is None:
                raise ValueError("the builtin CRM needs the database")
            return BuiltinConnector(db, app_id, timeout_s=config.timeout_s)
        case ShopifyCrmConfig():
            return ShopifyConnector(access_token=config.access_token.get_secret_value(), shop=config.shop,
                                    base_url=config.base_url, api_version=config.api_version,
                                    timeout_s=config.timeout_s, max_order_pages=config.max_order_pages,
                                    outbound=outbound)
        case WooCommerceCrmConfig():
            return WooCommerceConnector(site_url=config.site_url,
                                        consumer_key=config.consumer_key.get_secret_value(),
                                        consumer_secret=config.consumer_secret.get_secret_value(),
                                        timeout_s=config.timeout_s, max_order_pages=config.max_order_pages,
                                        outbound=outbound)
        case HttpCrmConfig():
            token = config.token.get_secret_value() if config.token else None
            return HttpConnector(url=config.url, token=token, timeout_s=config.timeout_s, outbound=outbound)
    raise TypeError(f"unknown CRM config {type(config).__name__}")
