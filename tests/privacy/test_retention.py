"""Retention for every kind of personal data: settings validated by the API, enforced on real rows with a
controllable clock (`run_data_retention(now=...)`), and run by the retention loop."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from shopcall.api.app_store import AppStore
from shopcall.api.deps import services_of
from shopcall.db.engine import Database
from shopcall.db.models import AuditEntry, Call, CallbackRequest, ChatMessage, Participant, QualitySample, utcnow
from shopcall.privacy.retention import run_data_retention
from shopcall.recording.retention import retention_loop
from shopcall.recording.storage import LocalStorage
from shopcall.rooms.apps import create_app as create_tenant
from tests.privacy.seed import seed_shopper

ALL = {"chat": 30, "visitor_events": 7, "quality_samples": 14, "callback_requests": 60, "call_metadata": 90,
       "ip_addresses": 3}


def _world(db: Database, tmp_path: Path, *, retention: dict[str, int]) -> tuple[str, str]:
    """An app with one shopper seeded 10 days ago (`old`), one today (`new`) and a second app with no retention."""
    storage = LocalStorage(tmp_path / "rec")
    app, _ = create_tenant(db, "Shop")
    other, _ = create_tenant(db, "Other shop")
    seed_shopper(db, storage, tmp_path / "raw", app.id, "old", ip="203.0.113.7", age_days=10)
    seed_shopper(db, storage, tmp_path / "raw", app.id, "new", ip="203.0.113.8")
    seed_shopper(db, storage, tmp_path / "raw", other.id, "elsewhere", ip="203.0.113.9", age_days=400)
    AppStore(db).update_settings(app.id, retention=retention)
    return app.id, other.id


def _count(db: Database, model, *where) -> int:
    with db.session() as s:
        return len(list(s.scalars(select(model).where(*where))))


def test_each_kind_goes_when_its_days_have_passed(db: Database, tmp_path: Path) -> None:
    app_id, other_id = _world(db, tmp_path, retention=ALL)
    now = utcnow()
    report = run_data_retention(db, now=now)  # 10 days: IPs (3) and visits (7) go, the rest stays
    # (the calls' IP address was in the visit, which went first)
    assert report[app_id] == {"quality_samples.ips_removed": 2, "callback_requests.ips_removed": 1,
                              "calls.visits_removed": 2}
    assert other_id not in report  # no retention set: nothing touched
    with db.session() as s:
        old = [c for c in s.scalars(select(Call).where(Call.app_id == app_id)) if c.shopper_identity == "shopper-old"]
        assert all("visit" not in c.context and c.context.get("product") == "SKU-1" for c in old)
        new = [c for c in s.scalars(select(Call).where(Call.app_id == app_id)) if c.shopper_identity == "shopper-new"]
        assert all(c.context["visit"]["ip"] == "203.0.113.8" for c in new)
        cb = s.get(CallbackRequest, "cb_old")
        assert cb is not None and "203.0.113.7" not in str(cb.context)
    assert run_data_retention(db, now=now) == {}  # idempotent: nothing more to do

    # 10 days on (the old shopper's data is 20 days old): their quality samples (14) go, chat (30) not yet;
    # the new shopper's visits and IP addresses are now 10 days old and go
    report = run_data_retention(db, now=now + timedelta(days=10))
    assert report[app_id] == {"quality_samples.deleted": 2, "calls.visits_removed": 2,
                              "quality_samples.ips_removed": 2, "callback_requests.ips_removed": 1}
    assert _count(db, QualitySample, QualitySample.app_id == app_id) == 2
    assert _count(db, ChatMessage, ChatMessage.id.in_(["m_old0", "m_old1"])) == 2

    # the old shopper's data 35 days old: their chat (30) goes, the new one's (25 days) stays
    report = run_data_retention(db, now=now + timedelta(days=25))
    assert report[app_id]["chat_messages.deleted"] == 4
    assert _count(db, ChatMessage, ChatMessage.id.in_(["m_new0", "ma_new0"])) == 2
    assert run_data_retention(db, now=now + timedelta(days=55))[app_id]["callback_requests.deleted"] == 1  # 65 > 60
    assert _count(db, CallbackRequest, CallbackRequest.id == "cb_new") == 1
    report = run_data_retention(db, now=now + timedelta(days=85))  # 95 days: call metadata (90)
    assert report[app_id]["calls.anonymised"] == 2
    with db.session() as s:
        calls = {c.id: c for c in s.scalars(select(Call).where(Call.app_id == app_id))}
        assert calls["call_old0"].shopper_identity.startswith("erased_") and calls["call_old0"].shopper_name == ""
        assert calls["call_old0"].customer_id is None and calls["call_old0"].outcome == "sold"  # the call stays
        assert calls["call_new0"].shopper_identity == "shopper-new"
        p = s.get(Participant, "p_old0")
        assert p is not None and p.identity == calls["call_old0"].shopper_identity and p.display_name == ""
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "retention.applied")))
    assert len(entries) == 5 and all("shopper" not in str(e.details) for e in entries)  # one per run with work
    assert _count(db, Call, Call.app_id == other_id, Call.shopper_identity == "shopper-elsewhere") == 2


def test_the_retention_loop_runs_the_other_kinds_too(db: Database, tmp_path: Path) -> None:
    app_id, _ = _world(db, tmp_path, retention={"quality_samples": 5})

    async def once() -> None:
        stop = asyncio.Event()
        ran: list[object] = []

        def job() -> None:
            ran.append(run_data_retention(db))
            stop.set()

        await asyncio.wait_for(retention_loop(db, LocalStorage(tmp_path / "rec"), 3600, stop, also=[job]), 30)
        assert ran == [{app_id: {"quality_samples.deleted": 2}}]

    asyncio.run(once())


def test_settings_api_validates_and_merges_retention(client, tenant) -> None:
    r = client.get("/v1/settings", auth=tenant.auth)
    assert r.json()["retention"] == {k: None for k in ALL}
    r = client.patch("/v1/settings", json={"retention": {"chat": 30, "ip_addresses": 7}}, auth=tenant.auth)
    assert r.status_code == 200 and r.json()["retention"]["chat"] == 30
    r = client.patch("/v1/settings", json={"retention": {"chat": None, "quality_samples": 14}}, auth=tenant.auth)
    assert r.json()["retention"] == {**{k: None for k in ALL}, "ip_addresses": 7, "quality_samples": 14}
    for bad in ({"chat": 0}, {"chat": 4000}, {"chat": "30"}, {"chat": True}, {"emails": 3}, {"chat": 1.5}):
        r = client.patch("/v1/settings", json={"retention": bad}, auth=tenant.auth)
        assert r.status_code == 422 and r.json()["error"]["code"], (bad, r.text)
    db = services_of(client.app).db
    with db.session() as s:
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "settings.changed")).all()[-1].details == {
            "changed": ["retention"]}
