"""How many earlier audio frames each of a publisher's RED packets should carry.

Audio is not retransmitted, so under heavy random loss only redundancy saves it. Chrome's RED
repeats one frame (70 % loss: 49 % concealed); the SDK can repeat up to three (24 %), at the cost
of up to 4x the audio bitrate. The loss that matters is on the subscribers' links, which the
publisher cannot see, so the server takes the worst loss its subscribers reported recently and
tells the publisher; like the playout buffer it goes up at once and down one step at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shopcall.quality.steps import StepHysteresis

# (reported loss % at or above which, frames per packet)
LEVELS: tuple[tuple[float, int], ...] = ((0.0, 1), (3.0, 2), (15.0, 3))
FRESH_S = 12.0  # a subscriber's report counts this long (reports come every 5 s)


def distance_for(loss_pct: float) -> int:
    wanted = 1
    for threshold, distance in LEVELS:
        if loss_pct >= threshold:
            wanted = distance
    return wanted


@dataclass
class RedundancyController:
    """One per publisher; `report` returns the new distance when it changes, else None."""

    steps: StepHysteresis = field(default_factory=StepHysteresis)  # step = distance - 1
    reports: dict[str, tuple[float, float]] = field(default_factory=dict)  # subscriber pid -> (loss, at)

    @property
    def distance(self) -> int:
        return self.steps.step + 1

    def report(self, subscriber: str, loss_pct: float, now: float) -> int | None:
        self.reports[subscriber] = (loss_pct, now)
        for pid, (_, at) in list(self.reports.items()):
            if now - at > FRESH_S:
                del self.reports[pid]
        wanted = distance_for(max(loss for loss, _ in self.reports.values()))
        return self.distance if self.steps.offer(wanted - 1) else None
