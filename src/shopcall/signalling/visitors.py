"""Live visitors and proactive invitations.

The shop page's widget reports what an (anonymous) shopper does — pages and products viewed,
cart changes, time on site, whether they have been here before — over its signalling socket.
Agents see the live list and may invite one visitor to a call; the shopper sees a polite prompt
and accepts or declines. An accepted invitation becomes a call with that agent, skipping the queue.
Nothing is stored until a call exists: visitors are ephemeral, held only while their socket is open.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shopcall.routing import RoutingError
from shopcall.signalling.protocol import EXTRA_MODELS, ProtocolError, _Msg

if TYPE_CHECKING:
    from shopcall.signalling.connection import Connection
    from shopcall.signalling.hub import Hub

INVITE_TTL_S = 120
MAX_PAGES = 50


class Cart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: int = Field(0, ge=0, le=10_000)
    value: float = Field(0, ge=0, le=10_000_000)
    currency: str = Field("EUR", min_length=3, max_length=3)


class VisitorEvent(_Msg):
    type: Literal["visitor_event"]
    event: Literal["page_view", "product_view", "cart", "heartbeat"]
    page: str | None = Field(None, max_length=500)
    product: str | None = Field(None, max_length=100)
    title: str | None = Field(None, max_length=300)
    cart: Cart | None = None
    returning: bool | None = None
    first_seen: float | None = Field(None, description="when this visit started (unix seconds, client clock)")


class InviteVisitor(_Msg):
    type: Literal["invite_visitor"]
    visitor: str = Field(min_length=1, max_length=64)
    message: str | None = Field(None, max_length=300)


class AnswerInvite(_Msg):
    type: Literal["answer_invite"]
    invite: str = Field(min_length=1, max_length=64)
    accept: bool


EXTRA_MODELS.update({"visitor_event": VisitorEvent, "invite_visitor": InviteVisitor, "answer_invite": AnswerInvite})


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


class VisitorDesk:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.visitors: dict[str, Visitor] = {}  # by visitor id (= the shopper connection's id)
        self.invites: dict[str, Invite] = {}

    def listing(self, app_id: str) -> list[dict[str, Any]]:
        now = time.time()
        live = [v for v in self.visitors.values() if v.conn.claims.app_id == app_id and not v.conn.closed]
        return [v.public(now) for v in sorted(live, key=lambda v: v.first_seen)]

    def disconnected(self, conn: Connection) -> None:
        self.visitors.pop(conn.conn_id, None)
        for key, inv in list(self.invites.items()):
            if inv.visitor.conn is conn or inv.agent is conn:
                self.invites.pop(key, None)

    async def on_event(self, hub: Hub, conn: Connection, msg: VisitorEvent) -> None:
        if conn.claims.role != "shopper":
            raise ProtocolError("forbidden", "visitor events come from shoppers", msg.id)
        now = time.time()
        v = self.visitors.get(conn.conn_id)
        if v is None:
            started = msg.first_seen if msg.first_seen and now - 86400 < msg.first_seen <= now else now
            v = self.visitors[conn.conn_id] = Visitor(conn.conn_id, conn, started, now)
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

    async def on_invite(self, hub: Hub, conn: Connection, msg: InviteVisitor) -> dict[str, Any]:
        if not conn.claims.is_staff:
            raise ProtocolError("forbidden", "only agents invite visitors", msg.id)
        v = self.visitors.get(msg.visitor)
        if v is None or v.conn.closed or v.conn.claims.app_id != conn.claims.app_id:
            raise ProtocolError("visitor_gone", "that visitor has left the shop", msg.id)
        if v.conn.room_id is not None or any(c.shopper is v.conn for c in hub.desk.calls.values()):
            raise ProtocolError("visitor_busy", "that visitor is already in or waiting for a call", msg.id)
        if v.invited_by is not None:
            raise ProtocolError("visitor_busy", f"{v.invited_by} has already invited this visitor", msg.id)
        inv = Invite("inv_" + secrets.token_urlsafe(9), v, conn, time.time() + INVITE_TTL_S)
        self.invites[inv.id] = inv
        v.invited_by = conn.claims.name
        text = msg.message or f"Hi! I'm {conn.claims.name}, a product expert. Can I help you by video?"
        await v.conn.send({"type": "agent_invite", "invite": inv.id, "message": text,
                           "agent": {"identity": conn.claims.identity, "name": conn.claims.name},
                           "expires_in_s": INVITE_TTL_S})
        return {"type": "visitor_invited", "visitor": v.id, "invite": inv.id}

    async def on_answer(self, hub: Hub, conn: Connection, msg: AnswerInvite) -> dict[str, Any]:
        inv = self.invites.pop(msg.invite, None)
        if inv is None or inv.visitor.conn is not conn or time.time() > inv.expires_at:
            raise ProtocolError("invite_not_found", "this invitation is no longer open", msg.id)
        v, agent = inv.visitor, inv.agent
        v.invited_by = None
        if not msg.accept:
            await agent.send({"type": "invite_declined", "visitor": v.id, "name": conn.claims.name})
            return {"type": "invite_answered", "accept": False}
        if agent.closed:
            raise ProtocolError("agent_unavailable", "the expert who invited you is no longer available", msg.id)
        return await self._start_call(hub, conn, agent, v, msg.id)

    async def _start_call(self, hub: Hub, conn: Connection, agent: Connection, v: Visitor,
                          ref: str | None) -> dict[str, Any]:
        from shopcall.signalling.calls import LiveCall

        desk, app_id = hub.desk, conn.claims.app_id
        key = f"{app_id}/{agent.claims.identity}"
        if desk.router.agent(key) is None or not desk.router.agent(key).routable:  # type: ignore[union-attr]
            raise ProtocolError("agent_unavailable", f"{agent.claims.name} is busy right now; please call us", ref)
        context = {"page": v.page, "product": v.product, "cart": v.cart, "returning": v.returning,
                   "invited_by": agent.claims.identity, "time_on_site_s": round(time.time() - v.first_seen)}
        context = {k: val for k, val in context.items() if val is not None}
        room = await asyncio.to_thread(hub.store.create_room, app_id, name="call", kind="call", max_participants=4)
        call = await asyncio.to_thread(hub.store.create_call, app_id, room.id, conn.claims.identity,
                                       conn.claims.name, context, conn.claims.customer)
        try:
            actions = desk.router.start_direct(call.id, app_id, key, desk.now())
        except RoutingError as e:
            await asyncio.to_thread(hub.store.cancel_call, call.id, "unanswered")
            raise ProtocolError("agent_unavailable", f"{agent.claims.name} cannot take the call: {e}", ref) from None
        await asyncio.to_thread(hub.store.claim_call, call.id, agent.claims.identity)
        incoming = {"type": "incoming_call", "call": call.id, "room": room.id,
                    "shopper": {"identity": conn.claims.identity, "name": conn.claims.name},
                    "context": context, "created_at": call.created_at.timestamp()}
        live = LiveCall(call.id, app_id, room.id, incoming, shopper=None, agents={key})
        desk.calls[call.id] = live
        desk.room_calls[room.id] = call.id
        conn.granted_rooms.add(room.id)
        for c in desk.agents.get(key, ()):
            c.granted_rooms.add(room.id)
        agent.granted_rooms.add(room.id)
        await desk.apply(actions)
        await agent.send({**incoming, "type": "invite_accepted"})
        hub.webhook_later("call.started", call_id=call.id)
        return {"type": "invite_answered", "accept": True, "call": call.id, "room": room.id,
                "agent": {"identity": agent.claims.identity, "name": agent.claims.name}}


async def on_visitor_event(hub: Hub, conn: Connection, msg: VisitorEvent) -> None:
    return await hub.visitors.on_event(hub, conn, msg)


async def on_invite_visitor(hub: Hub, conn: Connection, msg: InviteVisitor) -> dict[str, Any]:
    return await hub.visitors.on_invite(hub, conn, msg)


async def on_answer_invite(hub: Hub, conn: Connection, msg: AnswerInvite) -> dict[str, Any]:
    return await hub.visitors.on_answer(hub, conn, msg)


HANDLERS = {"visitor_event": on_visitor_event, "invite_visitor": on_invite_visitor,
            "answer_invite": on_answer_invite}
