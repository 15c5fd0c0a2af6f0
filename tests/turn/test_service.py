"""TurnService: modes, and a real signalling connection whose welcome carries working TURN credentials,
with /healthz following coturn down and back up."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from websockets.asyncio.client import connect

from shopcall.api.deps import services_of
from shopcall.config import Settings
from shopcall.turn.credentials import mint
from shopcall.turn.service import TurnService, resolve_mode
from tests.signalling.server import LiveServer, start_server
from tests.turn.client import allocate
from tests.turn.conftest import managed_settings


def test_auto_is_managed_only_with_coturn_and_real_media(tmp_path: Path) -> None:
    base = {"data_dir": tmp_path, "turn_mode": "auto"}
    assert resolve_mode(Settings(**base, turn_binary="/bin/true")) == "managed"  # type: ignore[arg-type]
    assert resolve_mode(Settings(**base, turn_binary=str(tmp_path / "none"))) == "off"  # type: ignore[arg-type]
    assert resolve_mode(Settings(**base, turn_binary="/bin/true", media_backend="none")) == "off"  # type: ignore[arg-type]


async def test_off_mode_keeps_an_empty_list(tmp_path: Path) -> None:
    service = TurnService(Settings(data_dir=tmp_path, turn_mode="off"))
    await service.start()
    assert service.ice_servers("cus_1", 2_000_000_000, "shop.example") == []
    assert await service.state() == "off"
    assert not (tmp_path / "turn.secret").exists()


async def test_external_mode_mints_for_the_operators_urls(tmp_path: Path) -> None:
    urls = ["turn:turn.example.net:3478?transport=udp", "turns:turn.example.net:443?transport=tcp"]
    service = TurnService(Settings(data_dir=tmp_path, turn_mode="external", turn_urls=urls,
                                   turn_secret="shared-with-the-external-service"))  # type: ignore[arg-type]
    await service.start()
    assert service.process is None and await service.state() == "external"
    entry = service.ice_servers("cus_1", 1_900_000_000, "shop.example")[0]
    expected = mint("shared-with-the-external-service", "cus_1", 1_900_000_000)
    assert entry == {"urls": urls, "username": expected.username, "credential": expected.password}


def test_external_mode_without_urls_or_secret_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="needs turn_urls and turn_secret"):
        Settings(data_dir=tmp_path, turn_mode="external", turn_urls=["turn:x:3478"])


def test_relay_ports_must_not_overlap_janus(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="overlap Janus's RTP ports"):
        Settings(data_dir=tmp_path, rtp_port_min=50500, rtp_port_max=50600)


def test_short_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 16"):
        TurnService(Settings(data_dir=tmp_path, turn_mode="external", turn_urls=["turn:x:1"],
                             turn_secret="short"))  # type: ignore[arg-type]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    settings = managed_settings(tmp_path)
    srv, uv, thread = start_server(tmp_path, **{k: getattr(settings, k) for k in
                                                ("turn_mode", "turn_port", "turn_tls_port", "turn_binary")})
    yield srv
    uv.should_exit = True
    thread.join(15)


def _health(srv: LiveServer) -> dict[str, object]:
    body: dict[str, object] = httpx.get(f"http://127.0.0.1:{srv.port}/healthz", timeout=5).json()
    return body


@pytest.mark.turn
async def test_welcome_and_refresh_carry_working_credentials_that_expire_with_the_token(server: LiveServer) -> None:
    app_id = server.tenant("Shop")
    token = server.token(app_id, "cus_7", ttl_s=900)
    async with connect(server.url) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        welcome = json.loads(await ws.recv())
        # a refreshed token brings credentials for its new expiry
        await ws.send(json.dumps({"type": "refresh", "id": "r1", "token": server.token(app_id, "cus_7", ttl_s=1800)}))
        refreshed = json.loads(await ws.recv())
    assert welcome["type"] == "welcome" and refreshed["type"] == "refreshed"
    assert refreshed["ice_servers"][0]["username"] == f"{refreshed['expires_at']}:cus_7"
    assert refreshed["expires_at"] > welcome["expires_at"]
    [entry] = welcome["ice_servers"]
    assert entry["username"] == f"{welcome['expires_at']}:cus_7"
    assert abs(welcome["expires_at"] - (time.time() + 900)) < 60
    turn = services_of(server.app).turn
    assert turn is not None and turn.config is not None
    port, tls = turn.config.port, turn.config.tls_port
    assert entry["urls"] == [f"turn:127.0.0.1:{port}?transport=udp", f"turn:127.0.0.1:{port}?transport=tcp",
                             f"turns:127.0.0.1:{tls}?transport=tcp"]  # the host the client reached the API at
    for url, transport in zip(entry["urls"], ("udp", "tcp", "tls"), strict=True):
        where = re.fullmatch(r"turns?:([^:?]+):(\d+)\?transport=(udp|tcp)", url)
        assert where, url
        alloc = await allocate((where[1], int(where[2])), entry["username"], entry["credential"], transport)
        await alloc.close()


@pytest.mark.turn
async def test_healthz_shows_turn_down_then_ok_after_a_kill(server: LiveServer) -> None:
    assert _health(server)["turn"] == "ok"
    turn = services_of(server.app).turn
    assert turn is not None and turn.process is not None
    pid = turn.process.pid
    assert pid is not None

    async def wait_for(state: str) -> None:
        deadline = time.monotonic() + 30
        while (await asyncio.to_thread(_health, server))["turn"] != state:
            assert time.monotonic() < deadline, f"turn never {state}; log:\n{turn.process.log_tail()}"
            await asyncio.sleep(0.05)

    # Frozen first, so /healthz is seen down however slow this machine is (a killed coturn is back in ~1 s),
    # then killed: the supervisor starts a new one. Only the pid this test's server started is signalled.
    os.kill(pid, signal.SIGSTOP)
    try:
        await wait_for("down")
    finally:
        os.kill(pid, signal.SIGKILL)
    await wait_for("ok")
    assert turn.process.pid not in (None, pid) and turn.process.restarts == 1
