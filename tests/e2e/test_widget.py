"""The drop-in widget on a merchant's page: a page on a second local origin (another port) holding only the
`<script src=".../widget.js" data-app=...>` tag (and, on some pages, a `ShopCall.setContext` call) — the
shopper calls, the console answers, video decodes both ways; the same under a CSP that allows only the
ShopCall origin; a zh-CN page in Chinese with a zh-CN price; the phone journey at 390×844 (nothing wider
than the screen, 44 px controls, a camera switch, the minimised bubble while browsing, media back after the
tab was hidden) and the smaller 360×640; a refusal on an origin the app does not allow. Screenshots of the
widget's states at desktop and phone size, in English and Chinese, go to test-artifacts/widget/."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.a11y import assert_no_serious_violations
from tests.e2e.browser import PC_PROBE, wait_for_media
from tests.e2e.journeys import sign_in_agent
from tests.e2e.server import Server

pytestmark = pytest.mark.e2e

PRODUCT = {"sku": "NA-H1", "title": "Aurora H1 Wireless Headphones", "price": 349, "currency": "EUR"}
FILLER = "".join(f"<section><h2>Section {i}</h2><p>{'Hand-built audio gear, tested in our studio. ' * 12}</p></section>"
                 for i in range(8))

# Chromium's --use-fake-device-for-media-stream enumerates one camera. This page script (installed before the
# widget) adds a second, "rear" one to enumerateDevices and serves it from the same fake camera, so the test
# can check that the widget offers the switch and swaps the track it sends; it cannot show a second picture.
SECOND_CAMERA = """
(() => {
  const md = navigator.mediaDevices;
  const enumerate = md.enumerateDevices.bind(md);
  const gum = md.getUserMedia.bind(md);
  window.__cameraRequests = [];
  md.enumerateDevices = async () => {
    const list = await enumerate();
    return [...list, {deviceId: 'fake-rear', groupId: 'fake-rear', kind: 'videoinput', label: 'Rear camera',
                      toJSON() { return this; }}];
  };
  md.getUserMedia = async (c) => {
    const v = c && c.video && c.video.deviceId;
    const id = v && (v.exact || v);
    window.__cameraRequests.push(id || null);
    if (id === 'fake-rear') return gum({...c, video: true});
    return gum(c);
  };
})();
"""

# Every element of the widget (shadow roots included) that sticks out of the viewport, and every visible
# button smaller than 44 px.
LAYOUT = """
() => {
  const w = innerWidth, out = [], small = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      const visible = r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
      if (visible && (r.right > w + 1 || r.left < -1)) out.push(`${el.tagName}.${el.className} ${r.left}-${r.right}`);
      if (visible && (el.tagName === 'BUTTON' || el.tagName === 'SELECT' || el.tagName === 'INPUT') &&
          (r.width < 43.5 || r.height < 43.5) && el.type !== 'checkbox') {
        const name = el.dataset.testid || el.className || '';
        small.push(`${el.tagName} ${name} ${Math.round(r.width)}x${Math.round(r.height)}`);
      }
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: w, outside: out, small};
}
"""


class _Pages(BaseHTTPRequestHandler):
    base = ""  # the ShopCall server's origin

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        lang, app = q.get("lang", "en"), q.get("app", "app_demo")
        tag = f'<script src="{self.base}/widget.js" data-app="{app}" async></script>'
        product = json.dumps({**PRODUCT, "image_url": self.base + "/static/demo/img/headphones.svg"})
        context = "" if q.get("csp") else f"""<script>
          window.__events = [];
          window.addEventListener("load", () => {{
            ShopCall.setContext({{product: {product}}});
            for (const n of ["call-started", "call-ended", "add-to-cart"]) {{
              ShopCall.on(n, (d) => window.__events.push(n));
            }}
          }});</script>"""
        body = (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
                "<meta name='viewport' content='width=device-width, initial-scale=1, viewport-fit=cover'>"
                "<title>Another shop</title></head><body><h1>Another shop</h1>"
                f"{FILLER}{tag}{context}</body></html>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        if q.get("csp"):
            # only the ShopCall origin, named once for HTTP and once for its WebSocket (Chromium does not
            # let an http: source cover ws:); `csp=nows` leaves the WebSocket out, as a merchant may
            b, ws = self.base, self.base.replace("http://", "ws://")
            connect = b if q["csp"] == "nows" else f"{b} {ws}"
            self.send_header("Content-Security-Policy", f"default-src 'none'; script-src {b}; style-src {b}; "
                             f"img-src {b} data:; font-src {b}; connect-src {connect}; "
                             f"media-src {b} blob: mediastream:")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture(scope="module")
def shop(server: Server) -> Iterator[str]:
    """The merchant's pages on 127.0.0.1 and another port than the ShopCall server's."""
    handler = type("Pages", (_Pages,), {"base": server.base})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, name="shop-pages", daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _page(browser: Any, width: int, height: int, *, init: str = "",
          locale: str = "en-US") -> tuple[Any, Any, list[str]]:
    ctx = browser.new_context(viewport={"width": width, "height": height}, locale=locale,
                              is_mobile=width < 600, has_touch=width < 600)
    ctx.add_init_script(PC_PROBE + init + "window.__csp = []; document.addEventListener('securitypolicyviolation',"
                        " (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return ctx, page, errors


def _shot(page: Any, shots: Path, name: str) -> None:
    time.sleep(0.4)  # the widget's pop-in animation
    page.screenshot(path=shots / f"{name}.png")


def _ready(page: Any) -> None:
    page.wait_for_function("() => window.ShopCall && window.ShopCall.ready", timeout=20000)


def _call_and_answer(page: Any, agent: Any, name: str) -> None:
    page.get_by_test_id("launcher").click()
    page.get_by_test_id("shopper-name").fill(name)
    page.get_by_test_id("start-call").click()
    try:
        agent.get_by_test_id("answer-call").first.click(timeout=20000)
    except Exception:
        state = page.evaluate("[ShopCall.state, window.__csp]")
        raise AssertionError(f"the call did not ring: widget state and CSP violations {state}") from None


def _media_both_ways(agent: Any, shopper: Any) -> None:
    for who, p in (("agent", agent), ("shopper", shopper)):
        st = wait_for_media(p, timeout_s=40)
        assert max((v["framesDecoded"] for v in st["video"]), default=0) > 30, (who, st)
        assert max((a["totalSamplesReceived"] for a in st["audio"]), default=0) > 0, (who, st)


def _waiting_states(page: Any, shots: Path, prefix: str) -> None:
    """Launcher, pre-call, queue (nobody online) and the cancelled call, with screenshots."""
    _ready(page)
    page.get_by_test_id("launcher").wait_for()
    _shot(page, shots, f"{prefix}_1_launcher")
    _accessible(page, "launcher")
    page.get_by_test_id("launcher").click()
    pre = page.get_by_test_id("precall").element_handle()
    page.wait_for_function("(pre) => { const v = pre.shadowRoot.querySelector('video'); "
                           "return v && v.videoWidth > 0; }",
                           arg=pre, timeout=15000)
    _shot(page, shots, f"{prefix}_2_precall")
    _accessible(page, "pre-call")
    page.get_by_test_id("start-call").click()
    page.get_by_test_id("queue-position").wait_for(timeout=15000)
    _shot(page, shots, f"{prefix}_3_queue")
    _accessible(page, "queue")
    page.get_by_test_id("cancel-call").click()
    page.get_by_test_id("call-again").wait_for(timeout=10000)
    _shot(page, shots, f"{prefix}_6_ended")
    _accessible(page, "call ended")
    page.get_by_test_id("close-call-widget").click()


def _accessible(page: Any, state: str) -> None:
    """axe-core on the widget alone (the shop's own page is the merchant's): no serious or critical issue."""
    assert_no_serious_violations(page, include=["[data-shopcall-widget]"], name=f"widget: {state}")


@pytest.mark.parametrize(("size", "lang"), [((1280, 800), "en"), ((390, 844), "zh-CN"), ((1280, 800), "zh-CN"),
                                            ((360, 640), "en")],
                         ids=["desktop-en", "phone-zh", "desktop-zh", "small-en"])
def test_waiting_states_fit_and_speak_the_pages_language(server: Server, browser: Any, shop: str, shots: Path,
                                                         size: tuple[int, int], lang: str) -> None:
    """No expert online: the queue. At phone sizes nothing sticks out and every control is at least 44 px."""
    ctx, page, errors = _page(browser, *size, init=SECOND_CAMERA)
    prefix = f"{'phone' if size[0] < 600 else 'desktop'}_{lang}" + ("_360" if size[0] == 360 else "")
    try:
        page.goto(f"{shop}/product?lang={lang}")
        if lang == "zh-CN":
            _ready(page)
            assert page.get_by_test_id("launcher").inner_text().strip().startswith("视频咨询专家")
        if size[0] < 600:
            page.get_by_test_id("launcher").click()
            page.get_by_test_id("precall").wait_for()
            time.sleep(0.5)  # after the pop-in animation (it scales the panel)
            layout = page.evaluate(LAYOUT)
            assert layout["scrollWidth"] <= layout["innerWidth"] and not layout["outside"], layout
            assert not layout["small"], layout
            page.get_by_test_id("name-cancel").click()
        _waiting_states(page, shots, prefix)
        if lang == "zh-CN":
            assert page.locator("[data-shopcall-widget]").get_attribute("data-shopcall-widget") == ""
        assert not errors, errors
    finally:
        ctx.close()


def test_zh_cn_page_shows_chinese_strings_and_a_zh_cn_price(server: Server, browser: Any, shop: str) -> None:
    ctx, page, errors = _page(browser, 1280, 800, locale="en-US")  # the page's <html lang> wins over the browser
    try:
        page.goto(f"{shop}/product?lang=zh-CN")
        _ready(page)
        assert page.evaluate("ShopCall.locale") == "zh-CN"
        page.get_by_test_id("launcher").click()
        form = page.get_by_test_id("name-dialog")
        assert "与专家通话" in form.inner_text() and "开始视频通话" in page.get_by_test_id("start-call").inner_text()
        expected = page.evaluate("new Intl.NumberFormat('zh-CN', {style: 'currency', currency: 'EUR'}).format(349)")
        assert page.get_by_test_id("widget-price").inner_text() == expected == "€349.00"
        # the pre-call component got the widget's zh-CN I18n
        page.locator("shopcall-precall label span").first.filter(has_text="摄像头").wait_for(timeout=5000)
        assert not errors, errors
    finally:
        ctx.close()


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_shop_on_another_origin_calls_and_the_console_answers(server: Server, browser: Any, shop: str,
                                                              shots: Path, lang: str) -> None:
    """The live and minimised states at desktop size, then the same call at phone size (screenshots)."""
    actx, agent, _ = _page(browser, 1366, 860)
    ctx, page, errors = _page(browser, 1280, 800)
    try:
        sign_in_agent(agent, server.base, "anna")
        page.goto(f"{shop}/product" + ("" if lang == "en" else f"?lang={lang}"))
        _ready(page)
        _call_and_answer(page, agent, "Mia")
        _media_both_ways(agent, page)
        assert page.get_by_test_id("remote-video").count() >= 1
        assert "Aurora H1" in agent.get_by_test_id("context-product").inner_text()
        for size, label in (((1280, 800), "desktop"), ((390, 844), "phone")):
            page.set_viewport_size({"width": size[0], "height": size[1]})
            time.sleep(0.5)
            _shot(page, shots, f"{label}_{lang}_4_live")
            _accessible(page, f"in a call ({label})")
            page.get_by_test_id("minimise-call").click()
            page.get_by_test_id("pip-bubble").wait_for()
            _shot(page, shots, f"{label}_{lang}_5_minimised")
            _accessible(page, f"minimised ({label})")
            page.get_by_test_id("pip-bubble").click()
        page.set_viewport_size({"width": 1280, "height": 800})
        agent.get_by_test_id("end-call").click()
        page.get_by_test_id("call-again").wait_for(timeout=10000)
        assert page.evaluate("window.__events") == ["call-started", "call-ended"]
        assert not errors, errors
    finally:
        actx.close()
        ctx.close()


def test_phone_journey_camera_switch_bubble_and_background(server: Server, browser: Any, shop: str,
                                                           shots: Path) -> None:
    actx, agent, _ = _page(browser, 1366, 860)
    ctx, page, errors = _page(browser, 390, 844, init=SECOND_CAMERA, locale="zh-CN")
    try:
        sign_in_agent(agent, server.base, "ben")
        page.goto(f"{shop}/product?lang=zh-CN")
        _ready(page)
        _call_and_answer(page, agent, "小明")
        _media_both_ways(agent, page)
        layout = page.evaluate(LAYOUT)
        assert layout["scrollWidth"] <= layout["innerWidth"] and not layout["outside"], layout
        print(f"\nphone call view: controls under 44 px: {layout['small'] or 'none'}")
        _shot(page, shots, "phone_zh-CN_4_live")

        # two cameras: the switch is offered and swaps the track the call sends (no renegotiation)
        flip = page.get_by_test_id("switch-camera")
        flip.wait_for(timeout=10000)
        sent = ("() => window.ShopCall.client.publisherPc.getSenders()"
                ".find(s => s.track && s.track.kind === 'video').track")
        before = page.evaluate(f"({sent})().id")
        flip.click()
        page.wait_for_function(f"(id) => {{ const t = ({sent})(); return t.id !== id && t.readyState === 'live'; }}",
                               arg=before, timeout=10000)
        assert page.evaluate("window.__cameraRequests").count("fake-rear") == 1

        # minimised: the shopper browses the shop (scrolls) with the expert in a bubble
        page.get_by_test_id("minimise-call").click()
        bubble = page.get_by_test_id("pip-bubble")
        bubble.wait_for()
        page.mouse.wheel(0, 1500)
        page.wait_for_function("() => scrollY > 500")
        page.wait_for_function("() => { const v = document.querySelector('[data-shopcall-widget]').shadowRoot"
                               ".querySelector('.bubble video'); return v && v.videoWidth > 0 && !v.paused; }",
                               timeout=10000)
        box = bubble.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["width"] >= 44
        _shot(page, shots, "phone_zh-CN_5_minimised")
        bubble.click()

        # back from the background: paused videos play again
        page.evaluate("""() => {
          const roots = [document.querySelector('[data-shopcall-widget]').shadowRoot];
          const call = roots[0].querySelector('shopcall-call'); if (call) roots.push(call.shadowRoot);
          for (const r of roots) for (const v of r.querySelectorAll('video')) if (v.srcObject) v.pause();
          document.dispatchEvent(new Event('visibilitychange'));
        }""")
        page.wait_for_function("""() => {
          const call = document.querySelector('[data-shopcall-widget]').shadowRoot.querySelector('shopcall-call');
          const vids = [...call.shadowRoot.querySelectorAll('video')].filter(v => v.srcObject);
          return vids.length > 0 && vids.every(v => !v.paused); }""", timeout=5000)

        agent.get_by_test_id("end-call").click()
        page.get_by_test_id("call-again").wait_for(timeout=10000)
        assert not errors, errors
    finally:
        actx.close()
        ctx.close()


def test_a_page_under_a_csp_allowing_only_shopcall_completes_a_call(server: Server, browser: Any, shop: str,
                                                                     shots: Path) -> None:
    actx, agent, _ = _page(browser, 1366, 860)
    ctx, page, errors = _page(browser, 1280, 800)
    try:
        sign_in_agent(agent, server.base, "anna")
        page.goto(f"{shop}/product?csp=1")
        _ready(page)
        _call_and_answer(page, agent, "Csp")
        _media_both_ways(agent, page)
        violations = page.evaluate("window.__csp")
        print(f"\nCSP violations on the strict page: {violations or 'none'}")
        assert not [v for v in violations if not v.startswith("style-src-attr")], violations
        agent.get_by_test_id("end-call").click()
        page.get_by_test_id("call-again").wait_for(timeout=10000)
        assert not errors, errors
    finally:
        actx.close()
        ctx.close()


def test_a_csp_without_the_websocket_origin_shows_the_shopper_a_clear_error(server: Server, browser: Any, shop: str,
                                                                              shots: Path) -> None:
    """The shop's CSP allows ShopCall's scripts, styles and REST calls but not its ws:// origin in connect-src:
    the call's socket cannot open, and the shopper who presses the call button is told why (translated), with
    the signalling origin a merchant must allow, instead of being left on "ringing"."""
    ctx, page, errors = _page(browser, 1280, 800)
    try:
        page.goto(f"{shop}/product?csp=nows")
        _ready(page)
        page.get_by_test_id("launcher").click()
        page.get_by_test_id("shopper-name").fill("Blocked")
        page.get_by_test_id("start-call").click()
        blocked = page.locator("[data-testid=widget-refused][data-reason=blocked]")
        blocked.wait_for(timeout=20000)
        ws = server.base.replace("http://", "ws://")
        text = blocked.inner_text()
        assert "blocked" in text and ws in text and "connect-src" in text, text
        assert page.evaluate("ShopCall.state") == "blocked"
        violations = page.evaluate("window.__csp")
        assert any(v.startswith("connect-src") and v.split(" ", 1)[1].startswith(ws) for v in violations), violations
        _shot(page, shots, "desktop_en_9_socket_blocked")
        assert not errors, errors
    finally:
        ctx.close()


def test_closed_hours_offer_the_callback_form(server: Server, browser: Any, shop: str, shots: Path) -> None:
    closed = {"timezone": "UTC", "weekly": {}, "closed_dates": ["2000-01-01"]}
    server.sql("update apps set business_hours = :h where id = 'app_demo'", h=json.dumps(closed))
    try:
        for (w, h), lang in (((1280, 800), "en"), ((390, 844), "zh-CN")):
            ctx, page, errors = _page(browser, w, h)
            try:
                page.goto(f"{shop}/product?lang={lang}")
                page.locator("[data-testid=launcher][data-mode=callback]").wait_for(timeout=20000)
                page.get_by_test_id("launcher").click()
                page.get_by_test_id("callback-dialog").wait_for()
                _shot(page, shots, f"{'phone' if w < 600 else 'desktop'}_{lang}_7_callback")
                assert not errors, errors
            finally:
                ctx.close()
    finally:
        server.sql("update apps set business_hours = '{}' where id = 'app_demo'")


def test_an_origin_the_app_does_not_allow_gets_a_clear_refusal(server: Server, browser: Any, shop: str,
                                                               shots: Path) -> None:
    merchant = server.create_app("Elsewhere only")
    try:
        r = merchant.http.patch("/v1/settings", json={"widget": {"allowed_origins": ["https://shop.example.com"]}})
        assert r.status_code == 200, r.text
        for (w, h), lang in (((1280, 800), "en"), ((390, 844), "zh-CN")):
            ctx, page, _ = _page(browser, w, h)
            try:
                page.goto(f"{shop}/product?app={merchant.auth[0]}&lang={lang}")
                launcher = page.locator("[data-testid=launcher][data-mode=refused]")
                launcher.wait_for(timeout=20000)
                launcher.click()
                refused = page.get_by_test_id("widget-refused")
                refused.wait_for()
                assert shop in refused.inner_text()
                if lang == "en":
                    assert "not allowed" in refused.inner_text()
                _shot(page, shots, f"{'phone' if w < 600 else 'desktop'}_{lang}_8_refused")
            finally:
                ctx.close()
    finally:
        merchant.close()


def test_visitor_reporting_waits_for_consent_then_an_invitation_arrives(server: Server, browser: Any, shop: str,
                                                                        shots: Path) -> None:
    """No consent, no presence: the console lists nobody. After `ShopCall.consent({analytics: true})` the
    visitor shows up with the product, and the expert's invitation appears in the widget."""
    actx, agent, _ = _page(browser, 1366, 860)
    try:
        sign_in_agent(agent, server.base, "anna")
        for (w, h), lang in (((1280, 800), "en"), ((390, 844), "zh-CN")):
            ctx, page, errors = _page(browser, w, h)
            try:
                page.goto(f"{shop}/product?lang={lang}")
                _ready(page)
                time.sleep(3)
                assert agent.get_by_test_id("visitor").count() == 0  # nothing reported before consent
                page.evaluate("ShopCall.consent({analytics: true})")
                card = agent.get_by_test_id("visitor").filter(has_text="Aurora H1")
                card.first.wait_for(timeout=20000)
                card.first.get_by_test_id("invite-visitor").click()
                prompt = page.get_by_test_id("invite-prompt")
                prompt.wait_for(timeout=15000)
                assert "Anna" in prompt.inner_text()
                _shot(page, shots, f"{'phone' if w < 600 else 'desktop'}_{lang}_9_invitation")
                page.get_by_test_id("invite-decline").click()
                assert not errors, errors
            finally:
                ctx.close()
            agent.get_by_test_id("visitor").first.wait_for(state="detached", timeout=30000)
    finally:
        actx.close()
