"""load_event: call and participant webhook payloads built from the stored rows."""

from __future__ import annotations

from shopcall.db.engine import Database
from shopcall.rooms.apps import create_app
from shopcall.rooms.store import RoomStore
from shopcall.webhooks.events import load_event


def test_load_event_builds_call_and_participant_payloads(db: Database) -> None:
    app, _ = create_app(db, "Shop")
    store = RoomStore(db)
    room = store.create_room(app.id)
    call = store.create_call(app.id, room.id, "cus_1", "Carla", {"sku": "H1"})
    pid = store.add_participant(room.id, "cus_1", "Carla", "shopper")

    queued = load_event(db, "call.queued", call_id=call.id)
    assert queued is not None and queued[0] == app.id
    assert queued[1]["call_id"] == call.id and queued[1]["context"] == {"sku": "H1"}
    store.claim_call(call.id, "anna")
    started = load_event(db, "call.started", room_id=room.id)
    assert started is not None and started[1]["agent"] == "anna" and "wait_s" in started[1]
    store.end_room(room.id, "done")
    ended = load_event(db, "call.ended", call_id=call.id)
    assert ended is not None and [p["participant_id"] for p in ended[1]["participants"]] == [pid]
    joined = load_event(db, "participant.joined", pid=pid)
    assert joined is not None and joined[0] == app.id
    assert (joined[1]["participant_id"], joined[1]["call_id"]) == (pid, call.id)

    assert load_event(db, "call.ended", call_id="cl_missing") is None
    assert load_event(db, "participant.left", pid="p_missing") is None
    assert load_event(db, "call.ended") is None
