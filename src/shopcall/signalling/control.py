"""What the REST API may ask of live signalling state: a narrow, typed port.

REST handlers depend on this protocol, never on the hub itself, so the hub's internals can
change (and move behind a bus when several nodes run) without touching the API. Every method
is a coroutine and must be awaited on the event loop: live state is owned by the loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class LiveStats:
    connections: int
    live_rooms: int


class LiveControl(Protocol):
    async def live_participants(self, room_id: str) -> int:
        """How many participants are connected to a room right now (0 when it is not live)."""
        ...

    async def end_room(self, room_id: str, reason: str) -> bool:
        """End a room for everyone in it; True if this call ended it."""
        ...

    async def desk_snapshot(self, app_id: str) -> dict[str, Any]:
        """The console's live view of one app: queue, agents' presence, calls."""
        ...

    async def visitors(self, app_id: str) -> list[dict[str, Any]]:
        """The app's live shop visitors, oldest first."""
        ...

    async def agent_online(self, app_id: str, identity: str) -> bool:
        ...

    async def reload_routing_policy(self, app_id: str) -> None:
        """Re-read the app's routing settings after they changed."""
        ...

    def stats(self) -> LiveStats:
        ...

    def prepare_restart(self) -> None:
        """The process is about to stop (a signal arrived): clients that go away now keep their
        rooms and places in the queue for the next process. Safe to call from a signal handler."""
        ...
