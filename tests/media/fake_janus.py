"""A scripted Janus on loopback for JanusClient tests: a real WebSocket server speaking Janus's
JSON shapes, so the client's own socket, reader task and keepalive timers run unmodified.

By default it answers as Janus does (`create`/`attach` → `success` with a new id, `keepalive`/
`trickle` → `ack`, plugin `message` → `ack` then an `event`); a test changes that per request
kind through `script`, pushes unsolicited events with `push`, and cuts the socket with `drop`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.typing import Subprotocol

Msg = dict[str, Any]
# Answers one request: gets the fake (to send with) and the request; the default answers are replaced.
Responder = Callable[["FakeJanus", Msg], Awaitable[None]]


class FakeJanus:
    """One loopback WebSocket server; `received` holds every request in arrival order."""

    def __init__(self) -> None:
        self.received: list[Msg] = []
        self.script: dict[str, Responder] = {}
        self.subprotocols: list[str | None] = []
        self._ids = itertools.count(1001)
        self._ws: ServerConnection | None = None
        self._server: Server | None = None
        self._arrived = asyncio.Condition()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    async def start(self) -> None:
        self._server = await serve(self._serve, "127.0.0.1", 0, subprotocols=[Subprotocol("janus-protocol")])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, ws: ServerConnection) -> None:
        self._ws = ws
        self.subprotocols.append(ws.subprotocol)
        async for raw in ws:
            msg = json.loads(raw)
            async with self._arrived:
                self.received.append(msg)
                self._arrived.notify_all()
            # each request is answered in its own task, so a slow scripted answer holds up no other
            asyncio.get_running_loop().create_task(self._answer(msg))

    async def _answer(self, msg: Msg) -> None:
        responder = self.script.get(msg["janus"])
        if responder is not None:
            await responder(self, msg)
            return
        kind, tid = msg["janus"], msg["transaction"]
        if kind in ("create", "attach"):
            await self.send({"janus": "success", "transaction": tid, "data": {"id": self.new_id()}})
        elif kind in ("keepalive", "trickle"):
            await self.send({"janus": "ack", "transaction": tid, "session_id": msg.get("session_id")})
        elif kind == "message":
            await self.send({"janus": "ack", "transaction": tid, "session_id": msg["session_id"]})
            await self.send(plugin_event(msg, {"videoroom": "event", "echo": msg["body"]}))
        else:  # destroy, detach, hangup
            await self.send({"janus": "success", "transaction": tid, "session_id": msg.get("session_id")})

    def new_id(self) -> int:
        return next(self._ids)

    async def send(self, msg: Msg) -> None:
        """Push one message to the connected client (an answer or an unsolicited event)."""
        assert self._ws is not None, "no client connected"
        await self._ws.send(json.dumps(msg))

    push = send

    async def send_raw(self, text: str) -> None:
        assert self._ws is not None
        await self._ws.send(text)

    async def drop(self) -> None:
        """Cut the TCP connection without a close handshake, as a crashed Janus would."""
        assert self._ws is not None
        self._ws.transport.abort()

    async def wait_for(self, kind: str, count: int = 1, timeout: float = 5.0) -> list[Msg]:
        """The first `count` requests of `kind`, waiting until that many have arrived."""
        def matching() -> list[Msg]:
            return [m for m in self.received if m["janus"] == kind]

        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: len(matching()) >= count), timeout)
        return matching()[:count]


def plugin_event(request: Msg, data: Msg, jsep: Msg | None = None) -> Msg:
    """The `event` Janus sends after acking the plugin `request`, carrying the plugin's `data`."""
    event: Msg = {
        "janus": "event",
        "transaction": request["transaction"],
        "session_id": request["session_id"],
        "sender": request["handle_id"],
        "plugindata": {"plugin": "janus.plugin.videoroom", "data": data},
    }
    if jsep is not None:
        event["jsep"] = jsep
    return event
