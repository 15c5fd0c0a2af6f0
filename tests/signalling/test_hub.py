"""Signalling over a real WebSocket (Starlette TestClient) with the in-memory media fake."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from shopcall.api.deps import services_of
from shopcall.app import create_app
from shopcall.auth import tokens
from shopcall.config import Settings
from shopcall.media.fake import FakeMediaBackend
from shopcall.rooms.apps import create_app as create_tenant
from shopcall.rooms.store import RoomStore
from tests.signalling.helpers import OFFER, expect_closed, hello, req, rooms, tok


def test_forged_expired_and_unknown_app_tokens_are_refused(env) -> None:
    client, _, app_id = env
    bad = tokens.mint(b"z" * 48, app_id=app_id, identity="eve", role="agent", rooms=["*"])[0]
    expired = tokens.mint(services_of(client.app).signing_key, app_id=app_id, identity="bob", role="shopper",
                          ttl_s=5, now=time.time() - 60)[0]
    ghost = tok(client, "app_ghost", "bob")
    for token, code in ((bad, "token_invalid"), (expired, "token_expired"), (ghost, "token_wrong_app"),
                        ("garbage", "token_invalid")):
        with client.websocket_connect("/v1/signal") as ws:
            r = hello(ws, token)
            assert (r["type"], r["code"], r["fatal"]) == ("error", code, True)
            expect_closed(ws, 4401)


def test_first_message_must_be_hello_and_bad_frames_get_errors(env) -> None:
    client, _, app_id = env
    with client.websocket_connect("/v1/signal") as ws:
        r = req(ws, {"type": "join", "room": "rm_x"})
        assert r["code"] == "bad_request"
        expect_closed(ws, 4401)
    with client.websocket_connect("/v1/signal") as ws:
        assert hello(ws, tok(client, app_id, "bob"))["type"] == "welcome"
        assert req(ws, {"type": "warp", "id": "1"}) == {
            "type": "error", "re": "1", "code": "unknown_type", "message": "unknown message type 'warp'"}
        ws.send_text("{not json")
        assert ws.receive_json()["code"] == "bad_request"
        r = req(ws, {"type": "publish", "id": "2", "sdp": 5})
        assert r["code"] == "bad_request" and "sdp" in r["message"]
        assert req(ws, {"type": "publish", "id": "3", "sdp": OFFER})["code"] == "not_in_room"
        assert req(ws, {"type": "ping", "id": "4"}) == {"type": "pong", "re": "4"}


def test_room_grants_and_tenancy(env) -> None:
    client, _, app_id = env
    store = rooms(client)
    mine = store.create_room(app_id)
    other_app, _ = create_tenant(services_of(client.app).db, "Other")
    theirs = store.create_room(other_app.id)
    with client.websocket_connect("/v1/signal") as ws:
        hello(ws, tok(client, app_id, "bob", rooms=["rm_other"]))
        assert req(ws, {"type": "join", "room": mine.id})["code"] == "forbidden"
        assert req(ws, {"type": "join", "room": "rm_missing"})["code"] == "room_not_found"
    with client.websocket_connect("/v1/signal") as ws:
        hello(ws, tok(client, app_id, "anna", role="agent", rooms=["*"]))
        assert req(ws, {"type": "join", "room": theirs.id})["code"] == "room_not_found"  # never "exists elsewhere"
        assert req(ws, {"type": "join", "room": mine.id})["type"] == "joined"


def test_call_ring_answer_media_and_end(env) -> None:
    client, media, app_id = env
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as ben, \
            client.websocket_connect("/v1/signal") as bob:
        hello(anna, tok(client, app_id, "anna", role="agent", rooms=["*"], name="Anna"))
        hello(ben, tok(client, app_id, "ben", role="agent", rooms=["*"], name="Ben"))
        hello(bob, tok(client, app_id, "bob", name="Bob"))
        assert req(anna, {"type": "available"}) == {"type": "available", "status": "online", "calls": [], "re": None}
        assert req(ben, {"type": "available", "id": "a"})["calls"] == []
        created = req(bob, {"type": "call", "id": "c", "context": {"product": "NA-H1"}})
        assert created["type"] == "call_created" and created["position"] == 1
        call, room = created["call"], created["room"]
        assert bob.receive_json() == {"type": "queue_update", "call": call, "position": 1,
                                      "estimated_wait_s": created["estimated_wait_s"]}
        # offer-based routing: only the longest-idle agent (anna, online first) rings
        ring = anna.receive_json()
        assert ring["type"] == "incoming_call" and ring["call"] == call and ring["ring_timeout_s"] == 20
        assert ring["shopper"] == {"identity": "bob", "name": "Bob"} and ring["context"]["product"] == "NA-H1"
        assert req(ben, {"type": "accept_call", "id": "early", "call": call})["code"] == "call_taken"
        # the shopper joins its own call room at once and publishes while it rings
        assert req(bob, {"type": "join", "id": "j", "room": room})["participants"] == []
        assert req(bob, {"type": "publish", "id": "p", "sdp": OFFER})["type"] == "answer"
        assert bob.receive_json() == {"type": "media_state", "target": "publisher", "state": "up"}
        acc = req(anna, {"type": "accept_call", "id": "x", "call": call})
        assert acc == {"type": "call_accepted", "call": call, "room": room, "re": "x"}
        assert req(ben, {"type": "accept_call", "id": "y", "call": call})["code"] == "call_taken"
        answered = bob.receive_json()
        assert answered["type"] == "call_answered" and answered["agent"]["name"] == "Anna"
        joined = req(anna, {"type": "join", "id": "j2", "room": room})
        assert joined["participants"][0]["identity"] == "bob" and joined["participants"][0]["publishing"]
        bob_pid = joined["participants"][0]["pid"]
        assert bob.receive_json()["type"] == "participant_joined"
        offer = req(anna, {"type": "subscribe", "id": "s", "pid": bob_pid})
        assert offer["type"] == "offer" and offer["pid"] == bob_pid and offer["sdp"]
        assert req(anna, {"type": "start", "id": "st", "sid": offer["sid"], "sdp": OFFER})["type"] == "started"
        anna.send_json({"type": "trickle", "target": offer["sid"], "candidate": {"candidate": "c", "sdpMid": "0"}})
        assert req(anna, {"type": "mute", "id": "m", "audio": True})["audio"] is True
        upd = bob.receive_json()
        assert upd["type"] == "participant_updated" and upd["participant"]["audio_muted"] is True
        assert media.stats_now()["sessions"] == 2
        # a shopper may not end the room; the agent may
        assert req(bob, {"type": "end_room", "id": "e"})["code"] == "forbidden"
        anna.send_json({"type": "end_room", "id": "e2"})
        for ws in (anna, bob):
            assert ws.receive_json()["type"] == "room_ended"
            expect_closed(ws, 4000)
    assert media.stats_now()["sessions"] == 0
    assert room in media.destroyed_rooms
    with services_of(client.app).db.session() as s:
        from shopcall.db.models import Call, Room

        assert s.get(Room, room).status == "ended"
        c = s.get(Call, call)
        assert c.status == "ended" and c.agent_identity == "anna"


def test_disconnect_releases_media_and_tells_others(env) -> None:
    client, media, app_id = env
    room = rooms(client).create_room(app_id)
    with client.websocket_connect("/v1/signal") as anna:
        hello(anna, tok(client, app_id, "anna", role="agent", rooms=["*"]))
        req(anna, {"type": "join", "room": room.id})
        with client.websocket_connect("/v1/signal") as bob:
            hello(bob, tok(client, app_id, "bob", rooms=[room.id]))
            req(bob, {"type": "join", "room": room.id})
            pj = anna.receive_json()
            assert pj["type"] == "participant_joined" and pj["participant"]["identity"] == "bob"
            req(bob, {"type": "publish", "sdp": OFFER})
            assert anna.receive_json() == {"type": "track_published", "pid": pj["participant"]["pid"]}
            offer = req(anna, {"type": "subscribe", "pid": pj["participant"]["pid"]})
            assert offer["type"] == "offer"
        assert anna.receive_json() == {"type": "track_unpublished", "pid": offer["pid"]}
        left = anna.receive_json()
        assert left["type"] == "participant_left" and left["reason"] == "left"  # it closed its socket (1000): a hang-up
        assert media.stats_now()["sessions"] == 1  # only anna's; bob's was closed
        assert media.stats_now()["handles"] == 0  # anna's subscription to bob was released



def test_track_published_waits_for_media_up_and_reset_is_announced(tmp_path) -> None:
    media = FakeMediaBackend(auto_up=False)
    app = create_app(Settings(data_dir=tmp_path / "d"), media=media)
    with TestClient(app) as client:
        tenant, _ = create_tenant(services_of(app).db, "Shop")
        room = RoomStore(services_of(app).db).create_room(tenant.id)
        with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as bob:
            hello(anna, tok(client, tenant.id, "anna", role="agent", rooms=["*"]))
            hello(bob, tok(client, tenant.id, "bob", rooms=[room.id]))
            req(anna, {"type": "join", "room": room.id})
            bob_pid = req(bob, {"type": "join", "room": room.id})["pid"]
            assert anna.receive_json()["type"] == "participant_joined"
            assert req(bob, {"type": "publish", "sdp": OFFER})["type"] == "answer"
            # not yet up: nothing to subscribe to
            assert req(anna, {"type": "subscribe", "id": "s", "pid": bob_pid})["code"] == "no_such_publisher"
            session = next(s for s in media.sessions if s.feed_id is not None)
            client.portal.call(session.emit, "up")
            assert anna.receive_json() == {"type": "track_published", "pid": bob_pid}
            assert req(anna, {"type": "subscribe", "pid": bob_pid})["type"] == "offer"
            client.portal.call(media.reset, "media_server_restarted")
            assert anna.receive_json() == {"type": "media_reset", "reason": "media_server_restarted"}
            msgs = [bob.receive_json(), bob.receive_json()]
            assert {"type": "media_reset", "reason": "media_server_restarted"} in msgs


def test_shopper_rejoins_own_call_after_reconnect(env) -> None:
    client, _, app_id = env
    token = tok(client, app_id, "bob", name="Bob")
    with client.websocket_connect("/v1/signal") as anna:
        hello(anna, tok(client, app_id, "anna", role="agent", rooms=["*"]))
        with client.websocket_connect("/v1/signal") as bob:
            hello(bob, token)
            created = req(bob, {"type": "call", "context": {}})
            req(bob, {"type": "join", "room": created["room"]})
            req(anna, {"type": "available"})
            assert req(anna, {"type": "accept_call", "call": created["call"]})["type"] == "call_accepted"
            req(anna, {"type": "join", "room": created["room"]})
        # bob's socket dropped; anna is still in the room, so it stays open for bob to come back
        assert anna.receive_json()["type"] == "participant_left"
        with client.websocket_connect("/v1/signal") as bob2:
            hello(bob2, token)
            assert req(bob2, {"type": "join", "room": created["room"]})["type"] == "joined"
        with client.websocket_connect("/v1/signal") as eve:
            hello(eve, tok(client, app_id, "eve"))
            assert req(eve, {"type": "join", "room": created["room"]})["code"] == "forbidden"
