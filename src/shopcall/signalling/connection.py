"""One client's WebSocket and everything it holds (room membership, media, ringing state)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from shopcall.auth.tokens import ClientClaims
from shopcall.media.backend import MediaSession


class Socket(Protocol):
    """The slice of a WebSocket the hub needs; lets unit tests use an in-memory socket."""

    async def send_json(self, data: Any) -> None: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


@dataclass(eq=False)
class Connection:
    ws: Socket
    claims: ClientClaims
    conn_id: str
    granted_rooms: set[str] = field(default_factory=set)
    room_id: str | None = None
    pid: str | None = None
    feed_id: int | None = None
    media: MediaSession | None = None
    publisher_joined: bool = False
    publishing: bool = False
    screen_publishing: bool = False
    audio_muted: bool = False
    video_muted: bool = False
    subscriptions: dict[str, str] = field(default_factory=dict)  # sid -> publisher pid
    available: bool = False
    last_seen: float = field(default_factory=time.monotonic)
    expiry_warned: bool = False
    closed: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, msg: dict[str, Any]) -> None:
        if self.closed:
            return
        try:
            await self.ws.send_json(msg)
        except Exception:  # a dead socket is handled by its receive loop
            self.closed = True

    async def close(self, code: int, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        try:
            await self.ws.close(code=code, reason=reason)
        except Exception:
            pass

    def may_join(self, room_id: str) -> bool:
        return room_id in self.granted_rooms or self.claims.may_join(room_id)

    def public(self) -> dict[str, Any]:
        return {
            "pid": self.pid, "identity": self.claims.identity, "name": self.claims.name,
            "role": self.claims.role, "publishing": self.publishing, "screen": self.screen_publishing,
            "audio_muted": self.audio_muted, "video_muted": self.video_muted,
        }
