"""StepHysteresis: up at once, down one step per `down_after` consecutive lower reports."""

from __future__ import annotations

from shopcall.quality.steps import StepHysteresis


def test_goes_up_at_once_to_the_wanted_step() -> None:
    h = StepHysteresis()
    assert h.offer(3) and h.step == 3
    assert not h.offer(3) and h.step == 3


def test_comes_down_one_step_per_streak_of_lower_reports() -> None:
    h = StepHysteresis(step=2, down_after=3)
    assert [h.offer(0) for _ in range(6)] == [False, False, True, False, False, True]
    assert h.step == 0
    assert not h.offer(0) and h.step == 0  # nothing below the lowest step


def test_a_report_at_or_above_the_step_restarts_the_streak() -> None:
    h = StepHysteresis(step=2, down_after=3)
    h.offer(1)
    h.offer(1)
    assert not h.offer(2) and h.clean_streak == 0  # as wanted: the streak starts over
    assert [h.offer(1) for _ in range(3)] == [False, False, True] and h.step == 1
    h.offer(0)
    assert h.offer(3) and (h.step, h.clean_streak) == (3, 0)
