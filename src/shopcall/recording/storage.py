"""Where finished recordings live: one interface, a local folder by default, S3-compatible storage in production.

Callers (the post-processing worker, playback, retention) only see `RecordingStorage`, so a
deployment can move recordings to object storage by configuration alone. Keys are relative,
slash-separated paths built by `recording_key`, which puts the app's data region first so
per-region buckets, lifecycle rules or replication can be scoped by prefix.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any, Protocol, runtime_checkable

CHUNK = 256 * 1024  # read size when streaming a range: small enough for steady playback, big enough to be cheap
MiB = 1024 * 1024


class RecordingNotFound(FileNotFoundError):
    """The key does not exist in the storage."""


class RangeNotSatisfiable(ValueError):
    """The requested start is past the end of the object; `total` lets the server answer 416 correctly."""

    def __init__(self, key: str, start: int, total: int) -> None:
        super().__init__(f"range start {start} is not inside {key!r} ({total} bytes)")
        self.total = total


@runtime_checkable
class RecordingStorage(Protocol):
    """What the rest of ShopCall may do with stored recordings."""

    name: str

    def put_file(self, key: str, path: Path, content_type: str = "video/webm") -> int:
        """Store the file under `key` and return the bytes stored; a partial upload never appears under `key`."""
        ...

    def open_range(self, key: str, start: int = 0, end: int | None = None) -> tuple[Iterator[bytes], int]:
        """Stream bytes `start`..`end` (inclusive, as in HTTP Range; None = to the end) and the object's total size.

        `end` past the last byte is clamped. Raises RecordingNotFound, or RangeNotSatisfiable if `start` is not
        inside a non-empty object.
        """
        ...

    def size(self, key: str) -> int | None:
        """Size in bytes, or None if the key does not exist."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> bool:
        """Delete the object; True if it existed. Errors other than "not there" raise (retention reports them)."""
        ...

    def presigned_url(self, key: str, expires_s: int = 3600) -> str | None:
        """A time-limited direct download URL, or None when the server must stream the object itself."""
        ...


def check_key(key: str) -> str:
    """Reject keys that could escape the storage root or alias other keys (`..`, absolute, empty segments)."""
    if not isinstance(key, str) or not key or len(key) > 900:
        raise ValueError("a storage key must be a non-empty string of at most 900 characters")
    if "\\" in key or "\x00" in key:
        raise ValueError(f"invalid storage key {key!r}: backslashes and NUL are not allowed")
    if key.startswith("/"):
        raise ValueError(f"invalid storage key {key!r}: absolute keys are not allowed")
    parts = key.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid storage key {key!r}: empty, '.' and '..' segments are not allowed")
    return key


def recording_key(app_id: str, region: str, recording_id: str, filename: str) -> str:
    """`<region>/<app_id>/<recording_id>/<filename>`: region first so storage can be split or governed per region."""
    for label, part in (("app_id", app_id), ("region", region), ("recording_id", recording_id),
                        ("filename", filename)):
        if not part or "/" in part or part in (".", ".."):
            raise ValueError(f"invalid {label} for a recording key: {part!r}")
    return check_key(f"{region}/{app_id}/{recording_id}/{filename}")


def _range_bounds(key: str, start: int, end: int | None, total: int) -> tuple[int, int]:
    """Validate a range against `total` and return (start, inclusive end clamped to the object)."""
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"invalid byte range {start}-{end}")
    if total == 0 and start == 0:
        return 0, -1  # empty object, empty body
    if start >= total:
        raise RangeNotSatisfiable(key, start, total)
    last = total - 1 if end is None else min(end, total - 1)
    return start, last


class LocalStorage:
    """Files under `root`, one per key. Used by default and in single-machine deployments."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def path_for(self, key: str) -> Path:
        """The file for `key`, guaranteed to be inside `root` (also against symlinked folders)."""
        p = (self.root / PurePosixPath(check_key(key))).resolve()
        if not p.is_relative_to(self.root) or p == self.root:
            raise ValueError(f"invalid storage key {key!r}: resolves outside the storage root")
        return p

    def put_file(self, key: str, path: Path, content_type: str = "video/webm") -> int:
        """Copy to a temp file in the target folder, fsync, then os.replace: readers see the old or the new file."""
        target = self.path_for(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".upload-", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with open(path, "rb") as src, os.fdopen(fd, "wb") as dst:
                shutil.copyfileobj(src, dst, length=MiB)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return target.stat().st_size

    def open_range(self, key: str, start: int = 0, end: int | None = None) -> tuple[Iterator[bytes], int]:
        p = self.path_for(key)
        try:
            total = p.stat().st_size
        except FileNotFoundError:
            raise RecordingNotFound(key) from None
        first, last = _range_bounds(key, start, end, total)
        return _read_file(p, first, last - first + 1), total

    def size(self, key: str) -> int | None:
        p = self.path_for(key)
        try:
            st = p.stat()
        except FileNotFoundError:
            return None
        return st.st_size if p.is_file() else None

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def delete(self, key: str) -> bool:
        """Remove the file, and its folder if that is now empty (a recording's folder goes with its last file).

        Only the immediate folder is pruned: shared parents (region, app) stay, so a concurrent upload
        into a sibling folder never finds its parent removed under it.
        """
        p = self.path_for(key)
        try:
            p.unlink()
        except FileNotFoundError:
            return False
        if p.parent != self.root:
            try:
                p.parent.rmdir()
            except OSError:
                pass  # not empty, or already gone
        return True

    def presigned_url(self, key: str, expires_s: int = 3600) -> str | None:
        return None  # no direct URL: the server streams local files with open_range


def _read_file(path: Path, start: int, length: int) -> Iterator[bytes]:
    """Opened lazily so an unconsumed iterator holds no file handle."""
    if length <= 0:
        return
    with open(path, "rb") as f:
        f.seek(start)
        remaining = length
        while remaining > 0:
            chunk = f.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk


class S3Storage:
    """An S3-compatible bucket (AWS S3, MinIO, Ceph, ...). Keys are stored under an optional `prefix`.

    Timeouts and retries are explicit so a slow or flaky object store fails a step (which the worker
    retries) instead of hanging a thread forever. Uploads go through boto3's managed transfer: large
    files use multipart, and an object only becomes visible when the upload completes.
    """

    name = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        prefix: str = "",
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_attempts: int = 5,
        multipart_threshold: int = 16 * MiB,
        multipart_chunksize: int = 16 * MiB,
        sse: str = "",
        sse_kms_key_id: str | None = None,
    ) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        if not bucket:
            raise ValueError("S3 storage needs a bucket name")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if self.prefix:
            check_key(self.prefix)
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"total_max_attempts": max_attempts, "mode": "standard"},  # attempts incl. the first
            signature_version="s3v4",
            # Custom endpoints (MinIO, moto, Ceph) rarely have wildcard DNS for virtual-hosted buckets.
            s3={"addressing_style": "path" if endpoint_url else "auto"},
        )
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            config=config,
        )
        # Server-side encryption asked of the bucket on every upload (on top of ShopCall's own encryption).
        self.extra: dict[str, str] = {"ServerSideEncryption": sse} if sse else {}
        if sse == "aws:kms" and sse_kms_key_id:
            self.extra["SSEKMSKeyId"] = sse_kms_key_id
        self.transfer = TransferConfig(multipart_threshold=multipart_threshold, multipart_chunksize=multipart_chunksize)

    def object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_file(self, key: str, path: Path, content_type: str = "video/webm") -> int:
        """Upload, then confirm the stored size matches the file (a truncated object is an error, not a success)."""
        obj = self.object_key(key)
        expected = Path(path).stat().st_size
        self.client.upload_file(str(path), self.bucket, obj, ExtraArgs={"ContentType": content_type, **self.extra},
                                Config=self.transfer)
        stored = self.size(key)
        if stored != expected:
            raise OSError(f"S3 object {obj!r} has {stored} bytes after upload, expected {expected}")
        return stored

    def open_range(self, key: str, start: int = 0, end: int | None = None) -> tuple[Iterator[bytes], int]:
        from botocore.exceptions import ClientError

        if start < 0 or (end is not None and end < start):
            raise ValueError(f"invalid byte range {start}-{end}")
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self.object_key(key)}
        if start > 0 or end is not None:
            args["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            resp = self.client.get_object(**args)
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise RecordingNotFound(key) from None
            if code == "InvalidRange":
                total = self.size(key)
                if total is None:
                    raise RecordingNotFound(key) from None
                if total == 0 and start == 0:
                    return iter(()), 0  # empty object: same answer as LocalStorage
                raise RangeNotSatisfiable(key, start, total) from None
            raise
        content_range = resp.get("ContentRange")  # "bytes 0-99/1234" when a range was asked
        total = int(content_range.rsplit("/", 1)[1]) if content_range else int(resp["ContentLength"])
        return _iter_body(resp["Body"]), total

    def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(head["ContentLength"])

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def delete(self, key: str) -> bool:
        """S3 deletes are idempotent and do not say whether anything was there, so ask first."""
        existed = self.exists(key)
        if existed:
            self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))
        return existed

    def presigned_url(self, key: str, expires_s: int = 3600) -> str | None:
        return str(self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self.object_key(key)}, ExpiresIn=int(expires_s)))


def _iter_body(body: Any) -> Iterator[bytes]:
    """Stream the response body and always release the HTTP connection, even if the reader stops early."""
    try:
        yield from body.iter_chunks(CHUNK)
    finally:
        body.close()


def _setting(settings: Any, name: str, default: Any = None) -> Any:
    if isinstance(settings, Mapping):
        value = settings.get(name, default)
    else:
        value = getattr(settings, name, default)
    if hasattr(value, "get_secret_value"):  # pydantic SecretStr (s3_secret_key in Settings)
        value = value.get_secret_value()
    return default if value is None else value


def storage_from_settings(settings: Any) -> RecordingStorage:
    """Build the configured storage from Settings (or any mapping/object with the same names).

    `recording_storage` = "local" (default: `<data_dir>/recordings`) or "s3" (`s3_bucket` required;
    `s3_endpoint_url`, `s3_region`, `s3_access_key`, `s3_secret_key` optional: without keys boto3's
    usual credential chain applies, e.g. an instance role).
    """
    kind = str(_setting(settings, "recording_storage", "local")).strip().lower()
    if kind == "local":
        return LocalStorage(Path(_setting(settings, "data_dir", Path("./data"))) / "recordings")
    if kind == "s3":
        bucket = _setting(settings, "s3_bucket", "")
        if not bucket:
            raise ValueError("recording_storage is 's3' but no s3_bucket (SHOPCALL_S3_BUCKET) is set")
        return S3Storage(
            bucket,
            endpoint_url=_setting(settings, "s3_endpoint_url"),
            region=_setting(settings, "s3_region"),
            access_key=_setting(settings, "s3_access_key"),
            secret_key=_setting(settings, "s3_secret_key"),
            prefix=_setting(settings, "s3_prefix", ""),
            sse=_setting(settings, "s3_sse", ""),
            sse_kms_key_id=_setting(settings, "s3_sse_kms_key_id"),
        )
    raise ValueError(f"unknown recording_storage {kind!r} (expected 'local' or 's3')")
