"""The `/v1/signal` WebSocket route: hello first, then one message at a time into the hub."""

from __future__ import annotations

import asyncio
import json

import anyio
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from shopcall.auth.tokens import TokenError
from shopcall.signalling import protocol as p
from shopcall.signalling.hub import CLOSE_AUTH, Hub

router = APIRouter()
HELLO_TIMEOUT_S = 10


async def _receive(ws: WebSocket) -> object:
    text = await ws.receive_text()
    if len(text) > p.MAX_FRAME_BYTES:
        raise p.ProtocolError("bad_request", f"frame larger than {p.MAX_FRAME_BYTES} bytes")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise p.ProtocolError("bad_request", "frames must be JSON") from None


async def _error(ws: WebSocket, code: str, message: str, ref: str | None = None, fatal: bool = True) -> None:
    await ws.send_json({"type": "error", "re": ref, "code": code, "message": message, "fatal": fatal})


@router.websocket("/v1/signal")
async def signal(ws: WebSocket) -> None:
    hub: Hub = ws.app.state.hub
    await ws.accept()
    try:
        raw = await asyncio.wait_for(_receive(ws), HELLO_TIMEOUT_S)
        msg = p.parse(raw)
        if not isinstance(msg, p.Hello):
            raise p.ProtocolError("bad_request", "the first message must be hello with a token", msg.id)
        conn = await hub.authenticate(ws, msg)
    except TimeoutError:
        await _error(ws, "timeout", f"no hello within {HELLO_TIMEOUT_S} s")
        await ws.close(CLOSE_AUTH)
        return
    except (p.ProtocolError, TokenError) as e:
        await _error(ws, e.code, e.message, getattr(e, "ref", None))
        await ws.close(CLOSE_AUTH)
        return
    except WebSocketDisconnect:
        return
    watchdog = asyncio.create_task(hub.watchdog(conn))
    try:
        while not conn.closed:
            try:
                raw = await _receive(ws)
            except p.ProtocolError as e:
                await conn.send({"type": "error", "re": None, "code": e.code, "message": e.message})
                continue
            await hub.handle(conn, raw)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        watchdog.cancel()
        # Release media even when this task is being cancelled (server shutdown, client gone):
        # a leaked Janus session would outlive the call.
        cleanup = asyncio.ensure_future(hub.disconnect(conn, "disconnected"))
        with anyio.CancelScope(shield=True):
            await cleanup
