"""ICE restarts through JanusBackend against a real Janus, with real WebRTC endpoints (headless Chromium; aiortc
cannot restart ICE): the publisher's `configure` + `restart` and the subscriber's `configure` + `restart` each
renegotiate fresh ICE credentials on the SAME Janus handle (no re-publish: same feed id, same subscription), the
browser's media then runs over the restarted pair, and frames keep arriving at the subscriber."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shopcall.media.backend import MediaError, RoomSpec
from shopcall.media.janus_backend import JanusBackend
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS
from tests.integration.test_janus_backend import Events, backend  # noqa: F401  (the real-Janus fixture)

pytestmark = pytest.mark.e2e  # drives a browser

# Two peer connections in one page: `pub` sends an animated canvas, `sub` receives. Offers and answers are
# returned once ICE gathering is complete, so the SDP carries every candidate (no trickle needed).
PAGE = """
window.gathered = (pc) => pc.iceGatheringState === 'complete' ? Promise.resolve() : new Promise((ok) => {
  pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') ok(); });
});
window.pub = new RTCPeerConnection();
window.sub = new RTCPeerConnection();
const canvas = Object.assign(document.createElement('canvas'), {width: 320, height: 240});
const g = canvas.getContext('2d');
let n = 0;
setInterval(() => { g.fillStyle = `hsl(${(n += 7) % 360} 80% 50%)`; g.fillRect(0, 0, 320, 240); }, 40);
pub.addTransceiver(canvas.captureStream(25).getVideoTracks()[0], {direction: 'sendonly'});
window.ufrag = (sdp) => (/a=ice-ufrag:(\\S+)/.exec(sdp) || [])[1];
window.offer = async (restart) => {
  await pub.setLocalDescription(await pub.createOffer({iceRestart: restart}));
  await gathered(pub);
  return pub.localDescription.sdp;
};
window.answer = async (offerSdp) => {
  await sub.setRemoteDescription({type: 'offer', sdp: offerSdp});
  await sub.setLocalDescription(await sub.createAnswer());
  await gathered(sub);
  return sub.localDescription.sdp;
};
window.frames = async () => {
  let f = 0;
  (await sub.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') f += s.framesDecoded || 0;
  });
  return f;
};
// the ICE username fragment of the local candidate in the selected pair: which credentials carry the media
window.pathUfrag = async (pc) => {
  const st = await pc.getStats();
  let pair = null;
  st.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = st.get(s.selectedCandidatePairId);
  });
  const local = pair && st.get(pair.localCandidateId);
  return local ? local.usernameFragment : null;
};
"""


@pytest.fixture
async def page() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            p = await browser.new_page()
            await p.evaluate(f"() => {{ {PAGE} }}")
            yield p
        finally:
            await browser.close()


async def wait_for(what: str, probe: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def frames_advance(page: Any, by: int = 20) -> None:
    start = await page.evaluate("frames()")
    await wait_for(f"{by} more decoded frames", lambda: _more(page, start + by))


async def _more(page: Any, target: int) -> bool:
    return bool(await page.evaluate("frames()") >= target)


def ufrag(sdp: str) -> str:
    m = re.search(r"a=ice-ufrag:(\S+)", sdp)
    assert m, sdp
    return m.group(1)


async def test_publisher_and_subscriber_restart_ice_on_the_same_handles(backend: JanusBackend,  # noqa: F811
                                                                        page: Any) -> None:
    room = RoomSpec("rm_ice_restart", max_publishers=2, bitrate_bps=500_000)
    pub_events, sub_events = Events(), Events()
    alice = await backend.open_session("ice/alice", pub_events)
    bob = await backend.open_session("ice/bob", sub_events)
    try:
        await alice.join_publisher(room, 4242, "Alice")
        with pytest.raises(MediaError) as e:
            await alice.restart_publisher(await page.evaluate("offer(false)"))
        assert e.value.code == "not_publishing"  # joined, nothing published yet: re-publish, not restart

        answer = await alice.publish(await page.evaluate("offer(false)"))
        await page.evaluate("(sdp) => pub.setRemoteDescription({type: 'answer', sdp})", answer)
        await pub_events.wait_for("up", "publisher", timeout=15)
        sid, offer = await bob.subscribe(room, 4242)
        await bob.start(sid, await page.evaluate("(sdp) => answer(sdp)", offer))
        await sub_events.wait_for("up", sid, timeout=15)
        await frames_advance(page)
        pub_handle, sub_handle = alice._publisher, bob._subs[sid]
        assert pub_handle is not None
        handles_before = {pub_handle.id, sub_handle.id}
        old_pub_ufrag = await page.evaluate("ufrag(pub.localDescription.sdp)")

        # publisher: a new offer with fresh ICE credentials, configure + restart on the same handle
        restart_offer = await page.evaluate("offer(true)")
        assert ufrag(restart_offer) != old_pub_ufrag
        restart_answer = await alice.restart_publisher(restart_offer)
        assert ufrag(restart_answer) != ufrag(answer), "Janus restarted its side of ICE too"
        await page.evaluate("(sdp) => pub.setRemoteDescription({type: 'answer', sdp})", restart_answer)
        await wait_for("the publisher's media on the restarted pair",
                       lambda: _uses(page, "pub", ufrag(restart_offer)))
        await frames_advance(page)
        assert alice._publisher is pub_handle and alice._feed == (room.key, 4242)

        # subscriber: configure + restart makes Janus offer again on the same handle; `start` answers
        restart_sub_offer = await bob.restart_subscription(sid)
        assert ufrag(restart_sub_offer) != ufrag(offer)
        sub_answer = await page.evaluate("(sdp) => answer(sdp)", restart_sub_offer)
        await bob.start(sid, sub_answer)
        await wait_for("the subscription's media on the restarted pair", lambda: _uses(page, "sub", ufrag(sub_answer)))
        await frames_advance(page)
        assert bob._subs[sid] is sub_handle
        assert backend.admin is not None
        handles_now = set()
        for s in await backend.admin.list_sessions():
            handles_now |= set(await backend.admin.list_handles(s))
        assert handles_now == handles_before  # nothing was re-created

        with pytest.raises(MediaError) as e:
            await bob.restart_subscription("sub-unknown")
        assert e.value.code == "no_such_subscription"
    finally:
        await alice.close()
        await bob.close()
    await backend.destroy_room(room.key)


async def _uses(page: Any, pc: str, want: str) -> bool:
    return bool(await page.evaluate(f"pathUfrag({pc})") == want)
