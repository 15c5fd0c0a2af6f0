"""The merchant's own endpoint: the documented JSON contract, 404, invalid shapes, errors, timeouts."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

from shopcall.crm import CrmLookup, connector_for, lookup_with_deadline, parse_crm_config
from tests.crm.conftest import GENERIC, LOCAL, REJECTED, TIMEOUT_S, http_config
from tests.crm.replay_servers import HTTP_TOKEN, ReplayServer


async def test_valid_profile_with_totals_computed(merchant_http, http_server: ReplayServer) -> None:
    r = await lookup_with_deadline(merchant_http, CrmLookup(customer_id="c1", email="mia@example.com"))
    assert r.status == "ok" and r.source == "http"
    p = r.profile
    assert (p.name, p.phone, p.tags, p.source) == ("Mia Jensen", "+45 1234 5678", ["vip", "headphones"], "http")
    # lifetime_value / orders_count / currency were left out: computed from the orders
    assert (p.lifetime_value, p.orders_count, p.currency) == (169.7, 2, "EUR")
    assert p.orders[0].placed_at == datetime(2024, 5, 2, 8, 15, tzinfo=UTC)
    assert [(i.title, i.quantity, i.price) for i in p.orders[1].items] == [("Ear cushions", 2, 19.9)]
    sent = http_server.requests[-1]
    assert sent.query == {"customer_id": "c1", "email": "mia@example.com"}
    assert sent.headers["authorization"] == f"Bearer {HTTP_TOKEN}"
    r = await lookup_with_deadline(merchant_http, CrmLookup(email="mia@example.com"))
    assert r.status == "ok" and http_server.requests[-1].query == {"email": "mia@example.com"}


async def test_404_is_not_found(merchant_http) -> None:
    r = await lookup_with_deadline(merchant_http, CrmLookup(customer_id="someone-else"))
    assert (r.status, r.profile, r.error) == ("not_found", None, None)


async def test_contract_violations_are_unavailable_with_field_names_only(merchant_http) -> None:
    r = await lookup_with_deadline(merchant_http, CrmLookup(customer_id="bad_shape"))
    assert (r.status, r.error_code) == ("unavailable", "bad_response")
    assert r.error == GENERIC  # agents see no detail (the field names go to the server log)
    r = await lookup_with_deadline(merchant_http, CrmLookup(customer_id="not_json"))
    assert (r.status, r.error_code) == ("unavailable", "bad_response") and r.error == GENERIC


async def test_errors_timeouts_and_a_closed_port(merchant_http, http_server: ReplayServer) -> None:
    r = await lookup_with_deadline(merchant_http, CrmLookup(customer_id="boom"))
    assert (r.status, r.error_code) == ("unavailable", "upstream_error") and r.error == GENERIC  # no body echoed
    r = await lookup_with_deadline(merchant_http, CrmLookup(customer_id="slow"))
    assert (r.status, r.error_code) == ("unavailable", "timeout")
    assert TIMEOUT_S * 1000 * 0.9 <= r.elapsed_ms <= TIMEOUT_S * 1000 + 300

    bad = connector_for(parse_crm_config(http_config(http_server, token="wrong")), db=None, app_id="a", outbound=LOCAL)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    down = connector_for(parse_crm_config({"kind": "http", "url": f"http://127.0.0.1:{closed}/crm"}), db=None,
                         app_id="a", outbound=LOCAL)
    try:
        r = await lookup_with_deadline(bad, CrmLookup(customer_id="c1"))
        assert (r.status, r.error_code) == ("unavailable", "auth") and r.error == REJECTED
        r = await lookup_with_deadline(down, CrmLookup(customer_id="c1"))
        assert (r.status, r.error_code) == ("unavailable", "connection") and r.elapsed_ms < 1000
    finally:
        await bad.aclose()
        await down.aclose()
