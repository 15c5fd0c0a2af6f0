"""Client address and scheme: X-Forwarded-* are believed only from configured trusted proxies."""

from __future__ import annotations

from starlette.requests import Request

from shopcall.api.proxy import client_address, is_https
from shopcall.config import Settings


def _req(peer: str, headers: dict[str, str], scheme: str = "http") -> Request:
    return Request({"type": "http", "scheme": scheme, "server": ("x", 80), "path": "/", "client": (peer, 1),
                    "headers": [(k.encode(), v.encode()) for k, v in headers.items()], "query_string": b""})


def test_forwarded_headers_only_from_trusted_proxies(tmp_path) -> None:
    plain = Settings(data_dir=tmp_path)
    proxied = Settings(data_dir=tmp_path, trusted_proxies=["10.0.0.0/8", "192.168.1.1"])
    h = {"x-forwarded-for": "203.0.113.9, 198.51.100.7, 10.0.0.2", "x-forwarded-proto": "https"}
    assert client_address(_req("10.0.0.1", h), plain) == "10.0.0.1"
    assert not is_https(_req("10.0.0.1", h), plain)
    # the last hop that is not a trusted proxy is the client (earlier hops can be forged by it)
    assert client_address(_req("10.0.0.1", h), proxied) == "198.51.100.7"
    assert is_https(_req("10.0.0.1", h), proxied)
    assert client_address(_req("203.0.113.50", h), proxied) == "203.0.113.50"
    assert not is_https(_req("203.0.113.50", h), proxied)
    assert client_address(_req("192.168.1.1", {}), proxied) == "192.168.1.1"
    assert is_https(_req("1.2.3.4", {}), Settings(data_dir=tmp_path, public_url="https://calls.example"))
