"""Recordings encrypted at rest: the stored bytes are not media, the API plays them (with Range requests),
and rotating the app key keeps older recordings playable. Real files, real ffmpeg/ffprobe, real database."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shopcall.api.deps import services_of
from shopcall.cli import app as cli
from shopcall.db.engine import Database
from shopcall.db.models import Recording, Room
from shopcall.keys.keyring import KeyNotFound, Keyring, load_master_key
from shopcall.recording.encryption import CHUNK, MAGIC, EncryptedStorage, parse_header
from shopcall.recording.storage import LocalStorage, recording_key
from shopcall.rooms.apps import create_app as create_tenant


@pytest.fixture(scope="module")
def mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 2 s H.264 MP4 (a few hundred KB, several encryption chunks)."""
    out = tmp_path_factory.mktemp("media") / "clip.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
                    "-f", "lavfi", "-i", "sine=frequency=440", "-t", "2", "-c:v", "libx264", "-preset", "ultrafast",
                    "-b:v", "1M", "-c:a", "aac", "-shortest", str(out)], check=True, timeout=60)
    return out


def _ffprobe_ok(path: Path) -> bool:
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                       capture_output=True, text=True, timeout=30)
    return r.returncode == 0 and bool(r.stdout.strip())


def _read(storage: EncryptedStorage, key: str, start: int = 0, end: int | None = None) -> bytes:
    chunks, _ = storage.open_range(key, start, end)
    return b"".join(chunks)


def test_stored_bytes_are_ciphertext_and_every_range_decrypts(db: Database, tmp_path: Path, mp4: Path) -> None:
    tenant, _ = create_tenant(db, "Shop")
    inner = LocalStorage(tmp_path / "store")
    st = EncryptedStorage(inner, Keyring(db, load_master_key(tmp_path)))
    key = recording_key(tenant.id, "local", "rec_1", "composite.mp4")
    plain = mp4.read_bytes()
    assert len(plain) > 2 * CHUNK
    assert st.put_file(key, mp4, "video/mp4") == len(plain)
    stored = inner.path_for(key)
    raw = stored.read_bytes()
    assert raw.startswith(MAGIC) and plain[:4096] not in raw and not _ffprobe_ok(stored)
    assert st.size(key) == len(plain) and inner.size(key) == len(raw)
    assert _read(st, key) == plain
    n = len(plain)
    for a, b in [(0, 0), (0, 99), (CHUNK - 1, CHUNK), (CHUNK, 2 * CHUNK - 1), (12345, 3 * CHUNK + 7),
                 (n - 1, n - 1), (n - 100, None), (5, n + 1000)]:
        assert _read(st, key, a, b) == plain[a:(n if b is None else b + 1)], (a, b)
    header = parse_header(raw)
    assert header is not None and header.app_id == tenant.id and header.kv == 1


def test_tampering_and_the_wrong_master_key_fail(db: Database, tmp_path: Path, mp4: Path) -> None:
    tenant, _ = create_tenant(db, "Shop")
    inner = LocalStorage(tmp_path / "store")
    st = EncryptedStorage(inner, Keyring(db, load_master_key(tmp_path)))
    key = recording_key(tenant.id, "local", "rec_t", "composite.mp4")
    st.put_file(key, mp4)
    path = inner.path_for(key)
    raw = bytearray(path.read_bytes())
    raw[-(CHUNK // 2)] ^= 1  # one bit in the last chunk
    path.write_bytes(bytes(raw))
    assert len(_read(st, key, 0, 100)) == 101  # untouched chunks still read
    with pytest.raises(InvalidTag):
        _read(st, key)
    stranger = EncryptedStorage(inner, Keyring(db, b"\x01" * 32))
    with pytest.raises(KeyNotFound):
        _read(stranger, key, 0, 10)


def test_objects_stored_before_encryption_are_served_as_they_are(db: Database, tmp_path: Path, mp4: Path) -> None:
    tenant, _ = create_tenant(db, "Shop")
    inner = LocalStorage(tmp_path / "store")
    key = recording_key(tenant.id, "local", "rec_old", "composite.mp4")
    inner.put_file(key, mp4)
    st = EncryptedStorage(inner, Keyring(db, load_master_key(tmp_path)))
    assert _read(st, key, 10, 20) == mp4.read_bytes()[10:21] and st.size(key) == mp4.stat().st_size


def test_master_key_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPCALL_MASTER_KEY", base64.b64encode(b"k" * 32).decode())
    assert load_master_key(tmp_path) == b"k" * 32 and not (tmp_path / "master.key").exists()
    monkeypatch.setenv("SHOPCALL_MASTER_KEY", base64.b64encode(b"short").decode())
    with pytest.raises(ValueError):
        load_master_key(tmp_path)
    monkeypatch.delenv("SHOPCALL_MASTER_KEY")
    key = load_master_key(tmp_path)
    assert (tmp_path / "master.key").stat().st_mode & 0o777 == 0o600 and load_master_key(tmp_path) == key


def _add_recording(client: TestClient, app_id: str, rec_id: str, src: Path) -> None:
    svc = services_of(client.app)
    key = recording_key(app_id, "local", rec_id, "composite.mp4")
    size = svc.storage.put_file(key, src, "video/mp4")
    with svc.db.session() as s:
        s.add(Room(id=f"room_{rec_id}", app_id=app_id))
        s.flush()
        s.add(Recording(id=rec_id, app_id=app_id, room_id=f"room_{rec_id}", status="ready", storage_key=key,
                        size_bytes=size, duration_s=2.0))


def test_playback_through_the_api_with_ranges_and_rotation(client, tenant, mp4: Path, tmp_path: Path) -> None:
    svc = services_of(client.app)
    plain = mp4.read_bytes()
    _add_recording(client, tenant.id, "rec_a", mp4)
    stored = svc.settings.data_dir / "recordings" / "local" / tenant.id / "rec_a" / "composite.mp4"
    assert stored.is_file() and not _ffprobe_ok(stored)  # ciphertext at rest

    url = "/v1/recordings/rec_a/media"
    whole = client.get(url, auth=tenant.auth)
    assert whole.status_code == 200 and whole.content == plain
    got = tmp_path / "played.mp4"
    got.write_bytes(whole.content)
    assert _ffprobe_ok(got)
    r = client.get(url, auth=tenant.auth, headers={"Range": f"bytes={CHUNK - 10}-{2 * CHUNK + 10}"})
    assert r.status_code == 206 and r.content == plain[CHUNK - 10:2 * CHUNK + 11]
    assert r.headers["content-range"] == f"bytes {CHUNK - 10}-{2 * CHUNK + 10}/{len(plain)}"
    r = client.get(url, auth=tenant.auth, headers={"Range": "bytes=-500"})
    assert r.status_code == 206 and r.content == plain[-500:]
    assert client.get(url, auth=tenant.auth, headers={"Range": f"bytes={len(plain)}-"}).status_code == 416

    # rotate the app's key from the CLI: new recordings use version 2, the old one still plays
    res = CliRunner().invoke(cli, ["keys", "rotate", "--app", tenant.id, "--data-dir", str(svc.settings.data_dir)],
                             env={"SHOPCALL_DATABASE_URL": svc.settings.db_url})
    assert res.exit_code == 0 and "version 2" in res.stdout, res.output
    _add_recording(client, tenant.id, "rec_b", mp4)
    new = svc.settings.data_dir / "recordings" / "local" / tenant.id / "rec_b" / "composite.mp4"
    old_header, new_header = parse_header(stored.read_bytes()), parse_header(new.read_bytes())
    assert old_header is not None and new_header is not None and (old_header.kv, new_header.kv) == (1, 2)
    for rec in ("rec_a", "rec_b"):
        r = client.get(f"/v1/recordings/{rec}/media", auth=tenant.auth, headers={"Range": "bytes=1000-70000"})
        assert r.status_code == 206 and r.content == plain[1000:70001]
