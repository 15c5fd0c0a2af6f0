"""Recording in a live room: policy, consent and the per-feed switch on the media server.

- Policy per app: `off`, `on_demand` (an agent presses record) or `always` (starts when an agent
  joins a call). Everyone in the room sees `recording_state` while it runs.
- Consent: where the app asks for it, each shopper gets `recording_consent_request`; until they
  say yes nothing of theirs is recorded, and a refusal keeps it that way. A shopper may withdraw
  consent at any time: their feeds stop being recorded at once. Decisions are stored.
- A media-server restart closes every file; feeds republished while the room records start a new
  segment (`<feed>~2`…), so nothing is overwritten and post-processing places each by its time.
- Only consenting participants' feeds are recorded (VideoRoom per-publisher recording into the
  recording's own folder), so a refusal is enforced by the media server, not by editing later.
The recording row's state machine belongs to `recording.store.RecordingStore`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import structlog
from pydantic import Field

from shopcall.db.ids import new_id
from shopcall.media.backend import MediaError
from shopcall.recording.store import RecordingStore
from shopcall.signalling.connection import Connection
from shopcall.signalling.context import Feature, RoomContext
from shopcall.signalling.protocol import Msg, ProtocolError
from shopcall.signalling.registry import STAFF, Registry
from shopcall.signalling.room import Feed, LiveRoom

log = structlog.get_logger("shopcall.recording")
CONSENT_TEXT = "This call will be recorded for service and quality. May we record you?"


class StartRecording(Msg):
    type: Literal["start_recording"]


class StopRecording(Msg):
    type: Literal["stop_recording"]


class RecordingConsent(Msg):
    type: Literal["recording_consent"]
    recording: str = Field(min_length=1, max_length=40)
    granted: bool


@dataclass
class LiveRecording:
    id: str
    folder: Path
    started: float  # monotonic
    started_by: str
    needs_consent: bool
    policy: str
    consent: dict[str, bool] = field(default_factory=dict)  # identity -> granted
    recorded: set[str] = field(default_factory=set)  # feeds being recorded now ("<pid>", "<pid>-screen")
    segments: dict[str, int] = field(default_factory=dict)  # feed -> files written (restart, consent again: +1)
    files: list[str] = field(default_factory=list)  # every file base written, for post-processing

    def next_file(self, feed: str) -> str:
        """`<feed>` first, then `<feed>~2`, … so a later segment never overwrites an earlier one."""
        n = self.segments.get(feed, 0) + 1
        self.segments[feed] = n
        name = feed if n == 1 else f"{feed}~{n}"
        self.files.append(name)
        return name

    def public(self) -> dict[str, Any]:
        return {"active": True, "recording": self.id, "by": self.started_by}

    def may_record(self, conn: Connection) -> bool:
        return conn.claims.is_staff or not self.needs_consent or self.consent.get(conn.claims.identity) is True


@dataclass
class RecordingState:
    current: LiveRecording | None = None


def _file_name(feed: Feed) -> str:
    return feed.pid.replace(":", "-")


class RecordingFeature(Feature):
    def __init__(self, ctx: RoomContext, store: RecordingStore, raw_dir: Path,
                 wake_worker: Callable[[], None]) -> None:
        self.ctx, self.store, self.raw_dir, self.wake_worker = ctx, store, raw_dir, wake_worker

    def register(self, registry: Registry) -> None:
        registry.add(StartRecording, self.on_start, roles=STAFF, denied="only agents start recordings")
        registry.add(StopRecording, self.on_stop, roles=STAFF, denied="only agents stop recordings")
        registry.add(RecordingConsent, self.on_consent)

    # ---- hooks ----------------------------------------------------------------------------------

    async def joined_state(self, room: LiveRoom, conn: Connection) -> dict[str, Any]:
        rec = room.features.get(RecordingState).current
        return {"recording": rec.public() if rec else None}

    async def after_join(self, room: LiveRoom, conn: Connection) -> None:
        """A joiner learns a recording runs; a shopper is asked for consent; `always` starts one."""
        if room.features.get(RecordingState).current is None:
            policy, _ = await asyncio.to_thread(self.store.app_policy, room.app_id)
            if policy == "always" and conn.claims.is_staff and conn.pid in room.members:
                await self.start(room, conn)
            return
        self._ask_consent(room, conn)

    async def feed_up(self, room: LiveRoom, feed: Feed) -> None:
        rec = room.features.get(RecordingState).current
        if rec is not None and rec.may_record(feed.owner):
            await self._record_feed(rec, feed)

    async def room_ending(self, room: LiveRoom) -> None:
        if room.features.get(RecordingState).current is not None:
            await self.stop(room, "room_ended")

    def media_reset(self, rooms: list[LiveRoom]) -> None:
        """The media server closed every file: republished feeds start new segments."""
        for room in rooms:
            rec = room.features.get(RecordingState).current
            if rec is not None:
                log.warning("recording_interrupted", recording=rec.id, feeds=sorted(rec.recorded))
                rec.recorded.clear()

    # ---- the recording ---------------------------------------------------------------------------

    async def _record_feed(self, rec: LiveRecording, feed: Feed) -> None:
        name = _file_name(feed)
        if name in rec.recorded or feed.media is None:
            return
        rec.recorded.add(name)
        try:
            await feed.media.set_recording(str(rec.folder / rec.next_file(name)))
        except MediaError as e:
            rec.recorded.discard(name)
            log.warning("recording_feed_failed", recording=rec.id, feed=name, error=str(e))

    async def _stop_member(self, room: LiveRoom, rec: LiveRecording, conn: Connection) -> None:
        """Stop recording what a participant publishes (consent withdrawn): enforced on the media server."""
        for feed in room.feeds_of(conn):
            name = _file_name(feed)
            if name in rec.recorded and feed.media is not None:
                rec.recorded.discard(name)
                try:
                    await feed.media.set_recording(None)
                except MediaError as e:
                    log.warning("recording_stop_failed", recording=rec.id, feed=name, error=str(e))

    async def _record_member(self, room: LiveRoom, rec: LiveRecording, conn: Connection) -> None:
        if rec.may_record(conn):
            for feed in room.feeds_of(conn):
                await self._record_feed(rec, feed)

    def _ask_consent(self, room: LiveRoom, conn: Connection) -> None:
        rec = room.features.get(RecordingState).current
        if rec is None or conn.claims.is_staff or not rec.needs_consent or conn.claims.identity in rec.consent:
            return
        conn.send({"type": "recording_consent_request", "recording": rec.id, "by": rec.started_by,
                   "message": CONSENT_TEXT})

    async def start(self, room: LiveRoom, by: Connection) -> dict[str, Any]:
        policy, needs_consent = await asyncio.to_thread(self.store.app_policy, room.app_id)
        if policy == "off":
            raise ProtocolError("recording_disabled", "recording is switched off for this shop")
        state = room.features.get(RecordingState)
        if state.current is not None:
            return {"type": "recording_started", **state.current.public()}
        rec_id = new_id("rec")
        folder = self.raw_dir / rec_id
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        rec = state.current = LiveRecording(rec_id, folder, time.monotonic(), by.claims.name, needs_consent, policy)
        await asyncio.to_thread(self.store.begin, rec_id, app_id=room.app_id, room_id=room.room_id,
                                folder=str(folder), started_by=by.claims.identity)
        log.info("recording_started", recording=rec_id, room=room.room_id, by=by.claims.identity)
        self.ctx.broadcast(room, {"type": "recording_state", **rec.public()})
        for member in list(room.members.values()):
            self._ask_consent(room, member)
            await self._record_member(room, rec, member)
        await self.ctx.emit_data(room.app_id, "recording.started",
                                 {"recording_id": rec_id, "room_id": room.room_id, "status": "recording"})
        return {"type": "recording_started", **rec.public()}

    async def stop(self, room: LiveRoom, reason: str = "stopped") -> str | None:
        """Stop recording; the row moves to `processing` and the worker takes over."""
        state = room.features.get(RecordingState)
        rec, state.current = state.current, None
        if rec is None:
            return None
        for feed in room.feeds():
            if _file_name(feed) in rec.recorded and feed.media is not None:
                try:
                    await feed.media.set_recording(None)
                except MediaError:
                    pass  # the publisher may be gone: Janus has closed its files already
        duration = round(time.monotonic() - rec.started, 2)
        await asyncio.to_thread(self.store.finish_capture, rec.id, duration_s=duration,
                                feeds=sorted(rec.files), reason=reason)
        log.info("recording_stopped", recording=rec.id, seconds=duration, files=len(rec.files), reason=reason)
        self.ctx.broadcast(room, {"type": "recording_state", "active": False, "recording": rec.id})
        self.wake_worker()
        return rec.id

    # ---- messages ---------------------------------------------------------------------------------

    async def on_start(self, conn: Connection, msg: StartRecording) -> dict[str, Any]:
        live = self.ctx.live(conn, msg.id)
        try:
            return await self.start(live, conn)
        except ProtocolError as e:
            raise ProtocolError(e.code, e.message, msg.id) from None

    async def on_stop(self, conn: Connection, msg: StopRecording) -> dict[str, Any]:
        live = self.ctx.live(conn, msg.id)
        rec = live.features.get(RecordingState).current
        if rec is None:
            raise ProtocolError("not_recording", "nothing is being recorded", msg.id)
        if rec.policy == "always":
            raise ProtocolError("recording_required", "this shop records every call", msg.id)
        return {"type": "recording_stopped", "recording": await self.stop(live)}

    async def on_consent(self, conn: Connection, msg: RecordingConsent) -> dict[str, Any]:
        live = self.ctx.live(conn, msg.id)
        rec = live.features.get(RecordingState).current
        if rec is None or rec.id != msg.recording:
            raise ProtocolError("not_recording", "that recording is not running", msg.id)
        rec.consent[conn.claims.identity] = msg.granted
        if msg.granted:
            await self._record_member(live, rec, conn)
        else:  # a refusal, or consent withdrawn mid-recording: nothing more of theirs is written
            await self._stop_member(live, rec, conn)
        await asyncio.to_thread(self.store.add_consent, live.app_id, live.room_id, rec.id, conn.claims.identity,
                                msg.granted)
        log.info("recording_consent", recording=rec.id, identity=conn.claims.identity, granted=msg.granted)
        self.ctx.broadcast(live, {"type": "recording_consent", "recording": rec.id, "pid": conn.pid,
                                  "name": conn.claims.name, "granted": msg.granted}, staff_only=True)
        return {"type": "recording_consent_saved", "recording": rec.id, "granted": msg.granted}
