"""One registry of client message types: each type's model, handler and allowed roles.

Replaces the parallel tables of known types, models and handlers: a feature registers its
messages once, and dispatch, validation and role checks all read the same entry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import ValidationError

from shopcall.ratelimit import rule
from shopcall.signalling.connection import Connection
from shopcall.signalling.protocol import Msg, ProtocolError

ALL_ROLES = frozenset({"shopper", "agent", "admin"})
STAFF = frozenset({"agent", "admin"})
SHOPPERS = frozenset({"shopper"})

Reply = dict[str, Any] | None
Handler = Callable[[Connection, Any], Awaitable[Reply]]


@dataclass(frozen=True)
class MessageSpec:
    kind: str
    model: type[Msg]
    handler: Handler
    roles: frozenset[str]
    denied: str  # the error message for a role that may not send it
    rate: str | None  # per-connection limit, e.g. "30/5seconds" (a `limits` rule); None: only the global one


class Registry:
    def __init__(self) -> None:
        self._specs: dict[str, MessageSpec] = {}

    def add(self, model: type[Msg], handler: Handler, *, roles: frozenset[str] = ALL_ROLES,
            denied: str = "your role may not send this message", rate: str | None = None) -> None:
        (kind,) = get_args(model.model_fields["type"].annotation)
        if kind in self._specs:
            raise ValueError(f"message type {kind!r} registered twice")
        if rate is not None:
            rule(rate)  # a typo fails at start, not at the first message
        self._specs[kind] = MessageSpec(kind, model, handler, roles, denied, rate)

    @property
    def types(self) -> frozenset[str]:
        return frozenset(self._specs)

    def parse(self, raw: Any) -> tuple[MessageSpec, Msg]:
        """A decoded frame to its spec and validated model, or ProtocolError with a precise reason."""
        if not isinstance(raw, dict):
            raise ProtocolError("bad_request", "each frame must be a JSON object")
        ref = raw.get("id") if isinstance(raw.get("id"), str) else None
        kind = raw.get("type")
        spec = self._specs.get(kind) if isinstance(kind, str) else None
        if spec is None:
            raise ProtocolError("unknown_type", f"unknown message type {kind!r}", ref)
        try:
            return spec, spec.model.model_validate(raw)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "message"
            raise ProtocolError("bad_request", f"{kind}: {where}: {first['msg']}", ref) from None
