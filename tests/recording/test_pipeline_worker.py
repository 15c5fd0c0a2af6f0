"""The post-processing pipeline on real ffmpeg output, and the worker's retry/report behaviour."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shopcall.db.models import Recording
from shopcall.recording import pipeline
from shopcall.recording.storage import LocalStorage
from shopcall.recording.store import RecordingStore
from shopcall.recording.worker import RecordingWorker
from shopcall.rooms.apps import create_app
from shopcall.rooms.store import RoomStore


def _media(tmp: Path, name: str, kind: str, seconds: float) -> Path:
    out = tmp / name
    src = (["-f", "lavfi", "-i", f"testsrc=size=640x480:rate=20:duration={seconds}", "-c:v", "libvpx", "-b:v", "300k"]
           if kind == "video" else
           ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}", "-c:a", "libopus"])
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", *src, str(out)], check=True)
    return out


def test_grid_cells_cover_the_canvas() -> None:
    assert pipeline.grid(1) == [(0, 0, 1280, 720)]
    assert pipeline.grid(2) == [(0, 0, 640, 720), (640, 0, 640, 720)]
    cells = pipeline.grid(5)
    assert len(cells) == 5 and all(w == 426 and h == 360 for _, _, w, h in cells)


def test_composite_places_late_tracks_and_verifies_duration(tmp_path: Path) -> None:
    start = 1_000_000_000
    tracks = [
        pipeline.Track(tmp_path / "a-video.mjr", "video", "vp8", "pa", start, _media(tmp_path, "a.webm", "video", 6)),
        pipeline.Track(tmp_path / "a-audio.mjr", "audio", "opus", "pa", start, _media(tmp_path, "a.opus", "audio", 6)),
        # a second participant who consented 2 s into the recording
        pipeline.Track(tmp_path / "b-video.mjr", "video", "vp8", "pb", start + 2_000_000,
                       _media(tmp_path, "b.webm", "video", 4)),
    ]
    seen: list[float] = []
    out = pipeline.composite(tracks, tmp_path / "out.mp4", duration_s=6.0, start_us=start, progress=seen.append)
    checked = pipeline.verify(out, duration_s=6.0)
    assert checked["video"] and checked["audio"] and abs(checked["duration_s"] - 6.0) <= 0.2
    assert seen and seen[-1] >= 0.9
    with pytest.raises(pipeline.StepError, match="recording ran 9.00 s"):
        pipeline.verify(out, duration_s=9.0)
    audio_only = pipeline.composite(tracks[1:2], tmp_path / "audio.mp4", duration_s=6.0, start_us=start)
    assert pipeline.verify(audio_only, duration_s=6.0)["video"]  # a black picture keeps players happy


def test_worker_retries_then_reports_a_failure(db, tmp_path: Path) -> None:
    app, _ = create_app(db, "Shop")
    room = RoomStore(db).create_room(app.id)
    folder = tmp_path / "raw" / "rec_x"
    folder.mkdir(parents=True)
    with db.session() as s:
        s.add(Recording(id="rec_x", app_id=app.id, room_id=room.id, status="processing", folder=str(folder),
                        duration_s=5.0))
    worker = RecordingWorker(db, LocalStorage(tmp_path / "store"), retry_delays=(0,))
    assert worker.process("rec_x") is None  # first failure: retried later
    with db.session() as s:
        row = s.get(Recording, "rec_x")
        assert row.status == "processing" and row.steps["scan"]["status"] == "retrying" and row.attempts == 1
    app_id, event, data = worker.process("rec_x")
    assert (app_id, event, data["attempts"]) == (app.id, "recording.failed", 2)
    assert "nothing was recorded" in data["error"]
    with db.session() as s:
        row = s.get(Recording, "rec_x")
        assert row.status == "failed" and "nothing was recorded" in row.error
    assert folder.exists()  # originals are never removed unless a composite was verified


def test_worker_drops_a_recording_deleted_while_it_was_processed(db, tmp_path: Path, monkeypatch) -> None:
    app, _ = create_app(db, "Shop")
    room = RoomStore(db).create_room(app.id)
    with db.session() as s:
        s.add(Recording(id="rec_y", app_id=app.id, room_id=room.id, status="processing", folder=str(tmp_path),
                        duration_s=5.0))

    def scan_then_deleted(folder: Path) -> list[pipeline.Track]:
        RecordingStore(db).delete("rec_y", actor="retention", details={})  # retention ran meanwhile
        return []

    monkeypatch.setattr(pipeline, "scan", scan_then_deleted)
    assert RecordingWorker(db, LocalStorage(tmp_path / "store"), retry_delays=(0,)).process("rec_y") is None
