"""CRM connectors behind one interface: built-in store, Shopify, WooCommerce, the merchant's own HTTP endpoint.

The console calls `lookup_with_deadline(connector_for(config, db=..., app_id=...), CrmLookup(...))`,
which never raises and never takes longer than the configured timeout.

Names are re-exported lazily so that `shopcall crm --help` (and every other CLI command) does not pay
for importing SQLAlchemy, Alembic and httpx up front.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "base": ("CrmAuthError", "CrmConnector", "CrmError", "CrmResult", "CrmUnavailable", "lookup_with_deadline"),
    "factory": ("BuiltinCrmConfig", "CrmConfig", "HttpCrmConfig", "ShopifyCrmConfig", "WooCommerceCrmConfig",
                "connector_for", "dump_crm_config", "parse_crm_config"),
    "model": ("CrmLookup", "CustomerProfile", "OrderItem", "OrderSummary"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = [  # grouped like _EXPORTS
    "CrmAuthError", "CrmConnector", "CrmError", "CrmResult", "CrmUnavailable", "lookup_with_deadline",
    "BuiltinCrmConfig", "CrmConfig", "HttpCrmConfig", "ShopifyCrmConfig", "WooCommerceCrmConfig",
    "connector_for", "dump_crm_config", "parse_crm_config",
    "CrmLookup", "CustomerProfile", "OrderItem", "OrderSummary",
]

if TYPE_CHECKING:
    from shopcall.crm.base import (
        CrmAuthError,
        CrmConnector,
        CrmError,
        CrmResult,
        CrmUnavailable,
        lookup_with_deadline,
    )
    from shopcall.crm.factory import (
        BuiltinCrmConfig,
        CrmConfig,
        HttpCrmConfig,
        ShopifyCrmConfig,
        WooCommerceCrmConfig,
        connector_for,
        dump_crm_config,
        parse_crm_config,
    )
    from shopcall.crm.model import CrmLookup, CustomerProfile, OrderItem, OrderSummary


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'shopcall.crm' has no attribute {name!r}")
    return getattr(importlib.import_module(f"shopcall.crm.{_WHERE[name]}"), name)
