"""Hosting a room: agents mute, remove and spotlight participants (group sessions).

Muting is enforced where it can be: the target's client is told to mute its tracks, and the
room sees the new state at once. Removal closes the target's socket and frees its media; the
removed identity cannot rejoin. The spotlight is room state: late joiners get it in `joined`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field

from shopcall.signalling.connection import Connection
from shopcall.signalling.context import Feature, RoomContext
from shopcall.signalling.protocol import CLOSE_REMOVED, Msg, ProtocolError
from shopcall.signalling.registry import STAFF, Registry
from shopcall.signalling.room import LiveRoom


class Moderate(Msg):
    type: Literal["moderate"]
    pid: str | None = Field(None, max_length=64, description="target participant; none for unspotlight")
    action: Literal["mute_audio", "mute_video", "remove", "spotlight", "unspotlight"]


@dataclass
class ModerationState:
    spotlight: str | None = None  # pid the host put on the main stage
    removed: set[str] = field(default_factory=set)  # identities the host removed: no way back in


class ModerationFeature(Feature):
    def __init__(self, ctx: RoomContext) -> None:
        self.ctx = ctx

    def register(self, registry: Registry) -> None:
        registry.add(Moderate, self.on_moderate, roles=STAFF, denied="only the host (an agent) can moderate")

    def before_join(self, room: LiveRoom, conn: Connection, ref: str | None) -> None:
        if conn.claims.identity in room.features.get(ModerationState).removed and not conn.claims.is_staff:
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
            state.removed.add(target.claims.identity)
            target.granted_rooms.discard(live.room_id)
            target.send({"type": "removed", "room": live.room_id, "by": conn.claims.name})
            await self.ctx.remove(target, "removed", CLOSE_REMOVED, "removed by the host")
        return {"type": "moderated", "action": msg.action, "pid": msg.pid}
