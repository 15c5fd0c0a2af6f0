"""Queue metrics folded from router actions."""

from __future__ import annotations

import pytest

from shopcall.routing import (
    Abandoned,
    Assigned,
    CallEnded,
    Expired,
    MetricsBook,
    QueuedCall,
    QueueMetrics,
    Ring,
    Router,
    RoutingPolicy,
    Transferred,
)
from shopcall.routing.metrics import percentile


def test_averages_percentiles_and_service_level() -> None:
    m = QueueMetrics("app", service_level_s=20)
    m.observe([Assigned(f"c{i}", "a", w, app_id="app") for i, w in enumerate((5.0, 10.0, 15.0, 30.0, 40.0))])
    m.observe([Abandoned("x", 12.0, app_id="app"), Abandoned("y", 8.0, app_id="app"), Expired("z", 600.0, app_id="app"),
               Transferred("c0", "a", "b", app_id="app"), CallEnded("c0", 90.0, app_id="app"),
               CallEnded("c1", 30.0, app_id="app"), Ring("c9", "a", 1.0, app_id="app"),
               Assigned("other-app", "a", 1.0, app_id="other")])
    assert (m.answered, m.abandoned, m.expired, m.transferred, m.offered) == (5, 2, 1, 1, 8)
    assert m.avg_wait_s == 20.0
    assert m.p50_wait_s == 15.0
    assert m.p90_wait_s == pytest.approx(36.0)  # between 30 and 40 (linear interpolation)
    assert m.avg_abandoned_wait_s == 10.0 and m.avg_handle_s == 60.0
    assert m.service_level == pytest.approx(100 * 3 / 8)  # 5, 10, 15 s within 20 s, of 8 offered
    assert m.abandon_rate == 25.0
    assert m.to_dict()["p50_wait_s"] == 15.0


def test_empty_metrics_and_percentile_edges() -> None:
    m = QueueMetrics()
    assert m.avg_wait_s is None and m.p90_wait_s is None and m.service_level is None and m.abandon_rate is None
    assert percentile([7.0], 90) == 7.0 and percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_sample_window_is_bounded_but_counts_are_exact() -> None:
    m = QueueMetrics(max_samples=3)
    m.observe([Assigned(str(i), "a", float(i), app_id="app") for i in range(10)])
    assert m.answered == 10 and list(m.waits) == [7.0, 8.0, 9.0]


def test_metrics_book_splits_by_app_from_a_router() -> None:
    r = Router(RoutingPolicy(max_wait_s=100))
    book = MetricsBook(service_level_s=10)
    book.observe(r.set_agent("a", "shop1", now=0))
    book.observe(r.enqueue(QueuedCall("c1", "shop1"), now=0))
    book.observe(r.enqueue(QueuedCall("c2", "shop2"), now=0))
    book.observe(r.enqueue(QueuedCall("c3", "shop2"), now=0))
    book.observe(r.answer("c1", "a", now=4)[1])
    book.observe(r.cancel("c2", now=30))
    book.observe(r.end_call("c1", "a", now=64))
    book.observe(r.tick(100))
    shop1, shop2 = book.for_app("shop1"), book.for_app("shop2")
    assert (shop1.answered, shop1.avg_wait_s, shop1.avg_handle_s, shop1.service_level) == (1, 4.0, 60.0, 100.0)
    assert (shop2.answered, shop2.abandoned, shop2.expired, shop2.avg_abandoned_wait_s) == (0, 1, 1, 30.0)
