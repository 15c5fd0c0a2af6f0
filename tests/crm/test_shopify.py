"""Shopify Admin REST connector against the replay server: fields, Link pagination, errors, timeouts."""

from __future__ import annotations

from datetime import UTC, datetime

from shopcall.crm import CrmLookup, connector_for, lookup_with_deadline, parse_crm_config
from tests.crm.conftest import GENERIC, LOCAL, REJECTED, TIMEOUT_S, shopify_config
from tests.crm.replay_servers import (
    SHOPIFY_429,
    SHOPIFY_500,
    SHOPIFY_BOB,
    SHOPIFY_BROKEN_ORDERS,
    SHOPIFY_SLOW,
    SHOPIFY_TOKEN,
    ReplayServer,
)


async def test_customer_by_id_with_orders_across_three_pages(shopify, shopify_server: ReplayServer) -> None:
    start = len(shopify_server.requests)
    r = await lookup_with_deadline(shopify, CrmLookup(customer_id=str(SHOPIFY_BOB)))
    assert r.status == "ok" and r.error is None and r.source == "shopify"
    p = r.profile
    assert (p.external_id, p.name, p.email, p.phone) == (str(SHOPIFY_BOB), "Bob Norman",
                                                         "bob.norman@mail.example.com", "+16136120707")
    assert p.tags == ["Léon", "Noël", "vip"]
    assert p.created_at == datetime(2024, 1, 1, 19, 28, 30, tzinfo=UTC)
    # Shopify's own total (refunds excluded) wins over adding up the fetched orders (697.49)
    assert (p.lifetime_value, p.currency, p.orders_count) == (647.99, "USD", 5)
    assert [o.number for o in p.orders] == ["#1005", "#1004", "#1003", "#1002", "#1001"]
    o = p.orders[1]
    assert (o.external_id, o.total, o.currency, o.status) == ("450789468", 403.0, "USD", "paid")
    assert [(i.title, i.sku, i.quantity, i.price) for i in o.items] == [
        ("IPod Nano - 8gb", "IPOD2008RED", 2, 199.0), ("Gift wrap", None, 1, 5.0)]
    assert p.orders[2].status == "refunded"

    sent = shopify_server.requests[start:]
    assert [q.path.rsplit("/", 1)[-1] for q in sent] == [f"{SHOPIFY_BOB}.json", "orders.json", "orders.json",
                                                          "orders.json"]
    assert all(q.headers["x-shopify-access-token"] == SHOPIFY_TOKEN for q in sent)
    assert sent[1].query == {"customer_id": str(SHOPIFY_BOB), "status": "any", "limit": "250"}
    assert set(sent[2].query) == {"limit", "page_info"}  # the Link URL followed exactly as given


async def test_email_search_takes_only_an_exact_match(shopify) -> None:
    r = await lookup_with_deadline(shopify, CrmLookup(email="Bob.Norman@mail.example.com"))
    assert r.status == "ok" and r.profile.name == "Bob Norman" and r.profile.orders_count == 5
    # the search also returns Bob for this near miss: showing the wrong person is worse than nobody
    r = await lookup_with_deadline(shopify, CrmLookup(email="bob.norman@other.example.com"))
    assert r.status == "not_found" and r.profile is None


async def test_unknown_id_falls_back_to_email_and_gid_ids_work(shopify) -> None:
    r = await lookup_with_deadline(shopify, CrmLookup(customer_id="1", email="laura@example.com"))
    assert r.status == "ok" and r.profile.name == "Laura Schmidt"
    assert (r.profile.orders, r.profile.orders_count, r.profile.lifetime_value, r.profile.tags) == ([], 0, 0.0, [])
    r = await lookup_with_deadline(shopify, CrmLookup(customer_id=f"gid://shopify/Customer/{SHOPIFY_BOB}"))
    assert r.status == "ok" and r.profile.external_id == str(SHOPIFY_BOB)


async def test_not_found(shopify) -> None:
    assert (await lookup_with_deadline(shopify, CrmLookup(customer_id="404404"))).status == "not_found"
    # not a Shopify id: never sent as a path segment
    assert (await lookup_with_deadline(shopify, CrmLookup(customer_id="../orders"))).status == "not_found"


async def test_bad_token_is_an_auth_error_without_the_token(shopify_server: ReplayServer) -> None:
    c = connector_for(parse_crm_config(shopify_config(shopify_server, access_token="shpat_wrong_token")), db=None,
                      app_id="a", outbound=LOCAL)
    try:
        r = await lookup_with_deadline(c, CrmLookup(customer_id=str(SHOPIFY_BOB)))
    finally:
        await c.aclose()
    assert (r.status, r.error_code) == ("unavailable", "auth")
    assert r.error == REJECTED  # no body, no token


async def test_rate_limit_and_server_errors_are_unavailable(shopify) -> None:
    r = await lookup_with_deadline(shopify, CrmLookup(customer_id=str(SHOPIFY_429)))
    assert (r.status, r.error_code) == ("unavailable", "rate_limited") and r.error == "CRM unavailable: the CRM is busy"
    r = await lookup_with_deadline(shopify, CrmLookup(customer_id=str(SHOPIFY_500)))
    assert (r.status, r.error_code) == ("unavailable", "upstream_error") and r.error == GENERIC
    # a failing second page makes the whole lookup unavailable rather than silently partial
    r = await lookup_with_deadline(shopify, CrmLookup(customer_id=str(SHOPIFY_BROKEN_ORDERS)))
    assert (r.status, r.error_code, r.profile) == ("unavailable", "upstream_error", None) and r.error == GENERIC


async def test_slow_shop_is_cut_at_the_timeout(shopify) -> None:
    r = await lookup_with_deadline(shopify, CrmLookup(customer_id=str(SHOPIFY_SLOW)))
    assert (r.status, r.error_code) == ("unavailable", "timeout")
    assert TIMEOUT_S * 1000 * 0.9 <= r.elapsed_ms <= TIMEOUT_S * 1000 + 300


async def test_order_page_cap_keeps_the_full_count(shopify_server: ReplayServer) -> None:
    c = connector_for(parse_crm_config(shopify_config(shopify_server, max_order_pages=2)), db=None,
                      app_id="a", outbound=LOCAL)
    try:
        r = await lookup_with_deadline(c, CrmLookup(customer_id=str(SHOPIFY_BOB)))
    finally:
        await c.aclose()
    assert len(r.profile.orders) == 4 and r.profile.orders_count == 5
