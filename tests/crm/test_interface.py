"""The deadline wrapper, the lookup model and the configuration union (secrets never shown)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from pydantic import ValidationError

from shopcall.crm import (
    CrmConnector,
    CrmLookup,
    CustomerProfile,
    HttpCrmConfig,
    ShopifyCrmConfig,
    connector_for,
    dump_crm_config,
    lookup_with_deadline,
    parse_crm_config,
)
from shopcall.crm.builtin import BuiltinConnector
from shopcall.crm.generic_http import HttpConnector
from shopcall.crm.shopify import ShopifyConnector
from shopcall.crm.woocommerce import WooCommerceConnector
from tests.crm.conftest import GENERIC, LOCAL, http_config
from tests.crm.replay_servers import ReplayServer


class _Hanging:
    """Ignores its own timeout: only the overall deadline can stop it."""

    name = "hanging"
    timeout_s = 30.0

    async def lookup(self, q: CrmLookup) -> CustomerProfile | None:
        await asyncio.sleep(60)
        return None

    async def aclose(self) -> None:
        pass


class _Broken(_Hanging):
    name = "broken"

    async def lookup(self, q: CrmLookup) -> CustomerProfile | None:
        raise KeyError("bug")


async def test_overall_deadline_holds_and_the_loop_stays_free() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    t = asyncio.create_task(ticker())
    started = time.monotonic()
    r = await lookup_with_deadline(_Hanging(), CrmLookup(customer_id="x"), timeout_s=0.3)
    wall = time.monotonic() - started
    t.cancel()
    assert (r.status, r.error_code, r.source) == ("unavailable", "timeout", "hanging")
    assert r.error == "CRM unavailable: the CRM did not answer in time"
    assert 280 <= r.elapsed_ms <= 500 and wall < 0.5
    assert ticks >= 15  # the event loop (signalling, the call) kept running meanwhile


async def test_deadline_defaults_to_the_connectors_timeout(http_server: ReplayServer) -> None:
    # the connector's own HTTP timeout is 5 s; the wrapper applies the explicit 0.4 s budget
    c = connector_for(parse_crm_config(http_config(http_server, timeout_s=5)), db=None, app_id="a",
                      outbound=LOCAL)
    try:
        r = await lookup_with_deadline(c, CrmLookup(customer_id="slow"), timeout_s=0.4)
    finally:
        await c.aclose()
    assert (r.status, r.error_code) == ("unavailable", "timeout") and 360 <= r.elapsed_ms <= 700
    assert c.timeout_s == 5


async def test_unexpected_errors_never_escape() -> None:
    r = await lookup_with_deadline(_Broken(), CrmLookup(email="a@b.example"))
    assert (r.status, r.error_code, r.profile) == ("unavailable", "internal", None)
    assert r.error == GENERIC
    json.dumps(r.to_json())


async def test_external_cancellation_propagates() -> None:
    task = asyncio.create_task(lookup_with_deadline(_Hanging(), CrmLookup(customer_id="x"), timeout_s=5))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_lookup_needs_an_id_or_an_email() -> None:
    assert CrmLookup(customer_id="  42 ", email="").model_dump() == {"customer_id": "42", "email": None}
    with pytest.raises(ValidationError, match="needs a customer_id or an email"):
        CrmLookup(customer_id=" ", email=None)


def test_secrets_never_show_in_repr_str_or_dumps() -> None:
    secrets = ["shpat_supersecret", "ck_key_secret", "cs_secret_secret", "bearer_secret"]
    configs = [
        parse_crm_config({"kind": "shopify", "shop": "Nordlys.myshopify.com", "access_token": secrets[0]}),
        parse_crm_config({"kind": "woocommerce", "site_url": "https://shop.example.com/", "consumer_key": secrets[1],
                          "consumer_secret": secrets[2]}),
        parse_crm_config(json.dumps({"kind": "http", "url": "https://crm.example.com/x", "token": secrets[3]})),
    ]
    for config in configs:
        shown = [repr(config), str(config), json.dumps(dump_crm_config(config)), config.model_dump_json()]
        assert not any(s in text for s in secrets for text in shown), shown
    assert dump_crm_config(configs[0], reveal_secrets=True)["access_token"] == secrets[0]
    assert dump_crm_config(configs[1], reveal_secrets=True)["consumer_secret"] == secrets[2]
    assert parse_crm_config(dump_crm_config(configs[2], reveal_secrets=True)) == configs[2]


def test_config_validation_and_defaults() -> None:
    shopify = parse_crm_config({"kind": "shopify", "shop": "Nordlys.myshopify.com", "access_token": "t"})
    assert isinstance(shopify, ShopifyCrmConfig)
    assert (shopify.shop, shopify.api_version, shopify.timeout_s) == ("nordlys", "2024-10", 2.0)
    assert parse_crm_config({"kind": "builtin"}).timeout_s == 2.0
    assert isinstance(parse_crm_config({"kind": "http", "url": "https://x.example/crm"}), HttpCrmConfig)
    bad = [
        {"kind": "salesforce"},
        {"kind": "shopify", "access_token": "t"},  # no shop, no base_url
        {"kind": "shopify", "shop": "evil.com/x", "access_token": "t"},
        {"kind": "http", "url": "ftp://x.example"},
        {"kind": "http", "url": "https://x.example", "timeout_s": 0},
        {"kind": "woocommerce", "site_url": "https://x.example", "consumer_key": "k"},
        {"kind": "builtin", "surprise": 1},
    ]
    for data in bad:
        with pytest.raises(ValidationError):
            parse_crm_config(data)


async def test_connector_for_builds_each_kind(db) -> None:
    built = [
        connector_for(parse_crm_config({"kind": "builtin", "timeout_s": 1}), db=db, app_id="app_x"),
        connector_for(parse_crm_config({"kind": "shopify", "shop": "nordlys", "access_token": "t"}), db=None,
                      app_id="a"),
        connector_for(parse_crm_config({"kind": "woocommerce", "site_url": "https://s.example", "consumer_key": "k",
                                        "consumer_secret": "s"}), db=None, app_id="a"),
        connector_for(parse_crm_config({"kind": "http", "url": "https://x.example/crm"}), db=None, app_id="a"),
    ]
    try:
        assert [type(c) for c in built] == [BuiltinConnector, ShopifyConnector, WooCommerceConnector, HttpConnector]
        assert all(isinstance(c, CrmConnector) for c in built)
        assert built[0].timeout_s == 1 and built[0].app_id == "app_x"
        assert built[1].base_url == "https://nordlys.myshopify.com/admin/api/2024-10"
        assert built[2].base_url == "https://s.example/wp-json/wc/v3"
    finally:
        for c in built:
            await c.aclose()
    with pytest.raises(ValueError, match="needs the database"):
        connector_for(parse_crm_config({"kind": "builtin"}), db=None, app_id="a")
