"""Webhook endpoints, the delivery log and conversions for merchant servers (`/v1/webhooks`, `/v1/conversions`),
plus the read-only delivery log for console admins (`console_router`).

Endpoint secrets are shown once (on creation and rotation) and stored only encrypted. Another
tenant's endpoint, delivery or call answers 404, exactly like a missing one.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlsplit

import structlog
from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from shopcall.api.console import current_admin
from shopcall.api.deps import AuthedApp, current_app, get_db, get_webhooks
from shopcall.api.errors import ERROR_RESPONSES, ApiError
from shopcall.console.accounts import AgentInfo
from shopcall.db.engine import Database
from shopcall.db.models import Call, Conversion, WebhookDelivery, WebhookEndpoint, iso
from shopcall.outbound import UrlNotAllowed, check_url
from shopcall.webhooks import events
from shopcall.webhooks.dispatcher import WebhookDispatcher, WebhookError
from shopcall.webhooks.events import ALL_EVENTS, EventType
from shopcall.webhooks.store import DuplicateOrder, WebhookStore

log = structlog.get_logger("shopcall.webhooks")
router = APIRouter(prefix="/v1", tags=["webhooks"], responses=ERROR_RESPONSES)
console_router = APIRouter(prefix="/v1/console", tags=["console"], responses=ERROR_RESPONSES)

DeliveryStatus = Literal["pending", "delivered", "failed"]


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2000, description="http(s) URL that receives the signed POSTs")
    events: list[EventType | Literal["*"]] = Field(min_length=1, max_length=20,
                                                   description='event types to receive; ["*"] = all, also future ones')

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        v = v.strip()
        try:
            u = urlsplit(v)
            u.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError:
            raise ValueError("not a valid URL") from None
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if u.username or u.password:
            raise ValueError("must not contain credentials (they would be stored and shown in clear)")
        return v

    @field_validator("events")
    @classmethod
    def _events(cls, v: list[str]) -> list[str]:
        return [ALL_EVENTS] if ALL_EVENTS in v else list(dict.fromkeys(v))


class EndpointOut(BaseModel):
    id: str
    url: str
    events: list[str]
    created_at: str


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="whsec_...: shown only in this response; verifies ShopCall-Signature")


class AttemptOut(BaseModel):
    at: str
    attempt: int
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    id: str
    event_id: str
    event_type: str
    endpoint_id: str
    url: str
    status: str = Field(description="pending | delivered | failed")
    attempts: int
    next_attempt_at: str | None
    last_status_code: int | None
    last_error: str | None
    created_at: str
    delivered_at: str | None
    log: list[AttemptOut] = Field(description="every attempt, oldest first")
    payload: dict[str, Any] = Field(description="the event exactly as sent (the signed body)")


class ConversionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    call_id: str = Field(min_length=1, max_length=40)
    order_id: str = Field(min_length=1, max_length=200, description="your order id; one conversion per order")
    amount: Decimal = Field(ge=0, le=Decimal("20000000"), decimal_places=2,
                            description="order total in currency units, e.g. 129.90 (a JSON number or string)")
    currency: str = Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code, e.g. EUR")

    @field_validator("currency")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()


class ConversionOut(BaseModel):
    id: str
    call_id: str
    order_id: str
    amount: str = Field(description="decimal string, e.g. \"129.90\"")
    amount_cents: int
    currency: str
    created_at: str


def _endpoint_out(ep: WebhookEndpoint, secret: str | None = None) -> EndpointOut:
    fields: dict[str, Any] = {"id": ep.id, "url": ep.url, "events": list(ep.events), "created_at": iso(ep.created_at)}
    return EndpointWithSecret(**fields, secret=secret) if secret is not None else EndpointOut(**fields)


def _delivery_out(d: WebhookDelivery, url: str) -> DeliveryOut:
    return DeliveryOut(id=d.id, event_id=d.event_id, event_type=d.event_type, endpoint_id=d.endpoint_id, url=url,
                       status=d.status, attempts=d.attempts, next_attempt_at=iso(d.next_attempt_at),
                       last_status_code=d.last_status_code, last_error=d.last_error, created_at=iso(d.created_at) or "",
                       delivered_at=iso(d.delivered_at), log=[AttemptOut(**e) for e in d.log or []],
                       payload=d.payload or {})


def _deliveries(db: Database, app_id: str, status: str | None, event_type: str | None, endpoint_id: str | None,
                limit: int) -> list[DeliveryOut]:
    return [_delivery_out(d, url) for d, url in WebhookStore(db).deliveries(
        app_id, status=status, event_type=event_type, endpoint_id=endpoint_id, limit=limit)]


# ---- endpoints --------------------------------------------------------------------------------------------------

@router.post("/webhooks", status_code=201, response_model=EndpointWithSecret,
             summary="Register an endpoint; the signing secret is in this response only")
def create_endpoint(body: EndpointIn, app: AuthedApp = Depends(current_app),
                    dispatcher: WebhookDispatcher = Depends(get_webhooks)) -> EndpointOut:
    try:
        check_url(body.url, dispatcher.outbound)
    except UrlNotAllowed as e:
        raise ApiError(422, "url_not_allowed", f"url: {e}") from None
    try:
        ep, secret = dispatcher.create_endpoint(app.id, body.url, list(body.events))
    except WebhookError as e:
        raise ApiError(409, e.code, e.message) from None
    return _endpoint_out(ep, secret)


def _endpoints(db: Database, app_id: str) -> list[EndpointOut]:
    return [_endpoint_out(ep) for ep in WebhookStore(db).endpoints(app_id)]


@router.get("/webhooks", response_model=list[EndpointOut], summary="The app's endpoints (no secrets)")
def list_endpoints(app: AuthedApp = Depends(current_app), db: Database = Depends(get_db)) -> list[EndpointOut]:
    return _endpoints(db, app.id)


@router.get("/webhooks/deliveries", response_model=list[DeliveryOut],
            summary="The delivery log, newest first, with every attempt")
def list_deliveries(status: DeliveryStatus | None = None, event_type: EventType | None = None,
                    endpoint_id: str | None = None, limit: int = Query(50, ge=1, le=200),
                    app: AuthedApp = Depends(current_app), db: Database = Depends(get_db)) -> list[DeliveryOut]:
    return _deliveries(db, app.id, status, event_type, endpoint_id, limit)


@router.post("/webhooks/deliveries/{delivery_id}/retry", status_code=202, response_model=DeliveryOut,
             summary="Send a failed delivery once more, now (same event id)")
def retry_delivery(delivery_id: str, app: AuthedApp = Depends(current_app), db: Database = Depends(get_db),
                   dispatcher: WebhookDispatcher = Depends(get_webhooks)) -> DeliveryOut:
    result = dispatcher.redeliver(app.id, delivery_id)
    if result == "not_found":
        raise ApiError(404, "delivery_not_found", f"no delivery {delivery_id}")
    if result == "endpoint_deleted":
        raise ApiError(409, "endpoint_deleted", "the endpoint of this delivery was deleted")
    if result == "not_failed":
        raise ApiError(409, "delivery_not_failed", "only failed deliveries can be retried")
    ((d, url),) = WebhookStore(db).deliveries(app.id, delivery_id=delivery_id, limit=1)
    return _delivery_out(d, url)


@router.delete("/webhooks/{endpoint_id}", status_code=204, response_class=Response,
               summary="Delete an endpoint (its delivery log stays; pending deliveries are dropped)")
def delete_endpoint(endpoint_id: str, app: AuthedApp = Depends(current_app),
                    dispatcher: WebhookDispatcher = Depends(get_webhooks)) -> Response:
    if not dispatcher.delete_endpoint(app.id, endpoint_id):
        raise ApiError(404, "webhook_not_found", f"no webhook endpoint {endpoint_id}")
    return Response(status_code=204)


@router.post("/webhooks/{endpoint_id}/rotate-secret", response_model=EndpointWithSecret,
             summary="Replace the signing secret at once; the new one is in this response only")
def rotate_secret(endpoint_id: str, app: AuthedApp = Depends(current_app),
                  dispatcher: WebhookDispatcher = Depends(get_webhooks)) -> EndpointOut:
    rotated = dispatcher.rotate_secret(app.id, endpoint_id)
    if rotated is None:
        raise ApiError(404, "webhook_not_found", f"no webhook endpoint {endpoint_id}")
    return _endpoint_out(*rotated)


# ---- conversions ------------------------------------------------------------------------------------------------

def _insert_conversion(db: Database, app_id: str, body: ConversionIn) -> tuple[Conversion, Call]:
    try:
        saved = WebhookStore(db).add_conversion(app_id, call_id=body.call_id, order_id=body.order_id,
                                                amount_cents=int(body.amount * 100), currency=body.currency)
    except DuplicateOrder:
        raise ApiError(409, "duplicate_order", f"order {body.order_id} is already recorded") from None
    if saved is None:
        raise ApiError(404, "call_not_found", f"no call {body.call_id}")
    return saved


@router.post("/conversions", status_code=201, response_model=ConversionOut,
             responses={409: {"description": "this order_id is already recorded"}},
             summary="Attribute an order to a call (sends conversion.recorded)")
async def record_conversion(body: ConversionIn, app: AuthedApp = Depends(current_app),
                            db: Database = Depends(get_db),
                            dispatcher: WebhookDispatcher = Depends(get_webhooks)) -> ConversionOut:
    conv, call = await asyncio.to_thread(_insert_conversion, db, app.id, body)
    data = events.conversion_recorded(conv, call)
    try:  # the conversion is stored either way; a failed emit must not invite a retry that would 409
        await dispatcher.emit(app.id, "conversion.recorded", data)
    except Exception:
        log.exception("webhook_emit_failed", event_type="conversion.recorded", conversion=conv.id)
    return ConversionOut(id=conv.id, call_id=conv.call_id, order_id=conv.order_id, amount=data["amount"],
                         amount_cents=conv.amount_cents, currency=conv.currency, created_at=data["created_at"])


# ---- console (admins) -------------------------------------------------------------------------------------------

@console_router.get("/webhooks", response_model=list[EndpointOut], summary="Admin: the app's webhook endpoints")
def console_endpoints(admin: AgentInfo = Depends(current_admin), db: Database = Depends(get_db)) -> list[EndpointOut]:
    return _endpoints(db, admin.app_id)


@console_router.get("/webhooks/deliveries", response_model=list[DeliveryOut],
                    summary="Admin: the webhook delivery log, newest first")
def console_deliveries(status: DeliveryStatus | None = None, event_type: EventType | None = None,
                       endpoint_id: str | None = None, limit: int = Query(50, ge=1, le=200),
                       admin: AgentInfo = Depends(current_admin), db: Database = Depends(get_db)) -> list[DeliveryOut]:
    return _deliveries(db, admin.app_id, status, event_type, endpoint_id, limit)
