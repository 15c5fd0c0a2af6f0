"""Recording policy and consent over signalling (fake media): who is recorded, when, and what is stored."""

from __future__ import annotations

from shopcall.api.deps import services_of
from shopcall.db.models import App, ConsentDecision, Recording
from tests.signalling.helpers import OFFER, ask, hello, recv, req, rooms, tok


def _policy(client, app_id: str, policy: str, consent: bool = True) -> None:
    with services_of(client.app).db.session() as s:
        app = s.get(App, app_id)
        app.recording_policy, app.recording_consent = policy, consent


NOISE = ("queue_update", "participant_joined", "track_published")


def _publish(ws) -> None:
    ws.send_json({"type": "publish", "sdp": OFFER})
    assert recv(ws, skip=NOISE)["type"] == "answer"
    assert recv(ws, skip=NOISE) == {"type": "media_state", "target": "publisher", "state": "up"}


def _recording_of(media, label_part: str):
    return next(s.recording for s in media.sessions if label_part in s.label and s.feed_id is not None)


def test_off_refuses_and_on_demand_records_only_consenting_shoppers(env) -> None:
    client, media, app_id = env
    room = rooms(client).create_room(app_id)
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as bob:
        hello(anna, tok(client, app_id, "anna", role="agent", rooms=["*"], name="Anna"))
        hello(bob, tok(client, app_id, "bob", rooms=[room.id], name="Bob"))
        anna_pid = req(anna, {"type": "join", "room": room.id})["pid"]
        bob_pid = req(bob, {"type": "join", "room": room.id})["pid"]
        _publish(anna)
        _publish(bob)
        _policy(client, app_id, "off")
        anna.send_json({"type": "start_recording", "id": "r0"})
        assert recv(anna, skip=NOISE)["code"] == "recording_disabled"
        _policy(client, app_id, "on_demand")
        bob.send_json({"type": "start_recording"})
        assert recv(bob, skip=NOISE)["code"] == "forbidden"
        anna.send_json({"type": "start_recording", "id": "r1"})
        msgs = [recv(anna, skip=("queue_update", "track_published")) for _ in range(2)]
        reply = next(m for m in msgs if m.get("re") == "r1")
        assert reply["type"] == "recording_started" and reply["active"] is True
        rec_id = reply["recording"]
        got = [recv(bob, skip=("track_published",)) for _ in range(2)]
        assert {"type": "recording_state", "active": True, "recording": rec_id, "by": "Anna"} in got
        ask = next(m for m in got if m["type"] == "recording_consent_request")
        assert ask["recording"] == rec_id
        # the agent is recorded at once; the shopper only after saying yes
        assert _recording_of(media, anna_pid).endswith(f"{rec_id}/{anna_pid}")
        assert _recording_of(media, bob_pid) is None
        saved = req(bob, {"type": "recording_consent", "recording": rec_id, "granted": True})
        assert saved["type"] == "recording_consent_saved"
        assert _recording_of(media, bob_pid).endswith(f"{rec_id}/{bob_pid}")
        assert recv(anna)["type"] == "recording_consent"
        anna.send_json({"type": "stop_recording", "id": "s"})
        got = [recv(anna), recv(anna)]
        assert {"type": "recording_stopped", "recording": rec_id, "re": "s"} in got
        assert {"type": "recording_state", "active": False, "recording": rec_id} in got
        assert _recording_of(media, anna_pid) is None and _recording_of(media, bob_pid) is None
    with services_of(client.app).db.session() as s:
        row = s.get(Recording, rec_id)
        assert row.status in ("processing", "failed") and row.duration_s is not None
        assert sorted(row.steps["record"]["feeds"]) == sorted([anna_pid, bob_pid])
        d = s.query(ConsentDecision).filter_by(recording_id=rec_id).one()
        assert (d.identity, d.decision) == ("bob", "granted") and d.decided_at is not None


def test_always_starts_when_an_agent_joins_and_cannot_be_stopped(env) -> None:
    client, media, app_id = env
    _policy(client, app_id, "always", consent=False)
    room = rooms(client).create_room(app_id)
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as bob:
        hello(bob, tok(client, app_id, "bob", rooms=[room.id]))
        bob_pid = req(bob, {"type": "join", "room": room.id})["pid"]
        _publish(bob)
        hello(anna, tok(client, app_id, "anna", role="agent", rooms=["*"], name="Anna"))
        joined = req(anna, {"type": "join", "room": room.id})
        assert joined["recording"] is None
        state = recv(anna, skip=("queue_update", "track_published"))
        assert state["type"] == "recording_state" and state["active"] is True
        # no consent needed here: the shopper is recorded at once, and told so
        assert recv(bob, skip=("participant_joined",))["type"] == "recording_state"
        assert _recording_of(media, bob_pid) is not None
        assert req(anna, {"type": "stop_recording"})["code"] == "recording_required"
        # a late joiner sees the indicator in `joined`
        with client.websocket_connect("/v1/signal") as carl:
            hello(carl, tok(client, app_id, "carl", rooms=[room.id]))
            assert req(carl, {"type": "join", "room": room.id})["recording"]["active"] is True
        anna.send_json({"type": "end_room"})
        while anna.receive_json()["type"] != "room_ended":  # ended (and the recording stopped) before we look
            pass
    with services_of(client.app).db.session() as s:
        row = s.query(Recording).one()
        assert row.status in ("processing", "failed") and row.steps["record"]["reason"] == "room_ended"


def test_withdrawn_consent_stops_recording_at_once_and_a_media_restart_records_again(env) -> None:
    client, media, app_id = env
    _policy(client, app_id, "on_demand")
    room = rooms(client).create_room(app_id)
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as bob:
        hello(anna, tok(client, app_id, "anna", role="agent", rooms=["*"], name="Anna"))
        hello(bob, tok(client, app_id, "bob", rooms=[room.id], name="Bob"))
        anna_pid = ask(anna, {"type": "join", "room": room.id})["pid"]
        bob_pid = ask(bob, {"type": "join", "room": room.id})["pid"]
        _publish(anna)
        _publish(bob)
        rec_id = ask(anna, {"type": "start_recording"})["recording"]
        assert ask(bob, {"type": "recording_consent", "recording": rec_id, "granted": True})["granted"] is True
        assert _recording_of(media, bob_pid).endswith(f"{rec_id}/{bob_pid}")
        # withdrawn: enforced on the media server before the reply
        assert ask(bob, {"type": "recording_consent", "recording": rec_id, "granted": False})["granted"] is False
        assert _recording_of(media, bob_pid) is None
        assert _recording_of(media, anna_pid) is not None
        # the media server restarts: everyone republishes, and the agent is recorded again in a new segment
        client.portal.call(media.reset, "media_server_restarted")
        for ws in (anna, bob):
            ask(ws, {"type": "publish", "sdp": OFFER})
        ask(anna, {"type": "ping"})
        assert _recording_of(media, anna_pid).endswith(f"{rec_id}/{anna_pid}~2")
        assert _recording_of(media, bob_pid) is None  # still withdrawn
        # consent again: a new segment, never overwriting the first
        ask(bob, {"type": "recording_consent", "recording": rec_id, "granted": True})
        assert _recording_of(media, bob_pid).endswith(f"{rec_id}/{bob_pid}~2")
        ask(anna, {"type": "stop_recording"})
    with services_of(client.app).db.session() as s:
        assert s.get(Recording, rec_id).steps["record"]["feeds"] == sorted(
            [anna_pid, f"{anna_pid}~2", bob_pid, f"{bob_pid}~2"])
        decisions = [d.decision for d in s.query(ConsentDecision).filter_by(recording_id=rec_id)
                     .order_by(ConsentDecision.id)]
        assert decisions == ["granted", "refused", "granted"]
