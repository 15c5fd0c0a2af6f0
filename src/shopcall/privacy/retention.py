"""Retention for every kind of personal data besides recordings: per app, days per kind (`apps.retention`,
set with `PATCH /v1/settings {"retention": {...}}`), enforced by the retention loop next to recordings.

What each kind means once its days have passed:
- chat: the messages are deleted;
- visitor_events: the visit (page, cart, returning, time on site) is removed from the call's context;
- quality_samples: the samples are deleted;
- callback_requests: the requests are deleted;
- call_metadata: the call stays (counts, durations, outcome, billing) but the shopper's identity becomes a
  pseudonym, their name, customer id and the call's context are cleared;
- ip_addresses: every IP address is removed from stored contexts, samples, events, webhook payloads and
  audit details.
Each store does its own tables (`RetentionSource.retain`); one `retention.applied` audit entry per app
and run names the counts, never the data.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select

from shopcall.auth import audit
from shopcall.db.engine import Database
from shopcall.db.models import App, utcnow
from shopcall.db.subject import RETENTION_KINDS
from shopcall.privacy.registry import retention_sources

log = structlog.get_logger("shopcall.retention")


def policies(db: Database) -> dict[str, dict[str, int]]:
    """app id -> {kind: days} for every app with at least one valid retention (days >= 1)."""
    out: dict[str, dict[str, int]] = {}
    with db.session() as s:
        for app_id, retention in s.execute(select(App.id, App.retention)):
            valid = {k: int(v) for k, v in (retention or {}).items()
                     if k in RETENTION_KINDS and isinstance(v, int) and not isinstance(v, bool) and v >= 1}
            if valid:
                out[app_id] = valid
    return out


def run_data_retention(db: Database, *, now: datetime | None = None) -> dict[str, dict[str, int]]:
    """Apply every app's retention as of `now` (naive UTC; default: now); app id -> counts. Synchronous."""
    now = now or utcnow()
    sources = retention_sources(db)
    report: dict[str, dict[str, int]] = {}
    for app_id, kinds in policies(db).items():
        counts: dict[str, int] = {}
        for kind in (k for k in RETENTION_KINDS if k in kinds):  # a fixed order: the same counts every run
            before = now - timedelta(days=kinds[kind])
            for src in sources:
                if kind not in src.retention_kinds:
                    continue
                try:
                    for k, v in src.retain(app_id, kind, before).items():
                        if v:
                            counts[k] = counts.get(k, 0) + v
                except Exception:  # one failing store must not stop the others; the next run retries
                    log.exception("data_retention_failed", app_id=app_id, kind=kind)
        if counts:
            report[app_id] = counts
            audit.record(db, app_id, "retention", "retention.applied", removed=counts)
            log.info("data_retention_done", app_id=app_id, **_short(counts))
    return report


def _short(counts: dict[str, int]) -> dict[str, Any]:
    return {k.replace(".", "_"): v for k, v in counts.items()}
