"""Signalling test helpers: tokens, request/response over a test WebSocket, live-state probes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from shopcall.api.deps import services_of
from shopcall.auth import tokens
from shopcall.rooms.store import RoomStore

OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"


def tok(client: TestClient, app_id: str, identity: str, role: str = "shopper", rooms: Any = (), **kw: Any) -> str:
    return tokens.mint(services_of(client.app).signing_key, app_id=app_id, identity=identity, role=role,
                       rooms=list(rooms), **kw)[0]


def hello(ws: Any, token: str) -> dict[str, Any]:
    ws.send_json({"type": "hello", "id": "h", "token": token})
    return ws.receive_json()


def req(ws: Any, msg: dict[str, Any]) -> dict[str, Any]:
    ws.send_json(msg)
    return recv(ws)


def recv(ws: Any, skip: tuple[str, ...] = ("queue_update",)) -> dict[str, Any]:
    """Next message, past the shopper's asynchronous queue position updates."""
    while True:
        m = ws.receive_json()
        if m.get("type") not in skip:
            return m


def expect_closed(ws: Any, code: int) -> None:
    with pytest.raises(WebSocketDisconnect) as e:
        ws.receive_json()
    assert e.value.code == code


def rooms(client: TestClient) -> RoomStore:
    return RoomStore(services_of(client.app).db)


def live(client: TestClient, method: str, *args: Any) -> Any:
    """Call one of the hub's LiveControl coroutines on the server's event loop."""
    return client.portal.call(getattr(services_of(client.app).live, method), *args)


def ask(ws: Any, msg: dict[str, Any]) -> dict[str, Any]:
    """Send a request and return its reply (the message carrying its id), past any events."""
    msg = {"id": "ask", **msg}
    ws.send_json(msg)
    while True:
        m = ws.receive_json()
        if m.get("re") == msg["id"]:
            return dict(m)
