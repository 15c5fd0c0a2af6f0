"""Which host the TURN URLs name, and how the URLs look."""

from __future__ import annotations

import pytest

from shopcall.turn.credentials import mint
from shopcall.turn.urls import choose_host, host_from_header, ice_server_entry, managed_urls, url_host


@pytest.mark.parametrize(("header", "host"), [
    ("shop.example:8080", "shop.example"), ("shop.example", "shop.example"), ("[2001:db8::5]:443", "2001:db8::5"),
    ("[::1]", "::1"), ("10.0.0.7:8080", "10.0.0.7"), ("", None), (None, None), ("[", None),
    ("evil?transport=tcp:80", None), ("a b", None), ("[not-ipv6]:1", None), ("-x.example", None),
])
def test_host_from_header(header: str | None, host: str | None) -> None:
    assert host_from_header(header) == host


def test_public_host_wins_over_request_host() -> None:
    assert choose_host("turn.example.com", "shop.example", "0.0.0.0") == "turn.example.com"


def test_request_host_then_listen_address() -> None:
    assert choose_host(None, "shop.example", "10.0.0.1") == "shop.example"
    assert choose_host(None, None, "10.0.0.1") == "10.0.0.1"
    assert choose_host(None, "0.0.0.0", "0.0.0.0") == "127.0.0.1"


def test_urls_for_a_name_and_an_ipv6_host() -> None:
    assert managed_urls("turn.example.com", 3478, 443) == [
        "turn:turn.example.com:3478?transport=udp", "turn:turn.example.com:3478?transport=tcp",
        "turns:turn.example.com:443?transport=tcp"]
    assert managed_urls("2001:db8::5", 3478, 5349)[0] == "turn:[2001:db8::5]:3478?transport=udp"
    assert url_host("[2001:db8::5]") == "[2001:db8::5]"
    assert url_host("192.0.2.1") == "192.0.2.1"


def test_ice_server_entry_is_an_rtciceserver() -> None:
    cred = mint("north-wind-secret", "cus_42", 1700000000)
    entry = ice_server_entry(["turn:h:1?transport=udp"], cred)
    assert entry == {"urls": ["turn:h:1?transport=udp"], "username": "1700000000:cus_42",
                     "credential": cred.password}
