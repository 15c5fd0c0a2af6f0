"""The E-model MOS estimate and the quality level the indicator shows."""

from __future__ import annotations

from shopcall.quality.mos import estimate_mos, quality_level


def test_mos_orders_conditions_sensibly() -> None:
    clean = estimate_mos(20, 0, 2)
    assert 4.3 <= clean <= 4.5
    assert estimate_mos(20, 5, 5) < clean
    assert estimate_mos(400, 0) < estimate_mos(100, 0)
    assert estimate_mos(20, 30) < 3.0 < estimate_mos(20, 3)
    assert estimate_mos(20, 0, 0, concealment_ratio=0.2) == estimate_mos(20, 20)
    assert quality_level(clean) == 5 and quality_level(2.0) == 0
    assert quality_level(4.4, freeze_ratio=0.1) == 2
