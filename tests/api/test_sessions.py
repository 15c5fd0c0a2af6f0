"""Group sessions: hosting from the console and joining by invitation link."""

from __future__ import annotations

from shopcall.api.deps import services_of
from shopcall.auth import tokens
from shopcall.console.accounts import upsert_agent


def test_host_a_session_and_join_by_link(client, tenant, other_tenant) -> None:
    upsert_agent(services_of(client.app).db, tenant.id, "anna", name="Anna", password="pw-anna")
    assert client.post("/v1/console/sessions", json={}).status_code == 401
    client.post("/v1/console/login", json={"app_id": tenant.id, "login": "anna", "password": "pw-anna"})
    assert client.post("/v1/console/sessions", json={"max_shoppers": 17}).status_code == 422
    s = client.post("/v1/console/sessions", json={"title": "Turntable evening", "max_shoppers": 16}).json()
    assert s["max_participants"] == 18 and s["join_url"].endswith(f"/join/{s['room']}?invite={s['invite']}")
    assert client.get(f"/join/{s['room']}").status_code == 200  # the landing page

    bad = client.post(f"/v1/join/{s['room']}", json={"invite": "x" * 22, "name": "Eve"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (404, "invite_invalid")
    ok = client.post(f"/v1/join/{s['room']}", json={"invite": s["invite"], "name": "Olga"})
    assert ok.status_code == 200 and ok.json()["title"] == "Turntable evening"
    claims = tokens.verify(services_of(client.app).signing_key, ok.json()["token"])
    assert (claims.role, claims.name, list(claims.rooms), claims.app_id) == ("shopper", "Olga", [s["room"]], tenant.id)

    # the merchant's server can ask for the link too, for its own group rooms only
    r = client.post(f"/v1/rooms/{s['room']}/invite", auth=tenant.auth)
    assert r.status_code == 200 and r.json()["invite"] == s["invite"]
    assert client.post(f"/v1/rooms/{s['room']}/invite", auth=other_tenant.auth).status_code == 404
    call_room = client.post("/v1/rooms", auth=tenant.auth, json={"name": "1:1"}).json()
    assert client.post(f"/v1/rooms/{call_room['id']}/invite", auth=tenant.auth).json()["error"]["code"] == "not_a_group"

    client.post(f"/v1/rooms/{s['room']}/end", auth=tenant.auth)
    gone = client.post(f"/v1/join/{s['room']}", json={"invite": s["invite"], "name": "Late"})
    assert gone.status_code == 410


def test_a_removed_guest_cannot_come_back_through_the_same_link_on_the_same_device(client, tenant) -> None:
    from shopcall.rooms.store import RoomStore

    upsert_agent(services_of(client.app).db, tenant.id, "anna", name="Anna", password="pw-anna-12345")
    client.post("/v1/console/login", json={"app_id": tenant.id, "login": "anna", "password": "pw-anna-12345"})
    s = client.post("/v1/console/sessions", json={"title": "Evening"}).json()
    first = client.post(f"/v1/join/{s['room']}", json={"invite": s["invite"], "name": "Eve"}).json()
    again = client.post(f"/v1/join/{s['room']}", json={"invite": s["invite"], "name": "Eve 2"}).json()
    assert first["identity"] == again["identity"]  # the device keeps its identity
    store = RoomStore(services_of(client.app).db)
    store.set_removed(tenant.id, s["room"], first["identity"], by="anna", removed=True)
    refused = client.post(f"/v1/join/{s['room']}", json={"invite": s["invite"], "name": "Eve"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "removed")
    store.set_removed(tenant.id, s["room"], first["identity"], by="anna", removed=False)  # readmitted
    assert client.post(f"/v1/join/{s['room']}", json={"invite": s["invite"], "name": "Eve"}).status_code == 200
