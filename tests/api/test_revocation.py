"""Revocation: password changes, disabling and deleting agents end their console sessions and make the
signalling hub refuse their tokens (hello, join, refresh); app secrets rotate with an overlap; apps can
be deleted with all their data."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.websockets import WebSocketDisconnect

from shopcall.api.deps import services_of
from shopcall.db.models import Agent, App, AuditEntry, Call, Recording
from shopcall.rooms.store import RoomStore
from tests.api.hardening import GOOD, app_client, cheap_hashes, login, tenant_with_agents

__all__ = ["cheap_hashes"]
NEW = "a brand new passphrase"


def _console(c: TestClient, app_id: str, who: str) -> tuple[TestClient, str]:
    """A second browser signed in as `who`: (its client, its signalling token)."""
    other = TestClient(c.app, client=("10.9.9.9", 1))
    r = login(other, app_id, who)
    assert r.status_code == 200, r.text
    return other, r.json()["token"]


def _hello(c: TestClient, token: str) -> dict:
    with c.websocket_connect("/v1/signal") as ws:
        ws.send_json({"type": "hello", "id": "h", "token": token})
        return ws.receive_json()


def _refused(c: TestClient, token: str) -> bool:
    reply = _hello(c, token)
    return reply.get("type") == "error" and reply.get("code") == "token_revoked"


def test_own_password_change_ends_other_sessions_and_refuses_old_tokens(tmp_path, db_url) -> None:
    with app_client(tmp_path, db_url) as c:
        app_id, _ = tenant_with_agents(c)
        laptop, old_token = _console(c, app_id, "ben")
        assert _hello(c, old_token)["type"] == "welcome"
        assert login(c, app_id, "ben").status_code == 200
        r = c.post("/v1/console/password", json={"current_password": "not it at all", "new_password": NEW})
        assert r.status_code == 403
        r = c.post("/v1/console/password", json={"current_password": GOOD, "new_password": NEW})
        assert r.status_code == 200 and _hello(c, r.json()["token"])["type"] == "welcome"
        assert c.get("/v1/console/me").status_code == 200  # this browser got a new session
        assert laptop.get("/v1/console/me").status_code == 401  # the other one is signed out
        assert _refused(c, old_token)
        assert login(c, app_id, "ben", GOOD).status_code == 401 and login(c, app_id, "ben", NEW).status_code == 200


def test_admin_reset_disable_delete_end_sessions_and_tokens(tmp_path, db_url) -> None:
    with app_client(tmp_path, db_url) as c:
        app_id, _ = tenant_with_agents(c)
        assert login(c, app_id, "anna").status_code == 200  # the admin
        for action in ("reset", "disable", "delete"):
            ben, token = _console(c, app_id, "ben")
            if action == "reset":
                r = c.post("/v1/console/admin/agents/ben/password", json={"new_password": GOOD + "!"})
            elif action == "disable":
                r = c.patch("/v1/console/admin/agents/ben", json={"disabled": True})
            else:
                r = c.delete("/v1/console/admin/agents/ben")
            assert r.status_code == 200, r.text
            assert ben.get("/v1/console/me").status_code == 401
            assert _refused(c, token)
            if action == "reset":
                from shopcall.console.accounts import set_password
                set_password(services_of(c.app).db, app_id, "ben", GOOD)
            if action == "disable":
                assert login(ben, app_id, "ben").json()["error"]["code"] == "account_disabled"
                assert c.patch("/v1/console/admin/agents/ben", json={"disabled": False}).status_code == 200
        with services_of(c.app).db.session() as s:
            assert s.scalar(select(Agent).where(Agent.identity == "ben")) is None
        assert c.delete("/v1/console/admin/agents/anna").status_code == 409  # not yourself
        assert c.delete("/v1/console/admin/agents/nobody").status_code == 404


def test_revoked_token_is_refused_at_join_and_refresh_on_an_open_connection(tmp_path, db_url) -> None:
    with app_client(tmp_path, db_url) as c:
        app_id, _ = tenant_with_agents(c)
        _, token = _console(c, app_id, "ben")
        room = RoomStore(services_of(c.app).db).create_room(app_id)
        with c.websocket_connect("/v1/signal") as ws:
            ws.send_json({"type": "hello", "id": "h", "token": token})
            assert ws.receive_json()["type"] == "welcome"
            from shopcall.console.accounts import set_disabled
            set_disabled(services_of(c.app).db, app_id, "ben", True)
            ws.send_json({"type": "join", "id": "j", "room": room.id})
            with pytest.raises(WebSocketDisconnect):
                while True:
                    assert ws.receive_json().get("code") in (None, "token_revoked")
        set_disabled(services_of(c.app).db, app_id, "ben", False)
        _, token = _console(c, app_id, "ben")
        with c.websocket_connect("/v1/signal") as ws:
            ws.send_json({"type": "hello", "id": "h", "token": token})
            assert ws.receive_json()["type"] == "welcome"
            from shopcall.console.accounts import set_password
            set_password(services_of(c.app).db, app_id, "ben", NEW)
            ws.send_json({"type": "refresh", "id": "r", "token": token})
            with pytest.raises(WebSocketDisconnect):
                while True:
                    assert ws.receive_json().get("code") in (None, "token_revoked")


def test_app_secret_rotation_with_overlap(tmp_path, db_url) -> None:
    with app_client(tmp_path, db_url) as c:
        app_id, old = tenant_with_agents(c)
        r = c.post("/v1/app/secret", json={"overlap_minutes": 30}, auth=(app_id, old))
        assert r.status_code == 200 and r.json()["previous_valid_until"]
        new = r.json()["secret"]
        assert c.get("/v1/rooms", auth=(app_id, new)).status_code == 200
        assert c.get("/v1/rooms", auth=(app_id, old)).status_code == 200  # inside the overlap
        r = c.post("/v1/app/secret", json={"overlap_minutes": 0}, auth=(app_id, new))
        newest = r.json()["secret"]
        assert c.get("/v1/rooms", auth=(app_id, new)).status_code == 401
        assert c.get("/v1/rooms", auth=(app_id, old)).status_code == 401
        assert c.get("/v1/rooms", auth=(app_id, newest)).status_code == 200
        actions = [e["action"] for e in c.get("/v1/audit", auth=(app_id, newest)).json()]
        assert actions.count("app.secret_rotated") == 2


def test_deleting_an_app_takes_its_rows_and_recording_files(tmp_path, db_url) -> None:
    with app_client(tmp_path, db_url) as c:
        app_id, secret = tenant_with_agents(c)
        other_id, _ = tenant_with_agents(c)
        svc = services_of(c.app)
        room = RoomStore(svc.db).create_room(app_id)
        src = tmp_path / "rec.mp4"
        src.write_bytes(b"\0" * 1000)
        key = f"recordings/{app_id}/r1.mp4"
        svc.storage.put_file(key, src)
        with svc.db.session() as s:
            s.add(Call(id="cl_del", app_id=app_id, room_id=room.id, shopper_identity="s", status="ended"))
            s.add(Recording(id="rec_del", app_id=app_id, room_id=room.id, status="ready", storage_key=key))
        assert c.delete("/v1/app", params={"confirm": "nope"}, auth=(app_id, secret)).status_code == 422
        r = c.delete("/v1/app", params={"confirm": app_id}, auth=(app_id, secret))
        assert r.status_code == 200, r.text
        assert not svc.storage.exists(key)
        with svc.db.session() as s:
            for model in (App, Agent, Call, Recording):
                assert s.scalar(select(func.count()).select_from(model).where(
                    (model.id if model is App else model.app_id) == app_id)) == 0
            assert s.scalar(select(func.count()).select_from(Agent).where(Agent.app_id == other_id)) == 2
            assert s.scalar(select(AuditEntry.action).where(AuditEntry.app_id.is_(None))) == "app.deleted"
        assert c.get("/v1/rooms", auth=(app_id, secret)).status_code == 401


def test_cli_agents_and_app_secret(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from shopcall.cli import app
    from shopcall.console.accounts import authenticate
    from shopcall.db.engine import Database

    monkeypatch.delenv("SHOPCALL_DATABASE_URL", raising=False)
    run = CliRunner().invoke
    d = ["--data-dir", str(tmp_path)]
    import json
    created = json.loads(run(app, ["apps", "create", "S", "--json", *d]).stdout)
    app_id = created["app_id"]
    r = run(app, ["agents", "create", "--app", app_id, "--identity", "ben", "--name", "Ben", "--password", "short", *d])
    assert r.exit_code == 2 and "12 characters" in r.output
    assert run(app, ["agents", "create", "--app", app_id, "--identity", "ben", "--name", "Ben",
                     "--password", GOOD, *d]).exit_code == 0
    r = run(app, ["agents", "set-password", "--app", app_id, "--identity", "ben", "--password", NEW, *d])
    assert r.exit_code == 0, r.output
    db = Database(f"sqlite:///{tmp_path / 'shopcall.db'}")
    assert authenticate(db, app_id, "ben", NEW).token_version == 1
    assert run(app, ["agents", "disable", "--app", app_id, "--identity", "ben", *d]).exit_code == 0
    assert run(app, ["agents", "delete", "--app", app_id, "--identity", "ben", *d]).exit_code == 0
    assert run(app, ["agents", "delete", "--app", app_id, "--identity", "ben", *d]).exit_code == 2
    r = run(app, ["apps", "rotate-secret", app_id, "--overlap", "0", *d])
    assert r.exit_code == 0 and r.stdout.startswith("secret: sk_")
    from shopcall.api.app_store import AppStore
    assert AppStore(db).authenticate(app_id, created["secret"]) is None
    assert AppStore(db).authenticate(app_id, r.stdout.split()[1]) is not None
    assert run(app, ["apps", "delete", app_id, *d]).exit_code == 2  # needs --yes
    assert run(app, ["apps", "delete", app_id, "--yes", *d]).exit_code == 0
    assert AppStore(db).get(app_id) is None
