"""The background worker that turns stopped recordings into verified, stored composites.

Progress is written to the recording row (`steps`: per step status, and the composite's
percentage) so the console can show it. A failed step is retried with backoff and reported;
after the last attempt the recording is `failed` with the reason, never silently dropped. The
per-track originals are deleted only once the composite is verified and stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import Awaitable, Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import select

from shopcall.db.engine import Database
from shopcall.db.models import Recording
from shopcall.recording import pipeline
from shopcall.recording.storage import RecordingStorage, recording_key

log = structlog.get_logger("shopcall.recording.worker")
EventSink = Callable[[str, str, dict[str, Any]], Awaitable[None]]


class RecordingWorker:
    def __init__(self, db: Database, storage: RecordingStorage, *, on_event: EventSink | None = None,
                 retry_delays: tuple[float, ...] = (5, 30, 120), poll_s: float = 5) -> None:
        self.db = db
        self.storage = storage
        self.on_event = on_event
        self.retry_delays = retry_delays
        self.poll_s = poll_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._retry_at: dict[str, float] = {}

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="recording-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            self._wake.clear()
            try:
                await self.process_due()
            except Exception:
                log.exception("recording_worker_pass_failed")

    def _due(self) -> list[str]:
        now = time.monotonic()
        with self.db.session() as s:
            ids = list(s.scalars(select(Recording.id).where(Recording.status == "processing")))
        return [i for i in ids if self._retry_at.get(i, 0) <= now]

    async def process_due(self) -> list[str]:
        done = []
        for rec_id in await asyncio.to_thread(self._due):
            outcome = await asyncio.to_thread(self.process, rec_id)
            if outcome is not None:
                app_id, event, data = outcome
                done.append(rec_id)
                if self.on_event is not None:
                    await self.on_event(app_id, event, data)
        return done

    # ---- one recording ------------------------------------------------------------------------

    def _update(self, rec_id: str, **changes: Any) -> None:
        with self.db.session() as s:
            row = s.get(Recording, rec_id)
            if row is None:
                return
            steps = dict(row.steps or {})
            steps.update(changes.pop("steps", {}))
            row.steps = steps
            for k, v in changes.items():
                setattr(row, k, v)

    def _payload(self, rec_id: str) -> dict[str, Any]:
        from shopcall.webhooks.events import recording

        with self.db.session() as s:
            row = s.get(Recording, rec_id)
            return recording(row) if row is not None else {"recording_id": rec_id}

    def process(self, rec_id: str) -> tuple[str, str, dict[str, Any]] | None:
        """Run every step; returns the webhook event to send when the recording is ready or failed."""
        with self.db.session() as s:
            row = s.get(Recording, rec_id)
            if row is None or row.status != "processing":
                return None
            app_id, region, folder = row.app_id, row.region, Path(row.folder)
            duration = float(row.duration_s or 0)
            start_us = int(row.started_at.replace(tzinfo=UTC).timestamp() * 1e6)
            attempts = row.attempts + 1
        self._update(rec_id, attempts=attempts)
        step = "scan"
        try:
            self._update(rec_id, steps={"scan": {"status": "running"}})
            tracks = pipeline.scan(folder)
            if not tracks:
                raise pipeline.StepError("nothing was recorded (no media in the recording folder)")
            self._update(rec_id, steps={"scan": {"status": "done", "tracks": len(tracks)}})
            step = "convert"
            out_dir = folder / "converted"
            out_dir.mkdir(exist_ok=True)
            for i, t in enumerate(tracks):
                pipeline.convert(t, out_dir)
                self._update(rec_id, steps={"convert": {"status": "running", "done": i + 1, "of": len(tracks)}})
            self._update(rec_id, steps={"convert": {"status": "done", "files": len(tracks)}})
            step = "composite"
            last = [0.0]

            def progress(p: float) -> None:
                if p - last[0] >= 0.1 or p >= 1.0:
                    last[0] = p
                    self._update(rec_id, steps={"composite": {"status": "running", "progress": round(p, 2)}})

            out = folder / "composite.mp4"
            pipeline.composite(tracks, out, duration_s=duration, start_us=start_us, progress=progress)
            self._update(rec_id, steps={"composite": {"status": "done", "progress": 1.0}})
            step = "verify"
            checked = pipeline.verify(out, duration_s=duration)
            self._update(rec_id, steps={"verify": {"status": "done", **checked}})
            step = "store"
            key = recording_key(app_id, region, rec_id, "composite.mp4")
            size = self.storage.put_file(key, out, "video/mp4")
            self._update(rec_id, steps={"store": {"status": "done", "backend": self.storage.name}},
                         storage_key=key, size_bytes=size, status="ready", error=None)
            shutil.rmtree(folder, ignore_errors=True)  # originals go only after a verified, stored composite
            self._retry_at.pop(rec_id, None)
            log.info("recording_ready", recording=rec_id, bytes=size, seconds=duration)
            return app_id, "recording.ready", self._payload(rec_id)
        except Exception as e:  # StepError, storage errors, anything: reported, retried
            reason = str(e) if isinstance(e, pipeline.StepError) else f"{step}: {type(e).__name__}: {e}"
            final = attempts > len(self.retry_delays)
            log.warning("recording_step_failed", recording=rec_id, step=step, attempt=attempts, error=reason,
                        final=final)
            if final:
                self._update(rec_id, steps={step: {"status": "failed", "error": reason}}, status="failed",
                             error=reason)
                return app_id, "recording.failed", {**self._payload(rec_id), "attempts": attempts}
            delay = self.retry_delays[attempts - 1]
            self._retry_at[rec_id] = time.monotonic() + delay
            self._update(rec_id, steps={step: {"status": "retrying", "error": reason, "retry_in_s": delay}},
                         error=reason)
            return None
