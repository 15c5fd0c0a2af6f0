"""Live visitors and proactive invitations over signalling."""

from __future__ import annotations

import time

from shopcall.api.deps import services_of
from shopcall.db.models import Call
from tests.signalling.helpers import hello, live, recv, req, tok


def _listing(client, app_id: str) -> list[dict]:
    return live(client, "visitors", app_id)


def _wait_listing(client, app_id: str, pred) -> list[dict]:
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        rows = _listing(client, app_id)
        if pred(rows):
            return rows
        time.sleep(0.02)
    raise AssertionError(_listing(client, app_id))


def test_visitor_events_make_a_live_list_and_an_invite_becomes_a_call(env) -> None:
    client, _, app_id = env
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as vis:
        hello(anna, tok(client, app_id, "anna", role="agent", rooms=["*"], name="Anna"))
        req(anna, {"type": "available"})
        hello(vis, tok(client, app_id, "shopper-1", name="Guest"))
        assert req(anna, {"type": "visitor_event", "event": "page_view", "page": "/x"})["code"] == "forbidden"
        vis.send_json({"type": "visitor_event", "event": "page_view", "page": "/", "returning": True,
                       "first_seen": time.time() - 125})
        vis.send_json({"type": "visitor_event", "event": "product_view", "page": "/p/NA-H1", "product": "NA-H1",
                       "title": "Aurora H1"})
        vis.send_json({"type": "visitor_event", "event": "cart", "cart": {"items": 2, "value": 548.0}})
        rows = _wait_listing(client, app_id, lambda r: r and r[0]["cart"])
        v = rows[0]
        assert (v["product"], v["pages_viewed"], v["returning"], v["cart"]["items"]) == ("NA-H1", 2, True, 2)
        assert v["time_on_site_s"] >= 120
        bad = req(vis, {"type": "visitor_event", "event": "cart", "cart": {"items": -1}})
        assert bad["code"] == "bad_request"

        # decline first
        inv = req(anna, {"type": "invite_visitor", "visitor": v["id"]})
        assert inv["type"] == "visitor_invited"
        prompt = recv(vis)
        assert prompt["type"] == "agent_invite" and prompt["agent"]["name"] == "Anna" and "Anna" in prompt["message"]
        assert req(anna, {"type": "invite_visitor", "visitor": v["id"]})["code"] == "visitor_busy"
        assert req(vis, {"type": "answer_invite", "invite": prompt["invite"], "accept": False})["accept"] is False
        assert recv(anna) == {"type": "invite_declined", "visitor": v["id"], "name": "Guest"}
        assert req(vis, {"type": "answer_invite", "invite": prompt["invite"], "accept": True})["code"] == \
            "invite_not_found"

        # then accept: a call with anna, no queue
        req(anna, {"type": "invite_visitor", "visitor": v["id"], "message": "Want a closer look?"})
        prompt = recv(vis)
        assert prompt["message"] == "Want a closer look?"
        ok = req(vis, {"type": "answer_invite", "invite": prompt["invite"], "accept": True})
        assert ok["accept"] is True and ok["agent"]["identity"] == "anna"
        got = recv(anna)
        assert got["type"] == "invite_accepted" and got["call"] == ok["call"] and got["context"]["product"] == "NA-H1"
        assert req(vis, {"type": "join", "room": ok["room"]})["type"] == "joined"
        assert req(anna, {"type": "join", "room": ok["room"]})["type"] == "joined"
        with services_of(client.app).db.session() as s:
            c = s.get(Call, ok["call"])
            assert (c.status, c.agent_identity, c.context["invited_by"]) == ("answered", "anna", "anna")
        snap = live(client, "desk_snapshot", app_id)
        assert snap["agents"][0]["status"] == "busy" and snap["queue"] == []
    assert _listing(client, app_id) == []  # visitors leave with their socket


def test_visitors_are_per_tenant(env) -> None:
    client, _, app_id = env
    from shopcall.rooms.apps import create_app as create_tenant

    other, _ = create_tenant(services_of(client.app).db, "Other")
    with client.websocket_connect("/v1/signal") as eve, client.websocket_connect("/v1/signal") as vis:
        hello(vis, tok(client, app_id, "shopper-2"))
        vis.send_json({"type": "visitor_event", "event": "page_view", "page": "/"})
        rows = _wait_listing(client, app_id, lambda r: bool(r))
        hello(eve, tok(client, other.id, "eve", role="agent", rooms=["*"]))
        assert _listing(client, other.id) == []
        assert req(eve, {"type": "invite_visitor", "visitor": rows[0]["id"]})["code"] == "visitor_gone"
