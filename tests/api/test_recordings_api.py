"""Recordings archive API: filters, tenancy, range playback, download, delete with an audit entry."""

from __future__ import annotations

from datetime import timedelta

from shopcall.api.deps import services_of
from shopcall.console.accounts import upsert_agent
from shopcall.db.models import AuditEntry, Call, Recording, utcnow
from shopcall.rooms.store import RoomStore


def _seed(client, tenant) -> tuple[str, str]:
    db = services_of(client.app).db
    storage = services_of(client.app).storage
    room = RoomStore(services_of(client.app).db).create_room(tenant.id)
    room2 = RoomStore(services_of(client.app).db).create_room(tenant.id)
    payload = bytes(range(256)) * 400  # 102400 bytes
    tmp = services_of(client.app).settings.data_dir / "composite.mp4"
    tmp.write_bytes(payload)
    key = f"local/{tenant.id}/rec_a/composite.mp4"
    storage.put_file(key, tmp, "video/mp4")
    now = utcnow()
    with db.session() as s:
        s.add(Call(id="cl_a", app_id=tenant.id, room_id=room.id, shopper_identity="cus_1", shopper_name="Maja",
                   customer_id="cus_1", agent_identity="anna", status="ended", outcome="sold"))
        s.add(Call(id="cl_b", app_id=tenant.id, room_id=room2.id, shopper_identity="cus_2", shopper_name="Tom",
                   customer_id="cus_2", agent_identity="ben", status="ended", outcome="no_sale"))
        s.add(Recording(id="rec_a", app_id=tenant.id, room_id=room.id, call_id="cl_a", status="ready",
                        agent_identity="anna", customer_id="cus_1", storage_key=key, size_bytes=len(payload),
                        started_at=now - timedelta(days=2), stopped_at=now - timedelta(days=2), duration_s=10))
        s.add(Recording(id="rec_b", app_id=tenant.id, room_id=room2.id, call_id="cl_b", status="processing",
                        agent_identity="ben", customer_id="cus_2", started_at=now, duration_s=5))
    upsert_agent(db, tenant.id, "anna", name="Anna", password="pw-anna", role="admin")
    client.post("/v1/console/login", json={"app_id": tenant.id, "login": "anna", "password": "pw-anna"})
    return key, payload.hex()


def test_filters_playback_download_and_audited_delete(client, tenant, other_tenant) -> None:
    key, payload_hex = _seed(client, tenant)
    payload = bytes.fromhex(payload_hex)
    ids = lambda q: [r["id"] for r in client.get(f"/v1/console/recordings{q}").json()]  # noqa: E731
    assert ids("") == ["rec_b", "rec_a"]
    assert ids("?agent=anna") == ["rec_a"] and ids("?customer=cus_2") == ["rec_b"]
    assert ids("?outcome=sold") == ["rec_a"] and ids("?status=processing") == ["rec_b"]
    since = (utcnow() - timedelta(days=1)).isoformat()
    assert ids(f"?since={since}") == ["rec_b"] and ids(f"?until={since}") == ["rec_a"]
    assert client.get("/v1/console/recordings?outcome=maybe").status_code == 422

    full = client.get("/v1/console/recordings/rec_a/media")
    assert full.status_code == 200 and full.content == payload and full.headers["accept-ranges"] == "bytes"
    part = client.get("/v1/console/recordings/rec_a/media", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == payload[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(payload)}"
    assert client.get("/v1/console/recordings/rec_a/media", headers={"Range": "bytes=999999-"}).status_code == 416
    dl = client.get("/v1/console/recordings/rec_a/media?download=1")
    assert "attachment" in dl.headers["content-disposition"]
    assert client.get("/v1/console/recordings/rec_b/media").json()["error"]["code"] == "recording_not_ready"
    detail = client.get("/v1/console/recordings/rec_a").json()
    assert detail["shopper"] == "Maja" and detail["timeline"] == [] and detail["consents"] == []

    # the merchant's server sees the same archive; another tenant sees nothing
    assert [r["id"] for r in client.get("/v1/recordings", auth=tenant.auth).json()] == ["rec_b", "rec_a"]
    assert client.get("/v1/recordings/rec_a/media", auth=tenant.auth).content == payload
    assert client.get("/v1/recordings/rec_a/media", auth=other_tenant.auth).status_code == 404
    assert client.get("/v1/recordings", auth=other_tenant.auth).json() == []

    assert client.delete("/v1/console/recordings/rec_b").json()["error"]["code"] == "recording_busy"
    assert client.delete("/v1/console/recordings/rec_a").json() == {"deleted": "rec_a"}
    assert not services_of(client.app).storage.exists(key)
    with services_of(client.app).db.session() as s:
        assert s.get(Recording, "rec_a") is None
        audit = s.query(AuditEntry).filter_by(action="recording.deleted").one()
        assert audit.actor == "agent:anna" and audit.details["recording"] == "rec_a"


def test_bad_ranges_and_missing_files_get_clear_errors(client, tenant) -> None:
    key, _ = _seed(client, tenant)
    bad = client.get("/v1/console/recordings/rec_a/media", headers={"Range": "bytes=abc-"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (416, "bad_range")
    past = client.get("/v1/console/recordings/rec_a/media", headers={"Range": "bytes=200-100"})
    assert (past.status_code, past.json()["error"]["code"]) == (416, "range_not_satisfiable")
    assert past.headers["content-range"] == "bytes */102400"
    assert client.get("/v1/console/recordings/rec_nope/media").json()["error"]["code"] == "recording_not_found"
    services_of(client.app).storage.delete(key)  # the file vanished from storage behind the row's back
    gone = client.get("/v1/recordings/rec_a/media", auth=tenant.auth)
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "recording_missing")
