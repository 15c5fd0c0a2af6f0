"""Per-subscriber receive buffer (playout delay) choice, from that subscriber's own loss reports.

Under random loss the SFU repairs video with retransmissions (NACK → RTX). Janus resends a
given packet at most once per 200 ms, so a packet whose retransmission is lost too arrives
200-400 ms late; with the browser's default, near-zero video buffer that frame and all after
it stall, and the viewer sees a freeze. A larger receive buffer (`RTCRtpReceiver.jitterBufferTarget`)
gives the second and third retransmission time to land before the frame is due, trading a
few hundred milliseconds of latency for smooth video. On a clean link the browser's default
(lowest latency) is kept, so conversations stay snappy; the buffer grows at once when loss
appears and shrinks one step at a time only after the link has been clean for a while.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shopcall.quality.steps import StepHysteresis

# (loss % at or above which the step applies, buffer target ms); None = the browser's default.
STEPS: tuple[tuple[float, int | None], ...] = ((0.0, None), (2.0, 250), (8.0, 450), (15.0, 800))


def target_for(loss_pct: float, freeze_ratio: float = 0.0) -> int:
    """The step index the link calls for: the highest whose loss threshold is reached."""
    step = 0
    for i, (threshold, _) in enumerate(STEPS):
        if loss_pct >= threshold:
            step = i
    if freeze_ratio >= 0.02:  # stalls without much loss (e.g. late retransmissions): at least the first step
        step = max(step, 1)
    return step


@dataclass
class PlayoutController:
    """Chooses one subscription's receive buffer target; `decide` returns a change or None."""

    steps: StepHysteresis = field(default_factory=StepHysteresis)
    history: list[tuple[float, int | None]] = field(default_factory=list)

    @property
    def step(self) -> int:
        return self.steps.step

    @property
    def target_ms(self) -> int | None:
        return STEPS[self.step][1]

    def decide(self, loss_pct: float, freeze_ratio: float, now: float) -> tuple[bool, int | None]:
        """(changed, new target in ms or None for the browser's default)."""
        changed = self.steps.offer(target_for(loss_pct, freeze_ratio))
        if changed:
            self.history.append((now, self.target_ms))
        return changed, self.target_ms
