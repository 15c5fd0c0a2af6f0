"""Per-subscriber simulcast layer choice, from that subscriber's own receive statistics.

The SFU forwards one of the publisher's three simulcast layers to each subscriber (VideoRoom
`configure` with `substream`). A subscriber on a bad link gets a lower layer before its video
freezes; it climbs back only after the link has been good for a while, so it does not flap, and a
climb that fails at once makes the next try at that layer wait longer (doubling, as LiveKit's
stream allocator does for probes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Bitrates the SDK's simulcast encodings aim at (kbit/s), low → high (substream 0, 1, 2).
LAYER_KBPS = (100, 300, 900)
TOP = len(LAYER_KBPS) - 1
# Reported loss (%) at which a layer is left for the one below. Random loss hurts a big layer
# more (more packets per frame, bigger key frames), and with 1 s of retransmission and a
# playout buffer sized to the loss, 360p still plays smoothly at loss that 720p cannot take.
LOSS_DOWN = (float("inf"), 18.0, 8.0)
LOSS_UP_FACTOR = 0.4  # climb to layer L only when loss is below this share of LOSS_DOWN[L]


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
    settle_s: float = 7.5  # freezes reported this soon after a switch are the switch's own
    probe_s: float = 30.0  # a climb undone within this failed: that layer waits longer next time
    backoff_s: tuple[float, float] = (30.0, 240.0)  # first and longest wait after a failed climb
    history: list[tuple[float, int, str]] = field(default_factory=list)
    _climbed_at: dict[int, float] = field(default_factory=dict)
    _failed: dict[int, int] = field(default_factory=dict)
    _blocked_until: dict[int, float] = field(default_factory=dict)

    def decide(self, s: LinkSample, now: float) -> int | None:
        """The new layer, or None to keep the current one."""
        # a switch itself stalls the picture until the new layer's key frame: the report that
        # covers it says nothing about the link
        settling = now - self.last_change < self.settle_s
        bad = (s.loss_pct >= LOSS_DOWN[self.layer] or (s.freeze_ratio >= 0.03 and not settling)
               or (s.available_kbps is not None and s.available_kbps < LAYER_KBPS[self.layer] * 1.1))
        if bad:
            self.good_streak = 0
            if self.layer > 0 and now - self.last_change >= self.min_hold_s / 3:  # go down fast
                target = self.layer - 1
                while target > 0 and (s.loss_pct >= LOSS_DOWN[target] or (  # straight to a layer that fits
                        s.available_kbps is not None and LAYER_KBPS[target] * 1.1 > s.available_kbps)):
                    target -= 1
                if s.loss_pct >= 25:
                    target = 0
                return self._set(target, now, "down")
            return None
        up = min(self.layer + 1, TOP)
        headroom = s.available_kbps is None or (self.layer < TOP and s.available_kbps >= LAYER_KBPS[up] * 1.3)
        if s.loss_pct < LOSS_DOWN[up] * LOSS_UP_FACTOR and s.freeze_ratio < 0.01 and headroom:
            self.good_streak += 1
        else:
            self.good_streak = 0
        if self.layer in self._failed and now - self.last_change >= 2 * self.probe_s:
            del self._failed[self.layer]  # this layer has held: its earlier failures are forgiven
        if (self.layer < TOP and self.good_streak >= self.up_after and now - self.last_change >= self.min_hold_s
                and now >= self._blocked_until.get(up, 0.0)):
            self.good_streak = 0
            return self._set(up, now, "up")
        return None

    def _set(self, layer: int, now: float, why: str) -> int | None:
        if layer == self.layer:
            return None
        if why == "down" and now - self._climbed_at.get(self.layer, -1e9) < self.probe_s:
            n = self._failed[self.layer] = self._failed.get(self.layer, 0) + 1
            first, longest = self.backoff_s
            self._blocked_until[self.layer] = now + min(first * 2 ** (n - 1), longest)
        if why == "up":
            self._climbed_at[layer] = now
        self.layer, self.last_change = layer, now
        self.history.append((now, layer, why))
        return layer
