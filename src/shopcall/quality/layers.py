"""Per-subscriber simulcast layer choice, from that subscriber's own receive statistics.

The SFU forwards one of the publisher's three simulcast layers to each subscriber (VideoRoom
`configure` with `substream`). A subscriber on a bad link gets a lower layer before its video
freezes; it climbs back only after the link has been good for a while, so it does not flap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Bitrates the SDK's simulcast encodings aim at (kbit/s), low → high (substream 0, 1, 2).
LAYER_KBPS = (150, 500, 1500)
TOP = len(LAYER_KBPS) - 1


@dataclass(frozen=True)
class LinkSample:
    """One subscriber's view of one subscription over the last reporting interval."""

    loss_pct: float = 0.0
    available_kbps: float | None = None  # the receiver's estimate (REMB/TWCC) or measured goodput
    freeze_ratio: float = 0.0  # share of the interval frozen
    fps: float | None = None
    nack_rate: float = 0.0


@dataclass
class LayerController:
    layer: int = TOP
    good_streak: int = 0
    last_change: float = field(default=-1e9)
    min_hold_s: float = 6.0  # never switch twice within this
    up_after: int = 3  # consecutive good samples needed to go up (3 × 5 s)
    history: list[tuple[float, int, str]] = field(default_factory=list)

    def decide(self, s: LinkSample, now: float) -> int | None:
        """The new layer, or None to keep the current one."""
        bad = (s.loss_pct >= 8 or s.freeze_ratio >= 0.03
               or (s.available_kbps is not None and s.available_kbps < LAYER_KBPS[self.layer] * 1.1))
        if bad:
            self.good_streak = 0
            if self.layer > 0 and now - self.last_change >= self.min_hold_s / 3:  # go down fast
                target = self.layer - 1
                if s.available_kbps is not None:  # straight to a layer that fits
                    while target > 0 and LAYER_KBPS[target] * 1.1 > s.available_kbps:
                        target -= 1
                if s.loss_pct >= 25:
                    target = 0
                return self._set(target, now, "down")
            return None
        next_kbps = LAYER_KBPS[min(self.layer + 1, TOP)]
        headroom = s.available_kbps is None or (self.layer < TOP and s.available_kbps >= next_kbps * 1.3)
        if s.loss_pct < 3 and s.freeze_ratio < 0.01 and headroom:
            self.good_streak += 1
        else:
            self.good_streak = 0
        if self.layer < TOP and self.good_streak >= self.up_after and now - self.last_change >= self.min_hold_s:
            self.good_streak = 0
            return self._set(self.layer + 1, now, "up")
        return None

    def _set(self, layer: int, now: float, why: str) -> int | None:
        if layer == self.layer:
            return None
        self.layer, self.last_change = layer, now
        self.history.append((now, layer, why))
        return layer
