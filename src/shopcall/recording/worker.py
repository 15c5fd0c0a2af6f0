"""The background worker that turns stopped recordings into verified, stored composites.

Progress is written to the recording row through `RecordingStore` (`steps`: per step status, and the
composite's percentage) so the console can show it. A failed step is retried with backoff and reported;
after the last attempt the recording is `failed` with the reason, never silently dropped. The
per-track originals are deleted only once the composite is verified and stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import structlog

from shopcall.db.engine import Database
from shopcall.keys.keyring import Keyring
from shopcall.recording import pipeline
from shopcall.recording.encryption import open_folder, seal_folder
from shopcall.recording.storage import RecordingStorage, recording_key
from shopcall.recording.store import IllegalTransition, Job, RecordingStore, UnknownRecording

log = structlog.get_logger("shopcall.recording.worker")
EventSink = Callable[[str, str, dict[str, Any]], Awaitable[object]]  # (app_id, event type, data)


class RecordingWorker:
    def __init__(self, db: Database, storage: RecordingStorage, *, on_event: EventSink | None = None,
                 retry_delays: tuple[float, ...] = (5, 30, 120), poll_s: float = 5,
                 raw_keys: Keyring | None = None) -> None:
        self.store = RecordingStore(db)
        self.raw_keys = raw_keys  # set: raw files are sealed at rest and processed from decrypted copies
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
        return [i for i in self.store.processing_ids() if self._retry_at.get(i, 0) <= now]

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

    def process(self, rec_id: str) -> tuple[str, str, dict[str, Any]] | None:
        """Run every step; returns the webhook event to send when the recording is ready or failed."""
        job = self.store.start_attempt(rec_id)
        if job is None:
            return None
        try:
            return self._attempt(job)
        except (UnknownRecording, IllegalTransition) as e:  # deleted or finished by someone else meanwhile
            log.info("recording_changed_while_processing", recording=rec_id, error=str(e))
            return None

    def _attempt(self, job: Job) -> tuple[str, str, dict[str, Any]] | None:
        if self.raw_keys is None or not job.folder or not Path(job.folder).is_dir():
            return self._steps(job, Path(job.folder), Path(job.folder))
        raw = Path(job.folder)
        seal_folder(raw, job.app_id, self.raw_keys)  # at rest only sealed from here on
        work = Path(tempfile.mkdtemp(dir=raw.parent, prefix=f".work-{job.id}-"))
        try:
            open_folder(raw, work, self.raw_keys)
            return self._steps(job, work, raw)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _steps(self, job: Job, folder: Path, raw: Path) -> tuple[str, str, dict[str, Any]] | None:
        """Process the tracks in `folder` (the raw folder, or decrypted copies of it); `raw` goes when stored."""
        rec_id = job.id
        step = "scan"
        try:
            self.store.progress(rec_id, "scan", {"status": "running"})
            tracks = pipeline.scan(folder)
            if not tracks:
                raise pipeline.StepError("nothing was recorded (no media in the recording folder)")
            self.store.progress(rec_id, "scan", {"status": "done", "tracks": len(tracks)})
            step = "convert"
            out_dir = folder / "converted"
            out_dir.mkdir(exist_ok=True)
            for i, t in enumerate(tracks):
                pipeline.convert(t, out_dir)
                self.store.progress(rec_id, "convert", {"status": "running", "done": i + 1, "of": len(tracks)})
            self.store.progress(rec_id, "convert", {"status": "done", "files": len(tracks)})
            step = "composite"
            last = [0.0]

            def progress(p: float) -> None:
                if p - last[0] >= 0.1 or p >= 1.0:
                    last[0] = p
                    self.store.progress(rec_id, "composite", {"status": "running", "progress": round(p, 2)})

            out = folder / "composite.mp4"
            pipeline.composite(tracks, out, duration_s=job.duration_s, start_us=job.start_us, progress=progress)
            self.store.progress(rec_id, "composite", {"status": "done", "progress": 1.0})
            step = "verify"
            checked = pipeline.verify(out, duration_s=job.duration_s)
            self.store.progress(rec_id, "verify", {"status": "done", **checked})
            step = "store"
            key = recording_key(job.app_id, job.region, rec_id, "composite.mp4")
            size = self.storage.put_file(key, out, "video/mp4")
            self.store.mark_ready(rec_id, storage_key=key, size_bytes=size, backend=self.storage.name)
            shutil.rmtree(raw, ignore_errors=True)  # originals go only after a verified, stored composite
            self._retry_at.pop(rec_id, None)
            log.info("recording_ready", recording=rec_id, bytes=size, seconds=job.duration_s)
            return job.app_id, "recording.ready", self.store.event_payload(rec_id)
        except (UnknownRecording, IllegalTransition):
            raise
        except Exception as e:  # StepError, storage errors, anything: reported, retried
            reason = str(e) if isinstance(e, pipeline.StepError) else f"{step}: {type(e).__name__}: {e}"
            final = job.attempts > len(self.retry_delays)
            log.warning("recording_step_failed", recording=rec_id, step=step, attempt=job.attempts, error=reason,
                        final=final)
            if final:
                self.store.mark_failed(rec_id, step=step, error=reason)
                return job.app_id, "recording.failed", {**self.store.event_payload(rec_id), "attempts": job.attempts}
            delay = self.retry_delays[job.attempts - 1]
            self._retry_at[rec_id] = time.monotonic() + delay
            self.store.progress(rec_id, step, {"status": "retrying", "error": reason, "retry_in_s": delay},
                                error=reason)
            return None
