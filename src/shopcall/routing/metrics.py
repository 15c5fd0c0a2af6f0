"""Queue metrics folded from router actions. Pure: the hub decides where (and whether) to persist them.

Counts are exact totals; wait/handle samples are kept in bounded windows (the most recent
`max_samples`), so averages and percentiles describe recent service, not all history.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from shopcall.routing.model import Abandoned, Action, Assigned, CallEnded, Expired, Transferred


def percentile(values: Iterable[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no samples."""
    data = sorted(values)
    if not data:
        return None
    if not 0 <= q <= 100:
        raise ValueError("q must be in [0, 100]")
    rank = (len(data) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (rank - low)


def _mean(values: Iterable[float]) -> float | None:
    data = list(values)
    return sum(data) / len(data) if data else None


@dataclass
class QueueMetrics:
    """One app's queue outcomes. `app_id=None` accepts actions of every app.

    Service level = share (in %) of *offered* calls (answered + abandoned + expired) answered
    within `service_level_s`; None until a call has ended its wait.
    """

    app_id: str | None = None
    service_level_s: float = 20.0
    max_samples: int = 10_000
    answered: int = 0
    abandoned: int = 0
    expired: int = 0
    transferred: int = 0
    answered_within_sl: int = 0
    waits: deque[float] = field(init=False)  # waits of answered calls
    abandoned_waits: deque[float] = field(init=False)
    handle_times: deque[float] = field(init=False)

    def __post_init__(self) -> None:
        self.waits = deque(maxlen=self.max_samples)
        self.abandoned_waits = deque(maxlen=self.max_samples)
        self.handle_times = deque(maxlen=self.max_samples)

    def observe(self, actions: Iterable[Action]) -> None:
        for action in actions:
            self.record(action)

    def record(self, action: Action) -> None:
        if self.app_id is not None and action.app_id != self.app_id:
            return
        if isinstance(action, Assigned):
            self.answered += 1
            self.waits.append(action.wait_s)
            if action.wait_s <= self.service_level_s:
                self.answered_within_sl += 1
        elif isinstance(action, Abandoned):
            self.abandoned += 1
            self.abandoned_waits.append(action.wait_s)
        elif isinstance(action, Expired):
            self.expired += 1
        elif isinstance(action, Transferred):
            self.transferred += 1
        elif isinstance(action, CallEnded):
            self.handle_times.append(action.handle_s)

    @property
    def offered(self) -> int:
        return self.answered + self.abandoned + self.expired

    @property
    def avg_wait_s(self) -> float | None:
        return _mean(self.waits)

    @property
    def p50_wait_s(self) -> float | None:
        return percentile(self.waits, 50)

    @property
    def p90_wait_s(self) -> float | None:
        return percentile(self.waits, 90)

    @property
    def avg_abandoned_wait_s(self) -> float | None:
        return _mean(self.abandoned_waits)

    @property
    def avg_handle_s(self) -> float | None:
        return _mean(self.handle_times)

    @property
    def service_level(self) -> float | None:
        return 100.0 * self.answered_within_sl / self.offered if self.offered else None

    @property
    def abandon_rate(self) -> float | None:
        return 100.0 * self.abandoned / self.offered if self.offered else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "app_id": self.app_id, "answered": self.answered, "abandoned": self.abandoned, "expired": self.expired,
            "transferred": self.transferred, "offered": self.offered, "avg_wait_s": self.avg_wait_s,
            "p50_wait_s": self.p50_wait_s, "p90_wait_s": self.p90_wait_s,
            "avg_abandoned_wait_s": self.avg_abandoned_wait_s, "avg_handle_s": self.avg_handle_s,
            "service_level_s": self.service_level_s, "service_level_pct": self.service_level,
            "abandon_rate_pct": self.abandon_rate,
        }


@dataclass
class MetricsBook:
    """`QueueMetrics` per app, created on first sight: feed it every action list the router returns."""

    service_level_s: float = 20.0
    max_samples: int = 10_000
    apps: dict[str, QueueMetrics] = field(default_factory=dict)

    def for_app(self, app_id: str) -> QueueMetrics:
        metrics = self.apps.get(app_id)
        if metrics is None:
            metrics = self.apps[app_id] = QueueMetrics(app_id, self.service_level_s, self.max_samples)
        return metrics

    def observe(self, actions: Iterable[Action]) -> None:
        for action in actions:
            self.for_app(action.app_id).record(action)
