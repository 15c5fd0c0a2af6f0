"""Subject access and erasure for recordings and consent decisions, files included.

A recording "has" the subject when it was made in one of their rooms or names their customer. Erasure
deletes such recordings whole (composite object and raw per-track folder, then the row with a
`recording.deleted` audit entry): the composite is not rebuilt without the shopper, because their voice
and picture are in every track the agent's side also captured (the agent talks to them by name).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, select

from shopcall.db.engine import Database, rowcount
from shopcall.db.models import ConsentDecision, Recording
from shopcall.db.subject import Subject, row_dict
from shopcall.recording.storage import RecordingNotFound, RecordingStorage
from shopcall.recording.store import RecordingStore


class RecordingSubjectData:
    name: str = "recordings"
    tables: tuple[str, ...] = ("recordings", "consent_decisions")

    def __init__(self, db: Database, storage: RecordingStorage, raw_root: Path | None = None) -> None:
        self.db, self.storage, self.raw_root = db, storage, raw_root

    def _recordings(self, s: Any, subject: Subject) -> list[Recording]:
        return list(s.scalars(select(Recording).where(Recording.app_id == subject.app_id, or_(
            Recording.room_id.in_(subject.rooms), Recording.customer_id.in_(subject.customer_ids)))
            .order_by(Recording.started_at)))

    def identify(self, subject: Subject) -> None:
        return None  # recordings name nobody the other sources have not found

    def export(self, subject: Subject) -> dict[str, list[dict[str, Any]]]:
        with self.db.session() as s:
            return {"recordings": [row_dict(r) for r in self._recordings(s, subject)],
                    "consent_decisions": [row_dict(c) for c in s.scalars(select(ConsentDecision).where(
                        ConsentDecision.app_id == subject.app_id, ConsentDecision.identity.in_(subject.identities)))]}

    def media(self, subject: Subject) -> list[tuple[str, str]]:
        """(recording id, storage key) of every finished composite the subject appears in."""
        with self.db.session() as s:
            return [(r.id, r.storage_key) for r in self._recordings(s, subject) if r.storage_key]

    def read(self, key: str) -> Iterator[bytes]:
        """The stored recording as it plays (decrypted by the storage when encrypted); empty if missing."""
        try:
            chunks, _ = self.storage.open_range(key)
        except RecordingNotFound:
            return iter(())
        return chunks

    def _remove_folder(self, folder: str) -> bool:
        """Remove a raw folder, only if it is inside raw_root (never anything else on the disk)."""
        if not folder or self.raw_root is None:
            return False
        p = Path(folder).resolve()
        root = self.raw_root.resolve()
        if p == root or not p.is_relative_to(root) or not p.is_dir():
            return False
        shutil.rmtree(p)
        return True

    def erase(self, subject: Subject) -> dict[str, int]:
        with self.db.session() as s:
            found = [(r.id, r.room_id, r.storage_key, r.folder) for r in self._recordings(s, subject)]
        out = {"recordings.deleted": 0, "recording_files.deleted": 0, "raw_folders.deleted": 0}
        store = RecordingStore(self.db)
        for rec_id, room_id, key, folder in found:
            if key and self.storage.delete(key):
                out["recording_files.deleted"] += 1
            if self._remove_folder(folder):
                out["raw_folders.deleted"] += 1
            if store.delete(rec_id, actor="privacy", details={"recording": rec_id, "room": room_id,
                                                              "reason": "subject erasure"}):
                out["recordings.deleted"] += 1
        with self.db.session() as s:
            out["consent_decisions.deleted"] = rowcount(s.execute(delete(ConsentDecision).where(
                ConsentDecision.app_id == subject.app_id, ConsentDecision.identity.in_(subject.identities))))
        return {k: v for k, v in out.items() if v}
