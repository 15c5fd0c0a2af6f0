"""Routing data: agents, queued calls, the policy, and the actions the engine asks the hub to perform.

Everything here is plain data with no I/O. The engine (`engine.Router`) owns and mutates the
`AgentState` / `QueuedCall` objects; the hub reads them through `Router.snapshot` and performs
the returned actions (sends ring/cancel messages, persists metrics).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal


class AgentStatus(StrEnum):
    """The presence an agent *chooses*; routing only ever rings ONLINE agents with a free slot.

    - ONLINE: takes calls while ``len(active_calls) < max_concurrent``. At capacity the agent is
      *shown* as BUSY (see `AgentState.effective_status`) but its chosen status stays ONLINE, so it
      is offered calls again as soon as a call ends.
    - BUSY: set by the agent itself (e.g. wrap-up work): staffed, counted nowhere, never rung.
    - AWAY: short break; never rung.
    - OFFLINE: not working; never rung.
    Existing calls are not touched by a status change: an agent may go AWAY while still in a call.
    """

    ONLINE = "online"
    BUSY = "busy"
    AWAY = "away"
    OFFLINE = "offline"


@dataclass
class AgentState:
    """One agent as the router sees it. Languages and categories are stored normalised (lower case)."""

    agent_id: str
    app_id: str
    status: AgentStatus = AgentStatus.ONLINE
    languages: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    max_concurrent: int = 1
    active_calls: set[str] = field(default_factory=set)
    idle_since: float = 0.0  # last time the agent became available or ended a call ("longest idle")
    ringing_for: str | None = None  # the call this agent is being offered, if any (at most one)

    @property
    def has_capacity(self) -> bool:
        return len(self.active_calls) < self.max_concurrent

    @property
    def routable(self) -> bool:
        """May be offered a (new) call: chose ONLINE and has a free slot. Ringing state is separate."""
        return self.status is AgentStatus.ONLINE and self.has_capacity

    @property
    def effective_status(self) -> AgentStatus:
        """What the console shows: ONLINE at capacity reads as BUSY."""
        if self.status is AgentStatus.ONLINE and not self.has_capacity:
            return AgentStatus.BUSY
        return self.status


@dataclass
class QueuedCall:
    """A shopper waiting for an agent. `enqueued_at=None` means "now" at `Router.enqueue`.

    A caller may pass the original `enqueued_at` when re-building the queue (e.g. after a restart)
    so that waits stay honest. Higher `priority` is served first; equal priority is FIFO.
    """

    call_id: str
    app_id: str
    language: str | None = None
    category: str | None = None
    enqueued_at: float | None = None
    declined_by: set[str] = field(default_factory=set)  # agents that declined or let the ring time out
    ringing_agent: str | None = None
    ring_started_at: float | None = None
    priority: int = 0
    # Engine bookkeeping (set by the router, not by callers):
    first_rung_at: float | None = None  # start of the first ring: "pickup" waits are measured from here
    last_declined_at: float | None = None  # drives the re-offer delay after a full rotation
    seq: int = 0  # arrival counter: FIFO tie-break when two calls share a timestamp

    @property
    def sort_key(self) -> tuple[int, float, int]:
        return (-self.priority, self.enqueued_at or 0.0, self.seq)


@dataclass(frozen=True)
class RoutingPolicy:
    """Routing knobs (per app if `Router.set_policy` is used, else the router default).

    - ring_timeout_s: how long one agent is offered a call before moving on.
    - fallback_after_s: after this wait, a call that no skill-matching agent can take is offered to
      any available agent (best partial match first). None = never relax; 0 = relax at once.
    - max_wait_s: a call still queued after this long ends as `Expired` ("unanswered"). None = never.
    - reoffer_delay_s: once every eligible agent has declined / let the call time out, the rotation
      restarts at most this long after the last decline (so an agent who just declined is not rung
      again the same instant).
    - default_handle_s / default_pickup_s: used by the wait estimate until real samples exist.
    - ewma_alpha: weight of the newest sample in the moving averages (0 < alpha <= 1).
    """

    ring_timeout_s: float = 20.0
    fallback_after_s: float | None = 30.0
    max_wait_s: float | None = 600.0
    reoffer_delay_s: float = 5.0
    default_handle_s: float = 180.0
    default_pickup_s: float = 10.0
    ewma_alpha: float = 0.2

    def __post_init__(self) -> None:
        if self.ring_timeout_s <= 0:
            raise ValueError("ring_timeout_s must be > 0")
        for name in ("fallback_after_s", "max_wait_s"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0 or None")
        if self.reoffer_delay_s < 0 or self.default_handle_s < 0 or self.default_pickup_s < 0:
            raise ValueError("delays and defaults must be >= 0")
        if not 0 < self.ewma_alpha <= 1:
            raise ValueError("ewma_alpha must be in (0, 1]")


# ---- actions: what the hub must do -------------------------------------------------------------
# Every action carries `app_id` (keyword-only) so the hub knows the tenant and metrics can be split.

StopReason = Literal["timeout", "answered_elsewhere", "cancelled", "agent_unavailable", "declined"]


@dataclass(frozen=True)
class Ring:
    """Offer `call_id` to `agent_id` until `timeout_at` (the hub sends `incoming_call`)."""

    call_id: str
    agent_id: str
    timeout_at: float
    app_id: str = field(kw_only=True)


@dataclass(frozen=True)
class StopRinging:
    """The offer to `agent_id` is over (the hub cancels the ring on all of that agent's devices).

    "timeout": not answered in time; "cancelled": the shopper left or the call expired;
    "agent_unavailable": the agent went away/offline/busy/full or was removed; "declined": the agent
    declined (sent so the agent's other devices stop ringing too). "answered_elsewhere" is never
    emitted by this offer-based engine (one agent rings per call); it is reserved for hubs that
    broadcast. A ring ends with exactly one StopRinging, or with `Assigned` when it is answered.
    """

    call_id: str
    agent_id: str
    reason: StopReason
    app_id: str = field(kw_only=True)


@dataclass(frozen=True)
class Assigned:
    """`agent_id` answered and won `call_id` after the shopper waited `wait_s`."""

    call_id: str
    agent_id: str
    wait_s: float
    app_id: str = field(kw_only=True)


@dataclass(frozen=True)
class Abandoned:
    """The shopper left the queue after `wait_s`."""

    call_id: str
    wait_s: float
    app_id: str = field(kw_only=True)


@dataclass(frozen=True)
class Expired:
    """Nobody answered within `max_wait_s`; the call ends as unanswered."""

    call_id: str
    wait_s: float
    app_id: str = field(kw_only=True)


@dataclass(frozen=True)
class QueueUpdate:
    """Tell the waiting shopper its 1-based position and an estimate (None = no agent staffed)."""

    call_id: str
    position: int
    estimated_wait_s: float | None
    app_id: str = field(kw_only=True)


@dataclass(frozen=True)
class Transferred:
    """The call moved from one agent to another without the shopper re-queuing."""

    call_id: str
    from_agent: str
    to_agent: str
    app_id: str = field(kw_only=True)


@dataclass(frozen=True)
class Invited:
    """A further agent joined an answered call (uses one of that agent's slots)."""

    call_id: str
    agent_id: str
    app_id: str = field(kw_only=True)


@dataclass(frozen=True)
class CallEnded:
    """The last agent left an answered call; `handle_s` runs from `Assigned` to now."""

    call_id: str
    handle_s: float
    app_id: str = field(kw_only=True)


Action = Ring | StopRinging | Assigned | Abandoned | Expired | QueueUpdate | Transferred | Invited | CallEnded
