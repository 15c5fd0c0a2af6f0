"""Languages in real Chromium (issue 13 §4): a guest whose browser speaks Chinese gets the join page and the call
view from the zh-CN catalogs and a product card priced the zh-CN way; the agent's console language is their own
setting (stored on the server, so it follows them to the next page load)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shopcall.i18n import translator
from tests.e2e.browser import new_page
from tests.e2e.journeys import sign_in_agent

pytestmark = pytest.mark.e2e

LOCALES = Path(__file__).resolve().parents[2] / "src" / "shopcall" / "web" / "static" / "i18n" / "locales"


def _zh(ns: str) -> dict[str, str]:
    return json.loads((LOCALES / "zh-CN" / f"{ns}.json").read_text(encoding="utf-8"))


def test_join_page_and_call_view_in_chinese_with_a_zh_cn_price(server, browser, shots) -> None:
    join, call, chat, common = _zh("join"), _zh("call"), _zh("chat"), _zh("common")
    hctx, host = new_page(browser, 1366, 860)
    gctx = browser.new_context(viewport={"width": 900, "height": 700}, locale="zh-CN")
    guest = gctx.new_page()
    try:
        sign_in_agent(host, server.base, "ben")
        host.get_by_test_id("host-session").click()
        link = host.get_by_test_id("session-link")
        link.wait_for(timeout=10000)

        guest.goto(link.input_value())
        guest.get_by_test_id("join-button").wait_for()
        assert guest.locator("html").get_attribute("lang") == "zh-CN"
        assert guest.title() == join["join.pageTitle"]
        assert guest.locator("h1").inner_text() == join["join.heading"]
        assert guest.get_by_test_id("join-button").inner_text() == join["join.join"]
        guest.locator("shopcall-precall").get_by_text(_zh("precall")["precall.micLevel"], exact=True).wait_for()
        guest.screenshot(path=shots / "join_zh.png")
        guest.get_by_test_id("join-name").fill("李娜")
        guest.get_by_test_id("join-button").click()

        guest.locator("shopcall-call").wait_for(timeout=15000)
        assert guest.get_by_test_id("hangup").get_attribute("aria-label") == join["join.leave"]
        assert guest.get_by_test_id("toggle-mic").get_attribute("aria-label") == call["call.muteMic"]
        assert guest.get_by_test_id("toggle-chat").get_attribute("aria-label") == call["call.chat"]
        assert guest.get_by_test_id("connection-state").inner_text() == call["call.state.connected"]
        assert guest.get_by_test_id("chat-input").get_attribute("placeholder") == chat["chat.placeholder"]

        # the host shows a product: the guest's card has the zh-CN price and Chinese words
        host.get_by_test_id("remote-video").first.wait_for(state="attached", timeout=20000)
        item = host.get_by_test_id("catalog").locator(".item").first
        amount = float(re.sub(r"[^\d.]", "", item.locator("small").inner_text()))
        item.get_by_test_id("show-product").click()
        card = guest.get_by_test_id("product-card").first
        card.wait_for(state="attached", timeout=10000)
        expected = guest.evaluate("(n) => new Intl.NumberFormat('zh-CN', {style: 'currency', currency: 'EUR'})"
                                  ".format(n)", amount)
        # (text_content: the chat drawer is still closed, so the card is not rendered text yet)
        assert card.get_by_test_id("card-price").text_content() == expected == translator("zh-CN").price(amount, "EUR")
        assert card.get_by_test_id("add-to-cart").text_content().strip() == common["common.addToCart"]
        assert chat["chat.shownBy"].replace("{name}", "Ben Okafor") in card.text_content()
        guest.get_by_test_id("toggle-chat").click()
        guest.screenshot(path=shots / "call_view_zh.png")
    finally:
        gctx.close()
        hctx.close()


def test_agents_console_language_is_their_setting(server, browser, shots) -> None:
    ctx, page = new_page(browser, 1280, 800)
    try:
        sign_in_agent(page, server.base, "anna")
        assert page.locator("html").get_attribute("lang") == "en"
        page.get_by_test_id("console-language").select_option("ja")
        page.get_by_test_id("agent-status").filter(has_text="オンライン").wait_for(timeout=5000)
        page.wait_for_function("() => document.documentElement.lang === 'ja'")
        me = page.evaluate("() => fetch('/v1/console/me').then(r => r.json())")
        assert me["agent"]["locale"] == "ja"
        # another browser (no local memory of the choice) signs in and gets Japanese from the server
        ctx2, page2 = new_page(browser, 1280, 800)
        try:
            page2.goto(server.base + "/console")
            page2.get_by_test_id("login-anna").click()
            page2.get_by_test_id("agent-status").filter(has_text="オンライン").wait_for(timeout=10000)
            assert page2.locator("html").get_attribute("lang") == "ja"
            assert page2.get_by_test_id("end-call").text_content().strip() == _ja("console")["console.endCall"]
            assert page2.get_by_test_id("presence").locator("option").first.text_content() == \
                _ja("console")["console.presence.online"]
            page2.screenshot(path=shots / "console_ja.png")
        finally:
            page2.get_by_test_id("console-language").select_option("en")  # leave Anna as she was
            page2.wait_for_function("() => document.documentElement.lang === 'en'")
            ctx2.close()
    finally:
        ctx.close()


def _ja(ns: str) -> dict[str, str]:
    return json.loads((LOCALES / "ja" / f"{ns}.json").read_text(encoding="utf-8"))


# A stand-in for the widget: an anonymous shopper token, then a call that names the shopper's language.
CALL_IN_FRENCH = """async () => {
  const { ShopCallClient } = await import('/static/sdk/shopcall.js');
  const r = await fetch('/v1/widget/session?app=app_demo', {
    method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({name: 'Élodie'})});
  const { token } = await r.json();
  const client = new ShopCallClient({ tokenProvider: null });
  window.shopper = client;
  await client.connect(token);
  client.startCall({ language: 'fr-FR', page: location.href }).catch(() => {});
  return true;
}"""


def test_agent_sees_the_shoppers_language_and_routing_uses_it(server, browser) -> None:
    """Ben speaks French, Anna does not: a French-speaking shopper rings Ben, whose card names the language."""
    actx, anna = new_page(browser)
    bctx, ben = new_page(browser)
    sctx = browser.new_context(bypass_csp=True)
    try:
        sign_in_agent(anna, server.base, "anna")
        sign_in_agent(ben, server.base, "ben")
        shopper = sctx.new_page()
        shopper.goto(server.base + "/healthz")
        assert shopper.evaluate(CALL_IN_FRENCH)
        badge = ben.get_by_test_id("incoming-language")
        badge.wait_for(timeout=15000)
        assert badge.get_attribute("lang") == "fr-FR" and badge.inner_text() == "French (France)"
        assert anna.get_by_test_id("incoming-call").count() == 0  # routed by language, as before
        ben.get_by_test_id("answer-call").click()
        ben.get_by_test_id("call-shopper").filter(has_text="Élodie").wait_for(timeout=15000)
        assert "speaks French (France)" in ben.get_by_test_id("call-context").inner_text()
        shopper.evaluate("() => window.shopper.close()")
    finally:
        sctx.close()
        bctx.close()
        actx.close()
