"""Replay servers (one per vendor, shared by the session) and connectors built through the factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from shopcall.crm import CrmConnector, connector_for, parse_crm_config
from shopcall.outbound import OutboundPolicy
from tests.crm.replay_servers import (
    HTTP_TOKEN,
    SHOPIFY_TOKEN,
    SHOPIFY_VERSION,
    WOO_KEY,
    WOO_SECRET,
    ReplayServer,
    http_route,
    shopify_route,
    woo_route,
)

TIMEOUT_S = 0.5  # the replay servers' slow mode sleeps 1.5 s
# The replay servers listen on loopback, which connectors refuse unless the operator allows it.
LOCAL = OutboundPolicy.parse(["127.0.0.1"])
GENERIC = "CRM unavailable: please try again later"  # what agents see; details go to the server log
REJECTED = "CRM unavailable: the CRM rejected the credentials"


def _serve(route: Any) -> Iterator[ReplayServer]:
    server = ReplayServer(route).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def shopify_server() -> Iterator[ReplayServer]:
    yield from _serve(shopify_route)


@pytest.fixture(scope="session")
def woo_server() -> Iterator[ReplayServer]:
    yield from _serve(woo_route)


@pytest.fixture(scope="session")
def http_server() -> Iterator[ReplayServer]:
    yield from _serve(http_route)


def shopify_config(server: ReplayServer, **kw: Any) -> dict[str, Any]:
    return {"kind": "shopify", "base_url": f"{server.origin}/admin/api/{SHOPIFY_VERSION}",
            "access_token": SHOPIFY_TOKEN, "timeout_s": TIMEOUT_S, **kw}


def woo_config(server: ReplayServer, **kw: Any) -> dict[str, Any]:
    return {"kind": "woocommerce", "site_url": server.origin, "consumer_key": WOO_KEY, "consumer_secret": WOO_SECRET,
            "timeout_s": TIMEOUT_S, **kw}


def http_config(server: ReplayServer, **kw: Any) -> dict[str, Any]:
    return {"kind": "http", "url": f"{server.origin}/crm", "token": HTTP_TOKEN, "timeout_s": TIMEOUT_S, **kw}


async def _connector(config: dict[str, Any]) -> AsyncIterator[CrmConnector]:
    c = connector_for(parse_crm_config(config), db=None, app_id="app_test", outbound=LOCAL)
    yield c
    await c.aclose()


@pytest.fixture
async def shopify(shopify_server: ReplayServer) -> AsyncIterator[CrmConnector]:
    async for c in _connector(shopify_config(shopify_server)):
        yield c


@pytest.fixture
async def woo(woo_server: ReplayServer) -> AsyncIterator[CrmConnector]:
    async for c in _connector(woo_config(woo_server)):
        yield c


@pytest.fixture
async def merchant_http(http_server: ReplayServer) -> AsyncIterator[CrmConnector]:
    async for c in _connector(http_config(http_server)):
        yield c
