"""The receive-buffer controller: grows at once with loss, shrinks a step at a time after clean reports."""

from __future__ import annotations

import pytest

from shopcall.quality.playout import STEPS, PlayoutController, target_for


@pytest.mark.parametrize(("loss", "freeze", "step"), [
    (0.0, 0.0, 0), (1.9, 0.0, 0), (2.0, 0.0, 1), (7.9, 0.0, 1), (8.0, 0.0, 2), (14.9, 0.0, 2), (15.0, 0.0, 3),
    (70.0, 0.0, 3), (0.5, 0.05, 1), (20.0, 0.5, 3),
])
def test_target_by_loss_and_freezes(loss: float, freeze: float, step: int) -> None:
    assert target_for(loss, freeze) == step


def test_clean_link_keeps_the_browser_default() -> None:
    c = PlayoutController()
    for t in range(10):
        assert c.decide(0.0, 0.0, t * 5.0) == (False, None)
    assert c.history == []


def test_up_at_once_down_one_step_after_three_clean_reports() -> None:
    c = PlayoutController()
    assert c.decide(30.0, 0.3, 0.0) == (True, STEPS[3][1])  # straight to the top step
    assert c.decide(0.0, 0.0, 5.0) == (False, 800)
    assert c.decide(0.0, 0.0, 10.0) == (False, 800)
    assert c.decide(0.0, 0.0, 15.0) == (True, 450)  # third clean report: one step down
    assert c.decide(10.0, 0.0, 20.0) == (False, 450)  # 10 % calls for exactly this step: hold, reset streak
    for t in (25.0, 30.0):
        assert c.decide(0.0, 0.0, t) == (False, 450)
    assert c.decide(0.0, 0.0, 35.0) == (True, 250)
    assert c.decide(3.0, 0.0, 40.0) == (False, 250)
    for t in (45.0, 50.0):
        c.decide(0.0, 0.0, t)
    assert c.decide(0.0, 0.0, 55.0) == (True, None)
    assert [ms for _, ms in c.history] == [800, 450, 250, None]


def test_a_bad_report_interrupts_the_way_down() -> None:
    c = PlayoutController()
    c.decide(20.0, 0.0, 0.0)
    c.decide(0.0, 0.0, 5.0)
    c.decide(0.0, 0.0, 10.0)
    assert c.decide(25.0, 0.0, 15.0) == (False, 800)  # still the top step: no change, streak reset
    c.decide(0.0, 0.0, 20.0)
    c.decide(0.0, 0.0, 25.0)
    assert c.target_ms == 800
