"""Estimated audio MOS from what a receiver measures (simplified ITU-T G.107 E-model).

Good enough to rank calls and drive an indicator; not a perceptual measurement. Opus with
in-band FEC is modelled with a packet-loss robustness factor of 20 (G.113-style values for
robust codecs range 10-30); concealment (the browser's own measure of lost audio) is used when
it is worse than the loss figure, because it includes late packets the jitter buffer dropped.
"""

from __future__ import annotations

BPL_OPUS_FEC = 20.0


def r_factor(rtt_ms: float, loss_pct: float, jitter_ms: float = 0.0, concealment_ratio: float = 0.0) -> float:
    d = max(0.0, rtt_ms) / 2 + 2 * max(0.0, jitter_ms) + 10  # one-way delay incl. jitter buffer and codec
    i_d = 0.024 * d + (0.11 * (d - 177.3) if d > 177.3 else 0.0)
    ppl = max(max(0.0, loss_pct), max(0.0, concealment_ratio) * 100)
    i_e = 95 * ppl / (ppl + BPL_OPUS_FEC)
    return max(0.0, min(100.0, 93.2 - i_d - i_e))


def mos_from_r(r: float) -> float:
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    return round(1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r), 2)


def estimate_mos(rtt_ms: float, loss_pct: float, jitter_ms: float = 0.0, concealment_ratio: float = 0.0) -> float:
    return mos_from_r(r_factor(rtt_ms, loss_pct, jitter_ms, concealment_ratio))


def quality_level(mos: float, freeze_ratio: float = 0.0) -> int:
    """0 (unusable) .. 5 (excellent) for the bars in the UI; video freezes cap the level."""
    level = 5 if mos >= 4.2 else 4 if mos >= 3.9 else 3 if mos >= 3.5 else 2 if mos >= 3.0 else 1 if mos >= 2.4 else 0
    if freeze_ratio > 0.2:
        level = min(level, 1)
    elif freeze_ratio > 0.05:
        level = min(level, 2)
    elif freeze_ratio > 0.01:
        level = min(level, 3)
    return level
