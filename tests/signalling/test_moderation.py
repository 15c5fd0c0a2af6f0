"""Group hosting over signalling: mute, spotlight (replayed to late joiners), remove (and stay out)."""

from __future__ import annotations

from shopcall.api.deps import services_of
from shopcall.signalling.connection import StateBag
from tests.signalling.helpers import ask, expect_closed, hello, recv, req, rooms, tok


def test_host_mutes_spotlights_and_removes(env) -> None:
    client, _, app_id = env
    room = rooms(client).create_room(app_id, kind="group", max_participants=18)
    with client.websocket_connect("/v1/signal") as host, client.websocket_connect("/v1/signal") as bob, \
            client.websocket_connect("/v1/signal") as cleo:
        hello(host, tok(client, app_id, "anna", role="agent", rooms=["*"], name="Anna"))
        req(host, {"type": "join", "room": room.id})
        bob_token = tok(client, app_id, "bob", rooms=[room.id], name="Bob")
        hello(bob, bob_token)
        bob_pid = req(bob, {"type": "join", "room": room.id})["pid"]
        hello(cleo, tok(client, app_id, "cleo", rooms=[room.id], name="Cleo"))
        joined = req(cleo, {"type": "join", "room": room.id})
        assert joined["kind"] == "group" and joined["spotlight"] is None
        recv(host), recv(host), recv(bob)  # joins
        assert req(cleo, {"type": "moderate", "pid": bob_pid, "action": "mute_audio"})["code"] == "forbidden"
        assert req(host, {"type": "moderate", "pid": "pt_x", "action": "remove"})["code"] == "bad_request"

        host.send_json({"type": "moderate", "pid": bob_pid, "action": "mute_audio"})
        got = [recv(host), recv(host)]
        assert {"type": "moderated", "action": "mute_audio", "pid": bob_pid, "re": None} in got
        assert any(m["type"] == "participant_updated" and m["participant"]["audio_muted"] for m in got)
        assert recv(bob) == {"type": "force_mute", "audio": True, "by": "Anna"}
        upd = recv(cleo)
        assert upd["type"] == "participant_updated" and upd["participant"]["audio_muted"] is True

        host.send_json({"type": "moderate", "pid": bob_pid, "action": "spotlight"})
        for ws in (bob, cleo):
            assert recv(ws)["pid"] == bob_pid
        got = [recv(host), recv(host)]
        assert {"type": "spotlight", "pid": bob_pid, "by": host_pid(client, room.id, "anna")} in got
        with client.websocket_connect("/v1/signal") as dan:
            hello(dan, tok(client, app_id, "dan", rooms=[room.id]))
            assert req(dan, {"type": "join", "room": room.id})["spotlight"] == bob_pid
        recv(host), recv(host), recv(bob), recv(bob), recv(cleo), recv(cleo)  # dan joined, left

        host.send_json({"type": "moderate", "pid": bob_pid, "action": "remove"})
        assert recv(bob) == {"type": "removed", "room": room.id, "by": "Anna"}
        expect_closed(bob, 4003)
        msgs = [recv(cleo), recv(cleo)]
        assert {"type": "spotlight", "pid": None, "by": None} in msgs
        assert any(m["type"] == "participant_left" and m["reason"] == "removed" for m in msgs)
    # bob's token still names the room, but the host removed him: he stays out
    with client.websocket_connect("/v1/signal") as bob2:
        hello(bob2, bob_token)
        assert req(bob2, {"type": "join", "room": room.id})["code"] in ("removed", "room_ended")


def host_pid(client, room_id: str, identity: str) -> str:
    live = services_of(client.app).live.rooms[room_id]
    return next(pid for pid, c in live.members.items() if c.claims.identity == identity)


def test_a_removal_outlives_the_live_room_state(env) -> None:
    client, _, app_id = env
    room = rooms(client).create_room(app_id, kind="group", max_participants=18)
    bob_token = tok(client, app_id, "bob", rooms=[room.id], name="Bob")
    with client.websocket_connect("/v1/signal") as host, client.websocket_connect("/v1/signal") as bob:
        hello(host, tok(client, app_id, "anna", role="agent", rooms=["*"], name="Anna"))
        ask(host, {"type": "join", "room": room.id})
        hello(bob, bob_token)
        bob_pid = ask(bob, {"type": "join", "room": room.id})["pid"]
        assert ask(host, {"type": "moderate", "pid": bob_pid, "action": "remove"})["type"] == "moderated"
        # the live room's memory is lost (as after a restart): the removal is stored, so it still holds
        services_of(client.app).live.rooms[room.id].features = StateBag()
        with client.websocket_connect("/v1/signal") as bob2:
            hello(bob2, bob_token)
            assert ask(bob2, {"type": "join", "room": room.id})["code"] == "removed"
    assert rooms(client).removed_identities(room.id) == {"bob"}


def test_the_host_readmits_a_removed_guest(env) -> None:
    client, _, app_id = env
    room = rooms(client).create_room(app_id, kind="group", max_participants=18)
    with client.websocket_connect("/v1/signal") as host, client.websocket_connect("/v1/signal") as bob:
        hello(host, tok(client, app_id, "anna", role="agent", rooms=["*"], name="Anna"))
        ask(host, {"type": "join", "room": room.id})
        bob_token = tok(client, app_id, "bob", rooms=[room.id], name="Bob")
        hello(bob, bob_token)
        bob_pid = ask(bob, {"type": "join", "room": room.id})["pid"]
        ask(host, {"type": "moderate", "pid": bob_pid, "action": "remove"})
        assert ask(host, {"type": "moderate", "identity": "eve", "action": "readmit"})["code"] == "bad_request"
        assert ask(host, {"type": "moderate", "identity": "bob", "action": "readmit"})["identity"] == "bob"
        with client.websocket_connect("/v1/signal") as bob2:
            hello(bob2, bob_token)
            assert ask(bob2, {"type": "join", "room": room.id})["type"] == "joined"
    assert rooms(client).removed_identities(room.id) == set()
