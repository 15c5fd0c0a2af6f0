"""Queue and routing over signalling: skills, ring timeout, decline, away, transfer, invite, abandonment."""

from __future__ import annotations

import time

from shopcall.api.deps import services_of
from shopcall.console.accounts import upsert_agent
from shopcall.db.models import App, Call, Product
from tests.signalling.helpers import hello, live, recv, req, tok

FAST = {"ring_timeout_s": 0.6, "fallback_after_s": 1.0, "max_wait_s": 4.0, "reoffer_delay_s": 0.1}


def _fast(client, app_id: str) -> None:
    with services_of(client.app).db.session() as s:
        s.get(App, app_id).routing = FAST
    live(client, "reload_routing_policy", app_id)


def _shop(client, app_id: str) -> None:
    db = services_of(client.app).db
    upsert_agent(db, app_id, "anna", name="Anna", languages=["de"], categories=["Headphones"])
    upsert_agent(db, app_id, "ben", name="Ben", languages=["en"], categories=["Turntables"])
    with db.session() as s:
        s.add(Product(app_id=app_id, sku="T4", title="Turntable", price_cents=100, category="Turntables"))
    _fast(client, app_id)


def _agent(client, ws, app_id, identity) -> dict:
    hello(ws, tok(client, app_id, identity, role="agent", rooms=["*"], name=identity.title()))
    return req(ws, {"type": "available"})


def _status(client, call_id: str) -> str:
    with services_of(client.app).db.session() as s:
        return s.get(Call, call_id).status


def test_skills_pick_the_matching_agent_and_ring_timeout_moves_on(env) -> None:
    client, _, app_id = env
    _shop(client, app_id)
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as ben, \
            client.websocket_connect("/v1/signal") as bob:
        _agent(client, anna, app_id, "anna")  # longest idle, but wrong skills for a turntable
        _agent(client, ben, app_id, "ben")
        hello(bob, tok(client, app_id, "bob", name="Bob"))
        created = req(bob, {"type": "call", "context": {"product": "T4", "language": "en"}})
        ring = recv(ben)
        assert ring["type"] == "incoming_call" and ring["call"] == created["call"]
        # ben lets it ring out: the call moves on to anna (fallback after 1 s), ben's ring is withdrawn
        withdrawn = recv(ben)
        assert withdrawn == {"type": "call_cancelled", "call": created["call"], "reason": "timeout"}
        t0 = time.monotonic()
        ring2 = recv(anna)
        assert ring2["type"] == "incoming_call" and ring2["call"] == created["call"]
        assert time.monotonic() - t0 < 2
        acc = req(anna, {"type": "accept_call", "call": created["call"]})
        assert acc["type"] == "call_accepted"
        assert recv(bob)["type"] == "call_answered"
        assert _status(client, created["call"]) == "answered"


def test_decline_rings_the_next_agent_and_away_agents_never_ring(env) -> None:
    client, _, app_id = env
    _shop(client, app_id)
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as ben, \
            client.websocket_connect("/v1/signal") as bob:
        _agent(client, anna, app_id, "anna")
        _agent(client, ben, app_id, "ben")
        assert req(ben, {"type": "set_status", "status": "away"})["status"] == "away"
        hello(bob, tok(client, app_id, "bob"))
        created = req(bob, {"type": "call", "context": {}})
        assert recv(anna)["call"] == created["call"]
        assert req(anna, {"type": "decline_call", "call": created["call"]})["type"] == "call_declined"
        # ben is away: nobody rings; ben comes back and gets it in the reply to set_status
        back = req(ben, {"type": "set_status", "status": "online"})
        assert back["status"] == "online" and [c["call"] for c in back["calls"]] == [created["call"]]
        assert req(ben, {"type": "accept_call", "call": created["call"]})["type"] == "call_accepted"
        snap = live(client, "desk_snapshot", app_id)
        assert {a["identity"]: a["status"] for a in snap["agents"]} == {"anna": "online", "ben": "busy"}


def test_abandoned_and_unanswered_calls_are_stored(env) -> None:
    client, _, app_id = env
    _shop(client, app_id)
    with client.websocket_connect("/v1/signal") as bob:
        hello(bob, tok(client, app_id, "bob"))
        first = req(bob, {"type": "call", "context": {}})
        assert req(bob, {"type": "cancel_call", "call": first["call"]})["type"] == "call_cancelled"
        assert _status(client, first["call"]) == "abandoned"
        second = req(bob, {"type": "call", "context": {}})
        msg = recv(bob)
        assert msg["type"] == "call_unanswered" and msg["call"] == second["call"]
        assert _status(client, second["call"]) == "unanswered"


def test_transfer_and_invite_a_second_agent(env) -> None:
    client, _, app_id = env
    _shop(client, app_id)
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as ben, \
            client.websocket_connect("/v1/signal") as bob:
        _agent(client, anna, app_id, "anna")
        hello(bob, tok(client, app_id, "bob"))
        created = req(bob, {"type": "call", "context": {}})
        assert recv(anna)["type"] == "incoming_call"
        req(anna, {"type": "accept_call", "call": created["call"]})
        assert recv(bob)["type"] == "call_answered"
        assert req(bob, {"type": "join", "room": created["room"]})["type"] == "joined"
        assert req(anna, {"type": "transfer_call", "call": created["call"], "to": "ben"})["code"] == \
            "agent_unavailable"  # ben is not online
        _agent(client, ben, app_id, "ben")
        inv = req(anna, {"type": "invite_agent", "call": created["call"], "to": "ben"})
        assert inv["type"] == "agent_invited"
        got = recv(ben)
        assert got["type"] == "call_invitation" and got["room"] == created["room"] and got["from"] == "Anna"
        assert req(ben, {"type": "join", "room": created["room"]})["type"] == "joined"
        assert recv(bob)["type"] == "participant_joined"
        # ben is now in the call (busy), so a transfer to him is a plain hand-over within the call
        assert req(anna, {"type": "transfer_call", "call": created["call"], "to": "nobody"})["code"] == \
            "agent_unavailable"
        assert req(bob, {"type": "transfer_call", "call": created["call"], "to": "ben"})["code"] == "forbidden"
        # the invited agent leaves; the call goes on and he is free for the next one
        assert req(ben, {"type": "leave"})["type"] == "left"
        snap = live(client, "desk_snapshot", app_id)
        assert {a["identity"]: a["status"] for a in snap["agents"]} == {"anna": "busy", "ben": "online"}


def test_transfer_hands_the_call_over_without_requeueing(env) -> None:
    client, _, app_id = env
    _shop(client, app_id)
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as ben, \
            client.websocket_connect("/v1/signal") as bob:
        _agent(client, anna, app_id, "anna")
        hello(bob, tok(client, app_id, "bob"))
        created = req(bob, {"type": "call", "context": {}})
        recv(anna)
        req(anna, {"type": "accept_call", "call": created["call"]})
        _agent(client, ben, app_id, "ben")
        r = req(anna, {"type": "transfer_call", "call": created["call"], "to": "ben"})
        assert r == {"type": "call_transferred_away", "call": created["call"], "to": "ben", "re": None}
        got = recv(ben)
        assert got["type"] == "call_transferred" and got["room"] == created["room"]
        with services_of(client.app).db.session() as s:
            assert s.get(Call, created["call"]).agent_identity == "ben"
        snap = live(client, "desk_snapshot", app_id)
        assert snap["queue"] == [] and snap["calls"][0]["agents"] == ["ben"]
        assert {a["identity"]: a["status"] for a in snap["agents"]} == {"anna": "online", "ben": "busy"}


def test_agents_of_another_app_are_never_rung(env) -> None:
    client, _, app_id = env
    from shopcall.rooms.apps import create_app as create_tenant

    other, _ = create_tenant(services_of(client.app).db, "Other")
    _fast(client, app_id)
    with client.websocket_connect("/v1/signal") as eve, client.websocket_connect("/v1/signal") as bob:
        _agent(client, eve, other.id, "eve")
        hello(bob, tok(client, app_id, "bob"))
        created = req(bob, {"type": "call", "context": {}})
        assert recv(bob)["type"] == "call_unanswered"
        assert _status(client, created["call"]) == "unanswered"
        assert req(eve, {"type": "ping", "id": "p"}) == {"type": "pong", "re": "p"}  # nothing else arrived


def test_calls_outside_business_hours_are_refused_with_a_reason(env) -> None:
    client, _, app_id = env
    with services_of(client.app).db.session() as s:
        s.get(App, app_id).business_hours = {"timezone": "UTC", "weekly": {"mon": [["00:00", "00:01"]]}}
    with client.websocket_connect("/v1/signal") as bob:
        hello(bob, tok(client, app_id, "bob"))
        r = req(bob, {"type": "call", "context": {}})
        assert r["code"] == "closed" and "open again" in r["message"] and "callback" in r["message"]
