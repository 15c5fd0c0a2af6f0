"""The one owner of the `recordings` table: every status change goes through `RecordingStore`.

A recording moves `recording` → `processing` (capture stopped, the worker takes over) → `ready`,
or to `failed` from either busy state. `ready` and `failed` are final. Any other change raises
`IllegalTransition`, so a late or duplicate writer (a second stop, a worker racing retention)
cannot silently move a row backwards. Deleting a row (staff or retention) is not a transition:
it removes the row with its audit entry in one transaction.

Synchronous (SQLAlchemy sessions): async callers run these methods in a thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shopcall.db.engine import Database
from shopcall.db.models import App, AuditEntry, Call, ChatMessage, ConsentDecision, Recording, RoomEvent, iso, utcnow
from shopcall.recording.mjr import recorded_feeds
from shopcall.webhooks.events import recording

Status = Literal["recording", "processing", "ready", "failed"]
BUSY: frozenset[str] = frozenset({"recording", "processing"})
TRANSITIONS: Mapping[str, frozenset[str]] = {
    "recording": frozenset({"processing", "failed"}),
    "processing": frozenset({"ready", "failed"}),
    "ready": frozenset(),
    "failed": frozenset(),
}
NOTHING_RECORDED = "nothing was recorded (no consenting participant published)"
INTERRUPTED = "the server stopped before anything was recorded"


class UnknownRecording(LookupError):
    """No recording row with that id."""


class IllegalTransition(ValueError):
    """A status change the state machine does not allow."""

    def __init__(self, rec_id: str, current: str, wanted: str) -> None:
        super().__init__(f"recording {rec_id} cannot go from {current!r} to {wanted!r}")
        self.current, self.wanted = current, wanted


@dataclass(frozen=True)
class Job:
    """What the worker needs to process one recording (read once, so no row leaves the session)."""

    id: str
    app_id: str
    region: str
    folder: str
    duration_s: float
    start_us: int  # wall clock of the recording's start, µs
    attempts: int  # including the attempt about to run


@dataclass(frozen=True)
class Filters:
    agent: str | None = None
    customer: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    status: str | None = None
    limit: int = 100


@dataclass(frozen=True)
class Expired:
    """A recording past its app's retention, as retention needs it after the session is closed."""

    id: str
    app_id: str
    room_id: str
    region: str
    started_at: datetime
    folder: str
    storage_key: str | None
    size_bytes: int | None
    retention_days: int


def _naive(d: datetime) -> datetime:
    """The database stores naive UTC (models.utcnow)."""
    return d.astimezone(UTC).replace(tzinfo=None) if d.tzinfo is not None else d


def _move(row: Recording, to: Status) -> None:
    if to not in TRANSITIONS.get(row.status, frozenset()):
        raise IllegalTransition(row.id, row.status, to)
    row.status = to


def _merge_steps(row: Recording, steps: Mapping[str, Any]) -> None:
    merged = dict(row.steps or {})
    merged.update(steps)
    row.steps = merged  # a new dict, so the JSON column is marked changed


class RecordingStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _row(self, s: Session, rec_id: str) -> Recording:
        row = s.get(Recording, rec_id, with_for_update=True)
        if row is None:
            raise UnknownRecording(rec_id)
        return row

    # ---- live capture (signalling) ------------------------------------------------------------

    def app_policy(self, app_id: str) -> tuple[str, bool]:
        """(recording_policy, recording_consent); ("off", True) for an unknown app."""
        with self.db.session() as s:
            app = s.get(App, app_id)
            return (app.recording_policy, app.recording_consent) if app else ("off", True)

    def begin(self, rec_id: str, *, app_id: str, room_id: str, folder: str, started_by: str) -> None:
        """Insert the row of a capture that just started, attributed to the room's call when there is one."""
        with self.db.session() as s:
            call = s.scalars(select(Call).where(Call.room_id == room_id)).one_or_none()
            app = s.get(App, app_id)
            s.add(Recording(id=rec_id, app_id=app_id, room_id=room_id, call_id=call.id if call else None,
                            region=app.region if app else "local", status="recording", folder=folder,
                            started_by=started_by, agent_identity=call.agent_identity if call else started_by,
                            customer_id=call.customer_id if call else None,
                            steps={"record": {"status": "running"}}))

    def finish_capture(self, rec_id: str, *, duration_s: float, feeds: list[str], reason: str) -> str:
        """Capture stopped: `processing` for the worker, or `failed` when no feed was recorded. Returns the status."""
        with self.db.session() as s:
            row = self._row(s, rec_id)
            _move(row, "processing" if feeds else "failed")
            row.stopped_at, row.duration_s = utcnow(), duration_s
            row.error = None if feeds else NOTHING_RECORDED
            row.steps = {"record": {"status": "done", "feeds": sorted(feeds), "reason": reason}}
            return row.status

    def recover_interrupted(self) -> list[tuple[str, str]]:
        """At start no capture can be running: a row still `recording` was cut off by a stop or a crash.
        Its raw files go to the worker (`processing`), or it is `failed` with the reason; either way
        it can be deleted. Returns (recording id, new status)."""
        out = []
        with self.db.session() as s:
            for row in s.scalars(select(Recording).where(Recording.status == "recording").with_for_update()):
                files = recorded_feeds(Path(row.folder)) if row.folder else []
                _move(row, "processing" if files else "failed")
                row.stopped_at = utcnow()
                row.duration_s = round((row.stopped_at - _naive(row.started_at)).total_seconds(), 2)
                row.error = None if files else INTERRUPTED
                row.steps = {"record": {"status": "done", "feeds": files, "reason": "interrupted"}}
                out.append((row.id, row.status))
        return out

    def add_consent(self, app_id: str, room_id: str, recording_id: str, identity: str, granted: bool) -> None:
        with self.db.session() as s:
            s.add(ConsentDecision(app_id=app_id, room_id=room_id, recording_id=recording_id, identity=identity,
                                  decision="granted" if granted else "refused"))
            s.add(AuditEntry(app_id=app_id, actor=f"shopper:{identity}",
                             action="consent.granted" if granted else "consent.refused",
                             details={"room": room_id, "recording": recording_id}))

    # ---- post-processing (worker) -----------------------------------------------------------

    def processing_ids(self) -> list[str]:
        with self.db.session() as s:
            return list(s.scalars(select(Recording.id).where(Recording.status == "processing")))

    def start_attempt(self, rec_id: str) -> Job | None:
        """Count one more attempt and return the job; None when the row is gone or no longer `processing`."""
        with self.db.session() as s:
            row = s.get(Recording, rec_id, with_for_update=True)
            if row is None or row.status != "processing":
                return None
            row.attempts += 1
            return Job(row.id, row.app_id, row.region, row.folder, float(row.duration_s or 0),
                       int(row.started_at.replace(tzinfo=UTC).timestamp() * 1e6), row.attempts)

    def progress(self, rec_id: str, step: str, info: Mapping[str, Any], *, error: str | None = None) -> None:
        """Record a step's progress (no status change); `error` keeps the last failure visible while retrying."""
        with self.db.session() as s:
            row = self._row(s, rec_id)
            _merge_steps(row, {step: dict(info)})
            if error is not None:
                row.error = error

    def mark_ready(self, rec_id: str, *, storage_key: str, size_bytes: int, backend: str) -> None:
        with self.db.session() as s:
            row = self._row(s, rec_id)
            _move(row, "ready")
            _merge_steps(row, {"store": {"status": "done", "backend": backend}})
            row.storage_key, row.size_bytes, row.error = storage_key, size_bytes, None

    def mark_failed(self, rec_id: str, *, step: str, error: str) -> None:
        with self.db.session() as s:
            row = self._row(s, rec_id)
            _move(row, "failed")
            _merge_steps(row, {step: {"status": "failed", "error": error}})
            row.error = error

    def event_payload(self, rec_id: str) -> dict[str, Any]:
        """The recording.* webhook payload of the row as it is now."""
        with self.db.session() as s:
            row = s.get(Recording, rec_id)
            return recording(row) if row is not None else {"recording_id": rec_id}

    # ---- archive (API) ------------------------------------------------------------------------

    def search(self, app_id: str, f: Filters) -> list[tuple[Recording, Call | None]]:
        """The app's recordings, newest first, each with its call (if any)."""
        q = select(Recording, Call).outerjoin(Call, Call.id == Recording.call_id).where(Recording.app_id == app_id)
        if f.agent:
            q = q.where(Recording.agent_identity == f.agent)
        if f.customer:
            q = q.where(Recording.customer_id == f.customer)
        if f.outcome:
            q = q.where(Call.outcome == f.outcome)
        if f.since:
            q = q.where(Recording.started_at >= _naive(f.since))
        if f.until:
            q = q.where(Recording.started_at < _naive(f.until))
        if f.status:
            q = q.where(Recording.status == f.status)
        with self.db.session() as s:
            return [(r, c) for r, c in s.execute(q.order_by(Recording.started_at.desc()).limit(f.limit))]

    def get(self, app_id: str, rec_id: str) -> tuple[Recording, Call | None] | None:
        """The recording and its call, None unless it exists and belongs to `app_id`."""
        with self.db.session() as s:
            r = s.get(Recording, rec_id)
            if r is None or r.app_id != app_id:
                return None
            return r, (s.get(Call, r.call_id) if r.call_id else None)

    def timeline(self, r: Recording) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(consent decisions, chat/room events during the recording as offsets in seconds from its start)."""
        start, end = r.started_at, r.stopped_at or datetime.max
        out: list[dict[str, Any]] = []
        with self.db.session() as s:
            for m in s.scalars(select(ChatMessage).where(ChatMessage.room_id == r.room_id)):
                if start <= m.created_at <= end:
                    out.append({"t": (m.created_at - start).total_seconds(), "kind": "chat", "name": m.name,
                                "role": m.role, "text": m.text})
            for e in s.scalars(select(RoomEvent).where(RoomEvent.room_id == r.room_id).order_by(RoomEvent.id)):
                if start <= e.created_at <= end:
                    out.append({"t": (e.created_at - start).total_seconds(), "kind": e.kind, "by": e.identity,
                                "data": e.data})
            consents = [{"identity": c.identity, "decision": c.decision,
                         "at": iso(c.decided_at)}
                        for c in s.scalars(select(ConsentDecision).where(ConsentDecision.recording_id == r.id))]
        out.sort(key=lambda x: x["t"])
        for x in out:
            x["t"] = round(x["t"], 2)
        return consents, out

    # ---- deletion (staff, retention) ----------------------------------------------------------

    def delete(self, rec_id: str, *, actor: str, details: dict[str, Any], only_done: bool = False) -> bool:
        """Delete the row and audit `recording.deleted` in one transaction; False if it was already gone.

        `only_done` refuses (IllegalTransition) a row that is still recording or processing.
        """
        with self.db.session() as s:
            row = s.get(Recording, rec_id, with_for_update=True)
            if row is None:
                return False
            if only_done and row.status in BUSY:
                raise IllegalTransition(rec_id, row.status, "deleted")
            s.execute(delete(Recording).where(Recording.id == rec_id))
            s.add(AuditEntry(app_id=row.app_id, actor=actor, action="recording.deleted", details=details))
            return True

    # ---- regions ------------------------------------------------------------------------------

    def stored_elsewhere(self, app_id: str, region: str) -> list[tuple[str, str, str | None]]:
        """(id, status, storage key) of the app's recordings whose region is not `region`."""
        with self.db.session() as s:
            return [(r.id, r.status, r.storage_key) for r in s.scalars(select(Recording).where(
                Recording.app_id == app_id, Recording.region != region).order_by(Recording.started_at))]

    def relocate(self, rec_id: str, *, region: str, storage_key: str | None, actor: str) -> None:
        """The recording now lives in `region` under `storage_key` (after its object was copied there)."""
        with self.db.session() as s:
            row = self._row(s, rec_id)
            old = row.region
            row.region, row.storage_key = region, storage_key
            s.add(AuditEntry(app_id=row.app_id, actor=actor, action="recording.relocated",
                             details={"recording": rec_id, "from": old, "to": region}))

    def audit_delete_failed(self, app_id: str, *, actor: str, details: dict[str, Any]) -> None:
        with self.db.session() as s:
            s.add(AuditEntry(app_id=app_id, actor=actor, action="recording.delete_failed", details=details))

    def expired(self, now: datetime, on_ignored: Callable[[str, int], None] | None = None) -> list[Expired]:
        """Every recording past its app's retention (any status), oldest first per app.

        Apps without retention (None) keep everything; a value < 1 is a misconfiguration (0 would
        delete recordings still being made) and keeps everything too: `on_ignored(app_id, days)` is told.
        """
        now = _naive(now)
        out: list[Expired] = []
        with self.db.session() as s:
            apps = s.execute(select(App.id, App.retention_days).where(App.retention_days.is_not(None))
                             .order_by(App.id)).all()
            for app_id, days in apps:
                if days is None or days < 1:
                    if days is not None and on_ignored is not None:
                        on_ignored(app_id, days)
                    continue
                rows = s.scalars(select(Recording).where(Recording.app_id == app_id,
                                                         Recording.started_at < now - timedelta(days=days))
                                 .order_by(Recording.started_at, Recording.id)).all()
                out.extend(Expired(r.id, r.app_id, r.room_id, r.region, r.started_at, r.folder or "",
                                   r.storage_key, r.size_bytes, int(days)) for r in rows)
        return out
