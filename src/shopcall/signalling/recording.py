"""Recording in a live room: policy, consent and the per-participant switch on the media server.

- Policy per app: `off`, `on_demand` (an agent presses record) or `always` (starts when an agent
  joins a call). Everyone in the room sees `recording_state` while it runs.
- Consent: where the app asks for it, each shopper gets `recording_consent_request`; until they
  say yes nothing of theirs is recorded, and a refusal keeps it that way. Decisions are stored.
- Only consenting participants' publishers are recorded (VideoRoom per-publisher recording into
  the recording's own folder), so a refusal is enforced by the media server, not by editing later.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import structlog
from pydantic import Field

from shopcall.db.ids import new_id
from shopcall.db.models import App, Call, ConsentDecision, Recording, utcnow
from shopcall.media.backend import MediaError
from shopcall.signalling.protocol import EXTRA_MODELS, ProtocolError, _Msg

if TYPE_CHECKING:
    from shopcall.signalling.connection import Connection
    from shopcall.signalling.hub import Hub, LiveRoom

log = structlog.get_logger("shopcall.recording")


class StartRecording(_Msg):
    type: Literal["start_recording"]


class StopRecording(_Msg):
    type: Literal["stop_recording"]


class RecordingConsent(_Msg):
    type: Literal["recording_consent"]
    recording: str = Field(min_length=1, max_length=40)
    granted: bool


EXTRA_MODELS.update({"start_recording": StartRecording, "stop_recording": StopRecording,
                     "recording_consent": RecordingConsent})


@dataclass
class LiveRecording:
    id: str
    folder: Path
    started: float  # monotonic
    started_by: str
    needs_consent: bool
    policy: str
    consent: dict[str, bool] = field(default_factory=dict)  # identity -> granted
    recorded: set[str] = field(default_factory=set)  # feed names being recorded ("<pid>", "<pid>-screen")

    def public(self) -> dict[str, Any]:
        return {"active": True, "recording": self.id, "by": self.started_by}


def _app_policy(hub: Hub, app_id: str) -> tuple[str, bool]:
    with hub.store.db.session() as s:
        app = s.get(App, app_id)
        return (app.recording_policy, app.recording_consent) if app else ("off", True)


def may_record(rec: LiveRecording, conn: Connection) -> bool:
    if conn.claims.is_staff or not rec.needs_consent:
        return True
    return rec.consent.get(conn.claims.identity) is True


async def _record_feed(rec: LiveRecording, name: str, media: Any) -> None:
    if name in rec.recorded or media is None:
        return
    try:
        await media.set_recording(str(rec.folder / name))
        rec.recorded.add(name)
    except MediaError as e:
        log.warning("recording_feed_failed", recording=rec.id, feed=name, error=str(e))


async def record_member(hub: Hub, live: LiveRoom, conn: Connection) -> None:
    """Record what this participant publishes (camera and screen), if they may be recorded."""
    rec = live.recording
    if rec is None or conn.pid is None or not may_record(rec, conn):
        return
    if conn.publishing:
        await _record_feed(rec, conn.pid, conn.media)
    feed = live.screens.get(conn.pid)
    if feed is not None and feed.publishing:
        await _record_feed(rec, f"{conn.pid}-screen", feed.media)


async def member_joined(hub: Hub, live: LiveRoom, conn: Connection) -> None:
    """A joiner learns a recording runs; a shopper is asked for consent where the app wants it."""
    rec = live.recording
    if rec is None:
        policy, _ = await asyncio.to_thread(_app_policy, hub, live.app_id)
        if policy == "always" and conn.claims.is_staff:
            await start(hub, live, conn)
        return
    await ask_consent(hub, live, conn)


async def ask_consent(hub: Hub, live: LiveRoom, conn: Connection) -> None:
    rec = live.recording
    if rec is None or conn.claims.is_staff or not rec.needs_consent:
        return
    if conn.claims.identity in rec.consent:
        return
    await conn.send({"type": "recording_consent_request", "recording": rec.id, "by": rec.started_by,
                     "message": "This call will be recorded for service and quality. May we record you?"})


async def start(hub: Hub, live: LiveRoom, by: Connection) -> dict[str, Any]:
    policy, needs_consent = await asyncio.to_thread(_app_policy, hub, live.app_id)
    if policy == "off":
        raise ProtocolError("recording_disabled", "recording is switched off for this shop")
    if live.recording is not None:
        return {"type": "recording_started", **live.recording.public()}
    rec_id = new_id("rec")
    folder = hub.data_dir / "recordings-raw" / rec_id
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    rec = LiveRecording(rec_id, folder, time.monotonic(), by.claims.name, needs_consent, policy)
    live.recording = rec

    def _row() -> None:
        with hub.store.db.session() as s:
            call = s.query(Call).filter(Call.room_id == live.room_id).one_or_none()
            app = s.get(App, live.app_id)
            s.add(Recording(id=rec_id, app_id=live.app_id, room_id=live.room_id, call_id=call.id if call else None,
                            region=app.region if app else "local", status="recording", folder=str(folder),
                            started_by=by.claims.identity,
                            agent_identity=call.agent_identity if call else by.claims.identity,
                            customer_id=call.customer_id if call else None,
                            steps={"record": {"status": "running"}}))

    await asyncio.to_thread(_row)
    log.info("recording_started", recording=rec_id, room=live.room_id, by=by.claims.identity)
    await hub._broadcast(live, {"type": "recording_state", **rec.public()})
    for member in list(live.members.values()):
        await ask_consent(hub, live, member)
        await record_member(hub, live, member)
    await hub.emit_webhook(live.app_id, "recording.started", {"recording_id": rec_id, "room_id": live.room_id,
                                                              "status": "recording"})
    return {"type": "recording_started", **rec.public()}


async def stop(hub: Hub, live: LiveRoom, reason: str = "stopped") -> str | None:
    """Stop recording; the row moves to `processing` and the worker takes over."""
    rec, live.recording = live.recording, None
    if rec is None:
        return None
    for member in list(live.members.values()):
        for name, media in ((member.pid, member.media),
                            (f"{member.pid}-screen", getattr(live.screens.get(member.pid or ""), "media", None))):
            if name in rec.recorded and media is not None:
                try:
                    await media.set_recording(None)
                except MediaError:
                    pass  # the publisher may be gone: Janus has closed its files already
    duration = round(time.monotonic() - rec.started, 2)

    def _row() -> None:
        with hub.store.db.session() as s:
            row = s.get(Recording, rec.id)
            if row is not None:
                row.stopped_at, row.duration_s = utcnow(), duration
                row.status = "processing" if rec.recorded else "failed"
                row.error = None if rec.recorded else "nothing was recorded (no consenting participant published)"
                row.steps = {"record": {"status": "done", "feeds": sorted(rec.recorded), "reason": reason}}

    await asyncio.to_thread(_row)
    log.info("recording_stopped", recording=rec.id, seconds=duration, feeds=len(rec.recorded), reason=reason)
    await hub._broadcast(live, {"type": "recording_state", "active": False, "recording": rec.id})
    hub.wake_recording_worker()
    return rec.id


async def on_start(hub: Hub, conn: Connection, msg: StartRecording) -> dict[str, Any]:
    live = hub._live(conn, msg.id)
    if not conn.claims.is_staff:
        raise ProtocolError("forbidden", "only agents start recordings", msg.id)
    try:
        return await start(hub, live, conn)
    except ProtocolError as e:
        raise ProtocolError(e.code, e.message, msg.id) from None


async def on_stop(hub: Hub, conn: Connection, msg: StopRecording) -> dict[str, Any]:
    live = hub._live(conn, msg.id)
    if not conn.claims.is_staff:
        raise ProtocolError("forbidden", "only agents stop recordings", msg.id)
    if live.recording is None:
        raise ProtocolError("not_recording", "nothing is being recorded", msg.id)
    if live.recording.policy == "always":
        raise ProtocolError("recording_required", "this shop records every call", msg.id)
    rec_id = await stop(hub, live)
    return {"type": "recording_stopped", "recording": rec_id}


async def on_consent(hub: Hub, conn: Connection, msg: RecordingConsent) -> dict[str, Any]:
    live = hub._live(conn, msg.id)
    rec = live.recording
    if rec is None or rec.id != msg.recording:
        raise ProtocolError("not_recording", "that recording is not running", msg.id)
    rec.consent[conn.claims.identity] = msg.granted

    def _store() -> None:
        with hub.store.db.session() as s:
            s.add(ConsentDecision(app_id=live.app_id, room_id=live.room_id, recording_id=rec.id,
                                  identity=conn.claims.identity, decision="granted" if msg.granted else "refused"))

    await asyncio.to_thread(_store)
    log.info("recording_consent", recording=rec.id, identity=conn.claims.identity, granted=msg.granted)
    if msg.granted:
        await record_member(hub, live, conn)
    for member in list(live.members.values()):
        if member.claims.is_staff:
            await member.send({"type": "recording_consent", "recording": rec.id, "pid": conn.pid,
                               "name": conn.claims.name, "granted": msg.granted})
    return {"type": "recording_consent_saved", "recording": rec.id, "granted": msg.granted}


HANDLERS = {"start_recording": on_start, "stop_recording": on_stop, "recording_consent": on_consent}
