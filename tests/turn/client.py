"""A TURN client for tests (aioice's, driven directly so a refused permission shows its STUN error code).

`Allocation` holds one allocation over udp, tcp or tls; `permit` asks for a permission (CreatePermission),
`send` relays a datagram to a peer (ChannelBind + ChannelData), and what peers send back is queued.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from typing import Any, cast

from aioice import stun
from aioice.turn import TurnClientTcpProtocol, TurnClientUdpProtocol

Address = tuple[str, int]
TCP_TRANSPORT = 6 << 24  # REQUESTED-TRANSPORT carries the IP protocol number in its first byte


class _Inbox(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[bytes, Address]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.queue.put_nowait((data, (str(addr[0]), int(addr[1]))))


@dataclass
class Allocation:
    protocol: TurnClientUdpProtocol | TurnClientTcpProtocol
    transport: asyncio.BaseTransport
    relayed: Address
    inbox: _Inbox = field(default_factory=_Inbox)

    async def permit(self, peer: Address) -> None:
        """CreatePermission for `peer`; raises stun.TransactionFailed (e.g. 403 Forbidden IP) when refused."""
        request = stun.Message(message_method=stun.Method.CREATE_PERMISSION, message_class=stun.Class.REQUEST)
        request.attributes["XOR-PEER-ADDRESS"] = peer
        await self.protocol.request_with_retry(request)

    async def send(self, data: bytes, peer: Address) -> None:
        """Relay `data` to `peer` (binds a channel first; raises if the server refuses the peer)."""
        await self.protocol.send_data(data, peer)

    async def received(self, timeout: float) -> tuple[bytes, Address]:
        return await asyncio.wait_for(self.inbox.queue.get(), timeout)

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.protocol.delete(), 3)
        except Exception:
            self.transport.close()


async def allocate(server: Address, username: str, password: str, transport: str = "udp",
                   timeout: float = 10.0) -> Allocation:
    """One allocation through `transport` (udp, tcp or tls; TLS certificates are not verified)."""
    loop = asyncio.get_running_loop()
    kw: dict[str, Any] = {"username": username, "password": password, "lifetime": 600,
                          "channel_refresh_time": 500}
    inner: TurnClientUdpProtocol | TurnClientTcpProtocol
    raw: asyncio.BaseTransport
    if transport == "udp":
        raw, inner = await loop.create_datagram_endpoint(lambda: TurnClientUdpProtocol(server, **kw),
                                                         remote_addr=server)
    elif transport in ("tcp", "tls"):
        ctx: ssl.SSLContext | None = None
        if transport == "tls":
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        raw, inner = await loop.create_connection(lambda: TurnClientTcpProtocol(server, **kw), host=server[0],
                                                  port=server[1], ssl=ctx)
    else:
        raise ValueError(f"transport must be udp, tcp or tls, not {transport!r}")
    try:
        relayed = await asyncio.wait_for(inner.connect(), timeout)
    except BaseException:
        raw.close()
        raise
    alloc = Allocation(protocol=inner, transport=raw, relayed=relayed)
    inner.receiver = alloc.inbox
    return alloc


async def request_tcp_relay(server: Address, username: str, password: str) -> None:
    """Ask for a TCP relay (RFC 6062 Allocate, REQUESTED-TRANSPORT TCP) over TCP; raises if refused."""
    loop = asyncio.get_running_loop()
    raw, inner = await loop.create_connection(
        lambda: TurnClientTcpProtocol(server, username=username, password=password, lifetime=600,
                                      channel_refresh_time=500), host=server[0], port=server[1])
    try:
        request = stun.Message(message_method=stun.Method.ALLOCATE, message_class=stun.Class.REQUEST)
        request.attributes["LIFETIME"] = 600
        request.attributes["REQUESTED-TRANSPORT"] = TCP_TRANSPORT
        await asyncio.wait_for(inner.request_with_retry(request), 10)
    finally:
        raw.close()


class UdpListener(asyncio.DatagramProtocol):
    """A UDP socket that records what arrives (to prove something did, or did not, get through)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[bytes, Address]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.queue.put_nowait((data, (str(addr[0]), int(addr[1]))))

    async def received(self, timeout: float) -> tuple[bytes, Address]:
        return await asyncio.wait_for(self.queue.get(), timeout)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def udp_listener(host: str, port: int = 0) -> tuple[UdpListener, Address]:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(UdpListener, local_addr=(host, port))
    sock = transport.get_extra_info("sockname")
    return proto, (str(sock[0]), int(sock[1]))
