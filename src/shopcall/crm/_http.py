"""HTTP plumbing shared by the external connectors: one client each, bounded bodies, vendor-neutral errors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from shopcall.crm.base import CrmAuthError, CrmError, CrmUnavailable
from shopcall.outbound import AddressNotAllowed, OutboundPolicy, guarded_client

MAX_BODY_BYTES = 4 * 1024 * 1024
NOT_JSON = object()
M = TypeVar("M", bound=BaseModel)


def make_client(base_url: str, timeout_s: float, *, headers: dict[str, str] | None = None,
                auth: httpx.Auth | None = None, outbound: OutboundPolicy | None = None) -> httpx.AsyncClient:
    """Explicit timeouts on every phase; redirects not followed (credentials stay with the configured host);
    every connection checked against the outbound policy (public addresses only unless the operator allows)."""
    return guarded_client(
        outbound or OutboundPolicy(),
        base_url=base_url,
        timeout=httpx.Timeout(timeout_s),
        headers={"Accept": "application/json", "User-Agent": "ShopCall-CRM/1", **(headers or {})},
        auth=auth,
    )


@dataclass
class JsonResponse:
    status: int
    headers: httpx.Headers
    links: dict[str | None, dict[str, str]]
    data: Any  # parsed JSON, or NOT_JSON


async def get_json(client: httpx.AsyncClient, vendor: str, url: str,
                   params: Mapping[str, str | int] | None = None) -> JsonResponse:
    """GET and parse; transport failures become CrmUnavailable (no URL in messages: it may hold an email)."""
    try:
        async with client.stream("GET", url, params=params) as r:
            body = bytearray()
            async for chunk in r.aiter_bytes():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise CrmUnavailable("bad_response", f"{vendor} sent more than {MAX_BODY_BYTES >> 20} MB")
            status, headers, links = r.status_code, r.headers, r.links
    except AddressNotAllowed:
        raise CrmUnavailable("blocked", f"{vendor}: address not allowed") from None
    except httpx.TimeoutException:
        raise CrmUnavailable("timeout", f"{vendor} did not answer in time") from None
    except httpx.HTTPError as e:
        raise CrmUnavailable("connection", f"cannot reach {vendor} ({type(e).__name__})") from None
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = NOT_JSON
    return JsonResponse(status, headers, links, data)


def check_status(r: JsonResponse, vendor: str) -> None:
    """Map error statuses to CrmError; 2xx and 404 return (the caller decides what 404 means).

    The body is never put in a message: it may come from a service the tenant must not read.
    """
    if 200 <= r.status < 300 or r.status == 404:
        return
    if r.status in (401, 403):
        raise CrmAuthError("auth", f"{vendor} rejected the credentials (HTTP {r.status})")
    if r.status == 429:
        retry = _float(r.headers.get("Retry-After"))
        after = f", retry after {retry:g} s" if retry is not None else ""
        raise CrmUnavailable("rate_limited", f"{vendor} is rate limiting requests (HTTP 429{after})",
                             retry_after_s=retry)
    if r.status >= 500:
        raise CrmUnavailable("upstream_error", f"{vendor} answered HTTP {r.status}")
    raise CrmError("http_error", f"{vendor} answered HTTP {r.status}")


def parse(model: type[M], data: Any, vendor: str, what: str) -> M:
    """Validate a vendor body; a shape we do not understand is an outage, not a crash."""
    if data is NOT_JSON:
        raise CrmUnavailable("bad_response", f"{vendor} answered with a body that is not JSON")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise CrmUnavailable("bad_response", f"{vendor} sent an unexpected {what}: {describe(e)}") from None


def describe(e: ValidationError, limit: int = 3) -> str:
    """Field paths and reasons only: never the offending values (they may be personal data)."""
    errs = e.errors(include_input=False, include_url=False)
    parts = [f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in errs[:limit]]
    more = f" (+{len(errs) - limit} more)" if len(errs) > limit else ""
    return "; ".join(parts) + more


def numeric_id(value: str) -> str | None:
    """Vendor ids are integers (Shopify GIDs end in one); anything else cannot be a path segment."""
    tail = value.rsplit("/", 1)[-1]
    return tail if tail.isdigit() and len(tail) <= 20 else None


def _float(v: str | None) -> float | None:
    try:
        return float(v) if v is not None else None
    except ValueError:
        return None
