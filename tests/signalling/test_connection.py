"""The connection state machine: OPEN → CLOSING → CLOSED; illegal transitions raise."""

from __future__ import annotations

import asyncio

import pytest

from shopcall.auth.tokens import ClientClaims
from shopcall.signalling.connection import Connection, ConnState, IllegalTransition


class Ws:
    def __init__(self) -> None:
        self.frames: list[str] = []
        self.closed: int | None = None

    async def send_text(self, data: str) -> None:
        self.frames.append(data)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed = code


def conn() -> tuple[Connection, Ws]:
    ws = Ws()
    claims = ClientClaims(app_id="app_1", identity="bob", name="Bob", role="shopper", rooms=(), expires_at=2**40)
    return Connection(ws, claims, "c1"), ws


async def test_send_queues_and_close_drains_first() -> None:
    c, ws = conn()
    writer = asyncio.create_task(c.run_writer())
    assert c.send({"type": "a"}) and c.state is ConnState.OPEN
    c.close(4000, "room ended")
    assert c.state is ConnState.CLOSING and c.closed and not c.send({"type": "late"})
    c.close(1000)  # a second close is a no-op, not an error
    await writer
    assert c.state is ConnState.CLOSED and ws.frames == ['{"type":"a"}'] and ws.closed == 4000


async def test_illegal_transitions_raise() -> None:
    c, _ = conn()
    c._to(ConnState.CLOSED)
    with pytest.raises(IllegalTransition):
        c._to(ConnState.CLOSING)
    with pytest.raises(IllegalTransition):
        c._to(ConnState.OPEN)
