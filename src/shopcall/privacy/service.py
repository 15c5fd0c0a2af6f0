"""Find one shopper in an app, export everything about them as a ZIP, or erase them.

The shopper is named by whatever the caller has: their signalling identity, the merchant's customer id,
or their email. Each source adds what it knows (a customer id leads to calls, calls to names and rooms,
a callback to an email) for a few rounds, so one name finds the rest. Everything is scoped to the app:
the same identity in another app is another person.
"""

from __future__ import annotations

import json
import secrets
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from shopcall.auth import audit
from shopcall.db.engine import Database
from shopcall.db.subject import Subject, SubjectSource
from shopcall.privacy.registry import sources
from shopcall.recording.storage import RecordingStorage
from shopcall.recording.subject_data import RecordingSubjectData

ROUNDS = 3
CHUNK = 256 * 1024


class SubjectNotFound(LookupError):
    """Nothing in the app names that shopper."""


@dataclass(frozen=True)
class ErasureReport:
    request: str  # the id in the audit log's `privacy.erased` entry
    removed: dict[str, int]  # "table.deleted" / "table.anonymised" / "recording_files.deleted" -> count
    recordings: str = "deleted whole (composites are not rebuilt without the shopper)"

    def as_dict(self) -> dict[str, Any]:
        return {"request": self.request, "removed": self.removed, "recordings": self.recordings}


class Privacy:
    def __init__(self, db: Database, storage: RecordingStorage, raw_root: Path | None = None) -> None:
        self.db = db
        self.sources: list[SubjectSource] = sources(db, storage, raw_root)
        self.recordings = RecordingSubjectData(db, storage, raw_root)  # the media files of the export

    def find(self, app_id: str, query: str) -> Subject:
        """The subject named by `query` (identity, customer id or email); SubjectNotFound if nothing names it."""
        query = query.strip()
        if not query or len(query) > 320 or any(ord(c) < 32 for c in query):  # NUL & co. name nobody
            raise SubjectNotFound(query)
        subject = Subject(app_id=app_id, query=query)
        for _ in range(ROUNDS):
            before = subject.size()
            for src in self.sources:
                src.identify(subject)
            if subject.size() == before:
                break
        if not subject.found():
            raise SubjectNotFound(query)
        return subject

    def export(self, subject: Subject, actor: str) -> IO[bytes]:
        """A ZIP (in a temporary file, rewound): `subject.json`, `tables/<table>.json` for every table of every
        source (empty ones too, so the reader sees what was looked at), `recordings/<id>.mp4`."""
        out = tempfile.TemporaryFile()
        counts: dict[str, int] = {}
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr("subject.json", json.dumps(_summary(subject), indent=2))
            for src in self.sources:
                for table, rows in src.export(subject).items():
                    counts[table] = len(rows)
                    z.writestr(f"tables/{table}.json", json.dumps(rows, indent=2, default=str))
            for rec_id, key in self.recordings.media(subject):
                with z.open(f"recordings/{rec_id}.mp4", "w", force_zip64=True) as f:
                    for chunk in self.recordings.read(key):
                        f.write(chunk)
        out.seek(0)
        audit.record(self.db, subject.app_id, actor, "privacy.exported", rows=counts)
        return out

    def erase(self, subject: Subject, actor: str) -> ErasureReport:
        """Erase or anonymise the subject everywhere; one `privacy.erased` audit entry (counts only) remains."""
        removed: dict[str, int] = {}
        for src in self.sources:
            for k, v in src.erase(subject).items():
                removed[k] = removed.get(k, 0) + v
        report = ErasureReport(request="er_" + secrets.token_hex(8), removed=removed)
        audit.record(self.db, subject.app_id, actor, "privacy.erased", request=report.request, removed=removed)
        return report


def _summary(subject: Subject) -> dict[str, Any]:
    return {"app_id": subject.app_id, "looked_up_by": subject.query, "identities": sorted(subject.identities),
            "customer_ids": sorted(subject.customer_ids), "emails": sorted(subject.emails),
            "names": sorted(subject.names), "ip_addresses": sorted(subject.ips), "calls": sorted(subject.calls),
            "rooms": sorted(subject.rooms)}


def iter_file(f: IO[bytes]) -> Iterator[bytes]:
    """Stream a file in chunks and close it at the end (or when the reader stops)."""
    try:
        while chunk := f.read(CHUNK):
            yield chunk
    finally:
        f.close()
