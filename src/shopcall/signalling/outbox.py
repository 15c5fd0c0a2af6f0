"""A connection's bounded outbound queue, drained by its own writer task with a send deadline.

Nothing on the hub ever awaits a client's socket: messages are serialised and queued here
(`put` never blocks), so one client that stops reading cannot stall a room, the call desk or
another tenant. A client whose queue overflows, or whose socket does not take a frame within
the deadline, is cut off with `CLOSE_TOO_SLOW`; the SDK reconnects as after a network drop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

MAX_MESSAGES = 512
MAX_BYTES = 4 * 1024 * 1024
SEND_TIMEOUT_S = 5.0
CLOSE_TIMEOUT_S = 1.0


class Ended(Enum):
    CLOSED = "closed"  # closed as asked (after the queued messages went out)
    TOO_SLOW = "too_slow"  # overflowed, or a frame was not taken within the deadline
    DEAD = "dead"  # the socket failed


class Outbox:
    def __init__(self, send: Callable[[str], Awaitable[None]], close: Callable[[int, str], Awaitable[None]], *,
                 slow_code: int, max_messages: int = MAX_MESSAGES, max_bytes: int = MAX_BYTES,
                 send_timeout_s: float = SEND_TIMEOUT_S) -> None:
        self._send, self._close, self._slow_code = send, close, slow_code
        self.max_messages, self.max_bytes, self.send_timeout_s = max_messages, max_bytes, send_timeout_s
        self._queue: deque[str] = deque()
        self._bytes = 0
        self._wake = asyncio.Event()
        self._closing: tuple[int, str] | None = None
        self._overflowed = False

    @property
    def queued(self) -> tuple[int, int]:
        """(messages, bytes) waiting to be written."""
        return len(self._queue), self._bytes

    def put(self, msg: dict[str, Any]) -> bool:
        """Queue a message; False if the outbox is closing or just overflowed (then it closes)."""
        if self._closing is not None:
            return False
        text = json.dumps(msg, separators=(",", ":"))
        if len(self._queue) >= self.max_messages or self._bytes + len(text) > self.max_bytes:
            self._overflowed = True
            self._queue.clear()
            self._bytes = 0
            self._closing = (self._slow_code, "too slow: outbound queue overflowed")
        else:
            self._queue.append(text)
            self._bytes += len(text)
        self._wake.set()
        return not self._overflowed

    def close(self, code: int, reason: str = "") -> None:
        """Close after what is queued has been written."""
        if self._closing is None:
            self._closing = (code, reason)
            self._wake.set()

    async def run(self) -> Ended:
        """The writer task: drain, then close. Returns why it stopped."""
        while True:
            while self._queue:
                text = self._queue.popleft()
                self._bytes -= len(text)
                try:
                    await asyncio.wait_for(self._send(text), self.send_timeout_s)
                except TimeoutError:
                    await self._close_quietly(self._slow_code, "too slow: a message was not taken in time")
                    return Ended.TOO_SLOW
                except Exception:
                    return Ended.DEAD
            if self._closing is not None:
                await self._close_quietly(*self._closing)
                return Ended.TOO_SLOW if self._overflowed else Ended.CLOSED
            await self._wake.wait()
            self._wake.clear()

    async def _close_quietly(self, code: int, reason: str) -> None:
        # a client that does not read may not take the close frame either: bounded wait
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._close(code, reason), CLOSE_TIMEOUT_S)
