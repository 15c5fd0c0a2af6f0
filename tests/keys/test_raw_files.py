"""Raw per-track files are sealed at rest by the worker: it processes decrypted copies, and a failed recording
keeps only sealed files (real worker, real database, real files)."""

from __future__ import annotations

from pathlib import Path

from shopcall.db.engine import Database
from shopcall.db.models import Recording
from shopcall.keys.keyring import Keyring, load_master_key
from shopcall.recording.encryption import MAGIC, open_folder, seal_folder
from shopcall.recording.storage import LocalStorage
from shopcall.recording.worker import RecordingWorker
from shopcall.rooms.apps import create_app
from shopcall.rooms.store import RoomStore


def test_seal_and_open_round_trip(db: Database, tmp_path: Path) -> None:
    app, _ = create_app(db, "Shop")
    keyring = Keyring(db, load_master_key(tmp_path))
    raw = tmp_path / "raw" / "rec_1"
    raw.mkdir(parents=True)
    blobs = {"pa-audio.mjr": b"MJR00002" + bytes(range(256)) * 700, "pa-video.mjr": b"MJR00002" + b"v" * 10}
    for name, data in blobs.items():
        (raw / name).write_bytes(data)
    assert seal_folder(raw, app.id, keyring) == 2
    assert sorted(p.name for p in raw.iterdir()) == ["pa-audio.mjr.enc", "pa-video.mjr.enc"]
    assert all(p.read_bytes().startswith(MAGIC) for p in raw.iterdir())
    out = tmp_path / "work"
    out.mkdir()
    assert open_folder(raw, out, keyring) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == blobs


def test_opening_a_folder_brings_its_side_files(db: Database, tmp_path: Path) -> None:
    """`<feed>.media.json` says which audio tracks carry RED; without it the processing copy's audio
    converts to noise (the recording e2e test heard silence)."""
    app, _ = create_app(db, "Shop")
    keyring = Keyring(db, load_master_key(tmp_path))
    raw = tmp_path / "raw" / "rec_1"
    raw.mkdir(parents=True)
    (raw / "pa-audio.mjr").write_bytes(b"MJR00002" + b"a" * 50)
    (raw / "pa.media.json").write_text('{"red": [0]}')
    seal_folder(raw, app.id, keyring)
    out = tmp_path / "work"
    out.mkdir()
    open_folder(raw, out, keyring)
    assert sorted(p.name for p in out.iterdir()) == ["pa-audio.mjr", "pa.media.json"]
    assert (out / "pa.media.json").read_text() == '{"red": [0]}'


def test_a_failed_recording_keeps_only_sealed_raw_files(db: Database, tmp_path: Path) -> None:
    app, _ = create_app(db, "Shop")
    room = RoomStore(db).create_room(app.id)
    raw = tmp_path / "raw" / "rec_f"
    raw.mkdir(parents=True)
    (raw / "pa-audio.mjr").write_bytes(b"not really a janus recording" * 10)
    with db.session() as s:
        s.add(Recording(id="rec_f", app_id=app.id, room_id=room.id, status="processing", folder=str(raw),
                        duration_s=5.0))
    worker = RecordingWorker(db, LocalStorage(tmp_path / "store"), retry_delays=(),
                             raw_keys=Keyring(db, load_master_key(tmp_path)))
    app_id, event, _ = worker.process("rec_f")
    assert event == "recording.failed"
    assert [p.name for p in raw.iterdir()] == ["pa-audio.mjr.enc"]  # nothing in clear at rest
    assert [p.name for p in raw.parent.iterdir()] == ["rec_f"]  # the decrypted work copy is gone
