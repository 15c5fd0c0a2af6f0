"""ICE restart in real Chromium against the real server and Janus (loopback): a network change restarts the
shopper's publisher and subscription in place — same peer connections, same Janus handles and feed, new ICE
credentials — and video keeps decoding both ways; a stalled remote video shows "Reconnecting…" in the call
view within 3 s and clears when frames flow again."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest

from tests.e2e.browser import inbound, new_page, wait_for_media
from tests.e2e.journeys import answer_call, sign_in_agent, start_call
from tests.e2e.polling import wait_until

pytestmark = pytest.mark.e2e

# What each page's SDK client says about its peer connections (the SDK's own objects, not the probe's).
CLIENT_STATE = """() => {
  const c = (window.ShopCall || window.shopcall).client;
  const ufrag = (pc) => {
    const m = pc && pc.localDescription && /a=ice-ufrag:(\\S+)/.exec(pc.localDescription.sdp);
    return m ? m[1] : null;
  };
  const subs = [...c.subscriptions.values()].map((s) => ({pid: s.pid, sid: s.sid, ufrag: ufrag(s.pc),
                                                         ice: s.pc ? s.pc.iceConnectionState : null}));
  return {pid: c.pid, pcs: window.__pcs.length, restarts: c.iceRestarts || 0,
          pub: {ufrag: ufrag(c.publisherPc), ice: c.publisherPc ? c.publisherPc.iceConnectionState : null}, subs};
}"""

# Records the SDK's ice-restart / media-health events and the call view's media-stall events, with times.
RECORDER = """() => {
  window.__ev = [];
  const c = (window.ShopCall || window.shopcall).client;
  const log = (t) => (e) => window.__ev.push({t, d: e.detail, at: Date.now()});
  for (const t of ["ice-restart", "media-health"]) c.addEventListener(t, log(t));
  document.addEventListener("media-stall", log("media-stall"));
}"""


def janus_handles(server: Any) -> dict[int, dict[str, Any]]:
    """Every Janus handle now: id → (session, plugin-specific state: publisher feed id or subscriber streams)."""
    from shopcall.media.janus_config import read_admin_endpoint

    url, secret = read_admin_endpoint(server.data_dir / "janus")

    def admin(path: str, request: str) -> dict[str, Any]:
        body = {"janus": request, "transaction": "t", "admin_secret": secret}
        reply: dict[str, Any] = httpx.post(f"{url.rstrip('/')}/{path}", json=body, timeout=5).json()
        assert reply.get("janus") == "success", reply
        return reply

    out = {}
    for sid in server.janus_sessions():
        for hid in admin(str(sid), "list_handles").get("handles", []):
            info = admin(f"{sid}/{hid}", "handle_info").get("info", {})
            out[hid] = {"session": sid, "plugin": info.get("plugin_specific", {})}
    return out


def publisher_feeds(handles: dict[int, dict[str, Any]]) -> list[Any]:
    return sorted(h["plugin"].get("id") for h in handles.values() if h["plugin"].get("type") == "publisher")


def settled(handles: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]] | None:
    """The handles once the call is in its steady shape: 2 publishers with feed ids and 2 subscribers."""
    feeds = publisher_feeds(handles)
    subscribers = [h for h in handles.values() if h["plugin"].get("type") == "subscriber"]
    return handles if len(feeds) == 2 and all(feeds) and len(subscribers) == 2 else None


def decoded(page: Any) -> list[int]:
    return [v["framesDecoded"] for v in inbound(page)["video"]]


def frames_keep_coming(page: Any, seconds: float = 2.0) -> None:
    before = max(decoded(page))
    wait_until(lambda: max(decoded(page)) > before + 10, timeout=seconds + 8, what="video frames decoding")


def test_network_change_restarts_ice_in_place_and_media_keeps_flowing(server, browser, shots) -> None:
    actx, agent = new_page(browser)
    sctx, shopper = new_page(browser, 390, 844)
    try:
        sign_in_agent(agent, server.base, "anna")
        start_call(shopper, server.base, name="Maja")
        answer_call(agent, shopper)
        wait_until(lambda: shopper.evaluate(CLIENT_STATE)["pub"]["ice"] in ("connected", "completed"), 15,
                   "the shopper's publisher connected")
        shopper.evaluate(RECORDER)
        before = shopper.evaluate(CLIENT_STATE)
        handles_before = wait_until(lambda: settled(janus_handles(server)), 15,
                                    "two publishers with feeds and one subscriber each on Janus")
        feeds_before = publisher_feeds(handles_before)
        assert before["subs"] and before["restarts"] == 0

        # the device's network changes: the SDK restarts ICE on the publisher and the subscription at once
        shopper.evaluate("() => window.dispatchEvent(new Event('online'))")
        wait_until(lambda: shopper.evaluate(CLIENT_STATE)["restarts"] >= 2, 10, "two ICE restarts")

        def restarted() -> bool:
            now = shopper.evaluate(CLIENT_STATE)
            return (now["pub"]["ufrag"] != before["pub"]["ufrag"] and now["pub"]["ice"] in ("connected", "completed")
                    and all(s["ufrag"] != b["ufrag"] and s["ice"] in ("connected", "completed")
                            for s, b in zip(now["subs"], before["subs"], strict=True)))

        wait_until(restarted, 15, "both connections restarted (new ICE credentials) and connected again")
        after = shopper.evaluate(CLIENT_STATE)
        # in place: no new peer connection, same participant, same subscription; Janus kept every handle and feed
        assert after["pcs"] == before["pcs"], (before, after)
        assert after["pid"] == before["pid"]
        assert [s["sid"] for s in after["subs"]] == [s["sid"] for s in before["subs"]]
        handles_after = janus_handles(server)
        assert sorted(handles_after) == sorted(handles_before)
        assert publisher_feeds(handles_after) == feeds_before
        events = shopper.evaluate("() => window.__ev")
        restarts = [e["d"] for e in events if e["t"] == "ice-restart"]
        assert {r["target"] for r in restarts} == {"publisher", "subscription"}, restarts
        assert all(r["reason"] == "network_change" for r in restarts)
        # media keeps flowing both ways over the restarted paths
        frames_keep_coming(shopper)
        frames_keep_coming(agent)
        shopper.screenshot(path=shots / "01_after_restart.png")

        # the agent's camera stalls: the shopper's call view says "Reconnecting…" within 3 s, then clears
        shopper.evaluate("() => { window.__ev.length = 0; }")
        agent.evaluate("""() => {
          const s = window.shopcall.client.publisherPc.getSenders().find((x) => x.track && x.track.kind === 'video');
          window.__stalledTrack = s.track;
          window.__stalledSender = s;
          return s.replaceTrack(null);
        }""")
        stalled_at = time.time() * 1000
        overlay = shopper.get_by_test_id("media-reconnecting")
        overlay.filter(visible=True).first.wait_for(timeout=5000)
        shown_ms = shopper.evaluate("() => (window.__ev.find((e) => e.t === 'media-stall' && e.d.stalled) || {}).at") \
            - stalled_at
        assert re.search("Reconnecting", overlay.filter(visible=True).first.inner_text())
        shopper.screenshot(path=shots / "02_reconnecting.png")
        print(f"'Reconnecting…' shown {shown_ms:.0f} ms after the agent's video stopped")
        assert shown_ms < 3000, shown_ms
        agent.evaluate("() => window.__stalledSender.replaceTrack(window.__stalledTrack)")
        restored_at = time.time() * 1000
        wait_until(lambda: not overlay.filter(visible=True).count(), 8, "'Reconnecting…' cleared")
        cleared_ms = shopper.evaluate(
            "() => (window.__ev.filter((e) => e.t === 'media-stall' && !e.d.stalled).pop() || {}).at") - restored_at
        print(f"cleared {cleared_ms:.0f} ms after frames resumed")
        frames_keep_coming(shopper)
        shopper.screenshot(path=shots / "03_reconnected.png")
        # the agent's console names each participant's media path (direct on loopback)
        path = agent.get_by_test_id("participant-path").first
        path.wait_for(timeout=15000)
        assert path.get_attribute("data-path") == "direct"
        assert path.inner_text() == "Direct"
        assert wait_for_media(agent)["video"]
        # the stall was the sender's, not a path problem: no further restarts (and none before the network change)
        assert shopper.evaluate(CLIENT_STATE)["restarts"] == after["restarts"] == 2
    finally:
        actx.close()
        sctx.close()
