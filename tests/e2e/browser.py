"""Headless Debian Chromium for browser tests and benchmarks: how it is launched, pages with a
getStats() probe over every RTCPeerConnection, and the inbound-media checks built on it."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


def launch(playwright: Any, extra_args: Sequence[str] = (), executable: str = CHROMIUM) -> Any:
    """Chromium with fake camera and microphone (plus `extra_args`); `executable` may wrap it (bench/netimpair)."""
    return playwright.chromium.launch(executable_path=executable, args=[*CHROMIUM_ARGS, *extra_args])


# Installed before any page script: records every RTCPeerConnection so tests can read getStats().
PC_PROBE = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    window.__pcs.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
  Object.setPrototypeOf(window.RTCPeerConnection, Native);
})();
"""

INBOUND_STATS = """
async (since) => {
  const out = {video: [], audio: [], pcs: window.__pcs.length, open: 0};
  for (const pc of window.__pcs.slice(since || 0)) {
    if (pc.connectionState === 'closed') continue;
    out.open += 1;
    const stats = await pc.getStats();
    stats.forEach(s => {
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'video') out.video.push({framesDecoded: s.framesDecoded || 0, frameWidth: s.frameWidth || 0,
                                              frameHeight: s.frameHeight || 0, bytes: s.bytesReceived || 0});
      if (s.kind === 'audio') out.audio.push({totalSamplesReceived: s.totalSamplesReceived || 0,
                                              concealedSamples: s.concealedSamples || 0});
    });
  }
  return out;
}
"""


def scripted_context(browser: Any) -> Any:
    """A context for pages a test or benchmark writes into the server's origin itself (`set_content` with an
    inline module script, string predicates): the server's pages allow only its own script files (CSP), which
    is right for its pages and beside the point for these stand-ins of a merchant's page."""
    return browser.new_context(bypass_csp=True)


def new_page(browser: Any, width: int = 1280, height: int = 800) -> tuple[Any, Any]:
    """(context, page) of the given viewport, with the peer-connection probe installed; close the context."""
    ctx = browser.new_context(viewport={"width": width, "height": height})
    ctx.add_init_script(PC_PROBE)
    return ctx, ctx.new_page()


def inbound(page: Any, since: int = 0) -> dict[str, Any]:
    """Inbound RTP stats of the page's open peer connections created after the first `since`."""
    return page.evaluate(INBOUND_STATS, since)


def wait_for_media(page: Any, *, frames: int = 30, timeout_s: float = 30, since: int = 0) -> dict[str, Any]:
    """Poll getStats() until some inbound video has decoded `frames` frames and audio samples arrived."""
    deadline = time.monotonic() + timeout_s
    stats: dict[str, Any] = {}
    while time.monotonic() < deadline:
        stats = inbound(page, since)
        v = max((x["framesDecoded"] for x in stats["video"]), default=0)
        a = max((x["totalSamplesReceived"] for x in stats["audio"]), default=0)
        if v > frames and a > 0:
            return stats
        time.sleep(0.5)
    return stats
