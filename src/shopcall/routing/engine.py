"""Deterministic, offer-based call routing (an ACD): pure, synchronous and clock-injected.

The signalling hub owns the clock and the sockets. It calls the methods below with `now` (any
monotonic float, seconds) and performs the returned actions in order; it calls `tick(now)` on a
timer (once a second is plenty; `next_deadline()` says when something is due).

Atomicity: every public method runs to completion without awaiting, so on the hub's single asyncio
event loop two `answer` calls for one call can never interleave; the first one that finds itself
being the rung agent wins and the state change makes every later one lose. A re-entrant lock guards
the same methods so that the router is also safe to share between threads.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Concatenate, ParamSpec, TypeVar

from shopcall.routing.model import (
    Abandoned,
    Action,
    AgentState,
    AgentStatus,
    Assigned,
    CallEnded,
    Expired,
    Invited,
    QueuedCall,
    QueueUpdate,
    Ring,
    RoutingPolicy,
    StopReason,
    StopRinging,
    Transferred,
)

P = ParamSpec("P")
R = TypeVar("R")


class RoutingError(ValueError):
    """A request the router refuses (unknown call, wrong tenant, unavailable or full target...)."""


def _locked(fn: Callable[Concatenate[Router, P], R]) -> Callable[Concatenate[Router, P], R]:
    @functools.wraps(fn)
    def wrapper(self: Router, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            return fn(self, *args, **kwargs)

    return wrapper


def _norm_lang(value: str) -> str:
    return value.strip().lower().replace("_", "-")


def _norm_cat(value: str) -> str:
    return value.strip().casefold()


def _lang_matches(call_lang: str, agent_langs: frozenset[str]) -> bool:
    """`de-at` matches an agent speaking `de` (and vice versa): primary subtags are enough to talk."""
    if call_lang in agent_langs:
        return True
    primary = call_lang.split("-", 1)[0]
    return any(lang.split("-", 1)[0] == primary for lang in agent_langs)


@dataclass
class ActiveCall:
    """An answered call: which agents are in it, and since when (for handle times)."""

    call_id: str
    app_id: str
    primary: str
    agents: set[str]
    assigned_at: float
    wait_s: float


@dataclass
class _Averages:
    """Exponentially weighted moving averages of recent samples (None until the first sample)."""

    handle_s: float | None = None
    wait_s: float | None = None
    pickup_s: float | None = None

    def add(self, name: str, value: float, alpha: float) -> None:
        old = getattr(self, name)
        setattr(self, name, value if old is None else old + alpha * (value - old))


@dataclass
class _Tenant:
    agents: dict[str, AgentState] = field(default_factory=dict)
    queue: list[QueuedCall] = field(default_factory=list)  # kept sorted by QueuedCall.sort_key
    averages: _Averages = field(default_factory=_Averages)
    policy: RoutingPolicy | None = None


class Router:
    """Per-app queues and agents; see docs/routing.md for the rules."""

    def __init__(self, policy: RoutingPolicy | None = None) -> None:
        self.policy = policy or RoutingPolicy()
        self._lock = threading.RLock()
        self._tenants: dict[str, _Tenant] = {}
        self._agents: dict[str, AgentState] = {}
        self._calls: dict[str, QueuedCall] = {}  # queued (possibly ringing) calls
        self._active: dict[str, ActiveCall] = {}  # answered calls
        self._sent: dict[str, tuple[int, float | None]] = {}  # last QueueUpdate per call
        self._seq = itertools.count(1)
        self._now = 0.0  # latest clock seen (for snapshot without `now`)

    # ---- configuration and lookups ------------------------------------------------------------

    @_locked
    def set_policy(self, app_id: str, policy: RoutingPolicy | None) -> None:
        """Per-app policy; None returns the app to the router default."""
        self._tenant(app_id).policy = policy

    def policy_for(self, app_id: str) -> RoutingPolicy:
        tenant = self._tenants.get(app_id)
        return tenant.policy if tenant is not None and tenant.policy is not None else self.policy

    def agent(self, agent_id: str) -> AgentState | None:
        return self._agents.get(agent_id)

    def queued_call(self, call_id: str) -> QueuedCall | None:
        return self._calls.get(call_id)

    def active_call(self, call_id: str) -> ActiveCall | None:
        return self._active.get(call_id)

    @_locked
    def queue(self, app_id: str) -> list[QueuedCall]:
        """The app's queue in service order (a copy of the list; the calls are live objects)."""
        tenant = self._tenants.get(app_id)
        return list(tenant.queue) if tenant else []

    # ---- agents ---------------------------------------------------------------------------------

    @_locked
    def set_agent(self, agent_id: str, app_id: str, *, status: AgentStatus | str | None = None,
                  languages: Iterable[str] | None = None, categories: Iterable[str] | None = None,
                  max_concurrent: int | None = None, now: float) -> list[Action]:
        """Add or update an agent. Omitted fields keep their value (new agents: ONLINE, no skills, 1).

        Becoming ONLINE from any other status starts the idle clock (idle_since = now): "longest
        idle" means longest *available*. An agent that stops being routable while ringing gets
        StopRinging("agent_unavailable") and the call is offered to someone else.
        """
        self._clock(now)
        if max_concurrent is not None and max_concurrent < 1:
            raise RoutingError("max_concurrent must be >= 1")
        agent = self._agents.get(agent_id)
        if agent is None:
            agent = AgentState(agent_id, app_id, status=AgentStatus.OFFLINE, idle_since=now)
            self._agents[agent_id] = agent
            self._tenant(app_id).agents[agent_id] = agent
            if status is None:
                status = AgentStatus.ONLINE
        elif agent.app_id != app_id:
            raise RoutingError(f"agent {agent_id} belongs to another app")
        was_online = agent.status is AgentStatus.ONLINE
        if status is not None:
            agent.status = AgentStatus(status)
        if languages is not None:
            agent.languages = frozenset(_norm_lang(v) for v in languages if v.strip())
        if categories is not None:
            agent.categories = frozenset(_norm_cat(v) for v in categories if v.strip())
        if max_concurrent is not None:
            agent.max_concurrent = max_concurrent
        if agent.status is AgentStatus.ONLINE and not was_online:
            agent.idle_since = now
        actions = self._drop_ring_if_unroutable(agent)
        return actions + self._settle(app_id, now)

    @_locked
    def set_status(self, agent_id: str, status: AgentStatus | str, now: float) -> list[Action]:
        """Shortcut for an agent changing only its presence (e.g. setting itself away)."""
        agent = self._agents.get(agent_id)
        if agent is None:
            raise RoutingError(f"unknown agent {agent_id}")
        return self.set_agent(agent_id, agent.app_id, status=status, now=now)

    @_locked
    def remove_agent(self, agent_id: str, now: float) -> list[Action]:
        """Forget an agent (disconnected for good). Its ring is re-offered; it leaves its calls."""
        self._clock(now)
        agent = self._agents.get(agent_id)
        if agent is None:
            return []
        actions: list[Action] = []
        if agent.ringing_for is not None:
            actions.append(self._stop_ring(self._calls[agent.ringing_for], "agent_unavailable"))
        for call_id in sorted(agent.active_calls):
            actions += self._leave_call(call_id, agent, now)
        del self._agents[agent_id]
        del self._tenants[agent.app_id].agents[agent_id]
        return actions + self._settle(agent.app_id, now)

    # ---- shopper side ---------------------------------------------------------------------------

    @_locked
    def enqueue(self, call: QueuedCall, now: float) -> list[Action]:
        """Queue a call; it is rung at once if an agent fits. The router owns `call` from now on."""
        self._clock(now)
        if call.call_id in self._calls or call.call_id in self._active:
            raise RoutingError(f"call {call.call_id} is already routed")
        if call.ringing_agent is not None:
            raise RoutingError("a new call cannot already be ringing")
        call.language = _norm_lang(call.language) if call.language and call.language.strip() else None
        call.category = _norm_cat(call.category) if call.category and call.category.strip() else None
        if call.enqueued_at is None:
            call.enqueued_at = now
        call.declined_by = set(call.declined_by)
        call.ring_started_at = call.first_rung_at = call.last_declined_at = None
        call.seq = next(self._seq)
        queue = self._tenant(call.app_id).queue
        queue.append(call)
        queue.sort(key=lambda c: c.sort_key)
        self._calls[call.call_id] = call
        return self._settle(call.app_id, now)

    @_locked
    def cancel(self, call_id: str, now: float) -> list[Action]:
        """The shopper left while queued or ringing: Abandoned(wait_s). Unknown/answered calls: []."""
        self._clock(now)
        call = self._calls.get(call_id)
        if call is None:
            return []
        actions: list[Action] = []
        if call.ringing_agent is not None:
            actions.append(self._stop_ring(call, "cancelled"))
        self._dequeue(call)
        actions.append(Abandoned(call_id, self._waited(call, now), app_id=call.app_id))
        return actions + self._settle(call.app_id, now)

    @_locked
    def position(self, call_id: str) -> int | None:
        """1-based place in the app's queue (service order), None when not queued."""
        call = self._calls.get(call_id)
        if call is None:
            return None
        return self._tenants[call.app_id].queue.index(call) + 1

    @_locked
    def estimated_wait_s(self, call_id: str) -> float | None:
        """Estimated remaining wait in whole seconds; None when not queued or nobody is staffed."""
        position = self.position(call_id)
        if position is None:
            return None
        return self._estimate(self._calls[call_id].app_id, position)

    # ---- agent side -----------------------------------------------------------------------------

    @_locked
    def answer(self, call_id: str, agent_id: str, now: float) -> tuple[bool, list[Action]]:
        """Exactly one winner: only the agent currently being rung for the call, before its timeout.

        A second answer, an answer from an agent that is not (or no longer) rung, or one that
        arrives at/after the ring's `timeout_at` returns (False, actions); in the last case the
        ring timeout is processed right away.
        """
        self._clock(now)
        call = self._calls.get(call_id)
        if call is None or call.ringing_agent != agent_id or call.ring_started_at is None:
            return False, []
        if now >= call.ring_started_at + self.policy_for(call.app_id).ring_timeout_s:
            timed_out = self._time_out_ring(call, now)
            return False, timed_out + self._settle(call.app_id, now)
        agent = self._agents[agent_id]
        agent.ringing_for = None
        call.ringing_agent = call.ring_started_at = None
        self._dequeue(call)
        agent.active_calls.add(call_id)
        wait = self._waited(call, now)
        self._active[call_id] = ActiveCall(call_id, call.app_id, agent_id, {agent_id}, now, wait)
        averages, alpha = self._tenants[call.app_id].averages, self.policy_for(call.app_id).ewma_alpha
        averages.add("wait_s", wait, alpha)
        averages.add("pickup_s", float(now - (call.first_rung_at if call.first_rung_at is not None else now)), alpha)
        actions: list[Action] = [Assigned(call_id, agent_id, wait, app_id=call.app_id)]
        return True, actions + self._settle(call.app_id, now)

    @_locked
    def start_direct(self, call_id: str, app_id: str, agent_id: str, now: float) -> list[Action]:
        """A call that skips the queue: the shopper accepted this agent's own invitation.

        The agent must be of the app, ONLINE with a free slot (else RoutingError); a ring the agent
        had for another call is withdrawn and that call re-offered.
        """
        self._clock(now)
        if call_id in self._calls or call_id in self._active:
            raise RoutingError(f"call {call_id} already exists")
        agent = self._agents.get(agent_id)
        if agent is None or agent.app_id != app_id:
            raise RoutingError(f"agent {agent_id} is not an agent of this app")
        if not agent.routable:
            raise RoutingError(f"agent {agent_id} is {agent.effective_status.value}")
        actions: list[Action] = []
        if agent.ringing_for is not None:
            ringing = self._calls.get(agent.ringing_for)
            if ringing is not None:
                actions.append(self._stop_ring(ringing, "agent_unavailable"))
        agent.active_calls.add(call_id)
        self._active[call_id] = ActiveCall(call_id, app_id, agent_id, {agent_id}, now, 0.0)
        actions.append(Assigned(call_id, agent_id, 0.0, app_id=app_id))
        return actions + self._settle(app_id, now)

    @_locked
    def restore_active(self, call_id: str, app_id: str, agent_id: str, now: float) -> None:
        """After a restart: an answered call goes on with its agent, who counts as busy with it
        (and stays OFFLINE until their console is back)."""
        self._clock(now)
        agent = self._agents.get(agent_id)
        if agent is None:
            agent = AgentState(agent_id, app_id, status=AgentStatus.OFFLINE, idle_since=now)
            self._agents[agent_id] = agent
            self._tenant(app_id).agents[agent_id] = agent
        elif agent.app_id != app_id:
            raise RoutingError(f"agent {agent_id} belongs to another app")
        agent.active_calls.add(call_id)
        self._active[call_id] = ActiveCall(call_id, app_id, agent_id, {agent_id}, now, 0.0)

    @_locked
    def decline(self, call_id: str, agent_id: str, now: float) -> list[Action]:
        """The rung agent declines: the call moves on. Stale declines (not rung) are ignored."""
        self._clock(now)
        call = self._calls.get(call_id)
        if call is None or call.ringing_agent != agent_id:
            return []
        actions: list[Action] = [self._stop_ring(call, "declined")]
        call.declined_by.add(agent_id)
        call.last_declined_at = now
        return actions + self._settle(call.app_id, now)

    @_locked
    def end_call(self, call_id: str, agent_id: str, now: float) -> list[Action]:
        """The agent leaves an answered call and is idle again (idle_since = now)."""
        self._clock(now)
        call = self._active.get(call_id)
        agent = self._agents.get(agent_id)
        if call is None or agent is None or agent_id not in call.agents:
            return []
        actions = self._leave_call(call_id, agent, now)
        return actions + self._settle(call.app_id, now)

    @_locked
    def transfer(self, call_id: str, from_agent: str, to_agent: str, now: float) -> list[Action]:
        """Hand an answered call to another available agent directly: the shopper never re-queues.

        The target must be of the same app, ONLINE (not away/busy/offline) and have a free slot.
        If the target was being rung for another call and is now full, that ring is re-offered.
        """
        self._clock(now)
        call = self._active.get(call_id)
        if call is None:
            raise RoutingError(f"call {call_id} is not in progress")
        if from_agent not in call.agents:
            raise RoutingError(f"agent {from_agent} is not in call {call_id}")
        target = self._joinable(call, to_agent)
        source = self._agents[from_agent]
        call.agents.discard(from_agent)
        source.active_calls.discard(call_id)
        source.idle_since = now
        call.agents.add(to_agent)
        target.active_calls.add(call_id)
        if call.primary == from_agent:
            call.primary = to_agent
        actions: list[Action] = [Transferred(call_id, from_agent, to_agent, app_id=call.app_id)]
        actions += self._drop_ring_if_unroutable(target)
        return actions + self._settle(call.app_id, now)

    @_locked
    def invite(self, call_id: str, agent_id: str, now: float) -> list[Action]:
        """A further agent joins an answered call; it occupies one of that agent's slots."""
        self._clock(now)
        call = self._active.get(call_id)
        if call is None:
            raise RoutingError(f"call {call_id} is not in progress")
        agent = self._joinable(call, agent_id)
        call.agents.add(agent_id)
        agent.active_calls.add(call_id)
        actions: list[Action] = [Invited(call_id, agent_id, app_id=call.app_id)]
        actions += self._drop_ring_if_unroutable(agent)
        return actions + self._settle(call.app_id, now)

    # ---- timers ---------------------------------------------------------------------------------

    @_locked
    def tick(self, now: float) -> list[Action]:
        """Expire calls past max_wait_s, time out rings, and (re-)offer calls (fallback included)."""
        self._clock(now)
        actions: list[Action] = []
        for app_id, tenant in self._tenants.items():
            policy = self.policy_for(app_id)
            for call in list(tenant.queue):
                if policy.max_wait_s is not None and self._waited(call, now) >= policy.max_wait_s:
                    if call.ringing_agent is not None:
                        actions.append(self._stop_ring(call, "cancelled"))
                    self._dequeue(call)
                    actions.append(Expired(call.call_id, self._waited(call, now), app_id=app_id))
                elif call.ring_started_at is not None and now >= call.ring_started_at + policy.ring_timeout_s:
                    actions += self._time_out_ring(call, now)
            actions += self._settle(app_id, now)
        return actions

    @_locked
    def next_deadline(self) -> float | None:
        """Earliest time at which `tick` has something to do (ring timeout, fallback, expiry, re-offer)."""
        times: list[float] = []
        for app_id, tenant in self._tenants.items():
            policy = self.policy_for(app_id)
            for call in tenant.queue:
                start = call.enqueued_at or 0.0
                if policy.max_wait_s is not None:
                    times.append(start + policy.max_wait_s)
                if call.ring_started_at is not None:
                    times.append(call.ring_started_at + policy.ring_timeout_s)
                    continue
                if policy.fallback_after_s is not None and start + policy.fallback_after_s > self._now:
                    times.append(start + policy.fallback_after_s)
                if call.declined_by and call.last_declined_at is not None:
                    due = call.last_declined_at + policy.reoffer_delay_s
                    if due > self._now:
                        times.append(due)
        return min(times) if times else None

    # ---- console --------------------------------------------------------------------------------

    @_locked
    def snapshot(self, app_id: str, now: float | None = None) -> dict[str, Any]:
        """JSON-ready view of one app for the agent console (`now` defaults to the latest clock seen)."""
        now = self._now if now is None else now
        tenant = self._tenants.get(app_id) or _Tenant()
        avg = tenant.averages
        queue = [{
            "call_id": c.call_id, "position": i, "waited_s": round(self._waited(c, now), 1),
            "estimated_wait_s": self._estimate(app_id, i), "priority": c.priority,
            "language": c.language, "category": c.category, "ringing_agent": c.ringing_agent,
            "declined_by": sorted(c.declined_by), "fallback": self._relaxed(c, now),
        } for i, c in enumerate(tenant.queue, start=1)]
        agents = [{
            "agent_id": a.agent_id, "status": a.effective_status.value, "presence": a.status.value,
            "idle_s": None if a.active_calls or a.status is not AgentStatus.ONLINE
            else round(max(0.0, now - a.idle_since), 1),
            "active_calls": sorted(a.active_calls), "max_concurrent": a.max_concurrent,
            "ringing_for": a.ringing_for, "languages": sorted(a.languages), "categories": sorted(a.categories),
        } for a in sorted(tenant.agents.values(), key=lambda a: a.agent_id)]
        calls = [{
            "call_id": c.call_id, "primary": c.primary, "agents": sorted(c.agents), "wait_s": round(c.wait_s, 1),
            "duration_s": round(max(0.0, now - c.assigned_at), 1),
        } for c in sorted(self._active.values(), key=lambda c: c.assigned_at) if c.app_id == app_id]
        return {"app_id": app_id, "queue": queue, "agents": agents, "calls": calls,
                "averages": {"handle_s": avg.handle_s, "wait_s": avg.wait_s, "pickup_s": avg.pickup_s}}

    # ---- internals ------------------------------------------------------------------------------

    def _clock(self, now: float) -> None:
        self._now = max(self._now, now)

    def _tenant(self, app_id: str) -> _Tenant:
        tenant = self._tenants.get(app_id)
        if tenant is None:
            tenant = self._tenants[app_id] = _Tenant()
        return tenant

    @staticmethod
    def _waited(call: QueuedCall, now: float) -> float:
        return float(max(0.0, now - (call.enqueued_at or 0.0)))

    def _relaxed(self, call: QueuedCall, now: float) -> bool:
        after = self.policy_for(call.app_id).fallback_after_s
        return after is not None and self._waited(call, now) >= after

    def _dequeue(self, call: QueuedCall) -> None:
        self._tenants[call.app_id].queue.remove(call)
        del self._calls[call.call_id]
        self._sent.pop(call.call_id, None)

    def _stop_ring(self, call: QueuedCall, reason: StopReason) -> StopRinging:
        agent_id = call.ringing_agent
        assert agent_id is not None
        agent = self._agents.get(agent_id)
        if agent is not None and agent.ringing_for == call.call_id:
            agent.ringing_for = None
        call.ringing_agent = call.ring_started_at = None
        return StopRinging(call.call_id, agent_id, reason, app_id=call.app_id)

    def _time_out_ring(self, call: QueuedCall, now: float) -> list[Action]:
        agent_id = call.ringing_agent
        assert agent_id is not None
        stop = self._stop_ring(call, "timeout")
        call.declined_by.add(agent_id)
        call.last_declined_at = now
        return [stop]

    def _drop_ring_if_unroutable(self, agent: AgentState) -> list[Action]:
        if agent.ringing_for is None or agent.routable:
            return []
        return [self._stop_ring(self._calls[agent.ringing_for], "agent_unavailable")]

    def _joinable(self, call: ActiveCall, agent_id: str) -> AgentState:
        agent = self._agents.get(agent_id)
        if agent is None or agent.app_id != call.app_id:
            raise RoutingError(f"unknown agent {agent_id}")
        if agent_id in call.agents:
            raise RoutingError(f"agent {agent_id} is already in call {call.call_id}")
        if agent.status is not AgentStatus.ONLINE:
            raise RoutingError(f"agent {agent_id} is {agent.status.value}")
        if not agent.has_capacity:
            raise RoutingError(f"agent {agent_id} is at capacity ({agent.max_concurrent})")
        return agent

    def _leave_call(self, call_id: str, agent: AgentState, now: float) -> list[Action]:
        call = self._active[call_id]
        call.agents.discard(agent.agent_id)
        agent.active_calls.discard(call_id)
        agent.idle_since = now
        if call.agents:
            if call.primary == agent.agent_id:
                call.primary = min(call.agents)
            return []
        del self._active[call_id]
        handle = float(max(0.0, now - call.assigned_at))
        self._tenants[call.app_id].averages.add("handle_s", handle, self.policy_for(call.app_id).ewma_alpha)
        return [CallEnded(call_id, handle, app_id=call.app_id)]

    def _settle(self, app_id: str, now: float) -> list[Action]:
        """After any change: offer waiting calls to free agents, then refresh shoppers' positions."""
        return self._dispatch(app_id, now) + self._queue_updates(app_id)

    def _dispatch(self, app_id: str, now: float) -> list[Action]:
        tenant = self._tenants.get(app_id)
        if tenant is None:
            return []
        policy = self.policy_for(app_id)
        actions: list[Action] = []
        for call in tenant.queue:  # service order: the head of the queue picks first
            if call.ringing_agent is not None:
                continue
            agent = self._pick(tenant, call, now, policy)
            if agent is None:
                continue
            agent.ringing_for = call.call_id
            call.ringing_agent, call.ring_started_at = agent.agent_id, now
            if call.first_rung_at is None:
                call.first_rung_at = now
            actions.append(Ring(call.call_id, agent.agent_id, now + policy.ring_timeout_s, app_id=app_id))
        return actions

    def _pick(self, tenant: _Tenant, call: QueuedCall, now: float, policy: RoutingPolicy) -> AgentState | None:
        """Best free agent for `call`, or None (wait). See docs/routing.md, "Selection"."""
        relaxed = self._relaxed(call, now)
        routable = [a for a in tenant.agents.values() if a.routable]
        free = [a for a in routable if a.ringing_for is None]
        best = self._best(call, [a for a in free if a.agent_id not in call.declined_by], relaxed)
        if best is not None or not call.declined_by:
            return best
        # Everyone eligible (ringing elsewhere or not) has already been tried: restart the rotation,
        # but not sooner than reoffer_delay_s after the last decline/timeout.
        eligible = {a.agent_id for a in routable if relaxed or self._score(a, call) == 3}
        if not eligible or not eligible <= call.declined_by:
            return None
        if call.last_declined_at is not None and now < call.last_declined_at + policy.reoffer_delay_s:
            return None
        best = self._best(call, free, relaxed)
        if best is not None:  # keep the history while every tried agent is still ringing elsewhere
            call.declined_by.clear()
        return best

    def _best(self, call: QueuedCall, agents: list[AgentState], relaxed: bool) -> AgentState | None:
        scored = [(self._score(a, call), a) for a in agents]
        if not relaxed:
            scored = [(s, a) for s, a in scored if s == 3]
        if not scored:
            return None
        # Full match first (then language over category); then least loaded, longest idle, id.
        return min(scored, key=lambda sa: (-sa[0], len(sa[1].active_calls), sa[1].idle_since, sa[1].agent_id))[1]

    @staticmethod
    def _score(agent: AgentState, call: QueuedCall) -> int:
        """2 for the language (or none asked) + 1 for the category (or none asked): 3 = full match."""
        lang = call.language is None or _lang_matches(call.language, agent.languages)
        cat = call.category is None or call.category in agent.categories
        return 2 * lang + cat

    def _estimate(self, app_id: str, position: int) -> float | None:
        """Calls that cannot start at once, drained by all staffed slots, plus the usual pickup time (docs)."""
        tenant = self._tenants.get(app_id)
        if tenant is None:
            return None
        online = [a for a in tenant.agents.values() if a.status is AgentStatus.ONLINE]
        capacity = sum(a.max_concurrent for a in online)
        if capacity == 0:
            return None
        policy = self.policy_for(app_id)
        free = sum(max(0, a.max_concurrent - len(a.active_calls)) for a in online)
        handle = tenant.averages.handle_s if tenant.averages.handle_s is not None else policy.default_handle_s
        pickup = tenant.averages.pickup_s if tenant.averages.pickup_s is not None else policy.default_pickup_s
        return float(round(max(0, position - free) * handle / capacity + pickup))

    def _queue_updates(self, app_id: str) -> list[Action]:
        tenant = self._tenants.get(app_id)
        if tenant is None:
            return []
        actions: list[Action] = []
        for position, call in enumerate(tenant.queue, start=1):
            view = (position, self._estimate(app_id, position))
            if self._sent.get(call.call_id) != view:
                self._sent[call.call_id] = view
                actions.append(QueueUpdate(call.call_id, view[0], view[1], app_id=app_id))
        return actions
