"""One client's WebSocket and everything it holds (room membership, media, per-feature state).

The connection is an explicit state machine — OPEN → CLOSING → CLOSED, or OPEN → CLOSED when
the socket dies — and an illegal transition raises. Sending never awaits the socket: `send`
queues into the connection's bounded `Outbox`, whose writer task is started by `run_writer`.
"""

from __future__ import annotations

import asyncio
import time
from enum import Enum
from typing import Any, Protocol, TypeVar, cast

from shopcall.auth.tokens import ClientClaims, ResumeClaims
from shopcall.media.backend import MediaSession
from shopcall.signalling.outbox import Ended, Outbox
from shopcall.signalling.protocol import CLOSE_TOO_SLOW

T = TypeVar("T")


class Socket(Protocol):
    """The slice of a WebSocket a connection needs (Starlette's WebSocket has it)."""

    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


class ConnState(Enum):
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


_ALLOWED = {ConnState.OPEN: {ConnState.CLOSING, ConnState.CLOSED}, ConnState.CLOSING: {ConnState.CLOSED},
            ConnState.CLOSED: set()}


class IllegalTransition(RuntimeError):
    pass


class StateBag:
    """Per-feature state keyed by its type: each feature owns a typed dataclass, created on first use."""

    def __init__(self) -> None:
        self._by_type: dict[type, object] = {}

    def get(self, kind: type[T]) -> T:
        v = self._by_type.get(kind)
        if v is None:
            v = self._by_type[kind] = kind()
        return cast(T, v)

    def peek(self, kind: type[T]) -> T | None:
        return cast(T | None, self._by_type.get(kind))


class Connection:
    def __init__(self, ws: Socket, claims: ClientClaims, conn_id: str, *, outbox_messages: int | None = None,
                 outbox_bytes: int | None = None, send_timeout_s: float | None = None) -> None:
        self.ws, self.claims, self.conn_id = ws, claims, conn_id
        limits: dict[str, Any] = {k: v for k, v in (("max_messages", outbox_messages), ("max_bytes", outbox_bytes),
                                                    ("send_timeout_s", send_timeout_s)) if v is not None}
        self.outbox = Outbox(ws.send_text, self._close_socket, slow_code=CLOSE_TOO_SLOW, **limits)
        self.state = ConnState.OPEN
        self.granted_rooms: set[str] = set()
        self.room_id: str | None = None
        self.pid: str | None = None
        self.feed_id: int | None = None
        self.media: MediaSession | None = None  # the camera's session
        self.extra_media: dict[str, MediaSession] = {}  # further publishing sessions by trickle target ("screen")
        self.publisher_joined = False
        self.publishing = False
        self.screen_publishing = False
        self.audio_muted = False
        self.video_muted = False
        self.subscriptions: dict[str, str] = {}  # sid -> publisher pid
        self.media_heir: Connection | None = None  # the resumed connection that took over this one's media
        self.media_kept = False  # dropped, its media kept in the room for a resume (signalling/hub.py `_hold`)
        self.last_seen = time.monotonic()
        self.expiry_warned = False
        self.left_cleanly = False  # the client closed its socket (1000) rather than dropping or navigating away
        self.page_gone = False  # closed with 1001: the page navigated away, reloaded or closed
        self.heartbeat = False  # the client answers the server's pings: fast liveness applies
        self.reader_waiting = False  # its frames wait for a stuck handler: its silence is not its own
        self.last_ping = time.monotonic()  # when the server last pinged it
        self.resume: ResumeClaims | None = None  # set when the hello carried a resume token
        self.resume_scope: tuple[str, str | None, str | None] | None = None  # (room, call, pid) last token was for
        self.resume_due = 0.0  # monotonic time the next resume token is due
        self.leaving = False  # its room membership is being released (by a leave, a drop or a takeover)
        self.lock = asyncio.Lock()  # one message of this connection at a time
        self.features = StateBag()

    # ---- state machine ------------------------------------------------------------------------

    def _to(self, new: ConnState) -> None:
        if new not in _ALLOWED[self.state]:
            raise IllegalTransition(f"connection {self.conn_id}: {self.state.value} -> {new.value}")
        self.state = new

    @property
    def closed(self) -> bool:
        """No longer takes messages (closing or closed)."""
        return self.state is not ConnState.OPEN

    def send(self, msg: dict[str, Any]) -> bool:
        """Queue a message for this client; never waits. False if it will not be delivered."""
        if self.state is not ConnState.OPEN:
            return False
        return self.outbox.put(msg)

    def close(self, code: int, reason: str = "") -> None:
        """Close once what is queued has gone out; repeated calls are no-ops."""
        if self.state is ConnState.OPEN:
            self._to(ConnState.CLOSING)
            self.outbox.close(code, reason)

    async def run_writer(self) -> Ended:
        """The connection's writer task; returns (and marks the connection CLOSED) when it ends."""
        try:
            return await self.outbox.run()
        finally:
            self._to(ConnState.CLOSED)

    async def _close_socket(self, code: int, reason: str) -> None:
        await self.ws.close(code=code, reason=reason)

    # ---- what others see ----------------------------------------------------------------------

    def may_join(self, room_id: str) -> bool:
        return room_id in self.granted_rooms or self.claims.may_join(room_id)

    @property
    def key(self) -> str:
        """The identity across tabs and tenants: app id / identity."""
        return f"{self.claims.app_id}/{self.claims.identity}"

    def public(self) -> dict[str, Any]:
        return {
            "pid": self.pid, "identity": self.claims.identity, "name": self.claims.name,
            "role": self.claims.role, "publishing": self.publishing, "screen": self.screen_publishing,
            "audio_muted": self.audio_muted, "video_muted": self.video_muted,
        }
