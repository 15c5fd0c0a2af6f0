"""Signalling fuzzer: valid, broken and junk frames of every message type, per role, in and out of a room,
over the real WebSocket of the in-process app (media: the in-memory fake). Every frame with an id gets a
reply or a specific error (never `internal`), a ping after each batch gets its pong, and nothing is logged
as an error or with a traceback (stdlib logging through caplog, structlog through capture_logs)."""

from __future__ import annotations

import contextlib
import json
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.websockets import WebSocketDisconnect

from shopcall.api.deps import services_of
from shopcall.app import create_app
from shopcall.auth import tokens
from shopcall.config import Settings
from shopcall.media.fake import FakeMediaBackend
from shopcall.rooms.apps import create_app as create_tenant
from shopcall.rooms.store import RoomStore
from shopcall.signalling.hub import Hub
from shopcall.signalling.protocol import MAX_FRAME_BYTES, MAX_JSON_DEPTH, _depth
from tests.fuzz.signalling_frames import frames

BATCHES = 250  # hypothesis examples per role and place, each a batch of up to 6 frames
# Messages documented to get no reply: trickle, pong (the answer to a server ping), visitor_event, and annotation
# strokes streamed while drawn (partial).
NO_REPLY = {"trickle", "pong", "visitor_event"}
# Closes the protocol documents; the harness reconnects and goes on.
FINAL_EVENTS = {"room_ended"}


@pytest.fixture(scope="module")
def sig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("sig-fuzz") / "d"), media=FakeMediaBackend())
    with TestClient(app) as client:
        hub = services_of(app).live
        assert isinstance(hub, Hub)
        # Rate limits (tested in tests/signalling) would answer most of a fast fuzzer's frames with
        # `rate_limited` and hide what the handlers do.
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(hub.limiter, "hit", lambda *a, **k: None)
            tenant, _ = create_tenant(services_of(app).db, "Fuzz Shop")
            yield client, tenant.id


@dataclass
class Peer:
    client: TestClient
    app_id: str
    role: str
    in_room: bool
    ws: Any = None
    ids: list[str] = field(default_factory=list)
    seq: int = 0
    closes: list[tuple[int, str]] = field(default_factory=list)
    seen: Counter[str] = field(default_factory=Counter)  # replies and error codes, for the report

    def connect(self) -> None:
        room = RoomStore(services_of(self.client.app).db).create_room(self.app_id, kind="group",
                                                                      max_participants=16)
        grant = [room.id] if self.role == "shopper" else ["*"]
        token, _ = tokens.mint(services_of(self.client.app).signing_key, app_id=self.app_id,
                               identity=f"{self.role}-fuzz", role=self.role, name="Fuzz", rooms=grant)
        self.ws = self.client.websocket_connect("/v1/signal").__enter__()
        self.ws.send_json({"type": "hello", "id": "h", "token": token})
        assert self.ws.receive_json()["type"] == "welcome"
        self.ids[:] = [room.id, "p_x", "s_x", "c_x"]
        if self.in_room:
            joined = self.request({"type": "join", "room": room.id})
            assert joined["type"] == "joined", joined
            self.ids.append(joined["pid"])

    def close(self) -> None:
        if self.ws is not None:
            ws, self.ws = self.ws, None
            with contextlib.suppress(Exception):
                ws.__exit__(None, None, None)

    def request(self, msg: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        ref = f"r{self.seq}"
        self.ws.send_json({**msg, "id": ref})
        while True:
            m = self.ws.receive_json()
            if m.get("re") == ref:
                return dict(m)

    def batch(self, batch: list[tuple[str, str | bytes]]) -> None:
        expected: dict[str, str] = {}
        anonymous = 0  # frames refused before their id is read: binary, too large, too deep, not JSON
        for kind, data in batch:
            if kind == "bytes":
                assert isinstance(data, bytes)
                self.ws.send_bytes(data)
                anonymous += 1
                continue
            assert isinstance(data, str)
            self.ws.send_text(data)
            try:
                msg = json.loads(data)
            except (ValueError, RecursionError):
                anonymous += 1
                continue
            if len(data) > MAX_FRAME_BYTES or _depth(msg) > MAX_JSON_DEPTH:
                anonymous += 1
                continue
            if isinstance(msg, dict) and isinstance(msg.get("id"), str) and msg.get("type") not in NO_REPLY \
                    and not (msg.get("type") == "annotate" and msg.get("partial") is True):
                expected[msg["id"]] = msg.get("type", "?")
        self.seq += 1
        ref = f"sync{self.seq}"
        received: list[dict[str, Any]] = []
        try:
            self.ws.send_json({"type": "ping", "id": ref})
            while True:
                m = self.ws.receive_json()
                received.append(m)
                if m.get("re") == ref:
                    assert m["type"] == "pong", m
                    break
        except WebSocketDisconnect as e:
            # Only a documented close: after a fatal error (token) or the room's end.
            fatal = [m for m in received if m.get("fatal") or m.get("type") in FINAL_EVENTS]
            assert fatal, f"closed {e.code} without a fatal error or room end: {received[-5:]}"
            self.closes.append((e.code, fatal[-1].get("code") or fatal[-1]["type"]))
            self.close()
            self.connect()
            return
        self.seen.update(m.get("code") or m.get("type", "?") for m in received)
        internal = [m for m in received if m.get("code") == "internal"]
        assert not internal, internal
        replied = {m.get("re") for m in received}
        missing = {ref: kind for ref, kind in expected.items() if ref not in replied}
        assert not missing, f"no reply to {missing}; got {received}"
        refused = [m for m in received if m.get("type") == "error" and m.get("re") is None]
        assert len(refused) >= anonymous, f"{anonymous} undecodable frames, {len(refused)} errors: {received}"


@pytest.mark.parametrize("in_room", [False, True], ids=["lobby", "in_room"])
@pytest.mark.parametrize("role", ["shopper", "agent", "admin"])
def test_signalling_frames(sig: tuple[TestClient, str], role: str, in_room: bool,
                           caplog: pytest.LogCaptureFixture) -> None:
    client, app_id = sig
    hub = services_of(client.app).live
    assert isinstance(hub, Hub)
    specs = sorted(hub.registry._specs.values(), key=lambda s: s.kind)
    peer = Peer(client, app_id, role, in_room)
    caplog.set_level(logging.WARNING)

    @settings(max_examples=BATCHES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(batch=st.lists(frames(specs, st.deferred(lambda: st.sampled_from(peer.ids))), min_size=1, max_size=6))
    def run(batch: list[tuple[str, str | bytes]]) -> None:
        if peer.ws is None:
            peer.connect()
        peer.batch(batch)

    with structlog.testing.capture_logs() as logs:
        try:
            peer.connect()
            run()
        finally:
            peer.close()
    print(role, in_room, "closes:", peer.closes, "seen:", dict(peer.seen.most_common()))
    errors = [e for e in logs if e.get("log_level") in ("error", "critical", "exception") or e.get("exc_info")]
    assert not errors, errors
    tracebacks = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not tracebacks, [r.getMessage() for r in tracebacks]
