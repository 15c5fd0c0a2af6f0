"""Live visitors: the console lists who is browsing (product, cart); an agent's invitation becomes a call."""

from __future__ import annotations

import pytest

from tests.e2e.browser import new_page, wait_for_media
from tests.e2e.journeys import end_call, sign_in_agent

pytestmark = pytest.mark.e2e


def test_agent_sees_a_visitor_and_invites_them_to_a_call(server, browser, shots) -> None:
    actx, agent = new_page(browser, 1366, 860)
    sctx, shopper = new_page(browser, 1200, 800)
    try:
        sign_in_agent(agent, server.base, "anna")
        shopper.goto(server.base + "/demo/shop?sku=NA-T4")
        shopper.get_by_test_id("product-title").wait_for()
        shopper.get_by_test_id("add-to-cart").first.click()

        card = agent.get_by_test_id("visitor").first
        card.wait_for(timeout=15000)
        agent.wait_for_function("() => { const v = document.querySelector('[data-testid=visitor]');"
                                " return v && v.innerText.includes('Turntable') && v.innerText.includes('cart 1'); }",
                                timeout=25000)
        agent.screenshot(path=shots / "01_console_live_visitors.png")
        card.get_by_test_id("invite-visitor").click()

        prompt = shopper.get_by_test_id("invite-prompt")
        prompt.wait_for(timeout=10000)
        assert "Anna" in prompt.inner_text()
        shopper.screenshot(path=shots / "02_shop_invitation.png")
        shopper.get_by_test_id("invite-accept").click()

        agent.get_by_test_id("call-context").wait_for(timeout=10000)
        a = wait_for_media(agent)
        s = wait_for_media(shopper)
        assert max(v["framesDecoded"] for v in a["video"]) > 30
        assert max(v["framesDecoded"] for v in s["video"]) > 30
        assert "Midnight T4" in agent.get_by_test_id("context-product").inner_text()
        assert agent.get_by_test_id("context-cart").inner_text().startswith("1 item")
        shopper.screenshot(path=shots / "03_shop_invited_call.png")
        end_call(agent, shopper)
    finally:
        actx.close()
        sctx.close()
