"""Console API: argon2 logins, expiring sessions, the CRM panel, notes/outcomes, admin lists, tenancy."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from shopcall.api.deps import services_of
from shopcall.console.accounts import upsert_agent
from shopcall.db.models import Agent, AgentSession, Call, Customer, Order, utcnow
from shopcall.rooms.store import RoomStore


def _setup(client, tenant) -> str:
    db = services_of(client.app).db
    upsert_agent(db, tenant.id, "anna", name="Anna", email="anna@shop.example", password="s3cret-pw", role="admin")
    upsert_agent(db, tenant.id, "ben", name="Ben", password="other-pw")
    room = RoomStore(services_of(client.app).db).create_room(tenant.id)
    with db.session() as s:
        c = Customer(app_id=tenant.id, external_id="cus_9", name="Maja Berg", email="maja@example.com")
        c.orders.append(Order(external_id="o-1", total_cents=34900, currency="EUR",
                              items=[{"sku": "NA-H1", "qty": 1, "price_cents": 34900, "title": "Aurora H1"}]))
        c.orders.append(Order(external_id="o-2", total_cents=19900, currency="EUR", items=[]))
        s.add(c)
        call = Call(id="cl_test1", app_id=tenant.id, room_id=room.id, shopper_identity="cus_9", shopper_name="Maja",
                    customer_id="cus_9", status="answered", agent_identity="anna", context={"product": "NA-H1"})
        s.add(call)
    return call.id


def _login(client, app_id: str, login: str, password: str):
    return client.post("/v1/console/login", json={"app_id": app_id, "login": login, "password": password})


def test_login_sets_an_httponly_session_and_stores_argon2_hashes(client, tenant) -> None:
    _setup(client, tenant)
    with services_of(client.app).db.session() as s:
        h = s.scalar(select(Agent.password_hash).where(Agent.identity == "anna"))
    assert h.startswith("$argon2id$") and "s3cret-pw" not in h
    for login, pw in (("anna", "wrong"), ("nobody", "s3cret-pw"), ("anna@shop.example", "")):
        r = _login(client, tenant.id, login, pw)
        assert r.status_code in (401, 422) and "error" in r.json()
    assert _login(client, "app_other", "anna", "s3cret-pw").status_code == 401
    assert client.get("/v1/console/me").json()["error"]["code"] == "unauthorized"
    r = _login(client, tenant.id, "anna@shop.example", "s3cret-pw")
    assert r.status_code == 200 and r.json()["agent"]["role"] == "admin" and r.json()["token"]
    assert "httponly" in r.headers["set-cookie"].lower() and "samesite=strict" in r.headers["set-cookie"].lower()
    assert client.get("/v1/console/me").json()["agent"]["identity"] == "anna"
    # sessions expire
    with services_of(client.app).db.session() as s:
        s.execute(update(AgentSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = client.get("/v1/console/me")
    assert (r.status_code, r.json()["error"]["code"]) == (401, "session_expired")
    # logout revokes
    _login(client, tenant.id, "anna", "s3cret-pw")
    assert client.post("/v1/console/logout").status_code == 200
    client.cookies.clear()
    assert client.get("/v1/console/me").status_code == 401


def test_crm_panel_from_the_builtin_store_and_notes_outcomes(client, tenant) -> None:
    call_id = _setup(client, tenant)
    _login(client, tenant.id, "anna", "s3cret-pw")
    r = client.get(f"/v1/console/calls/{call_id}/crm")
    assert r.status_code == 200, r.text
    crm = r.json()["crm"]
    assert crm["status"] == "ok"
    prof = crm["profile"]
    assert prof["name"] == "Maja Berg" and len(prof["orders"]) == 2 and prof["lifetime_value"] == 548.0
    assert r.json()["notes"] == []
    assert client.post(f"/v1/console/calls/{call_id}/notes", json={}).status_code == 422
    assert client.post(f"/v1/console/calls/{call_id}/notes", json={"outcome": "maybe"}).status_code == 422
    r = client.post(f"/v1/console/calls/{call_id}/notes", json={"text": "Wants the black one", "outcome": "sold"})
    assert r.status_code == 200 and r.json()["outcome"] == "sold"
    notes = client.get(f"/v1/console/calls/{call_id}/crm").json()["notes"]
    assert [(n["text"], n["outcome"], n["this_call"]) for n in notes] == [("Wants the black one", "sold", True)]
    with services_of(client.app).db.session() as s:
        assert s.get(Call, call_id).outcome == "sold"
    # admin lists
    agents = client.get("/v1/console/admin/agents").json()
    assert {a["identity"]: a["calls"] for a in agents} == {"anna": 1, "ben": 0}
    calls = client.get("/v1/console/admin/calls").json()
    assert calls[0]["id"] == call_id and calls[0]["outcome"] == "sold"
    # a plain agent is not an admin, and cannot annotate another agent's call
    client.cookies.clear()
    _login(client, tenant.id, "ben", "other-pw")
    assert client.get("/v1/console/admin/calls").status_code == 403
    assert client.post(f"/v1/console/calls/{call_id}/notes", json={"text": "x"}).status_code == 403


def test_tenants_never_see_each_others_calls(client, tenant, other_tenant) -> None:
    call_id = _setup(client, tenant)
    upsert_agent(services_of(client.app).db, other_tenant.id, "eve", name="Eve", password="eve-pw")
    _login(client, other_tenant.id, "eve", "eve-pw")
    assert client.get(f"/v1/console/calls/{call_id}/crm").json()["error"]["code"] == "call_not_found"
    assert client.post(f"/v1/console/calls/{call_id}/notes", json={"text": "x"}).status_code == 404
    assert client.get("/v1/console/products").json() == []


def test_a_failing_crm_shows_unavailable_fast(client, tenant) -> None:
    import time

    from shopcall.db.models import App

    call_id = _setup(client, tenant)
    with services_of(client.app).db.session() as s:  # the merchant's CRM endpoint is down (nothing listens on port 9)
        s.get(App, tenant.id).crm_config = {"kind": "http", "url": "http://127.0.0.1:9/crm", "timeout_s": 1.0}
    _login(client, tenant.id, "anna", "s3cret-pw")
    t0 = time.monotonic()
    r = client.get(f"/v1/console/calls/{call_id}/crm")
    elapsed = time.monotonic() - t0
    assert r.status_code == 200
    crm = r.json()["crm"]
    assert crm["status"] == "unavailable" and crm["error"].startswith("CRM unavailable")
    assert elapsed < 2.5


def test_stored_crm_settings_that_no_longer_validate_get_a_clear_409(client, tenant) -> None:
    from shopcall.api.app_store import AppStore

    call_id = _setup(client, tenant)
    AppStore(services_of(client.app).db).update_settings(tenant.id, crm_config={"kind": "woocommerce"})
    _login(client, tenant.id, "anna", "s3cret-pw")
    r = client.get(f"/v1/console/calls/{call_id}/crm")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "crm_misconfigured" and "site_url" in r.json()["error"]["message"]
