"""Widget API (`/v1/widget`): what the shop page's call button needs before a call exists.

Authorised by the shopper's client token (Bearer), like signalling, so the merchant decides who
may ask: availability (business hours, agents online, queue), and callback requests.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from shopcall.api.errors import ERROR_RESPONSES, ApiError
from shopcall.auth.tokens import ClientClaims, TokenError, verify
from shopcall.db.ids import new_id
from shopcall.db.models import App, CallbackRequest
from shopcall.rooms.business_hours import parse_hours

router = APIRouter(prefix="/v1/widget", tags=["widget"], responses=ERROR_RESPONSES)
_bearer = HTTPBearer(auto_error=False, description="a client token minted for the shopper")


def client_claims(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> ClientClaims:
    if creds is None:
        raise ApiError(401, "unauthorized", "send the client token as 'Authorization: Bearer <token>'")
    try:
        return verify(request.app.state.signing_key, creds.credentials)
    except TokenError as e:
        raise ApiError(401, e.code, e.message) from None


class CallbackIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    contact: str = Field(min_length=3, max_length=320, description="phone number or email")
    note: str = Field("", max_length=2000)
    context: dict[str, Any] = Field(default_factory=dict, description="product, page... (4 KB at most)")


@router.get("/availability", summary="Open now? Agents online, queue length and estimated wait")
def availability(request: Request, claims: ClientClaims = Depends(client_claims)) -> dict[str, Any]:
    with request.app.state.db.session() as s:
        app = s.get(App, claims.app_id)
        if app is None:
            raise ApiError(401, "token_wrong_app", "the token names an app that does not exist")
        hours = parse_hours(app.business_hours)
    now = datetime.now(UTC)
    is_open = hours.is_open(now)
    nxt = None if is_open else hours.next_open(now)
    snap = request.app.state.hub.desk.snapshot(claims.app_id)
    online = [a for a in snap["agents"] if a["presence"] == "online"]
    free = [a for a in online if a["status"] == "online"]
    est = snap["queue"][-1]["estimated_wait_s"] if snap["queue"] else (0 if free else None)
    return {"open": is_open, "next_open": nxt.isoformat() if nxt else None, "timezone": hours.timezone,
            "agents_online": len(online), "agents_free": len(free), "queue_length": len(snap["queue"]),
            "estimated_wait_s": est}


@router.post("/callbacks", status_code=201, summary="Ask to be called back (e.g. outside business hours)")
def request_callback(body: CallbackIn, request: Request,
                     claims: ClientClaims = Depends(client_claims)) -> dict[str, Any]:
    if len(str(body.context)) > 4096:
        raise ApiError(422, "bad_request", "context is too large (4 KB at most)")
    with request.app.state.db.session() as s:
        cb = CallbackRequest(id=new_id("cb"), app_id=claims.app_id, name=body.name.strip(),
                             contact=body.contact.strip(), note=body.note.strip(),
                             context={**body.context, "identity": claims.identity, "customer": claims.customer})
        s.add(cb)
        s.flush()
        return {"id": cb.id, "status": cb.status}
