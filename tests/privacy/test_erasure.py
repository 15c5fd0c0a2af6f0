"""Subject export and erasure through the REST API, on real rows (SQLite and PostgreSQL) and real storage."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from sqlalchemy import select

from shopcall.api.deps import services_of
from shopcall.db.models import AuditEntry, Base, Call, Customer, Recording
from tests.privacy.seed import Shopper, seed_shopper


def _seed(client, app_id: str, tag: str, ip: str) -> Shopper:
    svc = services_of(client.app)
    return seed_shopper(svc.db, svc.storage, svc.settings.data_dir / "recordings-raw", app_id, tag, ip=ip)


def _dump_all(client) -> str:
    """Every row of every table, as one lower-case string."""
    db = services_of(client.app).db
    out = []
    with db.engine.connect() as c:
        for table in Base.metadata.sorted_tables:
            for row in c.execute(table.select()):
                out.append(repr(tuple(row)))
    return "\n".join(out).lower()


def _storage_bytes(client) -> bytes:
    root = services_of(client.app).settings.data_dir
    blobs = [p.relative_to(root).as_posix().encode() + b"\n" + p.read_bytes()
             for p in sorted(root.rglob("*")) if p.is_file() and p.suffix not in (".db", ".db-wal", ".db-shm")
             and "shopcall.db" not in p.name]
    return b"\n".join(blobs).lower()


def test_erasure_leaves_no_trace_of_the_shopper_and_keeps_the_others(client, tenant) -> None:
    sara = _seed(client, tenant.id, "sara", "203.0.113.77")
    olaf = _seed(client, tenant.id, "olaf", "198.51.100.23")
    before = _dump_all(client)
    for needle in sara.needles():
        assert needle.lower() in before

    r = client.delete(f"/v1/privacy/subjects/{sara.email}", auth=tenant.auth)
    assert r.status_code == 200, r.text
    removed = r.json()["removed"]
    assert removed["recordings.deleted"] == 1 and removed["recording_files.deleted"] == 1
    assert removed["raw_folders.deleted"] == 1
    assert removed["calls.anonymised"] == 2 and removed["quality_samples.deleted"] == 2
    assert removed["customers.deleted"] == 1 and removed["orders.deleted"] == 1
    assert removed["callback_requests.deleted"] == 1 and removed["call_notes.deleted"] == 2
    assert removed["webhook_deliveries.deleted"] == 1 and removed["consent_decisions.deleted"] == 1

    after = _dump_all(client)
    stored = _storage_bytes(client)
    for needle in sara.needles():  # identity, customer id, name, email, IP address
        assert needle.lower() not in after, needle
        assert needle.lower().encode() not in stored, needle
    assert not any(f.exists() for f in sara.raw_folders)
    for needle in olaf.needles():  # the other shopper is intact
        assert needle.lower() in after, needle
    assert all(f.exists() for f in olaf.raw_folders)

    db = services_of(client.app).db
    with db.session() as s:
        assert s.scalar(select(Recording).where(Recording.id == olaf.recordings[0])) is not None
        assert s.scalar(select(Customer).where(Customer.external_id == olaf.customer_id)) is not None
        assert len(list(s.scalars(select(Call).where(Call.app_id == tenant.id)))) == 4  # Sara's two anonymised
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.erased")).one()
    assert entry.actor == f"app:{tenant.id}" and entry.details["removed"] == removed
    # found by the identity or customer id just as well; erased means not found any more
    assert client.delete(f"/v1/privacy/subjects/{sara.identity}", auth=tenant.auth).status_code == 404
    assert client.delete(f"/v1/privacy/subjects/{olaf.customer_id}", auth=tenant.auth).status_code == 200


def test_export_has_every_table_and_the_recording(client, tenant) -> None:
    sara = _seed(client, tenant.id, "sara", "203.0.113.77")
    _seed(client, tenant.id, "olaf", "198.51.100.23")
    r = client.get(f"/v1/privacy/subjects/{sara.customer_id}/export", auth=tenant.auth)
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(r.content))
    names = set(z.namelist())
    summary = json.loads(z.read("subject.json"))
    assert summary["identities"] == [sara.identity] and summary["emails"] == [sara.email]
    assert sara.ip in summary["ip_addresses"]
    tables = {n.removeprefix("tables/").removesuffix(".json"): json.loads(z.read(n))
              for n in names if n.startswith("tables/")}
    assert len(tables["calls"]) == 2 and len(tables["chat_messages"]) == 4 and len(tables["quality_samples"]) == 2
    assert len(tables["customers"]) == 1 and len(tables["orders"]) == 1 and len(tables["callback_requests"]) == 1
    assert len(tables["call_notes"]) == 2 and len(tables["recordings"]) == 1
    assert len(tables["webhook_deliveries"]) == 1 and len(tables["audit_log"]) == 1
    assert "olaf" not in json.dumps(tables).lower()
    stored = services_of(client.app).storage
    chunks, _ = stored.open_range(tables["recordings"][0]["storage_key"])
    assert z.read(f"recordings/{sara.recordings[0]}.mp4") == b"".join(chunks)


def test_a_subject_is_never_found_from_another_app(client, tenant, other_tenant) -> None:
    sara = _seed(client, tenant.id, "sara", "203.0.113.77")
    for path in (f"/v1/privacy/subjects/{sara.email}", f"/v1/privacy/subjects/{sara.identity}/export"):
        method = client.delete if "export" not in path else client.get
        r = method(path, auth=other_tenant.auth)
        assert r.status_code == 404 and r.json()["error"]["code"] == "subject_not_found", r.text
    assert client.get(f"/v1/privacy/subjects/{sara.email}/export").status_code == 401
    assert client.get("/v1/privacy/subjects/nobody/export", auth=tenant.auth).status_code == 404
    # still all there
    assert sara.name.lower() in _dump_all(client)


def test_console_privacy_needs_an_admin(client, tenant) -> None:
    from shopcall.console.accounts import upsert_agent

    db = services_of(client.app).db
    sara = _seed(client, tenant.id, "sara", "203.0.113.77")
    upsert_agent(db, tenant.id, "ben", name="Ben", password="a-long-password-1", role="agent")
    upsert_agent(db, tenant.id, "ada", name="Ada", password="a-long-password-2", role="admin")
    assert client.post("/v1/console/login", json={"app_id": tenant.id, "login": "ben",
                                                  "password": "a-long-password-1"}).status_code == 200
    assert client.delete(f"/v1/console/privacy/subjects/{sara.email}").status_code == 403
    assert client.get("/v1/console/privacy/summary").status_code == 403
    client.post("/v1/console/logout")
    client.cookies.clear()
    assert client.post("/v1/console/login", json={"app_id": tenant.id, "login": "ada",
                                                  "password": "a-long-password-2"}).status_code == 200
    summary = client.get("/v1/console/privacy/summary").json()
    assert summary["region"] == "local" and summary["encryption_at_rest"].startswith("AES-256-GCM")
    r = client.get(f"/v1/console/privacy/subjects/{sara.email}/export")
    assert r.status_code == 200 and zipfile.ZipFile(io.BytesIO(r.content)).read("subject.json")
    r = client.delete(f"/v1/console/privacy/subjects/{sara.email}")
    assert r.status_code == 200 and r.json()["removed"]["customers.deleted"] == 1


def test_storage_paths_are_not_left_behind(client, tenant, tmp_path: Path) -> None:
    sara = _seed(client, tenant.id, "sara", "203.0.113.77")
    storage = services_of(client.app).storage
    with services_of(client.app).db.session() as s:
        key = s.get(Recording, sara.recordings[0]).storage_key
    assert storage.exists(key)
    client.delete(f"/v1/privacy/subjects/{sara.identity}", auth=tenant.auth).raise_for_status()
    assert not storage.exists(key)
