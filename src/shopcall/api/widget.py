"""Widget API (`/v1/widget`): what the shop page's call button needs before a call exists.

`POST /session` gives a page on one of the app's allowed origins an anonymous shopper token (a random
identity, no customer, no rooms): the only endpoint here without a token. Shoppers known to the shop
(signed in, with a customer id for the CRM panel) get their token from the merchant's server instead
(`POST /v1/tokens`, app secret), never from a page. The other endpoints are authorised by the shopper's
token (Bearer), like signalling: availability (business hours, agents online, queue) and callback
requests. Every endpoint refuses a page on an origin the app does not allow (`api.cors` sets the CORS
headers; this module enforces the same rule on what the server does).
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shopcall.api.app_store import AppStore
from shopcall.api.cors import own_origins
from shopcall.api.deps import get_client_address, get_db, get_live, get_settings, get_signing_key, get_throttle
from shopcall.api.errors import ERROR_RESPONSES, ApiError, ErrorOut
from shopcall.api.origins import allows, parse_origin
from shopcall.api.throttle import Throttle, too_many
from shopcall.api.widget_theme import public_widget
from shopcall.auth.tokens import ClientClaims, TokenError, mint, verify
from shopcall.config import Settings
from shopcall.console.store import ConsoleStore
from shopcall.db.engine import Database
from shopcall.rooms.business_hours import BusinessHours, parse_hours
from shopcall.signalling.control import LiveControl

router = APIRouter(prefix="/v1/widget", tags=["widget"], responses=ERROR_RESPONSES)
_bearer = HTTPBearer(auto_error=False, description="a client token minted for the shopper")
ANON_PREFIX = "anon_"  # identities of anonymous widget sessions
# Fields a page might try to send to become someone: refused by name, so the mistake is obvious.
IDENTITY_FIELDS = frozenset({"identity", "sub", "customer", "customer_id", "email", "phone", "crm", "role",
                             "rooms", "ttl_s", "app_id"})
_ORIGIN_REFUSED: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorOut, "description": "the page's origin is not in the app's `widget.allowed_origins` "
                                            "(`origin_not_allowed`)"}}


async def client_claims(creds: HTTPAuthorizationCredentials | None = Depends(_bearer),
                        key: bytes = Depends(get_signing_key)) -> ClientClaims:
    if creds is None:
        raise ApiError(401, "unauthorized", "send the client token as 'Authorization: Bearer <token>'")
    try:
        return verify(key, creds.credentials)
    except TokenError as e:
        raise ApiError(401, e.code, e.message) from None


def check_origin(request: Request, settings: Settings, app_id: str, allowed: list[str]) -> None:
    """Refuse (403 `origin_not_allowed`) a page whose `Origin` the app does not allow; pages of this server
    itself are same-origin and always allowed. Requests without `Origin` are the caller's business."""
    header = request.headers.get("origin")
    if header is None:
        return
    origin = parse_origin(header)
    if origin is not None and (origin in own_origins(request, settings) or allows(allowed, origin)):
        return
    raise ApiError(403, "origin_not_allowed", f"pages on {header[:200]} may not use the widget of app {app_id}; "
                   "the shop adds the origin to widget.allowed_origins (PATCH /v1/settings)")


async def page_claims(request: Request, claims: ClientClaims = Depends(client_claims),
                      db: Database = Depends(get_db), settings: Settings = Depends(get_settings)) -> ClientClaims:
    """The shopper's token claims, from a page the token's app allows (or a request without `Origin`)."""
    if "origin" in request.headers:
        allowed = await asyncio.to_thread(AppStore(db).widget_origins, claims.app_id)
        check_origin(request, settings, claims.app_id, allowed or [])
    return claims


class WidgetSessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field("Guest", min_length=1, max_length=80, description="the name agents see")

    @model_validator(mode="before")
    @classmethod
    def _no_identity(cls, data: Any) -> Any:
        named = sorted(IDENTITY_FIELDS & data.keys()) if isinstance(data, dict) else []
        if named:
            raise ValueError(f"{', '.join(named)}: an anonymous widget session cannot say who the shopper is; "
                             "a signed-in customer's token comes from the shop's server (POST /v1/tokens)")
        return data


class WidgetSessionOut(BaseModel):
    token: str = Field(description="shopper token: signalling `hello`, and Bearer for the widget API")
    expires_at: int = Field(description="Unix time; renew before with the same endpoint and this token as Bearer")
    app_id: str
    identity: str = Field(description="random and anonymous (anon_...); kept when the token is renewed")
    name: str
    renewed: bool = Field(description="true if the Bearer token's identity was kept")
    widget: dict[str, Any] = Field(default_factory=dict, description="the app's widget look: theme, button_label "
                                   "per locale, position (PATCH /v1/settings `widget`)")


def _renewable(key: bytes, creds: HTTPAuthorizationCredentials | None, app_id: str) -> ClientClaims | None:
    """The claims of a still-valid anonymous token of this app, whose identity a renewal keeps; a merchant's
    token (a customer, another identity, rooms) is never extended here."""
    if creds is None:
        return None
    try:
        claims = verify(key, creds.credentials, app_id=app_id)
    except TokenError:
        return None
    anonymous = (claims.role == "shopper" and claims.identity.startswith(ANON_PREFIX) and claims.customer is None
                 and not claims.rooms and claims.version is None)
    return claims if anonymous else None


def _limit(throttle: Throttle, rules: list[str], keys: tuple[str, ...]) -> None:
    waits = [w for r in rules if (w := throttle.limiter.hit(r, *keys)) is not None]
    if waits:
        raise too_many(max(waits), "too many widget sessions")


@router.post("/session", status_code=201, response_model=WidgetSessionOut,
             responses={**_ORIGIN_REFUSED, 429: {"model": ErrorOut, "description": "too many sessions from this "
                                                 "address or for this app (see Retry-After)"}},
             summary="An anonymous shopper token for a page on one of the app's allowed origins")
async def widget_session(request: Request,
                         app: str = Query(min_length=1, max_length=40, description="the app id (data-app)"),
                         body: WidgetSessionIn | None = None,
                         creds: HTTPAuthorizationCredentials | None = Depends(_bearer),
                         db: Database = Depends(get_db), settings: Settings = Depends(get_settings),
                         key: bytes = Depends(get_signing_key), throttle: Throttle = Depends(get_throttle),
                         address: str = Depends(get_client_address)) -> WidgetSessionOut:
    """For pages, not servers: the browser's `Origin` must be allowed (`widget.allowed_origins`). Send the
    current anonymous token as Bearer to renew it with the same identity (a call keeps its shopper)."""
    if "origin" not in request.headers:
        raise ApiError(403, "origin_required", "this endpoint serves web pages and needs the browser's Origin "
                       "header; a shop's server mints tokens with POST /v1/tokens")
    _limit(throttle, settings.widget_session_limits, ("widget-addr", address))
    allowed = await asyncio.to_thread(AppStore(db).widget_origins, app)
    if allowed is None:
        raise ApiError(404, "app_not_found", f"no app {app!r}")
    check_origin(request, settings, app, allowed)
    body = body or WidgetSessionIn()
    previous = _renewable(key, creds, app)
    if previous is not None:
        identity = previous.identity
        name = body.name.strip() if "name" in body.model_fields_set else previous.name
    else:
        identity, name = ANON_PREFIX + secrets.token_hex(8), body.name.strip()
    _limit(throttle, [settings.widget_session_app_limit], ("widget-app", app))
    token, exp = mint(key, app_id=app, identity=identity, role="shopper", name=name or "Guest",
                      ttl_s=settings.widget_token_ttl_s)
    stored = await asyncio.to_thread(AppStore(db).widget_settings, app)
    return WidgetSessionOut(token=token, expires_at=exp, app_id=app, identity=identity, name=name or "Guest",
                            renewed=previous is not None, widget=public_widget(stored or {}))


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


@router.get("/availability", summary="Open now? Agents online, queue length and estimated wait",
            responses=_ORIGIN_REFUSED)
async def availability(claims: ClientClaims = Depends(page_claims), db: Database = Depends(get_db),
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


@router.post("/callbacks", status_code=201, summary="Ask to be called back (e.g. outside business hours)",
             responses=_ORIGIN_REFUSED)
def request_callback(body: CallbackIn, claims: ClientClaims = Depends(page_claims),
                     db: Database = Depends(get_db)) -> dict[str, Any]:
    if len(str(body.context)) > 4096:
        raise ApiError(422, "bad_request", "context is too large (4 KB at most)")
    cb = ConsoleStore(db).add_callback(claims.app_id, name=body.name.strip(), contact=body.contact.strip(),
                                       note=body.note.strip(),
                                       context={**body.context, "identity": claims.identity,
                                                "customer": claims.customer})
    return {"id": cb.id, "status": cb.status}
