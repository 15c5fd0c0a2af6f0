"""MediaBackend on a Janus VideoRoom that ShopCall runs and supervises itself.

Mapping: a ShopCall room key becomes a random numeric VideoRoom id, created lazily on the
first publisher join with a random room secret (so only this process can destroy it).
Room create/destroy/list go through the Admin API (no long-lived control session to
account for); clients' media go through one Janus session each over the WebSocket API:
a publisher handle plus one subscriber handle per subscription.

After Janus restarts (or the WebSocket to it drops, which makes Janus drop our sessions)
every Janus-side id is void: the backend clears its state, bumps a generation counter and
runs the `on_reset` callbacks. A MediaSession from before the reset transparently opens a
new Janus session on its next use, so the signalling layer may either keep or replace it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
from pathlib import Path
from typing import Any

from shopcall.config import Settings
from shopcall.media.backend import EventCallback, MediaError, MediaEvent, ResetCallback, RoomSpec
from shopcall.media.janus_client import (
    VIDEOROOM,
    JanusAdmin,
    JanusClient,
    JanusError,
    JanusHandle,
    JanusSession,
)
from shopcall.media.janus_config import JanusConfig, choose_ports, write_config
from shopcall.media.janus_process import JanusProcess, fetch_info
from shopcall.media.opus_red import RedAudio, answer_accepts_red, publisher_answer, subscriber_offer

log = logging.getLogger(__name__)

# VideoRoom error codes (janus_videoroom.c)
ERR_NO_SUCH_ROOM = 426
ERR_ROOM_EXISTS = 427
ERR_NO_SUCH_FEED = 428
ERR_PUBLISHERS_FULL = 432
ERR_NOT_PUBLISHED = 435
ERR_ID_EXISTS = 436

_sid_counter = itertools.count(1)


def _new_room_id() -> int:
    # Below 2**53 so the id survives any JSON tooling that goes through doubles.
    return secrets.randbelow(2**53 - 1) + 1


class _Room:
    __slots__ = ("key", "id", "secret")

    def __init__(self, key: str, room_id: int, secret: str) -> None:
        self.key, self.id, self.secret = key, room_id, secret


class JanusBackend:
    """The real media backend: `JanusBackend(settings)`, then `await start()`."""

    def __init__(
        self,
        settings: Settings,
        *,
        request_timeout: float = 10.0,
        start_timeout: float = 10.0,
        keepalive_s: float = 25.0,
        config_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.request_timeout = request_timeout
        self.start_timeout = start_timeout
        self.keepalive_s = keepalive_s
        self.config_dir = config_dir or (settings.data_dir / "janus")
        self.config: JanusConfig | None = None
        self.process: JanusProcess | None = None
        self.admin: JanusAdmin | None = None
        self.generation = 0  # bumped on every reset; sessions compare it to notice resets
        self._client: JanusClient | None = None
        self._rooms: dict[str, _Room] = {}
        self._red: dict[tuple[str, int], RedAudio] = {}  # (room key, feed) → how that publisher sends RED
        self._rooms_lock = asyncio.Lock()
        self._recover_lock = asyncio.Lock()
        self._reset_callbacks: list[ResetCallback] = []
        self._sessions: set[JanusMediaSession] = set()
        self._pid_at_connect: int | None = None
        self._recover_task: asyncio.Task[None] | None = None
        self._stop_requested = asyncio.Event()  # set by stop() while the loops below wait in an await

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        if self.process is not None:
            return
        self._stop_requested.clear()
        ports = choose_ports(self.settings)
        self.config = write_config(self.settings, self.config_dir, ports)
        self.admin = JanusAdmin(self.config.admin_url, self.config.admin_secret)
        process = JanusProcess(self.settings.janus_binary, self.config, start_timeout=self.start_timeout)
        process.on_restart(self._on_process_restart)
        self.process = process
        try:
            await process.start()
            await self._connect()
        except BaseException:
            await process.stop()
            self.process = None
            raise

    async def stop(self) -> None:
        self._stop_requested.set()
        if self._recover_task is not None:
            self._recover_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recover_task
            self._recover_task = None
        if self._sessions and self._client is not None and self._client.connected:
            # Polite teardown; closing the WebSocket would make Janus drop them anyway.
            closing = asyncio.gather(*(s.close() for s in list(self._sessions)), return_exceptions=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closing, 3)
        self._sessions.clear()
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self.process is not None:
            await self.process.stop()
            self.process = None
        self._rooms.clear()
        self._red.clear()

    @property
    def pid(self) -> int | None:
        """PID of the Janus child (for tests and diagnostics)."""
        return self.process.pid if self.process else None

    async def _connect(self) -> None:
        assert self.config is not None and self.process is not None
        client = JanusClient(
            self.config.ws_url, request_timeout=self.request_timeout, keepalive_s=self.keepalive_s
        )
        await client.connect()
        client.on_disconnect(self._on_disconnect)
        self._client = client
        self._pid_at_connect = self.process.pid

    # -- resets ---------------------------------------------------------------------------

    def on_reset(self, callback: ResetCallback) -> None:
        self._reset_callbacks.append(callback)

    async def _on_process_restart(self) -> None:
        await self._recover()

    async def _on_disconnect(self, client: JanusClient) -> None:
        if client is self._client and not self._stop_requested.is_set():
            self._recover_task = asyncio.create_task(self._recover(), name="janus-recover")

    async def _recover(self) -> None:
        """Reconnect to (the possibly restarted) Janus, clear state, run reset callbacks."""
        async with self._recover_lock:
            if self._stop_requested.is_set() or (self._client is not None and self._client.connected):
                return
            assert self.process is not None
            old_pid = self._pid_at_connect
            delay = 0.2
            while not self._stop_requested.is_set():
                try:
                    await self.process.wait_ready(timeout=30)
                    await self._connect()
                    break
                except (MediaError, TimeoutError) as e:
                    log.warning("reconnecting to janus failed (%s); retrying in %.1f s", e, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
            if self._stop_requested.is_set():
                return
            restarted = self._pid_at_connect != old_pid
            reason = "media_server_restarted" if restarted else "media_connection_lost"
            self.generation += 1
            self._rooms.clear()
            self._red.clear()
            for s in list(self._sessions):
                s._forget()  # a session used again later opens a fresh Janus session
            self._sessions.clear()
            log.warning("janus state reset (%s, generation %d)", reason, self.generation)
        for cb in list(self._reset_callbacks):
            try:
                await cb(reason)
            except Exception:
                log.exception("media reset callback failed")

    # -- health and stats -----------------------------------------------------------------

    async def healthy(self) -> bool:
        """Janus answers `info` now (1 s timeout) and our WebSocket to it is up."""
        if self.config is None or self._client is None or not self._client.connected:
            return False
        try:
            await fetch_info(self.config.http_url, timeout=1.0)
        except Exception:
            return False
        return True

    async def stats(self) -> dict[str, Any]:
        """Live counts from the Admin API: Janus sessions, handles and VideoRoom rooms."""
        admin = self._admin()
        sessions = await admin.list_sessions()
        handles = 0
        for sid in sessions:
            handles += len(await admin.list_handles(sid))
        assert self.config is not None
        # Our rooms are private (hidden from `list`) unless the admin key is given.
        rooms = await admin.message_plugin(
            VIDEOROOM, {"request": "list", "admin_key": self.config.videoroom_admin_key}
        )
        return {"sessions": len(sessions), "handles": handles, "rooms": len(rooms.get("list", []))}

    # -- rooms ----------------------------------------------------------------------------

    def _admin(self) -> JanusAdmin:
        if self.admin is None:
            raise MediaError("media backend not started")
        return self.admin

    def _require_client(self) -> JanusClient:
        if self._client is None or not self._client.connected:
            raise MediaError("media server unavailable")
        return self._client

    def room_id(self, room_key: str) -> int | None:
        """The VideoRoom id currently backing `room_key`, if created."""
        room = self._rooms.get(room_key)
        return room.id if room else None

    async def ensure_room(self, spec: RoomSpec) -> int:
        """Create the VideoRoom for `spec.key` unless it exists; return its numeric id."""
        room = self._rooms.get(spec.key)
        if room is not None:
            return room.id
        async with self._rooms_lock:
            room = self._rooms.get(spec.key)
            if room is not None:
                return room.id
            assert self.config is not None
            generation = self.generation
            for _ in range(3):
                room_id = _new_room_id()
                secret = secrets.token_urlsafe(18)
                request = {
                    "request": "create",
                    "admin_key": self.config.videoroom_admin_key,
                    "room": room_id,
                    "permanent": False,
                    "description": f"shopcall {spec.key}"[:100],
                    "secret": secret,
                    "is_private": True,
                    "publishers": spec.max_publishers,
                    "bitrate": spec.bitrate_bps,
                    # no periodic key frames: on a thin uplink each one is a burst that stalls every
                    # subscriber (weaknet, publisher at 150±40 ms: 8-14 % freezes with a key frame
                    # every 10 s, 0-2 % without); Janus asks for one when a subscriber joins,
                    # switches layer, reports loss (PLI) or a recording starts
                    "fir_freq": 0,
                    "audiocodec": "opus",
                    # VP8 first (every browser, simulcast); H.264 for the rare client that
                    # lacks VP8 (older Safari/iOS hardware paths).
                    "videocodec": "vp8,h264",
                    "opus_fec": True,  # in-band FEC: lost audio packets rebuilt from the next one
                    "opus_dtx": True,  # no packets during silence: bandwidth for video when links are thin
                    "audiolevel_ext": True,
                    "audiolevel_event": True,
                    "audio_active_packets": 100,  # Janus's defaults, stated to avoid its warnings
                    "audio_level_average": 25,
                    "notify_joining": False,
                }
                try:
                    await self._admin().message_plugin(VIDEOROOM, request)
                except JanusError as e:
                    if e.janus_code == ERR_ROOM_EXISTS:
                        continue
                    raise
                if generation != self.generation:
                    raise MediaError("media server restarted while creating the room")
                self._rooms[spec.key] = _Room(spec.key, room_id, secret)
                log.info("created videoroom %d for room %s", room_id, spec.key)
                return room_id
            raise MediaError("could not allocate a VideoRoom id")

    async def destroy_room(self, room_key: str) -> None:
        room = self._rooms.pop(room_key, None)
        if room is None:
            return
        try:
            await self._admin().message_plugin(
                VIDEOROOM, {"request": "destroy", "room": room.id, "secret": room.secret, "permanent": False}
            )
        except JanusError as e:
            if e.janus_code != ERR_NO_SUCH_ROOM:
                raise
        log.info("destroyed videoroom %d for room %s", room.id, room_key)

    # -- sessions -------------------------------------------------------------------------

    async def open_session(self, label: str, on_event: EventCallback) -> JanusMediaSession:
        session = JanusMediaSession(self, label, on_event)
        await session._ensure_open()
        return session


class JanusMediaSession:
    """One client's Janus session: a publisher handle and one handle per subscription."""

    def __init__(self, backend: JanusBackend, label: str, on_event: EventCallback) -> None:
        self.backend = backend
        self.label = label
        self._on_event = on_event
        self._session: JanusSession | None = None
        self._generation = -1
        self._publisher: JanusHandle | None = None
        self._published = False
        self._room_id: int | None = None
        self._private_id: int | None = None
        self._feed: tuple[str, int] | None = None  # (room key, feed id) while joined as publisher
        self._red: RedAudio | None = None  # how this publisher sends redundant audio, if it does
        self._sub_red: set[str] = set()  # subscriptions offered RED
        self._sub_feed: dict[str, tuple[str, int]] = {}  # sid -> (room key, feed id) it receives
        self._subs: dict[str, JanusHandle] = {}
        self._sub_video_mid: dict[str, str] = {}
        self._lock = asyncio.Lock()
        self._closed = False

    def __repr__(self) -> str:
        sid = self._session.id if self._session else None
        return f"JanusMediaSession({self.label!r}, janus_session={sid})"

    @property
    def janus_session_id(self) -> int | None:
        return self._session.id if self._session else None

    def _forget(self) -> None:
        """Janus lost everything (reset): drop local state without talking to Janus."""
        if self._session is not None:
            self._session.destroyed = True
            self._session._stop_keepalive()
        self._clear()

    def _clear(self) -> None:
        self._set_red(None)
        self._feed = None
        self._sub_red.clear()
        self._sub_feed.clear()
        self._session = None
        self._publisher = None
        self._published = False
        self._room_id = None
        self._private_id = None
        self._subs.clear()
        self._sub_video_mid.clear()

    async def _ensure_open(self) -> JanusSession:
        if self._closed:
            raise MediaError("media session closed")
        if self._session is not None and self._generation != self.backend.generation:
            self._forget()
        if self._session is None or self._session.destroyed:
            self._forget()
            generation = self.backend.generation
            self._session = await self.backend._require_client().create_session()
            self._session.on_timeout = self._on_session_timeout
            self._generation = generation
            self.backend._sessions.add(self)
        return self._session

    async def _on_session_timeout(self, session: JanusSession) -> None:
        if session is self._session:
            log.warning("janus session of %s timed out", self.label)
            targets = (["publisher"] if self._publisher else []) + list(self._subs)
            self._forget()
            for t in targets:
                await self._emit(MediaEvent("down", t, {"reason": "session timeout"}))

    async def _emit(self, event: MediaEvent) -> None:
        try:
            await self._on_event(event)
        except Exception:
            log.exception("media event callback of %s failed", self.label)

    def _is_current(self, target: str, handle: JanusHandle) -> bool:
        return (self._publisher is handle) if target == "publisher" else (self._subs.get(target) is handle)

    def _handler(self, target: str) -> Any:
        async def on_event(handle: JanusHandle, msg: dict[str, Any]) -> None:
            kind = msg.get("janus")
            if kind == "webrtcup":
                await self._emit(MediaEvent("up", target))
            elif kind == "hangup":
                if not self._is_current(target, handle):
                    return  # we detached it ourselves (unsubscribe, close)
                if target == "publisher":
                    self._published = False
                await self._emit(MediaEvent("down", target, {"reason": msg.get("reason", "")}))
            elif kind == "slowlink":
                data: dict[str, Any] = {k: msg[k] for k in ("uplink", "media", "mid", "lost", "nacks") if k in msg}
                await self._emit(MediaEvent("slowlink", target, data))
            else:
                log.debug(
                    "janus %s event for %s/%s: %s",
                    kind,
                    self.label,
                    target,
                    (msg.get("plugindata") or {}).get("data"),
                )

        return on_event

    # -- publisher ------------------------------------------------------------------------

    async def join_publisher(self, room: RoomSpec, feed_id: int, display: str) -> None:
        async with self._lock:
            session = await self._ensure_open()
            room_id = await self.backend.ensure_room(room)
            if self._publisher is not None:  # re-join (other room or after leave): fresh handle
                old, self._publisher = self._publisher, None
                with contextlib.suppress(MediaError):
                    await old.detach()
            handle = await session.attach(VIDEOROOM, self._handler("publisher"))
            try:
                reply = await handle.message(
                    {
                        "request": "join",
                        "ptype": "publisher",
                        "room": room_id,
                        "id": feed_id,
                        "display": display[:100],
                    },
                    timeout=self.backend.request_timeout,
                )
            except JanusError as e:
                with contextlib.suppress(MediaError):
                    await handle.detach()
                if e.janus_code == ERR_PUBLISHERS_FULL:
                    raise MediaError(
                        f"room {room.key} has its maximum of {room.max_publishers} publishers"
                    ) from e
                raise
            if reply.data.get("videoroom") != "joined":
                with contextlib.suppress(MediaError):
                    await handle.detach()
                raise MediaError(f"unexpected answer to join: {reply.data.get('videoroom')!r}")
            self._publisher = handle
            self._published = False
            self._set_red(None)
            self._feed = (room.key, feed_id)
            self._room_id = room_id
            self._private_id = reply.data.get("private_id")

    async def publish(self, offer_sdp: str) -> str:
        async with self._lock:
            handle = self._publisher_handle()
            # A second offer on a live publisher is a renegotiation: `configure`, not `publish`.
            request = "configure" if self._published else "publish"
            reply = await handle.message({"request": request}, {"type": "offer", "sdp": offer_sdp})
            if not reply.jsep or reply.jsep.get("type") != "answer" or not reply.jsep.get("sdp"):
                raise MediaError(f"Janus sent no SDP answer to {request}")
            self._published = True
            answer, red = publisher_answer(offer_sdp, str(reply.jsep["sdp"]))
            self._set_red(red)
            return answer

    async def restart_publisher(self, offer_sdp: str) -> str:
        """`configure` with `restart: true` and the client's ICE-restart offer on the same handle
        (janus-gateway#2537): Janus takes the new remote credentials, keeps the DTLS session, the
        feed id and every subscriber attached to it."""
        async with self._lock:
            handle = self._publisher_handle()
            if not self._published:
                raise MediaError("nothing is being published to restart", code="not_publishing")
            reply = await handle.message({"request": "configure", "restart": True},
                                         {"type": "offer", "sdp": offer_sdp})
            if not reply.jsep or reply.jsep.get("type") != "answer" or not reply.jsep.get("sdp"):
                raise MediaError("Janus sent no SDP answer to the ICE restart")
            answer, red = publisher_answer(offer_sdp, str(reply.jsep["sdp"]))
            self._set_red(red)
            return answer

    async def request_keyframe(self) -> None:
        """VideoRoom publisher `configure` with `keyframe: true`: Janus sends the publisher a PLI."""
        async with self._lock:
            if self._publisher is None or not self._published or self._is_stale():
                raise MediaError("nothing is being published", code="not_publishing")
            await self._publisher.message({"request": "configure", "keyframe": True})

    def _set_red(self, red: RedAudio | None) -> None:
        """Remember (backend-wide, for subscribers of this feed) whether this publisher sends RED."""
        self._red = red
        if self._feed is None:
            return
        if red is None:
            self.backend._red.pop(self._feed, None)
        else:
            self.backend._red[self._feed] = red

    async def unpublish(self) -> None:
        async with self._lock:
            if self._publisher is None or not self._published or self._is_stale():
                return
            self._published = False
            self._set_red(None)
            try:
                await self._publisher.message({"request": "unpublish"})
            except JanusError as e:
                if e.janus_code != ERR_NOT_PUBLISHED:
                    raise

    async def set_recording(self, filename: str | None) -> None:
        """Per-publisher recording (VideoRoom `configure` with `record`/`filename`): only the
        participants who may be recorded are, which is how a refused consent is honoured."""
        async with self._lock:
            if self._publisher is None or self._is_stale() or not self._published:
                raise MediaError("nothing is being published to record", code="not_publishing")
            body: dict[str, Any] = {"request": "configure", "record": filename is not None}
            if filename is not None:
                body["filename"] = filename
            await self._publisher.message(body)
            if filename is not None and self._red is not None:
                # Janus records the RED packets as they come; post-processing must unwrap them
                # (janus-pp-rec does, when the .mjr header names the RED payload type).
                Path(f"{filename}.media.json").write_text(json.dumps({"audio_red_pt": self._red.red_pt}))

    def _is_stale(self) -> bool:
        return self._generation != self.backend.generation

    def _publisher_handle(self) -> JanusHandle:
        if self._is_stale():
            self._forget()
        if self._publisher is None or self._publisher.detached:
            raise MediaError("not joined as publisher", code="not_in_room")
        return self._publisher

    # -- subscriptions --------------------------------------------------------------------

    async def subscribe(self, room: RoomSpec, feed_id: int) -> tuple[str, str]:
        async with self._lock:
            session = await self._ensure_open()
            room_id = self.backend.room_id(room.key)
            if room_id is None:
                raise MediaError(f"no publisher {feed_id} in room {room.key}", code="no_such_publisher")
            sid = f"sub{next(_sid_counter)}"
            handle = await session.attach(VIDEOROOM, self._handler(sid))
            body: dict[str, Any] = {
                "request": "join",
                "ptype": "subscriber",
                "room": room_id,
                "streams": [{"feed": feed_id}],
            }
            if self._private_id is not None and self._room_id == room_id:
                body["private_id"] = self._private_id
            try:
                reply = await handle.message(body)
                if reply.data.get("videoroom") != "attached" or not reply.jsep or not reply.jsep.get("sdp"):
                    raise MediaError(f"Janus sent no subscription offer for feed {feed_id}")
            except JanusError as e:
                with contextlib.suppress(MediaError):
                    await handle.detach()
                if e.janus_code in (ERR_NO_SUCH_FEED, ERR_NO_SUCH_ROOM):
                    raise MediaError(
                        f"no publisher {feed_id} in room {room.key}", code="no_such_publisher"
                    ) from e
                raise
            except MediaError:
                with contextlib.suppress(MediaError):
                    await handle.detach()
                raise
            self._subs[sid] = handle
            self._sub_feed[sid] = (room.key, feed_id)
            offer = self._rewrite_sub_offer(sid, str(reply.jsep["sdp"]))
            for s in reply.data.get("streams", []):
                if s.get("type") == "video" and s.get("mid") is not None:
                    self._sub_video_mid[sid] = str(s["mid"])
                    break
            return sid, offer

    def _rewrite_sub_offer(self, sid: str, offer: str) -> str:
        """Declare RED in a subscription's offer when its publisher sends RED (see opus_red)."""
        feed = self._sub_feed.get(sid)
        red = self.backend._red.get(feed) if feed is not None else None
        if red is None:
            self._sub_red.discard(sid)
            return offer
        self._sub_red.add(sid)
        return subscriber_offer(offer, red)

    async def restart_subscription(self, sid: str) -> str:
        """`configure` with `restart: true`: Janus restarts ICE on the subscriber handle and sends a
        new offer in its reply; the client answers it with `start`, as for the first offer."""
        handle = self._sub_handle(sid)
        reply = await handle.message({"request": "configure", "restart": True})
        if not reply.jsep or reply.jsep.get("type") != "offer" or not reply.jsep.get("sdp"):
            raise MediaError(f"Janus sent no offer for the ICE restart of {sid}")
        return self._rewrite_sub_offer(sid, str(reply.jsep["sdp"]))

    def _sub_handle(self, sid: str) -> JanusHandle:
        if self._is_stale():
            self._forget()
        handle = self._subs.get(sid)
        if handle is None or handle.detached:
            raise MediaError(f"no subscription {sid}", code="no_such_subscription")
        return handle

    async def start(self, sid: str, answer_sdp: str) -> None:
        handle = self._sub_handle(sid)
        if sid in self._sub_red and not answer_accepts_red(answer_sdp):
            log.warning("subscriber %s refused RED audio: its audio from this publisher will not decode", sid)
        await handle.message({"request": "start"}, {"type": "answer", "sdp": answer_sdp})

    async def unsubscribe(self, sid: str) -> None:
        """Idempotent: an unknown subscription is already gone."""
        async with self._lock:
            handle = self._subs.pop(sid, None)
            self._sub_video_mid.pop(sid, None)
            self._sub_red.discard(sid)
            self._sub_feed.pop(sid, None)
            if handle is not None and not self._is_stale():
                with contextlib.suppress(JanusError):
                    await handle.detach()

    async def trickle(self, target: str, candidate: dict[str, Any] | None) -> None:
        if target == "publisher":
            handle = self._publisher_handle()
        else:
            handle = self._sub_handle(target)
        await handle.trickle(candidate)

    async def configure_subscription(
        self, sid: str, *, substream: int | None = None, temporal: int | None = None
    ) -> None:
        handle = self._sub_handle(sid)
        body: dict[str, Any] = {"request": "configure"}
        mid = self._sub_video_mid.get(sid)
        if mid is not None:
            body["mid"] = mid  # simulcast targets apply per m-line
        if substream is not None:
            body["substream"] = substream
        if temporal is not None:
            body["temporal"] = temporal
        await handle.message(body)

    # -- teardown -------------------------------------------------------------------------

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.backend._sessions.discard(self)
        session, stale = self._session, self._is_stale()
        handles = list(self._subs.values()) + ([self._publisher] if self._publisher else [])
        self._clear()  # from here on, events for these handles are not reported
        if session is None or session.destroyed:
            return
        if stale:
            session.destroyed = True
            session._stop_keepalive()
            return
        try:
            for h in handles:
                with contextlib.suppress(JanusError):
                    await h.detach()
            await session.destroy()
        except MediaError as e:
            # Janus gone or connection lost: the session dies with it anyway.
            log.info("closing media session %s: %s", self.label, e)
            session.destroyed = True
            session._stop_keepalive()
