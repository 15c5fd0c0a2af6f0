"""Outbox: bounded, never blocks the producer, cuts off a reader that cannot keep up."""

from __future__ import annotations

import asyncio

from shopcall.signalling.outbox import Ended, Outbox


class Sink:
    def __init__(self, stall: bool = False) -> None:
        self.sent: list[str] = []
        self.closed: tuple[int, str] | None = None
        self.gate = asyncio.Event()
        if not stall:
            self.gate.set()

    async def send(self, text: str) -> None:
        await self.gate.wait()
        self.sent.append(text)

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


async def test_messages_go_out_in_order_then_the_close() -> None:
    sink = Sink()
    box = Outbox(sink.send, sink.close, slow_code=4429)
    writer = asyncio.create_task(box.run())
    for i in range(5):
        assert box.put({"n": i})
    box.close(1000, "bye")
    assert await writer is Ended.CLOSED
    assert sink.sent == [f'{{"n":{i}}}' for i in range(5)] and sink.closed == (1000, "bye")
    assert not box.put({"late": True})


async def test_overflow_by_count_or_bytes_closes_with_the_slow_code() -> None:
    for limits, msg in (({"max_messages": 3}, {"x": 1}), ({"max_bytes": 100}, {"x": "y" * 40})):
        sink = Sink(stall=True)
        box = Outbox(sink.send, sink.close, slow_code=4429, **limits)
        writer = asyncio.create_task(box.run())
        results = [box.put(msg) for _ in range(5)]
        assert False in results and box.queued == (0, 0)
        sink.gate.set()
        assert await writer is Ended.TOO_SLOW
        assert sink.closed is not None and sink.closed[0] == 4429


async def test_a_frame_not_taken_within_the_deadline_ends_the_writer() -> None:
    sink = Sink(stall=True)
    box = Outbox(sink.send, sink.close, slow_code=4429, send_timeout_s=0.1)
    writer = asyncio.create_task(box.run())
    assert box.put({"a": 1})
    assert await asyncio.wait_for(writer, 3) is Ended.TOO_SLOW
    assert sink.closed is not None and sink.closed[0] == 4429  # the close is attempted (bounded wait)


async def test_a_dead_socket_ends_the_writer() -> None:
    async def broken(text: str) -> None:
        raise ConnectionResetError

    async def close(code: int, reason: str) -> None:
        pass

    box = Outbox(broken, close, slow_code=4429)
    box.put({"a": 1})
    assert await box.run() is Ended.DEAD
