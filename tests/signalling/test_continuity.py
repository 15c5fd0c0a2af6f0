"""Continuity against a real server: a dropped queued shopper keeps their place (and a ringing agent
keeps ringing), a dropped call participant keeps their place in the call as "reconnecting" and comes
back with the same pid, a call whose shopper does not come back ends after the grace period with a
clear reason, a clean close still ends at once, and resume tokens are refused for another identity,
after expiry and after the call ended."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from shopcall.api.deps import services_of
from shopcall.auth.tokens import mint_resume, verify
from shopcall.db.models import Call
from tests.signalling.helpers import OFFER
from tests.signalling.live_peer import Peer
from tests.signalling.server import LiveServer, start_server

SHORT_GRACE_S = 3.0


def _serve(tmp_path: Path, **settings: float) -> Iterator[LiveServer]:
    srv, uv, thread = start_server(tmp_path, **settings)
    yield srv
    uv.should_exit = True
    thread.join(15)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    yield from _serve(tmp_path)  # the default 60 s grace


@pytest.fixture
def short(tmp_path: Path) -> Iterator[LiveServer]:
    yield from _serve(tmp_path, resume_grace_s=SHORT_GRACE_S)


def call_status(srv: LiveServer, call_id: str) -> str:
    with services_of(srv.app).db.session() as s:
        row = s.get(Call, call_id)
        assert row is not None
        return row.status


def agent(srv: LiveServer, app_id: str, identity: str = "anna") -> Peer:
    a = Peer(srv, token=srv.token(app_id, identity, "agent", rooms=["*"]))
    assert a.request({"type": "available"}, "available")["type"] == "available"
    return a


def shopper(srv: LiveServer, app_id: str, identity: str) -> Peer:
    return Peer(srv, token=srv.token(app_id, identity))


def resume_token_of(p: Peer, timeout: float = 5) -> str:
    deadline = time.monotonic() + timeout
    while p.resume_token is None and time.monotonic() < deadline:
        p.keep_alive(0.2)
    assert p.resume_token is not None, "no resume token was pushed"
    return p.resume_token


def in_call(srv: LiveServer, app_id: str) -> tuple[Peer, Peer, str, str, str]:
    """An answered call: (agent, shopper, call id, room id, the shopper's pid), both in the room."""
    ann = agent(srv, app_id)
    bob = shopper(srv, app_id, "bob")
    created = bob.request({"type": "call", "context": {}}, "call_created")
    call, room = created["call"], created["room"]
    assert ann.wait_for("incoming_call") is not None
    assert ann.request({"type": "accept_call", "call": call}, "call_accepted")["type"] == "call_accepted"
    assert bob.wait_for("call_answered") is not None
    assert ann.request({"type": "join", "room": room}, "joined")["type"] == "joined"
    joined = bob.request({"type": "join", "room": room}, "joined")
    assert joined["resumed"] is False
    return ann, bob, call, room, joined["pid"]


def test_a_dropped_queued_shopper_keeps_their_place_and_the_ringing_agent_keeps_ringing(server: LiveServer) -> None:
    app_id = server.tenant("Shop")
    ann = agent(server, app_id)
    bob, eve = shopper(server, app_id, "bob"), shopper(server, app_id, "eve")
    first = bob.request({"type": "call", "context": {}}, "call_created")
    second = eve.request({"type": "call", "context": {}}, "call_created")
    assert (first["position"], second["position"]) == (1, 2)
    ring = ann.wait_for("incoming_call")
    assert ring is not None and ring["call"] == first["call"]
    token = resume_token_of(bob)
    assert jwt.decode(token, options={"verify_signature": False})["typ"] == "resume"
    bob.drop()
    ann.keep_alive(3)
    assert "call_cancelled" not in ann.types(), "the agent stopped ringing while the shopper was away"
    assert call_status(server, first["call"]) == "ringing"
    # a new page of the same tab: hello with the resume token alone, same identity, same call
    back = Peer(server, resume=token)
    assert back.welcome["type"] == "welcome", back.welcome
    assert back.welcome["identity"] == "bob"
    assert back.welcome["resume"] == {"room": first["room"], "call": first["call"], "pid": None}
    resumed = back.request({"type": "resume_call", "call": first["call"]}, "call_resumed")
    assert (resumed["room"], resumed["position"]) == (first["room"], 1)
    assert eve.request({"type": "ping"}, "pong")["type"] == "pong"
    # the agent who kept ringing answers: the shopper's new connection hears it
    assert ann.request({"type": "accept_call", "call": first["call"]}, "call_accepted")["type"] == "call_accepted"
    answered = back.wait_for("call_answered")
    assert answered is not None and answered["call"] == first["call"]
    for p in (ann, eve, back):
        p.close_cleanly()


def test_a_dropped_call_participant_is_reconnecting_then_back_in_the_same_place(server: LiveServer) -> None:
    """A page reload (close 1001): the place is kept, the media goes with the page at once (its peer
    connections are gone), and the new page publishes afresh."""
    app_id = server.tenant("Shop")
    ann, bob, call, room, pid = in_call(server, app_id)
    assert bob.request({"type": "publish", "sdp": OFFER}, "answer")["type"] == "answer"
    assert ann.wait_for("track_published") is not None
    token = resume_token_of(bob)
    bob.close_cleanly(1001)
    held = ann.wait_for("participant_reconnecting")
    assert held is not None and held["pid"] == pid and held["participant"]["identity"] == "bob"
    assert held["grace_s"] == 60.0
    assert ann.wait_for("track_unpublished") is not None  # released now: nothing to keep for a page
    ann.keep_alive(2)
    assert "participant_left" not in ann.types() and "room_ended" not in ann.types()
    # back with the resume token: the same pid, the others told, media again
    back = Peer(server, resume=token)
    joined = back.request({"type": "join", "room": room, "keep_media": True}, "joined")
    assert (joined["pid"], joined["resumed"], joined["media_kept"]) == (pid, True, False)
    assert [p["identity"] for p in joined["participants"]] == ["anna"]
    again = ann.wait_for("participant_reconnected")
    assert again is not None and again["participant"]["pid"] == pid
    assert back.request({"type": "publish", "sdp": OFFER}, "answer")["type"] == "answer"
    assert call_status(server, call) == "answered"
    # the agent drops too, and comes back over an ordinary reconnect (its own token)
    ann.drop()
    assert back.wait_for("participant_reconnecting") is not None
    ann2 = Peer(server, token=server.token(app_id, "anna", "agent", rooms=["*"]))
    assert ann2.request({"type": "join", "room": room}, "joined")["resumed"] is True
    assert back.wait_for("participant_reconnected") is not None
    assert call_status(server, call) == "answered"
    for p in (ann2, back):
        p.close_cleanly()


def test_a_resume_that_kept_its_peer_connections_takes_back_the_same_media(server: LiveServer) -> None:
    """A signalling drop (network blip): the client's peer connections live on, so the server keeps the
    publisher and the subscriptions and hands them to the resumed connection: no re-publish, no
    re-subscribe for anyone; a broken path needs only an ICE restart on the same handle."""
    app_id = server.tenant("Shop")
    ann, bob, call, room, pid = in_call(server, app_id)
    assert bob.request({"type": "publish", "sdp": OFFER}, "answer")["type"] == "answer"
    assert ann.wait_for("track_published") is not None
    sub = ann.request({"type": "subscribe", "pid": pid}, "offer")
    assert ann.request({"type": "start", "sid": sub["sid"], "sdp": OFFER}, "started")["type"] == "started"
    assert bob.request({"type": "publish", "sdp": OFFER}, "answer")  # (renegotiation: same handle)
    token = resume_token_of(bob)
    before = ann.types().count("track_published"), ann.types().count("track_unpublished")
    bob.drop()
    held = ann.wait_for("participant_reconnecting")
    assert held is not None and held["participant"]["publishing"] is True
    back = Peer(server, resume=token)
    joined = back.request({"type": "join", "room": room, "keep_media": True}, "joined")
    assert (joined["pid"], joined["resumed"], joined["media_kept"]) == (pid, True, True)
    again = ann.wait_for("participant_reconnected")
    assert again is not None and again["participant"]["publishing"] is True
    ann.keep_alive(1)
    assert (ann.types().count("track_published"), ann.types().count("track_unpublished")) == before
    # the agent's subscription is the same one, and the shopper's publisher restarts ICE in place
    assert ann.request({"type": "ice_restart", "target": sub["sid"]}, "ice_restarted")["pid"] == pid
    restarted = back.request({"type": "ice_restart", "target": "publisher", "sdp": OFFER}, "ice_restarted")
    assert restarted["type"] == "ice_restarted", restarted
    assert call_status(server, call) == "answered"
    # leaving for good now releases it as usual
    back.close_cleanly(1000)
    left = ann.wait_for("participant_left")
    assert left is not None and left["pid"] == pid
    ann.close_cleanly()


def test_kept_media_is_released_when_the_hold_expires(short: LiveServer) -> None:
    app_id = short.tenant("Shop")
    ann, bob, call, room, pid = in_call(short, app_id)
    assert bob.request({"type": "publish", "sdp": OFFER}, "answer")["type"] == "answer"
    assert ann.wait_for("track_published") is not None
    bob.drop()
    assert ann.wait_for("participant_reconnecting") is not None
    gone = ann.wait_for("track_unpublished", timeout=SHORT_GRACE_S + 5)
    assert gone is not None and gone["pid"] == pid
    assert ann.wait_for("participant_left") is not None  # released first, then gone
    assert ann.wait_for("room_ended") is not None
    ann.keep_alive(0.5)
    media = services_of(short.app).media
    assert media.stats_now()["sessions"] == 0, media.stats_now()  # type: ignore[attr-defined]


def test_a_shopper_who_does_not_come_back_ends_the_call_after_the_grace(short: LiveServer) -> None:
    app_id = short.tenant("Shop")
    ann, bob, call, room, pid = in_call(short, app_id)
    token = resume_token_of(bob)
    bob.drop()
    dropped = time.monotonic()
    assert ann.wait_for("participant_reconnecting") is not None
    left = ann.wait_for("participant_left", timeout=SHORT_GRACE_S + 5)
    assert left is not None and (left["pid"], left["reason"]) == (pid, "disconnected")
    assert time.monotonic() - dropped >= SHORT_GRACE_S - 0.5
    ended = ann.wait_for("room_ended")
    assert ended is not None and ended["reason"] == "shopper_disconnected"
    assert call_status(short, call) == "ended"
    # the token is no good any more: expired (its lifetime is the grace), and the call has ended
    refused = Peer(short, resume=token).welcome
    assert refused["type"] == "error" and refused["code"] == "resume_expired", refused


def test_a_clean_close_still_leaves_at_once(server: LiveServer) -> None:
    app_id = server.tenant("Shop")
    ann, bob, _call, _room, pid = in_call(server, app_id)
    bob.close_cleanly(1000)
    left = ann.wait_for("participant_left", "participant_reconnecting", timeout=5)
    assert left is not None and left["type"] == "participant_left" and left["reason"] == "left", left
    ann.close_cleanly()


def test_resume_tokens_are_refused_for_another_identity_after_the_call_and_when_forged(server: LiveServer) -> None:
    app_id = server.tenant("Shop")
    ann, bob, call, room, pid = in_call(server, app_id)
    token = resume_token_of(bob)
    # another identity presenting it next to their own token
    eve = Peer(server, token=server.token(app_id, "eve"), resume=token).welcome
    assert eve["type"] == "error" and eve["code"] == "resume_mismatch", eve
    # forged, or signed with another key
    forged = mint_resume(b"not-the-server-key" * 2, verify(services_of(server.app).signing_key,
                                                           server.token(app_id, "bob")),
                         room=room, call=call, pid=pid, ttl_s=60)[0]
    bad = Peer(server, resume=forged).welcome
    assert bad["type"] == "error" and bad["code"] == "resume_invalid", bad
    # a resume token is not a client token
    wrong_slot = Peer(server, token=token).welcome
    assert wrong_slot["type"] == "error" and wrong_slot["code"] == "token_invalid", wrong_slot
    # the agent ends the call: the token is revoked although not expired
    ann.send({"type": "end_room"})
    assert bob.wait_for("room_ended") is not None
    gone = Peer(server, resume=token).welcome
    assert gone["type"] == "error" and gone["code"] == "resume_revoked", gone
    assert call_status(server, call) == "ended"
    ann.close_cleanly()


def test_the_agent_is_free_again_after_ending_a_call_whose_shopper_had_reconnected(server: LiveServer) -> None:
    app_id = server.tenant("Shop")
    ann, bob, call, room, pid = in_call(server, app_id)
    token = resume_token_of(bob)
    bob.drop()
    assert ann.wait_for("participant_reconnecting") is not None
    back = Peer(server, resume=token)
    assert back.request({"type": "join", "room": room}, "joined")["resumed"] is True
    assert ann.wait_for("participant_reconnected") is not None
    ann.send({"type": "end_room"})
    assert back.wait_for("room_ended") is not None
    assert call_status(server, call) == "ended"
    # a fresh console session of the same agent is online, not busy, and gets the next call
    ann.close_cleanly()
    ann2 = Peer(server, token=server.token(app_id, "anna", "agent", rooms=["*"]))
    status = ann2.request({"type": "set_status", "status": "online"}, "status")
    assert status["status"] == "online", status
    eve = shopper(server, app_id, "eve")
    eve.request({"type": "call", "context": {}}, "call_created")
    assert ann2.wait_for("incoming_call") is not None
    for p in (ann2, eve):  # `back` was closed by the server with the room's end
        p.close_cleanly()


def test_a_resume_without_peer_connections_releases_the_kept_media(server: LiveServer) -> None:
    """A network drop keeps the media; a resume that does not ask for it (a client that lost its peer
    connections meanwhile) releases it, and the others see the feed go before the participant is back."""
    app_id = server.tenant("Shop")
    ann, bob, call, room, pid = in_call(server, app_id)
    assert bob.request({"type": "publish", "sdp": OFFER}, "answer")["type"] == "answer"
    assert ann.wait_for("track_published") is not None
    token = resume_token_of(bob)
    unpublished = ann.types().count("track_unpublished")
    bob.drop()
    assert ann.wait_for("participant_reconnecting") is not None
    ann.keep_alive(1)
    assert ann.types().count("track_unpublished") == unpublished  # kept while it may come back
    back = Peer(server, resume=token)
    joined = back.request({"type": "join", "room": room}, "joined")
    assert (joined["resumed"], joined["media_kept"]) == (True, False)
    assert ann.wait_for("track_unpublished") is not None
    assert back.request({"type": "publish", "sdp": OFFER}, "answer")["type"] == "answer"
    for p in (ann, back):
        p.close_cleanly()
