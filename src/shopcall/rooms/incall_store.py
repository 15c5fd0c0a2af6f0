"""Persistence of chat, product cards, card clicks and annotations (saved with the call)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shopcall.db.engine import Database
from shopcall.db.ids import new_id
from shopcall.db.models import ChatMessage, Product, RoomEvent


class InCallStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add_chat(self, room_id: str, identity: str, name: str, role: str, text: str) -> ChatMessage:
        with self.db.session() as s:
            m = ChatMessage(id=new_id("msg"), room_id=room_id, identity=identity, name=name, role=role, text=text)
            s.add(m)
        return m

    def chat_history(self, room_id: str, limit: int = 200) -> list[ChatMessage]:
        with self.db.session() as s:
            rows = list(s.scalars(select(ChatMessage).where(ChatMessage.room_id == room_id)
                                  .order_by(ChatMessage.created_at.desc()).limit(limit)))
        return rows[::-1]

    def add_event(self, app_id: str, room_id: str, kind: str, identity: str, data: dict[str, Any]) -> RoomEvent:
        with self.db.session() as s:
            e = RoomEvent(app_id=app_id, room_id=room_id, kind=kind, identity=identity, data=data)
            s.add(e)
        return e

    def events(self, room_id: str, kind: str | None = None) -> list[RoomEvent]:
        q = select(RoomEvent).where(RoomEvent.room_id == room_id).order_by(RoomEvent.id)
        if kind:
            q = q.where(RoomEvent.kind == kind)
        with self.db.session() as s:
            return list(s.scalars(q))

    def product(self, app_id: str, sku: str) -> Product | None:
        with self.db.session() as s:
            return s.scalar(select(Product).where(Product.app_id == app_id, Product.sku == sku))
