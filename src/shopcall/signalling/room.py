"""A live room: its members, the feeds they publish, and per-feature typed state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from shopcall.media.backend import MediaSession, RoomSpec
from shopcall.signalling.connection import Connection, StateBag


@dataclass(eq=False)
class Feed:
    """Something others can subscribe to: a member's camera, or a second feed such as a screen."""

    pid: str  # how clients address it: "<pid>" (camera) or "<pid>:screen"
    owner: Connection
    feed_id: int
    media: MediaSession | None
    source: Literal["camera", "screen"]


HELD = "held"  # member_leaving reason: the connection dropped and its media is kept for a resume


@dataclass(eq=False)
class Held:
    """A member whose connection dropped: their place (pid) is kept until `deadline` (monotonic)."""

    pid: str
    key: str  # app / identity: who may take the place back
    role: str
    participant: dict[str, Any]  # what the others last saw of them
    deadline: float
    # their dropped connection, still holding its media (publisher and subscriptions) for a resume that
    # keeps its peer connections; None once released (or if there was none)
    conn: Connection | None = None


@dataclass(eq=False)
class LiveRoom:
    room_id: str
    app_id: str
    kind: str
    spec: RoomSpec
    max_participants: int
    members: dict[str, Connection] = field(default_factory=dict)  # pid -> connection
    extra_feeds: dict[str, Feed] = field(default_factory=dict)  # feed pid -> published non-camera feed
    reconnecting: dict[str, Held] = field(default_factory=dict)  # pid -> a dropped member's kept place
    ended: bool = False
    features: StateBag = field(default_factory=StateBag)

    def feed(self, pid: str) -> Feed | None:
        """The live feed addressed by `pid`, if it is publishing."""
        extra = self.extra_feeds.get(pid)
        if extra is not None:
            return extra
        conn = self.members.get(pid)
        if conn is None or not conn.publishing or conn.feed_id is None:
            return None
        return Feed(pid, conn, conn.feed_id, conn.media, "camera")

    def feeds(self) -> list[Feed]:
        cams = [f for f in (self.feed(pid) for pid in self.members) if f is not None]
        return cams + list(self.extra_feeds.values())

    def held_for(self, key: str, pid: str | None = None) -> Held | None:
        """The kept place `key` may take back: `pid`'s if named, else their oldest."""
        if pid is not None:
            held = self.reconnecting.get(pid)
            return held if held is not None and held.key == key else None
        return min((h for h in self.reconnecting.values() if h.key == key), key=lambda h: h.deadline, default=None)

    def media_holders(self) -> list[Connection]:
        """Connections whose media sessions belong to this room: the members and the held ones."""
        held = [h.conn for h in self.reconnecting.values() if h.conn is not None]
        return list(self.members.values()) + held

    def feeds_of(self, conn: Connection) -> list[Feed]:
        return [f for f in self.feeds() if f.owner is conn]
