"""Run and supervise the Janus child process.

ShopCall starts its own Janus so a single `shopcall serve` is a working deployment; if
Janus dies it is restarted (with backoff, so a crash loop does not spin) and listeners
are told, because every Janus session, handle and room died with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from shopcall.childproc import terminate
from shopcall.media.backend import MediaError
from shopcall.media.janus_config import JanusConfig

log = logging.getLogger(__name__)

RestartCallback = Callable[[], Awaitable[None]]

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGTERM Janus if ShopCall dies without stopping it (no orphan Janus)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except Exception:
        pass


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a (log) file, for error messages."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 16_384))
            data = f.read().decode("utf-8", "replace")
    except OSError as e:
        return f"(no log: {e})"
    return "\n".join(data.splitlines()[-lines:])


async def fetch_info(http_url: str, timeout: float) -> dict[str, Any]:
    """Janus's `info` over HTTP; raises on any failure."""
    async with httpx.AsyncClient(timeout=timeout) as client:
        r = await client.get(f"{http_url}/info")
        r.raise_for_status()
        data: dict[str, Any] = r.json()
    if data.get("janus") != "server_info":
        raise MediaError(f"unexpected answer to Janus info: {data.get('janus')!r}")
    return data


class JanusProcess:
    """One supervised `janus` child; `start()` returns once its HTTP API answers."""

    def __init__(
        self,
        binary: str,
        config: JanusConfig,
        *,
        start_timeout: float = 10.0,
        stop_timeout: float = 5.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 10.0,
    ) -> None:
        self.binary = binary
        self.config = config
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.restarts = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._callbacks: list[RestartCallback] = []
        self._stop_requested = asyncio.Event()  # set by stop() while the loops below wait in an await
        self._ready = asyncio.Event()

    @property
    def pid(self) -> int | None:
        """PID of the running Janus, None while (re)starting or stopped."""
        if self._proc is None or self._proc.returncode is not None:
            return None
        return self._proc.pid

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def on_restart(self, callback: RestartCallback) -> None:
        """Run `callback` after Janus was restarted following an unexpected exit."""
        self._callbacks.append(callback)

    async def wait_ready(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout)

    def log_tail(self, lines: int = 30) -> str:
        return tail(self.config.log_file, lines)

    async def start(self) -> None:
        if self._supervisor is not None:
            return
        self._stop_requested.clear()
        await self._launch()
        self._supervisor = asyncio.create_task(self._supervise(), name="janus-supervisor")

    async def _launch(self) -> None:
        """Start Janus and wait for `info`; on failure leave nothing running and raise."""
        cmd = [
            self.binary,
            "-C", str(self.config.main_file),
            "-F", str(self.config.folder),
            "-o",
            "-L", str(self.config.log_file),
        ]  # fmt: skip
        log.info("starting janus: %s", " ".join(cmd))
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *cmd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,  # everything also goes to the -L log file
                stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,  # a terminal's Ctrl-C reaches ShopCall, which stops Janus
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        except OSError as e:
            raise MediaError(f"cannot start Janus ({self.binary}): {e}") from e
        proc = self._proc
        deadline = time.monotonic() + self.start_timeout
        last_error = ""
        while True:
            if proc.returncode is not None:
                raise MediaError(
                    f"Janus exited with code {proc.returncode} during start-up; log tail:\n{self.log_tail()}"
                )
            try:
                await fetch_info(self.config.http_url, timeout=0.5)
                break
            except Exception as e:  # not listening yet
                last_error = str(e) or type(e).__name__
            if time.monotonic() > deadline:
                await self._terminate(proc)
                raise MediaError(
                    f"Janus did not answer info on {self.config.http_url} within {self.start_timeout:.0f} s "
                    f"({last_error}); log tail:\n{self.log_tail()}"
                )
            await asyncio.sleep(0.05)
        log.info(
            "janus ready (pid %d, http %d, ws %d)", proc.pid, self.config.ports.http, self.config.ports.ws
        )
        self._ready.set()

    async def _supervise(self) -> None:
        backoff = self.backoff_initial
        while not self._stop_requested.is_set():
            proc = self._proc
            assert proc is not None
            started = time.monotonic()
            code = await proc.wait()
            self._ready.clear()
            if self._stop_requested.is_set():
                return
            log.warning(
                "janus (pid %d) exited unexpectedly with code %s; log tail:\n%s",
                proc.pid,
                code,
                self.log_tail(10),
            )
            if time.monotonic() - started > 60:
                backoff = self.backoff_initial  # it ran fine for a while: not a crash loop
            while not self._stop_requested.is_set():
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.backoff_max)
                if self._stop_requested.is_set():
                    return
                try:
                    await self._launch()
                    break
                except MediaError as e:
                    log.error("janus restart failed, retrying in %.1f s: %s", backoff, e)
            if self._stop_requested.is_set():
                return
            self.restarts += 1
            for cb in list(self._callbacks):
                try:
                    await cb()
                except Exception:
                    log.exception("janus restart callback failed")

    async def _terminate(self, proc: asyncio.subprocess.Process) -> None:
        await terminate(proc, self.stop_timeout, "janus", log)

    async def stop(self) -> None:
        self._stop_requested.set()
        self._ready.clear()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        if self._proc is not None:
            await self._terminate(self._proc)
            log.info("janus stopped (pid %d, code %s)", self._proc.pid, self._proc.returncode)
            self._proc = None
