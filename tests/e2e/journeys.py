"""The steps many browser tests share, as a user takes them in the demo UI: an agent signs in to the
console, a shopper starts a call from the demo shop, the agent answers."""

from __future__ import annotations

from typing import Any

from tests.e2e.browser import wait_for_media


def sign_in_agent(page: Any, base: str, agent: str, timeout_s: float = 10) -> None:
    """One-click demo sign-in (`anna` or `ben`); returns once the console shows the agent online."""
    page.goto(base + "/console")
    page.get_by_test_id(f"login-{agent}").click()
    page.get_by_test_id("agent-status").filter(has_text="Online").wait_for(timeout=timeout_s * 1000)


def start_call(page: Any, base: str, *, name: str | None = None, customer: str | None = None) -> None:
    """From the demo product page (the widget's inline button): "Video call an expert", optionally a name and
    a signed-in demo customer (the shop's demo sign-in switch, which hands the widget a customer token)."""
    page.goto(base + "/demo/shop")
    if customer is not None:
        page.get_by_test_id("demo-customer").locator(f'option[value="{customer}"]').wait_for(state="attached")
        page.get_by_test_id("demo-customer").select_option(customer)
        page.locator(f'[data-testid=demo-customer][data-signed-in="{customer}"]').wait_for(state="attached")
    page.get_by_test_id("call-button").first.click()
    if name is not None:
        page.get_by_test_id("shopper-name").fill(name)
    page.get_by_test_id("start-call").click()


def answer_call(agent: Any, shopper: Any) -> None:
    """The agent answers the ringing call; returns once both pages decode the other's media."""
    agent.get_by_test_id("answer-call").first.click(timeout=15000)
    wait_for_media(agent)
    wait_for_media(shopper)


def end_call(agent: Any, shopper: Any) -> None:
    """The agent ends the call; returns once the shopper's widget offers to call again."""
    agent.get_by_test_id("end-call").click()
    shopper.get_by_test_id("call-again").wait_for(timeout=10000)
