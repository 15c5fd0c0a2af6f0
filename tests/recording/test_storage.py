"""Both storage backends honour one contract; S3 runs against moto's real HTTP server (no mocks in-process)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from shopcall.config import Settings
from shopcall.recording import storage as storage_mod
from shopcall.recording.storage import (
    LocalStorage,
    RangeNotSatisfiable,
    RecordingNotFound,
    RecordingStorage,
    S3Storage,
    recording_key,
    storage_from_settings,
)

MiB = 1024 * 1024
REGION = "eu-central-1"
CREDS = {"access_key": "testing", "secret_key": "testing"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto in server mode on a free loopback port: boto3 talks real HTTP to it, like to MinIO or AWS."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _new_bucket(endpoint: str) -> str:
    name = "rec-" + secrets.token_hex(6)
    client = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


def _s3(endpoint: str, **kw: object) -> S3Storage:
    return S3Storage(_new_bucket(endpoint), endpoint_url=endpoint, region=REGION, **CREDS, **kw)  # type: ignore[arg-type]


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> RecordingStorage:
    if request.param == "local":
        return LocalStorage(tmp_path / "store")
    return _s3(request.getfixturevalue("s3_endpoint"), prefix="tenant-data")


def _file(tmp_path: Path, data: bytes, name: str = "in.webm") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def _read(storage: RecordingStorage, key: str, start: int = 0, end: int | None = None) -> tuple[bytes, int]:
    chunks, total = storage.open_range(key, start, end)
    return b"".join(chunks), total


# ---- the common contract ---------------------------------------------------------------------------------------


def test_contract_put_size_range_delete(storage: RecordingStorage, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    key = recording_key("app_1", "eu", "rec_1", "composite.webm")
    assert key == "eu/app_1/rec_1/composite.webm"
    assert isinstance(storage, RecordingStorage)

    assert storage.put_file(key, _file(tmp_path, data), "video/webm") == len(data)
    assert storage.exists(key) and storage.size(key) == len(data)
    assert _read(storage, key) == (data, len(data))
    assert _read(storage, key, 1000, 1999) == (data[1000:2000], len(data))  # end is inclusive, like HTTP
    assert _read(storage, key, 299_990) == (data[299_990:], len(data))
    assert _read(storage, key, 10, 10**9) == (data[10:], len(data))  # end past the object is clamped
    with pytest.raises(RangeNotSatisfiable) as e:
        storage.open_range(key, len(data), None)
    assert e.value.total == len(data)

    newer = b"v2" * 1000  # overwriting replaces the whole object
    assert storage.put_file(key, _file(tmp_path, newer, "v2.webm"), "video/webm") == len(newer)
    assert _read(storage, key) == (newer, len(newer))

    assert storage.delete(key) is True
    assert storage.delete(key) is False
    assert not storage.exists(key) and storage.size(key) is None
    with pytest.raises(RecordingNotFound):
        storage.open_range(key, 0, None)


def test_contract_empty_object(storage: RecordingStorage, tmp_path: Path) -> None:
    assert storage.put_file("r/a/x/empty.webm", _file(tmp_path, b""), "video/webm") == 0
    assert _read(storage, "r/a/x/empty.webm") == (b"", 0)


@pytest.mark.parametrize("bad", ["", "/abs/key", "../up", "a/../b", "a//b", "a/./b", "a/", "a\\b", "a\x00b"])
def test_contract_rejects_bad_keys(storage: RecordingStorage, tmp_path: Path, bad: str) -> None:
    src = _file(tmp_path, b"x")
    for call in (lambda: storage.put_file(bad, src, "video/webm"), lambda: storage.exists(bad),
                 lambda: storage.size(bad), lambda: storage.delete(bad), lambda: storage.open_range(bad, 0, None)):
        with pytest.raises(ValueError):
            call()


@pytest.mark.parametrize("parts", [("a/b", "eu", "r", "f"), ("a", "..", "r", "f"), ("a", "eu", "", "f")])
def test_recording_key_rejects_bad_parts(parts: tuple[str, str, str, str]) -> None:
    with pytest.raises(ValueError):
        recording_key(*parts)


# ---- S3 ----------------------------------------------------------------------------------------------------------


def test_s3_round_trip_multipart_range_presigned(s3_endpoint: str, tmp_path: Path) -> None:
    """A few-MB recording goes up in parts, comes back byte-exact whole and in ranges, and via a presigned URL."""
    st = _s3(s3_endpoint, multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    data = os.urandom(6 * MiB + 12_345)
    key = recording_key("app_x", "eu-central", "rec_x", "composite.mp4")

    assert st.put_file(key, _file(tmp_path, data, "c.mp4"), "video/mp4") == len(data)
    head = st.client.head_object(Bucket=st.bucket, Key=key)
    assert head["ETag"].strip('"').endswith("-2")  # really uploaded as a 2-part multipart upload
    assert head["ContentType"] == "video/mp4"
    assert st.size(key) == len(data) and st.exists(key)

    assert _read(st, key) == (data, len(data))
    boundary = 5 * MiB  # a range across the part boundary
    assert _read(st, key, boundary - 100, boundary + 99) == (data[boundary - 100:boundary + 100], len(data))
    assert _read(st, key, len(data) - 7) == (data[-7:], len(data))

    url = st.presigned_url(key, expires_s=120)
    assert url and "X-Amz-Signature" in url
    full = httpx.get(url, timeout=30)
    assert full.status_code == 200 and full.content == data
    part = httpx.get(url, headers={"Range": "bytes=100-199"}, timeout=30)  # <video> seeking on the direct URL
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"

    assert st.delete(key) is True
    assert not st.exists(key)
    assert httpx.get(url, timeout=30).status_code == 404


def test_s3_prefix_is_applied(s3_endpoint: str, tmp_path: Path) -> None:
    st = _s3(s3_endpoint, prefix="/shopcall/recordings/")
    st.put_file("eu/a/r/f.webm", _file(tmp_path, b"abc"), "video/webm")
    listed = st.client.list_objects_v2(Bucket=st.bucket)["Contents"]
    assert [o["Key"] for o in listed] == ["shopcall/recordings/eu/a/r/f.webm"]


def test_s3_client_has_explicit_timeouts_and_retries(s3_endpoint: str) -> None:
    st = _s3(s3_endpoint, connect_timeout=2, read_timeout=9, max_attempts=3)
    cfg = st.client.meta.config
    assert (cfg.connect_timeout, cfg.read_timeout) == (2, 9)
    assert cfg.retries["total_max_attempts"] == 3 and cfg.retries["mode"] == "standard"


# ---- local -------------------------------------------------------------------------------------------------------


def test_local_layout_and_no_presigned_url(tmp_path: Path) -> None:
    st = LocalStorage(tmp_path / "store")
    st.put_file("eu/app/rec/composite.webm", _file(tmp_path, b"hello"), "video/webm")
    assert (tmp_path / "store" / "eu" / "app" / "rec" / "composite.webm").read_bytes() == b"hello"
    assert st.presigned_url("eu/app/rec/composite.webm") is None
    st.delete("eu/app/rec/composite.webm")
    assert not (tmp_path / "store" / "eu" / "app" / "rec").exists()  # the emptied recording folder goes too
    assert (tmp_path / "store" / "eu" / "app").is_dir()  # shared parents stay


def test_local_rejects_symlink_escape(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "link").symlink_to(outside)
    st = LocalStorage(tmp_path / "store")
    with pytest.raises(ValueError):
        st.put_file("link/x.webm", _file(tmp_path, b"x"), "video/webm")
    assert list(outside.iterdir()) == []


def test_local_put_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy that dies half-way leaves neither the key nor a temp file; an existing object is untouched."""
    st = LocalStorage(tmp_path / "store")
    src = _file(tmp_path, os.urandom(3 * MiB))
    old = b"old complete recording"
    st.put_file("eu/a/r2/composite.webm", _file(tmp_path, old, "old.webm"), "video/webm")

    def dies_midway(fsrc, fdst, length=0):  # type: ignore[no-untyped-def]
        fdst.write(fsrc.read(MiB))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage_mod.shutil, "copyfileobj", dies_midway)
    with pytest.raises(OSError, match="No space left"):
        st.put_file("eu/a/r1/composite.webm", src, "video/webm")
    assert not st.exists("eu/a/r1/composite.webm")
    assert list((tmp_path / "store" / "eu" / "a" / "r1").iterdir()) == []  # no temp file left behind

    with pytest.raises(OSError, match="No space left"):
        st.put_file("eu/a/r2/composite.webm", src, "video/webm")
    assert _read(st, "eu/a/r2/composite.webm") == (old, len(old))
    assert [p.name for p in (tmp_path / "store" / "eu" / "a" / "r2").iterdir()] == ["composite.webm"]


# ---- configuration -----------------------------------------------------------------------------------------------


def test_storage_from_settings(tmp_path: Path, s3_endpoint: str) -> None:
    local = storage_from_settings(SimpleNamespace(data_dir=tmp_path))  # fields not added yet: local default
    assert isinstance(local, LocalStorage) and local.root == (tmp_path / "recordings").resolve()

    bucket = _new_bucket(s3_endpoint)
    s3 = storage_from_settings({"data_dir": tmp_path, "recording_storage": "s3", "s3_bucket": bucket,
                                "s3_endpoint_url": s3_endpoint, "s3_region": REGION,
                                "s3_access_key": "testing", "s3_secret_key": "testing"})
    assert isinstance(s3, S3Storage) and s3.bucket == bucket
    s3.put_file("eu/a/r/f.webm", _file(tmp_path, b"configured"), "video/webm")
    assert _read(s3, "eu/a/r/f.webm") == (b"configured", 10)

    real = Settings(data_dir=tmp_path, recording_storage="s3", s3_bucket=bucket, s3_endpoint_url=s3_endpoint,
                    s3_region=REGION, s3_access_key="testing", s3_secret_key="testing")  # SecretStr key
    via_settings = storage_from_settings(real)
    assert isinstance(via_settings, S3Storage)
    assert _read(via_settings, "eu/a/r/f.webm") == (b"configured", 10)

    with pytest.raises(ValueError, match="s3_bucket"):
        storage_from_settings({"recording_storage": "s3"})
    with pytest.raises(ValueError, match="unknown"):
        storage_from_settings({"recording_storage": "ftp"})
