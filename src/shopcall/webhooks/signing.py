"""Webhook signatures: `ShopCall-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`.

The timestamp is inside the signed bytes, so a captured delivery cannot be replayed outside the
tolerance window; the key is the endpoint secret (`whsec_...`) as UTF-8. Standard library only: the
Python SDK (`shopcall.sdk`) imports this on merchants' servers.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "ShopCall-Signature"
EVENT_ID_HEADER = "ShopCall-Event-Id"
EVENT_TYPE_HEADER = "ShopCall-Event-Type"
TOLERANCE_S = 300
SECRET_PREFIX = "whsec_"


class WebhookVerificationError(Exception):
    """The delivery is not provably from ShopCall (or is too old); `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def compute_signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={t},v1={compute_signature(secret, t, body)}"


def parse_signature_header(value: str) -> tuple[int, list[str]]:
    """(timestamp, v1 signatures). Several v1 entries are accepted so a future key rollover can sign twice."""
    t: int | None = None
    sigs: list[str] = []
    for part in value.split(","):
        key, sep, val = part.strip().partition("=")
        if not sep:
            raise WebhookVerificationError(f"bad {SIGNATURE_HEADER} header: {part.strip()!r} is not key=value")
        if key == "t":
            if not val.isdigit():
                raise WebhookVerificationError(f"bad {SIGNATURE_HEADER} header: t must be a unix timestamp")
            t = int(val)
        elif key == "v1":
            sigs.append(val)
        # unknown keys (future schemes) are ignored
    if t is None or not sigs:
        raise WebhookVerificationError(f"bad {SIGNATURE_HEADER} header: expected t=<unix>,v1=<hex>")
    return t, sigs


def verify_signature(secret: str, body: bytes, header: str, *, tolerance_s: float = TOLERANCE_S,
                     now: float | None = None) -> int:
    """Check the header against the raw body; returns the signed timestamp or raises WebhookVerificationError."""
    t, sigs = parse_signature_header(header)
    now = time.time() if now is None else now
    if t < now - tolerance_s:
        raise WebhookVerificationError(f"timestamp too old ({int(now - t)} s, tolerance {int(tolerance_s)} s)")
    if t > now + tolerance_s:
        raise WebhookVerificationError(f"timestamp in the future ({int(t - now)} s, tolerance {int(tolerance_s)} s)")
    expected = compute_signature(secret, t, body)
    if not any(hmac.compare_digest(expected, s) for s in sigs):
        raise WebhookVerificationError("signature mismatch (wrong secret, or the body was changed)")
    return t
