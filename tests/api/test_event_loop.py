"""Slow storage, health checks and CRM lookups never stall the event loop (real server, real sockets).

The real app runs under uvicorn on a free port with a recording storage whose every call takes
5 s. A signalling client pings every 50 ms while recording playback, download and presigned-URL
requests, /healthz and CRM lookups run concurrently: every pong must come back within 100 ms.
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from shopcall.app import create_app
from shopcall.auth import tokens
from shopcall.auth.secrets import load_signing_key
from shopcall.config import Settings
from shopcall.console.accounts import upsert_agent
from shopcall.db.engine import Database
from shopcall.db.models import Recording
from shopcall.rooms.apps import create_app as create_tenant
from shopcall.rooms.store import RoomStore

DELAY_S = 5.0
PING_EVERY_S = 0.05
MAX_RTT_S = 0.1
BODY = b"\0" * 4096


class SlowStorage:
    """A RecordingStorage whose every call blocks for DELAY_S, like an object store that hangs."""

    name = "slow"

    def _wait(self) -> None:
        time.sleep(DELAY_S)

    def put_file(self, key: str, path: Path, content_type: str = "video/webm") -> int:
        self._wait()
        return len(BODY)

    def open_range(self, key: str, start: int = 0, end: int | None = None) -> tuple[Iterator[bytes], int]:
        self._wait()
        last = len(BODY) - 1 if end is None else min(end, len(BODY) - 1)
        return iter([BODY[start:last + 1]]), len(BODY)

    def size(self, key: str) -> int | None:
        self._wait()
        return len(BODY)

    def exists(self, key: str) -> bool:
        self._wait()
        return True

    def delete(self, key: str) -> bool:
        self._wait()
        return True

    def presigned_url(self, key: str, expires_s: int = 3600) -> str | None:
        self._wait()
        return "https://objects.example/" + key if key.startswith("url/") else None


@dataclass
class Live:
    base: str
    app_id: str
    secret: str
    cookie: str
    token: str
    call_id: str


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    settings = Settings(data_dir=tmp_path / "data", media_backend="none")
    app = create_app(settings, storage=SlowStorage())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    db = Database(settings.db_url)  # the app's database, migrated by its lifespan
    try:
        tenant, secret = create_tenant(db, "Shop")
        upsert_agent(db, tenant.id, "anna", name="Anna", password="pw-anna", role="admin")
        rooms = RoomStore(db)
        room = rooms.create_room(tenant.id)
        call = rooms.create_call(tenant.id, room.id, "cus_1", "Carla", {}, customer_id="c-1")
        with db.session() as s:
            for rec_id, key in (("rec_play", "local/a/rec_play/composite.mp4"), ("rec_url", "url/rec_url.mp4")):
                s.add(Recording(id=rec_id, app_id=tenant.id, room_id=room.id, call_id=call.id, status="ready",
                                storage_key=key, size_bytes=len(BODY)))
        base = f"http://127.0.0.1:{port}"
        login = httpx.post(base + "/v1/console/login",
                           json={"app_id": tenant.id, "login": "anna", "password": "pw-anna"})
        assert login.status_code == 200, login.text
        token = tokens.mint(load_signing_key(settings.data_dir), app_id=tenant.id, identity="cus_2",
                            role="shopper")[0]
        yield Live(base, tenant.id, secret, login.cookies["sc_console"], token, call.id)
    finally:
        db.dispose()
        server.should_exit = True
        thread.join(15)


async def _pinger(ws: ClientConnection, stop: asyncio.Event, rtts: list[float]) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        sent = time.monotonic()
        await ws.send(json.dumps({"type": "ping", "id": f"p{n}"}))
        while True:
            msg = json.loads(await ws.recv())
            if msg.get("type") == "pong":
                break
        rtts.append(time.monotonic() - sent)
        await asyncio.sleep(PING_EVERY_S)


async def test_slow_storage_health_and_crm_do_not_delay_pings(live: Live) -> None:
    console: dict[str, object] = {}  # the console's session cookie is set on the client
    merchant = {"auth": (live.app_id, live.secret)}
    requests = [
        ("GET", "/v1/console/recordings/rec_play/media", {**console, "headers": {"Range": "bytes=0-99"}}),  # playback
        ("GET", "/v1/recordings/rec_play/media", merchant),  # download
        ("GET", "/v1/console/recordings/rec_url/media", console),  # presigned URL
        ("GET", "/healthz", {}),
        ("GET", "/healthz", {}),
        ("GET", f"/v1/console/calls/{live.call_id}/crm", console),
        ("GET", f"/v1/console/calls/{live.call_id}/crm", console),
    ]
    async with connect(live.base.replace("http", "ws") + "/v1/signal") as ws:
        await ws.send(json.dumps({"type": "hello", "id": "h", "token": live.token}))
        assert json.loads(await ws.recv())["type"] == "welcome"
        stop, rtts = asyncio.Event(), list[float]()
        pinger = asyncio.create_task(_pinger(ws, stop, rtts))
        await asyncio.sleep(0.3)
        before = len(rtts)
        async with httpx.AsyncClient(base_url=live.base, timeout=60, cookies={"sc_console": live.cookie}) as http:
            started = time.monotonic()
            answers = await asyncio.gather(*(http.request(m, path, **kw) for m, path, kw in requests))
            took = time.monotonic() - started
        stop.set()
        await pinger
    during = rtts[before:]
    print(f"ping RTT during {took:.1f} s of slow requests: n={len(during)} max={max(during) * 1000:.1f} ms "
          f"median={statistics.median(during) * 1000:.1f} ms")
    codes = [(path, r.status_code) for (_, path, _), r in zip(requests, answers, strict=True)]
    assert [c for _, c in codes] == [206, 200, 307, 200, 200, 200, 200], codes
    assert took >= DELAY_S  # the storage really was slow
    assert max(during) < MAX_RTT_S, f"worst ping RTT {max(during) * 1000:.0f} ms while storage was slow"
    assert len(during) >= took / (PING_EVERY_S + MAX_RTT_S) * 0.8  # pinged all along
