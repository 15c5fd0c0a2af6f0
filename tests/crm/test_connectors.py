"""CrmConnectors: one connector per app and configuration, replaced (and the old one closed) when it changes."""

from __future__ import annotations

import pytest

from shopcall.api.app_store import AppStore
from shopcall.crm.builtin import BuiltinConnector
from shopcall.crm.connectors import CrmConnectors, CrmMisconfigured
from shopcall.crm.generic_http import HttpConnector
from shopcall.db.engine import Database
from shopcall.rooms.apps import create_app

KEY = b"k" * 48


async def test_connector_is_kept_until_the_settings_change(db: Database) -> None:
    app, _ = create_app(db, "Shop")
    connectors = CrmConnectors(db, KEY)
    first = await connectors.for_app(app.id)
    assert isinstance(first, BuiltinConnector) and await connectors.for_app(app.id) is first

    AppStore(db).update_settings(app.id, crm_config={"kind": "http", "url": "https://crm.example/lookup"})
    http = await connectors.for_app(app.id)
    assert isinstance(http, HttpConnector) and await connectors.for_app(app.id) is http

    AppStore(db).update_settings(app.id, crm_config={"kind": "http", "url": "https://crm2.example/lookup"})
    replacement = await connectors.for_app(app.id)
    assert replacement is not http and http._client.is_closed  # the replaced pool is released

    await connectors.aclose()
    assert replacement._client.is_closed


async def test_stored_settings_that_no_longer_validate_are_reported(db: Database) -> None:
    app, _ = create_app(db, "Shop")
    AppStore(db).update_settings(app.id, crm_config={"kind": "shopify"})  # no shop, no token
    with pytest.raises(CrmMisconfigured, match="access_token"):
        await CrmConnectors(db, KEY).for_app(app.id)
