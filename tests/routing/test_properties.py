"""Randomised operation sequences (seeded, so failures replay): routing invariants always hold."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import pytest

from shopcall.routing import (
    Abandoned,
    AgentStatus,
    Assigned,
    CallEnded,
    Expired,
    Invited,
    QueuedCall,
    QueueUpdate,
    Ring,
    Router,
    RoutingError,
    RoutingPolicy,
    StopRinging,
    Transferred,
)

APPS = ("app_a", "app_b")
AGENTS = tuple(f"ag{i}" for i in range(7))
LANGS = ("en", "de", "fr")
CATS = ("shoes", "bags")


class Model:
    """What the action stream says happened; checked against the router after every operation."""

    def __init__(self, router: Router, rng: random.Random) -> None:
        self.r = router
        self.rng = rng
        self.now = 0.0
        self.agent_app = {a: rng.choice(APPS) for a in AGENTS}
        self.agent_max = {a: rng.choice((1, 1, 2)) for a in AGENTS}
        self.call_app: dict[str, str] = {}
        self.outcomes: dict[str, list[str]] = defaultdict(list)
        self.ringing: dict[str, str] = {}  # agent -> call
        self.rung: dict[str, str] = {}  # call -> agent
        self.active: dict[str, set[str]] = defaultdict(set)  # agent -> calls
        self.n = 0

    # ---- stream ------------------------------------------------------------------------------
    def apply(self, actions: list[Any]) -> None:
        for act in actions:
            if isinstance(act, Ring):
                assert act.agent_id not in self.ringing, "an agent rings for two calls"
                assert act.call_id not in self.rung, "a call rings two agents"
                assert self.agent_app[act.agent_id] == self.call_app[act.call_id] == act.app_id, "tenant mix"
                assert not self.outcomes[act.call_id], "ringing a finished call"
                self.ringing[act.agent_id], self.rung[act.call_id] = act.call_id, act.agent_id
            elif isinstance(act, StopRinging):
                assert self.ringing.pop(act.agent_id) == act.call_id
                assert self.rung.pop(act.call_id) == act.agent_id
            elif isinstance(act, Assigned):
                assert self.rung.pop(act.call_id) == act.agent_id, "assigned to an agent that was not rung"
                assert self.ringing.pop(act.agent_id) == act.call_id
                self.outcomes[act.call_id].append("assigned")
                self.active[act.agent_id].add(act.call_id)
                assert len(self.active[act.agent_id]) <= self.agent_max[act.agent_id]
            elif isinstance(act, Abandoned | Expired):
                assert act.call_id not in self.rung, "finished while still ringing"
                self.outcomes[act.call_id].append(type(act).__name__.lower())
                assert act.wait_s >= 0
            elif isinstance(act, Transferred):
                self.active[act.from_agent].remove(act.call_id)
                self.active[act.to_agent].add(act.call_id)
            elif isinstance(act, Invited):
                self.active[act.agent_id].add(act.call_id)
            elif isinstance(act, QueueUpdate):
                assert act.position == self.r.position(act.call_id)
            else:
                assert isinstance(act, CallEnded) and act.handle_s >= 0

    # ---- state -------------------------------------------------------------------------------
    def check_state(self) -> None:
        r = self.r
        for agent_id in AGENTS:
            agent = r.agent(agent_id)
            if agent is None:
                assert agent_id not in self.ringing and not self.active[agent_id]
                continue
            assert agent.active_calls == self.active[agent_id]
            assert len(agent.active_calls) <= agent.max_concurrent
            assert agent.ringing_for == self.ringing.get(agent_id)
            if agent.ringing_for is not None:
                assert agent.status is AgentStatus.ONLINE and agent.has_capacity, "rings an unavailable agent"
                call = r.queued_call(agent.ringing_for)
                assert call is not None and call.ringing_agent == agent_id and call.app_id == agent.app_id
        for app in APPS:
            for call in r.queue(app):
                assert call.ringing_agent == self.rung.get(call.call_id)
        for call_id in self.call_app:
            queued = r.position(call_id) is not None
            assert len(self.outcomes[call_id]) + queued == 1, (call_id, self.outcomes[call_id], queued)
        if r.policy.fallback_after_s == 0 and r.policy.reoffer_delay_s == 0:
            self.check_work_conserving()

    def check_work_conserving(self) -> None:
        """With no skill wait and no re-offer delay, a free agent never idles next to a waiting call
        unless that call already tried it and an untried agent is ringing elsewhere."""
        for app in APPS:
            agents = [a for a in (self.r.agent(x) for x in AGENTS) if a and a.app_id == app and a.routable]
            free = [a for a in agents if a.ringing_for is None]
            for call in self.r.queue(app):
                if call.ringing_agent is not None:
                    continue
                for agent in free:
                    assert agent.agent_id in call.declined_by
                    assert any(a.agent_id not in call.declined_by for a in agents)

    # ---- operations --------------------------------------------------------------------------
    def step(self) -> None:
        rng, r = self.rng, self.r
        self.now += rng.choice((0, 0, 0.5, 1, 3, 7, 21))
        now = self.now
        op = rng.choice(("agent", "agent", "enqueue", "enqueue", "answer", "answer", "answer", "decline",
                         "cancel", "end", "end", "transfer", "invite", "tick", "tick", "remove"))
        if op == "agent":
            agent_id = rng.choice(AGENTS)
            status = rng.choice((AgentStatus.ONLINE,) * 3 + (AgentStatus.AWAY, AgentStatus.BUSY, AgentStatus.OFFLINE))
            langs = rng.sample(LANGS, rng.randint(0, 2)) if rng.random() < 0.5 else None
            cats = rng.sample(CATS, rng.randint(0, 2)) if rng.random() < 0.5 else None
            self.apply(r.set_agent(agent_id, self.agent_app[agent_id], status=status, languages=langs,
                                   categories=cats, max_concurrent=self.agent_max[agent_id], now=now))
        elif op == "remove":
            agent_id = rng.choice(AGENTS)
            acts = r.remove_agent(agent_id, now)
            ended = set(self.active.pop(agent_id, set()))
            self.apply(acts)
            assert {a.call_id for a in acts if isinstance(a, CallEnded)} <= ended
        elif op == "enqueue":
            self.n += 1
            call_id = f"c{self.n}"
            app = rng.choice(APPS)
            self.call_app[call_id] = app
            call = QueuedCall(call_id, app, language=rng.choice(LANGS + (None,)),
                              category=rng.choice(CATS + (None,)), priority=rng.choice((0, 0, 0, 1)))
            self.apply(r.enqueue(call, now))
        elif op == "answer" and self.call_app:
            call_id = self.pick_call()
            rung = self.rung.get(call_id)
            candidates = [rng.choice(AGENTS) for _ in range(rng.randint(1, 3))]
            if rung is not None and rng.random() < 0.8:
                candidates.insert(rng.randrange(len(candidates) + 1), rung)
            winners = []
            for agent_id in candidates:  # "simultaneous": same instant, one after the other on the loop
                rung_now = self.rung.get(call_id)  # (a late answer may have moved the ring on)
                won, acts = r.answer(call_id, agent_id, now)
                self.apply(acts)
                if won:
                    assert agent_id == rung_now, "only the agent being rung may win"
                    winners.append(agent_id)
            assert len(winners) <= 1
        elif op == "decline" and self.call_app:
            call_id = self.pick_call()
            agent_id = self.rung.get(call_id) if rng.random() < 0.8 else rng.choice(AGENTS)
            self.apply(r.decline(call_id, agent_id or rng.choice(AGENTS), now))
        elif op == "cancel" and self.call_app:
            self.apply(r.cancel(self.pick_call(), now))
        elif op == "end":
            busy = [(a, c) for a, calls in self.active.items() for c in calls]
            if busy:
                agent_id, call_id = rng.choice(sorted(busy))
                acts = r.end_call(call_id, agent_id, now)
                self.active[agent_id].discard(call_id)
                self.apply(acts)
        elif op in ("transfer", "invite"):
            busy = sorted((a, c) for a, calls in self.active.items() for c in calls)
            if busy:
                agent_id, call_id = rng.choice(busy)
                target = rng.choice(AGENTS)
                before = self.fingerprint()
                try:
                    if op == "transfer":
                        acts = r.transfer(call_id, agent_id, target, now)
                    else:
                        acts = r.invite(call_id, target, now)
                except RoutingError:
                    assert self.fingerprint() == before, "a refused request changed state"
                else:
                    agent = r.agent(target)
                    assert agent is not None and agent.app_id == self.call_app[call_id]
                    assert agent.status is AgentStatus.ONLINE
                    self.apply(acts)
        else:
            self.apply(r.tick(now))
        self.check_state()

    def pick_call(self) -> str:
        queued = [c for c in self.call_app if self.r.position(c) is not None]
        if queued and self.rng.random() < 0.85:
            return self.rng.choice(queued)
        return self.rng.choice(sorted(self.call_app))

    def fingerprint(self) -> Any:
        agents = [(a.agent_id, a.status, sorted(a.active_calls), a.ringing_for, a.idle_since)
                  for a in (self.r.agent(x) for x in AGENTS) if a]
        queues = [(c.call_id, c.ringing_agent, sorted(c.declined_by)) for app in APPS for c in self.r.queue(app)]
        return agents, queues


@pytest.mark.parametrize("block", range(5))
def test_random_sequences_keep_invariants(block: int) -> None:
    for seed in range(block * 100, block * 100 + 100):  # 500 sequences in all
        rng = random.Random(seed)
        policy = RoutingPolicy(ring_timeout_s=rng.choice((5, 20)), fallback_after_s=rng.choice((0, 0, 15, None)),
                               max_wait_s=rng.choice((None, 120)), reoffer_delay_s=rng.choice((0, 0, 5)))
        model = Model(Router(policy), rng)
        for _ in range(rng.randint(20, 120)):
            model.step()
        assigned = [c for c, outs in model.outcomes.items() if outs.count("assigned") > 1]
        assert not assigned, f"seed {seed}: assigned twice: {assigned}"
