"""The `/v1/signal` WebSocket route: hello first, then one message at a time into the hub.

Four tasks per client: a reader, a dispatcher, the connection's writer (its outbox) and a watchdog.
The reader only reads: it notes that the client is alive and queues the frame, so a slow handler
(a media call, a database write) never keeps pongs unread and a live client is never taken for a
dead one. The dispatcher hands frames to the hub one at a time, in order. When the writer stops —
the client could not keep up, or the socket died — the others are cancelled and the hub releases
everything the client held; when the client goes, what it sent before is handled first.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import anyio
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from shopcall.auth.tokens import TokenError
from shopcall.signalling import protocol as p
from shopcall.signalling.connection import Connection
from shopcall.signalling.hub import Hub

HELLO_TIMEOUT_S = 10
INBOX_FRAMES = 64  # frames read ahead of the dispatcher; beyond, the reader waits (back-pressure)
GONE = None  # the reader's last word in the inbox: the client went away


async def _receive(ws: WebSocket) -> Any:
    """The next frame, decoded; ProtocolError for a binary, oversized or malformed one."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    if text is None:
        raise p.ProtocolError("bad_request", "binary frames are not supported; send JSON text frames")
    return p.decode_frame(text)


async def _refuse(ws: WebSocket, code: str, message: str, ref: str | None = None) -> None:
    with contextlib.suppress(Exception):
        await ws.send_json({"type": "error", "re": ref, "code": code, "message": message, "fatal": True})
        await ws.close(p.CLOSE_AUTH)


async def _receive_loop(conn: Connection, ws: WebSocket, inbox: asyncio.Queue[Any]) -> None:
    """Until the client goes away (or the connection closes); then GONE ends the inbox."""
    while not conn.closed:
        try:
            raw = await _receive(ws)
        except p.ProtocolError as e:
            conn.last_seen = time.monotonic()
            conn.send({"type": "error", "re": None, "code": e.code, "message": e.message})
            continue
        except WebSocketDisconnect as e:
            # 1000: the client closed on purpose. 1001 (a page navigating away or reloading) is a drop:
            # the page may come straight back with its resume token (docs/signalling.md "Continuity").
            conn.left_cleanly = e.code == 1000
            conn.page_gone = e.code == 1001  # its peer connections went with the page: nothing to keep
            break
        except RuntimeError:  # gone; Starlette raises RuntimeError after a disconnect
            break
        conn.last_seen = time.monotonic()
        if isinstance(raw, dict) and raw.get("type") == "pong":
            continue  # liveness only
        if inbox.full():  # handlers are stuck (a slow media server): we are not listening, so the
            conn.reader_waiting = True  # client's silence is ours, not its
            try:
                await inbox.put(raw)
            finally:
                conn.reader_waiting, conn.last_seen = False, time.monotonic()
        else:
            inbox.put_nowait(raw)
    await inbox.put(GONE)


async def _dispatch_loop(hub: Hub, conn: Connection, inbox: asyncio.Queue[Any]) -> None:
    """Hand queued frames to the hub in order, until the reader says the client is gone."""
    while (raw := await inbox.get()) is not GONE:
        await hub.handle(conn, raw)


def router_for(hub: Hub) -> APIRouter:
    """The `/v1/signal` route, bound to the hub it feeds."""
    router = APIRouter()

    @router.websocket("/v1/signal")
    async def signal(ws: WebSocket) -> None:
        await serve_client(hub, ws)

    return router


async def serve_client(hub: Hub, ws: WebSocket) -> None:
    await ws.accept()
    try:
        raw = await asyncio.wait_for(_receive(ws), HELLO_TIMEOUT_S)
        spec, msg = hub.registry.parse(raw)
        if not isinstance(msg, p.Hello):
            raise p.ProtocolError("bad_request", "the first message must be hello with a token", msg.id)
        conn = await hub.authenticate(ws, msg)
    except TimeoutError:
        await _refuse(ws, "timeout", f"no hello within {HELLO_TIMEOUT_S} s")
        return
    except (p.ProtocolError, TokenError) as e:
        await _refuse(ws, e.code, e.message, getattr(e, "ref", None))
        return
    except (WebSocketDisconnect, RuntimeError):
        return
    inbox: asyncio.Queue[Any] = asyncio.Queue(INBOX_FRAMES)
    writer = asyncio.create_task(conn.run_writer(), name=f"writer-{conn.conn_id}")
    reader = asyncio.create_task(_receive_loop(conn, ws, inbox), name=f"reader-{conn.conn_id}")
    dispatcher = asyncio.create_task(_dispatch_loop(hub, conn, inbox), name=f"dispatch-{conn.conn_id}")
    watchdog = asyncio.create_task(hub.watchdog(conn), name=f"watchdog-{conn.conn_id}")
    try:
        done, _ = await asyncio.wait({writer, dispatcher}, return_when=asyncio.FIRST_COMPLETED)
        if writer in done:
            reason = writer.result().value
            if reason != "closed":
                hub_reason = "too_slow" if reason == "too_slow" else "disconnected"
                reader.cancel()
                dispatcher.cancel()
                await _release(hub, conn, hub_reason)
    finally:
        watchdog.cancel()
        reader.cancel()
        dispatcher.cancel()
        # Release media even when this task is being cancelled (server shutdown, client gone):
        # a leaked Janus session would outlive the call.
        await _release(hub, conn, "disconnected")
        conn.close(p.CLOSE_NORMAL)
        with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(writer), 2)
        writer.cancel()


async def _release(hub: Hub, conn: Connection, reason: str) -> None:
    cleanup = asyncio.ensure_future(hub.disconnect(conn, reason))
    with anyio.CancelScope(shield=True):
        await cleanup
