"""Stopping a supervised child (Janus, coturn): shared so both supervisors stop the same way."""

from __future__ import annotations

import asyncio
import contextlib
import logging


async def terminate(proc: asyncio.subprocess.Process, timeout_s: float, name: str, log: logging.Logger) -> None:
    """SIGTERM, then SIGKILL after `timeout_s`; only ever this child's PID, never by name."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), timeout_s)
    except TimeoutError:
        log.warning("%s (pid %d) ignored SIGTERM for %.0f s; killing it", name, proc.pid, timeout_s)
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
