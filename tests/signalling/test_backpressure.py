"""Back-pressure over real TCP: a client that stops reading is cut off (close 4429) and never
delays anyone else — its room, the call desk, or another tenant."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from shopcall.api.deps import services_of
from shopcall.db.models import App
from shopcall.rooms.store import RoomStore
from tests.signalling.server import LiveServer, RawClient, start_server

SEND_TIMEOUT_S = 2.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    srv, uv, thread = start_server(tmp_path, signal_send_timeout_s=SEND_TIMEOUT_S)
    yield srv
    uv.should_exit = True
    thread.join(15)


async def client(srv: LiveServer, token: str) -> ClientConnection:
    ws = await connect(srv.url, max_size=None)
    await ws.send(json.dumps({"type": "hello", "token": token}))
    assert json.loads(await ws.recv())["type"] == "welcome"
    return ws


async def request(ws: ClientConnection, msg: dict[str, Any], reply: str) -> dict[str, Any]:
    await ws.send(json.dumps(msg))
    while True:
        m = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if m["type"] in (reply, "error"):
            assert m["type"] == reply, m
            return dict(m)


def stalled_member(srv: LiveServer, token: str, room: str | None = None) -> RawClient:
    raw = RawClient(srv.url)
    assert raw.request({"type": "hello", "token": token}, "welcome")["type"] == "welcome"
    if room is not None:
        assert raw.request({"type": "join", "room": room}, "joined")["type"] == "joined"
    return raw  # from here on it never reads


async def test_a_member_who_stops_reading_never_delays_the_room(server: LiveServer) -> None:
    app_id = server.tenant("Shop")
    room = RoomStore(services_of(server.app).db).create_room(app_id, kind="group", max_participants=4).id
    stalled = stalled_member(server, server.token(app_id, "sam", rooms=[room]), room)
    b = await client(server, server.token(app_id, "bea", rooms=[room]))
    c = await client(server, server.token(app_id, "cal", rooms=[room]))
    sam_pid = next(p["pid"] for p in (await request(b, {"type": "join", "room": room}, "joined"))["participants"]
                   if p["identity"] == "sam")
    await request(c, {"type": "join", "room": room}, "joined")
    delays: list[float] = []
    left: dict[str, float] = {}
    started = time.monotonic()

    async def talk(ws: ClientConnection, me: str) -> None:
        for _ in range(100):  # every 200 ms for 20 s; ~2 KB each, so the stalled member's pipe fills
            await ws.send(json.dumps({"type": "chat", "text": f"{me} {time.time():.6f} " + "x" * 1900}))
            await asyncio.sleep(0.2)

    async def listen(ws: ClientConnection, other: str) -> None:
        end = started + 22
        while time.monotonic() < end:
            try:
                m = json.loads(await asyncio.wait_for(ws.recv(), end - time.monotonic()))
            except TimeoutError:
                return
            if m["type"] == "chat" and m["message"]["identity"] == other:
                delays.append(time.time() - float(m["message"]["text"].split()[1]))
            elif m["type"] == "participant_left" and m["pid"] == sam_pid:
                left[m["reason"]] = time.monotonic() - started

    await asyncio.gather(talk(b, "bea"), talk(c, "cal"), listen(b, "cal"), listen(c, "bea"))
    await b.close()
    await c.close()
    stalled.close()
    assert len(delays) == 200, "every chat reached the other reader"
    assert max(delays) < 1.0, f"worst delivery delay {max(delays):.2f} s"
    assert "too_slow" in left, "the member who stopped reading was disconnected"


async def test_a_stalled_console_of_one_tenant_never_delays_another_tenants_routing(server: LiveServer) -> None:
    x, y = server.tenant("Shop X"), server.tenant("Shop Y")
    ring_timeout = 1.0
    with services_of(server.app).db.session() as s:
        for app_id in (x, y):  # X's rings time out too: the desk's own timer then has to reach X's console
            s.get(App, app_id).routing = {"ring_timeout_s": ring_timeout, "fallback_after_s": 30.0,
                                          "max_wait_s": 60.0, "reoffer_delay_s": 0.1}
    x_room = RoomStore(services_of(server.app).db).create_room(x, kind="group", max_participants=4).id
    # X's agent is online and in a room, then stops reading; X's shopper fills its pipe with chat
    xa = stalled_member(server, server.token(x, "xa", role="agent", rooms=["*"]))
    assert xa.request({"type": "available"}, "available")["status"] == "online"
    assert xa.request({"type": "join", "room": x_room}, "joined")["type"] == "joined"
    xs = await client(server, server.token(x, "xs", rooms=[x_room]))
    await request(xs, {"type": "join", "room": x_room}, "joined")
    for i in range(150):
        await xs.send(json.dumps({"type": "chat", "id": str(i), "text": "x" * 1900}))
    # another X shopper calls: the desk rings X's stalled agent
    xs2 = await client(server, server.token(x, "xs2"))
    await request(xs2, {"type": "call", "context": {}}, "call_created")
    await asyncio.sleep(ring_timeout + 0.5)  # X's ring timed out: the desk withdrew it from X's console
    # Y: two agents; the first lets the call ring out, the second must be rung in time
    y1 = await client(server, server.token(y, "y1", role="agent", rooms=["*"]))
    await request(y1, {"type": "available"}, "available")
    await asyncio.sleep(0.3)  # y1 becomes the longest idle
    y2 = await client(server, server.token(y, "y2", role="agent", rooms=["*"]))
    await request(y2, {"type": "available"}, "available")
    ys = await client(server, server.token(y, "ys"))
    await request(ys, {"type": "call", "context": {}}, "call_created")

    async def rung(ws: ClientConnection) -> float:
        while True:
            m = json.loads(await asyncio.wait_for(ws.recv(), 15))
            if m["type"] == "incoming_call":
                return time.monotonic()

    first = await rung(y1)
    second = await rung(y2)
    assert second - first <= ring_timeout + 1.0, f"re-offered after {second - first:.2f} s"
    for ws in (xs, xs2, y1, y2, ys):
        await ws.close()
    xa.close()
