"""Quality telemetry: stored with a MOS, level announced on change, bad links moved to a lower layer."""

from __future__ import annotations

from typing import Any

from shopcall.api.deps import services_of
from shopcall.db.models import QualitySample
from tests.signalling.helpers import OFFER, ask, hello, recv, req, rooms, tok

NOISE = ("participant_joined", "track_published", "media_state", "participant_quality")


def test_reports_are_stored_and_a_lossy_subscriber_drops_a_layer(env) -> None:
    client, media, app_id = env
    room = rooms(client).create_room(app_id)
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as bob:
        hello(anna, tok(client, app_id, "anna", role="agent", rooms=["*"]))
        hello(bob, tok(client, app_id, "bob", rooms=[room.id]))
        anna_pid = req(anna, {"type": "join", "room": room.id})["pid"]
        req(bob, {"type": "join", "room": room.id})
        anna.send_json({"type": "publish", "sdp": OFFER})
        assert recv(anna, skip=NOISE)["type"] == "answer"
        assert recv(bob, skip=("participant_joined",))["type"] == "track_published"
        bob.send_json({"type": "subscribe", "pid": anna_pid})
        offer = recv(bob, skip=NOISE)
        sid = offer["sid"]
        assert req(bob, {"type": "start", "sid": sid, "sdp": OFFER})["type"] == "started"

        good = {"type": "quality", "rtt_ms": 30, "jitter_ms": 3, "out_kbps": 800,
                "subs": {anna_pid: {"loss_pct": 0.5, "kbps": 1400, "fps": 24, "available_kbps": 3000}}}
        bob.send_json(good)
        ack = recv(bob, skip=NOISE)
        assert ack["type"] == "quality_ack" and ack["level"] == 5 and ack["mos"] > 4.2
        got = recv(anna, skip=("media_state",))
        assert got == {"type": "participant_quality", "pid": got["pid"], "level": 5}

        bad = {**good, "subs": {anna_pid: {"loss_pct": 30, "kbps": 200, "fps": 6, "freeze_ratio": 0.2,
                                           "concealment_ratio": 0.25, "available_kbps": 250}}}
        bob.send_json(bad)
        msgs = [recv(bob, skip=NOISE), recv(bob, skip=NOISE), recv(bob, skip=NOISE)]
        assert {m["type"] for m in msgs} == {"quality_ack", "layer_changed", "playout_target"}
        playout = next(m for m in msgs if m["type"] == "playout_target")
        assert playout == {"type": "playout_target", "pid": anna_pid, "target_ms": 800}  # 30 % loss: largest buffer
        changed = next(m for m in msgs if m["type"] == "layer_changed")
        assert changed == {"type": "layer_changed", "pid": anna_pid, "substream": 0, "reason": "down"}
        ack = next(m for m in msgs if m["type"] == "quality_ack")
        assert ack["level"] <= 1 and ack["mos"] < 3
        bob_session = next(s for s in media.sessions if sid in s.subscriptions)
        assert bob_session.substreams[sid]["substream"] == 0
        # the publisher is told to carry more audio redundancy for its lossy subscriber
        assert recv(anna, skip=("media_state",)) == {"type": "audio_redundancy", "distance": 3}
        assert recv(anna, skip=("media_state",))["level"] == ack["level"]  # level changed: told to the others
        bad_field = req(bob, {"type": "quality", "subs": {anna_pid: {"loss_pct": 140}}})
        assert bad_field["code"] == "bad_request"
    with services_of(client.app).db.session() as s:
        rows = s.query(QualitySample).order_by(QualitySample.id).all()
        assert [r.identity for r in rows] == ["bob", "bob"]
        assert rows[1].loss_pct == 30 and rows[1].freeze_ratio == 0.2 and rows[1].data["layers"][0]["substream"] == 0
        assert rows[1].data["playout"] == [{"pid": anna_pid, "target_ms": 800}]
        assert rows[0].data["playout"] == []  # a clean link keeps the browser's default


def _next_path(ws: Any) -> dict[str, Any]:
    """The next `participant_path`, past whatever else the room says meanwhile."""
    while True:
        m: dict[str, Any] = ws.receive_json()
        if m.get("type") == "participant_path":
            return m


def test_media_path_is_told_to_the_others_on_change_and_to_late_joiners(env) -> None:
    client, _, app_id = env
    room = rooms(client).create_room(app_id)
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as bob:
        hello(anna, tok(client, app_id, "anna", role="agent", rooms=["*"]))
        hello(bob, tok(client, app_id, "bob", rooms=[room.id]))
        req(anna, {"type": "join", "room": room.id})
        bob_pid = req(bob, {"type": "join", "room": room.id})["pid"]
        report = {"type": "quality", "rtt_ms": 30, "path": "relay-tcp"}
        assert ask(bob, report)["type"] == "quality_ack"
        assert _next_path(anna) == {"type": "participant_path", "pid": bob_pid, "path": "relay-tcp"}
        assert ask(bob, report)["type"] == "quality_ack"  # unchanged: nothing is sent
        assert ask(bob, {**report, "path": "relay-tls"})["type"] == "quality_ack"
        assert _next_path(anna) == {"type": "participant_path", "pid": bob_pid, "path": "relay-tls"}
        r = ask(bob, {**report, "path": "carrier-pigeon"})
        assert r["code"] == "bad_request" and "path" in r["message"]
        # an agent who joins later (transfer, invite) learns it at once
        with client.websocket_connect("/v1/signal") as ben:
            hello(ben, tok(client, app_id, "ben", role="agent", rooms=["*"]))
            assert ask(ben, {"type": "join", "room": room.id})["type"] == "joined"
            assert _next_path(ben) == {"type": "participant_path", "pid": bob_pid, "path": "relay-tls"}
    with services_of(client.app).db.session() as s:
        rows = s.query(QualitySample).order_by(QualitySample.id).all()
        assert [r.data["path"] for r in rows] == ["relay-tcp", "relay-tcp", "relay-tls"]
