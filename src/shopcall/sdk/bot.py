"""A headless ShopCall participant in Python (aiortc): for load tests, monitoring and benchmarks.

It speaks the same signalling protocol as the JS SDK (docs/signalling.md) over one WebSocket,
publishes through one aiortc peer connection and subscribes with one peer connection per remote
publisher, exactly like a browser, so what it measures is what a customer would see.

    bot = ShopCallBot("http://127.0.0.1:8080", token, name="probe")
    await bot.connect()
    await bot.join(room_id)
    await bot.publish()                  # synthetic timecode video + tone by default
    bot.on_frame(lambda pid, frame, t: ...)
    ...
    await bot.close()

ICE: aiortc gathers all its candidates before `setLocalDescription` returns and Janus puts its
own into its SDP (half-trickle), so the bot sends complete SDPs and only an end-of-candidates
`trickle`. No STUN/TURN is used unless the server's `welcome` lists ICE servers (aiortc's
default Google STUN server is deliberately not used).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import av
import websockets
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp

from shopcall.sdk.timecode import TimecodeVideoTrack, ToneAudioTrack

log = logging.getLogger(__name__)

FrameCallback = Callable[[str, av.VideoFrame, float], Awaitable[None] | None]
"""`(publisher pid, decoded frame, receive wall time in s)`; may be sync or async."""


class ShopCallError(Exception):
    """An `error` reply from the server (`code` as in docs/signalling.md)."""

    def __init__(self, code: str, message: str, *, fatal: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.fatal = code, message, fatal


@dataclass
class ReceivedFrame:
    pid: str
    frame: av.VideoFrame
    recv_time: float


@dataclass
class Subscription:
    """One remote publisher we receive: its Janus subscription id and our peer connection."""

    sid: str
    pid: str
    pc: RTCPeerConnection
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    video_frames: int = 0
    audio_frames: int = 0


def ws_url(base_url: str) -> str:
    """`http(s)://host[:port][/prefix]` → `ws(s)://…/v1/signal` (a ws(s) URL is taken as is)."""
    base = base_url.rstrip("/")
    if base.startswith(("ws://", "wss://")):
        return base if base.endswith("/v1/signal") else base + "/v1/signal"
    if base.startswith("https://"):
        return "wss://" + base[len("https://"):] + "/v1/signal"
    if base.startswith("http://"):
        return "ws://" + base[len("http://"):] + "/v1/signal"
    raise ValueError(f"not an http(s) or ws(s) URL: {base_url!r}")


def prefer_codec(pc: RTCPeerConnection, kind: str, mime: str | None) -> None:
    """Restrict the offered `kind` codecs to `mime` (plus RTX), so both sides of a comparison
    encode with the same codec; None keeps aiortc's default order."""
    if mime is None:
        return
    codecs = [c for c in RTCRtpSender.getCapabilities(kind).codecs
              if c.mimeType.lower() in (f"{kind}/{mime}".lower(), f"{kind}/rtx")]
    for t in pc.getTransceivers():
        if t.kind == kind:
            t.setCodecPreferences(codecs)


async def _call(cb: Callable[..., Any], *args: Any) -> None:
    try:
        result = cb(*args)
        if inspect.isawaitable(result):
            await result
    except Exception:
        log.exception("frame/event callback failed")


async def drain_track(track: MediaStreamTrack, pid: str,
                      on_video: Callable[[str, av.VideoFrame, float], Awaitable[None]],
                      on_audio: Callable[[av.AudioFrame], None] | None = None) -> None:
    """Pull decoded frames from a remote track until it ends.

    Audio is pulled too: an unread aiortc remote track queues frames forever. The receive time is
    taken right when the decoded frame is handed over, before any callback runs.
    """
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        now = time.time()
        if isinstance(frame, av.VideoFrame):
            await on_video(pid, frame, now)
        elif isinstance(frame, av.AudioFrame) and on_audio is not None:
            on_audio(frame)


class ShopCallBot:
    """An async ShopCall client: connect → join → publish / (auto-)subscribe → leave → close."""

    def __init__(self, base_url: str, token: str, *, name: str = "bot", auto_subscribe: bool = True,
                 video_codec: str | None = "VP8", request_timeout: float = 20.0) -> None:
        self.base_url = base_url
        self.url = ws_url(base_url)
        self.token = token
        self.name = name
        self.auto_subscribe = auto_subscribe
        self.video_codec = video_codec
        self.request_timeout = request_timeout
        self.welcome: dict[str, Any] = {}
        self.room: str | None = None
        self.pid: str | None = None
        self.participants: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, Subscription] = {}  # sid -> subscription
        self.media_state: dict[str, str] = {}  # "publisher" or sid -> "up"/"down"
        self.publisher_pc: RTCPeerConnection | None = None
        self.closed = asyncio.Event()
        self._ws: Any = None
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._waiters: list[tuple[str, Callable[[dict[str, Any]], bool], asyncio.Future[dict[str, Any]]]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._frame_callbacks: list[FrameCallback] = []
        self._event_callbacks: list[Callable[[dict[str, Any]], Any]] = []
        self._queues: list[asyncio.Queue[ReceivedFrame]] = []
        self._tracks: tuple[MediaStreamTrack | None, MediaStreamTrack | None] | None = None
        self._subscribing: set[str] = set()

    # ---- receiving media ---------------------------------------------------------------

    def on_frame(self, callback: FrameCallback) -> FrameCallback:
        """Register `callback(pid, frame, recv_time)` for every decoded remote video frame."""
        self._frame_callbacks.append(callback)
        return callback

    def on_event(self, callback: Callable[[dict[str, Any]], Any]) -> None:
        """Register `callback(message)` for every server event (messages without `re`)."""
        self._event_callbacks.append(callback)

    def frame_queue(self, maxsize: int = 300) -> asyncio.Queue[ReceivedFrame]:
        """A queue receiving every decoded remote video frame; when full, the oldest is dropped
        (a slow consumer must not stall decoding and thereby inflate latency)."""
        q: asyncio.Queue[ReceivedFrame] = asyncio.Queue(maxsize)
        self._queues.append(q)
        return q

    async def _deliver(self, pid: str, frame: av.VideoFrame, recv_time: float) -> None:
        for q in self._queues:
            if q.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
            q.put_nowait(ReceivedFrame(pid, frame, recv_time))
        for cb in self._frame_callbacks:
            await _call(cb, pid, frame, recv_time)

    # ---- signalling ----------------------------------------------------------------------

    async def connect(self) -> dict[str, Any]:
        """Open the socket, authenticate (`hello` → `welcome`) and start the heartbeat."""
        self._ws = await websockets.connect(self.url, max_size=2**20, open_timeout=self.request_timeout)
        await self._ws.send(json.dumps({"type": "hello", "id": "hello", "token": self.token}))
        reply: dict[str, Any] = json.loads(await asyncio.wait_for(self._ws.recv(), self.request_timeout))
        if reply.get("type") == "error":
            await self._ws.close()
            raise ShopCallError(reply.get("code", "?"), reply.get("message", ""), fatal=True)
        self.welcome = reply
        self._spawn(self._reader())
        self._spawn(self._heartbeat(float(reply.get("heartbeat_s", 20))))
        return reply

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _heartbeat(self, every: float) -> None:
        # The server drops a client silent for 3 x heartbeat_s; ping at the advertised period.
        while not self.closed.is_set():
            await asyncio.sleep(every)
            with contextlib.suppress(websockets.ConnectionClosed):
                await self._ws.send(json.dumps({"type": "ping"}))

    async def request(self, msg: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """Send `msg` with a fresh id and return the reply; an `error` reply raises ShopCallError."""
        if self._ws is None:
            raise RuntimeError("call connect() first")
        rid = f"{self.name}-{next(self._ids)}"
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        try:
            await self._ws.send(json.dumps({**msg, "id": rid}))
            reply = await asyncio.wait_for(fut, timeout or self.request_timeout)
        finally:
            self._pending.pop(rid, None)
        if reply.get("type") == "error":
            raise ShopCallError(reply.get("code", "?"), reply.get("message", ""), fatal=bool(reply.get("fatal")))
        return reply

    async def send(self, msg: dict[str, Any]) -> None:
        """Fire and forget (for messages without a reply, e.g. `trickle`)."""
        await self._ws.send(json.dumps(msg))

    async def wait_for(self, event_type: str, predicate: Callable[[dict[str, Any]], bool] | None = None,
                       timeout: float = 20.0) -> dict[str, Any]:
        """The next server event of `event_type` (matching `predicate`)."""
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        entry = (event_type, predicate or (lambda _m: True), fut)
        self._waiters.append(entry)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(entry)

    async def _reader(self) -> None:
        try:
            async for raw in self._ws:
                msg = json.loads(raw)
                ref = msg.get("re")
                fut = self._pending.get(ref) if isinstance(ref, str) else None
                if fut is not None and not fut.done():
                    fut.set_result(msg)
                    continue
                if msg.get("type") == "pong":
                    continue
                await self._on_event(msg)
        except websockets.ConnectionClosed:
            pass
        except Exception:
            log.exception("%s: signalling reader failed", self.name)
        finally:
            self.closed.set()
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(ShopCallError("disconnected", "the signalling socket closed", fatal=True))

    async def _on_event(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "error" and msg.get("fatal"):
            log.warning("%s: fatal error from server: %s", self.name, msg)
        elif kind == "participant_joined" or kind == "participant_updated":
            p = msg["participant"]
            self.participants[p["pid"]] = p
        elif kind == "participant_left":
            self.participants.pop(msg["pid"], None)
        elif kind == "track_published":
            if msg["pid"] in self.participants:
                self.participants[msg["pid"]]["publishing"] = True
            if self.auto_subscribe:
                self._spawn(self._auto_subscribe(msg["pid"]))
        elif kind == "track_unpublished":
            for sid, sub in list(self.subscriptions.items()):
                if sub.pid == msg["pid"]:
                    self._spawn(self._drop(sid))
        elif kind == "media_state":
            self.media_state[msg["target"]] = msg["state"]
        elif kind == "media_reset":
            self._spawn(self._recover())
        elif kind == "room_ended":
            self.room = self.pid = None
            self._spawn(self._close_pcs())
        elif kind == "trickle":
            await self._remote_candidate(msg)
        for event_type, pred, fut in list(self._waiters):
            if event_type == kind and not fut.done() and pred(msg):
                fut.set_result(msg)
        for cb in self._event_callbacks:
            await _call(cb, msg)

    async def _remote_candidate(self, msg: dict[str, Any]) -> None:
        # Janus runs half-trickle (candidates in its SDP); accept trickled ones all the same.
        target, cand = msg.get("target"), msg.get("candidate")
        pc = self.publisher_pc if target == "publisher" else getattr(self.subscriptions.get(target or ""), "pc", None)
        if pc is None or not cand or not cand.get("candidate"):
            return
        ice = candidate_from_sdp(cand["candidate"].removeprefix("candidate:"))
        ice.sdpMid, ice.sdpMLineIndex = cand.get("sdpMid"), cand.get("sdpMLineIndex")
        await pc.addIceCandidate(ice)

    # ---- rooms and media -------------------------------------------------------------------

    def _pc(self) -> RTCPeerConnection:
        servers = [RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
                   for s in self.welcome.get("ice_servers", [])]
        return RTCPeerConnection(RTCConfiguration(iceServers=servers))

    async def join(self, room: str) -> dict[str, Any]:
        """Join `room`; with auto-subscribe, subscribe to everyone already publishing."""
        reply = await self.request({"type": "join", "room": room})
        self.room, self.pid = reply["room"], reply["pid"]
        self.participants = {p["pid"]: p for p in reply.get("participants", [])}
        if self.auto_subscribe:
            for p in reply.get("participants", []):
                if p.get("publishing"):
                    self._spawn(self._auto_subscribe(p["pid"]))
        return reply

    async def publish(self, video_track: MediaStreamTrack | None = None, audio_track: MediaStreamTrack | None = None,
                      *, wait_up: bool = True, timeout: float = 20.0) -> None:
        """Publish camera/microphone tracks (default: `TimecodeVideoTrack` and `ToneAudioTrack`).

        With `wait_up`, return once the media server reports the publisher's media up (the moment
        the others get `track_published`)."""
        video = video_track if video_track is not None else TimecodeVideoTrack()
        audio = audio_track if audio_track is not None else ToneAudioTrack()
        self._tracks = (video, audio)
        await self._publish(video, audio, wait_up=wait_up, timeout=timeout)

    async def _publish(self, video: MediaStreamTrack | None, audio: MediaStreamTrack | None, *, wait_up: bool,
                       timeout: float) -> None:
        if self.publisher_pc is not None:
            await self.publisher_pc.close()
        pc = self.publisher_pc = self._pc()
        if audio is not None:
            pc.addTransceiver(audio, direction="sendonly")
        if video is not None:
            pc.addTransceiver(video, direction="sendonly")
            prefer_codec(pc, "video", self.video_codec)
        await pc.setLocalDescription(await pc.createOffer())
        self.media_state.pop("publisher", None)
        up = asyncio.ensure_future(self.wait_for("media_state", lambda m: m["target"] == "publisher", timeout))
        try:
            reply = await self.request({"type": "publish", "sdp": pc.localDescription.sdp})
            await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
            await self.send({"type": "trickle", "target": "publisher", "candidate": None})
            if wait_up:
                state = await up
                if state["state"] != "up":
                    raise ShopCallError("media_unavailable", "the media server reported the publisher down")
        finally:
            up.cancel()

    async def unpublish(self) -> None:
        await self.request({"type": "unpublish"})
        self._tracks = None
        if self.publisher_pc is not None:
            pc, self.publisher_pc = self.publisher_pc, None
            await pc.close()

    async def _auto_subscribe(self, pid: str) -> None:
        if pid in self._subscribing or any(s.pid == pid for s in self.subscriptions.values()):
            return
        try:
            await self.subscribe(pid)
        except ShopCallError as e:
            log.warning("%s: subscribing to %s failed: %s", self.name, pid, e)

    async def subscribe(self, pid: str) -> Subscription:
        """Receive `pid`'s media: server offer → aiortc answer → `start`. Decoded video frames go to
        the `on_frame` callbacks and frame queues; audio is decoded and counted."""
        self._subscribing.add(pid)
        try:
            reply = await self.request({"type": "subscribe", "pid": pid})
            sid = reply["sid"]
            pc = self._pc()
            sub = Subscription(sid, pid, pc)

            def count_audio(_frame: av.AudioFrame) -> None:
                sub.audio_frames += 1

            async def on_video(p: str, frame: av.VideoFrame, t: float) -> None:
                sub.video_frames += 1
                await self._deliver(p, frame, t)

            @pc.on("track")
            def on_track(track: MediaStreamTrack) -> None:
                sub.tasks.append(asyncio.ensure_future(drain_track(track, pid, on_video, count_audio)))

            self.subscriptions[sid] = sub
            await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            await self.request({"type": "start", "sid": sid, "sdp": pc.localDescription.sdp})
            await self.send({"type": "trickle", "target": sid, "candidate": None})
            return sub
        finally:
            self._subscribing.discard(pid)

    async def unsubscribe(self, sid: str) -> None:
        with contextlib.suppress(ShopCallError):
            await self.request({"type": "unsubscribe", "sid": sid})
        await self._drop(sid)

    async def _drop(self, sid: str) -> None:
        sub = self.subscriptions.pop(sid, None)
        if sub is not None:
            await sub.pc.close()
            for t in sub.tasks:
                t.cancel()

    async def _close_pcs(self) -> None:
        for sid in list(self.subscriptions):
            await self._drop(sid)
        if self.publisher_pc is not None:
            pc, self.publisher_pc = self.publisher_pc, None
            await pc.close()

    async def _recover(self) -> None:
        """`media_reset`: Janus restarted, every peer connection is dead. Publish again with the
        same tracks and re-subscribe to everyone publishing (membership is kept by the server)."""
        await self._close_pcs()
        try:
            if self._tracks is not None:
                await self._publish(*self._tracks, wait_up=False, timeout=self.request_timeout)
            if self.auto_subscribe:
                for pid, p in self.participants.items():
                    if p.get("publishing"):
                        await self._auto_subscribe(pid)
        except ShopCallError as e:
            log.warning("%s: recovering after media_reset failed: %s", self.name, e)

    async def leave(self) -> None:
        """Leave the room (the server releases our Janus session) and close the peer connections."""
        if self.room is not None and not self.closed.is_set():
            with contextlib.suppress(ShopCallError, websockets.ConnectionClosed, TimeoutError):
                await self.request({"type": "leave"})
        self.room = self.pid = None
        self._tracks = None
        await self._close_pcs()

    async def close(self) -> None:
        """Leave, close the socket and stop all background tasks; safe to call twice."""
        await self.leave()
        if self._ws is not None:
            await self._ws.close()
        self.closed.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> ShopCallBot:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
