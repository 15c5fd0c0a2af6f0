"""Hosting a room: agents mute, remove and spotlight participants (group sessions).

Muting is enforced where it can be: the target's client is told to mute its tracks, and the
room sees the new state at once. Removal closes the target's socket and frees its media.
The spotlight is room state: late joiners get it in `joined`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from shopcall.signalling.protocol import EXTRA_MODELS, ProtocolError, _Msg

if TYPE_CHECKING:
    from shopcall.signalling.connection import Connection
    from shopcall.signalling.hub import Hub

CLOSE_REMOVED = 4003


class Moderate(_Msg):
    type: Literal["moderate"]
    pid: str | None = Field(None, max_length=64, description="target participant; none for unspotlight")
    action: Literal["mute_audio", "mute_video", "remove", "spotlight", "unspotlight"]


EXTRA_MODELS["moderate"] = Moderate


async def on_moderate(hub: Hub, conn: Connection, msg: Moderate) -> dict[str, Any]:
    live = hub._live(conn, msg.id)
    if not conn.claims.is_staff:
        raise ProtocolError("forbidden", "only the host (an agent) can moderate", msg.id)
    if msg.action == "unspotlight":
        live.spotlight = None
        await hub._broadcast(live, {"type": "spotlight", "pid": None, "by": conn.pid})
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
        setattr(target, f"{kind}_muted", True)
        await target.send({"type": "force_mute", kind: True, "by": conn.claims.name})
        await hub._broadcast(live, {"type": "participant_updated", "participant": target.public()}, skip=target)
    elif msg.action == "spotlight":
        live.spotlight = target.pid
        await hub._broadcast(live, {"type": "spotlight", "pid": target.pid, "by": conn.pid})
    else:  # remove
        live.removed.add(target.claims.identity)
        await target.send({"type": "removed", "room": live.room_id, "by": conn.claims.name})
        await hub._leave_room(target, "removed")
        target.granted_rooms.discard(live.room_id)
        await target.close(CLOSE_REMOVED, "removed by the host")
        hub.connections.discard(target)
    return {"type": "moderated", "action": msg.action, "pid": msg.pid}


HANDLERS = {"moderate": on_moderate}
