"""Live visitors and proactive invitations.

The shop page's widget reports what an (anonymous) shopper does — pages and products viewed,
cart changes, time on site, whether they have been here before — over its signalling socket.
Agents see the live list and may invite one visitor to a call; the shopper sees a polite prompt
and accepts or declines. An accepted invitation becomes a call with that agent, skipping the queue.
Nothing is stored until a call exists: visitors are ephemeral, held only while their socket is
open, one per connection, at most MAX_VISITORS_PER_APP per app.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shopcall.signalling.connection import Connection
from shopcall.signalling.context import CallsPort, Feature
from shopcall.signalling.protocol import Msg, ProtocolError
from shopcall.signalling.registry import SHOPPERS, STAFF, Registry

INVITE_TTL_S = 120
MAX_PAGES = 50
MAX_VISITORS_PER_APP = 2000
VISITOR_EVENT_RATE = "20/10seconds"


class Cart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: int = Field(0, ge=0, le=10_000)
    value: float = Field(0, ge=0, le=10_000_000)
    currency: str = Field("EUR", min_length=3, max_length=3)


class VisitorEvent(Msg):
    type: Literal["visitor_event"]
    event: Literal["page_view", "product_view", "cart", "heartbeat"]
    page: str | None = Field(None, max_length=500)
    product: str | None = Field(None, max_length=100)
    title: str | None = Field(None, max_length=300)
    cart: Cart | None = None
    returning: bool | None = None
    first_seen: float | None = Field(None, description="when this visit started (unix seconds, client clock)")


class InviteVisitor(Msg):
    type: Literal["invite_visitor"]
    visitor: str = Field(min_length=1, max_length=64)
    message: str | None = Field(None, max_length=300)


class AnswerInvite(Msg):
    type: Literal["answer_invite"]
    invite: str = Field(min_length=1, max_length=64)
    accept: bool


@dataclass
class Visitor:
    id: str
    conn: Connection
    first_seen: float
    last_seen: float
    page: str | None = None
    product: str | None = None
    title: str | None = None
    cart: dict[str, Any] | None = None
    returning: bool = False
    pages: list[str] = field(default_factory=list)
    invited_by: str | None = None  # agent name while an invitation is open

    def public(self, now: float) -> dict[str, Any]:
        c = self.conn.claims
        return {"id": self.id, "name": c.name, "identity": c.identity, "customer": c.customer,
                "page": self.page, "product": self.product, "title": self.title, "cart": self.cart,
                "returning": self.returning, "pages_viewed": len(self.pages),
                "time_on_site_s": round(max(0.0, now - self.first_seen)), "idle_s": round(now - self.last_seen),
                "invited_by": self.invited_by}


@dataclass
class Invite:
    id: str
    visitor: Visitor
    agent: Connection
    expires_at: float


class VisitorDesk(Feature):
    def __init__(self, calls: CallsPort) -> None:
        self.calls = calls
        self.visitors: dict[str, Visitor] = {}  # by visitor id (= the shopper connection's id)
        self.per_app: dict[str, int] = {}
        self.invites: dict[str, Invite] = {}

    def register(self, registry: Registry) -> None:
        registry.add(VisitorEvent, self.on_event, roles=SHOPPERS, denied="visitor events come from shoppers",
                     rate=VISITOR_EVENT_RATE)
        registry.add(InviteVisitor, self.on_invite, roles=STAFF, denied="only agents invite visitors")
        registry.add(AnswerInvite, self.on_answer)

    def listing(self, app_id: str) -> list[dict[str, Any]]:
        now = time.time()
        live = [v for v in self.visitors.values() if v.conn.claims.app_id == app_id and not v.conn.closed]
        return [v.public(now) for v in sorted(live, key=lambda v: v.first_seen)]

    async def disconnected(self, conn: Connection) -> None:
        if self.visitors.pop(conn.conn_id, None) is not None:
            app_id = conn.claims.app_id
            self.per_app[app_id] -= 1
            if not self.per_app[app_id]:
                del self.per_app[app_id]
        for key, inv in list(self.invites.items()):
            if inv.visitor.conn is conn or inv.agent is conn:
                self.invites.pop(key, None)

    async def on_event(self, conn: Connection, msg: VisitorEvent) -> None:
        now = time.time()
        v = self.visitors.get(conn.conn_id)
        if v is None:
            app_id = conn.claims.app_id
            if self.per_app.get(app_id, 0) >= MAX_VISITORS_PER_APP:
                raise ProtocolError("limit_reached", f"at most {MAX_VISITORS_PER_APP} live visitors per shop",
                                    msg.id)
            started = msg.first_seen if msg.first_seen and now - 86400 < msg.first_seen <= now else now
            v = self.visitors[conn.conn_id] = Visitor(conn.conn_id, conn, started, now)
            self.per_app[app_id] = self.per_app.get(app_id, 0) + 1
        v.last_seen = now
        if msg.returning is not None:
            v.returning = msg.returning
        if msg.page and msg.event in ("page_view", "product_view"):
            v.page = msg.page
            if not v.pages or v.pages[-1] != msg.page:
                v.pages = (v.pages + [msg.page])[-MAX_PAGES:]
        if msg.event == "product_view":
            v.product, v.title = msg.product, msg.title
        if msg.cart is not None:
            v.cart = msg.cart.model_dump()
        return None  # fire and forget: no reply

    async def on_invite(self, conn: Connection, msg: InviteVisitor) -> dict[str, Any]:
        v = self.visitors.get(msg.visitor)
        if v is None or v.conn.closed or v.conn.claims.app_id != conn.claims.app_id:
            raise ProtocolError("visitor_gone", "that visitor has left the shop", msg.id)
        if v.conn.room_id is not None or self.calls.has_waiting_call(v.conn):
            raise ProtocolError("visitor_busy", "that visitor is already in or waiting for a call", msg.id)
        if v.invited_by is not None:
            raise ProtocolError("visitor_busy", f"{v.invited_by} has already invited this visitor", msg.id)
        inv = Invite("inv_" + secrets.token_urlsafe(9), v, conn, time.time() + INVITE_TTL_S)
        self.invites[inv.id] = inv
        v.invited_by = conn.claims.name
        text = msg.message or f"Hi! I'm {conn.claims.name}, a product expert. Can I help you by video?"
        v.conn.send({"type": "agent_invite", "invite": inv.id, "message": text,
                     "agent": {"identity": conn.claims.identity, "name": conn.claims.name},
                     "expires_in_s": INVITE_TTL_S})
        return {"type": "visitor_invited", "visitor": v.id, "invite": inv.id}

    async def on_answer(self, conn: Connection, msg: AnswerInvite) -> dict[str, Any]:
        inv = self.invites.pop(msg.invite, None)
        if inv is None or inv.visitor.conn is not conn or time.time() > inv.expires_at:
            raise ProtocolError("invite_not_found", "this invitation is no longer open", msg.id)
        v, agent = inv.visitor, inv.agent
        v.invited_by = None
        if not msg.accept:
            agent.send({"type": "invite_declined", "visitor": v.id, "name": conn.claims.name})
            return {"type": "invite_answered", "accept": False}
        if agent.closed:
            raise ProtocolError("agent_unavailable", "the expert who invited you is no longer available", msg.id)
        context = {"page": v.page, "product": v.product, "cart": v.cart, "returning": v.returning,
                   "invited_by": agent.claims.identity, "time_on_site_s": round(time.time() - v.first_seen)}
        context = {k: val for k, val in context.items() if val is not None}
        call_id, room_id, incoming = await self.calls.start_direct(conn, agent, context, msg.id)
        agent.send({**incoming, "type": "invite_accepted"})
        return {"type": "invite_answered", "accept": True, "call": call_id, "room": room_id,
                "agent": {"identity": agent.claims.identity, "name": agent.claims.name}}
