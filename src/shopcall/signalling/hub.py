"""The live side of rooms: who is connected where, and what each may do.

Every client message goes through `Hub.handle`: the token is re-checked, the registry gives the
message's model, handler and allowed roles, and the handler (a feature's) runs with the
connection's lock held, so one connection's messages are handled in order while media calls
never block other connections. The hub owns connections and room membership; features own
everything else and see the hub only through `RoomContext`. Nothing here awaits a client's
socket: messages are queued to each connection's bounded outbox.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Protocol

import structlog

from shopcall.auth.tokens import ClientClaims, ResumeClaims, TokenError, mint_resume, verify, verify_resume
from shopcall.console.accounts import token_current
from shopcall.media.backend import MediaBackend, MediaError, RoomSpec
from shopcall.ratelimit import RateLimiter, rule
from shopcall.recording.store import RecordingStore
from shopcall.rooms.directory import Directory
from shopcall.rooms.incall_store import InCallStore
from shopcall.rooms.store import RoomStore
from shopcall.signalling import protocol as p
from shopcall.signalling.connection import Connection, Socket
from shopcall.signalling.context import Feature
from shopcall.signalling.control import LiveStats
from shopcall.signalling.features.calls import CallDesk
from shopcall.signalling.features.incall import InCallFeature
from shopcall.signalling.features.media import MediaFeature
from shopcall.signalling.features.moderation import ModerationFeature
from shopcall.signalling.features.quality import QualityFeature
from shopcall.signalling.features.recording import RecordingFeature
from shopcall.signalling.features.screens import ScreensFeature
from shopcall.signalling.features.visitors import VisitorDesk
from shopcall.signalling.media_ops import media_call, release_media
from shopcall.signalling.registry import STAFF, Registry
from shopcall.signalling.room import HELD, Feed, Held, LiveRoom
from shopcall.webhooks.events import load_event

log = structlog.get_logger("shopcall.signalling")

HEARTBEAT_S = 3.0  # the server pings heartbeat clients this often (settings: signal_heartbeat_s)
LIVENESS_TIMEOUT_S = 8.0  # a heartbeat client silent this long is dead (signal_liveness_timeout_s)
LEGACY_IDLE_S = 60.0  # clients that do not answer pings (scripts, older SDKs) may idle this long
RELEASE_TIMEOUT_S = 5.0  # a member's media release at the end of a room waits no longer (then Janus reaps it)
RESUME_GRACE_S = 60.0  # a dropped member keeps their place this long (resume_grace_s)
CLOSE_REPLACED = 4409  # the same participant came back on a newer connection
RESTART_GRACE_S = 30.0  # after a restart, a room nobody came back to within this is ended
EXPIRY_WARNING_S = 30
ANY_MESSAGE_RATE = "100/second"  # every connection, every message type together


class EventSink(Protocol):
    async def emit(self, app_id: str, event_type: str, data: dict[str, Any]) -> str: ...


class IceServers(Protocol):
    """Mints a client's `welcome.ice_servers` (TURN URLs and credentials expiring with its token); injected
    by the app so the hub needs no TURN code. `host` is the Host header the client reached the API with."""

    def __call__(self, identity: str, expires_at: int, host: str | None) -> list[dict[str, Any]]: ...


class Hub:
    def __init__(self, rooms: RoomStore, media: MediaBackend, signing_key: bytes, *, webhooks: EventSink | None,
                 raw_recordings: Path, wake_recording_worker: Callable[[], None],
                 heartbeat_s: float = HEARTBEAT_S, liveness_timeout_s: float = LIVENESS_TIMEOUT_S,
                 resume_grace_s: float = RESUME_GRACE_S, outbox_limits: dict[str, Any] | None = None,
                 limiter: RateLimiter | None = None, ice_servers: IceServers | None = None,
                 keep_media_on_hold: bool = True) -> None:
        self.rooms_store = rooms
        self._media = media
        self.key = signing_key
        self.webhooks = webhooks
        if liveness_timeout_s < 2 * heartbeat_s:
            raise ValueError(f"the liveness timeout ({liveness_timeout_s} s) must be at least twice the heartbeat "
                             f"({heartbeat_s} s), or one late ping would drop a live client")
        self.heartbeat_s, self.liveness_timeout_s, self.resume_grace_s = heartbeat_s, liveness_timeout_s, resume_grace_s
        self.keep_media_on_hold = keep_media_on_hold
        self.outbox_limits = outbox_limits or {}
        self.limiter = limiter or RateLimiter()
        self.ice_servers = ice_servers
        self.rooms: dict[str, LiveRoom] = {}
        self._connections: set[Connection] = set()
        self._bg_tasks: set[asyncio.Task[Any]] = set()
        self._restarting = False
        directory = Directory(rooms.db)
        self.directory = directory
        incall = InCallStore(rooms.db)
        self.registry = Registry()
        self.desk = CallDesk(self, rooms, incall, directory, grace_s=resume_grace_s)
        self.visitor_desk = VisitorDesk(self.desk)
        # order matters for hooks: media first (unpublish before the leave is announced), calls last
        self.features: list[Feature] = [
            MediaFeature(self), ScreensFeature(self), InCallFeature(self, incall), ModerationFeature(self, rooms),
            RecordingFeature(self, RecordingStore(rooms.db), raw_recordings, wake_recording_worker),
            QualityFeature(self, incall), self.visitor_desk, self.desk,
        ]
        self.registry.add(p.Hello, self._on_hello)
        self.registry.add(p.Refresh, self._on_refresh)
        self.registry.add(p.Ping, self._on_ping)
        self.registry.add(p.Pong, self._on_pong)
        self.registry.add(p.Join, self._on_join)
        self.registry.add(p.Leave, self._on_leave)
        self.registry.add(p.EndRoom, self._on_end_room, roles=STAFF, denied="only agents and admins can end a room")
        for feature in self.features:
            feature.register(self.registry)
        media.on_reset(self._on_media_reset)

    # ---- RoomContext: what features may use ---------------------------------------------------

    @property
    def media(self) -> MediaBackend:
        return self._media

    def live(self, conn: Connection, ref: str | None) -> LiveRoom:
        live = self.rooms.get(conn.room_id or "")
        if live is None or conn.pid is None:
            raise p.ProtocolError("not_in_room", "join a room first", ref)
        return live

    def room(self, room_id: str) -> LiveRoom | None:
        return self.rooms.get(room_id)

    def connections(self) -> list[Connection]:
        return list(self._connections)

    def broadcast(self, room: LiveRoom, msg: dict[str, Any], *, skip: Connection | None = None,
                  staff_only: bool = False) -> None:
        for member in list(room.members.values()):
            if member is not skip and (member.claims.is_staff or not staff_only):
                member.send(msg)

    async def remove(self, conn: Connection, reason: str, close_code: int, close_reason: str) -> None:
        await self._leave_room(conn, reason)
        conn.close(close_code, close_reason)

    async def feed_up(self, room: LiveRoom, feed: Feed) -> None:
        for feature in self.features:
            await feature.feed_up(room, feed)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        async def guarded() -> None:
            try:
                await coro
            except Exception:
                log.exception("background_task_failed", task=name)

        task = asyncio.get_running_loop().create_task(guarded(), name=name)
        self._bg_tasks.add(task)
        task.add_done_callback(self._bg_tasks.discard)

    async def emit_data(self, app_id: str, event: str, data: dict[str, Any]) -> None:
        """Queue a webhook event; never raises into the call path."""
        if self.webhooks is None:
            return
        try:
            await self.webhooks.emit(app_id, event, data)
        except Exception:
            log.exception("webhook_emit_failed", event_type=event)

    def emit(self, event: str, *, call_id: str | None = None, room_id: str | None = None,
             pid: str | None = None) -> None:
        if self.webhooks is None:
            return

        async def build_and_emit() -> None:
            built = await asyncio.to_thread(load_event, self.rooms_store.db, event, call_id=call_id,
                                            room_id=room_id, pid=pid)
            if built is not None:
                await self.emit_data(built[0], event, built[1])

        self.spawn(build_and_emit(), f"webhook-{event}")

    # ---- LiveControl: what the REST API may ask -----------------------------------------------

    async def live_participants(self, room_id: str) -> int:
        live = self.rooms.get(room_id)
        return len(live.members) if live else 0

    async def desk_snapshot(self, app_id: str) -> dict[str, Any]:
        return self.desk.snapshot(app_id)

    async def visitors(self, app_id: str) -> list[dict[str, Any]]:
        return self.visitor_desk.listing(app_id)

    async def agent_online(self, app_id: str, identity: str) -> bool:
        return self.desk.agent_online(app_id, identity)

    async def reload_routing_policy(self, app_id: str) -> None:
        await self.desk.load_policy(app_id)

    def stats(self) -> LiveStats:
        return LiveStats(connections=len(self._connections), live_rooms=len(self.rooms))

    # ---- connection lifecycle -------------------------------------------------------------------

    def _ice_servers_for(self, claims: ClientClaims, ws: Socket) -> list[dict[str, Any]]:
        if self.ice_servers is None:
            return []
        headers = getattr(ws, "headers", None)  # Starlette's WebSocket; absent on test sockets
        host = headers.get("host") if headers is not None else None
        return self.ice_servers(claims.identity, claims.expires_at, host)

    async def authenticate(self, ws: Socket, hello: p.Hello) -> Connection:
        resume = verify_resume(self.key, hello.resume) if hello.resume is not None else None
        if hello.token is not None:
            claims = verify(self.key, hello.token)
            if resume is not None and (resume.client.app_id, resume.client.identity) != (claims.app_id,
                                                                                        claims.identity):
                raise TokenError("resume_mismatch", "the resume token belongs to another participant")
        elif resume is not None:
            claims = resume.client
        else:
            raise TokenError("token_invalid", "hello needs a token (or a resume token)")
        if not await asyncio.to_thread(self.directory.app_exists, claims.app_id):
            raise TokenError("token_wrong_app", "the token names an app that does not exist")
        await self._check_revoked(claims)
        if resume is not None:
            await self._check_resumable(resume)
        conn = Connection(ws, claims, secrets.token_hex(6), **self.outbox_limits)
        conn.heartbeat, conn.resume = hello.heartbeat, resume
        if resume is not None and resume.room is not None:
            conn.granted_rooms.add(resume.room)
        self._connections.add(conn)
        welcome: dict[str, Any] = {
            "type": "welcome", "re": hello.id, "identity": claims.identity, "name": claims.name,
            "role": claims.role, "app_id": claims.app_id, "rooms": list(claims.rooms),
            "expires_at": claims.expires_at, "ice_servers": self._ice_servers_for(claims, ws),
            "heartbeat_s": self.heartbeat_s,
            "liveness_timeout_s": self.liveness_timeout_s if hello.heartbeat else LEGACY_IDLE_S,
        }
        if resume is not None:
            welcome["resume"] = {"room": resume.room, "call": resume.call, "pid": resume.pid}
        conn.send(welcome)
        log.info("client_connected", conn=conn.conn_id, identity=claims.identity, role=claims.role,
                 app=claims.app_id)
        return conn

    async def disconnect(self, conn: Connection, reason: str = "disconnected") -> None:
        """Release everything the connection holds; safe to call more than once."""
        if conn not in self._connections:
            return
        self._connections.discard(conn)
        for feature in self.features:
            try:
                await feature.disconnected(conn)
            except Exception:
                log.exception("disconnect_hook_failed", conn=conn.conn_id)
        live = self.rooms.get(conn.room_id or "")
        if (reason == "disconnected" and not conn.left_cleanly and not self._restarting and live is not None
                and conn.pid is not None and live.members.get(conn.pid) is conn):
            await self._hold(live, conn)
        else:  # a client that closed its socket itself (1000) has hung up: "left", like a `leave`
            await self._leave_room(conn, "left" if reason == "disconnected" and conn.left_cleanly else reason)
        conn.close(p.CLOSE_NORMAL)

    async def watchdog(self, conn: Connection) -> None:
        """Once a second: ping heartbeat clients, drop a silent one (close 4408), keep its resume token
        fresh, handle token expiry. A tick that comes late (the event loop was stalled) skips the silence
        check once, so frames that arrived meanwhile are read before anyone is declared dead."""
        tick = time.monotonic()
        while not conn.closed:
            await asyncio.sleep(1)
            now, mono = time.time(), time.monotonic()
            stalled, tick = mono - tick > 2.5, mono
            if conn.heartbeat and mono - conn.last_ping >= self.heartbeat_s:
                conn.last_ping = mono
                conn.send({"type": "ping"})
            limit = self.liveness_timeout_s if conn.heartbeat else LEGACY_IDLE_S
            if not stalled and not conn.reader_waiting and mono - conn.last_seen > limit:
                log.info("client_silent", conn=conn.conn_id, silent_s=round(mono - conn.last_seen, 1))
                await self._fatal(conn, "timeout", "no message for too long; reconnect", close=p.CLOSE_IDLE)
                return
            if conn.heartbeat:  # pushed only to clients that asked for server frames (the SDK)
                self._refresh_resume(conn, now, mono)
            left = conn.claims.expires_at - now
            if left <= 0:
                await self._fatal(conn, "token_expired", "the token has expired; reconnect with a new one")
                return
            if left <= EXPIRY_WARNING_S and not conn.expiry_warned:
                conn.expiry_warned = True
                conn.send({"type": "token_expiring", "expires_at": conn.claims.expires_at})

    async def _fatal(self, conn: Connection, code: str, message: str, *, close: int = p.CLOSE_AUTH,
                     ref: str | None = None) -> None:
        conn.send({"type": "error", "re": ref, "code": code, "message": message, "fatal": True})
        conn.close(close, code)
        await self.disconnect(conn, "disconnected")

    # ---- dispatch -------------------------------------------------------------------------------

    async def handle(self, conn: Connection, raw: Any) -> None:
        conn.last_seen = time.monotonic()
        ref = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
        if time.time() >= conn.claims.expires_at:
            await self._fatal(conn, "token_expired", "the token has expired; reconnect with a new one", ref=ref)
            return
        try:
            spec, msg = self.registry.parse(raw)
            if conn.claims.role not in spec.roles:
                raise p.ProtocolError("forbidden", spec.denied, msg.id)
            self._check_rate(conn, spec.kind, spec.rate, msg.id)
            async with conn.lock:
                reply = await spec.handler(conn, msg)
            if reply is not None:
                reply["re"] = msg.id
                conn.send(reply)
        except p.ProtocolError as e:
            conn.send({"type": "error", "re": e.ref or ref, "code": e.code, "message": e.message})
        except TokenError as e:
            await self._fatal(conn, e.code, e.message, ref=ref)
        except MediaError as e:
            log.warning("media_error", conn=conn.conn_id, error=str(e))
            conn.send({"type": "error", "re": ref, "code": e.code, "message": f"the media server failed: {e}"})
        except Exception:
            log.exception("signalling_internal_error", conn=conn.conn_id)
            conn.send({"type": "error", "re": ref, "code": "internal",
                       "message": "internal error; the request was not carried out"})

    def _check_rate(self, conn: Connection, kind: str, rate: str | None, ref: str | None) -> None:
        for limit, scope in ((rate, kind), (ANY_MESSAGE_RATE, "*")):
            if limit is None:
                continue
            wait = self.limiter.hit(limit, "signal", conn.conn_id, scope)
            if wait is not None:
                what = kind if scope == kind else "messages"
                raise p.ProtocolError("rate_limited", f"{what}: at most {rule(limit)}; retry in {wait:g} s", ref)

    # ---- session ---------------------------------------------------------------------------------

    async def _on_hello(self, conn: Connection, msg: p.Hello) -> dict[str, Any]:
        raise p.ProtocolError("bad_request", "already authenticated; use refresh to renew the token", msg.id)

    async def _on_refresh(self, conn: Connection, msg: p.Refresh) -> dict[str, Any]:
        claims = verify(self.key, msg.token)
        if claims.app_id != conn.claims.app_id or claims.identity != conn.claims.identity:
            raise p.ProtocolError("forbidden", "a refreshed token must name the same app and identity", msg.id)
        await self._check_revoked(claims)
        conn.claims, conn.expiry_warned = claims, False
        # new TURN credentials too: the old ones stop working when the old token expires
        return {"type": "refreshed", "expires_at": claims.expires_at,
                "ice_servers": self._ice_servers_for(claims, conn.ws)}

    async def _on_ping(self, conn: Connection, msg: p.Ping) -> dict[str, Any]:
        return {"type": "pong"}

    async def _on_pong(self, conn: Connection, msg: p.Pong) -> None:
        return None  # liveness only: the endpoint already noted the frame

    # ---- resume tokens ---------------------------------------------------------------------------

    def _refresh_resume(self, conn: Connection, now: float, mono: float) -> None:
        """Give a member (or a waiting shopper) a fresh resume token when their place changes and a few
        times per grace period, so the one a page holds when it goes is valid for most of the grace."""
        found = self.desk.call_of(conn)
        room = conn.room_id or (found[1] if found else None)
        scope = (room, found[0] if found else None, conn.pid) if room is not None else None
        if scope is None or (scope == conn.resume_scope and mono < conn.resume_due):
            conn.resume_scope = scope
            return
        token, exp = mint_resume(self.key, conn.claims, room=scope[0], call=scope[1], pid=scope[2],
                                 ttl_s=self.resume_grace_s, now=now)
        conn.resume_scope, conn.resume_due = scope, mono + max(1.0, self.resume_grace_s / 6)
        conn.send({"type": "resume_token", "token": token, "expires_at": exp, "room": scope[0], "call": scope[1],
                   "pid": scope[2]})

    async def _check_resumable(self, resume: ResumeClaims) -> None:
        """A resume token is revoked once its call or room has ended, or its participant has left for good."""
        gone = TokenError("resume_revoked", "the call this resume token was for has ended")
        if resume.call is not None and resume.call not in self.desk.calls:
            raise gone
        if resume.room is None:
            return
        room = await asyncio.to_thread(self.rooms_store.get_room, resume.room)
        if room is None or room.app_id != resume.client.app_id or room.status != "open":
            raise gone
        live = self.rooms.get(room.id)
        if (live is not None and resume.pid is not None and resume.pid not in live.members
                and resume.pid not in live.reconnecting):
            raise TokenError("resume_revoked", "this participant has left the call")

    # ---- rooms -----------------------------------------------------------------------------------

    async def _check_revoked(self, claims: ClientClaims) -> None:
        """Console tokens of an agent since re-keyed, disabled or deleted are refused (close)."""
        if not await asyncio.to_thread(token_current, self.rooms_store.db, claims):
            raise TokenError("token_revoked", "this token was revoked; sign in again")

    async def _on_join(self, conn: Connection, msg: p.Join) -> dict[str, Any]:
        if conn.room_id is not None:
            raise p.ProtocolError("bad_request", "already in a room; leave it first", msg.id)
        await self._check_revoked(conn.claims)
        room = await asyncio.to_thread(self.rooms_store.get_room, msg.room)
        if room is None or room.app_id != conn.claims.app_id:  # another tenant's room looks like a missing one
            raise p.ProtocolError("room_not_found", f"no room {msg.room}", msg.id)
        if not conn.may_join(room.id) and not (
            conn.claims.role == "shopper"
            and await asyncio.to_thread(self.rooms_store.is_call_shopper, room.id, conn.claims.identity)
        ):
            raise p.ProtocolError("forbidden", "the token does not grant this room", msg.id)
        if room.status != "open":
            raise p.ProtocolError("room_ended", "this room has ended", msg.id)
        live = self.rooms.get(room.id)
        if live is None:
            # each participant may publish a camera and a screen
            live = LiveRoom(room.id, room.app_id, room.kind,
                            RoomSpec(key=room.id, max_publishers=room.max_participants * 2), room.max_participants)
            self.rooms[room.id] = live
        for feature in self.features:
            await feature.before_join(live, conn, msg.id)
        want_pid = conn.resume.pid if conn.resume is not None and conn.resume.room == room.id else None
        await self._take_over(live, conn, want_pid)
        held = live.held_for(conn.key, want_pid)
        if held is not None:  # back within the grace period: the same place, the same pid
            live.reconnecting.pop(held.pid, None)
            pid = held.pid
        else:
            if len(live.members) + len(live.reconnecting) >= live.max_participants:
                raise p.ProtocolError("room_full", f"the room holds at most {live.max_participants} participants",
                                      msg.id)
            pid = await asyncio.to_thread(self.rooms_store.add_participant, room.id, conn.claims.identity,
                                          conn.claims.name, conn.claims.role)
        if live.ended or conn.closed:  # ended, or the client left, while we were writing
            await asyncio.to_thread(self.rooms_store.remove_participant, pid, "room_ended")
            if not live.members and not live.reconnecting and not live.ended:
                await self.end_room(live.room_id, "empty")
            raise p.ProtocolError("room_ended", "this room has ended", msg.id)
        others = [c.public() for c in live.members.values()]
        others += [{**h.participant, "reconnecting": True} for h in live.reconnecting.values()]
        conn.room_id, conn.pid, conn.feed_id = room.id, pid, secrets.randbelow(2**50) + 1
        conn.leaving = False
        live.members[pid] = conn
        if held is not None:
            for feature in self.features:
                await feature.member_resumed(live, conn, held, msg.keep_media)
            self.broadcast(live, {"type": "participant_reconnected", "participant": conn.public()}, skip=conn)
            log.info("participant_reconnected", room=room.id, pid=pid, identity=conn.claims.identity,
                     away_s=round(self.resume_grace_s - (held.deadline - time.monotonic()), 1))
        else:
            self.broadcast(live, {"type": "participant_joined", "participant": conn.public()}, skip=conn)
            log.info("participant_joined", room=room.id, pid=pid, identity=conn.claims.identity)
            self.emit("participant.joined", pid=pid)
        reply: dict[str, Any] = {"type": "joined", "room": room.id, "pid": pid, "participants": others,
                                 "kind": room.kind, "resumed": held is not None}
        for feature in self.features:
            reply.update(await feature.joined_state(live, conn))

        async def after_join() -> None:  # runs after the `joined` reply has been queued
            for feature in self.features:
                await feature.after_join(live, conn)

        self.spawn(after_join(), "after-join")
        return reply

    async def _on_leave(self, conn: Connection, msg: p.Leave) -> dict[str, Any]:
        self.live(conn, msg.id)
        await self._leave_room(conn, "left")
        return {"type": "left"}

    async def _on_end_room(self, conn: Connection, msg: p.EndRoom) -> None:
        live = self.live(conn, msg.id)
        # shielded: the agent's connection may go (and its task be cancelled) before the room is fully ended
        await asyncio.shield(self.end_room(live.room_id, "ended_by_agent"))
        return None

    async def _leave_room(self, conn: Connection, reason: str) -> None:
        live = self.rooms.get(conn.room_id or "")
        pid = conn.pid
        if live is None or pid is None or live.members.get(pid) is not conn or conn.leaving:
            if not conn.leaving:
                conn.room_id, conn.pid = None, None
            if not conn.media_kept:  # a held connection's media waits for its resume or the hold's expiry
                await release_media(conn)
            return
        conn.leaving = True
        for feature in self.features:
            try:
                await feature.member_leaving(live, conn, reason)
            except Exception:
                log.exception("leave_hook_failed", room=live.room_id, pid=pid)
        live.members.pop(pid, None)
        conn.room_id, conn.pid = None, None
        await release_media(conn)
        if self._restarting:  # the row stays "in the room": the next start recovers the room from it
            return
        await asyncio.to_thread(self.rooms_store.remove_participant, pid, reason)
        self.emit("participant.left", pid=pid)
        self.broadcast(live, {"type": "participant_left", "pid": pid, "reason": reason})
        log.info("participant_left", room=live.room_id, pid=pid, reason=reason)
        if not live.members and not live.reconnecting and not live.ended:
            await self.end_room(live.room_id, "empty")

    # ---- continuity: a dropped member keeps their place for the grace period ---------------------

    async def _hold(self, live: LiveRoom, conn: Connection, *, replaced: bool = False) -> None:
        """The member's connection dropped (or a newer one of theirs replaces it): their media goes, their
        place (pid) stays for `resume_grace_s`, and the others see them as reconnecting."""
        pid = conn.pid
        if pid is None or conn.leaving:
            return
        conn.leaving = True
        # its peer connections may outlive the socket: keep the media for a resume that says so
        keep = self.keep_media_on_hold and conn.media is not None and not live.ended and not conn.page_gone
        participant = {**conn.public(), "screen": False}
        if not keep:
            participant["publishing"] = False
        # the others hear it first: releasing media may wait on a slow media server
        self.broadcast(live, {"type": "participant_reconnecting", "pid": pid, "participant": participant,
                              "grace_s": self.resume_grace_s}, skip=conn)
        log.info("participant_reconnecting", room=live.room_id, pid=pid, replaced=replaced)
        for feature in self.features:
            try:
                await feature.member_leaving(live, conn, HELD if keep else "reconnecting")
            except Exception:
                log.exception("leave_hook_failed", room=live.room_id, pid=pid)
        if live.members.get(pid) is conn and not live.ended:
            live.members.pop(pid)
            held = Held(pid, conn.key, conn.claims.role, participant, time.monotonic() + self.resume_grace_s,
                        conn if keep else None)
            live.reconnecting[pid] = held
            self.spawn(self._expire_hold(live, held), "hold-expiry")
        else:
            keep = False  # not held after all (the room ended meanwhile)
        conn.room_id, conn.pid = None, None
        conn.media_kept = keep
        if not keep:
            await release_media(conn)
        if replaced:
            conn.close(CLOSE_REPLACED, "replaced by a newer connection")

    async def _take_over(self, live: LiveRoom, conn: Connection, pid: str | None) -> None:
        """The same participant joining again while their old connection still counts as a member (a page
        reload, or a network change found by the client before the server): the old one is held first.
        In a call room an identity is one person; elsewhere only a resumed pid is taken over."""
        stale = [c for c in live.members.values() if c is not conn and c.key == conn.key
                 and (c.pid == pid or (live.kind == "call" and pid is None))]
        for old in stale:
            if not old.leaving:
                await self._hold(live, old, replaced=True)
            deadline = time.monotonic() + 5
            while old.pid is not None and live.members.get(old.pid) is old and time.monotonic() < deadline:
                await asyncio.sleep(0.02)  # its own disconnect is releasing it

    async def _expire_hold(self, live: LiveRoom, held: Held) -> None:
        await asyncio.sleep(max(0.0, held.deadline - time.monotonic()))
        if live.ended or live.reconnecting.get(held.pid) is not held:
            return
        del live.reconnecting[held.pid]
        for feature in self.features:
            try:
                await feature.hold_expired(live, held)
            except Exception:
                log.exception("hold_expiry_hook_failed", room=live.room_id, pid=held.pid)
        await asyncio.to_thread(self.rooms_store.remove_participant, held.pid, "disconnected")
        self.emit("participant.left", pid=held.pid)
        self.broadcast(live, {"type": "participant_left", "pid": held.pid, "reason": "disconnected"})
        log.info("participant_not_back", room=live.room_id, pid=held.pid, grace_s=self.resume_grace_s)
        reason = self._call_over(live)
        if reason is not None and not live.ended:
            await self.end_room(live.room_id, reason)

    @staticmethod
    def _call_over(live: LiveRoom) -> str | None:
        """Why the room ends now that a member did not come back, or None if it goes on."""
        if not live.members and not live.reconnecting:
            return "empty"
        if live.kind != "call":
            return None
        roles = [m.claims.role for m in live.members.values()] + [h.role for h in live.reconnecting.values()]
        if "shopper" not in roles:
            return "shopper_disconnected"
        if not any(r in STAFF for r in roles):
            return "agent_disconnected"
        return None

    async def end_room(self, room_id: str, reason: str) -> bool:
        """End a room for everyone: tell them, close their sockets, free the media room."""
        ended = await asyncio.to_thread(self.rooms_store.end_room, room_id, reason)
        live = self.rooms.get(room_id)
        members: list[Connection] = []
        if live is not None and not live.ended:
            live.ended = True
            for feature in self.features:
                try:
                    await feature.room_ending(live)
                except Exception:
                    log.exception("room_end_hook_failed", room=room_id)
            self.rooms.pop(room_id, None)
            members = list(live.members.values())
            kept = [h.conn for h in live.reconnecting.values() if h.conn is not None]
            live.members.clear()
            live.reconnecting.clear()
            for old in kept:
                await self._release_bounded(old, room_id)
            for member in members:
                if member.pid:
                    self.emit("participant.left", pid=member.pid)
                member.send({"type": "room_ended", "room": room_id, "reason": reason})
                member.room_id, member.pid = None, None
                await self._release_bounded(member, room_id)
        for feature in self.features:
            try:  # one feature failing must not leave the others (the desk frees the agent) undone
                await feature.room_ended(room_id)
            except Exception:
                log.exception("room_ended_hook_failed", room=room_id, feature=type(feature).__name__)
        await media_call(self._media.destroy_room(room_id))
        if ended:
            log.info("room_ended", room=room_id, reason=reason)
            self.emit("call.ended", room_id=room_id)
        # sockets last: closing the one whose request ended the room cancels that request's task, and with it
        # whatever of this method was still to run (it left the agent Busy after a call with a reconnect)
        for member in members:
            member.close(p.CLOSE_ROOM_ENDED, "room ended")
        return ended

    async def _release_bounded(self, conn: Connection, room_id: str) -> None:
        """Release a member's media, but never let it hold up the end of the room (the desk frees the agent
        after it): seen to hang with a resumed participant's adopted Janus session (issue 12, open)."""
        try:
            await asyncio.wait_for(release_media(conn), RELEASE_TIMEOUT_S)
        except TimeoutError:
            log.warning("media_release_timed_out", room=room_id, conn=conn.conn_id, timeout_s=RELEASE_TIMEOUT_S)

    async def _on_media_reset(self, reason: str) -> None:
        """The media server restarted: its sessions are gone, so clients must re-publish."""
        log.warning("media_reset", reason=reason)
        for feature in self.features:
            feature.media_reset(list(self.rooms.values()))
        held = [h.conn for live in self.rooms.values() for h in live.reconnecting.values() if h.conn is not None]
        for conn in list(self._connections) + held:
            conn.media, conn.publisher_joined, conn.subscriptions = None, False, {}
            conn.extra_media.clear()
            conn.publishing = False
            if conn.room_id:
                conn.send({"type": "media_reset", "reason": reason})

    async def recover(self, grace_s: float = RESTART_GRACE_S) -> None:
        """At start: rooms whose participants were connected when the last process stopped stay
        open for them to come back (ended after `grace_s` if nobody does), and calls that were
        waiting go back in the queue in their order."""
        rooms, waiting = await asyncio.to_thread(self.rooms_store.recover)
        await self.desk.restore(waiting)
        if rooms:
            self.spawn(self._end_unclaimed(rooms, grace_s), "restart-sweeper")
        if rooms or waiting:
            log.info("recovered_after_restart", rooms=len(rooms), calls=len(waiting))

    async def _end_unclaimed(self, room_ids: list[str], grace_s: float) -> None:
        await asyncio.sleep(grace_s)
        for room_id in room_ids:
            live = self.rooms.get(room_id)
            if (live is None or not live.members) and not self.desk.is_waiting(room_id):
                await self.end_room(room_id, "server_restart")

    def prepare_restart(self) -> None:
        self._restarting = True

    async def shutdown(self) -> None:
        """A restart, not the end of the calls: clients are told to reconnect (close 1012), rooms
        and waiting calls stay as they are for the next process to recover."""
        self._restarting = True
        await self.desk.stop()
        for task in list(self._bg_tasks):
            task.cancel()
        for conn in list(self._connections):
            conn.close(p.CLOSE_RESTART, "server restarting")
            await self.disconnect(conn, "server_restart")
