'''Verify ShopCall webhook deliveries on your server.

Pass the **raw** request body (bytes, before any JSON parsing), the request headers and the
endpoint's secret (`whsec_...`, shown once when the endpoint was created or its secret rotated).
On success you get the event; otherwise `WebhookVerificationError` says why, and you should
answer 400. Deliveries are at-least-once: de-duplicate on `event["id"]`.

FastAPI::

    from fastapi import FastAPI, HTTPException, Request
    from shopcall.sdk import WebhookVerificationError, verify_webhook

    app = FastAPI()

    @app.post("/shopcall/webhooks")
    async def shopcall_webhook(request: Request) -> dict:
        try:
            event = verify_webhook(await request.body(), request.headers, WEBHOOK_SECRET)
        except WebhookVerificationError as e:
            raise HTTPException(400, e.reason)
        if not already_seen(event["id"]):
            handle(event["type"], event["data"])
        return {"ok": True}

Flask::

    @app.post("/shopcall/webhooks")
    def shopcall_webhook():
        try:
            event = verify_webhook(request.get_data(), request.headers, WEBHOOK_SECRET)
        except WebhookVerificationError as e:
            return {"error": e.reason}, 400
        ...
        return {"ok": True}
'''

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from shopcall.webhooks.signing import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TOLERANCE_S,
    WebhookVerificationError,
    verify_signature,
)

__all__ = ["WebhookVerificationError", "verify_webhook"]


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup that also works for plain dicts."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def verify_webhook(payload: bytes | str, headers: Mapping[str, str], secret: str, *, tolerance_s: float = TOLERANCE_S,
                   now: float | None = None) -> dict[str, Any]:
    """The verified event (`id`, `type`, `created_at`, `app_id`, `data`), or WebhookVerificationError.

    `now` (unix seconds) is for tests; `tolerance_s` bounds how old (or early) the signed timestamp may be.
    Text (`str`) is accepted only to be refused with a clear error: frameworks that decode the body hand
    over text that may no longer match the signature.
    """
    if not secret:
        raise WebhookVerificationError("no webhook secret configured")
    if isinstance(payload, str):
        raise WebhookVerificationError("pass the raw body as bytes (re-encoded text may not match the signature)")
    header = _header(headers, SIGNATURE_HEADER)
    if not header:
        raise WebhookVerificationError(f"missing {SIGNATURE_HEADER} header")
    verify_signature(secret, payload, header, tolerance_s=tolerance_s, now=now)
    try:
        event = json.loads(payload)
    except ValueError:
        raise WebhookVerificationError("the body is not JSON") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise WebhookVerificationError("the body is not a ShopCall event (id and type expected)")
    header_id = _header(headers, EVENT_ID_HEADER)
    if header_id is not None and header_id != event["id"]:
        raise WebhookVerificationError(f"{EVENT_ID_HEADER} header does not match the signed body")
    return event
