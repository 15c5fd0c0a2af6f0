"""WooCommerce REST v3 connector against the replay server: fields, X-WP-TotalPages paging, errors."""

from __future__ import annotations

from datetime import UTC, datetime

from shopcall.crm import CrmLookup, connector_for, lookup_with_deadline, parse_crm_config
from tests.crm.conftest import GENERIC, LOCAL, REJECTED, TIMEOUT_S, woo_config
from tests.crm.replay_servers import WOO_500, WOO_JOHN, WOO_KEY, WOO_SECRET, WOO_SLOW, ReplayServer


async def test_customer_by_id_with_orders_across_two_pages(woo, woo_server: ReplayServer) -> None:
    start = len(woo_server.requests)
    r = await lookup_with_deadline(woo, CrmLookup(customer_id=str(WOO_JOHN)))
    assert r.status == "ok" and r.source == "woocommerce"
    p = r.profile
    assert (p.external_id, p.name, p.email, p.phone) == ("25", "John Doe", "john.doe@example.com", "(555) 555-5555")
    assert p.created_at == datetime(2024, 3, 21, 19, 9, 28, tzinfo=UTC)  # date_created_gmt, not site time
    assert [o.number for o in p.orders] == ["727", "726", "725"] and p.orders_count == 3
    o = p.orders[0]
    assert (o.total, o.currency, o.status, o.placed_at) == (39.99, "EUR", "processing",
                                                            datetime(2024, 6, 2, 12, tzinfo=UTC))
    assert [(i.title, i.sku, i.quantity, i.price) for i in o.items] == [
        ("Woo Single #1", "WS-1", 2, 9.0), ("Ship Your Idea", None, 1, 21.99)]
    # paid statuses only (processing + completed), as WooCommerce counts "total spent"
    assert (p.lifetime_value, p.currency) == (84.99, "EUR")

    sent = woo_server.requests[start:]
    assert [q.path for q in sent] == ["/wp-json/wc/v3/customers/25", "/wp-json/wc/v3/orders", "/wp-json/wc/v3/orders"]
    assert [q.query for q in sent[1:]] == [{"customer": "25", "per_page": "100", "page": "1"},
                                           {"customer": "25", "per_page": "100", "page": "2"}]
    assert all(q.headers["authorization"].startswith("Basic ") for q in sent)


async def test_by_email_and_fallback(woo, woo_server: ReplayServer) -> None:
    r = await lookup_with_deadline(woo, CrmLookup(email="JOHN.DOE@example.com"))
    assert r.status == "ok" and r.profile.external_id == "25"
    assert woo_server.requests[-3].query == {"email": "JOHN.DOE@example.com", "role": "all"}
    r = await lookup_with_deadline(woo, CrmLookup(customer_id="12345", email="john.doe@example.com"))
    assert r.status == "ok" and r.profile.name == "John Doe"


async def test_not_found(woo) -> None:
    assert (await lookup_with_deadline(woo, CrmLookup(customer_id="12345"))).status == "not_found"
    assert (await lookup_with_deadline(woo, CrmLookup(email="nobody@example.com"))).status == "not_found"


async def test_bad_credentials_show_woocommerce_message_without_secrets(woo_server: ReplayServer) -> None:
    c = connector_for(parse_crm_config(woo_config(woo_server, consumer_secret="cs_wrong")), db=None,
                      app_id="a", outbound=LOCAL)
    try:
        r = await lookup_with_deadline(c, CrmLookup(customer_id=str(WOO_JOHN)))
    finally:
        await c.aclose()
    assert (r.status, r.error_code) == ("unavailable", "auth")
    assert r.error == REJECTED  # WooCommerce's message is not echoed
    assert WOO_KEY not in r.error and "cs_wrong" not in r.error and WOO_SECRET not in r.error


async def test_server_error_and_timeout(woo) -> None:
    r = await lookup_with_deadline(woo, CrmLookup(customer_id=str(WOO_500)))
    assert (r.status, r.error_code) == ("unavailable", "upstream_error") and r.error == GENERIC
    r = await lookup_with_deadline(woo, CrmLookup(customer_id=str(WOO_SLOW)))
    assert (r.status, r.error_code) == ("unavailable", "timeout")
    assert TIMEOUT_S * 1000 * 0.9 <= r.elapsed_ms <= TIMEOUT_S * 1000 + 300
