"""Everything a client can add to live state is bounded, and abandoned calls leave nothing behind."""

from __future__ import annotations

from sqlalchemy import func, select

from shopcall.api.deps import services_of
from shopcall.db.models import Call, Room
from shopcall.signalling.features import incall
from tests.signalling.helpers import OFFER, ask, hello, live, req, rooms, tok


def test_stroke_floods_stay_within_the_stated_bounds(env, monkeypatch) -> None:
    client, _, app_id = env
    monkeypatch.setattr(incall, "MAX_CHAT_PER_ROOM", 10)
    monkeypatch.setattr(incall, "MAX_STROKES_PER_TARGET", 20)  # reached within the annotation rate limit
    room = rooms(client).create_room(app_id)
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as bob:
        hello(anna, tok(client, app_id, "anna", role="agent", rooms=["*"]))
        hello(bob, tok(client, app_id, "bob", rooms=[room.id]))
        ask(anna, {"type": "join", "room": room.id})
        bob_pid = req(bob, {"type": "join", "room": room.id})["pid"]
        ask(bob, {"type": "publish", "sdp": OFFER})
        # arbitrary targets are refused: only a published video can be drawn on
        for target in ("nobody", "x" * 80, f"{bob_pid}:screen"):
            r = ask(anna, {"type": "annotate", "id": "t", "op": "stroke", "target": target,
                           "stroke": {"id": "s", "points": [[0.5, 0.5]]}})
            assert r["code"] == "bad_request", target
        too_long = [[0.5, 0.5]] * (incall.MAX_POINTS_PER_STROKE + 1)
        r = ask(anna, {"type": "annotate", "id": "l", "op": "stroke", "target": bob_pid,
                       "stroke": {"id": "s", "points": too_long}})
        assert r["code"] == "bad_request" and "points" in r["message"]
        # partial strokes under fresh ids count like finished ones
        codes = []
        for i in range(incall.MAX_STROKES_PER_TARGET + 20):
            anna.send_json({"type": "annotate", "id": f"p{i}", "op": "stroke", "target": bob_pid, "partial": True,
                            "stroke": {"id": f"s{i}", "points": [[0.1, 0.1]] * 10}})
        ask(anna, {"type": "ping"})  # everything before it has been handled
        with client.websocket_connect("/v1/signal") as carl:
            hello(carl, tok(client, app_id, "carl", rooms=[room.id]))
            joined = ask(carl, {"type": "join", "room": room.id})
        assert len(joined["annotations"][bob_pid]) == incall.MAX_STROKES_PER_TARGET
        # chat per room
        for i in range(12):
            codes.append(ask(bob, {"type": "chat", "id": f"c{i}", "text": "hi"}).get("code"))
        assert codes[:10] == [None] * 10 and codes[10:] == ["limit_reached"] * 2


def test_points_per_room_are_bounded(env, monkeypatch) -> None:
    client, _, app_id = env
    monkeypatch.setattr(incall, "MAX_POINTS_PER_ROOM", 50)
    room = rooms(client).create_room(app_id)
    with client.websocket_connect("/v1/signal") as bob:
        hello(bob, tok(client, app_id, "bob", rooms=[room.id]))
        pid = ask(bob, {"type": "join", "room": room.id})["pid"]
        ask(bob, {"type": "publish", "sdp": OFFER})
        stroke = {"points": [[0.2, 0.2]] * 20}
        assert ask(bob, {"type": "annotate", "op": "stroke", "target": pid, "stroke": {"id": "a", **stroke}})[
            "type"] == "annotated"
        assert ask(bob, {"type": "annotate", "op": "stroke", "target": pid, "stroke": {"id": "b", **stroke}})[
            "type"] == "annotated"
        r = ask(bob, {"type": "annotate", "op": "stroke", "target": pid, "stroke": {"id": "c", **stroke}})
        assert r["code"] == "limit_reached"
        # replacing a stroke by a longer version of itself counts only the difference
        assert ask(bob, {"type": "annotate", "op": "stroke", "target": pid,
                         "stroke": {"id": "b", "points": [[0.3, 0.3]] * 30}})["type"] == "annotated"


def test_one_queued_call_per_connection_and_100_abandoned_calls_leave_nothing(env) -> None:
    client, _, app_id = env
    with client.websocket_connect("/v1/signal") as bob:
        hello(bob, tok(client, app_id, "bob"))
        first = req(bob, {"type": "call", "context": {}})
        assert req(bob, {"type": "call", "context": {}})["code"] == "bad_request"
        assert req(bob, {"type": "cancel_call", "call": first["call"]})["type"] == "call_cancelled"
    for i in range(100):
        with client.websocket_connect("/v1/signal") as ws:
            hello(ws, tok(client, app_id, f"s{i}"))
            created = req(ws, {"type": "call", "context": {"product": "x"}})
            assert created["type"] == "call_created"
            if i % 2:  # half cancel, half just go away
                assert req(ws, {"type": "cancel_call", "call": created["call"]})["type"] == "call_cancelled"
    snap = live(client, "desk_snapshot", app_id)
    assert snap["queue"] == [] and snap["calls"] == []
    assert services_of(client.app).live.desk.calls == {}
    assert services_of(client.app).live.rooms == {}
    with services_of(client.app).db.session() as s:
        assert s.scalar(select(func.count()).select_from(Room).where(Room.status == "open")) == 0
        statuses = set(s.scalars(select(Call.status)))
    assert statuses == {"abandoned"}


def test_each_connection_has_per_type_rate_limits(env) -> None:
    client, _, app_id = env
    room = rooms(client).create_room(app_id)
    with client.websocket_connect("/v1/signal") as bob, client.websocket_connect("/v1/signal") as eve:
        hello(bob, tok(client, app_id, "bob", rooms=[room.id]))
        hello(eve, tok(client, app_id, "eve", rooms=[room.id]))
        ask(bob, {"type": "join", "room": room.id})
        ask(eve, {"type": "join", "room": room.id})
        codes = [ask(bob, {"type": "chat", "text": "spam"}).get("code") for _ in range(40)]
        assert codes.count(None) == 30 and set(codes[30:]) == {"rate_limited"}
        err = ask(bob, {"type": "chat", "text": "spam"})
        assert "chat: at most 30 per 5 second" in err["message"] and "retry in" in err["message"]
        # other types and other connections keep their own buckets
        assert ask(bob, {"type": "ping"})["type"] == "pong"
        assert ask(eve, {"type": "chat", "text": "hello"})["type"] == "chat_sent"
        for _ in range(25):  # no reply when accepted
            bob.send_json({"type": "visitor_event", "event": "heartbeat"})
        bob.send_json({"type": "ping", "id": "end"})
        refused = 0
        while (m := bob.receive_json()).get("re") != "end":
            refused += m.get("code") == "rate_limited"
        assert refused == 5
