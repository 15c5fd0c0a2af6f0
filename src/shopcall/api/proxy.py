"""Who is calling and over what: the client address and scheme, believing `X-Forwarded-*` only
from the reverse proxies listed in `trusted_proxies`."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.requests import HTTPConnection

from shopcall.config import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=32)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())


def _trusted(settings: Settings, host: str | None) -> bool:
    if not host or not settings.trusted_proxies:
        return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(ip in net for net in _networks(tuple(settings.trusted_proxies)))


def client_address(conn: HTTPConnection, settings: Settings) -> str:
    """The peer's address, or the last untrusted hop of X-Forwarded-For when the peer is a trusted proxy."""
    peer = conn.client.host if conn.client else "unknown"
    if not _trusted(settings, peer):
        return peer
    hops = [h.strip() for h in conn.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(settings, hop):
            return hop
    return hops[0] if hops else peer


def over_tls(conn: HTTPConnection, settings: Settings) -> bool:
    """True when this request came over TLS: the connection itself (`serve --tls-*`), or a trusted proxy says
    so in X-Forwarded-Proto."""
    if conn.url.scheme in ("https", "wss"):
        return True
    peer = conn.client.host if conn.client else None
    proto = conn.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return _trusted(settings, peer) and proto == "https"


def is_https(conn: HTTPConnection, settings: Settings) -> bool:
    """True when the browser reached us over TLS: public_url is https (or the server serves TLS itself), the
    connection itself is, or a trusted proxy says so in X-Forwarded-Proto."""
    return settings.base_url.startswith("https://") or over_tls(conn, settings)
