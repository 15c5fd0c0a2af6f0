"""The call path emits webhooks: call.queued, call.started, participant.joined/left, call.ended
(with duration and participants), delivered signed to a real receiver, each event exactly once."""

from __future__ import annotations

import time

from shopcall.api.deps import services_of
from shopcall.outbound import OutboundPolicy
from tests.signalling.helpers import hello, recv, req, tok
from tests.webhooks import Receiver


def test_a_call_produces_signed_webhooks(env) -> None:
    client, _, app_id = env
    dispatcher = services_of(client.app).webhooks
    dispatcher.outbound = OutboundPolicy.parse(["127.0.0.1"])  # the receiver listens on loopback
    receiver = Receiver(mode="ok").start()
    try:
        _, secret = dispatcher.create_endpoint(app_id, receiver.url, ["*"])
        receiver.secret = secret
        with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as bob:
            hello(anna, tok(client, app_id, "anna", role="agent", rooms=["*"], name="Anna"))
            req(anna, {"type": "available"})
            hello(bob, tok(client, app_id, "bob", name="Bob"))
            created = req(bob, {"type": "call", "context": {"product": "X"}})
            assert recv(anna)["type"] == "incoming_call"
            assert req(anna, {"type": "accept_call", "call": created["call"]})["type"] == "call_accepted"
            req(bob, {"type": "join", "room": created["room"]})
            req(anna, {"type": "join", "room": created["room"]})
            time.sleep(0.3)
            anna.send_json({"type": "end_room"})
            recv(anna, skip=("queue_update", "participant_joined", "call_answered"))
        want = {"call.queued", "call.started", "participant.joined", "participant.left", "call.ended"}
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            client.portal.call(dispatcher.deliver_due_now)
            types = [h.event_type for h in receiver.snapshot() if h.answered == 200]
            if want <= set(types) and types.count("participant.left") >= 2:
                break
            time.sleep(0.1)
        hits = [h for h in receiver.snapshot() if h.answered == 200]
        assert not receiver.rejected(), receiver.rejected()  # every signature verified
        types = [h.event_type for h in hits]
        assert want <= set(types), types
        assert types.count("participant.joined") == 2 and types.count("call.ended") == 1
        ended = next(h.event for h in hits if h.event_type == "call.ended")
        assert ended["data"]["duration_s"] is not None and ended["data"]["duration_s"] >= 0.2
        assert {p["identity"] for p in ended["data"]["participants"]} == {"anna", "bob"}
        assert len({h.event_id for h in hits}) == len(hits)  # each event once
    finally:
        receiver.close()
