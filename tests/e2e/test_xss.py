"""User-supplied text is rendered as text everywhere: a display name, a chat message, a product title
and a page title carrying markup show up literally in the console, the call view, the shop, the join
page and the recording timeline, and no script runs (CSP would block an inline handler too: the DOM
must hold no such element)."""

from __future__ import annotations

import time

import pytest

from tests.e2e.browser import new_page
from tests.e2e.journeys import answer_call, end_call, sign_in_agent, start_call
from tests.e2e.polling import wait_until

pytestmark = pytest.mark.e2e

MARKUP = '<img src=x onerror="window.__xss=(window.__xss||0)+1">'
INJECTED = """() => {
  const roots = [document]; let imgs = 0;
  while (roots.length) {
    const r = roots.pop();
    for (const e of r.querySelectorAll('*')) {
      if (e.shadowRoot) roots.push(e.shadowRoot);
      if (e.tagName === 'IMG' && e.getAttribute('src') === 'x') imgs++;
    }
  }
  return {imgs, ran: window.__xss || 0};
}"""


def clean(page) -> None:
    assert page.evaluate(INJECTED) == {"imgs": 0, "ran": 0}


def test_markup_in_names_chat_products_and_pages_is_shown_as_text(server, browser, shots) -> None:
    server.sql("update products set title = :t", t=MARKUP)
    server.sql("update agents set display_name = :t where identity = 'ben'", t=MARKUP)
    actx, agent = new_page(browser, 1366, 860)
    sctx, shopper = new_page(browser, 1024, 768)
    gctx, guest = new_page(browser, 1024, 768)
    try:
        sign_in_agent(agent, server.base, "ben")
        start_call(shopper, server.base, name=MARKUP)
        answer_call(agent, shopper)
        agent.get_by_test_id("show-product").first.click()
        shopper.get_by_test_id("product-card").first.wait_for(timeout=5000)
        agent.get_by_test_id("toggle-record").click()  # the chat goes on the recording's timeline too
        shopper.get_by_test_id("consent-prompt").wait_for(timeout=10000)
        shopper.get_by_test_id("consent-allow").click()
        shopper.get_by_test_id("recording-indicator").wait_for(timeout=5000)
        shopper.get_by_test_id("chat-input").fill(MARKUP)
        shopper.get_by_test_id("chat-send").click()
        agent.get_by_test_id("toggle-chat").click()
        agent.get_by_test_id("chat-message").filter(has_text="onerror").first.wait_for(timeout=5000)
        shopper.get_by_test_id("chat-message").filter(has_text="onerror").first.wait_for(timeout=5000)
        time.sleep(3)
        agent.get_by_test_id("toggle-record").click()
        agent.screenshot(path=shots / "01_console.png")
        shopper.screenshot(path=shots / "02_shop_call.png")
        for page in (agent, shopper):
            clean(page)
        assert agent.get_by_test_id("chat-message").filter(has_text=MARKUP).count() >= 1

        # the join page: the host (whose name is markup) removes a guest
        end_call(agent, shopper)  # the room ends and the agent is free before the console is closed
        actx.close()
        actx, agent = new_page(browser, 1366, 860)
        sign_in_agent(agent, server.base, "ben")
        agent.get_by_test_id("host-session").click()
        link_box = agent.get_by_test_id("session-link")
        link_box.wait_for(timeout=10000)
        guest.goto(link_box.input_value())
        guest.get_by_test_id("join-name").fill("Gus")
        guest.get_by_test_id("join-camera").uncheck()
        guest.get_by_test_id("join-button").click()
        gus = wait_until(lambda: guest.evaluate("window.shopcall && window.shopcall.client && "
                                                "window.shopcall.client.pid"), 20, "the guest in the session")
        tile = agent.locator(f'.tile[data-pid="{gus}"]')
        tile.wait_for(timeout=20000)
        tile.get_by_test_id("mod-remove").dispatch_event("click")
        guest.get_by_text("You can close this window.").wait_for(timeout=15000)  # the page's own end screen
        removed = guest.locator("h2").filter(has_text="removed you")
        guest.screenshot(path=shots / "03_join_removed.png")
        assert removed.inner_text().startswith(MARKUP)  # the host's name, shown as text
        clean(guest)
        clean(agent)

        # the recording's timeline shows the chat as text
        rec_id = wait_until(lambda: (r := server.sql("select id, status from recordings order by started_at desc"))
                            and r[0][1] in ("ready", "failed") and r[0][0], 120, "the recording processed", every=0.5)
        agent.goto(f"{server.base}/console/recordings/{rec_id}")
        agent.get_by_test_id("timeline-item").filter(has_text="onerror").first.wait_for(timeout=20000)
        agent.screenshot(path=shots / "04_recording_timeline.png")
        clean(agent)
    finally:
        for ctx in (actx, sctx, gctx):
            ctx.close()
