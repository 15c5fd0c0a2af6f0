"""Console API (`/v1/console`): agent login, the CRM panel, notes and outcomes, the admin lists.

Authenticated by the console session cookie (HttpOnly, SameSite=Strict), not by the app secret:
these are the merchant's staff in a browser. Every query is scoped to the agent's app.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import func, select

from shopcall.api.errors import ERROR_RESPONSES, ApiError
from shopcall.auth import tokens
from shopcall.console.accounts import AccountError, AgentInfo, authenticate, close_session, open_session, session_agent
from shopcall.crm._http import describe
from shopcall.crm.base import CrmResult, lookup_with_deadline
from shopcall.crm.factory import connector_for, parse_crm_config
from shopcall.crm.model import CrmLookup
from shopcall.db.engine import Database
from shopcall.db.models import Agent, App, Call, CallbackRequest, CallNote, Product, QualitySample

COOKIE = "sc_console"
TOKEN_TTL_S = 3600
router = APIRouter(prefix="/v1/console", tags=["console"], responses=ERROR_RESPONSES)


def _db(request: Request) -> Database:
    return request.app.state.db


def current_agent(request: Request) -> AgentInfo:
    try:
        return session_agent(_db(request), request.cookies.get(COOKIE))
    except AccountError as e:
        raise ApiError(401, e.code, e.message) from None


def current_admin(agent: AgentInfo = Depends(current_agent)) -> AgentInfo:
    if agent.role != "admin":
        raise ApiError(403, "forbidden", "this needs an admin account")
    return agent


def _token(request: Request, agent: AgentInfo) -> dict[str, Any]:
    token, exp = tokens.mint(request.app.state.signing_key, app_id=agent.app_id, identity=agent.identity,
                             role="agent" if agent.role == "agent" else "admin", name=agent.name, rooms=["*"],
                             ttl_s=TOKEN_TTL_S)
    return {"token": token, "expires_at": exp}


class LoginIn(BaseModel):
    app_id: str = Field(min_length=1, max_length=40)
    login: str = Field(min_length=1, max_length=320, description="agent identity or email")
    password: str = Field(min_length=1, max_length=200)


class NoteIn(BaseModel):
    text: str = Field("", max_length=10000)
    outcome: Literal["sold", "follow_up", "no_sale"] | None = None


@router.post("/login", summary="Sign an agent in (sets the session cookie)")
def login(body: LoginIn, request: Request, response: Response) -> dict[str, Any]:
    db = _db(request)
    try:
        agent = authenticate(db, body.app_id, body.login, body.password)
    except AccountError as e:
        raise ApiError(401, e.code, e.message) from None
    cookie = open_session(db, agent)
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", max_age=12 * 3600, path="/",
                        secure=request.url.scheme == "https")
    return {"agent": agent.public(), **_token(request, agent)}


@router.post("/logout", summary="End the console session")
def logout(request: Request, response: Response) -> dict[str, bool]:
    close_session(_db(request), request.cookies.get(COOKIE))
    response.delete_cookie(COOKIE, path="/")
    return {"ok": True}


@router.get("/me", summary="The signed-in agent and a fresh signalling token")
def me(request: Request, agent: AgentInfo = Depends(current_agent)) -> dict[str, Any]:
    return {"agent": agent.public(), **_token(request, agent)}


@router.get("/products", summary="The app's catalogue, for product cards")
def products(request: Request, agent: AgentInfo = Depends(current_agent)) -> list[dict[str, Any]]:
    with _db(request).session() as s:
        rows = s.scalars(select(Product).where(Product.app_id == agent.app_id).order_by(Product.id))
        return [{"sku": p.sku, "title": p.title, "price": p.price_cents / 100, "currency": p.currency,
                 "image_url": p.image_url, "description": p.description, "category": p.category} for p in rows]


def _call_of(db: Database, agent: AgentInfo, call_id: str) -> Call:
    with db.session() as s:
        call = s.get(Call, call_id)
        if call is None or call.app_id != agent.app_id:
            raise ApiError(404, "call_not_found", f"no call {call_id}")
        return call


def _connector(request: Request, app_id: str) -> Any:
    """One connector per app and configuration (they hold connection pools)."""
    with _db(request).session() as s:
        app = s.get(App, app_id)
        raw = dict(app.crm_config or {}) if app else {}
    raw = raw or {"kind": "builtin"}
    cache: dict[str, Any] = request.app.state.__dict__.setdefault("crm_connectors", {})
    key = f"{app_id}:{sorted(raw.items())!r}"
    if key not in cache:
        try:
            cache[key] = connector_for(parse_crm_config(raw), db=_db(request), app_id=app_id)
        except ValidationError as e:
            raise ApiError(409, "crm_misconfigured", f"the app's CRM settings are invalid: {describe(e)}") from None
        except ValueError as e:
            raise ApiError(409, "crm_misconfigured", f"the app's CRM settings are invalid: {e}") from None
    return cache[key]


@router.get("/calls/{call_id}/crm", summary="The CRM panel: customer, orders, lifetime value, earlier notes")
async def call_crm(call_id: str, request: Request, agent: AgentInfo = Depends(current_agent)) -> dict[str, Any]:
    db = _db(request)
    call = await asyncio.to_thread(_call_of, db, agent, call_id)
    ctx = call.context or {}
    email = ctx.get("email") if isinstance(ctx.get("email"), str) and len(ctx["email"]) <= 320 else None
    if call.customer_id or email:
        result = await lookup_with_deadline(_connector(request, agent.app_id),
                                            CrmLookup(customer_id=call.customer_id, email=email))
    else:
        result = CrmResult("not_found", error=None, source="")
    notes = await asyncio.to_thread(_notes_for, db, agent.app_id, call)
    return {"call": _call_out(call), "crm": result.to_json(), "notes": notes}


def _notes_for(db: Database, app_id: str, call: Call) -> list[dict[str, Any]]:
    with db.session() as s:
        q = select(CallNote).where(CallNote.app_id == app_id)
        q = q.where((CallNote.customer_id == call.customer_id) | (CallNote.call_id == call.id)) if call.customer_id \
            else q.where(CallNote.call_id == call.id)
        return [{"call": n.call_id, "agent": n.agent_identity, "text": n.text, "outcome": n.outcome,
                 "at": n.created_at.isoformat() + "Z", "this_call": n.call_id == call.id}
                for n in s.scalars(q.order_by(CallNote.created_at.desc()).limit(50))]


def _call_out(c: Call) -> dict[str, Any]:
    def iso(d: datetime | None) -> str | None:
        return d.isoformat() + "Z" if d else None
    return {"id": c.id, "status": c.status, "shopper": {"identity": c.shopper_identity, "name": c.shopper_name},
            "customer_id": c.customer_id, "agent": c.agent_identity, "context": c.context, "outcome": c.outcome,
            "created_at": iso(c.created_at), "answered_at": iso(c.answered_at), "ended_at": iso(c.ended_at)}


@router.post("/calls/{call_id}/notes", summary="Save a note and/or the call outcome")
def add_note(call_id: str, body: NoteIn, request: Request, agent: AgentInfo = Depends(current_agent)) -> dict[str, Any]:
    if not body.text.strip() and body.outcome is None:
        raise ApiError(422, "bad_request", "write a note or choose an outcome")
    db = _db(request)
    with db.session() as s:
        call = s.get(Call, call_id)
        if call is None or call.app_id != agent.app_id:
            raise ApiError(404, "call_not_found", f"no call {call_id}")
        if agent.role != "admin" and call.agent_identity not in (agent.identity, None):
            raise ApiError(403, "forbidden", "only the agent who took the call can write its notes")
        note = CallNote(app_id=agent.app_id, call_id=call.id, agent_identity=agent.identity,
                        customer_id=call.customer_id, text=body.text.strip(), outcome=body.outcome)
        s.add(note)
        if body.outcome:
            call.outcome = body.outcome
        s.flush()
        return {"id": note.id, "call": call.id, "outcome": call.outcome}


@router.get("/queue", summary="Live queue and every agent's presence")
def queue(request: Request, agent: AgentInfo = Depends(current_agent)) -> dict[str, Any]:
    return request.app.state.hub.desk.snapshot(agent.app_id)


@router.get("/calls/{call_id}/quality", summary="Per-participant quality report of a call")
def call_quality(call_id: str, request: Request, agent: AgentInfo = Depends(current_agent)) -> dict[str, Any]:
    db = _db(request)
    call = _call_of(db, agent, call_id)
    with db.session() as s:
        rows = list(s.scalars(select(QualitySample).where(QualitySample.room_id == call.room_id)
                              .order_by(QualitySample.created_at)))
    people: dict[str, list[QualitySample]] = {}
    for r in rows:
        people.setdefault(r.identity, []).append(r)

    def p95(xs: list[float]) -> float | None:
        xs = sorted(x for x in xs if x is not None)
        return round(xs[min(len(xs) - 1, int(0.95 * (len(xs) - 1) + 0.5))], 1) if xs else None

    def avg(xs: list[float | None]) -> float | None:
        vals = [x for x in xs if x is not None]
        return round(sum(vals) / len(vals), 3) if vals else None

    return {"call": call.id, "participants": [{
        "identity": who, "samples": len(rs), "mos_avg": avg([r.mos for r in rs]),
        "mos_min": min((r.mos for r in rs if r.mos is not None), default=None),
        "rtt_p95_ms": p95([r.rtt_ms for r in rs]), "loss_max_pct": max((r.loss_pct or 0 for r in rs), default=0),
        "freeze_ratio_avg": avg([r.freeze_ratio for r in rs]),
        "concealment_ratio_avg": avg([r.concealment_ratio for r in rs]),
        "fps_avg": avg([r.fps for r in rs]), "level_last": rs[-1].level,
        "layer_changes": sum(len((r.data or {}).get("layers", [])) for r in rs),
    } for who, rs in people.items()]}


@router.get("/visitors", summary="Shoppers on the shop right now (live, anonymous unless signed in)")
def visitors(request: Request, agent: AgentInfo = Depends(current_agent)) -> list[dict[str, Any]]:
    return request.app.state.hub.visitors.listing(agent.app_id)


@router.get("/callbacks", summary="Callback requests left outside business hours")
def callbacks(request: Request, agent: AgentInfo = Depends(current_agent)) -> list[dict[str, Any]]:
    with _db(request).session() as s:
        rows = s.scalars(select(CallbackRequest).where(CallbackRequest.app_id == agent.app_id)
                         .order_by(CallbackRequest.created_at.desc()).limit(200))
        return [{"id": r.id, "name": r.name, "contact": r.contact, "note": r.note, "context": r.context,
                 "status": r.status, "created_at": r.created_at.isoformat() + "Z"} for r in rows]


@router.get("/admin/agents", summary="Admin: the app's agents")
def admin_agents(request: Request, admin: AgentInfo = Depends(current_admin)) -> list[dict[str, Any]]:
    with _db(request).session() as s:
        rows = s.scalars(select(Agent).where(Agent.app_id == admin.app_id).order_by(Agent.identity))
        counts = dict(s.execute(select(Call.agent_identity, func.count()).where(Call.app_id == admin.app_id)
                                .group_by(Call.agent_identity)).all())
        return [{"identity": a.identity, "name": a.display_name, "email": a.email, "role": a.role,
                 "languages": a.languages, "categories": a.categories, "max_concurrent": a.max_concurrent,
                 "calls": counts.get(a.identity, 0), "online": request.app.state.hub.agent_online(a.app_id, a.identity)}
                for a in rows]


@router.get("/admin/calls", summary="Admin: recent calls with wait, duration and outcome")
def admin_calls(request: Request, admin: AgentInfo = Depends(current_admin), limit: int = 100) -> list[dict[str, Any]]:
    limit = max(1, min(limit, 500))
    with _db(request).session() as s:
        rows = s.scalars(select(Call).where(Call.app_id == admin.app_id).order_by(Call.created_at.desc()).limit(limit))
        out = []
        for c in rows:
            d = _call_out(c)
            d["wait_s"] = round(((c.answered_at or c.ended_at) - c.created_at).total_seconds(), 1) \
                if (c.answered_at or c.ended_at) else None
            d["duration_s"] = round((c.ended_at - c.answered_at).total_seconds(), 1) \
                if c.ended_at and c.answered_at else None
            out.append(d)
        return out
