"""Business hours, availability for the call button, callback requests, app settings."""

from __future__ import annotations

from shopcall.api.deps import services_of
from shopcall.auth import tokens


def _shopper(client, app_id: str) -> dict[str, str]:
    tok = tokens.mint(services_of(client.app).signing_key, app_id=app_id, identity="bob", role="shopper", name="Bob")[0]
    return {"Authorization": f"Bearer {tok}"}


ALWAYS_CLOSED = {"timezone": "Europe/Berlin", "weekly": {}, "closed_dates": ["2020-01-01"]}


def test_settings_round_trip_and_masked_crm_secrets(client, tenant) -> None:
    r = client.get("/v1/settings", auth=tenant.auth)
    assert r.json()["business_hours"] == {"timezone": "UTC", "weekly": {}, "closed_dates": []}
    assert r.json()["crm"]["kind"] == "builtin"
    bad = client.patch("/v1/settings", auth=tenant.auth, json={"business_hours": {"timezone": "Mars/Base"}})
    assert bad.status_code == 422 and "time zone" in bad.text
    bad = client.patch("/v1/settings", auth=tenant.auth,
                       json={"business_hours": {"weekly": {"mon": [["18:00", "09:00"]]}}})
    assert bad.status_code == 422
    ok = client.patch("/v1/settings", auth=tenant.auth, json={
        "business_hours": {"timezone": "Europe/Berlin", "weekly": {"mon": [["09:00", "18:00"]]}},
        "crm": {"kind": "shopify", "shop": "nordlys", "access_token": "shpat_supersecret"}})
    assert ok.status_code == 200, ok.text
    assert ok.json()["business_hours"]["weekly"] == {"mon": [["09:00:00", "18:00:00"]]}
    assert ok.json()["crm"]["kind"] == "shopify" and "shpat_supersecret" not in ok.text
    assert "shpat_supersecret" not in client.get("/v1/settings", auth=tenant.auth).text
    assert client.get("/v1/settings").status_code == 401


def test_availability_and_callbacks_need_a_client_token(client, tenant, other_tenant) -> None:
    assert client.get("/v1/widget/availability").status_code == 401
    assert client.get("/v1/widget/availability", headers={"Authorization": "Bearer junk"}).json()["error"][
        "code"] == "token_invalid"
    h = _shopper(client, tenant.id)
    av = client.get("/v1/widget/availability", headers=h).json()
    assert av["open"] is True and av["agents_online"] == 0 and av["queue_length"] == 0
    client.patch("/v1/settings", auth=tenant.auth, json={"business_hours": ALWAYS_CLOSED})
    assert client.get("/v1/widget/availability", headers=h).json()["open"] is False
    assert client.post("/v1/widget/callbacks", headers=h, json={"name": "Bob", "contact": "x"}).status_code == 422
    r = client.post("/v1/widget/callbacks", headers=h,
                    json={"name": "Bob", "contact": "+49 30 1234567", "note": "about the H1",
                          "context": {"product": "NA-H1"}})
    assert r.status_code == 201 and r.json()["status"] == "open"
    from shopcall.db.models import CallbackRequest

    with services_of(client.app).db.session() as s:
        rows = s.query(CallbackRequest).all()
        assert [(c.app_id, c.contact, c.context["product"]) for c in rows] == [(tenant.id, "+49 30 1234567", "NA-H1")]


def test_routing_policy_is_validated_and_applied(client, tenant) -> None:
    assert client.patch("/v1/settings", auth=tenant.auth, json={"routing": {"ring_timeout_s": 1}}).status_code == 422
    r = client.patch("/v1/settings", auth=tenant.auth, json={"routing": {"ring_timeout_s": 12, "fallback_after_s": 5}})
    assert r.status_code == 200 and r.json()["routing"]["ring_timeout_s"] == 12
    policy = services_of(client.app).live.desk.router.policy_for(tenant.id)
    assert (policy.ring_timeout_s, policy.fallback_after_s, policy.max_wait_s) == (12, 5, 600)
