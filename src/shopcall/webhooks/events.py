"""Webhook event types and their `data` payloads (documented in docs/webhooks.md).

Builders take database rows so every producer (signalling, recordings, the conversions API) sends the
same shape for the same event; payloads are plain JSON (ISO-8601 UTC times with a trailing `Z`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Literal, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopcall.db.engine import Database
from shopcall.db.models import Call, Conversion, Participant, Recording, iso, seconds_between

EventType = Literal[
    "call.queued", "call.started", "call.ended",
    "participant.joined", "participant.left",
    "recording.started", "recording.ready", "recording.failed",
    "conversion.recorded",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
ALL_EVENTS = "*"  # an endpoint subscribed to "*" gets every type, including ones added later


def _call(c: Call) -> dict[str, Any]:
    return {"call_id": c.id, "room_id": c.room_id, "status": c.status,
            "shopper": {"identity": c.shopper_identity, "name": c.shopper_name},
            "customer_id": c.customer_id, "agent": c.agent_identity, "context": c.context or {},
            "created_at": iso(c.created_at)}


def call_queued(c: Call) -> dict[str, Any]:
    return _call(c)


def call_started(c: Call) -> dict[str, Any]:
    return {**_call(c), "answered_at": iso(c.answered_at), "wait_s": seconds_between(c.created_at, c.answered_at)}


def participant(p: Participant, *, call_id: str | None = None) -> dict[str, Any]:
    return {"participant_id": p.id, "room_id": p.room_id, "call_id": call_id, "identity": p.identity,
            "name": p.display_name, "role": p.role, "joined_at": iso(p.joined_at), "left_at": iso(p.left_at),
            "reason": p.leave_reason}


def call_ended(c: Call, participants: Sequence[Participant]) -> dict[str, Any]:
    """`duration_s` counts from answer to end (None if never answered); `wait_s` from request to answer/end."""
    return {**_call(c), "answered_at": iso(c.answered_at), "ended_at": iso(c.ended_at), "outcome": c.outcome,
            "wait_s": seconds_between(c.created_at, c.answered_at or c.ended_at),
            "duration_s": seconds_between(c.answered_at, c.ended_at),
            "participants": [participant(p, call_id=c.id) for p in participants]}


def recording(r: Recording) -> dict[str, Any]:
    """For recording.started, recording.ready and recording.failed (`error` is set only on failure)."""
    return {"recording_id": r.id, "room_id": r.room_id, "call_id": r.call_id, "status": r.status,
            "started_at": iso(r.started_at), "stopped_at": iso(r.stopped_at), "duration_s": r.duration_s,
            "size_bytes": r.size_bytes, "error": r.error}


def conversion_recorded(conv: Conversion, call: Call | None = None) -> dict[str, Any]:
    """Amounts as a decimal string and in minor units, so no consumer meets float rounding."""
    out: dict[str, Any] = {"conversion_id": conv.id, "call_id": conv.call_id, "order_id": conv.order_id,
                           "amount": str(Decimal(conv.amount_cents).scaleb(-2)), "amount_cents": conv.amount_cents,
                           "currency": conv.currency, "created_at": iso(conv.created_at)}
    if call is not None:
        out.update(agent=call.agent_identity, customer_id=call.customer_id)
    return out


def _room_call(s: Session, room_id: str) -> Call | None:
    return s.scalars(select(Call).where(Call.room_id == room_id)).one_or_none()


def load_event(db: Database, event: str, *, call_id: str | None = None, room_id: str | None = None,
               pid: str | None = None) -> tuple[str, dict[str, Any]] | None:
    """(app_id, payload) of a call.* or participant.* event, read from the stored rows; None if they are gone.

    `pid` names a participant event; otherwise the call is found by `call_id`, else by `room_id`.
    Synchronous: the signalling hub calls it in a thread, off the call path.
    """
    with db.session() as s:
        if pid is not None:
            p = s.get(Participant, pid)
            if p is None:
                return None
            call = _room_call(s, p.room_id)
            return p.room.app_id, participant(p, call_id=call.id if call else None)
        found = s.get(Call, call_id) if call_id else _room_call(s, room_id) if room_id else None
        if found is None:
            return None
        if event == "call.queued":
            return found.app_id, call_queued(found)
        if event == "call.started":
            return found.app_id, call_started(found)
        parts = s.scalars(select(Participant).where(Participant.room_id == found.room_id)).all()
        return found.app_id, call_ended(found, parts)
