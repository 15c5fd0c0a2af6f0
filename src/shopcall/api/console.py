"""Console API (`/v1/console`): agent login, the CRM panel, notes and outcomes, the admin lists.

Authenticated by the console session cookie (HttpOnly, SameSite=Strict), not by the app secret:
these are the merchant's staff in a browser. Every query is scoped to the agent's app. Handlers
that read live state are `async` and run their database work in threads; the others are plain
`def` (FastAPI's thread pool).
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from shopcall.api.deps import get_client_address, get_crm, get_db, get_live, get_settings, get_signing_key, get_throttle
from shopcall.api.errors import ERROR_RESPONSES, ApiError
from shopcall.api.proxy import is_https
from shopcall.api.throttle import Throttle
from shopcall.auth import audit, tokens
from shopcall.config import Settings
from shopcall.console.accounts import (
    AccountError,
    AgentInfo,
    HashingBusy,
    authenticate,
    change_own_password,
    close_session,
    delete_agent,
    open_session,
    session_agent,
    set_disabled,
    set_locale,
    set_password,
)
from shopcall.console.store import ConsoleStore, NotYourCall
from shopcall.crm.base import CrmResult, lookup_with_deadline
from shopcall.crm.connectors import CrmConnectors, CrmMisconfigured
from shopcall.crm.model import CrmLookup
from shopcall.db.engine import Database
from shopcall.db.models import Call, QualitySample, iso, seconds_between
from shopcall.i18n import SUPPORTED
from shopcall.signalling.control import LiveControl

COOKIE = "sc_console"
TOKEN_TTL_S = 3600
router = APIRouter(prefix="/v1/console", tags=["console"], responses=ERROR_RESPONSES)


def current_agent(request: Request, db: Database = Depends(get_db)) -> AgentInfo:
    try:
        return session_agent(db, request.cookies.get(COOKIE))
    except AccountError as e:
        raise ApiError(401, e.code, e.message) from None


def current_admin(agent: AgentInfo = Depends(current_agent)) -> AgentInfo:
    if agent.role != "admin":
        raise ApiError(403, "forbidden", "this needs an admin account")
    return agent


def _token(key: bytes, agent: AgentInfo) -> dict[str, Any]:
    """A signalling token for every room of the app, carrying the agent's token version (`ver`)."""
    token, exp = tokens.mint(key, app_id=agent.app_id, identity=agent.identity,
                             role="agent" if agent.role == "agent" else "admin", name=agent.name, rooms=["*"],
                             ttl_s=TOKEN_TTL_S, version=agent.token_version)
    return {"token": token, "expires_at": exp}


def _account_error(e: AccountError) -> ApiError:
    if isinstance(e, HashingBusy):
        return ApiError(503, e.code, e.message, {"Retry-After": "1"})
    status = {"weak_password": 422, "agent_not_found": 404, "login_failed": 403}.get(e.code, 400)
    return ApiError(status, e.code, e.message)


def _own_call(db: Database, agent: AgentInfo, call_id: str) -> Call:
    call = ConsoleStore(db).call(agent.app_id, call_id)
    if call is None:
        raise ApiError(404, "call_not_found", f"no call {call_id}")
    return call


class LoginIn(BaseModel):
    app_id: str = Field(min_length=1, max_length=40)
    login: str = Field(min_length=1, max_length=320, description="agent identity or email")
    password: str = Field(min_length=1, max_length=200)


class PasswordChangeIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=12, max_length=200)


class PasswordResetIn(BaseModel):
    new_password: str = Field(min_length=12, max_length=200)


class AgentStateIn(BaseModel):
    disabled: bool


class NoteIn(BaseModel):
    text: str = Field("", max_length=10000)
    outcome: Literal["sold", "follow_up", "no_sale"] | None = None


@router.post("/login", summary="Sign an agent in (sets the session cookie)",
             responses={429: {"description": "too many failed sign-ins (see Retry-After)"},
                        503: {"description": "too many sign-ins at once (see Retry-After)"}})
def login(body: LoginIn, request: Request, response: Response, db: Database = Depends(get_db),
          key: bytes = Depends(get_signing_key), throttle: Throttle = Depends(get_throttle),
          address: str = Depends(get_client_address), settings: Settings = Depends(get_settings)) -> dict[str, Any]:
    throttle.before_login(body.app_id, body.login, address)
    try:
        agent = authenticate(db, body.app_id, body.login, body.password)
    except HashingBusy as e:
        raise _account_error(e) from None
    except AccountError as e:
        if e.code == "login_failed":
            throttle.login_failed(body.app_id, body.login, address)
        audit.record(db, body.app_id, "anonymous", "console.login_failed", reason=e.code)
        raise ApiError(401, e.code, e.message) from None
    throttle.login_succeeded(body.app_id, body.login)
    cookie = open_session(db, agent)
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", max_age=12 * 3600, path="/",
                        secure=is_https(request, settings))
    audit.record(db, agent.app_id, f"agent:{agent.identity}", "console.login")
    audit.record(db, agent.app_id, f"agent:{agent.identity}", "token.minted", role=agent.role, rooms=["*"])
    return {"agent": agent.public(), **_token(key, agent)}


@router.post("/logout", summary="End the console session")
def logout(request: Request, response: Response, db: Database = Depends(get_db)) -> dict[str, bool]:
    close_session(db, request.cookies.get(COOKIE))
    response.delete_cookie(COOKIE, path="/")
    return {"ok": True}


@router.post("/password", summary="Change your own password (ends all your sessions; signs this one in again)",
             responses={403: {"description": "the current password is wrong (`login_failed`)"}})
def change_password(body: PasswordChangeIn, request: Request, response: Response,
                    agent: AgentInfo = Depends(current_agent), db: Database = Depends(get_db),
                    key: bytes = Depends(get_signing_key),
                    settings: Settings = Depends(get_settings)) -> dict[str, Any]:
    try:
        updated = change_own_password(db, agent, body.current_password, body.new_password)
    except AccountError as e:
        raise _account_error(e) from None
    audit.record(db, agent.app_id, f"agent:{agent.identity}", "agent.password_changed", agent=agent.identity)
    cookie = open_session(db, updated)
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", max_age=12 * 3600, path="/",
                        secure=is_https(request, settings))
    return {"agent": updated.public(), **_token(key, updated)}


def _admin_change(db: Database, admin: AgentInfo, identity: str, action: str, change: Any) -> Any:
    try:
        result = change()
    except AccountError as e:
        raise _account_error(e) from None
    audit.record(db, admin.app_id, f"agent:{admin.identity}", action, agent=identity)
    return result


@router.post("/admin/agents/{identity}/password", summary="Admin: reset an agent's password (ends their sessions)")
def admin_reset_password(identity: str, body: PasswordResetIn, admin: AgentInfo = Depends(current_admin),
                         db: Database = Depends(get_db)) -> dict[str, Any]:
    info = _admin_change(db, admin, identity, "agent.password_reset",
                         lambda: set_password(db, admin.app_id, identity, body.new_password))
    return {"agent": info.public()}


@router.patch("/admin/agents/{identity}", summary="Admin: disable (ends sessions, refuses tokens) or enable an agent")
def admin_set_agent_state(identity: str, body: AgentStateIn, admin: AgentInfo = Depends(current_admin),
                          db: Database = Depends(get_db)) -> dict[str, Any]:
    if body.disabled and identity == admin.identity:
        raise ApiError(409, "conflict", "you cannot disable your own account")
    info = _admin_change(db, admin, identity, "agent.disabled" if body.disabled else "agent.enabled",
                         lambda: set_disabled(db, admin.app_id, identity, body.disabled))
    return {"agent": info.public(), "disabled": body.disabled}


@router.delete("/admin/agents/{identity}", summary="Admin: delete an agent (ends sessions, refuses tokens)")
def admin_delete_agent(identity: str, admin: AgentInfo = Depends(current_admin),
                       db: Database = Depends(get_db)) -> dict[str, Any]:
    if identity == admin.identity:
        raise ApiError(409, "conflict", "you cannot delete your own account")
    _admin_change(db, admin, identity, "agent.deleted", lambda: delete_agent(db, admin.app_id, identity))
    return {"deleted": identity}


@router.get("/admin/audit", summary="Admin: the app's audit log, newest first")
def admin_audit(admin: AgentInfo = Depends(current_admin), db: Database = Depends(get_db),
                limit: int = 100) -> list[dict[str, Any]]:
    return [{"id": e.id, "at": iso(e.created_at), "actor": e.actor, "action": e.action, "details": e.details}
            for e in audit.entries(db, admin.app_id, limit=max(1, min(limit, 500)))]


@router.get("/me", summary="The signed-in agent and a fresh signalling token")
def me(agent: AgentInfo = Depends(current_agent), key: bytes = Depends(get_signing_key),
       db: Database = Depends(get_db)) -> dict[str, Any]:
    audit.record(db, agent.app_id, f"agent:{agent.identity}", "token.minted", role=agent.role, rooms=["*"])
    return {"agent": agent.public(), **_token(key, agent)}


class ProfileIn(BaseModel):
    locale: str | None = Field(
        max_length=16, description=f"the console's language, one of {', '.join(SUPPORTED)}; null: the browser's")


@router.patch("/me", summary="Change your own console settings (language)")
def update_me(body: ProfileIn, agent: AgentInfo = Depends(current_agent),
              db: Database = Depends(get_db)) -> dict[str, Any]:
    if body.locale is not None and body.locale not in SUPPORTED:
        raise ApiError(422, "unsupported_locale", f"locale must be one of {', '.join(SUPPORTED)} or null")
    try:
        updated = set_locale(db, agent.app_id, agent.identity, body.locale)
    except AccountError as e:
        raise _account_error(e) from None
    return {"agent": updated.public()}


@router.get("/products", summary="The app's catalogue, for product cards")
def products(agent: AgentInfo = Depends(current_agent), db: Database = Depends(get_db)) -> list[dict[str, Any]]:
    return [{"sku": p.sku, "title": p.title, "price": p.price_cents / 100, "currency": p.currency,
             "image_url": p.image_url, "description": p.description, "category": p.category}
            for p in ConsoleStore(db).products(agent.app_id)]


def _call_out(c: Call) -> dict[str, Any]:
    return {"id": c.id, "status": c.status, "shopper": {"identity": c.shopper_identity, "name": c.shopper_name},
            "customer_id": c.customer_id, "agent": c.agent_identity, "context": c.context, "outcome": c.outcome,
            "created_at": iso(c.created_at), "answered_at": iso(c.answered_at), "ended_at": iso(c.ended_at)}


def _notes_out(db: Database, app_id: str, call: Call) -> list[dict[str, Any]]:
    return [{"call": n.call_id, "agent": n.agent_identity, "text": n.text, "outcome": n.outcome,
             "at": iso(n.created_at), "this_call": n.call_id == call.id}
            for n in ConsoleStore(db).notes_for(app_id, call)]


@router.get("/calls/{call_id}/crm", summary="The CRM panel: customer, orders, lifetime value, earlier notes")
async def call_crm(call_id: str, agent: AgentInfo = Depends(current_agent), db: Database = Depends(get_db),
                   crm: CrmConnectors = Depends(get_crm)) -> dict[str, Any]:
    call = await asyncio.to_thread(_own_call, db, agent, call_id)
    # Only the customer id of the shopper's token (minted by the merchant's server) names a customer: the
    # call context comes from the page, so an email or id in it is never looked up (anyone could type one).
    if call.customer_id:
        try:
            connector = await crm.for_app(agent.app_id)
        except CrmMisconfigured as e:
            raise ApiError(409, "crm_misconfigured", f"the app's CRM settings are invalid: {e}") from None
        result = await lookup_with_deadline(connector, CrmLookup(customer_id=call.customer_id))
    else:
        result = CrmResult("not_found", error=None, source="")
    notes = await asyncio.to_thread(_notes_out, db, agent.app_id, call)
    return {"call": _call_out(call), "crm": result.to_json(), "notes": notes}


@router.post("/calls/{call_id}/notes", summary="Save a note and/or the call outcome")
def add_note(call_id: str, body: NoteIn, agent: AgentInfo = Depends(current_agent),
             db: Database = Depends(get_db)) -> dict[str, Any]:
    if not body.text.strip() and body.outcome is None:
        raise ApiError(422, "bad_request", "write a note or choose an outcome")
    try:
        saved = ConsoleStore(db).add_note(agent.app_id, call_id, agent.identity, text=body.text.strip(),
                                          outcome=body.outcome, any_call=agent.role == "admin")
    except NotYourCall:
        raise ApiError(403, "forbidden", "only the agent who took the call can write its notes") from None
    if saved is None:
        raise ApiError(404, "call_not_found", f"no call {call_id}")
    note, call = saved
    return {"id": note.id, "call": call.id, "outcome": call.outcome}


@router.get("/queue", summary="Live queue and every agent's presence")
async def queue(agent: AgentInfo = Depends(current_agent), live: LiveControl = Depends(get_live)) -> dict[str, Any]:
    return await live.desk_snapshot(agent.app_id)


def _p95(xs: list[float | None]) -> float | None:
    vals = sorted(x for x in xs if x is not None)
    return round(vals[min(len(vals) - 1, int(0.95 * (len(vals) - 1) + 0.5))], 1) if vals else None


def _avg(xs: list[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return round(sum(vals) / len(vals), 3) if vals else None


def _quality_of(identity: str, rs: list[QualitySample]) -> dict[str, Any]:
    return {
        "identity": identity, "samples": len(rs), "mos_avg": _avg([r.mos for r in rs]),
        "mos_min": min((r.mos for r in rs if r.mos is not None), default=None),
        "rtt_p95_ms": _p95([r.rtt_ms for r in rs]), "loss_max_pct": max((r.loss_pct or 0 for r in rs), default=0),
        "freeze_ratio_avg": _avg([r.freeze_ratio for r in rs]),
        "concealment_ratio_avg": _avg([r.concealment_ratio for r in rs]),
        "fps_avg": _avg([r.fps for r in rs]), "level_last": rs[-1].level,
        "layer_changes": sum(len((r.data or {}).get("layers", [])) for r in rs),
    }


@router.get("/calls/{call_id}/quality", summary="Per-participant quality report of a call")
def call_quality(call_id: str, agent: AgentInfo = Depends(current_agent),
                 db: Database = Depends(get_db)) -> dict[str, Any]:
    call = _own_call(db, agent, call_id)
    people: dict[str, list[QualitySample]] = {}
    for r in ConsoleStore(db).quality_samples(call.room_id):
        people.setdefault(r.identity, []).append(r)
    return {"call": call.id, "participants": [_quality_of(who, rs) for who, rs in people.items()]}


@router.get("/visitors", summary="Shoppers on the shop right now (live, anonymous unless signed in)")
async def visitors(agent: AgentInfo = Depends(current_agent),
                   live: LiveControl = Depends(get_live)) -> list[dict[str, Any]]:
    return await live.visitors(agent.app_id)


@router.get("/callbacks", summary="Callback requests left outside business hours")
def callbacks(agent: AgentInfo = Depends(current_agent), db: Database = Depends(get_db)) -> list[dict[str, Any]]:
    return [{"id": r.id, "name": r.name, "contact": r.contact, "note": r.note, "context": r.context,
             "status": r.status, "created_at": iso(r.created_at)} for r in ConsoleStore(db).callbacks(agent.app_id)]


@router.get("/admin/agents", summary="Admin: the app's agents")
async def admin_agents(admin: AgentInfo = Depends(current_admin), db: Database = Depends(get_db),
                       live: LiveControl = Depends(get_live)) -> list[dict[str, Any]]:
    roster = await asyncio.to_thread(ConsoleStore(db).agents_with_call_counts, admin.app_id)
    return [{"identity": a.identity, "name": a.display_name, "email": a.email, "role": a.role, "disabled": a.disabled,
             "languages": a.languages, "categories": a.categories, "max_concurrent": a.max_concurrent,
             "calls": calls, "online": await live.agent_online(a.app_id, a.identity)}
            for a, calls in roster]


@router.get("/admin/calls", summary="Admin: recent calls with wait, duration and outcome")
def admin_calls(admin: AgentInfo = Depends(current_admin), db: Database = Depends(get_db),
                limit: int = 100) -> list[dict[str, Any]]:
    return [{**_call_out(c), "wait_s": seconds_between(c.created_at, c.answered_at or c.ended_at),
             "duration_s": seconds_between(c.answered_at, c.ended_at)}
            for c in ConsoleStore(db).recent_calls(admin.app_id, max(1, min(limit, 500)))]
