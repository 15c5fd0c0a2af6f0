"""The live side of rooms: who is connected where, and what each may do.

Every client message goes through `Hub.handle`, which re-checks the token, the role and
the room grant before touching the media backend. Messages of one connection are handled
in order (per-connection lock); media calls never block other connections.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from shopcall.auth.tokens import TokenError, verify
from shopcall.media.backend import MediaBackend, MediaError, MediaEvent, RoomSpec
from shopcall.rooms.incall_store import InCallStore
from shopcall.rooms.store import RoomStore
from shopcall.signalling import incall, moderation, quality, recording, screens, visitors
from shopcall.signalling import protocol as p
from shopcall.signalling.calls import CallDesk
from shopcall.signalling.connection import Connection, Socket

log = structlog.get_logger("shopcall.signalling")

CLOSE_ROOM_ENDED = 4000
CLOSE_AUTH = 4401
CLOSE_IDLE = 4408
HEARTBEAT_S = 20
EXPIRY_WARNING_S = 30


@dataclass
class LiveRoom:
    room_id: str
    app_id: str
    spec: RoomSpec
    max_participants: int
    members: dict[str, Connection] = field(default_factory=dict)  # pid -> connection
    ended: bool = False
    extras: Any = None  # signalling.incall.RoomExtras
    screens: dict[str, Any] = field(default_factory=dict)  # owner pid -> signalling.screens.ScreenFeed
    spotlight: str | None = None  # pid the host put on the main stage
    removed: set[str] = field(default_factory=set)  # identities the host removed: no way back in
    recording: Any = None  # signalling.recording.LiveRecording while a recording runs


# Messages handled by feature modules, each `async (hub, conn, msg) -> reply | None`.
FEATURE_HANDLERS: dict[str, Any] = {**incall.HANDLERS, **screens.HANDLERS, **moderation.HANDLERS,
                                    **visitors.HANDLERS, **recording.HANDLERS, **quality.HANDLERS}


class Hub:
    def __init__(self, store: RoomStore, media: MediaBackend, signing_key: bytes, *,
                 app_exists: Any, heartbeat_s: int = HEARTBEAT_S, data_dir: Path | None = None) -> None:
        self.store = store
        self.data_dir = data_dir or Path("data")
        self.webhooks: Any = None  # webhooks.WebhookDispatcher, set by the app
        self._bg_tasks: set[asyncio.Task[None]] = set()
        self.recording_worker: Any = None  # recording.worker.RecordingWorker, set by the app
        self.incall = InCallStore(store.db)
        self.media = media
        self.key = signing_key
        self.app_exists = app_exists
        self.heartbeat_s = heartbeat_s
        self.rooms: dict[str, LiveRoom] = {}
        self.connections: set[Connection] = set()
        self.desk = CallDesk(self)
        self.visitors = visitors.VisitorDesk(self)
        media.on_reset(self._on_media_reset)

    # ---- connection lifecycle -------------------------------------------------

    async def authenticate(self, ws: Socket, hello: p.Hello) -> Connection:
        claims = verify(self.key, hello.token)
        if not await asyncio.to_thread(self.app_exists, claims.app_id):
            raise TokenError("token_wrong_app", "the token names an app that does not exist")
        conn = Connection(ws=ws, claims=claims, conn_id=secrets.token_hex(6))
        self.connections.add(conn)
        await conn.send({
            "type": "welcome", "re": hello.id, "identity": claims.identity, "name": claims.name,
            "role": claims.role, "app_id": claims.app_id, "rooms": list(claims.rooms),
            "expires_at": claims.expires_at, "ice_servers": [], "heartbeat_s": self.heartbeat_s,
        })
        log.info("client_connected", conn=conn.conn_id, identity=claims.identity, role=claims.role,
                 app=claims.app_id)
        return conn

    async def disconnect(self, conn: Connection, reason: str = "disconnected") -> None:
        """Release everything the connection holds; safe to call more than once."""
        self.connections.discard(conn)
        conn.available = False
        self.visitors.disconnected(conn)
        await self.desk.disconnected(conn)
        await self._leave_room(conn, reason)
        await conn.close(1000)

    async def watchdog(self, conn: Connection) -> None:
        """Idle timeout and token-expiry handling, once a second."""
        while not conn.closed:
            await asyncio.sleep(1)
            now = time.time()
            if time.monotonic() - conn.last_seen > 3 * self.heartbeat_s:
                await self._fatal(conn, "timeout", "no message for too long; reconnect", close=CLOSE_IDLE)
                return
            left = conn.claims.expires_at - now
            if left <= 0:
                await self._fatal(conn, "token_expired", "the token has expired; reconnect with a new one")
                return
            if left <= EXPIRY_WARNING_S and not conn.expiry_warned:
                conn.expiry_warned = True
                await conn.send({"type": "token_expiring", "expires_at": conn.claims.expires_at})

    async def _fatal(self, conn: Connection, code: str, message: str, *, close: int = CLOSE_AUTH,
                     ref: str | None = None) -> None:
        await conn.send({"type": "error", "re": ref, "code": code, "message": message, "fatal": True})
        await self.disconnect(conn, "disconnected")
        await conn.close(close, code)

    # ---- dispatch -------------------------------------------------------------

    async def handle(self, conn: Connection, raw: Any) -> None:
        conn.last_seen = time.monotonic()
        ref = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
        if time.time() >= conn.claims.expires_at:
            await self._fatal(conn, "token_expired", "the token has expired; reconnect with a new one", ref=ref)
            return
        try:
            msg = p.parse(raw)
            async with conn.lock:
                await self._dispatch(conn, msg)
        except p.ProtocolError as e:
            await conn.send({"type": "error", "re": e.ref or ref, "code": e.code, "message": e.message})
        except TokenError as e:
            await self._fatal(conn, e.code, e.message, ref=ref)
        except MediaError as e:
            log.warning("media_error", conn=conn.conn_id, error=str(e))
            await conn.send({"type": "error", "re": ref, "code": e.code,
                             "message": f"the media server failed: {e}"})
        except Exception:
            log.exception("signalling_internal_error", conn=conn.conn_id)
            await conn.send({"type": "error", "re": ref, "code": "internal",
                             "message": "internal error; the request was not carried out"})

    async def _dispatch(self, conn: Connection, msg: Any) -> None:
        handler = getattr(self, f"_on_{msg.type}", None)
        if handler is not None:
            reply = await handler(conn, msg)
        else:
            reply = await FEATURE_HANDLERS[msg.type](self, conn, msg)
        if reply is not None:
            reply["re"] = msg.id
            await conn.send(reply)

    # ---- handlers: session ----------------------------------------------------

    async def _on_hello(self, conn: Connection, msg: p.Hello) -> dict[str, Any]:
        raise p.ProtocolError("bad_request", "already authenticated; use refresh to renew the token", msg.id)

    async def _on_refresh(self, conn: Connection, msg: p.Refresh) -> dict[str, Any]:
        claims = verify(self.key, msg.token)
        if claims.app_id != conn.claims.app_id or claims.identity != conn.claims.identity:
            raise p.ProtocolError("forbidden", "a refreshed token must name the same app and identity", msg.id)
        conn.claims, conn.expiry_warned = claims, False
        return {"type": "refreshed", "expires_at": claims.expires_at}

    async def _on_ping(self, conn: Connection, msg: p.Ping) -> dict[str, Any]:
        return {"type": "pong"}

    # ---- handlers: rooms ------------------------------------------------------

    async def _on_join(self, conn: Connection, msg: p.Join) -> dict[str, Any]:
        if conn.room_id is not None:
            raise p.ProtocolError("bad_request", "already in a room; leave it first", msg.id)
        room = await asyncio.to_thread(self.store.get_room, msg.room)
        if room is None:
            raise p.ProtocolError("room_not_found", f"no room {msg.room}", msg.id)
        if room.app_id != conn.claims.app_id:
            raise p.ProtocolError("token_wrong_app", "the token was issued for another app", msg.id)
        if not conn.may_join(room.id) and not (
            conn.claims.role == "shopper"
            and await asyncio.to_thread(self.store.is_call_shopper, room.id, conn.claims.identity)
        ):
            raise p.ProtocolError("forbidden", "the token does not grant this room", msg.id)
        if room.status != "open":
            raise p.ProtocolError("room_ended", "this room has ended", msg.id)
        live = self.rooms.get(room.id)
        if live is None:
            # each participant may publish a camera and a screen
            live = LiveRoom(room.id, room.app_id, RoomSpec(key=room.id, max_publishers=room.max_participants * 2),
                            room.max_participants)
            self.rooms[room.id] = live
        if conn.claims.identity in live.removed and not conn.claims.is_staff:
            raise p.ProtocolError("removed", "the host removed you from this session", msg.id)
        if len(live.members) >= live.max_participants:
            raise p.ProtocolError("room_full", f"the room holds at most {live.max_participants} participants",
                                  msg.id)
        pid = await asyncio.to_thread(self.store.add_participant, room.id, conn.claims.identity,
                                      conn.claims.name, conn.claims.role)
        if live.ended:  # ended while we were writing
            await asyncio.to_thread(self.store.remove_participant, pid, "room_ended")
            raise p.ProtocolError("room_ended", "this room has ended", msg.id)
        others = [c.public() for c in live.members.values()]
        conn.room_id, conn.pid, conn.feed_id = room.id, pid, secrets.randbelow(2**50) + 1
        live.members[pid] = conn
        await self._broadcast(live, {"type": "participant_joined", "participant": conn.public()}, skip=conn)
        log.info("participant_joined", room=room.id, pid=pid, identity=conn.claims.identity)
        self.webhook_later("participant.joined", pid=pid)
        state = await incall.join_state(self, live)
        # after the `joined` reply: a running recording asks for consent; `always` starts one
        asyncio.get_running_loop().call_soon(
            lambda: asyncio.ensure_future(recording.member_joined(self, live, conn)))
        return {"type": "joined", "room": room.id, "pid": pid, "participants": others, "kind": room.kind,
                "spotlight": live.spotlight, "recording": live.recording.public() if live.recording else None,
                **state}

    def _live(self, conn: Connection, ref: str | None) -> LiveRoom:
        live = self.rooms.get(conn.room_id or "")
        if live is None or conn.pid is None:
            raise p.ProtocolError("not_in_room", "join a room first", ref)
        return live

    async def _session(self, conn: Connection):  # type: ignore[no-untyped-def]
        if conn.media is None:
            async def on_event(ev: MediaEvent, c: Connection = conn) -> None:
                await self._on_media_event(c, ev)

            conn.media = await self.media.open_session(f"{conn.claims.app_id}/{conn.pid}", on_event)
        return conn.media

    async def _on_publish(self, conn: Connection, msg: p.Publish) -> dict[str, Any]:
        live = self._live(conn, msg.id)
        media = await self._session(conn)
        if not conn.publisher_joined:
            assert conn.feed_id is not None
            await media.join_publisher(live.spec, conn.feed_id, conn.claims.name)
            conn.publisher_joined = True
        answer = await media.publish(msg.sdp)
        # `track_published` goes out when the media server reports the publisher's media up:
        # only then can others subscribe (Janus refuses subscriptions to a feed not yet started).
        return {"type": "answer", "sdp": answer}

    async def _on_unpublish(self, conn: Connection, msg: p.Unpublish) -> dict[str, Any]:
        live = self._live(conn, msg.id)
        if not conn.publishing or conn.media is None:
            raise p.ProtocolError("not_publishing", "nothing is being published", msg.id)
        await media_call(conn.media.unpublish())
        conn.publishing = False
        await self._drop_subscriptions_to(live, conn)
        await self._broadcast(live, {"type": "track_unpublished", "pid": conn.pid}, skip=conn)
        return {"type": "unpublished"}

    async def _on_subscribe(self, conn: Connection, msg: p.Subscribe) -> dict[str, Any]:
        live = self._live(conn, msg.id)
        screen = screens.feed_of(live, msg.pid)
        target = screen.owner if screen is not None else live.members.get(msg.pid)
        feed_id = screen.feed_id if screen is not None else (target.feed_id if target is not None else None)
        if target is None or feed_id is None or (screen is None and not target.publishing):
            raise p.ProtocolError("no_such_publisher", f"{msg.pid} is not publishing in this room", msg.id)
        if target is conn:
            raise p.ProtocolError("bad_request", "cannot subscribe to yourself", msg.id)
        media = await self._session(conn)
        sid, offer = await media.subscribe(live.spec, feed_id)
        conn.subscriptions[sid] = msg.pid
        return {"type": "offer", "sid": sid, "pid": msg.pid, "sdp": offer}

    async def _on_start(self, conn: Connection, msg: p.Start) -> dict[str, Any]:
        self._live(conn, msg.id)
        if msg.sid not in conn.subscriptions or conn.media is None:
            raise p.ProtocolError("no_such_subscription", f"no subscription {msg.sid}", msg.id)
        await conn.media.start(msg.sid, msg.sdp)
        return {"type": "started", "sid": msg.sid}

    async def _on_unsubscribe(self, conn: Connection, msg: p.Unsubscribe) -> dict[str, Any]:
        self._live(conn, msg.id)
        if conn.subscriptions.pop(msg.sid, None) is None or conn.media is None:
            raise p.ProtocolError("no_such_subscription", f"no subscription {msg.sid}", msg.id)
        await media_call(conn.media.unsubscribe(msg.sid))
        return {"type": "unsubscribed", "sid": msg.sid}

    async def _on_trickle(self, conn: Connection, msg: p.Trickle) -> None:
        live = self._live(conn, msg.id)
        if msg.target == "screen":
            await screens.trickle(conn, live, msg.candidate, msg.id)
            return None
        if conn.media is None or (msg.target != "publisher" and msg.target not in conn.subscriptions):
            raise p.ProtocolError("no_such_subscription", f"no peer connection {msg.target!r} to trickle to",
                                  msg.id)
        await conn.media.trickle(msg.target, msg.candidate)
        return None

    async def _on_mute(self, conn: Connection, msg: p.Mute) -> dict[str, Any]:
        live = self._live(conn, msg.id)
        if msg.audio is not None:
            conn.audio_muted = msg.audio
        if msg.video is not None:
            conn.video_muted = msg.video
        await self._broadcast(live, {"type": "participant_updated", "participant": conn.public()}, skip=conn)
        return {"type": "muted", "audio": conn.audio_muted, "video": conn.video_muted}

    async def _on_leave(self, conn: Connection, msg: p.Leave) -> dict[str, Any]:
        self._live(conn, msg.id)
        await self._leave_room(conn, "left")
        return {"type": "left"}

    async def _on_end_room(self, conn: Connection, msg: p.EndRoom) -> None:
        live = self._live(conn, msg.id)
        if not conn.claims.is_staff:
            raise p.ProtocolError("forbidden", "only agents and admins can end a room", msg.id)
        await self.end_room(live.room_id, "ended_by_agent")
        return None

    # ---- handlers: calls --------------------------------------------------------

    async def _on_call(self, conn: Connection, msg: p.CallRequest) -> dict[str, Any]:
        context = {k: v for k, v in msg.context.items() if isinstance(k, str)}
        if len(str(context)) > 4096:
            raise p.ProtocolError("bad_request", "call context is too large (4 KB at most)", msg.id)
        return await self.desk.on_call(conn, context, msg.id)

    def agent_online(self, app_id: str, identity: str) -> bool:
        return any(c.claims.app_id == app_id and c.claims.identity == identity and c.claims.is_staff and not c.closed
                   for c in self.connections)

    async def _on_cancel_call(self, conn: Connection, msg: p.CancelCall) -> dict[str, Any]:
        return await self.desk.on_cancel(conn, msg.call, msg.id)

    async def _on_available(self, conn: Connection, msg: p.Available) -> dict[str, Any]:
        return await self.desk.on_available(conn, msg.id)

    async def _on_set_status(self, conn: Connection, msg: Any) -> dict[str, Any]:
        return await self.desk.on_set_status(conn, msg)

    async def _on_accept_call(self, conn: Connection, msg: p.AcceptCall) -> dict[str, Any]:
        return await self.desk.on_accept(conn, msg.call, msg.id)

    async def _on_decline_call(self, conn: Connection, msg: p.DeclineCall) -> dict[str, Any]:
        return await self.desk.on_decline(conn, msg.call, msg.id)

    async def _on_transfer_call(self, conn: Connection, msg: Any) -> dict[str, Any]:
        return await self.desk.on_transfer(conn, msg)

    async def _on_invite_agent(self, conn: Connection, msg: Any) -> dict[str, Any]:
        return await self.desk.on_invite(conn, msg)

    # ---- room lifecycle -----------------------------------------------------

    async def _leave_room(self, conn: Connection, reason: str) -> None:
        live = self.rooms.get(conn.room_id or "")
        pid = conn.pid
        conn.room_id, conn.pid = None, None
        await self._release_media(conn)
        if live is None or pid is None:
            return
        live.members.pop(pid, None)
        if live.spotlight == pid:
            live.spotlight = None
            await self._broadcast(live, {"type": "spotlight", "pid": None, "by": None})
        feed = live.screens.get(pid)
        if feed is not None:
            await screens.stop(self, live, feed)
        await asyncio.to_thread(self.store.remove_participant, pid, reason)
        self.webhook_later("participant.left", pid=pid)
        if reason == "left" and conn.claims.is_staff:
            await self.desk.left_room(conn, live.room_id)
        was_publishing, conn.publishing = conn.publishing, False
        if was_publishing:
            await self._drop_subscriptions_to(live, conn, pid)
            await self._broadcast(live, {"type": "track_unpublished", "pid": pid})
        await self._broadcast(live, {"type": "participant_left", "pid": pid, "reason": reason})
        log.info("participant_left", room=live.room_id, pid=pid, reason=reason)
        if not live.members and not live.ended:
            await self.end_room(live.room_id, "empty")

    async def _drop_subscriptions_to(self, live: LiveRoom, publisher: Connection, pid: str | None = None) -> None:
        """Free the subscriber handles that pointed at a publisher who stopped."""
        pid = pid or publisher.pid
        for member in list(live.members.values()):
            for sid, target in list(member.subscriptions.items()):
                if target == pid:
                    member.subscriptions.pop(sid, None)
                    if member.media is not None:
                        await media_call(member.media.unsubscribe(sid))

    async def _release_media(self, conn: Connection) -> None:
        media, conn.media = conn.media, None
        conn.publisher_joined, conn.subscriptions = False, {}
        if media is not None:
            await media_call(media.close())

    async def end_room(self, room_id: str, reason: str) -> bool:
        """End a room for everyone: tell them, close their sockets, free the media room."""
        ended = await asyncio.to_thread(self.store.end_room, room_id, reason)
        live = self.rooms.get(room_id)
        if live is not None and live.recording is not None:
            await recording.stop(self, live, "room_ended")
        live = self.rooms.pop(room_id, None)
        await self.desk.room_ended(room_id)
        if live is not None:
            live.ended = True
            members = list(live.members.values())
            live.members.clear()
            for feed in list(live.screens.values()):
                if feed.media is not None:
                    await media_call(feed.media.close())
            live.screens.clear()
            for member in members:
                if member.pid:
                    self.webhook_later("participant.left", pid=member.pid)
                await member.send({"type": "room_ended", "room": room_id, "reason": reason})
                member.room_id, member.pid = None, None
                await self._release_media(member)
                await member.close(CLOSE_ROOM_ENDED, "room ended")
                self.connections.discard(member)
        await media_call(self.media.destroy_room(room_id))
        if ended:
            log.info("room_ended", room=room_id, reason=reason)
            self.webhook_later("call.ended", room_id=room_id)
        return ended

    async def _broadcast(self, live: LiveRoom, msg: dict[str, Any], skip: Connection | None = None) -> None:
        for member in list(live.members.values()):
            if member is not skip:
                await member.send(msg)

    async def _on_media_event(self, conn: Connection, ev: MediaEvent) -> None:
        if ev.kind not in ("up", "down"):
            return
        await conn.send({"type": "media_state", "target": ev.target, "state": ev.kind})
        live = self.rooms.get(conn.room_id or "")
        if ev.target != "publisher" or live is None or conn.pid is None:
            return
        if ev.kind == "up" and not conn.publishing and conn.publisher_joined:
            conn.publishing = True
            await self._broadcast(live, {"type": "track_published", "pid": conn.pid}, skip=conn)
            await recording.record_member(self, live, conn)
        elif ev.kind == "down" and conn.publishing:
            conn.publishing = False
            await self._drop_subscriptions_to(live, conn)
            await self._broadcast(live, {"type": "track_unpublished", "pid": conn.pid}, skip=conn)

    async def _on_media_reset(self, reason: str) -> None:
        """The media server restarted: its sessions are gone, so clients must re-publish."""
        log.warning("media_reset", reason=reason)
        for live in self.rooms.values():
            for feed in list(live.screens.values()):
                feed.media, feed.joined, feed.publishing = None, False, False
                feed.owner.screen_publishing = False
            live.screens.clear()
        for conn in list(self.connections):
            conn.media, conn.publisher_joined, conn.subscriptions = None, False, {}
            conn.publishing = False
            if conn.room_id:
                await conn.send({"type": "media_reset", "reason": reason})

    async def emit_webhook(self, app_id: str, event: str, data: dict[str, Any]) -> None:
        """Queue a webhook event; never raises into the call path."""
        if self.webhooks is None:
            return
        try:
            await self.webhooks.emit(app_id, event, data)
        except Exception:
            log.exception("webhook_emit_failed", event_type=event)

    def webhook_later(self, event: str, *, call_id: str | None = None, room_id: str | None = None,
                      pid: str | None = None) -> None:
        """Build an event from the stored rows and queue it, off the call path (a background task)."""
        if self.webhooks is None:
            return
        task = asyncio.get_running_loop().create_task(self._webhook(event, call_id, room_id, pid))
        self._bg_tasks.add(task)
        task.add_done_callback(self._bg_tasks.discard)

    async def _webhook(self, event: str, call_id: str | None, room_id: str | None, pid: str | None) -> None:
        from shopcall.db.models import Call, Participant
        from shopcall.webhooks import events as ev

        def build() -> tuple[str, dict[str, Any]] | None:
            with self.store.db.session() as s:
                if pid is not None:
                    p = s.get(Participant, pid)
                    if p is None:
                        return None
                    call = s.query(Call).filter(Call.room_id == p.room_id).one_or_none()
                    app_id = p.room.app_id
                    return app_id, ev.participant(p, call_id=call.id if call else None)
                call = s.get(Call, call_id) if call_id else \
                    s.query(Call).filter(Call.room_id == room_id).one_or_none()
                if call is None:
                    return None
                if event == "call.queued":
                    return call.app_id, ev.call_queued(call)
                if event == "call.started":
                    return call.app_id, ev.call_started(call)
                parts = list(s.query(Participant).filter(Participant.room_id == call.room_id))
                return call.app_id, ev.call_ended(call, parts)

        try:
            built = await asyncio.to_thread(build)
        except Exception:
            log.exception("webhook_build_failed", event_type=event)
            return
        if built is not None:
            await self.emit_webhook(built[0], event, built[1])

    def wake_recording_worker(self) -> None:
        if self.recording_worker is not None:
            self.recording_worker.wake()

    async def shutdown(self) -> None:
        await self.desk.stop()
        for conn in list(self.connections):
            await conn.send({"type": "error", "code": "server_shutdown", "message": "the server is restarting",
                             "fatal": True})
            await self.disconnect(conn, "server_shutdown")


async def media_call(coro: Any) -> None:
    """Run a release-type media operation; failure to release is logged, never raised."""
    try:
        await coro
    except Exception as e:  # the media server may already be gone
        log.warning("media_release_failed", error=str(e))
