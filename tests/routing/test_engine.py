"""Router behaviour with a fake clock (plain floats)."""

from __future__ import annotations

import threading
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

APP = "app_a"


def of(actions: list[Any], cls: type) -> list[Any]:
    return [a for a in actions if isinstance(a, cls)]


def rings(actions: list[Any]) -> list[tuple[str, str]]:
    return [(a.call_id, a.agent_id) for a in of(actions, Ring)]


def stops(actions: list[Any]) -> list[tuple[str, str, str]]:
    return [(a.call_id, a.agent_id, a.reason) for a in of(actions, StopRinging)]


def call(call_id: str, app: str = APP, **kw: Any) -> QueuedCall:
    return QueuedCall(call_id, app, **kw)


# ---- selection ---------------------------------------------------------------------------------


def test_skill_match_beats_longer_idle_non_matching_agent() -> None:
    r = Router()
    r.set_agent("en", APP, languages=["en"], categories=["shoes"], now=0)
    r.set_agent("de", APP, languages=["de"], categories=["shoes"], now=10)
    acts = r.enqueue(call("c1", language="de", category="Shoes"), now=20)
    assert rings(acts) == [("c1", "de")]
    assert acts[0] == Ring("c1", "de", 40.0, app_id=APP)


def test_language_subtags_and_case_match() -> None:
    r = Router()
    r.set_agent("a", APP, languages=["DE"], now=0)
    assert rings(r.enqueue(call("c1", language="de_AT"), now=1)) == [("c1", "a")]


def test_longest_idle_wins_among_matching_and_end_call_resets_idle() -> None:
    r = Router()
    for agent, t in (("a", 5), ("b", 1), ("c", 3)):
        r.set_agent(agent, APP, languages=["de"], now=t)
    assert rings(r.enqueue(call("c1", language="de"), now=10)) == [("c1", "b")]
    assert r.answer("c1", "b", 11)[0]
    r.end_call("c1", "b", 50)  # b idle since 50 now: c (3) then a (5) are longer idle
    assert rings(r.enqueue(call("c2", language="de"), now=60)) == [("c2", "c")]
    assert rings(r.enqueue(call("c3", language="de"), now=61)) == [("c3", "a")]
    assert rings(r.enqueue(call("c4", language="de"), now=62)) == [("c4", "b")]


def test_idle_tie_breaks_on_agent_id() -> None:
    r = Router()
    r.set_agent("zed", APP, now=0)
    r.set_agent("amy", APP, now=0)
    assert rings(r.enqueue(call("c1"), now=1)) == [("c1", "amy")]


def test_becoming_online_restarts_idle_clock() -> None:
    r = Router()
    r.set_agent("a", APP, now=0)
    r.set_agent("b", APP, now=5)
    r.set_status("a", AgentStatus.AWAY, now=6)
    r.set_status("a", AgentStatus.ONLINE, now=7)
    assert rings(r.enqueue(call("c1"), now=8)) == [("c1", "b")]


def test_ring_timeout_moves_on_and_rotates_after_everyone_was_tried() -> None:
    r = Router(RoutingPolicy(ring_timeout_s=20, reoffer_delay_s=5))
    for agent, t in (("a", 0), ("b", 1), ("c", 2)):
        r.set_agent(agent, APP, now=t)
    assert rings(r.enqueue(call("c1"), now=10)) == [("c1", "a")]
    assert r.next_deadline() == 30
    assert r.tick(29.9) == []
    acts = r.tick(30)
    assert stops(acts) == [("c1", "a", "timeout")] and rings(acts) == [("c1", "b")]
    acts = r.tick(50)
    assert stops(acts) == [("c1", "b", "timeout")] and rings(acts) == [("c1", "c")]
    acts = r.tick(70)  # everyone tried: the rotation restarts after reoffer_delay_s
    assert stops(acts) == [("c1", "c", "timeout")] and rings(acts) == []
    assert r.next_deadline() == 75
    assert rings(r.tick(75)) == [("c1", "a")]
    assert r.queued_call("c1").declined_by == set()  # type: ignore[union-attr]


def test_timed_out_agent_waits_while_an_untried_agent_rings_elsewhere() -> None:
    r = Router(RoutingPolicy(ring_timeout_s=10, reoffer_delay_s=0))
    r.set_agent("a", APP, now=0)
    r.set_agent("b", APP, now=1)
    r.set_agent("c", APP, now=2)
    assert rings(r.enqueue(call("c1"), now=5)) == [("c1", "a")]
    assert rings(r.enqueue(call("c2"), now=6)) == [("c2", "b")]
    r.set_status("c", AgentStatus.AWAY, now=6)
    acts = r.tick(15)  # c1's ring to a times out; b (untried) is busy ringing c2: c1 must not go back to a
    assert stops(acts) == [("c1", "a", "timeout")] and rings(acts) == []
    acts = r.tick(16)  # c2 times out at b: the two calls swap agents
    assert stops(acts) == [("c2", "b", "timeout")]
    assert sorted(rings(acts)) == [("c1", "b"), ("c2", "a")]


def test_decline_rings_next_and_stops_agents_other_devices() -> None:
    r = Router(RoutingPolicy(reoffer_delay_s=5))
    r.set_agent("a", APP, now=0)
    r.set_agent("b", APP, now=1)
    r.enqueue(call("c1"), now=2)
    acts = r.decline("c1", "a", now=3)
    assert stops(acts) == [("c1", "a", "declined")] and rings(acts) == [("c1", "b")]
    assert r.decline("c1", "a", now=3) == []  # stale decline: ignored
    acts = r.decline("c1", "b", now=4)
    assert rings(acts) == []  # both tried; re-offered after the delay, not at once
    assert rings(r.tick(9)) == [("c1", "a")]


def test_fallback_to_non_matching_agent_only_after_fallback_after_s() -> None:
    r = Router(RoutingPolicy(fallback_after_s=30))
    r.set_agent("en", APP, languages=["en"], now=0)
    assert rings(r.enqueue(call("c1", language="de"), now=100)) == []
    assert rings(r.tick(129.9)) == []
    assert r.snapshot(APP)["queue"][0]["fallback"] is False
    assert rings(r.tick(130)) == [("c1", "en")]


def test_fallback_prefers_language_over_category_and_none_disables_it() -> None:
    r = Router(RoutingPolicy(fallback_after_s=0))
    r.set_agent("cat", APP, languages=["en"], categories=["shoes"], now=0)
    r.set_agent("lang", APP, languages=["de"], categories=["bags"], now=5)
    assert rings(r.enqueue(call("c1", language="de", category="shoes"), now=10)) == [("c1", "lang")]

    never = Router(RoutingPolicy(fallback_after_s=None, max_wait_s=None))
    never.set_agent("en", APP, languages=["en"], now=0)
    never.enqueue(call("c1", language="de"), now=1)
    assert rings(never.tick(10_000)) == []


def test_skilled_call_does_not_block_later_calls() -> None:
    r = Router()
    r.set_agent("en", APP, languages=["en"], now=0)
    r.enqueue(call("c1", language="de"), now=1)
    assert rings(r.enqueue(call("c2", language="en"), now=2)) == [("c2", "en")]


def test_priority_then_fifo() -> None:
    r = Router()
    r.enqueue(call("low"), now=1)
    r.enqueue(call("vip", priority=5), now=2)
    r.enqueue(call("low2"), now=2)
    assert [c.call_id for c in r.queue(APP)] == ["vip", "low", "low2"]
    assert rings(r.set_agent("a", APP, now=3)) == [("vip", "a")]


# ---- presence ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [AgentStatus.AWAY, AgentStatus.OFFLINE, AgentStatus.BUSY])
def test_unavailable_agents_are_never_rung(status: AgentStatus) -> None:
    r = Router(RoutingPolicy(fallback_after_s=0))
    r.set_agent("a", APP, status=status, now=0)
    assert rings(r.enqueue(call("c1"), now=1)) == []
    assert rings(r.tick(100)) == []
    assert rings(r.set_status("a", "online", now=101)) == [("c1", "a")]


def test_agent_going_away_while_ringing_gets_stop_and_call_is_reoffered() -> None:
    r = Router()
    r.set_agent("a", APP, now=0)
    r.set_agent("b", APP, now=1)
    r.enqueue(call("c1"), now=2)
    acts = r.set_status("a", AgentStatus.AWAY, now=3)
    assert acts[:2] == [StopRinging("c1", "a", "agent_unavailable", app_id=APP), Ring("c1", "b", 23.0, app_id=APP)]
    assert "a" not in r.queued_call("c1").declined_by  # type: ignore[union-attr]
    assert r.answer("c1", "a", now=4) == (False, [])
    acts = r.remove_agent("b", now=5)
    assert stops(acts) == [("c1", "b", "agent_unavailable")] and rings(acts) == []
    assert rings(r.set_status("a", AgentStatus.ONLINE, now=6)) == [("c1", "a")]


def test_agent_cannot_move_to_another_app() -> None:
    r = Router()
    r.set_agent("a", APP, now=0)
    with pytest.raises(RoutingError):
        r.set_agent("a", "app_b", now=1)
    with pytest.raises(RoutingError):
        r.set_agent("b", APP, max_concurrent=0, now=1)


def test_max_concurrent_two_takes_two_calls_and_least_loaded_goes_first() -> None:
    r = Router()
    r.set_agent("a", APP, max_concurrent=2, now=0)
    assert rings(r.enqueue(call("c1"), now=1)) == [("c1", "a")]
    assert rings(r.enqueue(call("c2"), now=2)) == []  # a rings for one call at a time
    won, acts = r.answer("c1", "a", now=3)
    assert won and rings(acts) == [("c2", "a")]
    assert r.answer("c2", "a", now=4)[0]
    assert r.agent("a").effective_status is AgentStatus.BUSY  # type: ignore[union-attr]
    assert rings(r.enqueue(call("c3"), now=5)) == []
    r.end_call("c2", "a", now=6)
    r.set_agent("b", APP, now=7)  # idle for less time than a, but a is still on c1
    assert rings(r.tick(7)) == [] and r.queued_call("c3").ringing_agent == "a"  # type: ignore[union-attr]
    assert rings(r.enqueue(call("c4"), now=8)) == [("c4", "b")]


# ---- shopper side --------------------------------------------------------------------------------


def test_abandon_while_queued_and_while_ringing() -> None:
    r = Router()
    r.enqueue(call("q"), now=10)
    assert of(r.cancel("q", now=17.5), Abandoned) == [Abandoned("q", 7.5, app_id=APP)]
    assert r.position("q") is None and r.cancel("q", now=18) == []

    r.set_agent("a", APP, now=20)
    r.enqueue(call("c1"), now=21)
    r.enqueue(call("c2"), now=22)
    acts = r.cancel("c1", now=25)
    assert acts[:2] == [StopRinging("c1", "a", "cancelled", app_id=APP), Abandoned("c1", 4.0, app_id=APP)]
    assert rings(acts) == [("c2", "a")]  # the freed agent takes the next call
    assert r.answer("c1", "a", now=26) == (False, [])


def test_expiry_after_max_wait() -> None:
    r = Router(RoutingPolicy(max_wait_s=60, ring_timeout_s=100))
    r.set_agent("a", APP, status="away", now=0)
    r.enqueue(call("c1"), now=0)
    r.set_status("a", "online", now=50)
    acts = r.tick(60)
    assert acts == [StopRinging("c1", "a", "cancelled", app_id=APP), Expired("c1", 60.0, app_id=APP)]
    assert r.position("c1") is None and r.agent("a").ringing_for is None  # type: ignore[union-attr]


def test_position_and_estimate_update_when_calls_ahead_leave() -> None:
    r = Router(RoutingPolicy(default_handle_s=180, default_pickup_s=10))
    assert of(r.enqueue(call("c0"), now=0), QueueUpdate) == [QueueUpdate("c0", 1, None, app_id=APP)]  # nobody staffed
    acts = r.set_agent("a", APP, now=1)  # a free slot: only the default pickup time is left
    assert of(acts, QueueUpdate) == [QueueUpdate("c0", 1, 10.0, app_id=APP)]
    r.answer("c0", "a", now=2)  # first pickup sample: rung at 1, answered at 2 -> 1 s
    for i in (1, 2, 3):
        r.enqueue(call(f"c{i}"), now=2 + i)
    # one slot, busy: position k waits k default handle times (180 s) + pickup (1 s)
    assert [(r.position(c), r.estimated_wait_s(c)) for c in ("c1", "c2", "c3")] == [(1, 181), (2, 361), (3, 541)]
    acts = r.cancel("c1", now=10)
    assert of(acts, QueueUpdate) == [QueueUpdate("c2", 1, 181.0, app_id=APP), QueueUpdate("c3", 2, 361.0, app_id=APP)]
    assert r.tick(11) == []  # unchanged views are not re-sent
    acts = r.end_call("c0", "a", now=102)  # first real handle time: 100 s; the slot is free again
    assert rings(acts) == [("c2", "a")]
    assert of(acts, QueueUpdate) == [QueueUpdate("c2", 1, 1.0, app_id=APP), QueueUpdate("c3", 2, 101.0, app_id=APP)]
    assert r.estimated_wait_s("nope") is None


# ---- answering -------------------------------------------------------------------------------------


def test_simultaneous_and_stale_answers_have_exactly_one_winner() -> None:
    r = Router(RoutingPolicy(ring_timeout_s=20))
    r.set_agent("a", APP, now=0)
    r.set_agent("b", APP, now=1)
    r.set_agent("c", APP, now=2)
    r.enqueue(call("c1"), now=5)
    r.tick(25)  # a timed out; b rings now
    assert r.queued_call("c1").ringing_agent == "b"  # type: ignore[union-attr]
    results = [r.answer("c1", agent, now=26) for agent in ("a", "c", "b", "b", "a")]
    assert [won for won, _ in results] == [False, False, True, False, False]
    assert of(results[2][1], Assigned) == [Assigned("c1", "b", 21.0, app_id=APP)]
    assert r.agent("b").active_calls == {"c1"}  # type: ignore[union-attr]


def test_answer_at_timeout_loses_and_moves_on_even_before_tick() -> None:
    r = Router(RoutingPolicy(ring_timeout_s=20))
    r.set_agent("a", APP, now=0)
    r.set_agent("b", APP, now=1)
    r.enqueue(call("c1"), now=0)
    won, acts = r.answer("c1", "a", now=20)
    assert not won and stops(acts) == [("c1", "a", "timeout")] and rings(acts) == [("c1", "b")]
    assert r.answer("c1", "b", now=39.9)[0]


def test_answers_from_many_threads_have_one_winner() -> None:
    r = Router()
    r.set_agent("a", APP, now=0)
    r.enqueue(call("c1"), now=0)
    barrier = threading.Barrier(16)
    wins: list[bool] = []

    def go() -> None:
        barrier.wait()
        wins.append(r.answer("c1", "a", now=1)[0])

    threads = [threading.Thread(target=go) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1


# ---- tenants, transfer, invite ----------------------------------------------------------------------


def test_tenants_are_isolated() -> None:
    r = Router(RoutingPolicy(fallback_after_s=0))
    r.set_agent("a", "app_a", now=0)
    assert rings(r.enqueue(call("b1", app="app_b"), now=1)) == []
    assert rings(r.tick(100)) == []
    assert r.position("b1") == 1 and r.snapshot("app_a")["queue"] == []
    assert rings(r.enqueue(call("a1", app="app_a"), now=101)) == [("a1", "a")]
    assert r.position("a1") == 1  # positions are per app
    r.set_agent("b", "app_b", now=102)
    r.answer("b1", "b", now=103)
    with pytest.raises(RoutingError):
        r.transfer("b1", "b", "a", now=104)
    with pytest.raises(RoutingError):
        r.invite("b1", "a", now=104)


def test_per_app_policy() -> None:
    r = Router()
    r.set_policy("fast", RoutingPolicy(ring_timeout_s=5))
    r.set_agent("a", "fast", now=0)
    assert of(r.enqueue(call("c1", app="fast"), now=1), Ring)[0].timeout_at == 6


def test_transfer_without_requeue_and_refusals() -> None:
    r = Router()
    r.set_agent("full", APP, now=0)
    r.enqueue(call("other"), now=1)
    assert r.answer("other", "full", now=2)[0]
    r.set_agent("a", APP, now=2)
    r.set_agent("away", APP, status="away", now=2)
    r.set_agent("d", APP, now=3)
    r.enqueue(call("c1"), now=3)
    assert r.answer("c1", "a", now=4)[0]
    with pytest.raises(RoutingError, match="away"):
        r.transfer("c1", "a", "away", now=5)
    with pytest.raises(RoutingError, match="capacity"):
        r.transfer("c1", "a", "full", now=5)
    with pytest.raises(RoutingError, match="not in call"):
        r.transfer("c1", "d", "a", now=5)
    with pytest.raises(RoutingError, match="not in progress"):
        r.transfer("nope", "a", "d", now=5)
    acts = r.transfer("c1", "a", "d", now=6)
    assert acts[0] == Transferred("c1", "a", "d", app_id=APP) and not of(acts, Assigned)
    assert r.position("c1") is None and r.active_call("c1").primary == "d"  # type: ignore[union-attr]
    assert r.agent("a").active_calls == set() and r.agent("d").active_calls == {"c1"}  # type: ignore[union-attr]
    assert r.agent("a").idle_since == 6  # type: ignore[union-attr]
    assert of(r.end_call("c1", "d", now=14), CallEnded) == [CallEnded("c1", 10.0, app_id=APP)]


def test_transfer_to_an_agent_ringing_elsewhere_reoffers_that_call() -> None:
    r = Router()
    r.set_agent("a", APP, now=0)
    r.enqueue(call("c1"), now=1)
    r.answer("c1", "a", now=2)
    r.set_agent("b", APP, now=3)
    r.set_agent("c", APP, now=4)
    r.enqueue(call("c2"), now=5)  # rings b
    acts = r.transfer("c1", "a", "b", now=6)
    assert stops(acts) == [("c2", "b", "agent_unavailable")]
    assert rings(acts) == [("c2", "c")]  # c idle since 4, a since 6


def test_invite_counts_toward_capacity() -> None:
    r = Router()
    r.set_agent("a", APP, now=0)
    r.set_agent("b", APP, max_concurrent=2, now=1)
    r.enqueue(call("c1"), now=2)
    r.answer("c1", "a", now=3)
    assert of(r.invite("c1", "b", now=4), Invited) == [Invited("c1", "b", app_id=APP)]
    with pytest.raises(RoutingError, match="already"):
        r.invite("c1", "b", now=4)
    r.enqueue(call("c2"), now=5)
    r.answer("c2", "b", now=6)
    assert r.agent("b").active_calls == {"c1", "c2"}  # type: ignore[union-attr]
    r.set_agent("x", APP, now=7)
    r.enqueue(call("c3"), now=7)
    r.answer("c3", "x", now=8)
    with pytest.raises(RoutingError, match="capacity"):
        r.invite("c3", "b", now=9)
    assert r.end_call("c1", "a", now=10) == []  # b is still in c1: the call goes on
    assert r.active_call("c1").primary == "b"  # type: ignore[union-attr]
    assert of(r.end_call("c1", "b", now=13), CallEnded) == [CallEnded("c1", 10.0, app_id=APP)]


def test_remove_agent_leaves_its_calls() -> None:
    r = Router()
    r.set_agent("a", APP, now=0)
    r.enqueue(call("c1"), now=1)
    r.answer("c1", "a", now=2)
    assert of(r.remove_agent("a", now=5), CallEnded) == [CallEnded("c1", 3.0, app_id=APP)]
    assert r.agent("a") is None and r.active_call("c1") is None and r.remove_agent("a", now=6) == []


def test_duplicate_enqueue_is_refused() -> None:
    r = Router()
    r.enqueue(call("c1"), now=0)
    with pytest.raises(RoutingError):
        r.enqueue(call("c1"), now=1)


def test_snapshot_for_console() -> None:
    r = Router()
    r.set_agent("a", APP, languages=["en"], now=0)
    r.set_agent("b", APP, status="away", now=0)
    r.enqueue(call("c1", language="en"), now=10)
    r.enqueue(call("c2", language="de"), now=12)
    snap = r.snapshot(APP, now=20)
    assert [(q["call_id"], q["position"], q["waited_s"], q["ringing_agent"]) for q in snap["queue"]] == [
        ("c1", 1, 10.0, "a"), ("c2", 2, 8.0, None)]
    agents = {a["agent_id"]: a for a in snap["agents"]}
    assert agents["a"]["ringing_for"] == "c1" and agents["a"]["idle_s"] == 20
    assert agents["b"]["status"] == "away" and agents["b"]["idle_s"] is None
    r.answer("c1", "a", now=21)
    snap = r.snapshot(APP)
    assert snap["calls"] == [{"call_id": "c1", "primary": "a", "agents": ["a"], "wait_s": 11.0, "duration_s": 0.0}]
    assert snap["agents"][0]["status"] == "busy" and snap["agents"][0]["presence"] == "online"
    assert snap["averages"]["wait_s"] == 11.0
    assert r.snapshot("unknown")["queue"] == []


def test_policy_validation() -> None:
    with pytest.raises(ValueError):
        RoutingPolicy(ring_timeout_s=0)
    with pytest.raises(ValueError):
        RoutingPolicy(ewma_alpha=0)
    with pytest.raises(ValueError):
        RoutingPolicy(max_wait_s=-1)


def test_start_direct_skips_the_queue_for_an_invited_shopper() -> None:
    r = Router(RoutingPolicy(ring_timeout_s=10))
    r.set_agent("a", APP, status="online", now=0)
    r.set_agent("b", APP, status="online", now=1)
    acts = r.enqueue(call("q1"), now=2)
    assert rings(acts) == [("q1", "a")]
    # a's own invitation is accepted: a takes the direct call, q1's ring moves to b
    acts = r.start_direct("d1", APP, "a", now=3)
    assert stops(acts) == [("q1", "a", "agent_unavailable")]
    assert of(acts, Assigned)[0].call_id == "d1" and rings(acts) == [("q1", "b")]
    with pytest.raises(RoutingError):
        r.start_direct("d2", APP, "a", now=4)  # full (max 1)
    with pytest.raises(RoutingError):
        r.start_direct("d1", APP, "b", now=4)  # exists
    r.set_status("b", "away", now=5)
    with pytest.raises(RoutingError):
        r.start_direct("d3", APP, "b", now=6)
    assert of(r.end_call("d1", "a", now=9), CallEnded)
