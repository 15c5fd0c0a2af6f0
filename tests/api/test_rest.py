"""REST API v1 on SQLite and PostgreSQL (the `db_url` fixture is parametrised)."""

from shopcall.api.deps import services_of
from shopcall.auth import tokens


def _err(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error"]["code"] == code and body["error"]["message"]
    return body


def test_healthz_reports_media_down_without_janus(client) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["media"] == "down" and r.json()["database"] == "ok"


def test_auth_required_and_checked(client, tenant) -> None:
    _err(client.get("/v1/rooms"), 401, "unauthorized")
    _err(client.get("/v1/rooms", auth=(tenant.id, "sk_wrong")), 401, "unauthorized")
    _err(client.get("/v1/rooms", auth=("app_nope", tenant.secret)), 401, "unauthorized")
    assert client.get("/v1/rooms", auth=tenant.auth).json() == []


def test_room_crud_and_participants(client, tenant) -> None:
    r = client.post("/v1/rooms", json={"name": "consult", "kind": "call", "max_participants": 2}, auth=tenant.auth)
    assert r.status_code == 201
    room = r.json()
    assert room["id"].startswith("rm_") and room["status"] == "open" and room["max_participants"] == 2
    assert client.get(f"/v1/rooms/{room['id']}", auth=tenant.auth).json()["name"] == "consult"
    assert [x["id"] for x in client.get("/v1/rooms?status=open", auth=tenant.auth).json()] == [room["id"]]
    assert client.get(f"/v1/rooms/{room['id']}/participants", auth=tenant.auth).json() == []
    ended = client.post(f"/v1/rooms/{room['id']}/end", auth=tenant.auth)
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    assert ended.json()["end_reason"] == "ended_by_api"
    _err(client.post(f"/v1/rooms/{room['id']}/end", auth=tenant.auth), 409, "room_ended")
    assert client.get("/v1/rooms?status=open", auth=tenant.auth).json() == []


def test_validation_errors_are_specific(client, tenant) -> None:
    body = _err(client.post("/v1/rooms", json={"max_participants": 100}, auth=tenant.auth), 422, "validation_error")
    assert "max_participants" in body["error"]["message"]
    _err(client.post("/v1/rooms", json={"kind": "party"}, auth=tenant.auth), 422, "validation_error")
    _err(client.post("/v1/tokens", json={"identity": "x", "role": "shopper", "rooms": ["*"]}, auth=tenant.auth),
         422, "validation_error")
    _err(client.get("/v1/nothing-here"), 404, "not_found")


def test_tenants_never_see_each_other(client, tenant, other_tenant) -> None:
    room = client.post("/v1/rooms", json={}, auth=tenant.auth).json()
    _err(client.get(f"/v1/rooms/{room['id']}", auth=other_tenant.auth), 404, "room_not_found")
    _err(client.post(f"/v1/rooms/{room['id']}/end", auth=other_tenant.auth), 404, "room_not_found")
    _err(client.get(f"/v1/rooms/{room['id']}/participants", auth=other_tenant.auth), 404, "room_not_found")
    _err(client.post("/v1/tokens", json={"identity": "x", "rooms": [room["id"]]}, auth=other_tenant.auth),
         404, "room_not_found")
    assert client.get("/v1/rooms", auth=other_tenant.auth).json() == []


def test_mint_token(client, tenant) -> None:
    room = client.post("/v1/rooms", json={}, auth=tenant.auth).json()
    r = client.post("/v1/tokens", json={"identity": "bob", "name": "Bob", "rooms": [room["id"]], "ttl_s": 120},
                    auth=tenant.auth)
    assert r.status_code == 201
    claims = tokens.verify(services_of(client.app).signing_key, r.json()["token"])
    assert (claims.app_id, claims.identity, claims.role, claims.rooms) == (tenant.id, "bob", "shopper",
                                                                          (room["id"],))


def test_openapi_and_offline_docs(client) -> None:
    spec = client.get("/openapi.json").json()
    assert "/v1/rooms" in spec["paths"] and "/v1/tokens" in spec["paths"]
    html = client.get("/docs").text
    assert "/docs-assets/swagger-ui-bundle.js" in html
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
