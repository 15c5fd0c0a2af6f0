"""The narrow, typed interface feature modules get from the hub, and the hooks they implement.

A feature (chat, screens, recording, calls…) is constructed with a `RoomContext` and registers
its messages; the hub calls its hooks at the points of a room's life. Features never import the
hub or each other; where one needs another (visitors start calls), it gets a small protocol.
"""

from __future__ import annotations

from typing import Any, Protocol

from shopcall.media.backend import MediaBackend
from shopcall.signalling.connection import Connection
from shopcall.signalling.registry import Registry
from shopcall.signalling.room import Feed, Held, LiveRoom


class RoomContext(Protocol):
    """The handful of operations a feature needs."""

    @property
    def media(self) -> MediaBackend: ...

    def live(self, conn: Connection, ref: str | None) -> LiveRoom:
        """The room the connection is in, or ProtocolError `not_in_room`."""
        ...

    def room(self, room_id: str) -> LiveRoom | None: ...

    def connections(self) -> list[Connection]: ...

    def broadcast(self, room: LiveRoom, msg: dict[str, Any], *, skip: Connection | None = None,
                  staff_only: bool = False) -> None:
        """Queue a message to every member (never waits on a socket)."""
        ...

    async def remove(self, conn: Connection, reason: str, close_code: int, close_reason: str) -> None:
        """Take a member out of its room and close its socket."""
        ...

    async def end_room(self, room_id: str, reason: str) -> bool: ...

    async def feed_up(self, room: LiveRoom, feed: Feed) -> None:
        """A feature's extra feed (e.g. a screen) started publishing: run the feed hooks."""
        ...

    def emit(self, event: str, *, call_id: str | None = None, room_id: str | None = None,
             pid: str | None = None) -> None:
        """Queue a webhook event built from the stored rows, off the call path."""
        ...

    async def emit_data(self, app_id: str, event: str, data: dict[str, Any]) -> None:
        """Queue a webhook event with an explicit payload."""
        ...

    def spawn(self, coro: Any, name: str) -> None:
        """Run a coroutine in the background (tracked, errors logged)."""
        ...


class Feature:
    """Base of feature modules: registers messages; every hook is optional."""

    def register(self, registry: Registry) -> None:
        pass

    async def before_join(self, room: LiveRoom, conn: Connection, ref: str | None) -> None:
        """Raise ProtocolError to refuse a join."""

    async def joined_state(self, room: LiveRoom, conn: Connection) -> dict[str, Any]:
        """Fields this feature adds to the joiner's `joined` reply."""
        return {}

    async def after_join(self, room: LiveRoom, conn: Connection) -> None:
        """Runs after the `joined` reply has been queued."""

    async def feed_up(self, room: LiveRoom, feed: Feed) -> None:
        """A feed started publishing (its media is up)."""

    async def member_leaving(self, room: LiveRoom, conn: Connection, reason: str) -> None:
        """A member is leaving (still listed in `room.members`)."""

    async def member_resumed(self, room: LiveRoom, conn: Connection, held: Held, keep_media: bool) -> None:
        """A held member is back on `conn` (already a member); `held.conn` is their old connection."""

    async def hold_expired(self, room: LiveRoom, held: Held) -> None:
        """A held member did not come back within the grace period (no longer listed)."""

    async def room_ending(self, room: LiveRoom) -> None:
        """The room is ending (members still listed)."""

    async def room_ended(self, room_id: str) -> None:
        """The room has ended and is gone from the hub."""

    async def disconnected(self, conn: Connection) -> None:
        """A connection went away (before it leaves its room)."""

    def media_reset(self, rooms: list[LiveRoom]) -> None:
        """The media server restarted: every media session is gone."""


class CallsPort(Protocol):
    """What the visitors feature needs of the call desk."""

    def has_waiting_call(self, conn: Connection) -> bool: ...

    async def start_direct(self, shopper: Connection, agent: Connection, context: dict[str, Any],
                           ref: str | None) -> tuple[str, str, dict[str, Any]]:
        """A call straight to one agent, skipping the queue: (call id, room id, incoming event)."""
        ...
