"""Signatures, the SDK verification helper, secrets at rest and event payloads (no database, no network)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime

import pytest

from shopcall.db.models import Call, Conversion, Participant
from shopcall.sdk import WebhookVerificationError, verify_webhook
from shopcall.webhooks import events
from shopcall.webhooks.secrets_box import SecretBox
from shopcall.webhooks.signing import new_secret, parse_signature_header, signature_header

SECRET = new_secret()
EVENT = {"id": "evt_1", "type": "call.ended", "created_at": "2026-01-01T00:00:00Z", "app_id": "app_1",
         "data": {"call_id": "cl_1", "duration_s": 61.5}}
BODY = json.dumps(EVENT, separators=(",", ":")).encode()


def _headers(body: bytes = BODY, secret: str = SECRET, t: int | None = None) -> dict[str, str]:
    return {"ShopCall-Signature": signature_header(secret, body, t), "ShopCall-Event-Id": "evt_1",
            "ShopCall-Event-Type": "call.ended", "Content-Type": "application/json"}


def _reason(body: bytes, headers: dict[str, str], secret: str = SECRET, **kw: float) -> str:
    with pytest.raises(WebhookVerificationError) as e:
        verify_webhook(body, headers, secret, **kw)
    return e.value.reason


def test_valid_delivery_verifies_and_returns_the_event() -> None:
    assert new_secret().startswith("whsec_") and new_secret() != SECRET and len(SECRET) > 40
    assert verify_webhook(BODY, _headers(), SECRET) == EVENT
    lower = {k.lower(): v for k, v in _headers().items()}  # header names are case-insensitive
    assert verify_webhook(BODY, lower, SECRET)["id"] == "evt_1"


def test_header_format_is_t_and_v1_hex_hmac_of_timestamp_dot_body() -> None:
    header = signature_header(SECRET, BODY, 1_700_000_000)
    t, sigs = parse_signature_header(header)
    assert header.startswith("t=1700000000,v1=") and t == 1_700_000_000
    assert sigs == [hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()]


def test_generic_verification_recipe_from_the_docs() -> None:
    """The 5-line example in docs/webhooks.md, for receivers without the SDK."""
    header, body, secret = _headers()["ShopCall-Signature"], BODY, SECRET
    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    ok = hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) <= 300
    assert ok


def test_tampered_body_wrong_secret_and_stale_or_future_timestamps_are_rejected() -> None:
    tampered = BODY.replace(b"61.5", b"0.5")
    assert "signature mismatch" in _reason(tampered, _headers())
    assert "signature mismatch" in _reason(BODY, _headers(), secret=new_secret())
    assert "signature mismatch" in _reason(BODY, _headers(secret=new_secret()))
    old = int(time.time()) - 301
    assert "too old" in _reason(BODY, _headers(t=old))
    assert "in the future" in _reason(BODY, _headers(t=int(time.time()) + 400))
    # the window is configurable, and `now` is injectable for tests
    assert verify_webhook(BODY, _headers(t=old), SECRET, tolerance_s=600)["id"] == "evt_1"
    assert verify_webhook(BODY, _headers(t=1000), SECRET, now=1100)["id"] == "evt_1"
    # a replay of a captured delivery with a fresh timestamp but the old signature fails
    h = _headers(t=old)
    h["ShopCall-Signature"] = h["ShopCall-Signature"].replace(f"t={old}", f"t={int(time.time())}")
    assert "signature mismatch" in _reason(BODY, h)


@pytest.mark.parametrize(("header", "expected"), [
    (None, "missing ShopCall-Signature"),
    ("", "missing ShopCall-Signature"),
    ("garbage", "bad ShopCall-Signature header"),
    ("v1=abc", "bad ShopCall-Signature header"),
    ("t=123", "bad ShopCall-Signature header"),
    ("t=soon,v1=abc", "t must be a unix timestamp"),
])
def test_missing_or_malformed_header(header: str | None, expected: str) -> None:
    h = {} if header is None else {"ShopCall-Signature": header}
    assert expected in _reason(BODY, h)


def test_other_failures_have_clear_reasons() -> None:
    assert "raw body as bytes" in _reason(BODY.decode(), _headers())  # type: ignore[arg-type]
    assert "no webhook secret" in _reason(BODY, _headers(), secret="")
    not_json = b"hello"
    assert "not JSON" in _reason(not_json, _headers(body=not_json))
    h = _headers()
    h["ShopCall-Event-Id"] = "evt_other"
    assert "does not match" in _reason(BODY, h)
    # several v1 signatures: any valid one is enough (room for a key rollover)
    good = _headers()["ShopCall-Signature"]
    assert verify_webhook(BODY, {"ShopCall-Signature": f"{good},v1={'0' * 64}"}, SECRET)["id"] == "evt_1"


def test_secret_box_encrypts_and_only_the_same_key_decrypts() -> None:
    box = SecretBox(b"k" * 48)
    token = box.encrypt(SECRET)
    assert SECRET not in token and token != box.encrypt(SECRET)  # random IV
    assert box.decrypt(token) == SECRET
    with pytest.raises(ValueError, match="signing key"):
        SecretBox(b"x" * 48).decrypt(token)


def test_event_payload_builders() -> None:
    assert len(events.EVENT_TYPES) == len(set(events.EVENT_TYPES)) == 9
    assert {"call.queued", "call.started", "call.ended", "participant.joined", "participant.left",
            "recording.ready", "recording.failed", "conversion.recorded"} <= set(events.EVENT_TYPES)
    t0 = datetime(2026, 1, 1, 10, 0, 0)
    call = Call(id="cl_1", app_id="app_1", room_id="rm_1", shopper_identity="cus_9", shopper_name="Maja",
                agent_identity="anna", status="ended", context={"product": "NA-H1"}, customer_id="cus_9",
                created_at=t0, answered_at=t0.replace(second=12), ended_at=t0.replace(minute=5, second=12))
    people = [Participant(id="p_1", room_id="rm_1", identity="cus_9", display_name="Maja", role="shopper",
                          joined_at=t0, left_at=t0.replace(minute=5), leave_reason="left")]
    ended = events.call_ended(call, people)
    assert ended["duration_s"] == 300.0 and ended["wait_s"] == 12.0 and ended["ended_at"] == "2026-01-01T10:05:12Z"
    assert ended["participants"][0] == {"participant_id": "p_1", "room_id": "rm_1", "call_id": "cl_1",
                                        "identity": "cus_9", "name": "Maja", "role": "shopper",
                                        "joined_at": "2026-01-01T10:00:00Z", "left_at": "2026-01-01T10:05:00Z",
                                        "reason": "left"}
    assert events.call_started(call)["agent"] == "anna" and events.call_queued(call)["shopper"]["name"] == "Maja"
    conv = Conversion(id="cv_1", app_id="app_1", call_id="cl_1", order_id="o-1", amount_cents=12990,
                      currency="EUR", created_at=t0)
    data = events.conversion_recorded(conv, call)
    assert (data["amount"], data["amount_cents"], data["agent"]) == ("129.90", 12990, "anna")
    assert events.conversion_recorded(
        Conversion(id="c", call_id="c", order_id="o", amount_cents=5, currency="EUR"))["amount"] == "0.05"
    json.dumps(ended) and json.dumps(data)  # plain JSON
