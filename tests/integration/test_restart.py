"""A control-plane restart (SIGTERM, or kill -9 and start) does not end calls: clients reconnect as
the SDK does and resume the same room and call within 10 s; queued shoppers keep their places.
Real server process with its supervised Janus, real sockets."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import ClientConnection, connect

from shopcall.auth import tokens
from shopcall.auth.secrets import load_signing_key
from tests.e2e.server import Server, free_port, start_server, stop_server

pytestmark = pytest.mark.skipif(shutil.which("janus") is None and not os.environ.get("CI"),
                                reason="needs the janus binary (setup installs it)")
RESUME_WITHIN_S = 10


class Client:
    """A signalling client that, like the SDK, reconnects and takes up where it was."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.ws: ClientConnection | None = None
        self.connect()

    def connect(self, deadline: float | None = None) -> None:
        while True:
            try:
                self.ws = connect(self.url, open_timeout=2)
                assert self.request({"type": "hello", "token": self.token})["type"] == "welcome"
                return
            except (OSError, WebSocketException):
                if deadline is None or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def request(self, msg: dict[str, Any]) -> dict[str, Any]:
        assert self.ws is not None
        msg = {"id": str(time.monotonic_ns()), **msg}
        self.ws.send(json.dumps(msg))
        while True:
            m = json.loads(self.ws.recv(timeout=10))
            if m.get("re") == msg["id"]:
                return dict(m)

    def wait_closed(self) -> int | None:
        """The close code the server sent (None when the connection just dropped)."""
        assert self.ws is not None
        try:
            while True:
                self.ws.recv(timeout=15)
        except ConnectionClosed as e:
            return e.rcvd.code if e.rcvd else None


def _token(srv: Server, app_id: str, identity: str, role: str = "shopper", **kw: Any) -> str:
    return tokens.mint(load_signing_key(srv.data_dir), app_id=app_id, identity=identity, role=role, **kw)[0]


@pytest.mark.parametrize("how", ["sigterm", "kill9"])
def test_calls_survive_a_control_plane_restart(tmp_path: Path, how: str) -> None:
    port = free_port()
    srv = start_server(tmp_path, demo=False, port=port)
    url = f"ws://127.0.0.1:{port}/v1/signal"
    app_id = srv.create_app("Shop").auth[0]
    try:
        anna = Client(url, _token(srv, app_id, "anna", "agent", rooms=["*"], name="Anna"))
        bob = Client(url, _token(srv, app_id, "bob", name="Bob"))
        assert anna.request({"type": "available"})["status"] == "online"
        call = bob.request({"type": "call", "context": {}})
        assert anna.request({"type": "accept_call", "call": call["call"]})["type"] == "call_accepted"
        assert anna.request({"type": "join", "room": call["room"]})["type"] == "joined"
        assert bob.request({"type": "join", "room": call["room"]})["type"] == "joined"
        waiting = [Client(url, _token(srv, app_id, f"s{i}")) for i in range(2)]  # anna is busy: they queue
        queued = [w.request({"type": "call", "context": {}}) for w in waiting]
        assert [q["position"] for q in queued] == [1, 2]

        if how == "sigterm":
            srv.proc.send_signal(signal.SIGTERM)
            assert anna.wait_closed() == 1012  # "restarting": the SDK reconnects
        else:
            srv.proc.kill()
        srv.proc.wait(20)
        restarted = time.monotonic()
        srv = start_server(tmp_path, demo=False, port=port)
        deadline = restarted + RESUME_WITHIN_S

        for c in (anna, bob, *waiting):
            c.connect(deadline)
        assert anna.request({"type": "available"})["type"] == "available"
        resumed = bob.request({"type": "resume_call", "call": call["call"]})
        assert resumed.get("answered", {}).get("identity") == "anna" and resumed["room"] == call["room"], resumed
        assert anna.request({"type": "join", "room": call["room"]})["type"] == "joined"
        joined = bob.request({"type": "join", "room": call["room"]})
        assert joined["type"] == "joined" and [p["identity"] for p in joined["participants"]] == ["anna"]
        places = [w.request({"type": "resume_call", "call": q["call"]}) for w, q in zip(waiting, queued, strict=True)]
        assert [p.get("position") for p in places] == [1, 2]
        assert time.monotonic() - restarted < RESUME_WITHIN_S
        rows = srv.sql("SELECT status FROM calls WHERE id = :id", id=call["call"])
        assert rows[0][0] == "answered"
        assert srv.sql("SELECT status FROM rooms WHERE id = :id", id=call["room"])[0][0] == "open"
    finally:
        stop_server(srv.proc)
