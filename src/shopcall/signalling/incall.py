"""In-call features carried over signalling: chat, product cards, live annotation.

Each handler is authorised like the media ones (must be in the room; product cards are for
staff). Chat, cards, clicks and finished strokes are persisted with the room; the current
drawing of each video is also kept in memory so a late joiner gets it replayed in `joined`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shopcall.db.ids import new_id
from shopcall.signalling.protocol import EXTRA_MODELS, ProtocolError, _Msg

if TYPE_CHECKING:
    from shopcall.signalling.connection import Connection
    from shopcall.signalling.hub import Hub, LiveRoom


class Chat(_Msg):
    type: Literal["chat"]
    text: str = Field(min_length=1, max_length=2000)


class ProductCard(_Msg):
    type: Literal["product_card"]
    sku: str = Field(min_length=1, max_length=100)
    variant: str | None = Field(None, max_length=100)


class CardAction(_Msg):
    type: Literal["card_action"]
    card: str = Field(min_length=1, max_length=64)
    action: Literal["add_to_cart", "view"]


class Stroke(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=64)
    points: list[tuple[float, float]] = Field(min_length=1, max_length=4000)
    color: str = Field("#ff3b30", pattern=r"^#[0-9a-fA-F]{6}$")
    width: float = Field(4, ge=1, le=40)

    @field_validator("points")
    @classmethod
    def _normalised(cls, pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if any(not (0 <= x <= 1 and 0 <= y <= 1) for x, y in pts):
            raise ValueError("points are fractions of the video's width and height (0..1)")
        return pts


class Annotate(_Msg):
    type: Literal["annotate"]
    op: Literal["stroke", "undo", "clear"]
    target: str = Field(min_length=1, max_length=80, description="pid of the drawn-on video, or pid:screen")
    stroke: Stroke | None = None
    partial: bool = False
    stroke_id: str | None = Field(None, max_length=64)


EXTRA_MODELS.update({"chat": Chat, "product_card": ProductCard, "card_action": CardAction, "annotate": Annotate})


@dataclass
class RoomExtras:
    """Live, in-memory state of a room's annotations and cards (source of late-joiner replay)."""

    strokes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # target -> strokes
    cards: dict[str, dict[str, Any]] = field(default_factory=dict)


def extras(live: LiveRoom) -> RoomExtras:
    if live.extras is None:
        live.extras = RoomExtras()
    return live.extras


def _msg_out(m: Any) -> dict[str, Any]:
    return {"id": m.id, "identity": m.identity, "name": m.name, "role": m.role, "text": m.text,
            "ts": m.created_at.timestamp()}


async def join_state(hub: Hub, live: LiveRoom) -> dict[str, Any]:
    """What a joiner needs to catch up: chat history, cards shown, the current drawings."""
    history = await asyncio.to_thread(hub.incall.chat_history, live.room_id)
    x = extras(live)
    return {"chat": [_msg_out(m) for m in history], "cards": list(x.cards.values()),
            "annotations": {t: list(s) for t, s in x.strokes.items() if s}}


async def on_chat(hub: Hub, conn: Connection, msg: Chat) -> dict[str, Any]:
    live = hub._live(conn, msg.id)
    text = msg.text.strip()
    if not text:
        raise ProtocolError("bad_request", "chat: text is empty", msg.id)
    m = await asyncio.to_thread(hub.incall.add_chat, live.room_id, conn.claims.identity, conn.claims.name,
                                conn.claims.role, text)
    out = {**_msg_out(m), "pid": conn.pid}
    await hub._broadcast(live, {"type": "chat", "message": out}, skip=conn)
    return {"type": "chat_sent", "message": out}


async def on_product_card(hub: Hub, conn: Connection, msg: ProductCard) -> dict[str, Any]:
    live = hub._live(conn, msg.id)
    if not conn.claims.is_staff:
        raise ProtocolError("forbidden", "only agents send product cards", msg.id)
    p = await asyncio.to_thread(hub.incall.product, live.app_id, msg.sku)
    if p is None:
        raise ProtocolError("product_not_found", f"no product {msg.sku!r} in this shop", msg.id)
    card = {"id": new_id("card"), "sku": p.sku, "title": p.title, "price": p.price_cents / 100,
            "currency": p.currency, "image_url": p.image_url, "description": p.description,
            "variant": msg.variant, "from": {"pid": conn.pid, "name": conn.claims.name}, "ts": time.time()}
    extras(live).cards[card["id"]] = card
    await asyncio.to_thread(hub.incall.add_event, live.app_id, live.room_id, "product_card",
                            conn.claims.identity, card)
    await hub._broadcast(live, {"type": "product_card", "card": card}, skip=conn)
    return {"type": "card_sent", "card": card}


async def on_card_action(hub: Hub, conn: Connection, msg: CardAction) -> dict[str, Any]:
    live = hub._live(conn, msg.id)
    card = extras(live).cards.get(msg.card)
    if card is None:
        raise ProtocolError("card_not_found", f"no product card {msg.card} in this room", msg.id)
    data = {"card": msg.card, "sku": card["sku"], "action": msg.action, "price": card["price"],
            "currency": card["currency"]}
    ev = await asyncio.to_thread(hub.incall.add_event, live.app_id, live.room_id, "card_action",
                                 conn.claims.identity, data)
    note = {"type": "card_action", "card": msg.card, "sku": card["sku"], "action": msg.action,
            "pid": conn.pid, "name": conn.claims.name}
    for member in list(live.members.values()):
        if member is not conn and member.claims.is_staff:
            await member.send(note)
    return {"type": "card_action_recorded", "card": msg.card, "action": msg.action, "event": ev.id}


async def on_annotate(hub: Hub, conn: Connection, msg: Annotate) -> dict[str, Any] | None:
    live = hub._live(conn, msg.id)
    owner = msg.target.split(":", 1)[0]
    if owner not in live.members:
        raise ProtocolError("bad_request", f"annotate: no video {msg.target!r} in this room", msg.id)
    strokes = extras(live).strokes.setdefault(msg.target, [])
    out: dict[str, Any] = {"type": "annotation", "op": msg.op, "target": msg.target, "by": conn.pid,
                           "ts": time.time()}
    if msg.op == "stroke":
        if msg.stroke is None:
            raise ProtocolError("bad_request", "annotate: stroke is required for op=stroke", msg.id)
        s = {**msg.stroke.model_dump(), "by": conn.pid}
        s["points"] = [list(p) for p in msg.stroke.points]
        existing = next((i for i, x in enumerate(strokes) if x["id"] == s["id"]), None)
        if existing is not None:
            if strokes[existing]["by"] != conn.pid:
                raise ProtocolError("forbidden", "annotate: that stroke belongs to someone else", msg.id)
            strokes[existing] = s
        else:
            strokes.append(s)
        out["stroke"], out["partial"] = s, msg.partial
    elif msg.op == "undo":
        mine = [x for x in strokes if x["by"] == conn.pid and (msg.stroke_id is None or x["id"] == msg.stroke_id)]
        if not mine:
            raise ProtocolError("bad_request", "annotate: nothing of yours to undo", msg.id)
        strokes.remove(mine[-1])
        out["stroke_id"] = mine[-1]["id"]
    else:
        strokes.clear()
    await hub._broadcast(live, out, skip=conn)
    if not msg.partial:  # streamed partial strokes are saved once, when finished
        data = {k: v for k, v in out.items() if k != "type"}
        await asyncio.to_thread(hub.incall.add_event, live.app_id, live.room_id, "annotation",
                                conn.claims.identity, data)
    return None if msg.partial else {"type": "annotated", "op": msg.op, "target": msg.target}


HANDLERS = {"chat": on_chat, "product_card": on_product_card, "card_action": on_card_action,
            "annotate": on_annotate}
