"""The Python bot against a real server and its Janus: publish, auto-subscribe, decode timecodes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shopcall.db.engine import Database
from shopcall.rooms.apps import create_app
from shopcall.sdk.bot import ReceivedFrame, ShopCallBot, ShopCallError
from shopcall.sdk.timecode import read_timestamp
from tests.e2e.conftest import Server, start_server, stop_server

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {"SHOPCALL_RTP_PORT_MIN": "44600", "SHOPCALL_RTP_PORT_MAX": "44699"}
    s = start_server(tmp_path_factory.mktemp("bot-server"), demo=False, env=env)
    try:
        yield s
    finally:
        stop_server(s.proc)


@pytest.fixture(scope="module")
def app(server: Server) -> tuple[str, str]:
    a, secret = create_app(Database(f"sqlite:///{server.data_dir / 'shopcall.db'}"), "bots")
    return a.id, secret


def _room_and_tokens(server: Server, app: tuple[str, str], *identities: tuple[str, str]) -> tuple[str, list[str]]:
    with httpx.Client(base_url=server.base, auth=app, timeout=10) as http:
        room = http.post("/v1/rooms", json={"name": "bots", "kind": "group", "max_participants": 4})
        room.raise_for_status()
        room_id = room.json()["id"]
        tokens = []
        for identity, role in identities:
            r = http.post("/v1/tokens", json={"identity": identity, "role": role, "rooms": [room_id]})
            r.raise_for_status()
            tokens.append(r.json()["token"])
    return room_id, tokens


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


async def test_bots_publish_subscribe_and_decode_timecodes(server: Server, app: tuple[str, str]) -> None:
    room, (ta, tb, tc) = _room_and_tokens(server, app, ("bot-a", "agent"), ("bot-b", "shopper"),
                                          ("bot-c", "shopper"))
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
    while server.janus_admin("list_sessions").get("sessions"):
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


def test_latency_bench_quick_run_writes_its_json(tmp_path: Path) -> None:
    out = tmp_path / "latency.json"
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "latency.py"), "--quick", "--rtp-base", "44800",
                        "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    data = json.loads(out.read_text())
    assert set(data) == {"shopcall", "direct", "ratio_p95"}
    for system in ("shopcall", "direct"):
        s = data[system]
        assert set(s) == {"p50_ms", "p95_ms", "max_ms"}
        assert 0 < s["p50_ms"] <= s["p95_ms"] <= s["max_ms"] < 5000
    assert data["ratio_p95"] > 0
    assert "ratio of p95" in r.stdout
