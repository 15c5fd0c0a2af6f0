"""Requests the server makes on a tenant's behalf (webhooks, CRM connectors) go to public addresses only.

A tenant chooses these URLs; unchecked, the server would fetch its own loopback services, the cloud
metadata endpoint (169.254.169.254) or the office network for them (SSRF). Two checks:

- `check_url` when a URL is saved: scheme, the localhost names and IP literals in every spelling
  (`[::1]`, `0x7f000001`, `2130706433`, `127.1`, `::ffff:127.0.0.1`), for a clear answer at once.
- `guarded_client` at connect time: the host is resolved, every address is checked, and the socket
  goes to the checked address, so a name that re-resolves elsewhere (DNS rebinding) gains nothing.
  A refused address is never connected to. TLS verification, SNI and the Host header keep the name.

The operator (never a tenant) may admit networks or host names (`outbound_allow` setting), e.g. an
on-premises CRM. httpx-secure was considered: it picks addresses by opening TCP probes (also to
refused ones), caches refusals, and cannot admit a private network without replacing its whole check.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

import anyio
import httpcore
import httpx

Address = IPv4Address | IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
BLOCKED = "blocked: address not allowed"  # what a delivery log or a CRM panel may say; nothing more specific

_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_NUMBER = re.compile(r"0x[0-9a-f]*|[0-9]+")
_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*")
_NAT64 = IPv6Network("64:ff9b::/96")


class UrlNotAllowed(ValueError):
    """A configured URL the server will not fetch; the message says why (safe to show the tenant)."""


class AddressNotAllowed(Exception):
    """Raised at connect time instead of connecting. Not an httpx error, so it passes through httpx unchanged."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"{BLOCKED} ({reason})")
        self.reason = reason


def _reason(ip: Address) -> str | None:
    for flag, why in (("is_unspecified", "unspecified"), ("is_loopback", "loopback"),
                      ("is_link_local", "link-local"), ("is_multicast", "multicast"), ("is_private", "private"),
                      ("is_reserved", "reserved")):
        if getattr(ip, flag):
            return why
    return None if ip.is_global else "special-purpose"


def _embedded_v4(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address inside IPv4-mapped, 6to4, NAT64 and IPv4-compatible IPv6 addresses."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or int(ip) >> 32 == 0:
        return IPv4Address(ip.packed[-4:])
    return None


def address_reason(ip: Address) -> str | None:
    """Why `ip` is refused by default ("loopback", "private", ...), or None for a public address."""
    if isinstance(ip, IPv6Address) and (v4 := _embedded_v4(ip)) is not None and int(ip) > 1:
        return _reason(v4) or _reason(ip)
    return _reason(ip)


def literal_address(host: str) -> Address | None:
    """`host` as an IP address if it is one in any spelling a resolver accepts (127.1, 0x7f000001, 017700000001).

    Raises UrlNotAllowed for a host that looks numeric but is no valid address (e.g. 256.1.1.1).
    """
    host = host.strip("[]").rstrip(".").lower()
    try:
        return ip_address(host)
    except ValueError:
        pass
    labels = host.split(".")
    if not _NUMBER.fullmatch(labels[-1]):
        return None  # a name: the last label of a domain name is never numeric
    parts: list[int] = []
    for label in labels:
        if not _NUMBER.fullmatch(label) or len(labels) > 4:
            raise UrlNotAllowed(f"{host} is not a valid IPv4 address")
        try:
            parts.append(int(label, 16) if label.startswith("0x") else int(label, 8) if len(label) > 1 and
                         label.startswith("0") else int(label))
        except ValueError:
            raise UrlNotAllowed(f"{host} is not a valid IPv4 address") from None
    *head, last = parts
    if any(p > 255 for p in head) or last >= 256 ** (5 - len(parts)):
        raise UrlNotAllowed(f"{host} is not a valid IPv4 address")
    value = last
    for i, p in enumerate(head):
        value += p << (8 * (3 - i))
    return IPv4Address(value)


@dataclass(frozen=True)
class OutboundPolicy:
    """Public addresses only, plus what the operator admits. `OutboundPolicy()` is the safe default."""

    networks: tuple[IPv4Network | IPv6Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> OutboundPolicy:
        """From the `outbound_allow` setting: networks (10.0.0.0/8), addresses (127.0.0.1) or host names."""
        nets: list[IPv4Network | IPv6Network] = []
        hosts: set[str] = set()
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                nets.append(ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                if not _HOSTNAME.fullmatch(entry):
                    raise ValueError(f"outbound_allow: {raw!r} is neither a network, an address nor a host name") \
                        from None
                hosts.add(entry)
        return cls(tuple(nets), frozenset(hosts))

    def admits_host(self, host: str) -> bool:
        return host.strip("[]").rstrip(".").lower() in self.hosts

    def reason(self, ip: Address) -> str | None:
        """None if the server may connect to `ip`, else why not."""
        candidates: list[Address] = [ip]
        if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        if any(c in net for c in candidates for net in self.networks if net.version == c.version):
            return None
        return address_reason(ip)


def check_url(url: str, policy: OutboundPolicy) -> str:
    """The save-time check; returns the URL or raises UrlNotAllowed with a message for the tenant."""
    try:
        u = httpx.URL(url.strip())
    except (httpx.InvalidURL, ValueError):
        raise UrlNotAllowed("not a valid URL") from None
    if u.scheme not in ("http", "https") or not u.host:
        raise UrlNotAllowed("must be an http:// or https:// URL with a host")
    if u.userinfo:
        raise UrlNotAllowed("must not contain credentials (they would be stored and shown in clear)")
    host = u.host.rstrip(".").lower()
    if policy.admits_host(host):
        return url.strip()
    ip = literal_address(host)
    if ip is None and (host in _LOCAL_NAMES or host.endswith(".localhost")):
        ip = IPv4Address("127.0.0.1")
    why = policy.reason(ip) if ip is not None else None
    if why is not None:
        raise UrlNotAllowed(f"address not allowed: {host} is {why}; outbound requests go to public addresses only")
    return url.strip()


async def _getaddrinfo(host: str, port: int) -> Sequence[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks every address, then connects to a checked one (never to the name again)."""

    def __init__(self, policy: OutboundPolicy, resolve: Resolver) -> None:
        self._policy, self._resolve = policy, resolve
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                found = await self._resolve(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout("name resolution timed out") from None
        except OSError:
            raise httpcore.ConnectError("cannot resolve the host name") from None
        addresses = [ip_address(a.split("%", 1)[0]) for a in found]
        if not addresses:
            raise httpcore.ConnectError("cannot resolve the host name")
        if not self._policy.admits_host(host):
            # One refused address refuses the name: a name that mixes public and internal addresses is a trick.
            for a in addresses:
                if (why := self._policy.reason(a)) is not None:
                    raise AddressNotAllowed(why)
        return await self._inner.connect_tcp(str(addresses[0]), port, timeout=timeout, local_address=local_address,
                                             socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, policy: OutboundPolicy, resolve: Resolver) -> None:
        super().__init__(trust_env=False)
        # httpx builds its pool without a way to pass a network backend; this one is the same pool otherwise.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False), max_connections=100,
            max_keepalive_connections=20, keepalive_expiry=5.0, http1=True, http2=False,
            network_backend=_GuardedBackend(policy, resolve))


def guarded_client(policy: OutboundPolicy, *, resolve: Resolver | None = None, **kwargs: Any) -> httpx.AsyncClient:
    """An AsyncClient whose every connection is checked. No proxies from the environment (a proxy would
    resolve the name itself) and no redirects (a redirect could name any host)."""
    return httpx.AsyncClient(transport=_GuardedTransport(policy, resolve or _getaddrinfo), trust_env=False,
                             follow_redirects=False, **kwargs)
