"""Data regions for recordings: every key starts with its app's region (`recording_key`), and
`RegionalStorage` sends it to that region's storage only, so an app's recordings are never written
outside its region. A key naming a region the operator did not configure is refused, not stored elsewhere.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from shopcall.db.engine import Database
from shopcall.recording.storage import (
    LocalStorage,
    RecordingStorage,
    S3Storage,
    check_key,
    recording_key,
    storage_from_settings,
)
from shopcall.recording.store import BUSY, RecordingStore

DEFAULT_REGION = "local"


class RegionNotConfigured(ValueError):
    """A key names a region that has no storage on this server."""


def region_storage(region: Any, data_dir: Path, fallback: Mapping[str, Any]) -> RecordingStorage:
    """The storage of one configured region (`config.RegionConfig`); `fallback` gives the S3 encryption settings."""
    if region.storage == "s3":
        secret = region.s3_secret_key.get_secret_value() if region.s3_secret_key is not None else None
        return S3Storage(region.s3_bucket, endpoint_url=region.s3_endpoint_url, region=region.s3_region,
                         access_key=region.s3_access_key, secret_key=secret, prefix=region.s3_prefix,
                         sse=fallback.get("s3_sse") or "", sse_kms_key_id=fallback.get("s3_sse_kms_key_id"))
    return LocalStorage(Path(region.local_dir) if region.local_dir is not None else data_dir / "recordings")


class RegionalStorage:
    """Routes each key to the storage of the region it starts with."""

    name = "regional"

    def __init__(self, regions: Mapping[str, RecordingStorage]) -> None:
        self.regions = dict(regions)

    def for_key(self, key: str) -> RecordingStorage:
        region = check_key(key).split("/", 1)[0]
        found = self.regions.get(region)
        if found is None:
            raise RegionNotConfigured(f"region {region!r} has no storage on this server (configured: "
                                      f"{', '.join(sorted(self.regions))})")
        return found

    def put_file(self, key: str, path: Path, content_type: str = "video/webm") -> int:
        return self.for_key(key).put_file(key, path, content_type)

    def open_range(self, key: str, start: int = 0, end: int | None = None) -> tuple[Iterator[bytes], int]:
        return self.for_key(key).open_range(key, start, end)

    def size(self, key: str) -> int | None:
        return self.for_key(key).size(key)

    def exists(self, key: str) -> bool:
        return self.for_key(key).exists(key)

    def delete(self, key: str) -> bool:
        return self.for_key(key).delete(key)

    def presigned_url(self, key: str, expires_s: int = 3600) -> str | None:
        return self.for_key(key).presigned_url(key, expires_s)


def regional_storage_from_settings(settings: Mapping[str, Any], regions: Mapping[str, Any]) -> RecordingStorage:
    """The storage for every region: `local` is `recording_storage` unless configured; without configured
    regions this is just the plain storage."""
    base = storage_from_settings(settings)
    if not regions:
        return base
    data_dir = Path(settings.get("data_dir") or "./data")
    by_region: dict[str, RecordingStorage] = {DEFAULT_REGION: base}
    for name, cfg in regions.items():
        by_region[name] = region_storage(cfg, data_dir, settings)
    return RegionalStorage(by_region)


class MigrationRefused(RuntimeError):
    """A recording of the app is still being made or processed: migrate when it is done."""


def migrate_recordings(db: Database, storage: RecordingStorage, app_id: str, region: str,
                       actor: str = "cli") -> dict[str, Any]:
    """Copy every recording of the app stored outside `region` into it (re-encrypted with the app's current
    key), check the copy's size, point the row at it, then delete the original. Returns the report.

    Refuses (MigrationRefused) while a recording is busy. Each recording is moved on its own: an error
    leaves that one where it was (its original is deleted only after the row points to the copy)."""
    store = RecordingStore(db)
    found = store.stored_elsewhere(app_id, region)
    busy = [rec_id for rec_id, status, _ in found if status in BUSY]
    if busy:
        raise MigrationRefused(f"{len(busy)} recording(s) are still being made or processed: {', '.join(busy)}")
    report: dict[str, Any] = {"region": region, "moved": [], "bytes": 0, "failed": {}}
    for rec_id, _status, key in found:
        try:
            if key is None:  # nothing stored (a failed recording): only the row moves
                store.relocate(rec_id, region=region, storage_key=None, actor=actor)
                report["moved"].append(rec_id)
                continue
            new_key = recording_key(app_id, region, rec_id, key.rsplit("/", 1)[-1])
            with tempfile.TemporaryDirectory(prefix="shopcall-move-") as tmp:
                local = Path(tmp) / "object"
                chunks, total = storage.open_range(key)
                with open(local, "wb") as f:
                    for chunk in chunks:
                        f.write(chunk)
                stored = storage.put_file(new_key, local, "video/mp4")
            if stored != total or storage.size(new_key) != total:
                raise OSError(f"the copy has {stored} bytes, the original {total}")
            store.relocate(rec_id, region=region, storage_key=new_key, actor=actor)
            storage.delete(key)
            report["moved"].append(rec_id)
            report["bytes"] += total
        except Exception as e:  # reported; the recording stays where it was
            report["failed"][rec_id] = f"{type(e).__name__}: {e}"
    return report
