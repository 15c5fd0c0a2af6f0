"""A real coturn started by the supervisor: ShopCall's credentials allocate over UDP, TCP and TLS, others
are refused, and a killed coturn comes back."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest
from aioice import stun

from shopcall.turn.credentials import mint
from shopcall.turn.process import TurnProcess
from shopcall.turn.service import TurnService
from tests.turn.client import allocate, udp_listener
from tests.turn.conftest import credential, managed_settings, wrong_secret_credential

pytestmark = pytest.mark.turn


def _server(turn: TurnService, transport: str) -> tuple[str, int]:
    assert turn.config is not None
    return "127.0.0.1", turn.config.tls_port if transport == "tls" else turn.config.port


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
async def test_minted_credentials_allocate_and_relay(turn: TurnService, transport: str) -> None:
    assert turn.config is not None
    media_ip = str(next(n.network_address for n in turn.config.peers if n.version == 4))
    peer, peer_addr = await udp_listener(media_ip)
    cred = credential(turn)
    alloc = await allocate(_server(turn, transport), cred.username, cred.password, transport)
    try:
        assert alloc.relayed[0] in turn.config.relay_ips  # relayed from the media address, not loopback
        await alloc.send(b"ping", peer_addr)
        data, source = await peer.received(5)
        assert (data, source) == (b"ping", alloc.relayed)
        assert peer.transport is not None
        peer.transport.sendto(b"pong", alloc.relayed)
        assert (await alloc.received(5))[0] == b"pong"
    finally:
        await alloc.close()
        peer.close()


@pytest.mark.parametrize("transport", ["udp", "tls"])
async def test_wrong_or_expired_credentials_are_refused(turn: TurnService, transport: str) -> None:
    good = credential(turn)
    expired = mint(turn._secret, "cus_1", int(time.time()) - 5)
    other = mint(turn._secret, "cus_2", good.expires_at)
    wrong = wrong_secret_credential()
    cases = [(wrong.username, wrong.password), (expired.username, expired.password), (good.username, other.password)]
    for username, password in cases:
        with pytest.raises(stun.TransactionFailed) as refused:
            await allocate(_server(turn, transport), username, password, transport)
        assert refused.value.response.error_code == 401


async def test_tampered_username_is_refused(turn: TurnService) -> None:
    """The expiry is inside the HMAC: stretching it in the user name breaks the password."""
    good = credential(turn, ttl_s=60)
    later = good.username.replace(str(good.expires_at), str(good.expires_at + 86400), 1)
    with pytest.raises(stun.TransactionFailed) as refused:
        await allocate(_server(turn, "udp"), later, good.password, "udp")
    assert refused.value.response.error_code == 401


async def test_supervisor_restarts_a_killed_coturn(turn: TurnService) -> None:
    process = turn.process
    assert process is not None
    first = process.pid
    assert first is not None and await process.healthy()
    os.kill(first, signal.SIGKILL)  # only the pid this test's supervisor started
    deadline = time.monotonic() + 30
    while not (process.pid not in (None, first) and process.ready):
        assert time.monotonic() < deadline, f"coturn not back; log tail:\n{process.log_tail()}"
        await asyncio.sleep(0.05)
    assert process.restarts == 1 and await process.healthy()
    cred = credential(turn)
    alloc = await allocate(_server(turn, "udp"), cred.username, cred.password, "udp")
    await alloc.close()


async def test_a_hung_coturn_is_killed_and_replaced(tmp_path: Path) -> None:
    service = TurnService(managed_settings(tmp_path))
    config = await asyncio.to_thread(service._prepare)
    process = TurnProcess(service.settings.turn_binary, config, check_interval=0.2, failed_checks_before_restart=2)
    assert await process.start(), process.log_tail()
    try:
        first = process.pid
        assert first is not None
        os.kill(first, signal.SIGSTOP)  # alive but silent: only the watchdog's STUN checks notice
        deadline = time.monotonic() + 30
        while not (process.pid not in (None, first) and process.ready):
            assert time.monotonic() < deadline, f"hung coturn not replaced; log tail:\n{process.log_tail()}"
            await asyncio.sleep(0.05)
        assert process.restarts == 1 and await process.healthy()
    finally:
        await process.stop()
