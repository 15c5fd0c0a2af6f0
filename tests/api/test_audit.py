"""The audit log records sign-ins (both outcomes), staff tokens, settings changes, secret rotation,
consent decisions, recording playback and download: the acting identity and ids, no secrets."""

from __future__ import annotations

import json

from shopcall.api.deps import services_of
from shopcall.auth import audit
from shopcall.db.models import Recording
from shopcall.recording.store import RecordingStore
from shopcall.rooms.store import RoomStore
from tests.api.hardening import GOOD, app_client, cheap_hashes, login, tenant_with_agents

__all__ = ["cheap_hashes"]


def test_audit_log_covers_logins_tokens_settings_consent_and_playback(tmp_path, db_url) -> None:
    with app_client(tmp_path, db_url) as c:
        app_id, secret = tenant_with_agents(c)
        svc = services_of(c.app)
        assert login(c, app_id, "anna", "wrong password!").status_code == 401
        assert login(c, app_id, "anna").status_code == 200
        assert c.post("/v1/tokens", json={"identity": "sup", "role": "admin", "rooms": ["*"]},
                      auth=(app_id, secret)).status_code == 201
        r = c.post("/v1/tokens", json={"identity": "cus", "role": "shopper"}, auth=(app_id, secret))
        assert r.status_code == 201
        assert c.patch("/v1/settings", json={"business_hours": {"timezone": "UTC", "days": {}}},
                       auth=(app_id, secret)).status_code in (200, 422)
        room = RoomStore(svc.db).create_room(app_id)
        RecordingStore(svc.db).add_consent(app_id, room.id, "rec_a", "cus_7", granted=False)
        src = tmp_path / "r.mp4"
        src.write_bytes(b"\0" * 100)
        svc.storage.put_file(f"rec/{app_id}/a.mp4", src)
        with svc.db.session() as s:
            s.add(Recording(id="rec_a", app_id=app_id, room_id=room.id, status="ready",
                            storage_key=f"rec/{app_id}/a.mp4", size_bytes=100))
        assert c.get("/v1/console/recordings/rec_a/media").status_code in (200, 206)
        assert c.get("/v1/console/recordings/rec_a/media", headers={"range": "bytes=50-"}).status_code == 206
        assert c.get("/v1/recordings/rec_a/media", auth=(app_id, secret)).status_code == 200
        rows = c.get("/v1/audit", auth=(app_id, secret)).json()
        actions = [e["action"] for e in rows]
        for wanted in ("console.login_failed", "console.login", "token.minted", "consent.refused",
                       "recording.played", "recording.downloaded"):
            assert wanted in actions, (wanted, actions)
        assert actions.count("recording.played") == 1  # the seek (bytes=50-) is not a new playback
        staff = [e for e in rows if e["action"] == "token.minted"]
        assert {e["details"].get("role") for e in staff} == {"admin"}  # shoppers' tokens are not audited
        assert GOOD not in json.dumps(rows) and secret not in json.dumps(rows)
        assert c.get("/v1/console/admin/audit").json()[0]["action"] == rows[0]["action"]


def test_settings_changes_are_audited_by_name_only(db) -> None:
    from shopcall.api.app_store import AppStore
    from shopcall.rooms.apps import create_app as create_tenant

    app, _ = create_tenant(db, "S")
    AppStore(db).update_settings(app.id, crm_config={"kind": "builtin"}, routing={"ring_timeout_s": 20})
    (entry,) = audit.entries(db, app.id)
    assert entry.action == "settings.changed" and entry.details == {"changed": ["crm", "routing"]}
