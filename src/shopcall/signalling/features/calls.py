"""The call desk: shoppers' calls, the queue and agents' presence, over signalling.

The routing decisions are `routing.Router`'s (pure, clock-injected); this module feeds it what
happens on the sockets (a shopper calls, an agent goes online/away, answers, declines, hangs up),
performs the actions it returns (ring an agent, withdraw a ring, tell the shopper their place in
the queue) and stores the outcome on the call row. The database's atomic `claim_call` stays the
final arbiter of who answered, so several hub processes can never both win a call. Messages are
queued to sockets, never awaited: one tenant's stalled console cannot delay another's routing.
A call that ends before it is answered (abandoned, unanswered) leaves the desk and ends its room.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import structlog
from pydantic import Field

from shopcall.db.models import Call, utcnow
from shopcall.rooms.directory import Directory
from shopcall.rooms.incall_store import InCallStore
from shopcall.rooms.store import RoomStore
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
from shopcall.signalling.connection import Connection
from shopcall.signalling.context import Feature, RoomContext
from shopcall.signalling.protocol import Msg, ProtocolError
from shopcall.signalling.registry import SHOPPERS, STAFF, Registry
from shopcall.signalling.room import LiveRoom

log = structlog.get_logger("shopcall.calls")
TICK_S = 0.25
RESUME_GRACE_S = 60.0  # default: a queued shopper whose connection dropped keeps their place this long
MAX_CONTEXT_CHARS = 4096
UNANSWERED_TEXT = "no agent could take the call; please try again later or leave a callback request"


class CallRequest(Msg):
    type: Literal["call"]
    context: dict[str, Any] = Field(default_factory=dict)


class CancelCall(Msg):
    type: Literal["cancel_call"]
    call: str = Field(max_length=64)


class Available(Msg):
    type: Literal["available"]


class SetStatus(Msg):
    type: Literal["set_status"]
    status: Literal["online", "away", "busy", "offline"]


class AcceptCall(Msg):
    type: Literal["accept_call"]
    call: str = Field(max_length=64)


class DeclineCall(Msg):
    type: Literal["decline_call"]
    call: str = Field(max_length=64)


class TransferCall(Msg):
    type: Literal["transfer_call"]
    call: str = Field(max_length=64)
    to: str = Field(min_length=1, max_length=200, description="identity of the agent taking over")


class ResumeCall(Msg):
    type: Literal["resume_call"]
    call: str = Field(max_length=64)


class InviteAgent(Msg):
    type: Literal["invite_agent"]
    call: str = Field(max_length=64)
    to: str = Field(min_length=1, max_length=200)


@dataclass
class LiveCall:
    call_id: str
    app_id: str
    room_id: str
    incoming: dict[str, Any]  # the `incoming_call` event shown to agents
    shopper_identity: str
    shopper: Connection | None = None  # while queued and connected
    detached_at: float | None = None  # since the shopper's connection dropped (queued, or answered but not joined)
    agents: set[str] = field(default_factory=set)  # agent keys in the call
    answered_by: dict[str, str] | None = None  # {"identity", "name"} of the agent who answered


class CallDesk(Feature):
    def __init__(self, ctx: RoomContext, rooms: RoomStore, incall: InCallStore, directory: Directory,
                 policy: RoutingPolicy | None = None, grace_s: float = RESUME_GRACE_S) -> None:
        self.ctx, self.rooms, self.incall, self.directory = ctx, rooms, incall, directory
        self.grace_s = grace_s
        self.router = Router(policy or RoutingPolicy())
        self.agents: dict[str, set[Connection]] = {}  # agent key -> its consoles (tabs)
        self.calls: dict[str, LiveCall] = {}
        self._task: asyncio.Task[None] | None = None
        self._policies_loaded: set[str] = set()

    def register(self, registry: Registry) -> None:
        shoppers, staff = "only shoppers start calls", "only agents take calls"
        registry.add(CallRequest, self.on_call, roles=SHOPPERS, denied=shoppers)
        registry.add(CancelCall, self.on_cancel, roles=SHOPPERS, denied=shoppers)
        registry.add(ResumeCall, self.on_resume, roles=SHOPPERS, denied=shoppers)
        registry.add(Available, self.on_available, roles=STAFF, denied=staff)
        registry.add(SetStatus, self.on_set_status, roles=STAFF, denied=staff)
        registry.add(AcceptCall, self.on_accept, roles=STAFF, denied=staff)
        registry.add(DeclineCall, self.on_decline, roles=STAFF, denied=staff)
        registry.add(TransferCall, self.on_transfer, roles=STAFF, denied=staff)
        registry.add(InviteAgent, self.on_invite, roles=STAFF, denied=staff)

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
                await self._drop_detached()
            except Exception:
                log.exception("routing_tick_failed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def disconnected(self, conn: Connection) -> None:
        """A shopper who closed the connection on purpose (1000) abandons their call; one whose connection
        dropped, whose page navigated away (1001) or whose server restarts keeps their place (and a ringing
        agent keeps ringing) for `grace_s`, to `resume_call` from a new connection or page."""
        for live in [c for c in self.calls.values() if c.shopper is conn]:
            if conn.left_cleanly:
                await self.apply(self.router.cancel(live.call_id, self.now()))
            else:
                live.shopper, live.detached_at = None, self.now()
                log.info("call_detached", call=live.call_id)
        conns = self.agents.get(conn.key)
        if conns is not None and conn in conns:
            conns.discard(conn)
            if not conns:
                self.agents.pop(conn.key, None)
                await self.apply(self.router.set_status(conn.key, AgentStatus.OFFLINE, self.now()))

    async def room_ended(self, room_id: str) -> None:
        live = next((c for c in self.calls.values() if c.room_id == room_id), None)
        if live is None:
            return
        self.calls.pop(live.call_id, None)
        now = self.now()
        if self.router.queued_call(live.call_id) is not None:
            await self.apply(self.router.cancel(live.call_id, now))
        for key in list(live.agents):
            await self.apply(self.router.end_call(live.call_id, key, now))

    async def member_leaving(self, room: LiveRoom, conn: Connection, reason: str) -> None:
        """An agent who leaves a call that goes on (after a transfer or an invitation) is free again."""
        if reason != "left" or not conn.claims.is_staff:
            return
        live = next((c for c in self.calls.values() if c.room_id == room.room_id), None)
        if live is None or conn.key not in live.agents:
            return
        live.agents.discard(conn.key)
        await self.apply(self.router.end_call(live.call_id, conn.key, self.now()))

    async def _drop_detached(self) -> None:
        cutoff = self.now() - self.grace_s
        for live in [c for c in self.calls.values() if c.detached_at is not None and c.detached_at < cutoff]:
            live.detached_at = None
            log.info("call_not_resumed", call=live.call_id, answered=live.answered_by is not None)
            if live.answered_by is not None:  # answered while away, and the shopper never came to the room
                await self.ctx.end_room(live.room_id, "shopper_disconnected")
            else:
                await self.apply(self.router.cancel(live.call_id, self.now()))

    async def after_join(self, room: LiveRoom, conn: Connection) -> None:
        """The shopper of an answered call reached its room: no longer detached."""
        for live in self.calls.values():
            if live.room_id == room.room_id and live.shopper_identity == conn.claims.identity:
                live.detached_at = None

    def call_of(self, conn: Connection) -> tuple[str, str] | None:
        """(call id, room id) of the call this connection waits for or is in, if any."""
        for live in self.calls.values():
            if live.shopper is conn or (conn.room_id is not None and live.room_id == conn.room_id):
                return live.call_id, live.room_id
        return None

    async def restore(self, calls: list[Call]) -> None:
        """After a restart: answered calls go on with their agents; calls that were waiting go back in
        the queue in their order, for their shoppers to `resume_call` (within `grace_s`)."""
        now = self.now()
        for c in calls:
            if c.app_id not in self._policies_loaded:
                await self.load_policy(c.app_id)
            incoming = self._incoming(c, c.shopper_identity, c.shopper_name, dict(c.context or {}))
            if c.status == "answered" and c.agent_identity:
                key = f"{c.app_id}/{c.agent_identity}"
                name = await asyncio.to_thread(self.directory.agent_name, c.app_id, c.agent_identity)
                self.calls[c.id] = LiveCall(c.id, c.app_id, c.room_id, incoming, c.shopper_identity, agents={key},
                                            answered_by={"identity": c.agent_identity, "name": name})
                self.router.restore_active(c.id, c.app_id, key, now)
                continue
            self.calls[c.id] = LiveCall(c.id, c.app_id, c.room_id, incoming, c.shopper_identity, detached_at=now)
            waited = max(0.0, (utcnow() - c.created_at).total_seconds())
            language, category = await self._skills_needed(c.app_id, incoming["context"])
            await self.apply(self.router.enqueue(QueuedCall(c.id, c.app_id, language=language, category=category,
                                                            enqueued_at=now - waited), now))
        if calls:
            self._ensure_ticking()

    # ---- actions ----------------------------------------------------------------------------

    def _to_agent(self, key: str, msg: dict[str, Any]) -> None:
        for conn in list(self.agents.get(key, ())):
            conn.send(msg)

    async def _finish_unanswered(self, call_id: str, status: str, notice: dict[str, Any] | None = None) -> None:
        """A call that ended before anyone answered: stored, the shopper told, out of the desk, its room ended."""
        await asyncio.to_thread(self.rooms.cancel_call, call_id, status)
        live = self.calls.pop(call_id, None)
        if live is None:
            return
        if notice is not None and live.shopper is not None:
            live.shopper.send(notice)
        live.shopper = None
        await self.ctx.end_room(live.room_id, status)

    async def apply(self, actions: list[Action]) -> None:
        for a in actions:
            live = self.calls.get(a.call_id)
            if isinstance(a, Ring) and live is not None:
                ring_s = max(1, round(a.timeout_at - self.now()))
                self._to_agent(a.agent_id, {**live.incoming, "ring_timeout_s": ring_s})
            elif isinstance(a, StopRinging):
                self._to_agent(a.agent_id, {"type": "call_cancelled", "call": a.call_id, "reason": a.reason})
            elif isinstance(a, QueueUpdate) and live is not None and live.shopper is not None:
                live.shopper.send({"type": "queue_update", "call": a.call_id, "position": a.position,
                                   "estimated_wait_s": a.estimated_wait_s})
            elif isinstance(a, Abandoned):
                log.info("call_abandoned", call=a.call_id, wait_s=round(a.wait_s, 1))
                await self._finish_unanswered(a.call_id, "abandoned")
            elif isinstance(a, Expired):
                log.info("call_unanswered", call=a.call_id, wait_s=round(a.wait_s, 1))
                await self._finish_unanswered(a.call_id, "unanswered", {"type": "call_unanswered", "call": a.call_id,
                                                                        "message": UNANSWERED_TEXT})

    # ---- agents -----------------------------------------------------------------------------

    async def on_available(self, conn: Connection, msg: Available) -> dict[str, Any]:
        shown, calls = await self._set(conn, "online")
        return {"type": "available", "status": shown, "calls": calls}

    async def on_set_status(self, conn: Connection, msg: SetStatus) -> dict[str, Any]:
        shown, calls = await self._set(conn, msg.status)
        return {"type": "status", "status": shown, "calls": calls}

    async def _set(self, conn: Connection, status: str) -> tuple[str, list[dict[str, Any]]]:
        key = conn.key
        profile = await asyncio.to_thread(self.directory.agent_profile, conn.claims.app_id, conn.claims.identity)
        if conn.closed:
            return status, []
        self.agents.setdefault(key, set()).add(conn)
        self._ensure_ticking()
        actions = self.router.set_agent(key, conn.claims.app_id, status=status, languages=profile.languages,
                                        categories=profile.categories, max_concurrent=profile.max_concurrent,
                                        now=self.now())
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

    def agent_online(self, app_id: str, identity: str) -> bool:
        return any(not c.closed for c in self.agents.get(f"{app_id}/{identity}", ()))

    def _grant(self, key: str, room_id: str) -> None:
        for c in self.agents.get(key, ()):
            c.granted_rooms.add(room_id)

    async def on_accept(self, conn: Connection, msg: AcceptCall) -> dict[str, Any]:
        key, call_id, ref = conn.key, msg.call, msg.id
        live = self.calls.get(call_id)
        if live is None or live.app_id != conn.claims.app_id:
            raise ProtocolError("call_not_found", f"no call {call_id}", ref)
        won, actions = self.router.answer(call_id, key, self.now())
        if not won:
            await self.apply(actions)
            raise ProtocolError("call_taken", "this call is no longer offered to you", ref)
        if not await asyncio.to_thread(self.rooms.claim_call, call_id, conn.claims.identity):
            await self.apply(self.router.end_call(call_id, key, self.now()))
            raise ProtocolError("call_taken", "another agent has already answered this call", ref)
        live.agents.add(key)
        live.answered_by = {"identity": conn.claims.identity, "name": conn.claims.name}
        shopper, live.shopper = live.shopper, None
        if shopper is not None:  # a shopper who is away has until the end of their grace to come to the room
            live.detached_at = None
        self._grant(key, live.room_id)
        conn.granted_rooms.add(live.room_id)
        await self.apply(actions)
        if shopper is not None:
            shopper.send({"type": "call_answered", "call": call_id, "room": live.room_id,
                          "agent": {"identity": conn.claims.identity, "name": conn.claims.name}})
        log.info("call_answered", call=call_id, agent=conn.claims.identity)
        self.ctx.emit("call.started", call_id=call_id)
        return {"type": "call_accepted", "call": call_id, "room": live.room_id}

    async def on_decline(self, conn: Connection, msg: DeclineCall) -> dict[str, Any]:
        key, call_id = conn.key, msg.call
        live = self.calls.get(call_id)
        if live is None or live.app_id != conn.claims.app_id or self.router.queued_call(call_id) is None:
            raise ProtocolError("call_not_found", f"no ringing call {call_id}", msg.id)
        actions = self.router.decline(call_id, key, self.now())
        # the decliner knows: no `call_cancelled` back to it
        await self.apply([x for x in actions if not (isinstance(x, StopRinging) and x.agent_id == key)])
        return {"type": "call_declined", "call": call_id}

    def _in_call(self, conn: Connection, call_id: str, ref: str | None) -> LiveCall:
        live = self.calls.get(call_id)
        if live is None or live.app_id != conn.claims.app_id or conn.key not in live.agents:
            raise ProtocolError("call_not_found", f"you are not in call {call_id}", ref)
        return live

    async def on_transfer(self, conn: Connection, msg: TransferCall) -> dict[str, Any]:
        live = self._in_call(conn, msg.call, msg.id)
        key, target = conn.key, f"{conn.claims.app_id}/{msg.to}"
        if target == key:
            raise ProtocolError("bad_request", "you cannot transfer a call to yourself", msg.id)
        try:
            actions = self.router.transfer(msg.call, key, target, self.now())
        except RoutingError as e:
            raise ProtocolError("agent_unavailable", f"cannot transfer to {msg.to}: {e}", msg.id) from None
        live.agents.discard(key)
        live.agents.add(target)
        await asyncio.to_thread(self.rooms.reassign_call, msg.call, msg.to)
        self._grant(target, live.room_id)
        self._to_agent(target, {**live.incoming, "type": "call_transferred", "from": conn.claims.name})
        # tell the shopper first, so the outgoing agent's leaving does not look like the end of the call
        name = next((c.claims.name for c in self.agents.get(target, ())), msg.to)
        room = self.ctx.room(live.room_id)
        if room is not None:
            for member in list(room.members.values()):
                if not member.claims.is_staff:
                    member.send({"type": "agent_changed", "call": msg.call, "from": conn.claims.name,
                                 "agent": {"identity": msg.to, "name": name}})
        await self.apply(actions)
        log.info("call_transferred", call=msg.call, to=msg.to)
        return {"type": "call_transferred_away", "call": msg.call, "to": msg.to}

    async def on_invite(self, conn: Connection, msg: InviteAgent) -> dict[str, Any]:
        live = self._in_call(conn, msg.call, msg.id)
        target = f"{conn.claims.app_id}/{msg.to}"
        try:
            actions = self.router.invite(msg.call, target, self.now())
        except RoutingError as e:
            raise ProtocolError("agent_unavailable", f"cannot invite {msg.to}: {e}", msg.id) from None
        live.agents.add(target)
        self._grant(target, live.room_id)
        self._to_agent(target, {**live.incoming, "type": "call_invitation", "from": conn.claims.name})
        await self.apply(actions)
        return {"type": "agent_invited", "call": msg.call, "to": msg.to}

    def snapshot(self, app_id: str) -> dict[str, Any]:
        """The console's live view: the queue and every agent's presence, by identity."""
        snap = self.router.snapshot(app_id, self.now())

        def strip(k: str | None) -> str | None:
            return k.split("/", 1)[1] if k and "/" in k else k

        for a in snap["agents"]:
            a["identity"] = strip(a.pop("agent_id"))
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

    def is_waiting(self, room_id: str) -> bool:
        """A call in this room is still waiting for an agent (its own timers decide its end)."""
        return any(c.room_id == room_id and c.answered_by is None for c in self.calls.values())

    def has_waiting_call(self, conn: Connection) -> bool:
        return any(c.shopper is conn for c in self.calls.values())

    async def on_call(self, conn: Connection, msg: CallRequest) -> dict[str, Any]:
        ref = msg.id
        context = {k: v for k, v in msg.context.items() if isinstance(k, str)}
        if len(str(context)) > MAX_CONTEXT_CHARS:
            raise ProtocolError("bad_request", "call context is too large (4 KB at most)", ref)
        if self.has_waiting_call(conn):
            raise ProtocolError("bad_request", "a call is already waiting for this connection", ref)
        app_id = conn.claims.app_id
        if app_id not in self._policies_loaded:
            await self.load_policy(app_id)
        closed = await asyncio.to_thread(self._closed_message, app_id)
        if closed:
            raise ProtocolError("closed", closed, ref)
        language, category = await self._skills_needed(app_id, context)
        if self.has_waiting_call(conn):  # a second `call` raced this one through the awaits above
            raise ProtocolError("bad_request", "a call is already waiting for this connection", ref)
        call_id, room_id, incoming = await self._create_call(conn, context)
        if conn.closed:  # the shopper left while we were writing
            await self._finish_unanswered(call_id, "abandoned")
            raise ProtocolError("bad_request", "the connection closed", ref)
        self.calls[call_id] = LiveCall(call_id, app_id, room_id, incoming, conn.claims.identity, shopper=conn)
        self._ensure_ticking()
        now = self.now()
        actions = self.router.enqueue(QueuedCall(call_id, app_id, language=language, category=category,
                                                 enqueued_at=now), now)
        log.info("call_queued", call=call_id, room=room_id, app=app_id, language=language, category=category)
        self.ctx.emit("call.queued", call_id=call_id)
        reply = {"type": "call_created", "call": call_id, "room": room_id,
                 "position": self.router.position(call_id), "estimated_wait_s": self.router.estimated_wait_s(call_id)}
        self.ctx.spawn(self.apply(actions), "call-desk-enqueue")  # after the reply: rings go out next
        return reply

    async def _skills_needed(self, app_id: str, context: dict[str, Any]) -> tuple[str | None, str | None]:
        """(language, product category) a call asks for, from its context and the catalogue."""
        language = context["language"][:20] if isinstance(context.get("language"), str) else None
        category = None
        if isinstance(context.get("product"), str):
            product = await asyncio.to_thread(self.incall.product, app_id, context["product"])
            category = product.category if product is not None and product.category else None
        return language, category

    @staticmethod
    def _incoming(call: Call, identity: str, name: str, context: dict[str, Any]) -> dict[str, Any]:
        return {"type": "incoming_call", "call": call.id, "room": call.room_id,
                "shopper": {"identity": identity, "name": name},
                "context": context, "created_at": call.created_at.timestamp()}

    async def _create_call(self, conn: Connection, context: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
        app_id = conn.claims.app_id
        room = await asyncio.to_thread(self.rooms.create_room, app_id, name="call", kind="call", max_participants=4)
        call = await asyncio.to_thread(self.rooms.create_call, app_id, room.id, conn.claims.identity,
                                       conn.claims.name, context, conn.claims.customer)
        conn.granted_rooms.add(room.id)
        return call.id, room.id, self._incoming(call, conn.claims.identity, conn.claims.name, context)

    async def start_direct(self, shopper: Connection, agent: Connection, context: dict[str, Any],
                           ref: str | None) -> tuple[str, str, dict[str, Any]]:
        """A call straight to one agent (an accepted invitation), skipping the queue."""
        key, app_id = agent.key, shopper.claims.app_id
        state = self.router.agent(key)
        if state is None or not state.routable:
            raise ProtocolError("agent_unavailable", f"{agent.claims.name} is busy right now; please call us", ref)
        call_id, room_id, incoming = await self._create_call(shopper, context)
        try:
            actions = self.router.start_direct(call_id, app_id, key, self.now())
        except RoutingError as e:
            await self._finish_unanswered(call_id, "unanswered")
            raise ProtocolError("agent_unavailable", f"{agent.claims.name} cannot take the call: {e}", ref) from None
        await asyncio.to_thread(self.rooms.claim_call, call_id, agent.claims.identity)
        self.calls[call_id] = LiveCall(call_id, app_id, room_id, incoming, shopper.claims.identity, agents={key},
                                       answered_by={"identity": agent.claims.identity, "name": agent.claims.name})
        self._grant(key, room_id)
        agent.granted_rooms.add(room_id)
        await self.apply(actions)
        self.ctx.emit("call.started", call_id=call_id)
        return call_id, room_id, incoming

    async def load_policy(self, app_id: str) -> None:
        """The app's routing knobs (settings API) into the router; defaults where unset."""
        raw = await asyncio.to_thread(self.directory.routing, app_id)
        known = RoutingPolicy.__dataclass_fields__
        fields = {k: v for k, v in raw.items() if k in known}
        self.router.set_policy(app_id, RoutingPolicy(**fields) if fields else None)
        self._policies_loaded.add(app_id)

    def _closed_message(self, app_id: str) -> str | None:
        hours = self.directory.hours(app_id)
        now = datetime.now(UTC)
        if hours.is_open(now):
            return None
        nxt = hours.next_open(now)
        when = f"; we open again {nxt.strftime('%a %d %b, %H:%M')} ({hours.timezone})" if nxt else ""
        return f"we are closed right now{when}; you can leave a callback request"

    async def on_resume(self, conn: Connection, msg: ResumeCall) -> dict[str, Any]:
        """A shopper back after a dropped connection or a server restart takes up their call again."""
        live = self.calls.get(msg.call)
        if live is None or live.app_id != conn.claims.app_id or live.shopper_identity != conn.claims.identity:
            raise ProtocolError("call_not_found", f"no call {msg.call} of yours", msg.id)
        conn.granted_rooms.add(live.room_id)
        reply: dict[str, Any] = {"type": "call_resumed", "call": live.call_id, "room": live.room_id}
        if live.answered_by is not None:
            return {**reply, "answered": live.answered_by}
        if self.has_waiting_call(conn) and live.shopper is not conn:
            raise ProtocolError("bad_request", "a call is already waiting for this connection", msg.id)
        live.shopper, live.detached_at = conn, None
        log.info("call_resumed", call=live.call_id)
        return {**reply, "position": self.router.position(live.call_id),
                "estimated_wait_s": self.router.estimated_wait_s(live.call_id)}

    async def on_cancel(self, conn: Connection, msg: CancelCall) -> dict[str, Any]:
        live = self.calls.get(msg.call)
        if live is None or live.shopper is not conn:
            raise ProtocolError("call_not_found", f"no waiting call {msg.call} of yours", msg.id)
        live.shopper = None
        await self.apply(self.router.cancel(msg.call, self.now()))
        if msg.call in self.calls:  # the router no longer knew it: still leave no trace in the desk
            await self._finish_unanswered(msg.call, "cancelled")
        return {"type": "call_cancelled", "call": msg.call}
