"""A real ShopCall server on a loopback TCP port (uvicorn in a thread), and a raw WebSocket
client that reads only when told to: what the back-pressure tests need to play a stalled client."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

from shopcall.api.deps import services_of
from shopcall.app import create_app
from shopcall.auth import tokens
from shopcall.config import Settings
from shopcall.media.fake import FakeMediaBackend
from shopcall.rooms.apps import create_app as create_tenant
from shopcall.signalling.protocol import MAX_FRAME_BYTES

SERVER_SNDBUF = 16 * 1024  # small kernel send buffers: a client that stops reading is felt after ~100 KB


@dataclass
class LiveServer:
    app: FastAPI
    port: int

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/signal"

    def token(self, app_id: str, identity: str, role: str = "shopper", rooms: Any = (), **kw: Any) -> str:
        return tokens.mint(services_of(self.app).signing_key, app_id=app_id, identity=identity, role=role,
                           rooms=list(rooms), **kw)[0]

    def tenant(self, name: str) -> str:
        return create_tenant(services_of(self.app).db, name)[0].id


def start_server(tmp_path: Path, **settings: Any) -> tuple[LiveServer, uvicorn.Server, threading.Thread]:
    app = create_app(Settings(data_dir=tmp_path / "d", **settings), media=FakeMediaBackend())
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SERVER_SNDBUF)  # inherited by accepted sockets
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws_max_size=MAX_FRAME_BYTES, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    return LiveServer(app, sock.getsockname()[1]), server, thread


class RawClient:
    """A WebSocket client over a plain blocking socket with a tiny receive buffer: it reads only
    when `recv` is called, so the server sees a client that has stopped reading."""

    def __init__(self, url: str, rcvbuf: int = 4096) -> None:
        self.proto = ClientProtocol(parse_uri(url), max_size=None)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        uri = parse_uri(url)
        self.sock.connect((uri.host, uri.port))
        self.proto.send_request(self.proto.connect())
        self._flush()
        self._pending: list[Any] = []
        while not self._pending or not isinstance(self._pending[0], Response):
            self._read()
        self._pending.pop(0)

    def _flush(self) -> None:
        for chunk in self.proto.data_to_send():
            if chunk:
                self.sock.sendall(chunk)

    def _read(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            self.proto.receive_eof()
        else:
            self.proto.receive_data(data)
        self._pending.extend(self.proto.events_received())
        self._flush()
        if not data and not self._pending:  # closed: nothing more will come (was a busy loop)
            raise ConnectionError("the server closed the connection")

    def send(self, msg: dict[str, Any]) -> None:
        self.proto.send_text(json.dumps(msg).encode())
        self._flush()

    def recv(self, timeout: float = 5) -> dict[str, Any]:
        self.sock.settimeout(timeout)
        while True:
            while self._pending:
                ev = self._pending.pop(0)
                if isinstance(ev, Frame) and ev.opcode is Opcode.TEXT:
                    return dict(json.loads(ev.data))
            self._read()

    def request(self, msg: dict[str, Any], reply: str) -> dict[str, Any]:
        self.send(msg)
        while True:
            m = self.recv()
            if m.get("type") in (reply, "error"):
                return m

    def close(self) -> None:
        self.sock.close()
