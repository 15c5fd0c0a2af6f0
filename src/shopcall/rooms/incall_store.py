"""Persistence of chat, product cards, card clicks, annotations and quality samples (saved with the call)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from shopcall.db.engine import Database
from shopcall.db.ids import new_id
from shopcall.db.models import ChatMessage, Product, QualitySample, RoomEvent


@dataclass(frozen=True)
class ChatLine:
    id: str
    identity: str
    name: str
    role: str
    text: str
    ts: float


def _line(m: ChatMessage) -> ChatLine:
    return ChatLine(m.id, m.identity, m.name, m.role, m.text, m.created_at.timestamp())


class InCallStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add_chat(self, room_id: str, identity: str, name: str, role: str, text: str) -> ChatLine:
        with self.db.session() as s:
            m = ChatMessage(id=new_id("msg"), room_id=room_id, identity=identity, name=name, role=role, text=text)
            s.add(m)
            s.flush()
            return _line(m)

    def chat_count(self, room_id: str) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(ChatMessage)
                                .where(ChatMessage.room_id == room_id)) or 0)

    def chat_history(self, room_id: str, limit: int = 200) -> list[ChatLine]:
        with self.db.session() as s:
            rows = list(s.scalars(select(ChatMessage).where(ChatMessage.room_id == room_id)
                                  .order_by(ChatMessage.created_at.desc()).limit(limit)))
            return [_line(m) for m in rows[::-1]]

    def add_event(self, app_id: str, room_id: str, kind: str, identity: str, data: dict[str, Any]) -> int:
        """Store a room event; returns its id."""
        with self.db.session() as s:
            e = RoomEvent(app_id=app_id, room_id=room_id, kind=kind, identity=identity, data=data)
            s.add(e)
            s.flush()
            return int(e.id)

    def events(self, room_id: str, kind: str | None = None) -> list[RoomEvent]:
        q = select(RoomEvent).where(RoomEvent.room_id == room_id).order_by(RoomEvent.id)
        if kind:
            q = q.where(RoomEvent.kind == kind)
        with self.db.session() as s:
            return list(s.scalars(q))

    def product(self, app_id: str, sku: str) -> Product | None:
        with self.db.session() as s:
            return s.scalar(select(Product).where(Product.app_id == app_id, Product.sku == sku))

    def add_quality_sample(self, **fields: Any) -> None:
        with self.db.session() as s:
            s.add(QualitySample(**fields))
