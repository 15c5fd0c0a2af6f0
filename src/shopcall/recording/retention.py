"""Retention: delete recordings older than their app's `retention_days`, files first, then the row, with an audit trail.

Order per recording: check the raw folder is ours to delete, delete the composite object, delete the
raw folder, then delete the row and write `recording.deleted` in one transaction. If any file step
fails the row stays (so the next run retries; every step is idempotent) and `recording.delete_failed`
is written. A row is therefore only ever gone when its files are gone too.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog

from shopcall.db.engine import Database
from shopcall.db.models import utcnow
from shopcall.recording.storage import RecordingStorage
from shopcall.recording.store import Expired, RecordingStore

log = structlog.get_logger("shopcall.retention")

REASON = "retention"


@dataclass
class RetentionReport:
    deleted: list[str] = field(default_factory=list)  # recording ids whose files and row are gone
    failed: dict[str, str] = field(default_factory=dict)  # recording id -> why it was kept
    bytes_freed: int = 0

    @property
    def touched(self) -> bool:
        return bool(self.deleted or self.failed)


def _ignored(app_id: str, days: int) -> None:
    log.warning("retention_days_ignored", app_id=app_id, retention_days=days)


def _raw_folder(rec: Expired, raw_root: Path | None) -> Path | None:
    """The raw folder to remove, None if there is nothing to remove; raises if it exists but is not ours."""
    if not rec.folder:
        return None
    folder = Path(rec.folder)
    if not folder.exists():
        return None
    resolved = folder.resolve()
    if raw_root is None:
        raise PermissionError(f"raw folder {folder} exists but no raw_root is configured; refusing to delete it")
    root = raw_root.resolve()
    if resolved == root or not resolved.is_relative_to(root):
        raise PermissionError(f"raw folder {folder} is not inside {root}; refusing to delete it")
    return resolved


def _tree_size(path: Path) -> int:
    total = 0
    for p in path.rglob("*"):
        try:
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
        except OSError:
            pass
    return total


def _details(rec: Expired, **extra: Any) -> dict[str, Any]:
    return {"recording_id": rec.id, "room_id": rec.room_id, "region": rec.region,
            "started_at": rec.started_at.isoformat(), "reason": REASON, "retention_days": rec.retention_days,
            "storage_key": rec.storage_key, "raw_folder": rec.folder or None, **extra}


def _delete_one(db: Database, storage: RecordingStorage, rec: Expired, raw_root: Path | None, actor: str) -> int:
    """Delete files then row (+ audit entry). Returns bytes freed; raises if a file step failed."""
    folder = _raw_folder(rec, raw_root)  # safety check before anything is deleted
    freed = 0
    if rec.storage_key:
        size = storage.size(rec.storage_key)
        if storage.delete(rec.storage_key):
            freed += size if size is not None else (rec.size_bytes or 0)
    if folder is not None:
        raw_bytes = _tree_size(folder)
        shutil.rmtree(folder)
        freed += raw_bytes
    if not RecordingStore(db).delete(rec.id, actor=actor, details=_details(rec, bytes_freed=freed)):
        log.info("retention_row_already_gone", recording_id=rec.id)
    return freed


def run_retention(db: Database, storage: RecordingStorage, *, now: datetime | None = None, actor: str = "retention",
                  raw_root: Path | None = None) -> RetentionReport:
    """Delete every recording whose app's retention has passed (any status). Synchronous: run it in a thread.

    `raw_root` is the only folder under which raw per-track folders may be deleted (normally
    `<data_dir>/recordings-raw`); a recording whose raw folder exists elsewhere is kept and reported.
    """
    store = RecordingStore(db)
    report = RetentionReport()
    for rec in store.expired(now or utcnow(), on_ignored=_ignored):
        try:
            freed = _delete_one(db, storage, rec, raw_root, actor)
        except Exception as e:  # one bad recording must not stop the others
            reason = f"{type(e).__name__}: {e}"
            report.failed[rec.id] = reason
            log.warning("retention_delete_failed", recording_id=rec.id, app_id=rec.app_id, error=reason)
            try:
                store.audit_delete_failed(rec.app_id, actor=actor, details=_details(rec, error=reason))
            except Exception:  # the report and the log still carry the failure
                log.exception("retention_audit_failed", recording_id=rec.id)
            continue
        report.deleted.append(rec.id)
        report.bytes_freed += freed
    if report.touched:
        log.info("retention_done", deleted=len(report.deleted), failed=len(report.failed),
                 bytes_freed=report.bytes_freed)
    return report


async def retention_loop(db: Database, storage: RecordingStorage, interval_s: float = 3600,
                         stop_event: asyncio.Event | None = None, *, raw_root: Path | None = None,
                         actor: str = "retention", also: Sequence[Callable[[], object]] = ()) -> None:
    """Run retention now and then every `interval_s` until `stop_event` is set; errors are logged, never raised.

    `also`: further synchronous jobs run in the same thread after the recordings (the other kinds of
    personal data: privacy.retention.run_data_retention, injected by the app so this layer needs no import).
    """
    stop = stop_event or asyncio.Event()
    while not stop.is_set():
        try:
            await asyncio.to_thread(run_retention, db, storage, actor=actor, raw_root=raw_root)
        except Exception:  # e.g. the database is briefly down: try again next time
            log.exception("retention_run_failed")
        for job in also:
            try:
                await asyncio.to_thread(job)
            except Exception:
                log.exception("retention_job_failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
        except TimeoutError:
            pass
