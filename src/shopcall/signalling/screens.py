"""Screen share: a participant's second published video, as its own media-server feed.

The screen is addressed as the pseudo-participant `<pid>:screen`: others subscribe to it like to
a camera, annotations can target it, and it disappears with its owner. It uses a media session of
its own, so sharing and stopping never renegotiate the camera's peer connection.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from shopcall.media.backend import MediaEvent, MediaSession
from shopcall.signalling.protocol import EXTRA_MODELS, ProtocolError, _Msg

if TYPE_CHECKING:
    from shopcall.signalling.connection import Connection
    from shopcall.signalling.hub import Hub, LiveRoom

SUFFIX = ":screen"


class PublishScreen(_Msg):
    type: Literal["publish_screen"]
    sdp: str = Field(min_length=10, max_length=64 * 1024)


class UnpublishScreen(_Msg):
    type: Literal["unpublish_screen"]


EXTRA_MODELS.update({"publish_screen": PublishScreen, "unpublish_screen": UnpublishScreen})


@dataclass(eq=False)
class ScreenFeed:
    owner: Connection
    feed_id: int
    media: MediaSession | None = None
    joined: bool = False
    publishing: bool = False

    @property
    def pid(self) -> str:
        return f"{self.owner.pid}{SUFFIX}"


def is_screen(pid: str) -> bool:
    return pid.endswith(SUFFIX)


def feed_of(live: LiveRoom, pid: str) -> ScreenFeed | None:
    feed = live.screens.get(pid[: -len(SUFFIX)]) if is_screen(pid) else None
    return feed if feed is not None and feed.publishing else None


async def on_publish_screen(hub: Hub, conn: Connection, msg: PublishScreen) -> dict[str, Any]:
    live = hub._live(conn, msg.id)
    assert conn.pid is not None
    feed = live.screens.get(conn.pid)
    if feed is None:
        feed = live.screens[conn.pid] = ScreenFeed(conn, secrets.randbelow(2**50) + 1)
    if feed.media is None:
        async def on_event(ev: MediaEvent, f: ScreenFeed = feed) -> None:
            await _on_event(hub, live, f, ev)

        feed.media = await hub.media.open_session(f"{conn.claims.app_id}/{conn.pid}/screen", on_event)
    if not feed.joined:
        await feed.media.join_publisher(live.spec, feed.feed_id, f"{conn.claims.name} (screen)")
        feed.joined = True
    answer = await feed.media.publish(msg.sdp)
    return {"type": "screen_answer", "sdp": answer}


async def _on_event(hub: Hub, live: LiveRoom, feed: ScreenFeed, ev: MediaEvent) -> None:
    if ev.target != "publisher" or ev.kind not in ("up", "down"):
        return
    owner = feed.owner
    await owner.send({"type": "media_state", "target": "screen", "state": ev.kind})
    if ev.kind == "up" and not feed.publishing and live.screens.get(owner.pid or "") is feed:
        feed.publishing = True
        owner.screen_publishing = True
        await hub._broadcast(live, {"type": "track_published", "pid": feed.pid, "of": owner.pid, "source": "screen"},
                             skip=owner)
        from shopcall.signalling.recording import record_member

        await record_member(hub, live, owner)
    elif ev.kind == "down" and feed.publishing:
        await stop(hub, live, feed)


async def on_unpublish_screen(hub: Hub, conn: Connection, msg: UnpublishScreen) -> dict[str, Any]:
    live = hub._live(conn, msg.id)
    feed = live.screens.get(conn.pid or "")
    if feed is None:
        raise ProtocolError("not_publishing", "you are not sharing your screen", msg.id)
    await stop(hub, live, feed)
    return {"type": "screen_unpublished"}


async def stop(hub: Hub, live: LiveRoom, feed: ScreenFeed) -> None:
    """End a screen share: subscribers' handles, the feed's session, and tell the room."""
    from shopcall.signalling.hub import media_call

    live.screens.pop(feed.owner.pid or "", None)
    was = feed.publishing
    feed.publishing, feed.owner.screen_publishing = False, False
    for member in list(live.members.values()):
        for sid, target in list(member.subscriptions.items()):
            if target == feed.pid:
                member.subscriptions.pop(sid, None)
                if member.media is not None:
                    await media_call(member.media.unsubscribe(sid))
    media, feed.media = feed.media, None
    if media is not None:
        await media_call(media.close())
    if was:
        await hub._broadcast(live, {"type": "track_unpublished", "pid": feed.pid, "of": feed.owner.pid,
                                    "source": "screen"}, skip=feed.owner)


async def trickle(conn: Connection, live: LiveRoom, candidate: dict[str, Any] | None, ref: str | None) -> None:
    feed = live.screens.get(conn.pid or "")
    if feed is None or feed.media is None:
        raise ProtocolError("no_such_subscription", "no screen share to trickle to", ref)
    await feed.media.trickle("publisher", candidate)


HANDLERS = {"publish_screen": on_publish_screen, "unpublish_screen": on_unpublish_screen}
