"""Database operations on rooms, participants and calls (synchronous; called via threads)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from shopcall.db.engine import Database, rowcount
from shopcall.db.ids import new_id
from shopcall.db.models import Call, Participant, Room, RoomEvent, utcnow


class RoomStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create_room(self, app_id: str, *, name: str = "", kind: str = "call", max_participants: int = 4) -> Room:
        with self.db.session() as s:
            room = Room(id=new_id("rm"), app_id=app_id, name=name, kind=kind, max_participants=max_participants)
            s.add(room)
        return room

    def get_room(self, room_id: str) -> Room | None:
        with self.db.session() as s:
            return s.get(Room, room_id)

    def end_room(self, room_id: str, reason: str) -> bool:
        """Mark ended; True only for the caller that actually ended it."""
        now = utcnow()
        with self.db.session() as s:
            res = s.execute(
                update(Room).where(Room.id == room_id, Room.status == "open")
                .values(status="ended", ended_at=now, end_reason=reason)
            )
            s.execute(update(Participant).where(Participant.room_id == room_id, Participant.left_at.is_(None))
                      .values(left_at=now, leave_reason="room_ended"))
            s.execute(update(Call).where(Call.room_id == room_id, Call.status.in_(["ringing", "answered"]))
                      .values(status="ended", ended_at=now))
            return bool(rowcount(res))

    def add_participant(self, room_id: str, identity: str, name: str, role: str) -> str:
        with self.db.session() as s:
            p = Participant(id=new_id("p"), room_id=room_id, identity=identity, display_name=name, role=role)
            s.add(p)
        return p.id

    def remove_participant(self, pid: str, reason: str) -> None:
        with self.db.session() as s:
            s.execute(update(Participant).where(Participant.id == pid, Participant.left_at.is_(None))
                      .values(left_at=utcnow(), leave_reason=reason))

    def create_call(self, app_id: str, room_id: str, identity: str, name: str, context: dict[str, Any],
                    customer_id: str | None = None) -> Call:
        with self.db.session() as s:
            call = Call(id=new_id("cl"), app_id=app_id, room_id=room_id, shopper_identity=identity,
                        shopper_name=name, context=context, customer_id=customer_id)
            s.add(call)
        return call

    def get_call(self, call_id: str) -> Call | None:
        with self.db.session() as s:
            return s.get(Call, call_id)

    def claim_call(self, call_id: str, agent_identity: str) -> bool:
        """Atomically move a ringing call to answered; exactly one agent can win."""
        with self.db.session() as s:
            res = s.execute(
                update(Call).where(Call.id == call_id, Call.status == "ringing")
                .values(status="answered", agent_identity=agent_identity, answered_at=utcnow())
            )
            return rowcount(res) == 1

    def reassign_call(self, call_id: str, agent_identity: str) -> None:
        with self.db.session() as s:
            s.execute(update(Call).where(Call.id == call_id).values(agent_identity=agent_identity))

    def cancel_call(self, call_id: str, status: str = "cancelled") -> bool:
        with self.db.session() as s:
            res = s.execute(update(Call).where(Call.id == call_id, Call.status == "ringing")
                            .values(status=status, ended_at=utcnow()))
            return rowcount(res) == 1

    def set_removed(self, app_id: str, room_id: str, identity: str, *, by: str, removed: bool) -> None:
        """Record that the host removed (or readmitted) an identity: it outlives the live room and restarts."""
        with self.db.session() as s:
            s.add(RoomEvent(app_id=app_id, room_id=room_id, kind="removed" if removed else "readmitted",
                            identity=by, data={"identity": identity}))

    def removed_identities(self, room_id: str) -> set[str]:
        """Identities removed from a room and not readmitted since."""
        out: set[str] = set()
        with self.db.session() as s:
            for e in s.scalars(select(RoomEvent).where(RoomEvent.room_id == room_id,
                                                       RoomEvent.kind.in_(["removed", "readmitted"]))
                               .order_by(RoomEvent.id)):
                who = str(e.data.get("identity", ""))
                (out.add if e.kind == "removed" else out.discard)(who)
        return out

    def is_call_shopper(self, room_id: str, identity: str) -> bool:
        """The shopper of a live call may (re)join its room on any connection of theirs."""
        with self.db.session() as s:
            return s.scalar(select(Call.id).where(
                Call.room_id == room_id, Call.shopper_identity == identity,
                Call.status.in_(["ringing", "answered"])).limit(1)) is not None

    def ringing_calls(self, app_id: str) -> list[Call]:
        with self.db.session() as s:
            return list(s.scalars(select(Call).where(Call.app_id == app_id, Call.status == "ringing")
                                  .order_by(Call.created_at)))

    def recover(self) -> tuple[list[str], list[Call]]:
        """At start no client is connected, but calls go on: whoever was in a room is marked as
        having left (they rejoin with new participant ids) and the rooms stay open. Returns the ids
        of those rooms, and the calls still going on (waiting or answered), oldest first."""
        now = utcnow()
        with self.db.session() as s:
            rooms = list(s.scalars(select(Participant.room_id).join(Room, Room.id == Participant.room_id)
                                   .where(Participant.left_at.is_(None), Room.status == "open").distinct()))
            s.execute(update(Participant).where(Participant.left_at.is_(None))
                      .values(left_at=now, leave_reason="server_restart"))
            live = list(s.scalars(select(Call).join(Room, Room.id == Call.room_id)
                                  .where(Call.status.in_(["ringing", "answered"]), Room.status == "open")
                                  .order_by(Call.created_at)))
            return rooms, live
