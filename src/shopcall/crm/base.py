"""The connector interface, its errors, and the never-raising, deadline-bound lookup the console uses."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

import structlog

from shopcall.crm.model import CrmLookup, CustomerProfile

log = structlog.get_logger("shopcall.crm")

DEFAULT_TIMEOUT_S = 2.0
_SHOWN = {"auth": "the CRM rejected the credentials", "timeout": "the CRM did not answer in time",
          "rate_limited": "the CRM is busy", "blocked": "address not allowed"}


class CrmError(Exception):
    """A lookup failed for a reason the agent may be told about (messages never carry secrets)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class CrmUnavailable(CrmError):
    """Timeouts, 5xx, 429, connection errors, bad JSON: retrying later may work."""

    def __init__(self, code: str, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(code, message)
        self.retry_after_s = retry_after_s


class CrmAuthError(CrmError):
    """401/403: the configured credentials are wrong or lack a scope; retrying will not help."""


@runtime_checkable
class CrmConnector(Protocol):
    name: str
    timeout_s: float

    async def lookup(self, q: CrmLookup) -> CustomerProfile | None:
        """The customer's profile, or None if the CRM does not know them. Raises CrmError."""
        ...

    async def aclose(self) -> None:
        """Release the HTTP client (or nothing)."""
        ...


CrmStatus = Literal["ok", "not_found", "unavailable"]


@dataclass(frozen=True)
class CrmResult:
    """What the agent console panel shows; `error` is ready to display ("CRM unavailable: ...")."""

    status: CrmStatus
    profile: CustomerProfile | None = None
    error: str | None = None
    error_code: str | None = None
    elapsed_ms: int = 0
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict for a signalling message or an API response."""
        return {
            "status": self.status,
            "profile": self.profile.model_dump(mode="json") if self.profile else None,
            "error": self.error,
            "error_code": self.error_code,
            "elapsed_ms": self.elapsed_ms,
            "source": self.source,
        }


async def lookup_with_deadline(connector: CrmConnector, q: CrmLookup, timeout_s: float | None = None) -> CrmResult:
    """Look up within `timeout_s` (default: the connector's, else 2 s) and never raise.

    A slow or broken CRM must not delay or break a call, so every failure becomes
    status "unavailable" with a displayable message. Cancellation from outside still propagates.
    """
    budget = timeout_s if timeout_s is not None else getattr(connector, "timeout_s", DEFAULT_TIMEOUT_S)
    name = getattr(connector, "name", type(connector).__name__)
    started = time.monotonic()

    def done(status: CrmStatus, profile: CustomerProfile | None = None, code: str | None = None,
             detail: str | None = None) -> CrmResult:
        ms = int((time.monotonic() - started) * 1000)
        error = None
        if status == "unavailable":
            # Agents get a fixed text: details (status, connect error) would let a tenant probe what the server reaches
            error = f"CRM unavailable: {_SHOWN.get(code or '', 'please try again later')}"
            log.warning("crm_unavailable", connector=name, code=code, detail=detail, elapsed_ms=ms)
        return CrmResult(status, profile, error, code, ms, name)

    try:
        async with asyncio.timeout(budget):
            profile = await connector.lookup(q)
    except TimeoutError:
        return done("unavailable", code="timeout", detail=f"{name} did not answer within {budget:g} s")
    except CrmError as e:
        return done("unavailable", code=e.code, detail=e.message)
    except Exception:
        log.exception("crm_lookup_failed", connector=name)
        return done("unavailable", code="internal", detail=f"{name} lookup failed unexpectedly (see the server log)")
    return done("ok", profile) if profile is not None else done("not_found")
