"""In the call, in the UI: product card + add-to-cart, chat both ways, live annotation with latency."""

from __future__ import annotations

import statistics
import time

import pytest

from tests.e2e.browser import new_page
from tests.e2e.journeys import answer_call, end_call, sign_in_agent, start_call
from tests.e2e.polling import wait_until

pytestmark = pytest.mark.e2e

# The page's <shopcall-call>: in the console's document, or in the shop widget's shadow root.
CALL_VIEW = """
window.__callView = () => (function find(root) {
  const found = root.querySelector('shopcall-call');
  if (found) return found;
  for (const el of root.querySelectorAll('*')) {
    const inner = el.shadowRoot && find(el.shadowRoot);
    if (inner) return inner;
  }
  return null;
})(document);
"""

# Records when each annotate frame leaves (agent) / each annotation event arrives (shopper).
SEND_PROBE = """
() => {
  const view = __callView();
  const c = view.client;
  window.__annSent = [];
  const send = c._send.bind(c);
  c._send = (m) => {
    if (m.type === 'annotate' && m.op === 'stroke') {
      window.__annSent.push([m.stroke.id, m.stroke.points.length, Date.now()]);
    }
    return send(m);
  };
}
"""
RECV_PROBE = """
() => {
  const view = __callView();
  window.__annRecv = [];
  view.client.on('annotation', (ev) => {
    if (ev.op === 'stroke') window.__annRecv.push([ev.stroke.id, ev.stroke.points.length, Date.now()]);
  });
}
"""
SELF_CANVAS_INK = """
() => {
  const view = __callView();
  const c = view.shadowRoot.querySelector('.self canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let ink = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) ink++;
  return {ink, strokes: Number(c.dataset.strokes)};
}
"""


def test_product_card_chat_and_annotation_in_a_live_call(server, browser, shots) -> None:
    actx, agent = new_page(browser, 1366, 860)
    agent.add_init_script(CALL_VIEW)
    sctx, shopper = new_page(browser, 1024, 768)
    shopper.add_init_script(CALL_VIEW)
    try:
        sign_in_agent(agent, server.base, "ben")
        start_call(shopper, server.base, name="Lena", customer="cus_1001")  # signed in as Maja Berg
        answer_call(agent, shopper)

        # ---- the CRM panel shows the seeded customer and order history
        assert agent.get_by_test_id("crm-name").inner_text(timeout=5000) == "Maja Berg"
        assert agent.get_by_test_id("crm-order").count() == 2
        assert agent.get_by_test_id("crm-orders-count").inner_text() == "2"
        assert agent.get_by_test_id("crm-ltv").inner_text().replace("\u00a0", " ") in ("€548.00", "548.00 €")

        # ---- product card: the agent shows a product, the shopper adds it to the cart
        cart_before = int(shopper.get_by_test_id("cart-count").inner_text())
        agent.get_by_test_id("show-product").first.click()
        card = shopper.get_by_test_id("product-card").first
        card.wait_for(timeout=5000)
        sku = card.get_attribute("data-sku")
        shopper.screenshot(path=shots / "01_shop_product_card.png")
        card.get_by_test_id("add-to-cart").click()
        wait_until(lambda: int(shopper.get_by_test_id("cart-count").inner_text()) == cart_before + 1, what="cart +1")
        rows = wait_until(lambda: server.sql("select identity, data from room_events where kind='card_action'"),
                     what="card click stored")
        assert sku in rows[-1][1] and "add_to_cart" in rows[-1][1]
        agent.get_by_test_id("console-note").filter(has_text="added").first.wait_for(timeout=5000)

        # ---- chat both ways
        shopper.get_by_test_id("chat-input").fill("Is the black one in stock?")
        shopper.get_by_test_id("chat-send").click()
        agent.get_by_test_id("chat-unread").wait_for(timeout=5000)
        wait_until(lambda: agent.get_by_test_id("chat-unread").inner_text() == "2", 10,
                   "two unread: the cart note + the message")  # the note may have shown the badge already
        agent.get_by_test_id("toggle-chat").click()
        agent.get_by_test_id("chat-message").filter(has_text="black one").wait_for(timeout=5000)
        agent.get_by_test_id("chat-input").fill("Yes, ships tomorrow.")
        agent.get_by_test_id("chat-send").click()
        shopper.get_by_test_id("chat-message").filter(has_text="ships tomorrow").wait_for(timeout=5000)
        texts = [r[0] for r in server.sql("select text from chat_messages order by created_at")]
        assert texts[-2:] == ["Is the black one in stock?", "Yes, ships tomorrow."]
        agent.screenshot(path=shots / "02_console_chat_and_card.png")
        agent.get_by_test_id("toggle-chat").click()  # close the drawer, back to the video

        # ---- annotation: the agent draws on the shopper's video; it appears on the shopper's self view
        agent.evaluate(SEND_PROBE)
        shopper.evaluate(RECV_PROBE)
        agent.get_by_test_id("toggle-draw").click()
        agent.get_by_test_id("drawbar").wait_for()
        canvas = agent.locator(".tile [data-testid=annotation-canvas]").first
        box = canvas.bounding_box()
        assert box and box["width"] > 100
        x0, y0 = box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.4
        agent.mouse.move(x0, y0)
        agent.mouse.down()
        for i in range(1, 31):
            agent.mouse.move(x0 + i * 8, y0 + (i % 10) * 4)
            time.sleep(0.02)
        agent.mouse.up()
        wait_until(lambda: shopper.evaluate("""() => {
            const v = __callView();
            return v.annotationState()[v.client.pid] || null; }"""), what="stroke on the shopper side")
        wait_until(lambda: shopper.evaluate("""() => {
            const v = __callView();
            const s = v.annotationState()[v.client.pid]; return s && s.length === 1 && s[0].points.length >= 20; }"""),
              what="finished stroke")
        state = shopper.evaluate("() => { const v = __callView(); "
                                 "return v.annotationState()[v.client.pid]; }")
        assert len(state) == 1 and state[0]["color"] == "#ff3b30"
        assert all(0 <= x <= 1 and 0 <= y <= 1 for x, y in state[0]["points"])
        ink = wait_until(lambda: (r := shopper.evaluate(SELF_CANVAS_INK))["ink"] > 50 and r, what="ink on the canvas")
        assert ink["strokes"] == 1
        agent.screenshot(path=shots / "03_console_drawing.png")
        shopper.screenshot(path=shots / "04_shop_sees_drawing.png")

        sent = {(i, n): t for i, n, t in agent.evaluate("window.__annSent")}
        recv = {(i, n): t for i, n, t in shopper.evaluate("window.__annRecv")}
        lat = [recv[k] - sent[k] for k in sent if k in recv]
        assert len(lat) >= 5, (sent, recv)
        print(f"annotation latency ms: n={len(lat)} median={statistics.median(lat)} max={max(lat)}")
        # a loaded CI machine can hold one stroke back (1.1 s seen once); the typical one must be quick
        assert statistics.median(lat) < 200 and max(lat) < 2000, lat

        saved = server.sql("select data from room_events where kind='annotation'")
        assert saved and '"op": "stroke"' in saved[-1][0].replace('":"', '": "')

        # undo removes it on both sides
        agent.get_by_test_id("draw-undo").click()
        wait_until(lambda: shopper.evaluate("() => { const v = __callView(); "
                                       "return (v.annotationState()[v.client.pid] || []).length === 0; }"),
              what="undo on the shopper side")
        # ---- quality telemetry: both sides report every 5 s; the indicator shows a good loopback link
        for p in (agent, shopper):
            p.wait_for_function("() => { const q = __callView().shadowRoot"
                                ".querySelector('[data-testid=network-quality]'); return q && !q.hidden"
                                " && Number(q.dataset.level) >= 3; }", timeout=15000)
        call_id = agent.evaluate("window.shopcall.currentCall.call")
        report = agent.evaluate("async (id) => (await fetch(`/v1/console/calls/${id}/quality`)).json()", call_id)
        people = {p["identity"]: p for p in report["participants"]}
        assert people["cus_1001"]["samples"] >= 1 and people["cus_1001"]["mos_avg"] > 4
        assert len(people) == 2

        # ---- notes and outcome are saved with the call
        agent.get_by_test_id("call-notes").fill("Loves the H1; wants black, ships tomorrow")
        agent.get_by_test_id("outcome-sold").click()
        agent.get_by_test_id("save-notes").click()
        notes = wait_until(lambda: server.sql("select text, outcome, customer_id from call_notes"), what="note row")
        assert notes[-1] == ("Loves the H1; wants black, ships tomorrow", "sold", "cus_1001")
        agent.screenshot(path=shots / "05_console_crm_notes.png")
        end_call(agent, shopper)
    finally:
        actx.close()
        sctx.close()


def test_agent_screen_share_reaches_the_shopper_as_a_second_video(server, browser, shots) -> None:
    actx, agent = new_page(browser, 1366, 860)
    agent.add_init_script(CALL_VIEW)
    sctx, shopper = new_page(browser, 1280, 800)
    shopper.add_init_script(CALL_VIEW)
    try:
        sign_in_agent(agent, server.base, "anna")
        start_call(shopper, server.base)
        answer_call(agent, shopper)

        agent.get_by_test_id("toggle-screen").click()
        screen_video = shopper.locator(".tile.screen video")
        screen_video.wait_for(timeout=15000)

        def decoded_videos():
            st = shopper.evaluate("""async () => {
                const out = [];
                for (const pc of window.__pcs) {
                  if (pc.connectionState === 'closed') continue;
                  (await pc.getStats()).forEach(s => {
                    if (s.type === 'inbound-rtp' && s.kind === 'video')
                      out.push({frames: s.framesDecoded || 0, width: s.frameWidth || 0, height: s.frameHeight || 0});
                  });
                }
                return out; }""")
            good = [v for v in st if v["frames"] > 30 and v["width"] > 0]
            return good if len(good) >= 2 else None

        videos = wait_until(decoded_videos, timeout=20, what="camera and screen both decoded")
        # bandwidth priority while sharing: the screen high, the camera's layers capped
        prio = agent.evaluate("""() => { const c = window.shopcall.client;
            const enc = (pc) => pc.getSenders().filter(s => s.track && s.track.kind === 'video')
                                  .flatMap(s => s.getParameters().encodings);
            return {screen: enc(c.screenPc), camera: enc(c.publisherPc)}; }""")
        assert all(e.get("priority") == "high" for e in prio["screen"]), prio
        assert prio["camera"] and all(e.get("maxBitrate", 0) <= 400_000 for e in prio["camera"]), prio
        assert any(v["width"] >= 1000 for v in videos), videos  # the 1280x720 screen, next to the camera
        assert shopper.evaluate("() => __callView().shadowRoot"
                                ".querySelector('.remotes').dataset.layout") == "screen"
        box = screen_video.bounding_box()
        assert box and box["width"] > 600  # shown large
        # drawing now lands on the shared screen
        agent.get_by_test_id("toggle-draw").click()
        canvas = agent.locator(".tile.screen [data-testid=annotation-canvas]")
        cb = canvas.bounding_box()
        agent.mouse.move(cb["x"] + cb["width"] * 0.3, cb["y"] + cb["height"] * 0.3)
        agent.mouse.down()
        agent.mouse.move(cb["x"] + cb["width"] * 0.6, cb["y"] + cb["height"] * 0.5, steps=12)
        agent.mouse.up()
        wait_until(lambda: agent.evaluate("() => { const v = __callView(); "
                                     "return Object.keys(v.annotationState()).some(k => k.endsWith(':screen') "
                                     "&& v.annotationState()[k].length === 1); }"), what="stroke on the agent's screen")
        time.sleep(1)
        shopper.screenshot(path=shots / "06_shop_sees_screen_share.png")
        agent.screenshot(path=shots / "07_console_sharing_screen.png")
        agent.get_by_test_id("toggle-screen").click()
        wait_until(lambda: shopper.locator(".tile.screen").count() == 0, what="screen tile removed")
        agent.get_by_test_id("end-call").click()
    finally:
        actx.close()
        sctx.close()
