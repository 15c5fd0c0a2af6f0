"""Audio redundancy follows the worst-off subscriber: up at once, down one step at a time."""

from __future__ import annotations

from shopcall.quality.redundancy import FRESH_S, RedundancyController, distance_for


def test_distance_grows_with_loss() -> None:
    assert [distance_for(x) for x in (0, 2.9, 3, 14.9, 15, 60)] == [1, 1, 2, 2, 3, 3]


def test_worst_subscriber_wins_and_it_steps_down_slowly() -> None:
    c = RedundancyController()
    assert c.report("a", 0.0, now=0) is None
    assert c.report("b", 40.0, now=1) == 3  # one subscriber on a terrible link
    assert c.report("a", 0.0, now=5) is None  # a clean one does not lower it while b's report is fresh
    t = 6.0
    assert c.report("b", 0.0, now=t) is None
    assert c.report("b", 0.0, now=t + 5) is None
    assert c.report("b", 0.0, now=t + 10) == 2  # third clean report: one step down
    for k in range(3, 6):
        c.report("b", 0.0, now=t + 5 * k)
    assert c.distance == 1


def test_a_silent_subscribers_old_report_expires() -> None:
    c = RedundancyController()
    assert c.report("gone", 50.0, now=0) == 3
    results = [c.report("a", 0.0, now=FRESH_S + 1 + 5 * k) for k in range(6)]
    assert c.distance == 1 and results.count(None) == 4, results
