"""The STUN Binding health probe, against a tiny STUN responder and against silence."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from shopcall.turn.probe import BINDING_SUCCESS, MAGIC_COOKIE, stun_binding_ok


class _Responder(asyncio.DatagramProtocol):
    def __init__(self, echo_id: bool) -> None:
        self.echo_id = echo_id

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        transaction = data[8:20] if self.echo_id else bytes(12)
        self.transport.sendto(struct.pack("!HHI", BINDING_SUCCESS, 0, MAGIC_COOKIE) + transaction, addr)


async def _serve(echo_id: bool) -> tuple[asyncio.DatagramTransport, int]:
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: _Responder(echo_id), local_addr=("127.0.0.1", 0))
    return transport, transport.get_extra_info("sockname")[1]


async def test_answer_with_our_transaction_is_healthy() -> None:
    transport, port = await _serve(echo_id=True)
    try:
        assert await stun_binding_ok("127.0.0.1", port, timeout=1.0)
    finally:
        transport.close()


async def test_foreign_answer_or_silence_is_not() -> None:
    transport, port = await _serve(echo_id=False)
    transport2, silent = await _serve(echo_id=True)
    transport2.close()  # nobody listens there now
    try:
        assert not await stun_binding_ok("127.0.0.1", port, timeout=0.6)
        assert not await stun_binding_ok("127.0.0.1", silent, timeout=0.6)
    finally:
        transport.close()
