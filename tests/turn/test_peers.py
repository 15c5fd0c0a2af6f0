"""Which peers the relay may reach: unit tests of the address policy, and test (f) of issue 12 against a
real coturn started by a real ShopCall: a TURN allocation cannot reach the database, Redis, the control
plane or any other address, while the media server's address is reachable (so the test can fail)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from aioice import stun

from shopcall.api.deps import services_of
from shopcall.config import Settings
from shopcall.turn.peers import Interface, allowed_peers, coturn_range, media_addresses, parse_peer
from tests.signalling.server import LiveServer, start_server
from tests.turn.client import UdpListener, allocate, request_tcp_relay, udp_listener
from tests.turn.conftest import credential, managed_settings

ip = ipaddress.ip_address
HOST = [
    Interface("lo", True, (ip("127.0.0.1"), ip("::1"))),
    Interface("eth0", True, (ip("192.0.2.2"), ip("fd00::2"), ip("fe80::1"))),
    Interface("veth-shop", True, (ip("10.77.0.1"),)),
    Interface("eth9", False, (ip("198.51.100.9"),)),
]


def test_default_is_every_up_interface_but_loopback_and_link_local(tmp_path: Path) -> None:
    found = media_addresses(Settings(data_dir=tmp_path), HOST)
    assert found == [ip("192.0.2.2"), ip("fd00::2"), ip("10.77.0.1")]


def test_ice_interfaces_narrow_and_public_ip_is_added(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, ice_interfaces="veth-shop,eth9", public_ip="203.0.113.7")
    assert media_addresses(s, HOST) == [ip("10.77.0.1"), ip("198.51.100.9"), ip("203.0.113.7")]


def test_loopback_only_ice_interfaces_relay_to_nothing(tmp_path: Path) -> None:
    assert media_addresses(Settings(data_dir=tmp_path, ice_interfaces="lo"), HOST) == []


def test_unknown_ice_interface_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="eht0, which this host does not have"):
        media_addresses(Settings(data_dir=tmp_path, ice_interfaces="eht0"), HOST)


def test_extra_peers_and_their_coturn_syntax(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, ice_interfaces="eth0", turn_peer_ips="10.88.0.0/24, 10.99.0.5")
    nets = allowed_peers(s, HOST)
    assert [coturn_range(n) for n in nets] == ["192.0.2.2", "fd00::2", "10.88.0.0-10.88.0.255", "10.99.0.5"]


@pytest.mark.parametrize("bad", ["127.0.0.1", "0.0.0.0/0", "::/0", "not-an-ip", "127.0.0.0/8"])
def test_extra_peers_never_open_loopback_or_everything(bad: str) -> None:
    with pytest.raises(ValueError, match="turn_peer_ips"):
        parse_peer(bad)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    s = managed_settings(tmp_path)
    srv, uv, thread = start_server(tmp_path, turn_mode="managed", turn_port=0, turn_tls_port=0,
                                   turn_binary=s.turn_binary)
    yield srv
    uv.should_exit = True
    thread.join(15)


async def _listen(host: str, port: int) -> UdpListener | None:
    """A UDP listener on (host, port) to prove nothing arrives there; None if the port is taken."""
    with contextlib.suppress(OSError):
        return (await udp_listener(host, port))[0]
    return None


@pytest.mark.turn
async def test_f_not_an_open_relay(server: LiveServer) -> None:
    turn = services_of(server.app).turn
    assert turn is not None and turn.config is not None
    media_ip = str(next(n.network_address for n in turn.config.peers if n.version == 4))
    forbidden = [("127.0.0.1", 5432), ("127.0.0.1", 6379), ("127.0.0.1", server.port), ("198.51.100.7", 5432)]
    listeners = [lst for lst in [await _listen(h, p) for h, p in forbidden[:3]] if lst is not None]
    media, media_addr = await udp_listener(media_ip)
    cred = credential(turn)
    try:
        for transport in ("udp", "tcp", "tls"):
            port = turn.config.tls_port if transport == "tls" else turn.config.port
            alloc = await allocate(("127.0.0.1", port), cred.username, cred.password, transport)
            try:
                for peer in [*forbidden, ("::1", 5432)]:
                    with pytest.raises(stun.TransactionFailed) as refused:
                        await alloc.permit(peer)
                    assert refused.value.response.error_code in (403, 443), peer  # Forbidden IP / family mismatch
                    with pytest.raises(stun.TransactionFailed):
                        await alloc.send(b"SELECT 1", peer)
                await alloc.send(transport.encode(), media_addr)  # the allowed media address IS reachable
                assert (await media.received(5))[0] == transport.encode()
            finally:
                await alloc.close()
        # No TCP relays at all, so no TCP service on any address (the control plane included) is reachable.
        with pytest.raises(stun.TransactionFailed) as refused:
            await request_tcp_relay(("127.0.0.1", turn.config.port), cred.username, cred.password)
        assert refused.value.response.error_code in (403, 442)
        await asyncio.sleep(1.0)  # anything relayed would have arrived by now
        for lst in listeners:
            assert lst.queue.empty(), "a forbidden address received relayed data"
        assert len(listeners) >= 2  # the control plane's own port is TCP: its UDP twin is free to listen on
    finally:
        media.close()
        for lst in listeners:
            lst.close()
