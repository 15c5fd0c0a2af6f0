"""Subject access and erasure for the call tables the rooms stores own: rooms, participants, calls, chat,
room events (cards, clicks, annotations), quality samples and conversions.

Erasure keeps the call and participant rows (call counts, durations and billing stay right) but replaces
the shopper's identity with a pseudonym and clears names, contexts (the visit, the page, any IP address)
and customer ids; the shopper's own chat lines, events and quality samples are deleted, and other rows of
the same rooms are scrubbed of their identifiers (an agent who typed the shopper's email).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select

from shopcall.db.engine import Database, rowcount
from shopcall.db.models import Call, ChatMessage, Conversion, Participant, QualitySample, Room, RoomEvent
from shopcall.db.subject import VISIT_KEYS, Subject, drop_ips, find_ips, mentions, row_dict, scrub


class RoomsSubjectData:
    name: str = "calls"
    tables: tuple[str, ...] = ("rooms", "participants", "calls", "chat_messages", "room_events", "quality_samples",
                               "conversions")

    def __init__(self, db: Database) -> None:
        self.db = db

    def identify(self, subject: Subject) -> None:
        with self.db.session() as s:
            calls = list(s.scalars(select(Call).where(Call.app_id == subject.app_id, or_(
                Call.shopper_identity.in_(subject.identities | {subject.query}),
                Call.customer_id.in_(subject.customer_ids | {subject.query})))))
            for c in calls:
                subject.identities.add(c.shopper_identity)
                subject.calls.add(c.id)
                subject.rooms.add(c.room_id)
                if c.customer_id:
                    subject.customer_ids.add(c.customer_id)
                if c.shopper_name:
                    subject.names.add(c.shopper_name)
                subject.ips |= find_ips(c.context)
            parts = s.execute(select(Participant.identity, Participant.display_name, Participant.room_id)
                              .join(Room, Room.id == Participant.room_id)
                              .where(Room.app_id == subject.app_id, Participant.role == "shopper",
                                     Participant.identity.in_(subject.identities | {subject.query}))).all()
            for identity, display, room_id in parts:
                subject.identities.add(identity)
                subject.rooms.add(room_id)
                if display:
                    subject.names.add(display)
            for data in s.scalars(select(QualitySample.data).where(
                    QualitySample.app_id == subject.app_id, QualitySample.identity.in_(subject.identities))):
                subject.ips |= find_ips(data)

    def _rooms(self, s: Any, subject: Subject) -> list[str]:
        """The subject's rooms, re-checked against the app (a room id never crosses tenants)."""
        return list(s.scalars(select(Room.id).where(Room.app_id == subject.app_id, Room.id.in_(subject.rooms))))

    def export(self, subject: Subject) -> dict[str, list[dict[str, Any]]]:
        with self.db.session() as s:
            rooms = self._rooms(s, subject)
            ids = subject.identities
            return {
                "rooms": [row_dict(r) for r in s.scalars(select(Room).where(Room.id.in_(rooms)))],
                "participants": [row_dict(p) for p in s.scalars(select(Participant).where(
                    Participant.room_id.in_(rooms), Participant.identity.in_(ids)))],
                "calls": [row_dict(c) for c in s.scalars(select(Call).where(
                    Call.app_id == subject.app_id, Call.id.in_(subject.calls)))],
                # the whole chat of the subject's rooms: what was said to them is about them too
                "chat_messages": [row_dict(m) for m in s.scalars(select(ChatMessage).where(
                    ChatMessage.room_id.in_(rooms)).order_by(ChatMessage.created_at))],
                "room_events": [row_dict(e) for e in s.scalars(select(RoomEvent).where(
                    RoomEvent.app_id == subject.app_id, RoomEvent.room_id.in_(rooms)))],
                "quality_samples": [row_dict(q) for q in s.scalars(select(QualitySample).where(
                    QualitySample.app_id == subject.app_id, QualitySample.identity.in_(ids)))],
                "conversions": [row_dict(c) for c in s.scalars(select(Conversion).where(
                    Conversion.app_id == subject.app_id, Conversion.call_id.in_(subject.calls)))],
            }

    def erase(self, subject: Subject) -> dict[str, int]:
        needles = subject.needles()
        out = {"calls.anonymised": 0, "participants.anonymised": 0, "chat_messages.deleted": 0,
               "chat_messages.anonymised": 0, "room_events.deleted": 0, "room_events.anonymised": 0,
               "quality_samples.deleted": 0, "rooms.anonymised": 0}
        pseudonym = {i: "erased_" + secrets.token_hex(6) for i in subject.identities}
        with self.db.session() as s:
            rooms = self._rooms(s, subject)
            ids = list(subject.identities)
            out["chat_messages.deleted"] = rowcount(s.execute(delete(ChatMessage).where(
                ChatMessage.room_id.in_(rooms), ChatMessage.identity.in_(ids))))
            out["room_events.deleted"] = rowcount(s.execute(delete(RoomEvent).where(
                RoomEvent.app_id == subject.app_id, RoomEvent.room_id.in_(rooms), RoomEvent.identity.in_(ids))))
            out["quality_samples.deleted"] = rowcount(s.execute(delete(QualitySample).where(
                QualitySample.app_id == subject.app_id, QualitySample.identity.in_(ids))))
            for c in s.scalars(select(Call).where(Call.app_id == subject.app_id, Call.id.in_(subject.calls))):
                c.shopper_identity = pseudonym.get(c.shopper_identity, "erased_" + secrets.token_hex(6))
                c.shopper_name, c.context, c.customer_id = "", {}, None
                out["calls.anonymised"] += 1
            for p in s.scalars(select(Participant).where(Participant.room_id.in_(rooms),
                                                         Participant.identity.in_(ids))):
                p.identity, p.display_name = pseudonym[p.identity], ""
                out["participants.anonymised"] += 1
            for r in s.scalars(select(Room).where(Room.id.in_(rooms))):
                if mentions(r.name, needles):
                    r.name = scrub(r.name, needles)
                    out["rooms.anonymised"] += 1
            for m in s.scalars(select(ChatMessage).where(ChatMessage.room_id.in_(rooms))):
                if mentions([m.text, m.name], needles):
                    m.text, m.name = scrub(m.text, needles), scrub(m.name, needles)
                    out["chat_messages.anonymised"] += 1
            for e in s.scalars(select(RoomEvent).where(RoomEvent.app_id == subject.app_id,
                                                       RoomEvent.room_id.in_(rooms))):
                if mentions(e.data, needles):
                    e.data = scrub(e.data, needles)
                    out["room_events.anonymised"] += 1
        return {k: v for k, v in out.items() if v}

    # ---- retention ---------------------------------------------------------------------------------

    retention_kinds: tuple[str, ...] = ("chat", "quality_samples", "call_metadata", "visitor_events", "ip_addresses")

    def retain(self, app_id: str, kind: str, before: datetime) -> dict[str, int]:
        with self.db.session() as s:
            rooms = select(Room.id).where(Room.app_id == app_id)
            if kind == "chat":
                return {"chat_messages.deleted": rowcount(s.execute(delete(ChatMessage).where(
                    ChatMessage.room_id.in_(rooms), ChatMessage.created_at < before)))}
            if kind == "quality_samples":
                return {"quality_samples.deleted": rowcount(s.execute(delete(QualitySample).where(
                    QualitySample.app_id == app_id, QualitySample.created_at < before)))}
            old_calls = select(Call).where(Call.app_id == app_id, Call.created_at < before)
            n = 0
            if kind == "call_metadata":  # who called, under which name, from where: the call itself stays
                for c in s.scalars(old_calls.where(Call.shopper_identity.not_like("erased_%"))):
                    c.shopper_identity, c.shopper_name = "erased_" + secrets.token_hex(6), ""
                    c.context, c.customer_id = {}, None
                    for p in s.scalars(select(Participant).where(Participant.room_id == c.room_id,
                                                                 Participant.role == "shopper")):
                        p.identity, p.display_name = c.shopper_identity, ""
                    n += 1
                return {"calls.anonymised": n}
            if kind == "visitor_events":
                for c in s.scalars(old_calls):
                    if c.context and any(k in c.context for k in VISIT_KEYS):
                        c.context = {k: v for k, v in c.context.items() if k not in VISIT_KEYS}
                        n += 1
                return {"calls.visits_removed": n}
            if kind == "ip_addresses":
                out = {"calls.ips_removed": 0, "quality_samples.ips_removed": 0, "room_events.ips_removed": 0}
                for c in s.scalars(old_calls):
                    if find_ips(c.context):
                        c.context = drop_ips(c.context)
                        out["calls.ips_removed"] += 1
                for q in s.scalars(select(QualitySample).where(QualitySample.app_id == app_id,
                                                               QualitySample.created_at < before)):
                    if find_ips(q.data):
                        q.data = drop_ips(q.data)
                        out["quality_samples.ips_removed"] += 1
                for e in s.scalars(select(RoomEvent).where(RoomEvent.app_id == app_id, RoomEvent.created_at < before)):
                    if find_ips(e.data):
                        e.data = drop_ips(e.data)
                        out["room_events.ips_removed"] += 1
                return out
        return {}
