"""Hosting a room: agents mute, remove and spotlight participants (group sessions).

Muting is enforced where it can be: the target's client is told to mute its tracks, and the
room sees the new state at once. Removal closes the target's socket and frees its media; the
removed identity cannot rejoin (stored, so it holds across restarts; a guest's identity is bound
to their device by the join link) until the host readmits it. The spotlight is room state: late
joiners get it in `joined`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from shopcall.rooms.store import RoomStore
from shopcall.signalling.connection import Connection
from shopcall.signalling.context import Feature, RoomContext
from shopcall.signalling.protocol import CLOSE_REMOVED, Msg, ProtocolError
from shopcall.signalling.registry import STAFF, Registry
from shopcall.signalling.room import LiveRoom


class Moderate(Msg):
    type: Literal["moderate"]
    pid: str | None = Field(None, max_length=64, description="target participant; none for unspotlight")
    identity: str | None = Field(None, max_length=200, description="whom to readmit")
    action: Literal["mute_audio", "mute_video", "remove", "spotlight", "unspotlight", "readmit"]


@dataclass
class ModerationState:
    spotlight: str | None = None  # pid the host put on the main stage
    removed: set[str] | None = None  # identities the host removed (loaded from the store on first use)


class ModerationFeature(Feature):
    def __init__(self, ctx: RoomContext, store: RoomStore) -> None:
        self.ctx, self.store = ctx, store

    def register(self, registry: Registry) -> None:
        registry.add(Moderate, self.on_moderate, roles=STAFF, denied="only the host (an agent) can moderate")

    async def _removed(self, room: LiveRoom) -> set[str]:
        state = room.features.get(ModerationState)
        if state.removed is None:
            state.removed = await asyncio.to_thread(self.store.removed_identities, room.room_id)
        return state.removed

    async def before_join(self, room: LiveRoom, conn: Connection, ref: str | None) -> None:
        if not conn.claims.is_staff and conn.claims.identity in await self._removed(room):
            raise ProtocolError("removed", "the host removed you from this session", ref)

    async def joined_state(self, room: LiveRoom, conn: Connection) -> dict[str, Any]:
        return {"spotlight": room.features.get(ModerationState).spotlight}

    async def member_leaving(self, room: LiveRoom, conn: Connection, reason: str) -> None:
        state = room.features.get(ModerationState)
        if state.spotlight is not None and state.spotlight == conn.pid:
            state.spotlight = None
            self.ctx.broadcast(room, {"type": "spotlight", "pid": None, "by": None}, skip=conn)

    async def on_moderate(self, conn: Connection, msg: Moderate) -> dict[str, Any]:
        live = self.ctx.live(conn, msg.id)
        state = live.features.get(ModerationState)
        if msg.action == "readmit":
            if not msg.identity or msg.identity not in await self._removed(live):
                raise ProtocolError("bad_request", f"{msg.identity!r} was not removed from this room", msg.id)
            await asyncio.to_thread(self.store.set_removed, live.app_id, live.room_id, msg.identity,
                                    by=conn.claims.identity, removed=False)
            (await self._removed(live)).discard(msg.identity)
            return {"type": "moderated", "action": msg.action, "identity": msg.identity}
        if msg.action == "unspotlight":
            state.spotlight = None
            self.ctx.broadcast(live, {"type": "spotlight", "pid": None, "by": conn.pid})
            return {"type": "moderated", "action": msg.action, "pid": None}
        target = live.members.get(msg.pid or "")
        if target is None:
            raise ProtocolError("bad_request", f"no participant {msg.pid!r} in this room", msg.id)
        if target is conn and msg.action == "remove":
            raise ProtocolError("bad_request", "use leave to leave the room yourself", msg.id)
        if target.claims.is_staff and target is not conn and msg.action == "remove":
            raise ProtocolError("forbidden", "agents cannot remove other agents", msg.id)
        if msg.action in ("mute_audio", "mute_video"):
            kind = "audio" if msg.action == "mute_audio" else "video"
            if kind == "audio":
                target.audio_muted = True
            else:
                target.video_muted = True
            target.send({"type": "force_mute", kind: True, "by": conn.claims.name})
            self.ctx.broadcast(live, {"type": "participant_updated", "participant": target.public()}, skip=target)
        elif msg.action == "spotlight":
            state.spotlight = target.pid
            self.ctx.broadcast(live, {"type": "spotlight", "pid": target.pid, "by": conn.pid})
        else:  # remove
            await asyncio.to_thread(self.store.set_removed, live.app_id, live.room_id, target.claims.identity,
                                    by=conn.claims.identity, removed=True)
            (await self._removed(live)).add(target.claims.identity)
            target.granted_rooms.discard(live.room_id)
            target.send({"type": "removed", "room": live.room_id, "by": conn.claims.name})
            await self.ctx.remove(target, "removed", CLOSE_REMOVED, "removed by the host")
        return {"type": "moderated", "action": msg.action, "pid": msg.pid}
