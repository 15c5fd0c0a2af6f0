"""The shopper's way in: pre-call check, queue position, transfer between agents, callback when closed."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.browser import new_page, wait_for_media
from tests.e2e.journeys import end_call, sign_in_agent

pytestmark = pytest.mark.e2e


def test_precall_queue_position_and_transfer(server, browser, shots) -> None:
    sctx, shopper = new_page(browser, 1100, 800)
    actx, anna = new_page(browser, 1366, 860)
    bctx, ben = new_page(browser, 1366, 860)
    try:
        shopper.goto(server.base + "/demo/shop")
        shopper.get_by_test_id("call-button").first.click()
        # pre-call: live preview, device pickers, a moving mic level (Chromium's fake mic beeps)
        pre = shopper.get_by_test_id("precall").element_handle()
        shopper.wait_for_function("""(pre) => {
            const v = pre && pre.shadowRoot.querySelector('video');
            return v && v.videoWidth > 0 && pre.level > 0.05; }""", arg=pre, timeout=10000)
        assert shopper.get_by_test_id("precall-camera").locator("option").count() >= 1
        assert shopper.get_by_test_id("precall-mic").locator("option").count() >= 1
        shopper.screenshot(path=shots / "01_shop_precall.png")
        shopper.get_by_test_id("shopper-name").fill("Olav")
        shopper.get_by_test_id("start-call").click()

        # nobody online yet: the shopper waits in the queue and sees their place
        pos = shopper.get_by_test_id("queue-position")
        pos.wait_for(timeout=10000)
        assert "next in line" in pos.inner_text()
        shopper.screenshot(path=shots / "02_shop_in_queue.png")

        anna.goto(server.base + "/console")
        anna.get_by_test_id("login-anna").click()
        anna.get_by_test_id("answer-call").first.click(timeout=15000)
        wait_for_media(anna)
        wait_for_media(shopper)
        sign_in_agent(ben, server.base, "ben")

        # anna hands the shopper over to ben; the shopper never re-queues
        transfer = anna.locator('.mate[data-identity="ben"] [data-testid=transfer-agent]')
        transfer.wait_for(timeout=10000)
        anna.wait_for_function("() => !document.querySelector("
                               "'.mate[data-identity=\"ben\"] [data-testid=transfer-agent]').disabled", timeout=10000)
        anna.screenshot(path=shots / "03_console_team_panel.png")
        since = shopper.evaluate("window.__pcs.length")
        transfer.click()
        ben.get_by_test_id("call-context").wait_for(timeout=10000)
        ben_stats = wait_for_media(ben)
        assert max(v["framesDecoded"] for v in ben_stats["video"]) > 30
        shopper_stats = wait_for_media(shopper, since=since)
        assert max(v["framesDecoded"] for v in shopper_stats["video"]) > 30
        time.sleep(1)
        assert not shopper.get_by_test_id("call-again").is_visible()  # still in the call
        assert "Ben" in shopper.locator("[data-el=cwTitle]").inner_text()
        shopper.screenshot(path=shots / "04_shop_after_transfer.png")
        ben.screenshot(path=shots / "05_console_ben_took_over.png")
        rows = server.sql("select agent_identity, status from calls order by created_at desc limit 1")
        assert rows == [("ben", "answered")]
        end_call(ben, shopper)
    finally:
        for c in (sctx, actx, bctx):
            c.close()


def test_closed_hours_offer_a_callback_listed_in_the_console(server, browser, shots) -> None:
    closed = {"timezone": "UTC", "weekly": {}, "closed_dates": ["2000-01-01"]}
    server.sql("update apps set business_hours = :h where id = 'app_demo'", h=json.dumps(closed))
    sctx, shopper = new_page(browser, 1100, 800)
    actx, anna = new_page(browser, 1366, 860)
    try:
        shopper.goto(server.base + "/demo/shop")
        btn = shopper.get_by_test_id("call-button").first
        shopper.locator("[data-testid=call-button][data-mode=callback]").wait_for(timeout=10000)
        assert "callback" in btn.inner_text().lower()
        assert "Closed" in shopper.get_by_test_id("availability").inner_text()
        btn.click()
        shopper.get_by_test_id("callback-name").fill("Sigrid")
        shopper.get_by_test_id("callback-contact").fill("+47 22 00 00 00")
        shopper.get_by_test_id("callback-note").fill("Which amp for the S2?")
        shopper.screenshot(path=shots / "06_shop_callback_form.png")
        shopper.get_by_test_id("callback-submit").click()
        shopper.get_by_text("we’ll call you back as soon as we can").wait_for(timeout=5000)
        rows = server.sql("select name, contact, note from callback_requests")
        assert ("Sigrid", "+47 22 00 00 00", "Which amp for the S2?") in rows

        anna.goto(server.base + "/console")
        anna.get_by_test_id("login-anna").click()
        row = anna.get_by_test_id("callback-row").filter(has_text="Sigrid")
        row.wait_for(timeout=10000)
        assert "+47 22 00 00 00" in row.inner_text()
        anna.get_by_test_id("admin-view").wait_for(timeout=5000)  # anna is an admin: agents and calls lists
        assert anna.get_by_test_id("admin-agent-row").count() == 2
        anna.screenshot(path=shots / "07_console_callbacks_admin.png", full_page=True)
    finally:
        server.sql("update apps set business_hours = '{}' where id = 'app_demo'")
        sctx.close()
        actx.close()
