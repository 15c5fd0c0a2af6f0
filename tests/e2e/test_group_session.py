"""A group session: 1 agent hosts, 4 shoppers join by link (2 with camera, 2 without); all see the agent."""

from __future__ import annotations

import time

import pytest

from tests.e2e.browser import new_page
from tests.e2e.journeys import sign_in_agent
from tests.e2e.polling import wait_until

pytestmark = pytest.mark.e2e

AGENT_VIDEO = """async () => {
  const c = window.shopcall && window.shopcall.client;
  if (!c) return null;
  const host = [...c.participants.values()].find(p => p.role === 'agent' || p.role === 'admin');
  const sub = host && c.subscriptions.get(host.pid);
  if (!sub || !sub.pc) return null;
  let frames = 0, width = 0;
  (await sub.pc.getStats()).forEach(s => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') { frames = s.framesDecoded || 0; width = s.frameWidth || 0; }
  });
  return {frames, width};
}"""


@pytest.mark.xfail(strict=False, reason="known gap (issue 12): five Chromium pages on 2 cores stall for more than "
                   "the 8 s liveness timeout; the server drops the stalled guests and then the host, releases their "
                   "media, and the host's end-call may not reach the server (SDK log in test-artifacts/group_session)")
def test_group_session_with_four_shoppers(server, browser, shots) -> None:
    contexts = []

    def page(w: int, h: int):
        ctx, p = new_page(browser, w, h)
        contexts.append(ctx)
        return p

    try:
        host = page(1366, 860)
        # the console's SDK log (debug) and connection states, printed if the test fails
        host_log: list[str] = []
        host.add_init_script("localStorage.setItem('shopcall-debug', '1')")
        host.on("console", lambda m: host_log.append(f"{time.monotonic():.2f} {m.type} {m.text[:240]}"))
        sign_in_agent(host, server.base, "ben")
        host.get_by_test_id("host-session").click()
        link_box = host.get_by_test_id("session-link")
        link_box.wait_for(timeout=10000)
        link = link_box.input_value()
        assert "/join/" in link and "invite=" in link

        guests = []
        for i, (name, camera) in enumerate([("Ada", True), ("Bo", True), ("Cy", False), ("Di", False)]):
            g = page(900, 640)
            g.goto(link)
            g.get_by_test_id("join-name").fill(name)
            if not camera:
                g.get_by_test_id("join-camera").uncheck()
            if i == 0:
                g.wait_for_function("() => { const v = document.querySelector('shopcall-precall')"
                                    ".shadowRoot.querySelector('video'); return v && v.videoWidth > 0; }")
                g.screenshot(path=shots / "01_join_page.png")
            g.get_by_test_id("join-button").click()
            guests.append((name, camera, g))

        # every shopper decodes the agent's video
        for name, _, g in guests:
            got = wait_until(lambda g=g: (r := g.evaluate(AGENT_VIDEO)) and r["frames"] > 30 and r["width"] > 0 and r,
                        timeout=45, what=f"{name} decoding the agent's video")
            assert got["frames"] > 30
        wait_until(lambda: "4 shoppers" in host.get_by_test_id("session-count").inner_text(), 10, "4 shoppers counted")
        # cameras are optional: only Ada and Bo publish video; the host sees 4 tiles
        assert host.locator(".tile").count() == 4
        time.sleep(1.5)
        host.screenshot(path=shots / "02_console_hosting.png")
        guests[0][2].screenshot(path=shots / "03_guest_view.png")

        # before any spotlight the host's stage follows the loudest voice (audio level from getStats)
        speaker = wait_until(lambda: host.evaluate("""() => { const v = document.querySelector('shopcall-call');
            const lv = v.audioLevels || {}; return v.activeSpeaker && Object.values(lv).some(x => x > 0.02)
              && v.activeSpeaker; }"""), 15, "an active speaker")
        assert host.evaluate("() => document.querySelector('shopcall-call').shadowRoot"
                             ".querySelector('.remotes').dataset.main") == speaker

        # spotlight Bo: every guest's main stage follows
        bo_pid = guests[1][2].evaluate("window.shopcall.client.pid")
        bo_tile = host.locator(f'.tile[data-pid="{bo_pid}"]')
        # tiles move as the active speaker changes, so the buttons are clicked by event, not by pointer
        bo_tile.get_by_test_id("mod-spotlight").dispatch_event("click")
        for name, _, g in guests:
            if name == "Bo":
                continue
            wait_until(lambda g=g: g.evaluate("() => document.querySelector('shopcall-call').shadowRoot"
                                         ".querySelector('.remotes').dataset.main") == bo_pid,
                  10, f"{name}'s stage on Bo")
        guests[0][2].screenshot(path=shots / "04_guest_spotlight.png")

        # mute Cy, remove Di
        cy_pid = guests[2][2].evaluate("window.shopcall.client.pid")
        t = host.locator(f'.tile[data-pid="{cy_pid}"]')
        t.get_by_test_id("mod-mute").dispatch_event("click")
        wait_until(lambda: guests[2][2].evaluate("window.shopcall.client.muted.audio") is True, 10, "Cy muted")
        di_pid = guests[3][2].evaluate("window.shopcall.client.pid")
        t = host.locator(f'.tile[data-pid="{di_pid}"]')
        t.get_by_test_id("mod-remove").dispatch_event("click")
        guests[3][2].get_by_text("removed you from the session").wait_for(timeout=10000)
        wait_until(lambda: host.locator(".tile").count() == 3, 10, "Di's tile gone")
        guests[3][2].screenshot(path=shots / "05_guest_removed.png")
        # a busy machine can make the console reconnect (heartbeat); end only on a live connection
        wait_until(lambda: host.evaluate("window.shopcall.client.state") == "connected", 20, "the host connected")
        host.get_by_test_id("end-call").click()
        for _name, _, g in guests[:3]:
            g.get_by_text("The session has ended").wait_for(timeout=20000)
    except BaseException:
        (shots / "host_console.log").write_text("\n".join(host_log))
        print("\n".join(host_log[-60:]))
        raise
    finally:
        for c in contexts:
            c.close()
