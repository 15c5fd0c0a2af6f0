"""The widget on public pages: per-app allowed origins, anonymous sessions only for pages on them, CORS for
`/v1/widget/*`, rate limits, and no way for a page to claim a customer's identity."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shopcall.api.deps import services_of
from shopcall.app import create_app
from shopcall.auth import tokens
from shopcall.config import Settings
from shopcall.console.accounts import upsert_agent
from shopcall.db.models import AuditEntry, Call, Customer, Order
from shopcall.demo.seed import DEMO_APP_ID, seed_demo
from shopcall.rooms.apps import create_app as create_tenant
from tests.api.conftest import Tenant
from tests.signalling.helpers import hello, req

SHOP = "https://shop.example.com"


def _allow(client: TestClient, tenant: Tenant, *origins: str) -> None:
    r = client.patch("/v1/settings", auth=tenant.auth, json={"widget": {"allowed_origins": list(origins)}})
    assert r.status_code == 200, r.text


def _session(client: TestClient, app_id: str, origin: str | None, **kw: object):
    headers = {"Origin": origin} if origin is not None else {}
    return client.post(f"/v1/widget/session?app={app_id}", headers={**headers, **kw.pop("headers", {})}, **kw)


def _verify(client: TestClient, token: str) -> tokens.ClientClaims:
    return tokens.verify(services_of(client.app).signing_key, token)


def test_allowed_origins_are_validated_normalised_and_kept_by_other_patches(client, tenant) -> None:
    assert client.get("/v1/settings", auth=tenant.auth).json()["widget"] == {
        "allowed_origins": [], "theme": {}, "button_label": {}, "position": "bottom-right"}
    r = client.patch("/v1/settings", auth=tenant.auth, json={"widget": {"allowed_origins": [
        "https://Shop.Example.com:443", "http://localhost:*", "https://*.example.org", "https://shop.example.com",
        "http://[::1]:8080", "https://bücher.example"]}})
    assert r.status_code == 200, r.text
    expected = ["https://shop.example.com", "http://localhost:*", "https://*.example.org", "http://[::1]:8080",
                "https://xn--bcher-kva.example"]
    assert r.json()["widget"]["allowed_origins"] == expected
    # another group's PATCH leaves the widget alone; the change is audited by group name only
    client.patch("/v1/settings", auth=tenant.auth, json={"routing": {"ring_timeout_s": 15}})
    assert client.get("/v1/settings", auth=tenant.auth).json()["widget"]["allowed_origins"] == expected
    with services_of(client.app).db.session() as s:
        details = [e.details for e in s.query(AuditEntry).filter_by(action="settings.changed")]
    assert {"changed": ["widget"]} in details and "shop.example.com" not in str(details)

    bad = {
        "*": "would allow pages of any site",
        "null": "would allow pages of any site",
        "https://shop.example.com/": "no path, query or fragment: write https://shop.example.com",
        "https://shop.example.com/cart?x=1": "write https://shop.example.com",
        "shop.example.com": "an origin is scheme://host[:port]",
        "ftp://shop.example.com": "the scheme must be http or https",
        "https://*.com": "would allow a whole top-level domain",
        "https://shop*.example.com": "a wildcard is allowed only as the whole first label",
        "https://*.10.0.0.1": "needs a domain name, not an address",
        "https://shop.example.com:99999": "the port must be 1-65535 or *",
        "https://user@shop.example.com": "no user name or password",
        "https://shop..example.com": "is not a valid host name",
    }
    for entry, problem in bad.items():
        r = client.patch("/v1/settings", auth=tenant.auth,
                         json={"widget": {"allowed_origins": ["https://fine.example.com", entry]}})
        assert r.status_code == 422, entry
        err = r.json()["error"]
        assert err["code"] == "validation_error" and err["details"][0]["field"] == "widget.allowed_origins.1", err
        assert problem in err["message"], (entry, err["message"])
    for body in ({"widget": {"allowed_origins": "https://shop.example.com"}}, {"widget": {"theme": "dark"}},
                 {"widget": {"allowed_origins": [f"https://s{i}.example.com" for i in range(51)]}}):
        assert client.patch("/v1/settings", auth=tenant.auth, json=body).status_code == 422
    assert client.get("/v1/settings", auth=tenant.auth).json()["widget"]["allowed_origins"] == expected


def test_a_page_on_an_allowed_origin_gets_an_anonymous_shopper_token(client, tenant) -> None:
    _allow(client, tenant, SHOP, "http://localhost:*", "https://*.example.org")
    for origin in (SHOP, "http://localhost:5173", "http://localhost", "https://eu.shop.example.org"):
        r = _session(client, tenant.id, origin, json={"name": "Mia"})
        assert r.status_code == 201, (origin, r.text)
        assert r.headers["access-control-allow-origin"] == origin and "Origin" in r.headers["vary"]
        assert "access-control-allow-credentials" not in r.headers
        out = r.json()
        claims = _verify(client, out["token"])
        assert (claims.app_id, claims.role, claims.rooms, claims.customer, claims.name) == (
            tenant.id, "shopper", (), None, "Mia")
        assert claims.identity == out["identity"] and out["identity"].startswith("anon_") and not out["renewed"]
        assert claims.expires_at - 1800 <= out["expires_at"] == claims.expires_at
    ids = {_session(client, tenant.id, SHOP).json()["identity"] for _ in range(3)}
    assert len(ids) == 3  # random identities: one page cannot become another visitor
    # the token works for the rest of the widget API from that page
    tok = _session(client, tenant.id, SHOP).json()["token"]
    av = client.get("/v1/widget/availability", headers={"Authorization": f"Bearer {tok}", "Origin": SHOP})
    assert av.status_code == 200 and av.headers["access-control-allow-origin"] == SHOP


def test_other_origins_get_403_origin_not_allowed_and_no_cors_headers(client, tenant, other_tenant) -> None:
    _allow(client, tenant, SHOP, "http://localhost:*", "https://*.example.org")
    _allow(client, other_tenant, "https://other.example.net")
    for origin in ("https://evil.example.com", "http://shop.example.com", "https://shop.example.com:8443",
                   "https://example.org", "https://evilexample.org", "http://127.0.0.1:5173", "null",
                   "https://other.example.net", "https://shop.example.com.evil.io"):
        r = _session(client, tenant.id, origin)
        assert r.status_code == 403, origin
        assert r.json()["error"]["code"] == "origin_not_allowed" and origin in r.json()["error"]["message"]
        assert "access-control-allow-origin" not in r.headers
    # no Origin at all: not a page; servers mint with the app secret instead
    r = _session(client, tenant.id, None)
    assert r.status_code == 403 and r.json()["error"]["code"] == "origin_required"
    assert "POST /v1/tokens" in r.json()["error"]["message"]
    assert _session(client, "app_nope", SHOP).json()["error"]["code"] == "app_not_found"
    # an app with no list allows no page
    fresh, _ = create_tenant(services_of(client.app).db, "Shop C")
    assert _session(client, fresh.id, SHOP).json()["error"]["code"] == "origin_not_allowed"
    # a token of the app used from a page the app does not allow is refused too, and not readable
    tok = _session(client, tenant.id, SHOP).json()["token"]
    for path in ("/v1/widget/availability",):
        r = client.get(path, headers={"Authorization": f"Bearer {tok}", "Origin": "https://evil.example.com"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"
        assert "access-control-allow-origin" not in r.headers
    r = client.post("/v1/widget/callbacks", json={"name": "X", "contact": "+49 30 1234567"},
                    headers={"Authorization": f"Bearer {tok}", "Origin": "https://evil.example.com"})
    assert r.status_code == 403
    # server-side callers (no Origin) and this server's own pages keep working
    assert client.get("/v1/widget/availability", headers={"Authorization": f"Bearer {tok}"}).status_code == 200
    own = _session(client, fresh.id, "http://testserver")
    assert own.status_code == 201 and "access-control-allow-origin" not in own.headers


def test_preflights_are_answered_only_for_allowed_origins_of_the_named_app(client, tenant, other_tenant) -> None:
    _allow(client, tenant, SHOP)
    _allow(client, other_tenant, "https://other.example.net")

    def preflight(path: str, origin: str):
        return client.options(path, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                             "Access-Control-Request-Headers": "authorization, content-type"})

    ok = preflight(f"/v1/widget/session?app={tenant.id}", SHOP)
    assert ok.status_code == 204, ok.text
    assert ok.headers["access-control-allow-origin"] == SHOP
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert {h.strip().lower() for h in ok.headers["access-control-allow-headers"].split(",")} >= {
        "authorization", "content-type"}
    assert int(ok.headers["access-control-max-age"]) > 0 and "access-control-allow-credentials" not in ok.headers
    assert preflight(f"/v1/widget/availability?app={tenant.id}", SHOP).status_code == 204
    cases = {(f"/v1/widget/session?app={tenant.id}", "https://evil.example.com"): "origin_not_allowed",
             (f"/v1/widget/session?app={tenant.id}", "https://other.example.net"): "origin_not_allowed",
             (f"/v1/widget/session?app={other_tenant.id}", SHOP): "origin_not_allowed",
             ("/v1/widget/availability", SHOP): "app_required",
             ("/v1/widget/session?app=app_nope", SHOP): "app_not_found"}
    for (path, origin), code in cases.items():
        r = preflight(path, origin)
        assert r.status_code in (403, 404) and r.json()["error"]["code"] == code, (path, origin, r.text)
        assert "access-control-allow-origin" not in r.headers and "access-control-allow-methods" not in r.headers
    # other APIs get no CORS at all
    r = client.options("/v1/rooms", headers={"Origin": SHOP, "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in r.headers


def test_anonymous_sessions_cannot_carry_identity_and_renew_only_anonymous_tokens(client, tenant) -> None:
    _allow(client, tenant, SHOP)
    for field in ("identity", "customer", "customer_id", "email", "role", "rooms", "crm"):
        r = _session(client, tenant.id, SHOP, json={"name": "Maja", field: "cus_9"})
        assert r.status_code == 422, field
        assert field in r.json()["error"]["message"] and "POST /v1/tokens" in r.json()["error"]["message"]
    assert _session(client, tenant.id, SHOP, json={"vip": True}).status_code == 422
    first = _session(client, tenant.id, SHOP, json={"name": "Mia"}).json()
    again = _session(client, tenant.id, SHOP, headers={"Authorization": f"Bearer {first['token']}"}).json()
    assert again["renewed"] and again["identity"] == first["identity"] and again["name"] == "Mia"
    # a merchant-minted customer token is never extended or copied here: a new anonymous identity instead
    key = services_of(client.app).signing_key
    customer_tok, _ = tokens.mint(key, app_id=tenant.id, identity="cus_9", role="shopper", customer="cus_9")
    r = _session(client, tenant.id, SHOP, headers={"Authorization": f"Bearer {customer_tok}"}).json()
    claims = _verify(client, r["token"])
    assert not r["renewed"] and claims.identity.startswith("anon_") and claims.customer is None
    forged_anon, _ = tokens.mint(key, app_id=tenant.id, identity="anon_x", role="shopper", customer="cus_9")
    assert not _session(client, tenant.id, SHOP, headers={"Authorization": f"Bearer {forged_anon}"}).json()["renewed"]


def test_a_customer_id_or_email_in_the_call_context_never_reaches_the_crm(client, tenant) -> None:
    """The CRM panel names a customer only from the token's `customer` (minted by the merchant's server)."""
    _allow(client, tenant, SHOP)
    db = services_of(client.app).db
    upsert_agent(db, tenant.id, "anna", name="Anna", password="s3cret-pw-long", role="admin")
    with db.session() as s:
        c = Customer(app_id=tenant.id, external_id="cus_9", name="Maja Berg", email="maja@example.com")
        c.orders.append(Order(external_id="o-1", total_cents=34900, currency="EUR", items=[]))
        s.add(c)
    anon = _session(client, tenant.id, SHOP).json()["token"]
    merchant, _ = tokens.mint(services_of(client.app).signing_key, app_id=tenant.id, identity="cus_9",
                              role="shopper", customer="cus_9")
    claimed = {"customer": "cus_9", "customer_id": "cus_9", "email": "maja@example.com", "identity": "cus_9"}
    calls = {}
    for who, tok in (("anonymous", anon), ("merchant", merchant)):
        with client.websocket_connect("/v1/signal") as ws:
            assert hello(ws, tok)["type"] == "welcome"
            created = req(ws, {"type": "call", "context": {"product": "NA-H1", **claimed}})
            assert created["type"] == "call_created", created
            calls[who] = created["call"]
            req(ws, {"type": "cancel_call", "call": created["call"]})
    assert client.post("/v1/console/login", json={"app_id": tenant.id, "login": "anna",
                                                  "password": "s3cret-pw-long"}).status_code == 200
    with db.session() as s:
        assert s.get(Call, calls["anonymous"]).customer_id is None
        assert s.get(Call, calls["merchant"]).customer_id == "cus_9"
    anon_crm = client.get(f"/v1/console/calls/{calls['anonymous']}/crm").json()
    assert anon_crm["crm"]["status"] == "not_found" and anon_crm["crm"].get("profile") is None
    assert anon_crm["call"]["customer_id"] is None and "Maja Berg" not in str(anon_crm["crm"])
    known = client.get(f"/v1/console/calls/{calls['merchant']}/crm").json()["crm"]
    assert known["status"] == "ok" and known["profile"]["name"] == "Maja Berg"


@pytest.fixture
def limited(tmp_path: Path, db_url: str) -> Iterator[TestClient]:
    """A server behind a trusted proxy (10.9.9.9), so X-Forwarded-For picks the client address."""
    settings = Settings(data_dir=tmp_path / "data", database_url=db_url, media_backend="none",
                        trusted_proxies=["10.9.9.9"], widget_session_limits=["3/minute"],
                        widget_session_app_limit="5/minute")
    with TestClient(create_app(settings), client=("10.9.9.9", 5000)) as c:
        yield c


def test_anonymous_sessions_are_rate_limited_per_address_and_per_app(limited) -> None:
    app, secret = create_tenant(services_of(limited.app).db, "Busy Shop")
    _allow(limited, Tenant(app.id, secret), SHOP)

    def from_(address: str):
        return _session(limited, app.id, SHOP, headers={"X-Forwarded-For": address})

    codes = [from_("203.0.113.7").status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    r = from_("203.0.113.7")
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(r.headers["retry-after"]) <= 60
    # the page can read the 429 and its Retry-After
    assert r.headers["access-control-allow-origin"] == SHOP and "Retry-After" in r.headers[
        "access-control-expose-headers"]
    # refused origins count against the address too
    assert _session(limited, app.id, "https://evil.example.com",
                    headers={"X-Forwarded-For": "203.0.113.8"}).status_code == 403
    assert [from_("203.0.113.8").status_code for _ in range(3)] == [201, 201, 429]
    # per app: 5 minted in all (3 + 2), so a third address is refused as well
    r = from_("203.0.113.9")
    assert r.status_code == 429 and "retry-after" in r.headers


def test_the_demo_app_allows_local_pages_on_any_port(client) -> None:
    db = services_of(client.app).db
    seed_demo(db)
    for origin in ("http://localhost:5173", "http://127.0.0.1:9001", "http://localhost"):
        assert _session(client, DEMO_APP_ID, origin).status_code == 201, origin
    for origin in ("https://localhost:5173", "http://192.168.1.5:8080", "https://shop.example.com"):
        assert _session(client, DEMO_APP_ID, origin).status_code == 403, origin
    # demo data from before allowed origins existed gets them at the next start; a list set since is kept
    from shopcall.db.models import App

    with db.session() as s:
        s.get_one(App, DEMO_APP_ID).widget = {}
    seed_demo(db)
    assert _session(client, DEMO_APP_ID, "http://localhost:5173").status_code == 201
    with db.session() as s:
        s.get_one(App, DEMO_APP_ID).widget = {"allowed_origins": [SHOP]}
    seed_demo(db)
    assert _session(client, DEMO_APP_ID, "http://localhost:5173").status_code == 403
