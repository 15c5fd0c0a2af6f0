"""Widget API (`/v1/widget`): what the shop page's call button needs before a call exists.

Authorised by the shopper's client token (Bearer), like signalling, so the merchant decides who
may ask: availability (business hours, agents online, queue), and callback requests.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from shopcall.api.app_store import AppStore
from shopcall.api.deps import get_db, get_live, get_signing_key
from shopcall.api.errors import ERROR_RESPONSES, ApiError
from shopcall.auth.tokens import ClientClaims, TokenError, verify
from shopcall.console.store import ConsoleStore
from shopcall.db.engine import Database
from shopcall.rooms.business_hours import BusinessHours, parse_hours
from shopcall.signalling.control import LiveControl

router = APIRouter(prefix="/v1/widget", tags=["widget"], responses=ERROR_RESPONSES)
_bearer = HTTPBearer(auto_error=False, description="a client token minted for the shopper")


async def client_claims(creds: HTTPAuthorizationCredentials | None = Depends(_bearer),
                        key: bytes = Depends(get_signing_key)) -> ClientClaims:
    if creds is None:
        raise ApiError(401, "unauthorized", "send the client token as 'Authorization: Bearer <token>'")
    try:
        return verify(key, creds.credentials)
    except TokenError as e:
        raise ApiError(401, e.code, e.message) from None


class CallbackIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    contact: str = Field(min_length=3, max_length=320, description="phone number or email")
    note: str = Field("", max_length=2000)
    context: dict[str, Any] = Field(default_factory=dict, description="product, page... (4 KB at most)")


def _hours(db: Database, app_id: str) -> BusinessHours:
    app = AppStore(db).get(app_id)
    if app is None:
        raise ApiError(401, "token_wrong_app", "the token names an app that does not exist")
    return parse_hours(app.business_hours)


@router.get("/availability", summary="Open now? Agents online, queue length and estimated wait")
async def availability(claims: ClientClaims = Depends(client_claims), db: Database = Depends(get_db),
                       live: LiveControl = Depends(get_live)) -> dict[str, Any]:
    hours = await asyncio.to_thread(_hours, db, claims.app_id)
    now = datetime.now(UTC)
    is_open = hours.is_open(now)
    nxt = None if is_open else hours.next_open(now)
    snap = await live.desk_snapshot(claims.app_id)
    online = [a for a in snap["agents"] if a["presence"] == "online"]
    free = [a for a in online if a["status"] == "online"]
    est = snap["queue"][-1]["estimated_wait_s"] if snap["queue"] else (0 if free else None)
    return {"open": is_open, "next_open": nxt.isoformat() if nxt else None, "timezone": hours.timezone,
            "agents_online": len(online), "agents_free": len(free), "queue_length": len(snap["queue"]),
            "estimated_wait_s": est}


@router.post("/callbacks", status_code=201, summary="Ask to be called back (e.g. outside business hours)")
def request_callback(body: CallbackIn, claims: ClientClaims = Depends(client_claims),
                     db: Database = Depends(get_db)) -> dict[str, Any]:
    if len(str(body.context)) > 4096:
        raise ApiError(422, "bad_request", "context is too large (4 KB at most)")
    cb = ConsoleStore(db).add_callback(claims.app_id, name=body.name.strip(), contact=body.contact.strip(),
                                       note=body.note.strip(),
                                       context={**body.context, "identity": claims.identity,
                                                "customer": claims.customer})
    return {"id": cb.id, "status": cb.status}
