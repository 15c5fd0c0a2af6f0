"""CRM connectors and SSRF, and CRM credentials at rest: internal URLs are refused when saved (422) and
never connected to; the operator allowlist admits an on-premises CRM; agents see a generic error;
credentials are stored encrypted (old plaintext rows are sealed) and never returned."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from shopcall.api.app_store import AppStore
from shopcall.api.deps import services_of
from shopcall.app import create_app
from shopcall.config import Settings
from shopcall.crm import CrmLookup, lookup_with_deadline
from shopcall.crm.connectors import CrmConnectors
from shopcall.db.engine import Database
from shopcall.media.fake import FakeMediaBackend
from shopcall.rooms.apps import create_app as create_tenant

KEY = b"k" * 48
TOKEN, CK, CS = "tok_http_9f8e7d6c5b4a", "ck_5a4b3c2d1e", "cs_0f9e8d7c6b"
BAD = ["http://127.0.0.1:8080", "http://[::1]", "http://0x7f000001", "http://2130706433", "http://127.1",
       "http://[::ffff:127.0.0.1]", "http://localhost:9200", "http://169.254.169.254", "http://10.1.1.1",
       "http://172.20.0.2", "http://[fd00::2]", "http://0.0.0.0"]


def _configs(base: str) -> list[dict[str, Any]]:
    return [{"kind": "http", "url": f"{base}/crm", "token": TOKEN},
            {"kind": "woocommerce", "site_url": base, "consumer_key": CK, "consumer_secret": CS},
            {"kind": "shopify", "base_url": f"{base}/admin/api/2024-10", "access_token": TOKEN}]


class Listener:
    """A service on 127.0.0.1 with data a tenant must not see; counts connections."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        body = json.dumps({"external_id": "x", "name": "internal admin data"}).encode()
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
                             + f"content-length: {len(body)}\r\n\r\n".encode() + body)


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.sock.close()


def _client(tmp_path, db_url: str, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path / "data", database_url=db_url, media_backend="none",
                                          **settings), media=FakeMediaBackend()))


def _auth(c: TestClient) -> tuple[str, httpx.BasicAuth]:
    app, secret = create_tenant(services_of(c.app).db, "Shop")
    return app.id, httpx.BasicAuth(app.id, secret)


def _raw_crm(db: Database, app_id: str) -> str:
    with db.session() as s:
        return str(s.execute(text("SELECT crm_config FROM apps WHERE id = :id"), {"id": app_id}).scalar_one())


def test_internal_crm_urls_are_refused_when_saved(tmp_path, db_url) -> None:
    with _client(tmp_path, db_url) as c:
        app_id, auth = _auth(c)
        for base in BAD:
            for config in _configs(base):
                r = c.patch("/v1/settings", auth=auth, json={"crm": config})
                assert r.status_code == 422, (config, r.status_code)
                assert r.json()["error"]["code"] == "url_not_allowed", (config, r.json())
        assert c.get("/v1/settings", auth=auth).json()["crm"] == {"kind": "builtin"}


def test_the_operator_allowlist_admits_an_on_premises_crm(tmp_path, db_url) -> None:
    with _client(tmp_path, db_url, outbound_allow=["127.0.0.1", "10.0.0.0/8"]) as c:
        _, auth = _auth(c)
        for base in ("http://127.0.0.1:8080", "http://localhost:8080", "http://10.1.1.1"):
            r = c.patch("/v1/settings", auth=auth, json={"crm": _configs(base)[0]})
            assert r.status_code == 200, r.text
        assert c.patch("/v1/settings", auth=auth, json={"crm": _configs("http://192.168.1.1")[0]}).status_code == 422


async def test_a_connector_never_connects_to_an_internal_address(db: Database, listener: Listener) -> None:
    """Stored before the save-time check existed (or a name that resolves to loopback): refused after DNS."""
    app, _ = create_tenant(db, "Shop")
    connectors = CrmConnectors(db, KEY)
    try:
        for host in ("localhost", "127.0.0.1"):
            url = f"http://{host}:{listener.port}"
            AppStore(db).update_settings(app.id, crm_config={"kind": "http", "url": url})
            r = await lookup_with_deadline(await connectors.for_app(app.id), CrmLookup(customer_id="x"))
            assert (r.status, r.error_code) == ("unavailable", "blocked")
            assert r.error == "CRM unavailable: address not allowed"
            assert r.profile is None
    finally:
        await connectors.aclose()
    assert listener.accepted == 0


def test_credentials_are_encrypted_at_rest_and_never_returned(tmp_path, db_url) -> None:
    with _client(tmp_path, db_url) as c:
        db = services_of(c.app).db
        app_id, auth = _auth(c)
        for config in _configs("https://crm.example.com"):
            r = c.patch("/v1/settings", auth=auth, json={"crm": config})
            assert r.status_code == 200, r.text
            for shown in (r.text, c.get("/v1/settings", auth=auth).text):
                assert TOKEN not in shown and CK not in shown and CS not in shown
            raw = _raw_crm(db, app_id)
            assert TOKEN not in raw and CK not in raw and CS not in raw and "enc:v1:" in raw
            connector = c.portal.call(services_of(c.app).crm.for_app, app_id)  # decrypts to build the client
            headers = connector._client.headers  # type: ignore[attr-defined]
            if config["kind"] == "http":
                assert headers["Authorization"] == f"Bearer {TOKEN}"
            elif config["kind"] == "shopify":
                assert headers["X-Shopify-Access-Token"] == TOKEN
            else:
                assert connector._client.auth._auth_header == httpx.BasicAuth(CK, CS)._auth_header  # type: ignore


async def test_plaintext_credentials_from_before_are_sealed(db: Database) -> None:
    a, _ = create_tenant(db, "A")
    b, _ = create_tenant(db, "B")
    AppStore(db).update_settings(a.id, crm_config=_configs("https://crm.example.com")[1])
    AppStore(db).update_settings(b.id, crm_config=_configs("https://crm.example.com")[0])
    assert CK in _raw_crm(db, a.id) and TOKEN in _raw_crm(db, b.id)
    connectors = CrmConnectors(db, KEY)
    assert connectors.seal_plaintext() == 2  # at start-up
    assert CK not in _raw_crm(db, a.id) and CS not in _raw_crm(db, a.id) and TOKEN not in _raw_crm(db, b.id)
    assert connectors.seal_plaintext() == 0
    AppStore(db).update_settings(b.id, crm_config=_configs("https://crm.example.com")[0])  # in clear again
    connector = await connectors.for_app(b.id)  # sealed on read, too
    assert TOKEN not in _raw_crm(db, b.id)
    assert connector._client.headers["Authorization"] == f"Bearer {TOKEN}"  # type: ignore[attr-defined]
    await connectors.aclose()
