"""Chat, product cards, card clicks and annotation over signalling (fake media, real DB)."""

from __future__ import annotations

from shopcall.api.deps import services_of
from shopcall.db.models import Product
from shopcall.rooms.incall_store import InCallStore
from tests.signalling.helpers import OFFER, hello, req, rooms, tok


def _room_with(client, app_id: str):
    store = rooms(client)
    room = store.create_room(app_id, max_participants=4)
    with services_of(client.app).db.session() as s:
        s.add(Product(app_id=app_id, sku="NA-H1", title="Nordic Aura H1", price_cents=24900, currency="EUR",
                      image_url="/static/demo/img/headphones.svg", category="headphones"))
    return room


def _join(client, ws, app_id, identity, role, room_id, name=None) -> dict:
    hello(ws, tok(client, app_id, identity, role=role, rooms=[room_id], name=name or identity.title()))
    r = req(ws, {"type": "join", "id": "j", "room": room_id})
    assert r["type"] == "joined", r
    return r


def test_chat_round_trip_is_persisted_and_replayed_to_late_joiner(env) -> None:
    client, _, app_id = env
    room = _room_with(client, app_id)
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as bob:
        _join(client, anna, app_id, "anna", "agent", room.id)
        _join(client, bob, app_id, "bob", "shopper", room.id)
        assert anna.receive_json()["type"] == "participant_joined"
        sent = req(bob, {"type": "chat", "id": "c1", "text": "  Does it fold?  "})
        assert sent["type"] == "chat_sent" and sent["message"]["text"] == "Does it fold?"
        got = anna.receive_json()
        assert got["type"] == "chat" and got["message"]["text"] == "Does it fold?"
        assert got["message"]["identity"] == "bob" and got["message"]["role"] == "shopper"
        assert req(bob, {"type": "chat", "id": "c2", "text": "   "})["code"] == "bad_request"
        assert req(bob, {"type": "chat", "id": "c3", "text": "x" * 2001})["code"] == "bad_request"
        with client.websocket_connect("/v1/signal") as carl:
            late = _join(client, carl, app_id, "carl", "shopper", room.id)
            assert [m["text"] for m in late["chat"]] == ["Does it fold?"]
    rows = InCallStore(services_of(client.app).db).chat_history(room.id)
    assert [(m.identity, m.text) for m in rows] == [("bob", "Does it fold?")]


def test_product_card_and_add_to_cart_click_recorded(env) -> None:
    client, _, app_id = env
    room = _room_with(client, app_id)
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as bob:
        _join(client, anna, app_id, "anna", "agent", room.id)
        _join(client, bob, app_id, "bob", "shopper", room.id)
        anna.receive_json()  # bob joined
        assert req(bob, {"type": "product_card", "id": "p0", "sku": "NA-H1"})["code"] == "forbidden"
        assert req(anna, {"type": "product_card", "id": "p1", "sku": "NOPE"})["code"] == "product_not_found"
        sent = req(anna, {"type": "product_card", "id": "p2", "sku": "NA-H1", "variant": "Black"})
        card = sent["card"]
        assert (card["title"], card["price"], card["currency"], card["variant"]) == (
            "Nordic Aura H1", 249.0, "EUR", "Black")
        shown = bob.receive_json()
        assert shown["type"] == "product_card" and shown["card"]["id"] == card["id"]
        assert req(bob, {"type": "card_action", "id": "a0", "card": "card_bogus", "action": "add_to_cart"})[
            "code"] == "card_not_found"
        rec = req(bob, {"type": "card_action", "id": "a1", "card": card["id"], "action": "add_to_cart"})
        assert rec["type"] == "card_action_recorded" and isinstance(rec["event"], int)
        note = anna.receive_json()
        assert (note["type"], note["sku"], note["action"]) == ("card_action", "NA-H1", "add_to_cart")
    events = InCallStore(services_of(client.app).db).events(room.id)
    assert [e.kind for e in events] == ["product_card", "card_action"]
    assert events[1].identity == "bob" and events[1].data["sku"] == "NA-H1" and events[1].data["price"] == 249.0


def test_annotation_stroke_undo_clear_and_late_joiner_replay(env) -> None:
    client, _, app_id = env
    room = _room_with(client, app_id)
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as bob:
        _join(client, anna, app_id, "anna", "agent", room.id)
        bj = _join(client, bob, app_id, "bob", "shopper", room.id)
        bob_pid = bj["pid"]
        anna.receive_json()
        stroke = {"id": "s1", "points": [[0.1, 0.1]]}
        # only a published video can be drawn on
        assert req(anna, {"type": "annotate", "id": "a", "op": "stroke", "target": bob_pid,
                          "stroke": stroke})["code"] == "bad_request"
        assert req(bob, {"type": "publish", "sdp": OFFER})["type"] == "answer"
        assert bob.receive_json()["type"] == "media_state"
        assert anna.receive_json() == {"type": "track_published", "pid": bob_pid}
        stroke = {"id": "s1", "points": [[0.1, 0.1], [0.5, 0.5]], "color": "#00ff00", "width": 6}
        # streamed partial: no reply, the other side sees it at once
        anna.send_json({"type": "annotate", "id": "a0", "op": "stroke", "target": bob_pid,
                        "stroke": {**stroke, "points": [[0.1, 0.1]]}, "partial": True})
        part = bob.receive_json()
        assert part["type"] == "annotation" and part["partial"] is True and part["stroke"]["points"] == [[0.1, 0.1]]
        done = req(anna, {"type": "annotate", "id": "a1", "op": "stroke", "target": bob_pid, "stroke": stroke})
        assert done == {"type": "annotated", "op": "stroke", "target": bob_pid, "re": "a1"}
        full = bob.receive_json()
        assert full["stroke"]["points"] == [[0.1, 0.1], [0.5, 0.5]] and full["by"] != bob_pid
        bad = req(anna, {"type": "annotate", "id": "a2", "op": "stroke", "target": bob_pid,
                         "stroke": {**stroke, "id": "s2", "points": [[1.5, 0.2]]}})
        assert bad["code"] == "bad_request" and "0..1" in bad["message"]
        assert req(anna, {"type": "annotate", "id": "a3", "op": "stroke", "target": "pt_nobody",
                          "stroke": stroke})["code"] == "bad_request"
        assert req(bob, {"type": "annotate", "id": "b1", "op": "stroke", "target": bob_pid,
                         "stroke": {**stroke, "id": "s1"}})["code"] == "forbidden"  # not bob's stroke
        assert req(bob, {"type": "annotate", "id": "b2", "op": "undo", "target": bob_pid})["code"] == "bad_request"
        req(anna, {"type": "annotate", "id": "a4", "op": "stroke", "target": bob_pid,
                   "stroke": {**stroke, "id": "s2"}})
        bob.receive_json()
        with client.websocket_connect("/v1/signal") as carl:
            late = _join(client, carl, app_id, "carl", "shopper", room.id)
            assert [s["id"] for s in late["annotations"][bob_pid]] == ["s1", "s2"]
            anna.receive_json(), bob.receive_json()  # carl joined
            assert req(anna, {"type": "annotate", "id": "a5", "op": "undo", "target": bob_pid})["op"] == "undo"
            assert bob.receive_json()["stroke_id"] == "s2"
            assert req(anna, {"type": "annotate", "id": "a6", "op": "clear", "target": bob_pid})["op"] == "clear"
        with client.websocket_connect("/v1/signal") as dora:
            assert _join(client, dora, app_id, "dora", "shopper", room.id)["annotations"] == {}
    saved = [(e.data["op"], e.data.get("stroke", {}).get("id")) for e in
             InCallStore(services_of(client.app).db).events(room.id, "annotation")]
    assert saved == [("stroke", "s1"), ("stroke", "s2"), ("undo", None), ("clear", None)]


def test_incall_messages_require_room_membership(env) -> None:
    client, _, app_id = env
    with client.websocket_connect("/v1/signal") as ws:
        hello(ws, tok(client, app_id, "bob"))
        for m in ({"type": "chat", "id": "1", "text": "hi"},
                  {"type": "card_action", "id": "2", "card": "c", "action": "view"},
                  {"type": "annotate", "id": "3", "op": "clear", "target": "x"}):
            assert req(ws, m)["code"] == "not_in_room"
