"""The call desk: shoppers' calls, the queue and agents' presence, over signalling.

The routing decisions are `routing.Router`'s (pure, clock-injected); this module feeds it what
happens on the sockets (a shopper calls, an agent goes online/away, answers, declines, hangs up),
performs the actions it returns (ring an agent, withdraw a ring, tell the shopper their place in
the queue) and stores the outcome on the call row. The database's atomic `claim_call` stays the
final arbiter of who answered, so several hub processes can never both win a call.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import structlog
from pydantic import Field

from shopcall.db.models import Agent, App
from shopcall.rooms.business_hours import parse_hours
from shopcall.routing import (
    Abandoned,
    Action,
    AgentStatus,
    Expired,
    QueuedCall,
    QueueUpdate,
    Ring,
    Router,
    RoutingError,
    RoutingPolicy,
    StopRinging,
)
from shopcall.signalling.protocol import EXTRA_MODELS, ProtocolError, _Msg

if TYPE_CHECKING:
    from shopcall.signalling.connection import Connection
    from shopcall.signalling.hub import Hub

log = structlog.get_logger("shopcall.calls")
TICK_S = 0.25


class SetStatus(_Msg):
    type: Literal["set_status"]
    status: Literal["online", "away", "busy", "offline"]


class TransferCall(_Msg):
    type: Literal["transfer_call"]
    call: str = Field(max_length=64)
    to: str = Field(min_length=1, max_length=200, description="identity of the agent taking over")


class InviteAgent(_Msg):
    type: Literal["invite_agent"]
    call: str = Field(max_length=64)
    to: str = Field(min_length=1, max_length=200)


EXTRA_MODELS.update({"set_status": SetStatus, "transfer_call": TransferCall, "invite_agent": InviteAgent})


@dataclass
class LiveCall:
    call_id: str
    app_id: str
    room_id: str
    incoming: dict[str, Any]  # the `incoming_call` event shown to agents
    shopper: Connection | None = None  # while queued
    agents: set[str] = field(default_factory=set)  # agent keys in the call


def _key(conn: Connection) -> str:
    return f"{conn.claims.app_id}/{conn.claims.identity}"


class CallDesk:
    def __init__(self, hub: Hub, policy: RoutingPolicy | None = None) -> None:
        self.hub = hub
        self.router = Router(policy or RoutingPolicy())
        self.agents: dict[str, set[Connection]] = {}  # agent key -> its consoles (tabs)
        self.calls: dict[str, LiveCall] = {}
        self.room_calls: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None
        self._policies_loaded: set[str] = set()

    @staticmethod
    def now() -> float:
        return time.monotonic()

    # ---- lifecycle --------------------------------------------------------------------------

    def _ensure_ticking(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._tick_loop(), name="call-desk-tick")

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                await self.apply(self.router.tick(self.now()))
            except Exception:
                log.exception("routing_tick_failed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def disconnected(self, conn: Connection) -> None:
        for live in list(self.calls.values()):
            if live.shopper is conn:
                await self.apply(self.router.cancel(live.call_id, self.now()))
        key = _key(conn)
        conns = self.agents.get(key)
        if conns is not None and conn in conns:
            conns.discard(conn)
            if not conns:
                self.agents.pop(key, None)
                await self.apply(self.router.set_status(key, AgentStatus.OFFLINE, self.now()))

    async def room_ended(self, room_id: str) -> None:
        call_id = self.room_calls.pop(room_id, None) or next(
            (c.call_id for c in self.calls.values() if c.room_id == room_id), None)
        live = self.calls.pop(call_id, None) if call_id else None
        if live is None:
            return
        now = self.now()
        if self.router.queued_call(live.call_id) is not None:
            await self.apply(self.router.cancel(live.call_id, now))
        for key in list(live.agents):
            await self.apply(self.router.end_call(live.call_id, key, now))

    async def left_room(self, conn: Connection, room_id: str) -> None:
        """An agent who leaves a call that goes on (after a transfer or an invitation) is free again."""
        call_id = self.room_calls.get(room_id)
        live = self.calls.get(call_id) if call_id else None
        key = _key(conn)
        if live is None or key not in live.agents or live.room_id != room_id:
            return
        live.agents.discard(key)
        await self.apply(self.router.end_call(live.call_id, key, self.now()))

    # ---- actions ----------------------------------------------------------------------------

    async def _to_agent(self, key: str, msg: dict[str, Any]) -> None:
        for conn in list(self.agents.get(key, ())):
            await conn.send(msg)

    async def apply(self, actions: list[Action]) -> None:
        store = self.hub.store
        for a in actions:
            live = self.calls.get(a.call_id)
            if isinstance(a, Ring) and live is not None:
                ring_s = max(1, round(a.timeout_at - self.now()))
                await self._to_agent(a.agent_id, {**live.incoming, "ring_timeout_s": ring_s})
            elif isinstance(a, StopRinging):
                await self._to_agent(a.agent_id, {"type": "call_cancelled", "call": a.call_id, "reason": a.reason})
            elif isinstance(a, QueueUpdate) and live is not None and live.shopper is not None:
                await live.shopper.send({"type": "queue_update", "call": a.call_id, "position": a.position,
                                         "estimated_wait_s": a.estimated_wait_s})
            elif isinstance(a, Abandoned):
                await asyncio.to_thread(store.cancel_call, a.call_id, "abandoned")
                if live is not None:
                    live.shopper = None
                log.info("call_abandoned", call=a.call_id, wait_s=round(a.wait_s, 1))
            elif isinstance(a, Expired):
                await asyncio.to_thread(store.cancel_call, a.call_id, "unanswered")
                if live is not None and live.shopper is not None:
                    await live.shopper.send({"type": "call_unanswered", "call": a.call_id,
                                             "message": "no agent could take the call; please try again later "
                                                        "or leave a callback request"})
                    live.shopper = None
                log.info("call_unanswered", call=a.call_id, wait_s=round(a.wait_s, 1))

    # ---- agents -----------------------------------------------------------------------------

    def _staff(self, conn: Connection, ref: str | None) -> str:
        if not conn.claims.is_staff:
            raise ProtocolError("forbidden", "only agents take calls", ref)
        return _key(conn)

    def _profile(self, conn: Connection) -> tuple[list[str], list[str], int]:
        with self.hub.store.db.session() as s:
            a = s.query(Agent).filter(Agent.app_id == conn.claims.app_id,
                                      Agent.identity == conn.claims.identity).one_or_none()
            if a is None:  # an agent known only by its token: no skills, one call at a time
                return [], [], 1
            return list(a.languages or []), list(a.categories or []), a.max_concurrent

    async def on_available(self, conn: Connection, ref: str | None) -> dict[str, Any]:
        shown, calls = await self._set(conn, "online", ref)
        return {"type": "available", "status": shown, "calls": calls}

    async def on_set_status(self, conn: Connection, msg: SetStatus) -> dict[str, Any]:
        shown, calls = await self._set(conn, msg.status, msg.id)
        return {"type": "status", "status": shown, "calls": calls}

    async def _set(self, conn: Connection, status: str, ref: str | None) -> tuple[str, list[dict[str, Any]]]:
        key = self._staff(conn, ref)
        langs, cats, max_calls = await asyncio.to_thread(self._profile, conn)
        self.agents.setdefault(key, set()).add(conn)
        conn.available = status == "online"
        self._ensure_ticking()
        actions = self.router.set_agent(key, conn.claims.app_id, status=status, languages=langs,
                                        categories=cats, max_concurrent=max_calls, now=self.now())
        # a ring for this agent travels in the reply's `calls`; everything else is performed now
        await self.apply([x for x in actions if not (isinstance(x, Ring) and x.agent_id == key)])
        state = self.router.agent(key)
        calls = []
        if state is not None and state.ringing_for and state.ringing_for in self.calls:
            q = self.router.queued_call(state.ringing_for)
            left = self.router.policy_for(conn.claims.app_id).ring_timeout_s
            if q is not None and q.ring_started_at is not None:
                left = max(1.0, q.ring_started_at + left - self.now())
            calls.append({**self.calls[state.ringing_for].incoming, "ring_timeout_s": round(left)})
        return (state.effective_status.value if state else status), calls

    async def on_accept(self, conn: Connection, call_id: str, ref: str | None) -> dict[str, Any]:
        key = self._staff(conn, ref)
        live = self.calls.get(call_id)
        if live is None or live.app_id != conn.claims.app_id:
            raise ProtocolError("call_not_found", f"no call {call_id}", ref)
        won, actions = self.router.answer(call_id, key, self.now())
        if not won:
            await self.apply(actions)
            raise ProtocolError("call_taken", "this call is no longer offered to you", ref)
        if not await asyncio.to_thread(self.hub.store.claim_call, call_id, conn.claims.identity):
            await self.apply(self.router.end_call(call_id, key, self.now()))
            raise ProtocolError("call_taken", "another agent has already answered this call", ref)
        live.agents.add(key)
        self.room_calls[live.room_id] = call_id
        shopper, live.shopper = live.shopper, None
        for c in self.agents.get(key, ()):
            c.granted_rooms.add(live.room_id)
        conn.granted_rooms.add(live.room_id)
        await self.apply(actions)
        if shopper is not None:
            await shopper.send({"type": "call_answered", "call": call_id, "room": live.room_id,
                                "agent": {"identity": conn.claims.identity, "name": conn.claims.name}})
        log.info("call_answered", call=call_id, agent=conn.claims.identity)
        self.hub.webhook_later("call.started", call_id=call_id)
        return {"type": "call_accepted", "call": call_id, "room": live.room_id}

    async def on_decline(self, conn: Connection, call_id: str, ref: str | None) -> dict[str, Any]:
        key = self._staff(conn, ref)
        live = self.calls.get(call_id)
        if live is None or live.app_id != conn.claims.app_id or self.router.queued_call(call_id) is None:
            raise ProtocolError("call_not_found", f"no ringing call {call_id}", ref)
        actions = self.router.decline(call_id, key, self.now())
        # the decliner knows: no `call_cancelled` back to it
        await self.apply([x for x in actions if not (isinstance(x, StopRinging) and x.agent_id == key)])
        return {"type": "call_declined", "call": call_id}

    def _in_call(self, conn: Connection, call_id: str, ref: str | None) -> tuple[str, LiveCall]:
        key = self._staff(conn, ref)
        live = self.calls.get(call_id)
        if live is None or live.app_id != conn.claims.app_id or key not in live.agents:
            raise ProtocolError("call_not_found", f"you are not in call {call_id}", ref)
        return key, live

    async def on_transfer(self, conn: Connection, msg: TransferCall) -> dict[str, Any]:
        key, live = self._in_call(conn, msg.call, msg.id)
        target = f"{conn.claims.app_id}/{msg.to}"
        if target == key:
            raise ProtocolError("bad_request", "you cannot transfer a call to yourself", msg.id)
        try:
            actions = self.router.transfer(msg.call, key, target, self.now())
        except RoutingError as e:
            raise ProtocolError("agent_unavailable", f"cannot transfer to {msg.to}: {e}", msg.id) from None
        live.agents.discard(key)
        live.agents.add(target)
        await asyncio.to_thread(self.hub.store.reassign_call, msg.call, msg.to)
        for c in self.agents.get(target, ()):
            c.granted_rooms.add(live.room_id)
        await self._to_agent(target, {**live.incoming, "type": "call_transferred", "from": conn.claims.name})
        # tell the shopper first, so the outgoing agent's leaving does not look like the end of the call
        name = next((c.claims.name for c in self.agents.get(target, ())), msg.to)
        room = self.hub.rooms.get(live.room_id)
        for member in list(room.members.values()) if room else []:
            if not member.claims.is_staff:
                await member.send({"type": "agent_changed", "call": msg.call, "from": conn.claims.name,
                                   "agent": {"identity": msg.to, "name": name}})
        await self.apply(actions)
        log.info("call_transferred", call=msg.call, to=msg.to)
        return {"type": "call_transferred_away", "call": msg.call, "to": msg.to}

    async def on_invite(self, conn: Connection, msg: InviteAgent) -> dict[str, Any]:
        key, live = self._in_call(conn, msg.call, msg.id)
        target = f"{conn.claims.app_id}/{msg.to}"
        try:
            actions = self.router.invite(msg.call, target, self.now())
        except RoutingError as e:
            raise ProtocolError("agent_unavailable", f"cannot invite {msg.to}: {e}", msg.id) from None
        live.agents.add(target)
        for c in self.agents.get(target, ()):
            c.granted_rooms.add(live.room_id)
        await self._to_agent(target, {**live.incoming, "type": "call_invitation", "from": conn.claims.name})
        await self.apply(actions)
        return {"type": "agent_invited", "call": msg.call, "to": msg.to}

    def snapshot(self, app_id: str) -> dict[str, Any]:
        """The console's live view: the queue and every agent's presence, by identity."""
        snap = self.router.snapshot(app_id, self.now())
        strip = (lambda k: k.split("/", 1)[1] if k and "/" in k else k)  # noqa: E731
        for a in snap["agents"]:
            a["identity"] = strip(a.pop("agent_id"))
            a["ringing_for"] = a["ringing_for"]
        for q in snap["queue"]:
            q["ringing_agent"] = strip(q["ringing_agent"])
            q["declined_by"] = [strip(x) for x in q["declined_by"]]
            live = self.calls.get(q["call_id"])
            if live is not None:
                q["shopper"] = live.incoming.get("shopper")
        for c in snap["calls"]:
            c["primary"] = strip(c["primary"])
            c["agents"] = [strip(x) for x in c["agents"]]
        return snap

    # ---- shoppers ---------------------------------------------------------------------------

    async def on_call(self, conn: Connection, context: dict[str, Any], ref: str | None) -> dict[str, Any]:
        if conn.claims.role != "shopper":
            raise ProtocolError("forbidden", "only shoppers start calls", ref)
        if any(c.shopper is conn for c in self.calls.values()):
            raise ProtocolError("bad_request", "a call is already waiting for this connection", ref)
        hub, app_id = self.hub, conn.claims.app_id
        if app_id not in self._policies_loaded:
            await asyncio.to_thread(self.load_policy, app_id)
        closed = await asyncio.to_thread(self._closed_message, app_id)
        if closed:
            raise ProtocolError("closed", closed, ref)
        language = context.get("language") if isinstance(context.get("language"), str) else None
        category = None
        if isinstance(context.get("product"), str):
            product = await asyncio.to_thread(hub.incall.product, app_id, context["product"])
            category = product.category if product is not None and product.category else None
        room = await asyncio.to_thread(hub.store.create_room, app_id, name="call", kind="call", max_participants=4)
        call = await asyncio.to_thread(hub.store.create_call, app_id, room.id, conn.claims.identity,
                                       conn.claims.name, context, conn.claims.customer)
        conn.granted_rooms.add(room.id)
        incoming = {"type": "incoming_call", "call": call.id, "room": room.id,
                    "shopper": {"identity": conn.claims.identity, "name": conn.claims.name},
                    "context": context, "created_at": call.created_at.timestamp()}
        self.calls[call.id] = LiveCall(call.id, app_id, room.id, incoming, shopper=conn)
        self._ensure_ticking()
        now = self.now()
        actions = self.router.enqueue(QueuedCall(call.id, app_id, language=language and language[:20],
                                                 category=category, enqueued_at=now), now)
        log.info("call_queued", call=call.id, room=room.id, app=app_id, language=language, category=category)
        hub.webhook_later("call.queued", call_id=call.id)
        reply = {"type": "call_created", "call": call.id, "room": room.id,
                 "position": self.router.position(call.id), "estimated_wait_s": self.router.estimated_wait_s(call.id)}
        asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self.apply(actions)))
        return reply

    def load_policy(self, app_id: str) -> None:
        """The app's routing knobs (settings API) into the router; defaults where unset."""
        with self.hub.store.db.session() as s:
            app = s.get(App, app_id)
            raw = dict(app.routing or {}) if app else {}
        known = RoutingPolicy.__dataclass_fields__
        fields = {k: v for k, v in raw.items() if k in known}
        self.router.set_policy(app_id, RoutingPolicy(**fields) if fields else None)
        self._policies_loaded.add(app_id)

    def _closed_message(self, app_id: str) -> str | None:
        with self.hub.store.db.session() as s:
            app = s.get(App, app_id)
            hours = parse_hours(app.business_hours if app else None)
        now = datetime.now(UTC)
        if hours.is_open(now):
            return None
        nxt = hours.next_open(now)
        when = f"; we open again {nxt.strftime('%a %d %b, %H:%M')} ({hours.timezone})" if nxt else ""
        return f"we are closed right now{when}; you can leave a callback request"

    async def on_cancel(self, conn: Connection, call_id: str, ref: str | None) -> dict[str, Any]:
        live = self.calls.get(call_id)
        if live is None or live.shopper is not conn:
            raise ProtocolError("call_not_found", f"no waiting call {call_id} of yours", ref)
        await self.apply(self.router.cancel(call_id, self.now()))
        live.shopper = None
        self.calls.pop(call_id, None)
        return {"type": "call_cancelled", "call": call_id}
