"""Waiting for a condition in tests and benchmarks that drive another process (a server, a browser)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(pred: Callable[[], T], timeout: float = 10.0, what: str = "a condition", every: float = 0.1) -> T:
    """Poll `pred` every `every` s until it returns something truthy, and return that; TimeoutError after
    `timeout` s (`what` names the awaited condition in the message)."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what} ({timeout:g} s)")
        time.sleep(every)
