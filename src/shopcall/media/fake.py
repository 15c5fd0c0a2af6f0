"""In-memory MediaBackend for unit tests of the signalling layer.

It keeps the same bookkeeping rules as JanusBackend (feeds per room, subscriptions per
session, idempotent close/destroy, resets) and records every call, so tests can assert
what the hub asked of the media server without running Janus. SDP strings are syntactic
only; `fail_next()` and `reset()` let tests exercise error and restart paths.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

from shopcall.media.backend import (
    EventCallback,
    MediaError,
    MediaEvent,
    MediaEventKind,
    ResetCallback,
    RoomSpec,
)

_ids = itertools.count(1)


def fake_sdp(kind: str, *, label: str = "fake") -> str:
    """A minimal, well-formed SDP with one audio and one video m-line."""
    direction = {"answer": "recvonly", "offer": "sendonly"}.get(kind, "sendrecv")
    n = next(_ids)
    lines = [
        "v=0",
        f"o=- {n} 1 IN IP4 127.0.0.1",
        f"s={label}-{kind}",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 0.0.0.0",
        "a=mid:0",
        f"a={direction}",
        "a=rtpmap:111 opus/48000/2",
        "m=video 9 UDP/TLS/RTP/SAVPF 96",
        "c=IN IP4 0.0.0.0",
        "a=mid:1",
        f"a={direction}",
        "a=rtpmap:96 VP8/90000",
    ]
    return "\r\n".join(lines) + "\r\n"


@dataclass
class FakeRoom:
    spec: RoomSpec
    feeds: dict[int, FakeMediaSession] = field(default_factory=dict)  # joined publishers
    published: set[int] = field(default_factory=set)


class FakeMediaSession:
    """Records calls and enforces the order join → publish, subscribe → start."""

    def __init__(self, backend: FakeMediaBackend, label: str, on_event: EventCallback) -> None:
        self.backend = backend
        self.label = label
        self.on_event = on_event
        self.room_key: str | None = None
        self.feed_id: int | None = None
        self.published = False
        self.subscriptions: dict[str, int] = {}  # sid -> feed id
        self.started: set[str] = set()
        self.trickles: list[tuple[str, dict[str, Any] | None]] = []
        self.substreams: dict[str, dict[str, int | None]] = {}
        self.recording: str | None = None
        self.restarts: list[str] = []  # ICE restarts in order: "publisher" or a sid
        self.keyframes = 0  # key frame requests sent to this publisher
        self.closed = False

    def __repr__(self) -> str:
        return f"FakeMediaSession({self.label!r})"

    def _check(self, op: str, *args: Any) -> None:
        self.backend.calls.append((self.label, op, args))
        if self.closed:
            raise MediaError("media session closed")
        self.backend._maybe_fail(op)
        self.backend.sessions.add(self)  # back in use after a reset

    async def join_publisher(self, room: RoomSpec, feed_id: int, display: str) -> None:
        self._check("join_publisher", room.key, feed_id, display)
        r = self.backend.rooms.setdefault(room.key, FakeRoom(room))
        if feed_id in r.feeds and r.feeds[feed_id] is not self:
            raise MediaError(f"feed {feed_id} already in room {room.key}")
        if len(r.feeds) >= room.max_publishers and feed_id not in r.feeds:
            raise MediaError(f"room {room.key} has its maximum of {room.max_publishers} publishers")
        self._leave_room()
        r.feeds[feed_id] = self
        self.room_key, self.feed_id, self.published = room.key, feed_id, False

    async def publish(self, offer_sdp: str) -> str:
        self._check("publish", offer_sdp)
        if self.room_key is None or self.feed_id is None:
            raise MediaError("not joined as publisher", code="not_in_room")
        if not offer_sdp.startswith("v=0"):
            raise MediaError("invalid SDP offer")
        first = not self.published
        self.published = True
        self.backend.rooms[self.room_key].published.add(self.feed_id)
        if first and self.backend.auto_up:  # like Janus's webrtcup, shortly after the answer
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self.emit("up")))
        return fake_sdp("answer", label=self.label)

    async def restart_publisher(self, offer_sdp: str) -> str:
        self._check("restart_publisher", offer_sdp)
        if self.room_key is None or self.feed_id is None:
            raise MediaError("not joined as publisher", code="not_in_room")
        if not self.published:
            raise MediaError("nothing is being published to restart", code="not_publishing")
        if not offer_sdp.startswith("v=0"):
            raise MediaError("invalid SDP offer")
        self.restarts.append("publisher")
        return fake_sdp("answer", label=self.label)

    async def request_keyframe(self) -> None:
        self._check("request_keyframe")
        if not self.published:
            raise MediaError("nothing is being published", code="not_publishing")
        self.keyframes += 1

    async def set_recording(self, filename: str | None) -> None:
        self._check("set_recording", filename)
        if not self.published:
            raise MediaError("nothing is being published to record", code="not_publishing")
        self.recording = filename

    async def unpublish(self) -> None:
        self._check("unpublish")
        if self.published and self.room_key is not None and self.feed_id is not None:
            self.backend.rooms[self.room_key].published.discard(self.feed_id)
        self.published = False

    async def subscribe(self, room: RoomSpec, feed_id: int) -> tuple[str, str]:
        self._check("subscribe", room.key, feed_id)
        r = self.backend.rooms.get(room.key)
        if r is None or feed_id not in r.published:
            raise MediaError(f"no publisher {feed_id} in room {room.key}", code="no_such_publisher")
        sid = f"sub{next(_ids)}"
        self.subscriptions[sid] = feed_id
        return sid, fake_sdp("offer", label=self.label)

    def _sub(self, sid: str) -> int:
        if sid not in self.subscriptions:
            raise MediaError(f"no subscription {sid}", code="no_such_subscription")
        return self.subscriptions[sid]

    async def start(self, sid: str, answer_sdp: str) -> None:
        self._check("start", sid, answer_sdp)
        self._sub(sid)
        self.started.add(sid)

    async def restart_subscription(self, sid: str) -> str:
        self._check("restart_subscription", sid)
        self._sub(sid)
        self.restarts.append(sid)
        return fake_sdp("offer", label=self.label)

    async def unsubscribe(self, sid: str) -> None:
        self._check("unsubscribe", sid)
        self.subscriptions.pop(sid, None)
        self.started.discard(sid)

    async def trickle(self, target: str, candidate: dict[str, Any] | None) -> None:
        self._check("trickle", target, candidate)
        if target == "publisher":
            if self.feed_id is None:
                raise MediaError("not joined as publisher", code="not_in_room")
        else:
            self._sub(target)
        self.trickles.append((target, candidate))

    async def configure_subscription(
        self, sid: str, *, substream: int | None = None, temporal: int | None = None
    ) -> None:
        self._check("configure_subscription", sid, substream, temporal)
        self._sub(sid)
        self.substreams[sid] = {"substream": substream, "temporal": temporal}

    async def close(self) -> None:
        self.backend.calls.append((self.label, "close", ()))
        if self.closed:
            return
        self.closed = True
        self._leave_room()
        self.subscriptions.clear()
        self.backend.sessions.discard(self)

    def _leave_room(self) -> None:
        if self.room_key is not None and self.feed_id is not None:
            r = self.backend.rooms.get(self.room_key)
            if r is not None and r.feeds.get(self.feed_id) is self:
                del r.feeds[self.feed_id]
                r.published.discard(self.feed_id)
        self.room_key, self.feed_id, self.published = None, None, False

    # -- test helpers ---------------------------------------------------------------------

    async def emit(self, kind: MediaEventKind, target: str = "publisher", **data: Any) -> None:
        """Simulate the media server reporting `kind` ("up", "down", "slowlink")."""
        await self.on_event(MediaEvent(kind, target, data))


class FakeMediaBackend:
    """MediaBackend double: `calls` lists (session label, operation, args) in order."""

    def __init__(self, *, auto_up: bool = True) -> None:
        self.auto_up = auto_up
        self.started = False
        self.is_healthy = True
        self.rooms: dict[str, FakeRoom] = {}
        self.sessions: set[FakeMediaSession] = set()
        self.calls: list[tuple[str, str, tuple[Any, ...]]] = []
        self.destroyed_rooms: list[str] = []
        self._reset_callbacks: list[ResetCallback] = []
        self._failures: dict[str, MediaError] = {}

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        for s in list(self.sessions):
            await s.close()
        self.started = False

    async def healthy(self) -> bool:
        return self.started and self.is_healthy

    async def open_session(self, label: str, on_event: EventCallback) -> FakeMediaSession:
        self.calls.append((label, "open_session", ()))
        self._maybe_fail("open_session")
        if not self.started:
            raise MediaError("media server unavailable")
        s = FakeMediaSession(self, label, on_event)
        self.sessions.add(s)
        return s

    async def destroy_room(self, room_key: str) -> None:
        self.calls.append(("", "destroy_room", (room_key,)))
        r = self.rooms.pop(room_key, None)
        if r is not None:
            self.destroyed_rooms.append(room_key)
            for s in list(r.feeds.values()):
                s.room_key, s.feed_id, s.published = None, None, False

    def on_reset(self, callback: ResetCallback) -> None:
        self._reset_callbacks.append(callback)

    async def stats(self) -> dict[str, Any]:
        return self.stats_now()

    def stats_now(self) -> dict[str, int]:
        """`stats()` without awaiting, for synchronous tests."""
        return {
            "sessions": len(self.sessions),
            "handles": sum((1 if s.feed_id is not None else 0) + len(s.subscriptions) for s in self.sessions),
            "rooms": len(self.rooms),
        }

    # -- test helpers ---------------------------------------------------------------------

    def fail_next(self, operation: str, error: MediaError | None = None) -> None:
        """Make the next call of `operation` (e.g. "publish") raise `error`."""
        self._failures[operation] = error or MediaError(f"injected failure in {operation}")

    def _maybe_fail(self, op: str) -> None:
        err = self._failures.pop(op, None)
        if err is not None:
            raise err

    async def reset(self, reason: str = "media_server_restarted") -> None:
        """Simulate a media-server restart: all state is lost, then callbacks run.

        Like JanusBackend, an old session object stays usable (it starts empty).
        """
        for s in list(self.sessions):
            s.subscriptions.clear()
            s.started.clear()
            s.room_key, s.feed_id, s.published = None, None, False
        self.sessions.clear()
        self.rooms.clear()
        for cb in list(self._reset_callbacks):
            await cb(reason)

    def ops(self, label: str | None = None) -> list[str]:
        """Operation names recorded (optionally only for one session label)."""
        return [op for lbl, op, _ in self.calls if label is None or lbl == label]
