"""Data regions for recordings: every key starts with its app's region (`recording_key`), and
`RegionalStorage` sends it to that region's storage only, so an app's recordings are never written
outside its region. A key naming a region the operator did not configure is refused, not stored elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from shopcall.recording.storage import LocalStorage, RecordingStorage, S3Storage, check_key, storage_from_settings

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
