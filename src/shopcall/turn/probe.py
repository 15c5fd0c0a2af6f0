"""Is coturn answering? A STUN Binding request over UDP, the cheapest thing a TURN server must answer
(no credentials needed, nothing allocated)."""

from __future__ import annotations

import asyncio
import os
import socket
import struct

MAGIC_COOKIE = 0x2112A442
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101


class _Waiter(asyncio.DatagramProtocol):
    def __init__(self, transaction: bytes, done: asyncio.Future[bool]) -> None:
        self.transaction = transaction
        self.done = done

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if len(data) >= 20 and not self.done.done():
            kind, _length, cookie = struct.unpack("!HHI", data[:8])
            if kind == BINDING_SUCCESS and cookie == MAGIC_COOKIE and data[8:20] == self.transaction:
                self.done.set_result(True)

    def error_received(self, exc: Exception) -> None:  # e.g. ICMP port unreachable
        if not self.done.done():
            self.done.set_result(False)


async def stun_binding_ok(host: str, port: int, timeout: float = 1.0) -> bool:
    """True if a STUN Binding success answer with our transaction id arrives within `timeout`."""
    loop = asyncio.get_running_loop()
    transaction = os.urandom(12)
    done: asyncio.Future[bool] = loop.create_future()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    transport, _ = await loop.create_datagram_endpoint(lambda: _Waiter(transaction, done),
                                                       remote_addr=(host, port), family=family)
    request = struct.pack("!HHI", BINDING_REQUEST, 0, MAGIC_COOKIE) + transaction
    try:
        for _ in range(3):  # UDP: resend a lost request
            transport.sendto(request)
            try:
                return await asyncio.wait_for(asyncio.shield(done), timeout / 3)
            except TimeoutError:
                continue
        return False
    finally:
        transport.close()
