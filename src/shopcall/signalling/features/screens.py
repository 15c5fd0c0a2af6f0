"""Screen share: a participant's second published video, as its own media-server feed.

The screen is addressed as the pseudo-participant `<pid>:screen`: others subscribe to it like to
a camera, annotations can target it, and it disappears with its owner. It uses a media session of
its own, so sharing and stopping never renegotiate the camera's peer connection.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field

from shopcall.media.backend import MediaEvent, MediaSession
from shopcall.signalling.connection import Connection
from shopcall.signalling.context import Feature, RoomContext
from shopcall.signalling.media_ops import drop_subscriptions_to, media_call
from shopcall.signalling.protocol import Msg, ProtocolError
from shopcall.signalling.registry import Registry
from shopcall.signalling.room import Feed, LiveRoom

SUFFIX = ":screen"
TRICKLE_TARGET = "screen"


class PublishScreen(Msg):
    type: Literal["publish_screen"]
    sdp: str = Field(min_length=10, max_length=64 * 1024)


class UnpublishScreen(Msg):
    type: Literal["unpublish_screen"]


@dataclass(eq=False)
class ScreenShare:
    owner: Connection
    feed_id: int
    media: MediaSession | None = None
    joined: bool = False
    publishing: bool = False

    @property
    def pid(self) -> str:
        return f"{self.owner.pid}{SUFFIX}"


@dataclass
class ScreenState:
    shares: dict[str, ScreenShare] = field(default_factory=dict)  # owner pid -> share


class ScreensFeature(Feature):
    def __init__(self, ctx: RoomContext) -> None:
        self.ctx = ctx

    def register(self, registry: Registry) -> None:
        registry.add(PublishScreen, self.on_publish_screen)
        registry.add(UnpublishScreen, self.on_unpublish_screen)

    async def on_publish_screen(self, conn: Connection, msg: PublishScreen) -> dict[str, Any]:
        live = self.ctx.live(conn, msg.id)
        assert conn.pid is not None
        shares = live.features.get(ScreenState).shares
        share = shares.get(conn.pid)
        if share is None:
            share = shares[conn.pid] = ScreenShare(conn, secrets.randbelow(2**50) + 1)
        if share.media is None:
            async def on_event(ev: MediaEvent, s: ScreenShare = share) -> None:
                await self._on_event(live, s, ev)

            share.media = await self.ctx.media.open_session(f"{conn.claims.app_id}/{conn.pid}/screen", on_event)
            conn.extra_media[TRICKLE_TARGET] = share.media
        if not share.joined:
            await share.media.join_publisher(live.spec, share.feed_id, f"{conn.claims.name} (screen)")
            share.joined = True
        return {"type": "screen_answer", "sdp": await share.media.publish(msg.sdp)}

    async def _on_event(self, live: LiveRoom, share: ScreenShare, ev: MediaEvent) -> None:
        if ev.target != "publisher" or ev.kind not in ("up", "down"):
            return
        owner = share.owner
        owner.send({"type": "media_state", "target": "screen", "state": ev.kind})
        if ev.kind == "up" and not share.publishing and live.features.get(ScreenState).shares.get(
                owner.pid or "") is share:
            share.publishing = owner.screen_publishing = True
            feed = Feed(share.pid, owner, share.feed_id, share.media, "screen")
            live.extra_feeds[share.pid] = feed
            self.ctx.broadcast(live, {"type": "track_published", "pid": share.pid, "of": owner.pid,
                                      "source": "screen"}, skip=owner)
            await self.ctx.feed_up(live, feed)
        elif ev.kind == "down" and share.publishing:
            await self._stop(live, share)

    async def on_unpublish_screen(self, conn: Connection, msg: UnpublishScreen) -> dict[str, Any]:
        live = self.ctx.live(conn, msg.id)
        share = live.features.get(ScreenState).shares.get(conn.pid or "")
        if share is None:
            raise ProtocolError("not_publishing", "you are not sharing your screen", msg.id)
        await self._stop(live, share)
        return {"type": "screen_unpublished"}

    async def _stop(self, live: LiveRoom, share: ScreenShare) -> None:
        """End a screen share: subscribers' handles, the share's session, and tell the room."""
        live.features.get(ScreenState).shares.pop(share.owner.pid or "", None)
        live.extra_feeds.pop(share.pid, None)
        was = share.publishing
        share.publishing = share.owner.screen_publishing = False
        await drop_subscriptions_to(live, share.pid)
        media, share.media = share.media, None
        if share.owner.extra_media.get(TRICKLE_TARGET) is media:
            share.owner.extra_media.pop(TRICKLE_TARGET, None)
        if media is not None:
            await media_call(media.close())
        if was:
            self.ctx.broadcast(live, {"type": "track_unpublished", "pid": share.pid, "of": share.owner.pid,
                                      "source": "screen"}, skip=share.owner)

    async def member_leaving(self, room: LiveRoom, conn: Connection, reason: str) -> None:
        share = room.features.get(ScreenState).shares.get(conn.pid or "")
        if share is not None:
            await self._stop(room, share)

    async def room_ending(self, room: LiveRoom) -> None:
        for share in list(room.features.get(ScreenState).shares.values()):
            media, share.media = share.media, None
            share.owner.extra_media.pop(TRICKLE_TARGET, None)
            if media is not None:
                await media_call(media.close())
        room.features.get(ScreenState).shares.clear()
        room.extra_feeds.clear()

    def media_reset(self, rooms: list[LiveRoom]) -> None:
        for room in rooms:
            for share in room.features.get(ScreenState).shares.values():
                share.media, share.joined, share.publishing = None, False, False
                share.owner.screen_publishing = False
                share.owner.extra_media.pop(TRICKLE_TARGET, None)
            room.features.get(ScreenState).shares.clear()
            room.extra_feeds.clear()
