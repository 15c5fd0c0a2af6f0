"""JanusBackend against a real Janus (Debian's /usr/bin/janus) on free loopback ports.

The publish/subscribe test drives a real WebRTC stack (aiortc) through ICE, DTLS and
media, so "up" events and a decoded frame prove that Janus relays media, not only SDP.
A recorded Chromium 156 offer (with simulcast) checks Janus accepts what browsers send.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shopcall.config import Settings
from shopcall.media.backend import MediaError, MediaEvent, RoomSpec
from shopcall.media.janus_backend import JanusBackend

DATA = Path(__file__).parent / "data"

def janus_pids_using(folder: Path) -> list[int]:
    """PIDs of janus processes started with our config folder (from /proc, no pkill)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmdline and cmdline[0].endswith(b"janus") and str(folder).encode() in cmdline:
            pids.append(int(entry.name))
    return pids


class Events:
    """Collects MediaEvents and lets a test wait for one."""

    def __init__(self) -> None:
        self.items: list[MediaEvent] = []
        self._changed = asyncio.Event()

    async def __call__(self, event: MediaEvent) -> None:
        self.items.append(event)
        self._changed.set()

    async def wait_for(self, kind: str, target: str, timeout: float = 10.0) -> MediaEvent:
        deadline = time.monotonic() + timeout
        while True:
            for e in self.items:
                if e.kind == kind and e.target == target:
                    return e
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {kind!r} event for {target!r}; got {self.items}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass


@pytest.fixture
async def backend(janus_settings: Settings) -> AsyncIterator[JanusBackend]:
    b = JanusBackend(janus_settings, request_timeout=5.0)
    await b.start()
    try:
        yield b
    finally:
        await b.stop()


async def test_chromium_offer_is_answered(backend: JanusBackend) -> None:
    assert await backend.healthy()
    offer = (DATA / "chromium156_offer.sdp").read_text()
    session = await backend.open_session("chromium", Events())
    await session.join_publisher(RoomSpec("rm_chromium"), 11, "Chromium")
    answer = await session.publish(offer)
    assert answer.startswith("v=0")
    assert "m=audio" in answer and "m=video" in answer
    assert "a=recvonly" in answer and "VP8/90000" in answer and "opus/48000" in answer
    assert "a=simulcast:recv h;m;l" in answer  # Janus accepted Chromium's three layers
    assert "a=candidate:" in answer  # half-trickle: Janus's candidates are in the SDP
    await session.close()
    await session.close()  # idempotent
    assert (await backend.stats())["sessions"] == 0


def _swap_opus_red(sdp: str) -> str:
    """What the web SDK's swapOpusAndRed does to Chromium's offer: Opus 111 ↔ RED 63 (audio only)."""
    head, audio_and_rest = sdp.split("m=audio", 1)
    audio, rest = audio_and_rest.split("m=video", 1)
    audio = re.sub(r"^(a=(?:rtpmap|fmtp|rtcp-fb):)(111|63)\b", lambda m: m.group(1) + {"111": "63", "63": "111"}[
        m.group(2)], audio, flags=re.M)
    audio = audio.replace(" 111 63 ", " 63 111 ", 1).replace("a=fmtp:111 111/111", "a=fmtp:111 63/63")
    return head + "m=audio" + audio + "m=video" + rest


async def test_red_audio_is_negotiated_through_the_videoroom(backend: JanusBackend) -> None:
    offer = _swap_opus_red((DATA / "chromium156_offer.sdp").read_text())
    assert "a=rtpmap:111 red/48000/2" in offer and "a=rtpmap:63 opus/48000/2" in offer
    room = RoomSpec("rm_red")
    alice = await backend.open_session("red/alice", Events())
    bob = await backend.open_session("red/bob", Events())
    try:
        await alice.join_publisher(room, 21, "Alice")
        answer = await alice.publish(offer)
        audio = answer.split("m=audio", 1)[1].split("m=video", 1)[0]
        assert audio.split("\r\n", 1)[0].split()[2:4] == ["111", "63"]  # RED first, then Opus
        assert "a=rtpmap:111 red/48000/2" in audio and "a=fmtp:111 63/63" in audio
        # (what subscribers are offered needs a publisher with live media: the e2e noise test decodes
        # received audio through it, and bench/weaknet.py measures it under loss)
        assert backend._red[(room.key, 21)].opus_pt == 63
        await alice.unpublish()
        assert (room.key, 21) not in backend._red
    finally:
        await alice.close()
        await bob.close()
    # an unswapped offer (Opus still 111) is answered as Janus does: Opus only
    carol = await backend.open_session("red/carol", Events())
    try:
        await carol.join_publisher(room, 22, "Carol")
        plain_answer = await carol.publish((DATA / "chromium156_offer.sdp").read_text())
        assert "red/48000" not in plain_answer
    finally:
        await carol.close()
    await backend.destroy_room(room.key)


async def test_publish_subscribe_media_and_cleanup(backend: JanusBackend) -> None:
    aiortc = pytest.importorskip("aiortc")
    from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

    room = RoomSpec("rm_test", max_publishers=3, bitrate_bps=500_000)
    pub_events, sub_events = Events(), Events()
    alice = await backend.open_session("app/alice", pub_events)
    bob = await backend.open_session("app/bob", sub_events)
    pc_pub = aiortc.RTCPeerConnection()
    pc_sub = aiortc.RTCPeerConnection()
    try:
        await alice.join_publisher(room, 1001, "Alice")
        pc_pub.addTrack(AudioStreamTrack())
        pc_pub.addTrack(VideoStreamTrack())
        await pc_pub.setLocalDescription(await pc_pub.createOffer())
        answer = await alice.publish(pc_pub.localDescription.sdp)
        assert "m=audio" in answer and "m=video" in answer
        await pc_pub.setRemoteDescription(aiortc.RTCSessionDescription(answer, "answer"))
        await pub_events.wait_for("up", "publisher")  # Janus's webrtcup: ICE + DTLS done

        sid, offer = await bob.subscribe(room, 1001)
        assert offer.startswith("v=0") and "m=audio" in offer and "m=video" in offer
        tracks: asyncio.Queue = asyncio.Queue()
        pc_sub.on("track", tracks.put_nowait)
        await pc_sub.setRemoteDescription(aiortc.RTCSessionDescription(offer, "offer"))
        await pc_sub.setLocalDescription(await pc_sub.createAnswer())
        await bob.start(sid, pc_sub.localDescription.sdp)
        await bob.trickle(sid, None)  # end-of-candidates is accepted
        await sub_events.wait_for("up", sid)
        video = None
        while video is None:
            t = await asyncio.wait_for(tracks.get(), 5)
            video = t if t.kind == "video" else None
        frame = await asyncio.wait_for(video.recv(), 10)  # a frame relayed through Janus
        assert frame.width > 0 and frame.height > 0
        await bob.configure_subscription(sid, substream=0, temporal=0)

        stats = await backend.stats()
        assert stats == {"sessions": 2, "handles": 2, "rooms": 1}
        assert backend.admin is not None
        assert len(await backend.admin.list_sessions()) == 2

        await bob.unsubscribe(sid)
        await bob.unsubscribe(sid)  # idempotent
        with pytest.raises(MediaError) as e:
            await bob.start(sid, "v=0\r\n")
        assert e.value.code == "no_such_subscription"
        await alice.unpublish()
        await pub_events.wait_for("down", "publisher")
    finally:
        await pc_pub.close()
        await pc_sub.close()
        await alice.close()
        await bob.close()
    stats = await backend.stats()
    assert stats["sessions"] == 0 and stats["handles"] == 0
    assert await backend.admin.list_sessions() == []
    await backend.destroy_room(room.key)
    await backend.destroy_room(room.key)  # idempotent
    assert (await backend.stats())["rooms"] == 0


async def test_errors_are_media_errors(backend: JanusBackend) -> None:
    s = await backend.open_session("errs", Events())
    with pytest.raises(MediaError) as e:
        await s.publish("v=0\r\n")
    assert e.value.code == "not_in_room"
    room = RoomSpec("rm_err")
    await s.join_publisher(room, 7, "Err")
    with pytest.raises(MediaError) as e:
        await s.subscribe(room, 999)  # nobody publishes feed 999
    assert e.value.code == "no_such_publisher"
    with pytest.raises(MediaError):
        await s.publish("this is not SDP")
    other = await backend.open_session("dup", Events())
    with pytest.raises(MediaError):
        await other.join_publisher(room, 7, "Same feed id")
    await other.close()
    await s.close()
    assert (await backend.stats())["handles"] == 0


async def test_janus_crash_is_restarted_and_reported(backend: JanusBackend, janus_settings: Settings) -> None:
    resets: asyncio.Queue[str] = asyncio.Queue()

    async def on_reset(reason: str) -> None:
        await resets.put(reason)

    backend.on_reset(on_reset)
    room = RoomSpec("rm_crash")
    s = await backend.open_session("crash", Events())
    await s.join_publisher(room, 5, "Before")
    old_pid = backend.pid
    assert old_pid is not None
    os.kill(old_pid, signal.SIGKILL)
    reason = await asyncio.wait_for(resets.get(), 15)
    assert reason == "media_server_restarted"
    assert backend.pid is not None and backend.pid != old_pid
    assert await backend.healthy()
    assert (await backend.stats()) == {"sessions": 0, "handles": 0, "rooms": 0}
    assert backend.room_id(room.key) is None  # state was cleared
    # The old session object works again: it opens a new Janus session and re-creates the room.
    await s.join_publisher(room, 5, "After")
    assert (await backend.stats())["rooms"] == 1
    await s.close()

    folder = backend.config_dir
    new_pid = backend.pid
    await backend.stop()
    assert backend.pid is None
    assert not Path(f"/proc/{new_pid}").exists()
    assert janus_pids_using(folder) == []
    assert not await backend.healthy()


async def test_lost_websocket_resets_state(backend: JanusBackend) -> None:
    """Janus drops the sessions of a closed WebSocket: the backend reconnects and resets."""
    resets: asyncio.Queue[str] = asyncio.Queue()

    async def on_reset(reason: str) -> None:
        await resets.put(reason)

    backend.on_reset(on_reset)
    pid = backend.pid
    s = await backend.open_session("ws-loss", Events())
    await s.join_publisher(RoomSpec("rm_ws"), 3, "Before")
    assert backend._client is not None and backend._client._ws is not None
    await backend._client._ws.close()  # as if the connection broke
    assert await asyncio.wait_for(resets.get(), 10) == "media_connection_lost"
    assert backend.pid == pid  # Janus itself kept running
    assert await backend.healthy()
    assert (await backend.stats())["sessions"] == 0
    await s.join_publisher(RoomSpec("rm_ws"), 3, "After")
    assert (await backend.stats())["sessions"] == 1
    await s.close()


async def test_keepalive_is_acknowledged(janus_settings: Settings) -> None:
    b = JanusBackend(janus_settings, keepalive_s=0.1)
    await b.start()
    try:
        client = b._client
        assert client is not None
        answers: list[dict] = []
        real_request = client.request

        async def spy(payload: dict, **kw: object) -> dict:
            answer = await real_request(payload, **kw)  # type: ignore[arg-type]
            if payload.get("janus") == "keepalive":
                answers.append(answer)
            return answer

        client.request = spy  # type: ignore[method-assign]
        s = await b.open_session("ka", Events())
        await asyncio.sleep(0.65)
        assert len(answers) >= 3 and all(a["janus"] == "ack" for a in answers)
        assert (await b.stats())["sessions"] == 1
        await s.close()
    finally:
        await b.stop()


async def test_start_failure_reports_log_tail(janus_settings: Settings, tmp_path: Path) -> None:
    broken = tmp_path / "janus"
    # Same arguments as the real one; $7 is the -L log file.
    broken.write_text("#!/bin/sh\necho 'Error binding to port: this janus is broken' > \"$7\"\nexit 3\n")
    broken.chmod(0o755)
    settings = janus_settings.model_copy(update={"janus_binary": str(broken)})
    b = JanusBackend(settings, start_timeout=3.0)
    with pytest.raises(MediaError, match="exited with code 3") as e:
        await b.start()
    assert "this janus is broken" in str(e.value)  # the log tail is part of the error
    assert b.pid is None and b.process is None
