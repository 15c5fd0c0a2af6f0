"""Web origins an app allows for its shop-page widget, and matching a browser's `Origin` against them.

An entry is `scheme://host[:port]` exactly as browsers send `Origin` (no path, no user, lower case,
default port omitted), with two wildcards: any port (`http://localhost:*`) and any subdomain as the first
label (`https://*.example.com`, which does not include `example.com` itself). Anything looser (`*`,
`*.com`, `https://shop*.example.com`) is refused, so a typo cannot open the widget to every site.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

MAX_ORIGINS = 50
SCHEMES = {"http": 80, "https": 443}
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_EXAMPLE = "e.g. https://shop.example.com or http://localhost:*"


class OriginError(ValueError):
    """An allowed-origin entry that is not valid; the message says what to write instead."""


@dataclass(frozen=True)
class Origin:
    """A concrete origin as a browser sends it; `port` always set (the scheme's default when omitted)."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        return self.scheme + "://" + self.host + ("" if self.port == SCHEMES[self.scheme] else f":{self.port}")


@dataclass(frozen=True)
class OriginPattern:
    scheme: str
    host: str  # without the "*." of a subdomain wildcard
    port: int | None  # None: any port
    subdomains: bool = False  # "*.host": any subdomain of host, not host itself

    def matches(self, origin: Origin) -> bool:
        if origin.scheme != self.scheme or (self.port is not None and origin.port != self.port):
            return False
        if self.subdomains:
            return origin.host.endswith("." + self.host) and not _is_ip(origin.host)
        return origin.host == self.host

    def __str__(self) -> str:
        host = ("*." if self.subdomains else "") + self.host
        port = ":*" if self.port is None else "" if self.port == SCHEMES[self.scheme] else f":{self.port}"
        return f"{self.scheme}://{host}{port}"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _split(text: str) -> tuple[str, str, str | None]:
    """(scheme, host, port text or None) of `scheme://host[:port]`, refusing paths, users, queries."""
    scheme, sep, rest = text.partition("://")
    if not sep or not scheme:
        raise OriginError(f"an origin is scheme://host[:port], {_EXAMPLE}")
    scheme = scheme.lower()
    if scheme not in SCHEMES:
        raise OriginError(f"the scheme must be http or https, not {scheme!r}")
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=-1)
    if cut >= 0:
        raise OriginError(f"an origin has no path, query or fragment: write {scheme}://{rest[:cut]}")
    if "@" in rest:
        raise OriginError("an origin has no user name or password")
    if rest.startswith("["):  # IPv6 literal
        end = rest.find("]")
        if end < 0:
            raise OriginError("an IPv6 address is written in brackets, e.g. http://[::1]:8080")
        host, after = rest[:end + 1], rest[end + 1:]
        if after and not after.startswith(":"):
            raise OriginError(f"unexpected {after!r} after the host")
        return scheme, host, after[1:] if after else None
    host, colon, port = rest.partition(":")
    return scheme, host, port if colon else None


def _port(text: str | None, scheme: str, wildcard_ok: bool) -> int | None:
    if text is None:
        return SCHEMES[scheme]
    if text == "*" and wildcard_ok:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise OriginError(f"the port must be 1-65535{' or *' if wildcard_ok else ''}, not {text!r}")
    return int(text)


def _host(text: str) -> str:
    """The host in the form browsers put in `Origin`: lower case, IDNA (punycode), IPv6 compressed."""
    if text.startswith("["):
        try:
            return f"[{ipaddress.IPv6Address(text[1:-1]).compressed}]"
        except ValueError:
            raise OriginError(f"{text} is not an IPv6 address") from None
    if "*" in text:
        raise OriginError("a wildcard is allowed only as the whole first label of the host (*.example.com)")
    try:
        host = text.encode("idna").decode("ascii").lower() if not text.isascii() else text.lower()
    except UnicodeError:
        raise OriginError(f"{text!r} is not a valid host name") from None
    if not host or len(host) > 253 or not all(_LABEL.fullmatch(label) for label in host.split(".")):
        raise OriginError(f"{text!r} is not a valid host name (letters, digits, hyphens and dots)")
    return host


def parse_pattern(text: str) -> OriginPattern:
    """One allowed-origin entry; OriginError says what is wrong."""
    text = text.strip()
    if text in ("*", "null"):
        raise OriginError(f"{text!r} would allow pages of any site; list your shop's origins, {_EXAMPLE}")
    scheme, host, port = _split(text)
    subdomains = host.startswith("*.")
    if subdomains:
        host = host[2:]
        if _is_ip(host):
            raise OriginError("a subdomain wildcard needs a domain name, not an address")
    host = _host(host)
    if subdomains and host.count(".") < 1:
        raise OriginError(f"*.{host} would allow a whole top-level domain; name your own domain (*.example.com)")
    return OriginPattern(scheme, host, _port(port, scheme, wildcard_ok=True), subdomains)


def parse_origin(text: str) -> Origin | None:
    """A browser's `Origin` header, or None if it is `null` (sandboxed or file pages) or malformed."""
    try:
        scheme, host, port = _split(text.strip())
        if "*" in text:
            return None
        parsed_port = _port(port, scheme, wildcard_ok=False)
        return Origin(scheme, _host(host), parsed_port if parsed_port is not None else SCHEMES[scheme])
    except OriginError:
        return None


def normalise(entries: list[str]) -> list[str]:
    """The entries in canonical form, duplicates dropped, order kept; OriginError names the bad entry."""
    if len(entries) > MAX_ORIGINS:
        raise OriginError(f"at most {MAX_ORIGINS} allowed origins")
    out: list[str] = []
    for i, entry in enumerate(entries):
        try:
            canonical = str(parse_pattern(entry))
        except OriginError as e:
            raise OriginError(f"allowed_origins[{i}] {entry!r}: {e}") from None
        if canonical not in out:
            out.append(canonical)
    return out


def allows(patterns: list[str], origin: Origin) -> bool:
    """True if a stored (already normalised) entry admits `origin`; a damaged entry admits nothing."""
    for entry in patterns:
        try:
            if parse_pattern(entry).matches(origin):
                return True
        except OriginError:
            continue
    return False
