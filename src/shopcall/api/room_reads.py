"""Listings of rooms and participants for merchant servers, which `rooms.store.RoomStore` does not offer.

Synchronous (SQLAlchemy sessions): handlers call it from FastAPI's thread pool or a thread.
"""

from __future__ import annotations

from sqlalchemy import select

from shopcall.db.engine import Database
from shopcall.db.models import Participant, Room


class RoomReads:
    def __init__(self, db: Database) -> None:
        self.db = db

    def rooms(self, app_id: str, *, status: str | None, limit: int) -> list[Room]:
        """The app's rooms, newest first."""
        q = select(Room).where(Room.app_id == app_id).order_by(Room.created_at.desc()).limit(limit)
        if status:
            q = q.where(Room.status == status)
        with self.db.session() as s:
            return list(s.scalars(q))

    def participants(self, room_id: str, *, active: bool) -> list[Participant]:
        """Everyone who joined the room in join order; `active`: only those still in it."""
        q = select(Participant).where(Participant.room_id == room_id).order_by(Participant.joined_at)
        if active:
            q = q.where(Participant.left_at.is_(None))
        with self.db.session() as s:
            return list(s.scalars(q))
