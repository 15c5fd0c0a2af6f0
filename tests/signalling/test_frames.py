"""Bad frames get a specific error or close code, never a traceback: binary, too deep, too big."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from shopcall.signalling.protocol import MAX_FRAME_BYTES, MAX_JSON_DEPTH
from tests.signalling.helpers import hello, req, tok
from tests.signalling.server import LiveServer, start_server


def test_binary_and_deeply_nested_frames_get_specific_errors(env, caplog) -> None:
    client, _, app_id = env
    with client.websocket_connect("/v1/signal") as ws:
        ws.send_bytes(b"\x00\x01")
        r = ws.receive_json()
        assert (r["code"], r["fatal"]) == ("bad_request", True) and "binary" in r["message"]
    with client.websocket_connect("/v1/signal") as ws:
        hello(ws, tok(client, app_id, "bob"))
        ws.send_bytes(b"{}")
        assert "binary" in ws.receive_json()["message"]
        ws.send_text("[" * 100_000 + "]" * 100_000)
        r = ws.receive_json()
        assert r["code"] == "bad_request" and f"deeper than {MAX_JSON_DEPTH}" in r["message"]
        deep: object = "x"
        for _ in range(MAX_JSON_DEPTH + 2):
            deep = {"a": deep}
        r = req(ws, {"type": "call", "id": "d", "context": deep})
        assert r["code"] == "bad_request" and "deeper" in r["message"]
        assert req(ws, {"type": "ping", "id": "p"}) == {"type": "pong", "re": "p"}  # still usable
    assert "Traceback" not in caplog.text


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    srv, uv, thread = start_server(tmp_path)
    yield srv
    uv.should_exit = True
    thread.join(15)


def test_an_oversized_frame_is_refused_before_it_is_buffered(server: LiveServer) -> None:
    app_id = server.tenant("Shop")
    with connect(server.url, max_size=None) as ws:
        ws.send(json.dumps({"type": "hello", "token": server.token(app_id, "bob")}))
        assert json.loads(ws.recv())["type"] == "welcome"
        ws.send(json.dumps({"type": "chat", "text": "x" * (MAX_FRAME_BYTES + 10)}))
        with pytest.raises(ConnectionClosed) as e:
            while True:
                ws.recv(timeout=5)
        assert e.value.rcvd is not None and e.value.rcvd.code == 1009
