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

    step: int = 0
    clean_streak: int = 0
    down_after: int = 3  # consecutive reports calling for a lower step before going down (3 × 5 s)
    history: list[tuple[float, int | None]] = field(default_factory=list)

    @property
    def target_ms(self) -> int | None:
        return STEPS[self.step][1]

    def decide(self, loss_pct: float, freeze_ratio: float, now: float) -> tuple[bool, int | None]:
        """(changed, new target in ms or None for the browser's default)."""
        wanted = target_for(loss_pct, freeze_ratio)
        if wanted > self.step:  # up at once: a freeze is worse than a little delay
            self.clean_streak = 0
            return self._set(wanted, now)
        if wanted < self.step:
            self.clean_streak += 1
            if self.clean_streak >= self.down_after:
                self.clean_streak = 0
                return self._set(self.step - 1, now)  # down one step at a time
            return False, self.target_ms
        self.clean_streak = 0
        return False, self.target_ms

    def _set(self, step: int, now: float) -> tuple[bool, int | None]:
        self.step = step
        self.history.append((now, self.target_ms))
        return True, self.target_ms
