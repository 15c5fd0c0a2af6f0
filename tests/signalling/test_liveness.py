"""Fast liveness against a real server (uvicorn on a loopback port): a client that asked for the
heartbeat and then goes silent — it stops reading and writing, its socket stays open — is dropped
within 10 s, and the others in its room hear it; a live client is never dropped, not even while one
of its requests takes longer than the timeout; clients that never asked for pings keep the old
idle limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shopcall.media.fake import FakeMediaSession
from tests.signalling.helpers import OFFER
from tests.signalling.server import LiveServer, RawClient, start_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    srv, uv, thread = start_server(tmp_path)  # the defaults: ping every 3 s, dead after 8 s
    yield srv
    uv.should_exit = True
    thread.join(15)


def connect(srv: LiveServer, token: str, *, heartbeat: bool = True) -> tuple[RawClient, dict[str, Any]]:
    c = RawClient(srv.url, rcvbuf=65536)
    welcome = c.request({"type": "hello", "token": token, "heartbeat": heartbeat}, "welcome")
    assert welcome["type"] == "welcome", welcome
    return c, welcome


def pump(c: RawClient, want: str | None, seconds: float, seen: list[str] | None = None) -> dict[str, Any] | None:
    """Read for up to `seconds`, answering the server's pings; the first `want` frame, or None."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            m = c.recv(timeout=left)
        except TimeoutError:
            return None
        if seen is not None:
            seen.append(m["type"])
        if m["type"] == "ping":
            c.send({"type": "pong"})
        elif m["type"] == want:
            return m
    return None


def test_a_silent_client_is_dropped_within_10_s_and_its_room_hears_it(server: LiveServer) -> None:
    app_id = server.tenant("Shop")
    agent, welcome = connect(server, server.token(app_id, "anna", "agent", rooms=["*"]))
    assert (welcome["heartbeat_s"], welcome["liveness_timeout_s"]) == (3.0, 8.0)
    shopper, _ = connect(server, server.token(app_id, "bob"))
    legacy, old_welcome = connect(server, server.token(app_id, "old-script"), heartbeat=False)
    assert old_welcome["liveness_timeout_s"] == 60.0
    room = shopper.request({"type": "call", "context": {}}, "call_created")["room"]
    assert agent.request({"type": "join", "room": room}, "joined")["type"] == "joined"
    assert shopper.request({"type": "join", "room": room}, "joined")["type"] == "joined"
    # both answer pings for 12 s: longer than the timeout, and nobody is dropped
    seen: list[str] = []
    for _ in range(12):
        pump(shopper, None, 0.5, seen)
        assert pump(agent, "participant_reconnecting", 0.5) is None
    assert seen.count("ping") >= 3, "the server pings a heartbeat client every 3 s"
    # the shopper's network goes silent: nothing read, nothing written, the socket stays open
    shopper.send({"type": "ping"})  # its last frame
    went_silent = time.monotonic()
    lost = pump(agent, "participant_reconnecting", 15)
    noticed = time.monotonic() - went_silent
    print(f"\nsilent client dropped after {noticed:.1f} s")
    assert lost is not None, "the agent heard nothing of the shopper's silence"
    assert 8.0 <= noticed < 10.0, noticed  # not before the timeout, well within 10 s
    assert lost["participant"]["identity"] == "bob" and lost["grace_s"] == 60.0
    # a client that never asked for pings got none, and after 20 s of silence is still connected
    legacy_seen: list[str] = []
    assert pump(legacy, "never", 0.5, legacy_seen) is None
    assert "ping" not in legacy_seen, legacy_seen
    assert legacy.request({"type": "ping", "id": "p"}, "pong") == {"type": "pong", "re": "p"}
    for c in (agent, shopper, legacy):
        c.close()


def test_a_slow_request_does_not_make_a_live_client_look_dead(server: LiveServer,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader keeps reading (and noting pongs) while a handler waits 10 s on the media server."""
    real_publish = FakeMediaSession.publish

    async def slow_publish(self: FakeMediaSession, offer_sdp: str) -> str:
        await asyncio.sleep(10)
        return await real_publish(self, offer_sdp)

    monkeypatch.setattr(FakeMediaSession, "publish", slow_publish)
    app_id = server.tenant("Shop")
    c, _ = connect(server, server.token(app_id, "anna", "agent", rooms=["*"]))
    bob, _ = connect(server, server.token(app_id, "bob"))
    room_id = bob.request({"type": "call", "context": {}}, "call_created")["room"]
    assert c.request({"type": "join", "room": room_id}, "joined")["type"] == "joined"
    c.send({"type": "publish", "id": "slow", "sdp": OFFER})
    started = time.monotonic()
    answer = pump(c, "answer", 15)
    assert answer is not None and answer["re"] == "slow", "dropped while its request was running"
    assert time.monotonic() - started >= 9.5
    assert c.request({"type": "ping"}, "pong")["type"] == "pong"
    for x in (c, bob):
        x.close()
