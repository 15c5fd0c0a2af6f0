"""SSRF and lost events: webhook URLs to internal addresses are refused when saved (422) and never
connected to when delivering (the log says only "blocked: address not allowed"); a transient database
error while queueing an event is retried, a lasting one is raised and logged, never swallowed."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from shopcall.api.deps import services_of
from shopcall.app import create_app
from shopcall.config import Settings
from shopcall.db.engine import Database
from shopcall.db.models import WebhookDelivery
from shopcall.media.fake import FakeMediaBackend
from shopcall.rooms.apps import create_app as create_tenant
from shopcall.webhooks.dispatcher import WebhookDispatcher

KEY = b"k" * 48
BAD_URLS = ["http://127.0.0.1:8080/hook", "http://[::1]/hook", "http://0x7f000001/hook", "http://2130706433/hook",
            "http://127.1/hook", "http://[::ffff:127.0.0.1]/hook", "http://localhost:9000/hook",
            "http://169.254.169.254/latest/meta-data/", "http://10.0.0.8/hook", "http://192.168.1.20/hook",
            "http://[fd00::1]/hook", "http://224.0.0.5/hook", "http://0.0.0.0:8080/hook"]


class Listener:
    """A service on 127.0.0.1 that counts connections (and would answer 200)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.sock.close()


@pytest.fixture
def client(tmp_path, db_url) -> Iterator[TestClient]:
    app = create_app(Settings(data_dir=tmp_path / "data", database_url=db_url, media_backend="none"),
                     media=FakeMediaBackend())
    with TestClient(app) as c:
        yield c


def _auth(c: TestClient) -> httpx.BasicAuth:
    app, secret = create_tenant(services_of(c.app).db, "Shop")
    return httpx.BasicAuth(app.id, secret)


def test_internal_urls_are_refused_when_saved(client: TestClient) -> None:
    auth = _auth(client)
    for url in BAD_URLS:
        r = client.post("/v1/webhooks", auth=auth, json={"url": url, "events": ["*"]})
        assert r.status_code == 422, (url, r.status_code)
        err = r.json()["error"]
        assert err["code"] == "url_not_allowed" and "address not allowed" in err["message"], (url, err)
    assert client.get("/v1/webhooks", auth=auth).json() == []
    ok = client.post("/v1/webhooks", auth=auth, json={"url": "https://shop.example.com/hook", "events": ["*"]})
    assert ok.status_code == 201


async def test_delivery_to_a_name_resolving_to_loopback_never_connects(db: Database, listener: Listener) -> None:
    """`localhost` passes no save-time check here (the row is written directly, as by an older version):
    the check after DNS resolution refuses it, and the log tells nothing about the port."""
    app, _ = create_tenant(db, "Shop")
    d = WebhookDispatcher(db, KEY, schedule=(60,), jitter=0)
    for host in ("localhost", "127.0.0.1", "0x7f000001"):
        d.create_endpoint(app.id, f"http://{host}:{listener.port}/hook", ["*"])
    await d.emit(app.id, "call.queued", {"call_id": "c1"})
    assert await d.deliver_due_now() == 3
    with db.session() as s:
        rows = list(s.scalars(select(WebhookDelivery)))
    assert [(r.status, r.last_status_code, r.log[0]["error"]) for r in rows] == \
        [("pending", None, "blocked: address not allowed")] * 3
    assert listener.accepted == 0
    await d.stop()


async def test_the_operator_allowlist_admits_a_local_receiver(db: Database, listener: Listener) -> None:
    from shopcall.outbound import OutboundPolicy

    app, _ = create_tenant(db, "Shop")
    d = WebhookDispatcher(db, KEY, outbound=OutboundPolicy.parse(["127.0.0.0/8"]))
    d.create_endpoint(app.id, f"http://localhost:{listener.port}/hook", ["*"])
    await d.emit(app.id, "call.queued", {"call_id": "c1"})
    await d.deliver_due_now()
    with db.session() as s:
        assert s.scalars(select(WebhookDelivery.status)).one() == "delivered"
    assert listener.accepted == 1
    await d.stop()


async def test_a_transient_database_error_while_queueing_is_retried(db: Database,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    app, _ = create_tenant(db, "Shop")
    d = WebhookDispatcher(db, KEY)
    d.create_endpoint(app.id, "https://shop.example.com/hook", ["*"])
    real, calls = d._enqueue, []

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) <= 2:
            raise OperationalError("INSERT ...", {}, Exception("server closed the connection unexpectedly"))
        return real(*args, **kwargs)

    monkeypatch.setattr(d, "_enqueue", flaky)
    event_id = await d.emit(app.id, "call.ended", {"call_id": "c1", "shopper": {"name": "Maja"}})
    with db.session() as s:
        assert s.scalars(select(WebhookDelivery.event_id)).all() == [event_id]
    assert len(calls) == 3


async def test_a_lasting_database_error_is_raised_and_counted(db: Database, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    app, _ = create_tenant(db, "Shop")
    d = WebhookDispatcher(db, KEY)

    def down(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("INSERT ...", {}, Exception("database is down"))

    monkeypatch.setattr(d, "_enqueue", down)
    with pytest.raises(OperationalError):
        await d.emit(app.id, "call.ended", {"call_id": "c1", "shopper": {"name": "Maja Secretname"}})
    assert d.emit_failures == 1
    out = capsys.readouterr().out
    assert "webhook_emit_failed" in out and "call.ended" in out and app.id in out
    assert "Maja Secretname" not in out  # personal data from the payload is not logged
