"""What a data subject (one shopper) is, and the contract every store with personal data implements.

The privacy service (`shopcall.privacy`) finds a shopper, exports and erases them by asking each store's
`SubjectSource`; a store that owns personal-data tables lists them in `tables`, so a test can prove that
no table is forgotten. This module sits at the bottom (next to the models) so stores of every layer can
implement the protocol without importing the privacy service above them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

ERASED = "[erased]"


@dataclass
class Subject:
    """Everything known to identify one shopper inside one app (filled in by the sources, in rounds)."""

    app_id: str
    query: str
    identities: set[str] = field(default_factory=set)  # signalling identities (participants, calls)
    customer_ids: set[str] = field(default_factory=set)  # the merchant's customer ids (CRM external_id)
    emails: set[str] = field(default_factory=set)  # lower case
    names: set[str] = field(default_factory=set)
    ips: set[str] = field(default_factory=set)
    rooms: set[str] = field(default_factory=set)  # rooms the shopper was in
    calls: set[str] = field(default_factory=set)

    def size(self) -> int:
        return sum(len(s) for s in (self.identities, self.customer_ids, self.emails, self.names, self.ips,
                                    self.rooms, self.calls))

    def needles(self) -> list[str]:
        """Strings that must not survive in free text or JSON of rows that are kept (longest first)."""
        found = {*self.identities, *self.customer_ids, *self.emails, *self.ips,
                 *(n for n in self.names if len(n) >= 3 and n.lower() not in GENERIC_NAMES)}
        return sorted((n for n in found if n), key=len, reverse=True)

    def found(self) -> bool:
        return bool(self.identities or self.customer_ids or self.emails)


GENERIC_NAMES = frozenset({"guest", "shopper", "customer", "visitor", "anonymous"})


class SubjectSource(Protocol):
    """One store's share of subject access and erasure. Every method is synchronous and tenant-scoped."""

    name: str
    tables: tuple[str, ...]  # the tables this source covers (checked against the models by a test)

    def identify(self, subject: Subject) -> None:
        """Add what this store knows about the subject (identities, customer ids, emails, names, IPs...)."""
        ...

    def export(self, subject: Subject) -> dict[str, list[dict[str, Any]]]:
        """Every row about the subject, as JSON-ready dicts, by table."""
        ...

    def erase(self, subject: Subject) -> dict[str, int]:
        """Delete or anonymise the subject's rows; rows counted by "table.deleted" / "table.anonymised"."""
        ...


def row_dict(row: Any) -> dict[str, Any]:
    """A model row as JSON-ready data (times as ISO strings)."""
    out: dict[str, Any] = {}
    for col in row.__table__.columns:
        v = getattr(row, col.key)
        out[col.key] = v.isoformat() + "Z" if isinstance(v, datetime) else v
    return out


def mentions(value: Any, needles: Iterable[str]) -> bool:
    """Whether any needle occurs in a string anywhere inside `value` (case-insensitive)."""
    lowered = [n.lower() for n in needles if n]
    return any(n in s for s in _strings(value) for n in lowered)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value.lower()
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k).lower()
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def scrub(value: Any, needles: Iterable[str]) -> Any:
    """`value` with every needle in its strings replaced by ERASED (case-insensitive); a new object."""
    import re

    pats = [re.compile(re.escape(n), re.IGNORECASE) for n in needles if n]
    return _scrub(value, pats)


def _scrub(value: Any, pats: list[Any]) -> Any:
    if isinstance(value, str):
        for p in pats:
            value = p.sub(ERASED, value)
        return value
    if isinstance(value, dict):
        return {_scrub(str(k), pats): _scrub(v, pats) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, pats) for v in value]
    return value


def is_ip(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 64:
        return False
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    return True


def find_ips(value: Any) -> set[str]:
    """IP addresses stored as whole string values anywhere inside `value` (JSON columns)."""
    if isinstance(value, str):
        return {value} if is_ip(value) else set()
    found: set[str] = set()
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list | tuple) else ()
    for v in items:
        found |= find_ips(v)
    return found


def drop_ips(value: Any) -> Any:
    """`value` with every IP address string replaced by ERASED (retention of IP addresses)."""
    if isinstance(value, str):
        return ERASED if is_ip(value) else value
    if isinstance(value, dict):
        return {k: drop_ips(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [drop_ips(v) for v in value]
    return value


# Kinds of personal data with their own retention (days per app, `apps.retention`); recordings keep theirs
# (`apps.retention_days`, recording.retention).
RETENTION_KINDS = ("chat", "visitor_events", "quality_samples", "callback_requests", "call_metadata", "ip_addresses")
# Call-context keys that come from the visitor tracking (signalling.features.visitors) or the page.
VISIT_KEYS = ("page", "cart", "returning", "time_on_site_s", "visit", "referrer", "title", "first_seen")


class RetentionSource(Protocol):
    """A store's share of retention: remove (or anonymise) the rows of one kind made before `before`."""

    retention_kinds: tuple[str, ...]

    def retain(self, app_id: str, kind: str, before: datetime) -> dict[str, int]: ...
