"""Retention on a real database (SQLite and PostgreSQL): what expired goes, files first, and nothing else."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from shopcall.db.engine import Database
from shopcall.db.ids import new_id
from shopcall.db.models import App, AuditEntry, Recording
from shopcall.recording import retention as retention_mod
from shopcall.recording.retention import RetentionReport, retention_loop, run_retention
from shopcall.recording.storage import LocalStorage, recording_key
from shopcall.rooms.apps import create_app
from shopcall.rooms.store import RoomStore

NOW = datetime(2026, 6, 1, 12, 0, 0)


def _app(db: Database, name: str, retention_days: int | None, region: str = "eu") -> str:
    app, _ = create_app(db, name)
    with db.session() as s:
        s.execute(update(App).where(App.id == app.id).values(retention_days=retention_days, region=region))
    return app.id


def _recording(db: Database, storage: LocalStorage, raw_root: Path, app_id: str, age_days: float,
               status: str = "ready", raw_root_override: Path | None = None) -> tuple[str, str, Path]:
    """A recording row with its composite object in storage and a raw folder with track files."""
    room = RoomStore(db).create_room(app_id)
    rec_id = new_id("rec")
    key = recording_key(app_id, "eu", rec_id, "composite.webm")
    composite = raw_root.parent / f"{rec_id}.webm"
    composite.write_bytes(b"C" * 1000)
    storage.put_file(key, composite, "video/webm")
    folder = (raw_root_override or raw_root) / rec_id
    folder.mkdir(parents=True)
    (folder / "agent-video.mjr").write_bytes(b"v" * 300)
    (folder / "agent-audio.mjr").write_bytes(b"a" * 200)
    with db.session() as s:
        s.add(Recording(id=rec_id, app_id=app_id, room_id=room.id, region="eu", status=status,
                        started_at=NOW - timedelta(days=age_days), folder=str(folder), storage_key=key,
                        size_bytes=1000))
    return rec_id, key, folder


def _rows(db: Database) -> set[str]:
    with db.session() as s:
        return set(s.scalars(select(Recording.id)))


def _audit(db: Database, action: str) -> list[AuditEntry]:
    with db.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


@pytest.fixture
def env(tmp_path: Path) -> tuple[LocalStorage, Path]:
    raw_root = tmp_path / "data" / "recordings-raw"
    raw_root.mkdir(parents=True)
    return LocalStorage(tmp_path / "data" / "recordings"), raw_root


def test_deletes_what_expired_and_nothing_else(db: Database, env: tuple[LocalStorage, Path]) -> None:
    storage, raw_root = env
    a = _app(db, "Shop A", 30)
    b = _app(db, "Shop B", None)
    old_a, old_a_key, old_a_dir = _recording(db, storage, raw_root, a, 31, status="failed")  # any status
    new_a, new_a_key, new_a_dir = _recording(db, storage, raw_root, a, 29)
    old_b, old_b_key, old_b_dir = _recording(db, storage, raw_root, b, 400)

    report = run_retention(db, storage, now=NOW, raw_root=raw_root)

    assert report == RetentionReport(deleted=[old_a], failed={}, bytes_freed=1000 + 300 + 200)
    assert _rows(db) == {new_a, old_b}
    assert not storage.exists(old_a_key) and not old_a_dir.exists()
    for key, folder in ((new_a_key, new_a_dir), (old_b_key, old_b_dir)):
        assert storage.exists(key) and folder.is_dir() and len(list(folder.iterdir())) == 2

    [entry] = _audit(db, "recording.deleted")
    assert entry.app_id == a and entry.actor == "retention"
    d = entry.details
    assert d["recording_id"] == old_a and d["reason"] == "retention" and d["retention_days"] == 30
    assert d["storage_key"] == old_a_key and d["bytes_freed"] == 1500 and d["region"] == "eu"
    assert d["room_id"] and d["started_at"] == (NOW - timedelta(days=31)).isoformat()
    assert _audit(db, "recording.delete_failed") == []

    # A second run (an hour later, aware "now") finds nothing more to do.
    again = run_retention(db, storage, now=(NOW + timedelta(hours=1)).replace(tzinfo=UTC), raw_root=raw_root)
    assert again == RetentionReport() and _rows(db) == {new_a, old_b}


class FlakyStorage(LocalStorage):
    """Local storage whose deletes fail for chosen keys, like an object store that is down or denies access."""

    def __init__(self, root: Path, failing: set[str]) -> None:
        super().__init__(root)
        self.failing = failing

    def delete(self, key: str) -> bool:
        if key in self.failing:
            raise OSError("object store unavailable")
        return super().delete(key)


def test_storage_failure_keeps_row_and_audits(db: Database, env: tuple[LocalStorage, Path]) -> None:
    storage, raw_root = env
    a = _app(db, "Shop A", 30)
    bad, bad_key, bad_dir = _recording(db, storage, raw_root, a, 45)
    good, good_key, _ = _recording(db, storage, raw_root, a, 40)
    flaky = FlakyStorage(storage.root, {bad_key})

    report = run_retention(db, flaky, now=NOW, raw_root=raw_root, actor="ops:nightly")

    assert report.deleted == [good] and list(report.failed) == [bad]
    assert "object store unavailable" in report.failed[bad]
    assert _rows(db) == {bad}  # kept, with its files, so the next run can retry
    assert storage.exists(bad_key) and bad_dir.is_dir() and not storage.exists(good_key)
    [failed] = _audit(db, "recording.delete_failed")
    assert failed.app_id == a and failed.actor == "ops:nightly"
    assert failed.details["recording_id"] == bad and "object store unavailable" in failed.details["error"]
    assert [e.details["recording_id"] for e in _audit(db, "recording.deleted")] == [good]

    # Once the store is back, the next run finishes the job.
    assert run_retention(db, storage, now=NOW, raw_root=raw_root).deleted == [bad]
    assert _rows(db) == set() and not storage.exists(bad_key) and not bad_dir.exists()


def test_raw_folder_outside_raw_root_is_never_deleted(db: Database, env: tuple[LocalStorage, Path],
                                                      tmp_path: Path) -> None:
    storage, raw_root = env
    a = _app(db, "Shop A", 7)
    elsewhere = tmp_path / "somewhere-else"
    rec, key, folder = _recording(db, storage, raw_root, a, 10, raw_root_override=elsewhere)

    report = run_retention(db, storage, now=NOW, raw_root=raw_root)

    assert report.deleted == [] and "not inside" in report.failed[rec]
    assert folder.is_dir() and storage.exists(key) and _rows(db) == {rec}  # nothing touched, not even the object
    assert _audit(db, "recording.delete_failed")[0].details["recording_id"] == rec


def test_zero_retention_is_ignored(db: Database, env: tuple[LocalStorage, Path]) -> None:
    storage, raw_root = env
    a = _app(db, "Shop A", 0)
    rec, key, _ = _recording(db, storage, raw_root, a, 5)
    assert run_retention(db, storage, now=NOW, raw_root=raw_root) == RetentionReport()
    assert _rows(db) == {rec} and storage.exists(key)


async def test_loop_survives_errors_and_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    stop = asyncio.Event()

    def fake_run(db: Any, storage: Any, **kw: Any) -> RetentionReport:
        calls.append(kw)
        if len(calls) == 1:
            raise RuntimeError("database briefly down")
        stop.set()
        return RetentionReport()

    monkeypatch.setattr(retention_mod, "run_retention", fake_run)
    await asyncio.wait_for(retention_loop(object(), object(), interval_s=0.01, stop_event=stop,  # type: ignore[arg-type]
                                          raw_root=Path("/x")), timeout=5)
    assert len(calls) == 2 and calls[0]["raw_root"] == Path("/x")
