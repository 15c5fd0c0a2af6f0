"""Accessibility (issue 13 §7) in real Chromium: axe-core finds no serious or critical violation on the console
(sign-in, idle, in a call), the join page, the pre-call check and the call view; keyboard alone reaches and
works every call control; screen-reader labels come from the catalogs (German here)."""

from __future__ import annotations

import pytest

from tests.e2e.a11y import assert_no_serious_violations
from tests.e2e.browser import new_page
from tests.e2e.journeys import sign_in_agent

pytestmark = pytest.mark.e2e

# The deepest focused element (through open shadow roots): its test id, else its tag and label.
FOCUSED = """() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el) return null;
  return el.dataset.testid || `${el.tagName.toLowerCase()}:${el.getAttribute('aria-label') || ''}`;
}"""

CALL_CONTROLS = {"toggle-mic", "toggle-camera", "toggle-draw", "toggle-chat", "hangup"}


def _tab_through(page, want: set[str], limit: int = 80) -> list[str]:
    """Press Tab until every id in `want` had focus (or `limit` presses); the focus order seen."""
    seen: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        f = page.evaluate(FOCUSED)
        if f:
            seen.append(f)
        if want <= set(seen):
            break
    return seen


def test_console_join_page_and_call_view_are_accessible_and_keyboard_usable(server, browser, shots) -> None:
    hctx, host = new_page(browser, 1366, 860)
    gctx = browser.new_context(viewport={"width": 900, "height": 700}, locale="de-DE")
    guest = gctx.new_page()
    try:
        host.goto(server.base + "/console")
        host.get_by_test_id("login-ben").wait_for()
        assert_no_serious_violations(host, name="console sign-in")
        sign_in_agent(host, server.base, "ben")
        host.get_by_test_id("host-session").wait_for()
        assert_no_serious_violations(host, name="console idle")

        host.get_by_test_id("host-session").click()
        link = host.get_by_test_id("session-link")
        link.wait_for(timeout=10000)

        guest.goto(link.input_value())
        guest.locator("shopcall-precall [data-testid=precall-meter]").wait_for()
        guest.get_by_test_id("precall-camera").locator("option").first.wait_for(state="attached", timeout=10000)
        assert_no_serious_violations(guest, name="join page with the pre-call check")
        # keyboard only: the name field, then the join button
        guest.get_by_test_id("join-name").focus()
        guest.keyboard.press("Control+A")
        guest.keyboard.type("Lene")
        order = _tab_through(guest, {"join-button"}, 20)
        assert "join-button" in order, order
        guest.keyboard.press("Enter")

        view = guest.locator("shopcall-call")
        view.wait_for(timeout=15000)
        guest.get_by_test_id("remote-video").first.wait_for(state="attached", timeout=20000)
        assert_no_serious_violations(guest, name="call view (guest)")
        # screen-reader labels are the catalog's (the guest's browser speaks German)
        assert guest.get_by_test_id("toggle-mic").get_attribute("aria-label") == "Mikrofon stummschalten"
        assert guest.get_by_test_id("hangup").get_attribute("aria-label") == "Sitzung verlassen"
        assert guest.locator("shopcall-call").get_attribute("lang") == "de"

        guest.locator("body").click(position={"x": 5, "y": 5})
        order = _tab_through(guest, CALL_CONTROLS)
        assert CALL_CONTROLS <= set(order), order
        # and keyboard works them: Space mutes, Enter opens the chat, the chat input takes focus
        while guest.evaluate(FOCUSED) != "toggle-mic":
            guest.keyboard.press("Shift+Tab")
        guest.keyboard.press("Space")
        assert guest.get_by_test_id("toggle-mic").get_attribute("aria-pressed") == "true"
        assert guest.get_by_test_id("toggle-mic").get_attribute("aria-label") == "Mikrofon einschalten"
        while guest.evaluate(FOCUSED) != "toggle-chat":
            guest.keyboard.press("Tab")
        guest.keyboard.press("Enter")
        guest.wait_for_function(f"() => ({FOCUSED})() === 'chat-input'")
        guest.screenshot(path=shots / "guest_call_keyboard.png")

        host.get_by_test_id("remote-video").first.wait_for(state="attached", timeout=20000)
        assert_no_serious_violations(host, name="console in a call")
        host.locator("shopcall-call").get_by_test_id("toggle-mic").focus()
        order = _tab_through(host, {"toggle-record", "toggle-screen", "hangup"})
        assert {"toggle-record", "toggle-screen", "hangup"} <= set(order), order
        # the host's per-guest buttons (shown on hover) are reached by keyboard too: they come before the controls
        host.locator("shopcall-call").get_by_test_id("toggle-mic").focus()
        back = []
        for _ in range(15):
            host.keyboard.press("Shift+Tab")
            back.append(host.evaluate(FOCUSED))
            if back[-1] == "mod-mute":
                break
        assert {"mod-remove", "mod-spotlight", "mod-mute"} <= set(back), back
        assert host.locator("shopcall-call").get_by_test_id("mod-mute").first.is_visible()
        host.screenshot(path=shots / "console_call_a11y.png")
    finally:
        gctx.close()
        hctx.close()
