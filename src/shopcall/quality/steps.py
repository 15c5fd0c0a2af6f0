"""Step hysteresis shared by the playout and audio-redundancy controllers.

Both trade a cost (delay, bitrate) for robustness: worth paying at once when loss appears,
and worth keeping until the link has stayed better for a while, then given back a step at a time.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class StepHysteresis:
    step: int = 0
    down_after: int = 3  # consecutive reports wanting a lower step before going down one
    clean_streak: int = 0

    def offer(self, wanted: int) -> bool:
        """Feed the step one report calls for; True when `step` changed."""
        if wanted > self.step:
            self.clean_streak, self.step = 0, wanted
            return True
        if wanted < self.step:
            self.clean_streak += 1
            if self.clean_streak >= self.down_after:
                self.clean_streak, self.step = 0, self.step - 1
                return True
            return False
        self.clean_streak = 0
        return False
