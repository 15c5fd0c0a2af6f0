"""Outbound guard (SSRF): every spelling of an internal address is refused when saved and, after DNS
resolution, when connecting; a refused address is never connected to; the operator allowlist admits."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Sequence
from ipaddress import ip_address

import httpx
import pytest

from shopcall.outbound import (
    AddressNotAllowed,
    OutboundPolicy,
    UrlNotAllowed,
    address_reason,
    check_url,
    guarded_client,
)

BAD_URLS = {
    "http://127.0.0.1/": "loopback",
    "http://[::1]:8080/": "loopback",
    "http://0x7f000001/": "loopback",
    "http://2130706433/": "loopback",
    "http://127.1/": "loopback",
    "http://017700000001/": "loopback",
    "http://[::ffff:127.0.0.1]/": "loopback",
    "http://[::ffff:7f00:1]/": "loopback",
    "http://localhost:9000/x": "loopback",
    "http://api.localhost/": "loopback",
    "http://LOCALHOST./": "loopback",
    "http://169.254.169.254/latest/meta-data/": "link-local",
    "http://[fe80::1]/": "link-local",
    "http://10.1.2.3/": "private",
    "http://172.16.0.1/": "private",
    "http://192.168.0.10./": "private",
    "http://[fc00::1]/": "private",
    "http://[fd12:3456::1]/": "private",
    "http://224.0.0.1/": "multicast",
    "http://[ff02::1]/": "multicast",
    "http://0.0.0.0/": "unspecified",
    "http://0/": "unspecified",
    "http://[::]/": "unspecified",
    "http://100.64.0.1/": "special-purpose",
    "https://[64:ff9b::a00:1]/": "private",  # NAT64 of 10.0.0.1
    "https://[2002:7f00:1::]/": "loopback",  # 6to4 of 127.0.0.1
}


@pytest.mark.parametrize("url,why", BAD_URLS.items())
def test_internal_addresses_are_refused_when_saved(url: str, why: str) -> None:
    with pytest.raises(UrlNotAllowed, match=f"address not allowed: .* is {why};"):
        check_url(url, OutboundPolicy())


@pytest.mark.parametrize("url", ["http://256.1.1.1/", "http://0177.0.0.1/", "ftp://example.com/", "http:///x", "http://u:p@example.com/"])
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(UrlNotAllowed):
        check_url(url, OutboundPolicy())


@pytest.mark.parametrize("url", ["https://shop.example.com/hook", "http://8.8.8.8:8080/", "https://[2606:4700::1]/",
                                 "https://1.2.3.4.example.com/"])
def test_public_urls_pass(url: str) -> None:
    assert check_url(url, OutboundPolicy()) == url


def test_operator_allowlist_admits_networks_and_names() -> None:
    policy = OutboundPolicy.parse(["10.0.0.0/8", " 127.0.0.1 ", "crm.corp.lan", ""])
    assert check_url("http://10.9.8.7/crm", policy) and check_url("http://127.0.0.1:8000/", policy)
    assert check_url("http://[::ffff:127.0.0.1]/", policy)
    assert check_url("http://localhost/", policy)  # localhost is 127.0.0.1
    assert check_url("http://crm.corp.lan/", policy)
    with pytest.raises(UrlNotAllowed):
        check_url("http://192.168.1.1/", policy)
    with pytest.raises(ValueError, match="outbound_allow"):
        OutboundPolicy.parse(["not a host!"])


def test_classification() -> None:
    assert address_reason(ip_address("93.184.216.34")) is None
    assert address_reason(ip_address("::ffff:10.0.0.1")) == "private"
    assert address_reason(ip_address("::1")) == "loopback"


class Listener:
    """A TCP service on 127.0.0.1 that counts connections and answers HTTP 200 "internal secret"."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 15\r\nconnection: close\r\n\r\ninternal secret")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


async def test_a_name_resolving_to_loopback_is_never_connected_to(listener: Listener) -> None:
    # `localhost` resolves through /etc/hosts: the check after resolution is what refuses it.
    async with guarded_client(OutboundPolicy()) as client:
        for url in (f"http://localhost:{listener.port}/", f"http://127.0.0.1:{listener.port}/",
                    f"http://0x7f000001:{listener.port}/", f"http://2130706433:{listener.port}/"):
            with pytest.raises(AddressNotAllowed):
                await client.get(url)
    assert listener.accepted == 0


async def test_dns_rebinding_gets_nothing(listener: Listener) -> None:
    """The name resolves to a public address at save time and to loopback when connecting."""
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])

    async def resolve(host: str, port: int) -> Sequence[str]:
        return next(answers)

    assert check_url(f"http://rebind.example:{listener.port}/", OutboundPolicy())
    next(answers)  # what the save-time lookup would have seen
    async with guarded_client(OutboundPolicy(), resolve=resolve) as client:
        with pytest.raises(AddressNotAllowed, match="loopback"):
            await client.get(f"http://rebind.example:{listener.port}/")
    assert listener.accepted == 0


async def test_one_internal_address_among_public_ones_refuses_the_name(listener: Listener) -> None:
    async def resolve(host: str, port: int) -> Sequence[str]:
        return ["93.184.216.34", "10.0.0.5"]

    async with guarded_client(OutboundPolicy(), resolve=resolve) as client:
        with pytest.raises(AddressNotAllowed, match="private"):
            await client.get("http://mixed.example/")


async def test_the_connection_goes_to_the_checked_address_with_the_original_host_header(listener: Listener) -> None:
    seen: list[str] = []

    async def resolve(host: str, port: int) -> Sequence[str]:
        seen.append(host)
        return ["127.0.0.1"]

    async with guarded_client(OutboundPolicy.parse(["127.0.0.1/32"]), resolve=resolve) as client:
        r = await client.get(f"http://crm.internal.example:{listener.port}/")
    assert (r.status_code, r.text, seen, listener.accepted) == (200, "internal secret", ["crm.internal.example"], 1)
    assert r.request.headers["host"] == f"crm.internal.example:{listener.port}"


async def test_no_proxy_from_the_environment(listener: Listener, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{listener.port}")
    monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{listener.port}")
    async with guarded_client(OutboundPolicy()) as client:
        with pytest.raises((AddressNotAllowed, httpx.ConnectError)):
            await client.get("http://127.0.0.2:9/")
    assert listener.accepted == 0
