"""The Python bot against a real server and its Janus: publish, auto-subscribe, decode timecodes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest

from shopcall.sdk.bot import ReceivedFrame, ShopCallBot, ShopCallError
from shopcall.sdk.timecode import read_timestamp
from tests.e2e.server import AppClient, Server, running_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("bot-server"), demo=False, rtp_base=44600) as s:
        yield s


@pytest.fixture(scope="module")
def app(server: Server) -> Iterator[AppClient]:
    a = server.create_app("bots")
    yield a
    a.close()


async def _timed_frames(q: asyncio.Queue[ReceivedFrame], n: int, timeout: float) -> list[tuple[str, float]]:
    """(publisher pid, latency ms) of the next `n` frames that carry a valid timecode."""
    out: list[tuple[str, float]] = []
    deadline = time.monotonic() + timeout
    while len(out) < n:
        f = await asyncio.wait_for(q.get(), max(deadline - time.monotonic(), 0.01))
        ts = read_timestamp(f.frame)
        if ts is not None:
            out.append((f.pid, f.recv_time * 1000 - ts))
    return out


async def test_bots_publish_subscribe_and_decode_timecodes(server: Server, app: AppClient) -> None:
    room = app.room("bots", kind="group", max_participants=4)
    ta, tb, tc = (app.token(room, identity, role)
                  for identity, role in (("bot-a", "agent"), ("bot-b", "shopper"), ("bot-c", "shopper")))
    a, b, c = (ShopCallBot(server.base, t, name=n) for t, n in ((ta, "a"), (tb, "b"), (tc, "c")))
    errors: list[dict[str, object]] = []
    for bot in (a, b, c):
        bot.on_event(lambda m: errors.append(m) if m.get("type") == "error" else None)
    try:
        welcome = await a.connect()
        assert welcome["identity"] == "bot-a" and welcome["heartbeat_s"] > 0
        await b.connect()
        await b.join(room)  # B is there first: subscribes on `track_published`
        qb = b.frame_queue()
        await a.join(room)
        await a.publish()  # returns once Janus reports the publisher's media up
        assert a.media_state["publisher"] == "up"

        frames = await _timed_frames(qb, 30, timeout=20)
        assert {pid for pid, _ in frames} == {a.pid}
        assert all(0 <= ms < 1000 for _, ms in frames), frames

        await c.connect()  # C joins late: subscribes to the publisher listed in `joined`
        qc = c.frame_queue()
        await c.join(room)
        assert len(await _timed_frames(qc, 10, timeout=20)) == 10

        (sub,) = b.subscriptions.values()
        assert sub.pid == a.pid and sub.audio_frames > 0  # the tone arrives and decodes too
        deadline = time.monotonic() + 5
        while b.media_state.get(sub.sid) != "up":  # Janus's webrtcup for B's subscription
            assert time.monotonic() < deadline, b.media_state
            await asyncio.sleep(0.05)
        assert errors == []  # e.g. no complaint about the end-of-candidates trickles
    finally:
        for bot in (c, b, a):
            await bot.close()
    deadline = time.monotonic() + 10
    while server.janus_sessions():
        assert time.monotonic() < deadline, "Janus sessions not released after the bots left"
        await asyncio.sleep(0.2)


async def test_bad_token_is_refused(server: Server) -> None:
    bot = ShopCallBot(server.base, "not-a-token")
    with pytest.raises(ShopCallError) as e:
        await bot.connect()
    assert e.value.code == "token_invalid" and e.value.fatal


async def test_heartbeat_and_error_replies_against_a_scripted_server() -> None:
    """The protocol mechanics without media: pings at `heartbeat_s`, replies matched by id, error → exception."""
    import websockets

    seen: list[dict[str, object]] = []

    async def handler(ws: websockets.ServerConnection) -> None:
        async for raw in ws:
            msg = json.loads(raw)
            seen.append(msg)
            if msg["type"] == "hello":
                await ws.send(json.dumps({"type": "welcome", "re": msg["id"], "identity": "x", "heartbeat_s": 0.05,
                                          "ice_servers": []}))
            elif msg["type"] == "ping":
                await ws.send(json.dumps({"type": "pong", "re": None}))
            elif msg["type"] == "join":
                await ws.send(json.dumps({"type": "participant_joined", "participant": {"pid": "p_z"}}))
                await ws.send(json.dumps({"type": "error", "re": msg["id"], "code": "room_not_found",
                                          "message": "no room"}))

    async with websockets.serve(handler, "127.0.0.1", 0) as srv:
        port = srv.sockets[0].getsockname()[1]
        bot = ShopCallBot(f"http://127.0.0.1:{port}", "tok", name="s")
        await bot.connect()
        with pytest.raises(ShopCallError) as e:
            await bot.join("rm_nope")
        assert e.value.code == "room_not_found" and not e.value.fatal
        assert "p_z" in bot.participants  # events are dispatched while a request waits
        await asyncio.sleep(0.3)
        await bot.close()
    assert seen[0] == {"type": "hello", "id": "hello", "token": "tok"}
    assert sum(m["type"] == "ping" for m in seen) >= 3

