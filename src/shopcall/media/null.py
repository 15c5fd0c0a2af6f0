"""A backend with no media server, for `media_backend = "none"` (API-only deployments)."""

from __future__ import annotations

from typing import Any

from shopcall.media.backend import EventCallback, MediaError, MediaSession, ResetCallback


class NullMediaBackend:
    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def healthy(self) -> bool:
        return False

    async def open_session(self, label: str, on_event: EventCallback) -> MediaSession:
        raise MediaError("no media server is configured (media_backend = none)")

    async def destroy_room(self, room_key: str) -> None:
        return None

    def on_reset(self, callback: ResetCallback) -> None:
        return None

    async def stats(self) -> dict[str, Any]:
        return {"sessions": 0, "handles": 0, "rooms": 0}
