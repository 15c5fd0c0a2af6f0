"""Media through the relay to a real Janus: two bots that may only use relayed candidates (one reaching
coturn over UDP, one over TCP) publish and decode video through a real `shopcall serve`, so the allowed
peers do match the addresses Janus's ICE candidates use."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCConfiguration, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnection

from shopcall.sdk.bot import ShopCallBot
from tests.e2e.server import Server, running_server
from tests.turn.conftest import TURNSERVER

pytestmark = [pytest.mark.turn, pytest.mark.e2e]  # a real `shopcall serve` with Janus, like the bot tests


class RelayOnlyBot(ShopCallBot):
    """A bot whose peer connections gather only relayed candidates, through the TURN URLs for `transport`."""

    def __init__(self, *args: Any, transport: str, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.transport = transport
        self.servers_seen: list[dict[str, Any]] = []

    def _pc(self) -> RTCPeerConnection:
        self.servers_seen = list(self.welcome["ice_servers"])
        servers = [RTCIceServer(urls=[u for u in s["urls"] if u.startswith("turn:") and
                                      u.endswith(f"transport={self.transport}")],
                                username=s["username"], credential=s["credential"]) for s in self.servers_seen]
        return RTCPeerConnection(RTCConfiguration(iceServers=servers,
                                                  iceTransportPolicy=RTCIceTransportPolicy.RELAY))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not Path(TURNSERVER).exists():
        pytest.skip(f"{TURNSERVER} is not installed")
    env = {"SHOPCALL_TURN_MODE": "managed", "SHOPCALL_TURN_PORT": "0", "SHOPCALL_TURN_TLS_PORT": "0"}
    with running_server(tmp_path_factory.mktemp("turn-relay"), demo=False, env=env) as s:
        yield s


async def test_relay_only_bots_exchange_video_through_janus(server: Server) -> None:
    app = server.create_app("relay")
    try:
        room = app.room("relay", kind="group", max_participants=4)
        agent = RelayOnlyBot(server.base, app.token(room, "agent-1", "agent"), name="agent", transport="tcp")
        shopper = RelayOnlyBot(server.base, app.token(room, "cus-1", "shopper"), name="shopper", transport="udp")
        try:
            await shopper.connect()
            await shopper.join(room)
            frames = shopper.frame_queue()
            await agent.connect()
            await agent.join(room)
            await agent.publish()  # returns once Janus reports the publisher's media up: over the TCP relay
            deadline = time.monotonic() + 30
            for _ in range(10):
                await asyncio.wait_for(frames.get(), max(deadline - time.monotonic(), 0.1))
            assert agent.servers_seen and shopper.servers_seen
        finally:
            await shopper.close()
            await agent.close()
    finally:
        app.close()
