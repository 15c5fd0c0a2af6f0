"""In-call features carried over signalling: chat, product cards, live annotation.

Chat, cards, clicks and finished strokes are persisted with the room; the current drawing of
each video is also kept in memory so a late joiner gets it replayed in `joined`. Everything a
client can add is bounded: chat messages per room, strokes per video and points per stroke and
per room, and strokes only on videos that are really being published.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shopcall.db.ids import new_id
from shopcall.rooms.incall_store import ChatLine, InCallStore
from shopcall.signalling.connection import Connection
from shopcall.signalling.context import Feature, RoomContext
from shopcall.signalling.protocol import Msg, ProtocolError
from shopcall.signalling.registry import STAFF, Registry
from shopcall.signalling.room import LiveRoom

MAX_CHAT_PER_ROOM = 1000
MAX_POINTS_PER_STROKE = 1000
MAX_STROKES_PER_TARGET = 100
MAX_POINTS_PER_ROOM = 30_000
MAX_CARDS_PER_ROOM = 200
CHAT_RATE = "30/5seconds"  # sustained 6 a second: far above typing, far below a flood
CARD_ACTION_RATE = "20/5seconds"
ANNOTATE_RATE = "60/second"  # partial strokes stream at the display's frame rate


class Chat(Msg):
    type: Literal["chat"]
    text: str = Field(min_length=1, max_length=2000)


class ProductCard(Msg):
    type: Literal["product_card"]
    sku: str = Field(min_length=1, max_length=100)
    variant: str | None = Field(None, max_length=100)


class CardAction(Msg):
    type: Literal["card_action"]
    card: str = Field(min_length=1, max_length=64)
    action: Literal["add_to_cart", "view"]


class Stroke(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=64)
    points: list[tuple[float, float]] = Field(min_length=1, max_length=MAX_POINTS_PER_STROKE)
    color: str = Field("#ff3b30", pattern=r"^#[0-9a-fA-F]{6}$")
    width: float = Field(4, ge=1, le=40)

    @field_validator("points")
    @classmethod
    def _normalised(cls, pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if any(not (0 <= x <= 1 and 0 <= y <= 1) for x, y in pts):
            raise ValueError("points are fractions of the video's width and height (0..1)")
        return pts


class Annotate(Msg):
    type: Literal["annotate"]
    op: Literal["stroke", "undo", "clear"]
    target: str = Field(min_length=1, max_length=80, description="pid of the drawn-on video, or pid:screen")
    stroke: Stroke | None = None
    partial: bool = False
    stroke_id: str | None = Field(None, max_length=64)


@dataclass
class InCallState:
    """A live room's drawings and cards (the source of late-joiner replay), and its chat count."""

    strokes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # target -> strokes
    cards: dict[str, dict[str, Any]] = field(default_factory=dict)
    chat_count: int | None = None  # loaded from the store on the room's first chat

    def points(self) -> int:
        return sum(len(s["points"]) for strokes in self.strokes.values() for s in strokes)


def _chat_out(m: ChatLine) -> dict[str, Any]:
    return {"id": m.id, "identity": m.identity, "name": m.name, "role": m.role, "text": m.text, "ts": m.ts}


class InCallFeature(Feature):
    def __init__(self, ctx: RoomContext, store: InCallStore) -> None:
        self.ctx, self.store = ctx, store

    def register(self, registry: Registry) -> None:
        registry.add(Chat, self.on_chat, rate=CHAT_RATE)
        registry.add(ProductCard, self.on_product_card, roles=STAFF, denied="only agents send product cards")
        registry.add(CardAction, self.on_card_action, rate=CARD_ACTION_RATE)
        registry.add(Annotate, self.on_annotate, rate=ANNOTATE_RATE)

    async def joined_state(self, room: LiveRoom, conn: Connection) -> dict[str, Any]:
        history = await asyncio.to_thread(self.store.chat_history, room.room_id)
        x = room.features.get(InCallState)
        return {"chat": [_chat_out(m) for m in history], "cards": list(x.cards.values()),
                "annotations": {t: list(s) for t, s in x.strokes.items() if s}}

    async def member_leaving(self, room: LiveRoom, conn: Connection, reason: str) -> None:
        """Drawings on a leaver's videos go with them: those videos no longer exist."""
        strokes = room.features.get(InCallState).strokes
        for target in [t for t in strokes if t.split(":", 1)[0] == conn.pid]:
            strokes.pop(target, None)

    async def on_chat(self, conn: Connection, msg: Chat) -> dict[str, Any]:
        live = self.ctx.live(conn, msg.id)
        text = msg.text.strip()
        if not text:
            raise ProtocolError("bad_request", "chat: text is empty", msg.id)
        state = live.features.get(InCallState)
        if state.chat_count is None:
            state.chat_count = await asyncio.to_thread(self.store.chat_count, live.room_id)
        if state.chat_count >= MAX_CHAT_PER_ROOM:
            raise ProtocolError("limit_reached", f"chat: this call holds at most {MAX_CHAT_PER_ROOM} messages",
                                msg.id)
        state.chat_count += 1
        m = await asyncio.to_thread(self.store.add_chat, live.room_id, conn.claims.identity, conn.claims.name,
                                    conn.claims.role, text)
        out = {**_chat_out(m), "pid": conn.pid}
        self.ctx.broadcast(live, {"type": "chat", "message": out}, skip=conn)
        return {"type": "chat_sent", "message": out}

    async def on_product_card(self, conn: Connection, msg: ProductCard) -> dict[str, Any]:
        live = self.ctx.live(conn, msg.id)
        cards = live.features.get(InCallState).cards
        if len(cards) >= MAX_CARDS_PER_ROOM:
            raise ProtocolError("limit_reached", f"at most {MAX_CARDS_PER_ROOM} product cards per call", msg.id)
        p = await asyncio.to_thread(self.store.product, live.app_id, msg.sku)
        if p is None:
            raise ProtocolError("product_not_found", f"no product {msg.sku!r} in this shop", msg.id)
        card_id = new_id("card")
        card = {"id": card_id, "sku": p.sku, "title": p.title, "price": p.price_cents / 100,
                "currency": p.currency, "image_url": p.image_url, "description": p.description,
                "variant": msg.variant, "from": {"pid": conn.pid, "name": conn.claims.name}, "ts": time.time()}
        cards[card_id] = card
        await asyncio.to_thread(self.store.add_event, live.app_id, live.room_id, "product_card",
                                conn.claims.identity, card)
        self.ctx.broadcast(live, {"type": "product_card", "card": card}, skip=conn)
        return {"type": "card_sent", "card": card}

    async def on_card_action(self, conn: Connection, msg: CardAction) -> dict[str, Any]:
        live = self.ctx.live(conn, msg.id)
        card = live.features.get(InCallState).cards.get(msg.card)
        if card is None:
            raise ProtocolError("card_not_found", f"no product card {msg.card} in this room", msg.id)
        data = {"card": msg.card, "sku": card["sku"], "action": msg.action, "price": card["price"],
                "currency": card["currency"]}
        event_id = await asyncio.to_thread(self.store.add_event, live.app_id, live.room_id, "card_action",
                                           conn.claims.identity, data)
        self.ctx.broadcast(live, {"type": "card_action", "card": msg.card, "sku": card["sku"], "action": msg.action,
                                  "pid": conn.pid, "name": conn.claims.name}, skip=conn, staff_only=True)
        return {"type": "card_action_recorded", "card": msg.card, "action": msg.action, "event": event_id}

    async def on_annotate(self, conn: Connection, msg: Annotate) -> dict[str, Any] | None:
        live = self.ctx.live(conn, msg.id)
        if live.feed(msg.target) is None:
            raise ProtocolError("bad_request", f"annotate: no video {msg.target!r} is published in this room",
                                msg.id)
        state = live.features.get(InCallState)
        strokes = state.strokes.setdefault(msg.target, [])
        out: dict[str, Any] = {"type": "annotation", "op": msg.op, "target": msg.target, "by": conn.pid,
                               "ts": time.time()}
        if msg.op == "stroke":
            if msg.stroke is None:
                raise ProtocolError("bad_request", "annotate: stroke is required for op=stroke", msg.id)
            s = {**msg.stroke.model_dump(), "by": conn.pid,
                 "points": [[round(x, 4), round(y, 4)] for x, y in msg.stroke.points]}
            existing = next((i for i, x in enumerate(strokes) if x["id"] == s["id"]), None)
            replaced = len(strokes[existing]["points"]) if existing is not None else 0
            if existing is None and len(strokes) >= MAX_STROKES_PER_TARGET:
                raise ProtocolError("limit_reached", f"annotate: at most {MAX_STROKES_PER_TARGET} strokes per "
                                    "video; clear or undo first", msg.id)
            if state.points() - replaced + len(s["points"]) > MAX_POINTS_PER_ROOM:
                raise ProtocolError("limit_reached", f"annotate: at most {MAX_POINTS_PER_ROOM} points per call; "
                                    "clear or undo first", msg.id)
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
        self.ctx.broadcast(live, out, skip=conn)
        if msg.partial:  # streamed partial strokes are saved once, when finished
            return None
        data = {k: v for k, v in out.items() if k != "type"}
        await asyncio.to_thread(self.store.add_event, live.app_id, live.room_id, "annotation",
                                conn.claims.identity, data)
        return {"type": "annotated", "op": msg.op, "target": msg.target}
