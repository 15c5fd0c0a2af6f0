"""Screen share as a second feed: published, subscribed, announced to late joiners, released."""

from __future__ import annotations

from tests.signalling.helpers import OFFER, hello, recv, req, rooms, tok


def test_screen_share_is_a_second_feed_others_can_subscribe_to(env) -> None:
    client, media, app_id = env
    room = rooms(client).create_room(app_id)
    with client.websocket_connect("/v1/signal") as anna, client.websocket_connect("/v1/signal") as bob:
        hello(anna, tok(client, app_id, "anna", role="agent", rooms=["*"]))
        hello(bob, tok(client, app_id, "bob", rooms=[room.id]))
        anna_pid = req(anna, {"type": "join", "room": room.id})["pid"]
        req(bob, {"type": "join", "room": room.id})
        recv(anna)  # bob joined
        assert req(bob, {"type": "unpublish_screen", "id": "u"})["code"] == "not_publishing"
        assert req(anna, {"type": "publish_screen", "id": "s", "sdp": OFFER})["type"] == "screen_answer"
        assert recv(anna) == {"type": "media_state", "target": "screen", "state": "up"}
        pub = recv(bob)
        assert pub == {"type": "track_published", "pid": f"{anna_pid}:screen", "of": anna_pid, "source": "screen"}
        offer = req(bob, {"type": "subscribe", "pid": f"{anna_pid}:screen"})
        assert offer["type"] == "offer" and offer["pid"] == f"{anna_pid}:screen"
        assert req(bob, {"type": "start", "sid": offer["sid"], "sdp": OFFER})["type"] == "started"
        anna.send_json({"type": "trickle", "target": "screen", "candidate": None})
        handles_sharing = media.stats_now()["handles"]
        # a late joiner learns that anna is sharing
        with client.websocket_connect("/v1/signal") as carl:
            hello(carl, tok(client, app_id, "carl", rooms=[room.id]))
            joined = req(carl, {"type": "join", "room": room.id})
            assert next(p for p in joined["participants"] if p["pid"] == anna_pid)["screen"] is True
        recv(anna), recv(anna), recv(bob), recv(bob)  # carl joined, left
        assert req(anna, {"type": "unpublish_screen", "id": "x"})["type"] == "screen_unpublished"
        assert recv(bob) == {"type": "track_unpublished", "pid": f"{anna_pid}:screen", "of": anna_pid,
                             "source": "screen"}
        assert media.stats_now()["handles"] <= handles_sharing - 2  # bob's subscription and the screen feed
        assert req(bob, {"type": "subscribe", "pid": f"{anna_pid}:screen"})["code"] == "no_such_publisher"
    assert media.stats_now()["sessions"] == 0
