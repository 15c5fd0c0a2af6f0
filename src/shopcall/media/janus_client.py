"""Asyncio client for Janus's WebSocket API, plus a small Admin API helper.

One WebSocket carries every session. Each request gets a transaction id whose future is
resolved by Janus's `success`/`error`, or, for plugin requests Janus handles
asynchronously, by the `event` that follows its `ack`. Events without a pending
transaction are dispatched to the callback of the handle they concern. A lost connection
fails every pending future with MediaError, so no caller waits forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

from shopcall.media.backend import MediaError

log = logging.getLogger(__name__)

VIDEOROOM = "janus.plugin.videoroom"

HandleCallback = Callable[["JanusHandle", dict[str, Any]], Awaitable[None]]
DisconnectCallback = Callable[["JanusClient"], Awaitable[None]]


def _tid() -> str:
    return secrets.token_hex(8)


class JanusError(MediaError):
    """Janus (core or plugin) refused a request; `janus_code` is its numeric error code."""

    def __init__(
        self, message: str, janus_code: int | None = None, *, code: str = "media_unavailable"
    ) -> None:
        super().__init__(message, code=code)
        self.janus_code = janus_code


@dataclass
class PluginReply:
    """A plugin's answer: its `data` object and the JSEP it attached, if any."""

    data: dict[str, Any]
    jsep: dict[str, Any] | None = None


@dataclass
class _Pending:
    future: asyncio.Future[dict[str, Any]]
    wait_event: bool  # True: an `ack` is not the answer, the following `event` is
    what: str


@dataclass(eq=False)
class JanusHandle:
    """A handle attached to a plugin within a session."""

    session: JanusSession
    id: int
    plugin: str
    on_event: HandleCallback | None = None
    detached: bool = False

    @property
    def client(self) -> JanusClient:
        return self.session.client

    async def message(
        self, body: dict[str, Any], jsep: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> PluginReply:
        """Send a plugin request; plugin-level errors (`error_code`) raise JanusError."""
        payload: dict[str, Any] = {
            "janus": "message",
            "session_id": self.session.id,
            "handle_id": self.id,
            "body": body,
        }
        if jsep is not None:
            payload["jsep"] = jsep
        reply = await self.client.request(payload, wait_event=True, timeout=timeout)
        plugindata = reply.get("plugindata") or {}
        data: dict[str, Any] = plugindata.get("data") or {}
        if "error_code" in data or "error" in data:
            code = data.get("error_code")
            raise JanusError(
                f"{self.plugin} {body.get('request')!r} failed: {data.get('error')} ({code})", code
            )
        return PluginReply(data=data, jsep=reply.get("jsep"))

    async def trickle(self, candidate: dict[str, Any] | None) -> None:
        """One ICE candidate, or None for end-of-candidates."""
        payload: dict[str, Any] = {
            "janus": "trickle",
            "session_id": self.session.id,
            "handle_id": self.id,
            "candidate": candidate if candidate is not None else {"completed": True},
        }
        await self.client.request(payload)

    async def hangup(self) -> None:
        await self.client.request({"janus": "hangup", "session_id": self.session.id, "handle_id": self.id})

    async def detach(self) -> None:
        """Detach (Janus also hangs up and leaves the room); idempotent."""
        if self.detached:
            return
        self.detached = True
        self.session.handles.pop(self.id, None)
        if self.client.connected and not self.session.destroyed:
            await self.client.request(
                {"janus": "detach", "session_id": self.session.id, "handle_id": self.id}
            )


@dataclass(eq=False)
class JanusSession:
    """A Janus session; kept alive with a keepalive every `keepalive_s` seconds."""

    client: JanusClient
    id: int
    handles: dict[int, JanusHandle] = field(default_factory=dict)
    destroyed: bool = False
    on_timeout: Callable[[JanusSession], Awaitable[None]] | None = None
    _keepalive: asyncio.Task[None] | None = None

    async def attach(self, plugin: str = VIDEOROOM, on_event: HandleCallback | None = None) -> JanusHandle:
        reply = await self.client.request({"janus": "attach", "session_id": self.id, "plugin": plugin})
        handle = JanusHandle(session=self, id=int(reply["data"]["id"]), plugin=plugin, on_event=on_event)
        self.handles[handle.id] = handle
        return handle

    async def destroy(self) -> None:
        """Destroy the session (and with it every handle); idempotent."""
        if self.destroyed:
            return
        self.destroyed = True
        self._stop_keepalive()
        for h in self.handles.values():
            h.detached = True
        self.handles.clear()
        self.client.sessions.pop(self.id, None)
        if self.client.connected:
            await self.client.request({"janus": "destroy", "session_id": self.id})

    def _start_keepalive(self, interval: float) -> None:
        self._keepalive = asyncio.create_task(
            self._keepalive_loop(interval), name=f"janus-keepalive-{self.id}"
        )

    def _stop_keepalive(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None

    async def _keepalive_loop(self, interval: float) -> None:
        while not self.destroyed and self.client.connected:
            await asyncio.sleep(interval)
            try:
                await self.client.request({"janus": "keepalive", "session_id": self.id}, timeout=10)
            except MediaError as e:  # the loop's condition ends it if the connection is gone
                log.warning("janus keepalive for session %d failed: %s", self.id, e)


class JanusClient:
    """A single WebSocket connection to Janus (subprotocol `janus-protocol`)."""

    def __init__(self, ws_url: str, *, request_timeout: float = 10.0, keepalive_s: float = 25.0) -> None:
        self.ws_url = ws_url
        self.request_timeout = request_timeout
        self.keepalive_s = keepalive_s
        self.sessions: dict[int, JanusSession] = {}
        self._ws: ClientConnection | None = None
        self._pending: dict[str, _Pending] = {}
        self._reader: asyncio.Task[None] | None = None
        self._closing = False
        self._disconnect_callbacks: list[DisconnectCallback] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._reader is not None and not self._reader.done()

    def on_disconnect(self, callback: DisconnectCallback) -> None:
        """Run `callback` when the connection drops without `close()` having been called."""
        self._disconnect_callbacks.append(callback)

    async def connect(self, timeout: float = 5.0) -> None:
        try:
            self._ws = await websockets.connect(
                self.ws_url,
                subprotocols=[Subprotocol("janus-protocol")],
                open_timeout=timeout,
                max_size=16 * 1024 * 1024,
                ping_interval=20,
                ping_timeout=20,
            )
        except (OSError, TimeoutError, websockets.WebSocketException) as e:
            raise MediaError(f"cannot connect to Janus at {self.ws_url}: {e}") from e
        self._closing = False
        self._reader = asyncio.create_task(self._read_loop(), name="janus-ws-reader")

    async def close(self) -> None:
        """Close the connection (Janus then drops the sessions made over it)."""
        self._closing = True
        for s in list(self.sessions.values()):
            s._stop_keepalive()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._fail_pending("Janus connection closed")

    # -- requests -------------------------------------------------------------------------

    async def request(
        self, payload: dict[str, Any], *, wait_event: bool = False, timeout: float | None = None
    ) -> dict[str, Any]:
        """Send `payload` with a new transaction and return Janus's answer.

        `wait_event`: the request is a plugin message, so an `ack` means "the answer comes
        later as an event"; otherwise an `ack` (trickle, keepalive) is the answer.
        """
        if not self.connected or self._ws is None:
            raise MediaError("not connected to Janus")
        tid = _tid()
        what = str(payload.get("janus"))
        if what == "message":
            what = f"message {payload.get('body', {}).get('request')!r}"
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[tid] = _Pending(fut, wait_event, what)
        try:
            await self._ws.send(json.dumps({**payload, "transaction": tid}))
            return await asyncio.wait_for(fut, timeout or self.request_timeout)
        except TimeoutError as e:
            raise MediaError(
                f"Janus did not answer {what} within {timeout or self.request_timeout:g} s"
            ) from e
        except websockets.ConnectionClosed as e:
            raise MediaError(f"Janus connection lost while sending {what}") from e
        finally:
            self._pending.pop(tid, None)

    async def create_session(self) -> JanusSession:
        reply = await self.request({"janus": "create"})
        session = JanusSession(client=self, id=int(reply["data"]["id"]))
        self.sessions[session.id] = session
        session._start_keepalive(self.keepalive_s)
        return session

    # -- incoming -------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                try:
                    msg = json.loads(raw)
                except ValueError:
                    log.warning("janus sent invalid JSON: %.200r", raw)
                    continue
                if isinstance(msg, dict):
                    self._dispatch(msg)
        except websockets.ConnectionClosed:
            pass
        except Exception:
            log.exception("janus reader failed")
        finally:
            lost = not self._closing
            self._fail_pending("Janus connection lost" if lost else "Janus connection closed")
            for s in list(self.sessions.values()):
                s._stop_keepalive()
            if lost:
                log.warning("lost the WebSocket connection to Janus at %s", self.ws_url)
                for cb in list(self._disconnect_callbacks):
                    self._spawn(cb(self))

    def _fail_pending(self, reason: str) -> None:
        for tid, p in list(self._pending.items()):
            if not p.future.done():
                p.future.set_exception(MediaError(f"{reason} (while waiting for {p.what})"))
            self._pending.pop(tid, None)

    def _dispatch(self, msg: dict[str, Any]) -> None:
        kind = msg.get("janus")
        tid = msg.get("transaction")
        pending = self._pending.get(tid) if isinstance(tid, str) else None
        if pending is not None and not pending.future.done():
            if kind == "ack":
                if not pending.wait_event:
                    pending.future.set_result(msg)
                return
            if kind == "error":
                err = msg.get("error") or {}
                pending.future.set_exception(
                    JanusError(
                        f"Janus refused {pending.what}: {err.get('reason')} ({err.get('code')})",
                        err.get("code"),
                    )
                )
                return
            if kind in ("success", "event", "server_info"):
                pending.future.set_result(msg)
                return
        if kind in ("ack", "success", "error") and tid:
            return  # late answer to a request that timed out
        self._route_event(msg)

    def _route_event(self, msg: dict[str, Any]) -> None:
        kind = msg.get("janus")
        session_id = msg.get("session_id")
        session = self.sessions.get(session_id) if isinstance(session_id, int) else None
        if session is None:
            log.debug("janus event for unknown session: %s", kind)
            return
        if kind == "timeout":
            log.warning("janus session %d timed out", session.id)
            session.destroyed = True
            session._stop_keepalive()
            self.sessions.pop(session.id, None)
            if session.on_timeout is not None:
                self._spawn(session.on_timeout(session))
            return
        sender = msg.get("sender")
        handle = session.handles.get(sender) if isinstance(sender, int) else None
        if handle is None:
            log.debug("janus event for unknown handle: %s", kind)
            return
        if kind == "detached":
            handle.detached = True
            session.handles.pop(handle.id, None)
        if handle.on_event is not None:
            self._spawn(handle.on_event(handle, msg))

    def _spawn(self, coro: Awaitable[Any]) -> None:
        async def run() -> None:
            try:
                await coro
            except Exception:
                log.exception("janus event callback failed")

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class JanusAdmin:
    """Janus Admin API over HTTP (loopback), authenticated with the admin secret."""

    def __init__(self, admin_url: str, admin_secret: str, *, timeout: float = 3.0) -> None:
        self.admin_url = admin_url.rstrip("/")
        self._secret = admin_secret
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"JanusAdmin({self.admin_url})"

    async def request(self, janus: str, path: str = "", **fields: Any) -> dict[str, Any]:
        body = {"janus": janus, "transaction": _tid(), "admin_secret": self._secret, **fields}
        url = f"{self.admin_url}/{path}" if path else self.admin_url
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                r = await client.post(url, json=body)
                data: dict[str, Any] = r.json()
        except (httpx.HTTPError, ValueError) as e:
            raise MediaError(f"Janus admin API {janus!r} failed: {e}") from e
        if data.get("janus") != "success":
            err = data.get("error") or {}
            raise JanusError(
                f"Janus admin API refused {janus!r}: {err.get('reason')} ({err.get('code')})", err.get("code")
            )
        return data

    async def list_sessions(self) -> list[int]:
        return [int(s) for s in (await self.request("list_sessions")).get("sessions", [])]

    async def list_handles(self, session_id: int) -> list[int]:
        try:
            data = await self.request("list_handles", str(session_id))
        except JanusError as e:
            if e.janus_code == 458:  # JANUS_ERROR_SESSION_NOT_FOUND: it went away meanwhile
                return []
            raise
        return [int(h) for h in data.get("handles", [])]

    async def message_plugin(self, plugin: str, request: dict[str, Any]) -> dict[str, Any]:
        """A synchronous plugin request (VideoRoom create/destroy/list…); returns its response."""
        data = await self.request("message_plugin", plugin=plugin, request=request)
        response: dict[str, Any] = data.get("response") or {}
        if "error_code" in response:
            code = response["error_code"]
            raise JanusError(
                f"{plugin} {request.get('request')!r} failed: {response.get('error')} ({code})", code
            )
        return response
