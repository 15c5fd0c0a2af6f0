"""The TURN URLs handed to a client: they must name a host that client can reach.

A configured public host wins; otherwise the host the client itself used to reach the API (the
WebSocket request's Host header), since a browser that reached the API there usually reaches TURN
there too; otherwise the address the server listens on.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from shopcall.turn.credentials import TurnCredential

_WILDCARDS = {"", "0.0.0.0", "::", "[::]"}


_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOST_NAME.fullmatch(host))


def host_from_header(host_header: str | None) -> str | None:
    """`example.com:8080` -> `example.com`, `[::1]:8080` -> `::1`; None for a missing or malformed header
    (the header is the client's to choose, so nothing but a host name or address goes into a URL)."""
    if not host_header:
        return None
    value = host_header.strip()
    if value.startswith("["):
        end = value.find("]")
        host = value[1:end] if end > 1 and ":" in value[1:end] else ""  # brackets hold an IPv6 address
    elif value.count(":") > 1:  # a bare IPv6 address (not valid in Host, but be lenient)
        host = value
    else:
        host = value.rsplit(":", 1)[0] if ":" in value else value
    return host if host and _valid_host(host) else None


def url_host(host: str) -> str:
    """An IPv6 literal needs brackets in a TURN URL (RFC 7065)."""
    bare = host.strip("[]")
    try:
        if isinstance(ipaddress.ip_address(bare), ipaddress.IPv6Address):
            return f"[{bare}]"
    except ValueError:
        pass
    return host


def choose_host(public_host: str | None, request_host: str | None, listen_host: str) -> str:
    for candidate in (public_host, request_host):
        if candidate and candidate.strip("[]") not in _WILDCARDS:
            return candidate.strip("[]")
    if listen_host in _WILDCARDS:
        return "127.0.0.1"
    return listen_host


def managed_urls(host: str, port: int, tls_port: int) -> list[str]:
    h = url_host(host)
    return [f"turn:{h}:{port}?transport=udp", f"turn:{h}:{port}?transport=tcp", f"turns:{h}:{tls_port}?transport=tcp"]


def ice_server_entry(urls: list[str], credential: TurnCredential) -> dict[str, Any]:
    """One RTCIceServer dict, as browsers and aiortc take it."""
    return {"urls": list(urls), "username": credential.username, "credential": credential.password}
