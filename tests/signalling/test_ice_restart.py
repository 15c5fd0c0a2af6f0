"""`ice_restart`: a peer connection is repaired in place — same media session, feed and subscription — and
only its owner can ask; wrong targets get specific errors (against the in-memory media fake)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from shopcall.api.deps import services_of
from shopcall.media.fake import FakeMediaBackend, FakeMediaSession
from shopcall.signalling.features.quality import QualityConnState
from tests.signalling.helpers import OFFER, ask, hello, recv, req, rooms, tok


def _session(media: FakeMediaBackend, identity_pid: str) -> FakeMediaSession:
    return next(s for s in media.sessions if s.label.endswith("/" + identity_pid))


def _call(client: TestClient, app_id: str, anna: Any, bob: Any) -> tuple[str, str, str]:
    """Anna (agent) and Bob (shopper) in one room, Anna publishing, Bob subscribed: (anna pid, bob pid, sid)."""
    room = rooms(client).create_room(app_id)
    hello(anna, tok(client, app_id, "anna", role="agent", rooms=["*"]))
    hello(bob, tok(client, app_id, "bob", rooms=[room.id]))
    anna_pid = req(anna, {"type": "join", "room": room.id})["pid"]
    bob_pid = req(bob, {"type": "join", "room": room.id})["pid"]
    recv(anna)  # bob joined
    assert req(anna, {"type": "publish", "sdp": OFFER})["type"] == "answer"
    assert recv(anna) == {"type": "media_state", "target": "publisher", "state": "up"}
    assert recv(bob) == {"type": "track_published", "pid": anna_pid}
    offer = req(bob, {"type": "subscribe", "pid": anna_pid})
    assert req(bob, {"type": "start", "sid": offer["sid"], "sdp": OFFER})["type"] == "started"
    return anna_pid, bob_pid, offer["sid"]


def test_publisher_restart_keeps_the_feed_and_answers_the_new_offer(env) -> None:
    client, media, app_id = env
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as bob:
        anna_pid, bob_pid, sid = _call(client, app_id, anna, bob)
        anna_media = _session(media, anna_pid)
        feed_before = anna_media.feed_id
        reply = ask(anna, {"type": "ice_restart", "target": "publisher", "sdp": OFFER})
        assert reply["type"] == "ice_restarted" and reply["target"] == "publisher"
        assert reply["sdp"].startswith("v=0") and "recvonly" in reply["sdp"]  # an answer to the offer
        assert anna_media.restarts == ["publisher"]
        assert anna_media.feed_id == feed_before and anna_media.published
        # no teardown: nothing was unpublished or re-joined, Bob's subscription is untouched
        ops = media.ops(anna_media.label)
        assert ops.count("join_publisher") == 1 and ops.count("publish") == 1 and "unpublish" not in ops
        assert sid in _session(media, bob_pid).subscriptions
        # trickle for the restarted connection still goes to the same handle
        anna.send_json({"type": "trickle", "target": "publisher", "candidate": {"candidate": "c", "sdpMid": "0"}})
        assert req(anna, {"type": "ping", "id": "p"})["type"] == "pong"
        assert anna_media.trickles[-1][0] == "publisher"


def test_subscription_restart_offers_again_and_start_answers(env) -> None:
    client, media, app_id = env
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as bob:
        anna_pid, bob_pid, sid = _call(client, app_id, anna, bob)
        bob_media = _session(media, bob_pid)
        reply = ask(bob, {"type": "ice_restart", "target": sid})
        assert (reply["type"], reply["target"], reply["pid"]) == ("ice_restarted", sid, anna_pid)
        assert reply["sdp"].startswith("v=0") and "sendonly" in reply["sdp"]  # the server's new offer
        assert ask(bob, {"type": "start", "sid": sid, "sdp": OFFER}) == {"type": "started", "sid": sid, "re": "ask"}
        assert bob_media.restarts == [sid]
        assert list(bob_media.subscriptions) == [sid]  # same subscription, no re-subscribe
        assert media.ops(bob_media.label).count("subscribe") == 1


def test_restart_errors_are_specific(env) -> None:
    client, media, app_id = env
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as bob:
        hello(bob, tok(client, app_id, "bob"))
        # not in a room yet
        assert ask(bob, {"type": "ice_restart", "target": "publisher", "sdp": OFFER})["code"] == "not_in_room"
        bob.close()
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as bob:
        anna_pid, bob_pid, sid = _call(client, app_id, anna, bob)
        # Bob joined but publishes nothing; no screen is shared
        r = ask(bob, {"type": "ice_restart", "target": "publisher", "sdp": OFFER})
        assert (r["type"], r["code"]) == ("error", "not_publishing")
        assert ask(anna, {"type": "ice_restart", "target": "screen", "sdp": OFFER})["code"] == "not_publishing"
        # a publisher restart needs the new offer; a subscription restart must not carry one
        r = ask(anna, {"type": "ice_restart", "target": "publisher"})
        assert r["code"] == "bad_request" and "sdp" in r["message"]
        r = ask(bob, {"type": "ice_restart", "target": sid, "sdp": OFFER})
        assert r["code"] == "bad_request" and "start" in r["message"]
        # only the owner: Anna cannot restart Bob's subscription, nor an invented one
        assert ask(anna, {"type": "ice_restart", "target": sid})["code"] == "no_such_subscription"
        assert ask(bob, {"type": "ice_restart", "target": "sub999"})["code"] == "no_such_subscription"
        # garbage SDP is the media server's refusal, not an internal error
        r = ask(anna, {"type": "ice_restart", "target": "publisher", "sdp": "not an sdp at all"})
        assert r["code"] == "media_unavailable"
        # a failing media server is reported as such
        media.fail_next("restart_subscription")
        assert ask(bob, {"type": "ice_restart", "target": sid})["code"] == "media_unavailable"
        assert _session(media, anna_pid).restarts == [] and _session(media, bob_pid).restarts == []


def test_screen_share_restarts_on_its_own_session(env) -> None:
    client, media, app_id = env
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as bob:
        anna_pid, _, _ = _call(client, app_id, anna, bob)
        assert ask(anna, {"type": "publish_screen", "sdp": OFFER})["type"] == "screen_answer"
        screen = next(s for s in media.sessions if s.label.endswith(f"/{anna_pid}/screen"))
        reply = ask(anna, {"type": "ice_restart", "target": "screen", "sdp": OFFER})
        assert (reply["type"], reply["target"]) == ("ice_restarted", "screen")
        assert screen.restarts == ["publisher"] and _session(media, anna_pid).restarts == []


def test_restarts_are_rate_limited_per_connection(env) -> None:
    client, _, app_id = env
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as bob:
        _call(client, app_id, anna, bob)
        kinds = [ask(anna, {"type": "ice_restart", "target": "publisher", "sdp": OFFER})["type"] for _ in range(12)]
        assert kinds == ["ice_restarted"] * 12
        r = ask(anna, {"type": "ice_restart", "target": "publisher", "sdp": OFFER})
        assert r["code"] == "rate_limited"


def test_quality_controllers_keep_their_state_through_a_restart(env) -> None:
    client, media, app_id = env
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as bob:
        anna_pid, bob_pid, sid = _call(client, app_id, anna, bob)
        lossy = {"type": "quality", "rtt_ms": 40, "subs": {anna_pid: {"loss_pct": 30, "kbps": 200, "fps": 6,
                                                                       "freeze_ratio": 0.2, "available_kbps": 250}}}
        assert ask(bob, lossy)["type"] == "quality_ack"
        hub = services_of(client.app).live
        room = next(r for r in hub.rooms.values() if bob_pid in r.members)
        state = room.members[bob_pid].features.get(QualityConnState)
        layers, playout = state.layers[sid], state.playout[sid]
        history = list(layers.history)
        assert history and history[-1][2] == "down"
        redundancy = room.members[anna_pid].features.get(QualityConnState).redundancy
        assert ask(bob, {"type": "ice_restart", "target": sid})["type"] == "ice_restarted"
        assert ask(bob, {"type": "start", "sid": sid, "sdp": OFFER})["type"] == "started"
        assert ask(anna, {"type": "ice_restart", "target": "publisher", "sdp": OFFER})["type"] == "ice_restarted"
        after = room.members[bob_pid].features.get(QualityConnState)
        assert after.layers[sid] is layers and after.playout[sid] is playout and list(layers.history) == history
        assert room.members[anna_pid].features.get(QualityConnState).redundancy is redundancy
        # the next report goes on from there: still on the low layer, no second "down"
        assert ask(bob, lossy)["type"] == "quality_ack"
        assert _session(media, bob_pid).substreams[sid]["substream"] == 0
        assert list(layers.history) == history  # no second decision: the hysteresis carried on


def test_a_subscriber_may_ask_for_a_key_frame_of_a_feed_it_receives_only(env) -> None:
    """After a path moved, packets arrive but nothing decodes until a key frame: the subscriber asks, the
    server makes that publisher send one; nobody can make an encoder they do not receive from spend them."""
    client, media, app_id = env
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as bob:
        anna_pid, bob_pid, sid = _call(client, app_id, anna, bob)
        anna_media = _session(media, anna_pid)
        assert ask(bob, {"type": "keyframe", "pid": anna_pid}) == {"type": "keyframe_requested", "pid": anna_pid,
                                                                   "re": "ask"}
        assert anna_media.keyframes == 1
        # a publisher may refresh its own subscribers (its path moved); Bob publishes nothing to ask of
        assert ask(anna, {"type": "keyframe", "pid": anna_pid})["type"] == "keyframe_requested"
        assert anna_media.keyframes == 2
        refused = ask(anna, {"type": "keyframe", "pid": bob_pid})
        assert (refused["type"], refused["code"]) == ("error", "no_such_subscription")
        assert ask(bob, {"type": "unsubscribe", "sid": sid})["type"] == "unsubscribed"
        refused = ask(bob, {"type": "keyframe", "pid": anna_pid})
        assert (refused["type"], refused["code"]) == ("error", "no_such_subscription")
        assert anna_media.keyframes == 2
