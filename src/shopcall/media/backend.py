"""The media-backend interface the signalling layer drives.

Only `shopcall.media.janus_*` modules know Janus's protocol; everything else sees these
types, which is what lets the signalling hub be tested against `FakeMediaBackend`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol


class MediaError(Exception):
    """The media server refused or failed an operation (maps to `media_unavailable`)."""

    def __init__(self, message: str, *, code: str = "media_unavailable") -> None:
        super().__init__(message)
        self.code = code


MediaEventKind = Literal["up", "down", "slowlink"]


@dataclass(frozen=True)
class MediaEvent:
    """Something the media server reported about one of a session's peer connections.

    kind: "up" (ICE+DTLS done), "down" (peer connection closed), "slowlink" (loss reported)
    target: "publisher" or a subscription id.
    """

    kind: MediaEventKind
    target: str
    data: dict[str, Any] = field(default_factory=dict)


EventCallback = Callable[[MediaEvent], Awaitable[None]]
ResetCallback = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class RoomSpec:
    """What ShopCall asks of a media room; `key` is ShopCall's room id."""

    key: str
    max_publishers: int = 6
    bitrate_bps: int = 2_000_000


class MediaSession(Protocol):
    """One client's media: at most one publisher peer connection plus subscriptions."""

    async def join_publisher(self, room: RoomSpec, feed_id: int, display: str) -> None:
        """Enter the room as a (not yet sending) publisher with a fixed feed id."""

    async def publish(self, offer_sdp: str) -> str:
        """Send the client's SDP offer; return the SFU's answer."""

    async def restart_publisher(self, offer_sdp: str) -> str:
        """ICE restart of the live publisher in place (same handle, same feed): the client's new
        offer carries fresh ICE credentials; return the SFU's answer. Raises MediaError with code
        `not_publishing` when nothing is published (then the client re-publishes instead)."""

    async def unpublish(self) -> None: ...

    async def request_keyframe(self) -> None:
        """Ask this publisher for a key frame now: a subscriber whose path just moved gets packets again
        but cannot decode until one comes, and its own request may have been lost on the old path."""

    async def subscribe(self, room: RoomSpec, feed_id: int) -> tuple[str, str]:
        """Create a subscription to a publisher; return (subscription id, SDP offer)."""

    async def start(self, sid: str, answer_sdp: str) -> None:
        """Complete a subscription with the client's SDP answer."""

    async def restart_subscription(self, sid: str) -> str:
        """ICE restart of a subscription in place (same handle): return the SFU's new offer, which
        the client answers through `start`. Raises MediaError `no_such_subscription` for an unknown sid."""

    async def unsubscribe(self, sid: str) -> None: ...

    async def trickle(self, target: str, candidate: dict[str, Any] | None) -> None:
        """Pass an ICE candidate to "publisher" or subscription `sid` (None = completed)."""

    async def configure_subscription(
        self, sid: str, *, substream: int | None = None, temporal: int | None = None
    ) -> None:
        """Choose the simulcast layer a subscriber receives."""

    async def set_recording(self, filename: str | None) -> None:
        """Record this session's published media to `filename`-<kind>.mjr files, or stop (None)."""

    async def close(self) -> None:
        """Release every handle and the session on the media server; idempotent."""


class MediaBackend(Protocol):
    """The SFU as the control plane sees it."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def healthy(self) -> bool:
        """A live check (not a cached flag) that the media server answers."""

    async def open_session(self, label: str, on_event: EventCallback) -> MediaSession: ...

    async def destroy_room(self, room_key: str) -> None:
        """Remove the media room (kicks whoever is still in it); idempotent."""

    def on_reset(self, callback: ResetCallback) -> None:
        """Register a callback run after the media server restarted (all sessions lost)."""

    async def stats(self) -> dict[str, Any]:
        """Counts for tests and health: {"sessions": n, "handles": n, "rooms": n}."""
