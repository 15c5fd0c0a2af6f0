"""Run and supervise the coturn child process, the way `media.janus_process` supervises Janus.

coturn is restarted (with backoff) when it exits or stops answering STUN, so a crash only costs the
relayed calls their allocations (clients re-allocate on ICE restart). Unlike Janus, TURN is not needed
for most calls: if it cannot start, ShopCall keeps running, reports TURN down on /healthz, and keeps
retrying in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time

from shopcall.childproc import terminate
from shopcall.media.janus_process import _die_with_parent, tail
from shopcall.turn.conf import TurnConfig, TurnPortBusy, check_ports_free
from shopcall.turn.probe import stun_binding_ok

log = logging.getLogger(__name__)


class TurnError(RuntimeError):
    """coturn could not be started."""


class TurnProcess:
    """One supervised `turnserver` child; `start()` returns whether it answered within `start_timeout`."""

    def __init__(
        self,
        binary: str,
        config: TurnConfig,
        *,
        start_timeout: float = 10.0,
        stop_timeout: float = 5.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        check_interval: float = 5.0,
        failed_checks_before_restart: int = 3,
    ) -> None:
        self.binary = binary
        self.config = config
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.check_interval = check_interval
        self.failed_checks_before_restart = failed_checks_before_restart
        self.restarts = 0
        self.last_error: str | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stop_requested = asyncio.Event()
        self._ready = asyncio.Event()

    @property
    def pid(self) -> int | None:
        """PID of the running coturn, None while (re)starting or stopped."""
        if self._proc is None or self._proc.returncode is not None:
            return None
        return self._proc.pid

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    async def wait_ready(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout)

    def log_tail(self, lines: int = 30) -> str:
        return tail(self.config.log_file, lines)

    async def healthy(self) -> bool:
        """Running and answering STUN on its port."""
        if self.pid is None or not self.ready:
            return False
        return await stun_binding_ok(self.config.probe_host, self.config.port, timeout=1.0)

    async def start(self) -> bool:
        """Start coturn and its supervisor; False (and retrying in the background) if it did not come up."""
        if self._supervisor is not None:
            return self.ready
        self._stop_requested.clear()
        try:
            await self._launch()
        except TurnError as e:
            self.last_error = str(e)
            log.error("coturn did not start (retrying in the background): %s", e)
        self._supervisor = asyncio.create_task(self._supervise(), name="turn-supervisor")
        return self.ready

    async def _launch(self) -> None:
        """Start coturn and wait until it answers STUN; on failure leave nothing running and raise."""
        try:
            check_ports_free(self.config)
        except TurnPortBusy as e:
            raise TurnError(str(e)) from e
        cmd = [self.binary, "-c", str(self.config.conf_file)]
        log.info("starting coturn: %s", " ".join(cmd))
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *cmd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,  # everything also goes to the log file
                stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        except OSError as e:
            raise TurnError(f"cannot start coturn ({self.binary}): {e}") from e
        proc = self._proc
        deadline = time.monotonic() + self.start_timeout
        while True:
            if proc.returncode is not None:
                raise TurnError(f"coturn exited with code {proc.returncode} during start-up; log tail:\n"
                                f"{self.log_tail()}")
            if await stun_binding_ok(self.config.probe_host, self.config.port, timeout=0.3):
                break
            if time.monotonic() > deadline:
                await self._terminate(proc)
                raise TurnError(f"coturn did not answer STUN on {self.config.probe_host}:{self.config.port} within "
                                f"{self.start_timeout:.0f} s; log tail:\n{self.log_tail()}")
        log.info("coturn ready (pid %d, port %d, tls %d)", proc.pid, self.config.port, self.config.tls_port)
        self.last_error = None
        self._ready.set()

    async def _watch(self, proc: asyncio.subprocess.Process) -> str:
        """Return once `proc` exits or stopped answering; why, for the log."""
        failures = 0
        exited = asyncio.create_task(proc.wait())
        try:
            while True:
                done, _ = await asyncio.wait({exited}, timeout=self.check_interval)
                if done:
                    return f"exited with code {proc.returncode}"
                if await stun_binding_ok(self.config.probe_host, self.config.port, timeout=1.0):
                    failures = 0
                    continue
                failures += 1
                if failures >= self.failed_checks_before_restart:  # hung (or stopped): SIGTERM would not help
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()
                    return f"stopped answering STUN ({failures} checks); killed"
        finally:
            exited.cancel()

    async def _supervise(self) -> None:
        backoff = self.backoff_initial
        while not self._stop_requested.is_set():
            proc = self._proc
            started = time.monotonic()
            if proc is not None and self.ready:
                why = await self._watch(proc)
                self._ready.clear()
                if self._stop_requested.is_set():
                    return
                log.warning("coturn (pid %d) %s; log tail:\n%s", proc.pid, why, self.log_tail(10))
                if time.monotonic() - started > 60:
                    backoff = self.backoff_initial  # it ran fine for a while: not a crash loop
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.backoff_max)
            if self._stop_requested.is_set():
                return
            try:
                await self._launch()
                self.restarts += 1
            except TurnError as e:
                self.last_error = str(e)
                log.error("coturn restart failed, retrying in %.1f s: %s", backoff, e)

    async def _terminate(self, proc: asyncio.subprocess.Process) -> None:
        await terminate(proc, self.stop_timeout, "coturn", log)

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
            log.info("coturn stopped (pid %d, code %s)", self._proc.pid, self._proc.returncode)
            self._proc = None
