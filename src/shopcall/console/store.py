"""What the agent console reads and writes besides accounts: the catalogue, call notes and outcomes,
callback requests, the admin roster and call lists, and a call's quality samples. Every read is
scoped to one app, so one merchant's staff never see another's rows.

Synchronous (SQLAlchemy sessions): handlers call it from FastAPI's thread pool or a thread.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from shopcall.db.engine import Database
from shopcall.db.ids import new_id
from shopcall.db.models import Agent, Call, CallbackRequest, CallNote, Product, QualitySample


class NotYourCall(PermissionError):
    """Only the agent who took a call (or an admin) may write its notes."""


class ConsoleStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def products(self, app_id: str) -> list[Product]:
        with self.db.session() as s:
            return list(s.scalars(select(Product).where(Product.app_id == app_id).order_by(Product.id)))

    def call(self, app_id: str, call_id: str) -> Call | None:
        """The call, None if it does not exist or belongs to another app."""
        with self.db.session() as s:
            call = s.get(Call, call_id)
            return call if call is not None and call.app_id == app_id else None

    def notes_for(self, app_id: str, call: Call, limit: int = 50) -> list[CallNote]:
        """Notes of this call and, when the customer is known, of their earlier calls; newest first."""
        q = select(CallNote).where(CallNote.app_id == app_id)
        q = q.where((CallNote.customer_id == call.customer_id) | (CallNote.call_id == call.id)) if call.customer_id \
            else q.where(CallNote.call_id == call.id)
        with self.db.session() as s:
            return list(s.scalars(q.order_by(CallNote.created_at.desc()).limit(limit)))

    def add_note(self, app_id: str, call_id: str, author: str, *, text: str, outcome: str | None,
                 any_call: bool) -> tuple[CallNote, Call] | None:
        """Store a note and set the call's outcome (when given) in one transaction.

        None if the call is not the app's; NotYourCall unless `any_call` (admins) or `author` took it.
        """
        with self.db.session() as s:
            call = s.get(Call, call_id, with_for_update=True)
            if call is None or call.app_id != app_id:
                return None
            if not any_call and call.agent_identity not in (author, None):
                raise NotYourCall(call_id)
            note = CallNote(app_id=app_id, call_id=call.id, agent_identity=author, customer_id=call.customer_id,
                            text=text, outcome=outcome)
            s.add(note)
            if outcome:
                call.outcome = outcome
            s.flush()
            return note, call

    def add_callback(self, app_id: str, *, name: str, contact: str, note: str,
                     context: dict[str, Any]) -> CallbackRequest:
        with self.db.session() as s:
            cb = CallbackRequest(id=new_id("cb"), app_id=app_id, name=name, contact=contact, note=note,
                                 context=context)
            s.add(cb)
            s.flush()
            return cb

    def callbacks(self, app_id: str, limit: int = 200) -> list[CallbackRequest]:
        with self.db.session() as s:
            return list(s.scalars(select(CallbackRequest).where(CallbackRequest.app_id == app_id)
                                  .order_by(CallbackRequest.created_at.desc()).limit(limit)))

    def agents_with_call_counts(self, app_id: str) -> list[tuple[Agent, int]]:
        """The app's agents by identity, each with how many of the app's calls they took."""
        with self.db.session() as s:
            agents = list(s.scalars(select(Agent).where(Agent.app_id == app_id).order_by(Agent.identity)))
            counts = {who: n for who, n in s.execute(
                select(Call.agent_identity, func.count()).where(Call.app_id == app_id)
                .group_by(Call.agent_identity))}
        return [(a, counts.get(a.identity, 0)) for a in agents]

    def recent_calls(self, app_id: str, limit: int) -> list[Call]:
        with self.db.session() as s:
            return list(s.scalars(select(Call).where(Call.app_id == app_id)
                                  .order_by(Call.created_at.desc()).limit(limit)))

    def quality_samples(self, room_id: str) -> list[QualitySample]:
        """A room's quality reports, oldest first."""
        with self.db.session() as s:
            return list(s.scalars(select(QualitySample).where(QualitySample.room_id == room_id)
                                  .order_by(QualitySample.created_at)))
