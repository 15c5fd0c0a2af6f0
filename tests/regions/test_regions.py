"""Data regions: two regions mapped to two buckets on moto's real S3 server. An EU app's recording lands only
in the EU bucket (encrypted), plays back through the API, and a change of region with data is refused."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from fastapi.testclient import TestClient
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner

from shopcall.api.deps import services_of
from shopcall.app import create_app
from shopcall.cli import app as cli
from shopcall.config import RegionConfig, Settings
from shopcall.recording.encryption import MAGIC
from shopcall.recording.regions import RegionNotConfigured
from shopcall.recording.storage import recording_key
from shopcall.recording.store import RecordingStore
from shopcall.rooms.apps import create_app as create_tenant
from shopcall.rooms.store import RoomStore

S3_REGION = "eu-central-1"


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _client(endpoint: str) -> object:
    return boto3.client("s3", endpoint_url=endpoint, region_name=S3_REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def _bucket(endpoint: str, name: str) -> str:
    name = f"{name}-{secrets.token_hex(4)}"
    _client(endpoint).create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": S3_REGION})  # type: ignore[attr-defined]
    return name


def _keys(endpoint: str, bucket: str) -> list[str]:
    found = _client(endpoint).list_objects_v2(Bucket=bucket)  # type: ignore[attr-defined]
    return [o["Key"] for o in found.get("Contents", [])]


def _region(endpoint: str, bucket: str) -> RegionConfig:
    return RegionConfig(storage="s3", s3_bucket=bucket, s3_endpoint_url=endpoint, s3_region=S3_REGION,
                        s3_access_key="testing", s3_secret_key="testing", s3_prefix="shopcall")  # type: ignore[arg-type]


@pytest.fixture
def world(tmp_path: Path, moto: str) -> Iterator[tuple[TestClient, str, str]]:
    eu, us = _bucket(moto, "rec-eu"), _bucket(moto, "rec-us")
    settings = Settings(data_dir=tmp_path / "data", media_backend="none",
                        regions={"eu": _region(moto, eu), "us": _region(moto, us)})
    with TestClient(create_app(settings)) as c:
        yield c, eu, us


def _record(client: TestClient, app_id: str, rec_id: str, src: Path) -> str:
    """What the recording path does: the row takes the app's region, the worker stores under that region's key."""
    db = services_of(client.app).db
    room = RoomStore(db).create_room(app_id)
    RecordingStore(db).begin(rec_id, app_id=app_id, room_id=room.id, folder="", started_by="anna")
    with db.session() as s:
        from shopcall.db.models import Recording

        row = s.get(Recording, rec_id)
        assert row is not None
        region = row.region
        key = recording_key(app_id, region, rec_id, "composite.mp4")
        row.status, row.storage_key = "ready", key
        row.size_bytes = services_of(client.app).storage.put_file(key, src, "video/mp4")
    return region


def test_an_eu_apps_recording_lands_only_in_the_eu_bucket(world, moto: str, tmp_path: Path) -> None:
    client, eu, us = world
    svc = services_of(client.app)
    app, secret = create_tenant(svc.db, "EU shop")
    auth = httpx.BasicAuth(app.id, secret)
    r = client.patch("/v1/settings", json={"region": "eu"}, auth=auth)
    assert r.status_code == 200 and r.json()["region"] == "eu", r.text
    assert client.get("/v1/settings", auth=auth).json()["region"] == "eu"

    src = tmp_path / "clip.mp4"
    plain = b"\0\0\0\x18ftypmp42" + secrets.token_bytes(300_000)
    src.write_bytes(plain)
    assert _record(client, app.id, "rec_eu1", src) == "eu"
    assert _keys(moto, eu) == [f"shopcall/eu/{app.id}/rec_eu1/composite.mp4"]
    assert _keys(moto, us) == []
    assert not (svc.settings.data_dir / "recordings").exists() or not any(
        p.is_file() for p in (svc.settings.data_dir / "recordings").rglob("*"))
    body = _client(moto).get_object(Bucket=eu, Key=f"shopcall/eu/{app.id}/rec_eu1/composite.mp4")["Body"].read()  # type: ignore[attr-defined]
    assert body.startswith(MAGIC) and plain[100:200] not in body  # encrypted in the bucket too
    r = client.get("/v1/recordings/rec_eu1/media", auth=auth, headers={"Range": "bytes=100-70099"})
    assert r.status_code == 206 and r.content == plain[100:70100]  # served (decrypted) by the server, no redirect

    # with data in the EU, a move is refused with the reason; unknown regions are 422
    r = client.patch("/v1/settings", json={"region": "us"}, auth=auth)
    assert r.status_code == 409 and r.json()["error"]["code"] == "region_change_refused", r.text
    assert "1 recording" in r.json()["error"]["message"]
    r = client.patch("/v1/settings", json={"region": "mars"}, auth=auth)
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_region"
    assert client.get("/v1/settings", auth=auth).json()["region"] == "eu"
    # a key naming a region this server does not have is refused, never stored elsewhere
    with pytest.raises(RegionNotConfigured):
        svc.storage.put_file(recording_key(app.id, "mars", "rec_x", "composite.mp4"), src)


def test_region_from_the_cli(tmp_path: Path) -> None:
    data = tmp_path / "data"
    runner = CliRunner()
    env = {"SHOPCALL_REGIONS": '{"eu": {"storage": "local", "local_dir": "%s"}}' % (tmp_path / "eu")}
    created = runner.invoke(cli, ["apps", "create", "Shop", "--json", "--data-dir", str(data)], env=env)
    app_id = created.stdout.split('"app_id": "')[1].split('"')[0]
    r = runner.invoke(cli, ["regions", "list", "--data-dir", str(data)], env=env)
    assert r.exit_code == 0 and "eu" in r.stdout and "local" in r.stdout, r.output
    r = runner.invoke(cli, ["apps", "set-region", app_id, "eu", "--data-dir", str(data)], env=env)
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["apps", "set-region", app_id, "mars", "--data-dir", str(data)], env=env)
    assert r.exit_code == 2
    listed = runner.invoke(cli, ["apps", "list", "--json", "--data-dir", str(data)], env=env)
    assert '"region": "eu"' in listed.stdout


@pytest.mark.parametrize("sse,kms", [("AES256", None), ("aws:kms", "alias/shopcall-eu")])
def test_s3_server_side_encryption_is_passed_through(moto: str, tmp_path: Path, sse: str, kms: str | None) -> None:
    from shopcall.recording.storage import S3Storage

    bucket = _bucket(moto, "rec-sse")
    st = S3Storage(bucket, endpoint_url=moto, region=S3_REGION, access_key="testing", secret_key="testing",
                   sse=sse, sse_kms_key_id=kms)
    src = tmp_path / "f.bin"
    src.write_bytes(b"x" * 1000)
    st.put_file("eu/app_1/rec_1/composite.mp4", src)
    head = _client(moto).head_object(Bucket=bucket, Key="eu/app_1/rec_1/composite.mp4")  # type: ignore[attr-defined]
    assert head["ServerSideEncryption"] == sse
    if kms:
        assert kms in head["SSEKMSKeyId"]


def test_cli_migrates_an_apps_recordings_to_its_new_region_with_a_report(moto: str, tmp_path: Path) -> None:
    """`apps set-region --migrate`: the EU bucket's recording is copied to the US bucket, re-encrypted, still
    plays, and the original is gone; without --migrate the move is refused."""
    import json

    from shopcall.db.engine import Database

    eu, us = _bucket(moto, "mig-eu"), _bucket(moto, "mig-us")
    data = tmp_path / "data"
    regions = {"eu": _region(moto, eu), "us": _region(moto, us)}
    settings = Settings(data_dir=data, media_backend="none", regions=regions)
    with TestClient(create_app(settings)) as client:
        app, secret = create_tenant(services_of(client.app).db, "Shop")
        auth = httpx.BasicAuth(app.id, secret)
        assert client.patch("/v1/settings", json={"region": "eu"}, auth=auth).status_code == 200
        src = tmp_path / "clip.mp4"
        plain = secrets.token_bytes(200_000)
        src.write_bytes(plain)
        _record(client, app.id, "rec_m", src)
    env = {"SHOPCALL_REGIONS": json.dumps({k: {**v.model_dump(mode="json"), "s3_secret_key": "testing"}
                                           for k, v in regions.items()})}
    runner = CliRunner()
    refused = runner.invoke(cli, ["apps", "set-region", app.id, "us", "--data-dir", str(data)], env=env)
    assert refused.exit_code == 1 and "--migrate" in refused.output
    r = runner.invoke(cli, ["apps", "set-region", app.id, "us", "--migrate", "--data-dir", str(data)], env=env)
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout[:r.stdout.rindex("}") + 1])
    assert report["moved"] == ["rec_m"] and report["bytes"] == len(plain) and report["failed"] == {}
    assert _keys(moto, eu) == [] and _keys(moto, us) == [f"shopcall/us/{app.id}/rec_m/composite.mp4"]
    with TestClient(create_app(settings)) as client:
        r = client.get("/v1/recordings/rec_m/media", auth=auth, headers={"Range": "bytes=10-99"})
        assert r.status_code == 206 and r.content == plain[10:100]
        assert client.get("/v1/settings", auth=auth).json()["region"] == "us"
    db = Database(settings.db_url)
    try:
        with db.session() as s:
            from shopcall.db.models import AuditEntry

            assert s.query(AuditEntry).filter(AuditEntry.action == "recording.relocated").count() == 1
    finally:
        db.dispose()
