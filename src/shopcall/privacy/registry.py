"""The registry of subject data sources: every table is either covered by a store's source or listed
here as holding no shopper data, with the reason. `tests/privacy/test_registry.py` fails when a model
is neither, so a new table with personal data cannot be forgotten by export and erasure.
"""

from __future__ import annotations

from pathlib import Path

from shopcall.auth.subject_data import AuditSubjectData
from shopcall.console.subject_data import ConsoleSubjectData
from shopcall.crm.subject_data import CrmSubjectData
from shopcall.db.engine import Database
from shopcall.db.subject import RetentionSource, SubjectSource
from shopcall.recording.storage import RecordingStorage
from shopcall.recording.subject_data import RecordingSubjectData
from shopcall.rooms.subject_data import RoomsSubjectData
from shopcall.webhooks.subject_data import WebhookSubjectData

NOT_SHOPPER_DATA: dict[str, str] = {
    "apps": "the merchant's own settings and hashed secrets",
    "agents": "staff accounts (the merchant's employees), managed by agent delete",
    "agent_sessions": "staff console sessions (only a digest of the cookie), 12 h",
    "products": "the merchant's catalogue",
    "webhook_endpoints": "the merchant's URLs and encrypted signing secrets",
    "app_keys": "the app's wrapped encryption keys",
    "alembic_version": "the schema version",
}


def sources(db: Database, storage: RecordingStorage, raw_root: Path | None = None) -> list[SubjectSource]:
    """Every source, in erasure order: recordings (files) first, the audit log last (it is scrubbed of what
    the others found, and gets the erasure's own entry afterwards)."""
    return [RecordingSubjectData(db, storage, raw_root), RoomsSubjectData(db), ConsoleSubjectData(db),
            CrmSubjectData(db), WebhookSubjectData(db), AuditSubjectData(db)]


def retention_sources(db: Database) -> list[RetentionSource]:
    """The stores that enforce a per-kind retention (privacy.retention)."""
    return [RoomsSubjectData(db), ConsoleSubjectData(db), WebhookSubjectData(db), AuditSubjectData(db)]
