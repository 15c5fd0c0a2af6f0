"""App settings (`/v1/settings`) for the merchant's server: business hours, the CRM connector, routing,
recording and the shop-page widget.

Secrets of the CRM configuration are write-only: they are stored encrypted, never returned. The URLs a
connector would fetch must pass the outbound check (public addresses unless the operator allows more).
The widget's allowed origins are validated entry by entry (`api.origins`) and stored normalised.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, ValidationError

from shopcall.api.app_store import AppStore
from shopcall.api.deps import AuthedApp, current_app, get_crm, get_db, get_live
from shopcall.api.deps import get_settings as server_settings
from shopcall.api.errors import ERROR_RESPONSES, ApiError, ErrorOut
from shopcall.api.origins import MAX_ORIGINS, normalise, parse_pattern
from shopcall.api.widget_theme import ButtonLabels, Position, ThemeIn, public_widget
from shopcall.config import Settings
from shopcall.crm._http import describe
from shopcall.crm.connectors import CrmConnectors
from shopcall.crm.factory import dump_crm_config, parse_crm_config, target_urls
from shopcall.db.engine import Database
from shopcall.db.models import App
from shopcall.outbound import UrlNotAllowed, check_url
from shopcall.recording.regions import DEFAULT_REGION
from shopcall.rooms.business_hours import BusinessHours, parse_hours
from shopcall.signalling.control import LiveControl

router = APIRouter(prefix="/v1/settings", tags=["settings"], responses=ERROR_RESPONSES)


class RoutingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ring_timeout_s: float = Field(20, ge=3, le=120, description="how long one agent rings before the next")
    fallback_after_s: float | None = Field(30, ge=0, le=3600, description="then any agent, skills or not")
    max_wait_s: float | None = Field(600, ge=10, le=7200, description="then the call ends as unanswered")


class RecordingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy: Literal["off", "on_demand", "always"] = Field("off", description="who starts recordings")
    consent: bool = Field(True, description="ask each shopper first; a refusal records nothing of them")
    retention_days: int | None = Field(None, ge=1, le=3650, description="delete recordings after; none = keep")


Days = Annotated[int, Strict()] | None  # `true` or "30" are mistakes, not days


class RetentionIn(BaseModel):
    """Days to keep each kind of personal data (privacy.retention); a PATCH changes only the kinds it sends,
    null = keep. Recordings keep theirs in `recording.retention_days`."""

    model_config = ConfigDict(extra="forbid")
    chat: Days = Field(None, ge=1, le=3650, description="chat messages are deleted after")
    visitor_events: Days = Field(None, ge=1, le=3650, description="the visit (page, cart, time on site) "
                                 "is removed from the call's context after")
    quality_samples: Days = Field(None, ge=1, le=3650, description="quality samples are deleted after")
    callback_requests: Days = Field(None, ge=1, le=3650, description="callback requests are deleted after")
    call_metadata: Days = Field(None, ge=1, le=3650, description="calls are anonymised after (shopper "
                                "identity pseudonymised; name, customer id and context cleared)")
    ip_addresses: Days = Field(None, ge=1, le=3650, description="IP addresses are removed from everything "
                               "stored after")


def _origin(entry: str) -> str:
    return str(parse_pattern(entry))  # OriginError is a ValueError: a 422 naming the entry and the problem


AllowedOrigin = Annotated[str, Field(min_length=1, max_length=300), AfterValidator(_origin)]


class WidgetIn(BaseModel):
    """The widget group; a PATCH changes only the keys it sends (`theme` as a whole)."""

    model_config = ConfigDict(extra="forbid")
    allowed_origins: list[AllowedOrigin] = Field(
        default_factory=list, max_length=MAX_ORIGINS,
        description="origins whose pages may use the widget: scheme://host[:port], a port may be * "
                    "(http://localhost:*), the host may start with *. (https://*.example.com: subdomains only); "
                    "no paths. POST /v1/widget/session mints anonymous shopper tokens only for these")
    theme: ThemeIn = Field(default_factory=ThemeIn, description="colours, corner radius, font, logo")
    button_label: ButtonLabels = Field(default_factory=dict, description="the launcher's text per locale "
                                       "(en, zh-CN, de, fr, es, ja); missing ones use the built-in catalog")
    position: Position = Field("bottom-right", description="the floating launcher's corner, or inline: only "
                               "the shop's own <shopcall-button> elements")


class SettingsIn(BaseModel):
    business_hours: BusinessHours | None = None
    crm: dict[str, Any] | None = None
    routing: RoutingIn | None = None
    recording: RecordingIn | None = None
    widget: WidgetIn | None = None
    retention: RetentionIn | None = None
    region: str | None = Field(None, min_length=1, max_length=40, description="the app's data region: one of the "
                               "server's configured regions (`local` by default); refused (409) while the app has "
                               "recordings stored in its current region")


def _widget_out(stored: dict[str, Any]) -> dict[str, Any]:
    out = WidgetIn.model_validate({"allowed_origins": stored.get("allowed_origins", [])}).model_dump()
    return {**out, **public_widget(stored)}


def _out(app: App | None) -> dict[str, Any]:
    if app is None:  # the app was deleted after it authenticated
        raise ApiError(404, "app_not_found", "this app no longer exists")
    crm = dump_crm_config(parse_crm_config(app.crm_config)) if app.crm_config else {"kind": "builtin"}
    return {"business_hours": parse_hours(app.business_hours).model_dump(mode="json"), "crm": crm,
            "routing": RoutingIn.model_validate(app.routing or {}).model_dump(),
            "recording": {"policy": app.recording_policy, "consent": app.recording_consent,
                          "retention_days": app.retention_days},
            "widget": _widget_out(app.widget or {}),
            "retention": RetentionIn.model_validate(_known_kinds(app.retention or {})).model_dump(),
            "region": app.region}


def _known_kinds(stored: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in stored.items() if k in RetentionIn.model_fields}


@router.get("", summary="The app's settings: hours, CRM connector (secrets masked), routing, recording, widget")
def get_settings(tenant: AuthedApp = Depends(current_app), db: Database = Depends(get_db)) -> dict[str, Any]:
    return _out(AppStore(db).get(tenant.id))


def _save(db: Database, app_id: str, body: SettingsIn, crm: dict[str, Any] | None) -> dict[str, Any]:
    rec, widget = body.recording, body.widget
    if body.region is not None:
        _move_region(db, app_id, body.region)
    if widget is not None and "allowed_origins" in widget.model_fields_set:
        widget.allowed_origins = normalise(widget.allowed_origins)  # drops duplicates
    return _out(AppStore(db).update_settings(
        app_id, crm_config=crm,
        business_hours=body.business_hours.model_dump(mode="json") if body.business_hours is not None else None,
        retention=body.retention.model_dump(exclude_unset=True) if body.retention is not None else None,
        routing=body.routing.model_dump() if body.routing is not None else None,
        recording=(rec.policy, rec.consent, rec.retention_days) if rec is not None else None,
        widget=_widget_changes(widget) if widget is not None else None))


def _check_region(region: str, server: Settings) -> None:
    known = {DEFAULT_REGION, *server.regions}
    if region not in known:
        raise ApiError(422, "unknown_region", f"region {region!r} is not configured on this server; "
                       f"known: {', '.join(sorted(known))}")


def _move_region(db: Database, app_id: str, region: str) -> None:
    blocking = AppStore(db).change_region(app_id, region)
    if blocking:
        raise ApiError(409, "region_change_refused", f"{blocking} recording(s) of this app are stored in its "
                       "current region and would stay there; delete them (or export first) before changing region")


def _widget_changes(widget: WidgetIn) -> dict[str, Any]:
    """The keys the PATCH sent, as stored (the theme without its unset fields)."""
    changes = widget.model_dump(exclude_unset=True)
    if "theme" in changes:
        changes["theme"] = widget.theme.model_dump(exclude_none=True)
    return changes


@router.patch("", summary="Change some settings groups (business hours, CRM, routing, recording, widget, "
                          "retention, region)",
              responses={409: {"model": ErrorOut, "description": "the region cannot change while recordings "
                               "are stored in the current one (`region_change_refused`)"}})
async def patch_settings(body: SettingsIn, tenant: AuthedApp = Depends(current_app), db: Database = Depends(get_db),
                         live: LiveControl = Depends(get_live),
                         connectors: CrmConnectors = Depends(get_crm),
                         server: Settings = Depends(server_settings)) -> dict[str, Any]:
    if body.region is not None:
        _check_region(body.region, server)
    crm = None
    if body.crm is not None:
        try:
            config = parse_crm_config(body.crm)
        except ValidationError as e:
            raise ApiError(422, "bad_request", f"crm: {describe(e)}") from None
        try:
            for url in target_urls(config):
                check_url(url, connectors.outbound)
        except UrlNotAllowed as e:
            raise ApiError(422, "url_not_allowed", f"crm: {e}") from None
        crm = connectors.credentials.seal(dump_crm_config(config, reveal_secrets=True))
    out = await asyncio.to_thread(_save, db, tenant.id, body, crm)
    await live.reload_routing_policy(tenant.id)
    return out
