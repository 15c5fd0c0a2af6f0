"""The simulcast layer controller (hysteresis: down fast, up slowly, no flapping)."""

from __future__ import annotations

import itertools
import random

from shopcall.quality.layers import LAYER_KBPS, TOP, LayerController, LinkSample


def test_goes_down_at_once_on_loss_or_freezes_and_straight_to_a_fitting_layer() -> None:
    c = LayerController()
    assert c.decide(LinkSample(loss_pct=1, available_kbps=3000), now=0) is None
    assert c.decide(LinkSample(loss_pct=12, available_kbps=3000), now=5) == 1
    c = LayerController()
    assert c.decide(LinkSample(available_kbps=300), now=0) == 0  # 300 kbit fits only the lowest layer
    c = LayerController()
    assert c.decide(LinkSample(loss_pct=30), now=0) == 0
    c = LayerController()
    assert c.decide(LinkSample(freeze_ratio=0.1), now=0) == 1


def test_climbs_back_only_after_a_sustained_good_link() -> None:
    c = LayerController(layer=0)
    good = LinkSample(loss_pct=0.5, available_kbps=LAYER_KBPS[1] * 2)
    assert [c.decide(good, now=t) for t in (10, 15)] == [None, None]
    assert c.decide(good, now=20) == 1
    # at layer 1, not enough headroom for the top layer: stays
    for t in range(25, 80, 5):
        assert c.decide(LinkSample(loss_pct=0, available_kbps=LAYER_KBPS[2] * 1.2), now=t) is None
    assert c.layer == 1


def test_no_flapping_on_a_noisy_link() -> None:
    rng = random.Random(7)
    c = LayerController()
    changes = 0
    for i in range(120):  # 10 minutes of 5 s reports hovering around the top layer's need
        s = LinkSample(loss_pct=rng.uniform(0, 4), available_kbps=rng.uniform(1400, 2300))
        if c.decide(s, now=i * 5) is not None:
            changes += 1
    assert changes <= 12, c.history
    assert c.layer >= 1


def test_recovers_to_the_top_layer_when_the_link_clears() -> None:
    c = LayerController()
    c.decide(LinkSample(loss_pct=40), now=0)
    assert c.layer == 0
    t = 5
    while c.layer < TOP and t < 200:
        c.decide(LinkSample(loss_pct=0, available_kbps=5000), now=t)
        t += 5
    assert c.layer == TOP and t <= 60


def test_moderate_loss_keeps_the_middle_layer_heavy_loss_the_lowest() -> None:
    c = LayerController()
    assert c.decide(LinkSample(loss_pct=10), now=0) == 1  # 720p cannot take 10 %, 360p can
    for t in range(5, 60, 5):
        assert c.decide(LinkSample(loss_pct=11), now=t) is None
    assert c.decide(LinkSample(loss_pct=19), now=60) == 0
    c = LayerController()
    assert c.decide(LinkSample(loss_pct=20), now=0) == 0  # straight past a layer that cannot take it


def test_the_stall_a_switch_causes_does_not_trigger_another_switch() -> None:
    c = LayerController()
    assert c.decide(LinkSample(loss_pct=10), now=0) == 1
    assert c.decide(LinkSample(loss_pct=10, freeze_ratio=0.12), now=5) is None  # waiting for the key frame
    assert c.decide(LinkSample(loss_pct=10, freeze_ratio=0.05), now=10) == 0  # a real freeze


def test_a_failed_climb_waits_longer_before_the_next_try() -> None:
    c = LayerController(layer=0)
    good = LinkSample(loss_pct=1)
    t, climbs = 0.0, []
    while t < 600:
        t += 5
        frozen = c.layer == 1 and t - c.last_change >= 10  # this link cannot carry layer 1
        if c.decide(LinkSample(loss_pct=1, freeze_ratio=0.2) if frozen else good, now=t) == 1:
            climbs.append(t)
    gaps = [b - a for a, b in itertools.pairwise(climbs)]
    assert len(climbs) >= 3, c.history
    assert all(later > earlier for earlier, later in itertools.pairwise(gaps)), gaps  # backs off
    assert len(climbs) <= 6, climbs  # not every 20 s for 10 minutes


def test_a_layer_that_held_is_retried_promptly_after_a_later_drop() -> None:
    c = LayerController(layer=0)
    t = 0.0
    for _ in range(2):  # a failed climb: blocked for a while
        while c.layer == 0:
            t += 5
            c.decide(LinkSample(loss_pct=1), now=t)
        t += 10
        c.decide(LinkSample(loss_pct=1, freeze_ratio=0.2), now=t)
    assert c.layer == 0
    while c.layer == 0:  # the link recovers; the climb succeeds and holds for minutes
        t += 5
        c.decide(LinkSample(loss_pct=1), now=t)
    for _ in range(30):
        t += 5
        c.decide(LinkSample(loss_pct=1, available_kbps=LAYER_KBPS[1] * 1.5), now=t)
    assert c.layer == 1
    t += 5
    assert c.decide(LinkSample(loss_pct=30), now=t) == 0  # a burst, long after the climb: not a failed climb
    back = t
    while c.layer == 0:
        t += 5
        c.decide(LinkSample(loss_pct=1), now=t)
    assert t - back <= 25
