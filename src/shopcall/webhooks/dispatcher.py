"""Webhook delivery: an outbox in the database and a background worker that signs, sends and retries.

`emit()` only inserts one `WebhookDelivery` row per subscribed endpoint (in a thread) and wakes the
worker, so the call path never waits for a merchant's server. The worker claims due rows with a
conditional UPDATE (attempts and a lease move together), which is what keeps two processes from
sending the same attempt; a process that dies mid-attempt leaves a lease that expires, and the row
is sent again (at-least-once; receivers de-duplicate on the event id). Every attempt is appended
to the row's `log`, which is the delivery log shown by the API and the console.

Endpoint URLs are the tenant's choice, so every connection goes through the outbound guard: an address
that is not public (unless the operator allows it) is never connected to and is logged only as
"blocked: address not allowed", so the delivery log cannot be used to map the server's network.
Queueing an event retries a failing database write a few times before it gives up loudly.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
import structlog
from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError

from shopcall import __version__
from shopcall.db.engine import Database, rowcount
from shopcall.db.ids import new_id
from shopcall.db.models import AuditEntry, WebhookDelivery, WebhookEndpoint, iso
from shopcall.outbound import BLOCKED, AddressNotAllowed, OutboundPolicy, guarded_client
from shopcall.webhooks.events import ALL_EVENTS, EVENT_TYPES
from shopcall.webhooks.secrets_box import SecretBox
from shopcall.webhooks.signing import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    new_secret,
    signature_header,
)

log = structlog.get_logger("shopcall.webhooks")

# Delay after failed attempt n is DEFAULT_SCHEDULE[n-1] (±jitter): 11 attempts over ~27.7 h (≥ 24 h at -10 %).
DEFAULT_SCHEDULE: tuple[float, ...] = (10, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200)
TIMEOUT_S = 10.0
LEASE_S = 60.0  # must exceed TIMEOUT_S: a claim older than this is taken to belong to a dead process
MAX_IN_FLIGHT = 32
BATCH = 50
MAX_ENDPOINTS = 20
EMIT_RETRY_S: tuple[float, ...] = (0.05, 0.2, 0.5)  # waits between the 4 tries of queueing an event
RedeliverResult = Literal["ok", "not_found", "not_failed", "endpoint_deleted"]


class WebhookError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class _Job:
    id: str
    attempt: int  # 1-based number of the attempt this claim owns
    url: str
    secret_encrypted: str
    payload: dict[str, Any]
    event_id: str
    event_type: str


def _describe(e: BaseException) -> str:
    text = str(e).strip()
    return (f"{type(e).__name__}: {text}" if text else type(e).__name__)[:500]


class WebhookDispatcher:
    def __init__(self, db: Database, signing_key: bytes, *, clock: Callable[[], float] = time.time,
                 http: httpx.AsyncClient | None = None, schedule: Sequence[float] | None = None,
                 jitter: float = 0.1, poll_s: float = 1.0, timeout_s: float = TIMEOUT_S,
                 outbound: OutboundPolicy | None = None, master_key: bytes | None = None) -> None:
        self.db = db
        self.outbound = outbound or OutboundPolicy()  # read when the HTTP client is first built
        self.emit_failures = 0  # events that could not be queued after every retry (also logged)
        self.box = SecretBox(signing_key, master_key=master_key)
        self.clock = clock
        self.schedule = tuple(DEFAULT_SCHEDULE if schedule is None else schedule)
        self.jitter, self.poll_s, self.timeout_s = jitter, poll_s, timeout_s
        self._http, self._own_http = http, False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._rng = random.Random()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC).replace(tzinfo=None)  # the DB stores naive UTC

    # ---- producing events -------------------------------------------------------------------------------------

    async def emit(self, app_id: str, event_type: str, data: dict[str, Any]) -> str:
        """Queue an event for every subscribed endpoint; returns its id. Awaits only the DB insert."""
        event_id = self._event_id(event_type)
        await asyncio.to_thread(self._enqueue_retrying, event_id, app_id, event_type, data)
        self.wake()
        return event_id

    def emit_sync(self, app_id: str, event_type: str, data: dict[str, Any]) -> str:
        """`emit` for code already running in a worker thread (never call it on the event loop)."""
        event_id = self._event_id(event_type)
        self._enqueue_retrying(event_id, app_id, event_type, data)
        self.wake()
        return event_id

    @staticmethod
    def _event_id(event_type: str) -> str:
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown webhook event type {event_type!r}")
        return new_id("evt")

    def _enqueue_retrying(self, event_id: str, app_id: str, event_type: str, data: dict[str, Any]) -> int:
        """`_enqueue`, retried on database errors (a dropped connection, a lock timeout), then raised.

        Logs name the event and the app only: the payload holds shoppers' personal data.
        """
        for attempt, wait in enumerate((*EMIT_RETRY_S, None), start=1):
            try:
                return self._enqueue(event_id, app_id, event_type, data)
            except SQLAlchemyError as e:
                if wait is None:
                    self.emit_failures += 1
                    log.error("webhook_emit_failed", event_type=event_type, app_id=app_id, event_id=event_id,
                              attempts=attempt, error=type(e).__name__)
                    raise
                log.warning("webhook_emit_retry", event_type=event_type, app_id=app_id, event_id=event_id,
                            attempt=attempt, error=type(e).__name__)
                time.sleep(wait)
        raise AssertionError("unreachable")

    def _enqueue(self, event_id: str, app_id: str, event_type: str, data: dict[str, Any]) -> int:
        now = self._now()
        envelope = {"id": event_id, "type": event_type, "created_at": iso(now), "app_id": app_id, "data": data}
        with self.db.session() as s:
            endpoints = s.execute(select(WebhookEndpoint.id, WebhookEndpoint.events)
                                  .where(WebhookEndpoint.app_id == app_id, WebhookEndpoint.active.is_(True))).all()
            targets = [ep_id for ep_id, events in endpoints if event_type in events or ALL_EVENTS in events]
            for ep_id in targets:
                s.add(WebhookDelivery(id=new_id("whd"), app_id=app_id, endpoint_id=ep_id, event_id=event_id,
                                      event_type=event_type, payload=envelope, status="pending", attempts=0,
                                      next_attempt_at=now, log=[], created_at=now))
        return len(targets)

    def wake(self) -> None:
        """Make the worker look for due deliveries now; safe from any thread."""
        loop, ev = self._loop, self._wake
        if loop is None or ev is None or loop.is_closed():
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            ev.set()
        else:
            loop.call_soon_threadsafe(ev.set)

    # ---- endpoints (sync: API handlers run them in the thread pool) ------------------------------------------

    def create_endpoint(self, app_id: str, url: str, events: list[str]) -> tuple[WebhookEndpoint, str]:
        """Returns the endpoint and its signing secret in clear: the only time it is ever shown."""
        secret = new_secret()
        with self.db.session() as s:
            count = s.scalar(select(func.count()).select_from(WebhookEndpoint)
                             .where(WebhookEndpoint.app_id == app_id, WebhookEndpoint.active.is_(True)))
            if (count or 0) >= MAX_ENDPOINTS:
                raise WebhookError("too_many_endpoints", f"an app can have at most {MAX_ENDPOINTS} webhook endpoints")
            ep = WebhookEndpoint(id=new_id("wh"), app_id=app_id, url=url, events=list(events),
                                 secret_encrypted=self.box.encrypt(secret), active=True, created_at=self._now())
            s.add(ep)
            s.add(AuditEntry(app_id=app_id, actor=f"app:{app_id}", action="webhook.created",
                             details={"endpoint_id": ep.id, "url": url, "events": list(events)}))
        return ep, secret

    def rotate_secret(self, app_id: str, endpoint_id: str) -> tuple[WebhookEndpoint, str] | None:
        """New secret at once; pending retries are signed with it (signatures are made at send time)."""
        secret = new_secret()
        with self.db.session() as s:
            ep = s.get(WebhookEndpoint, endpoint_id)
            if ep is None or ep.app_id != app_id or not ep.active:
                return None
            ep.secret_encrypted = self.box.encrypt(secret)
            s.add(AuditEntry(app_id=app_id, actor=f"app:{app_id}", action="webhook.secret_rotated",
                             details={"endpoint_id": ep.id}))
        return ep, secret

    def reseal_secrets(self) -> int:
        """Re-seal signing secrets stored under an older key (the keyring's master key now); returns how many."""
        done = 0
        with self.db.session() as s:
            for ep in s.scalars(select(WebhookEndpoint)):
                if not self.box.is_current(ep.secret_encrypted):
                    try:
                        ep.secret_encrypted = self.box.encrypt(self.box.decrypt(ep.secret_encrypted))
                    except ValueError:  # sealed under a key this server does not have: left as it is
                        log.warning("webhook_secret_unreadable", endpoint_id=ep.id, app_id=ep.app_id)
                        continue
                    done += 1
        return done

    def delete_endpoint(self, app_id: str, endpoint_id: str) -> bool:
        """Deactivates (the delivery log stays readable) and gives up its pending deliveries."""
        with self.db.session() as s:
            ep = s.get(WebhookEndpoint, endpoint_id)
            if ep is None or ep.app_id != app_id or not ep.active:
                return False
            ep.active = False
            s.execute(update(WebhookDelivery)
                      .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == "pending")
                      .values(status="failed", next_attempt_at=None, last_error="endpoint deleted"))
            s.add(AuditEntry(app_id=app_id, actor=f"app:{app_id}", action="webhook.deleted",
                             details={"endpoint_id": ep.id, "url": ep.url}))
        return True

    def redeliver(self, app_id: str, delivery_id: str) -> RedeliverResult:
        """Give a failed delivery one more attempt, now (same event id and body, so receivers can de-duplicate)."""
        with self.db.session() as s:
            d = s.get(WebhookDelivery, delivery_id)
            if d is None or d.app_id != app_id:
                return "not_found"
            ep = s.get(WebhookEndpoint, d.endpoint_id)
            if ep is None or not ep.active:
                return "endpoint_deleted"
            res = s.execute(update(WebhookDelivery)
                            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "failed")
                            .values(status="pending", next_attempt_at=self._now()))
            if rowcount(res) != 1:
                return "not_failed"
        self.wake()
        return "ok"

    # ---- the worker -------------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    async def stop(self) -> None:
        """Stop the worker; attempts in flight are cancelled and logged as interrupted, due again at once."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        for t in list(self._in_flight):
            t.cancel()
        await asyncio.gather(*self._in_flight, return_exceptions=True)
        self._loop = self._wake = None
        if self._own_http and self._http is not None:
            await self._http.aclose()
            self._http, self._own_http = None, False

    async def deliver_due_now(self) -> int:
        """One pass (tests, tools): claim what is due, attempt it and wait for the outcomes. Returns the count."""
        jobs = await asyncio.to_thread(self._claim, BATCH)
        await asyncio.gather(*(self._attempt(j) for j in jobs))
        return len(jobs)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            self._wake.clear()
            free = MAX_IN_FLIGHT - len(self._in_flight)
            if free > 0:
                try:
                    jobs = await asyncio.to_thread(self._claim, free)
                except Exception:
                    log.exception("webhook_claim_failed")
                    jobs = []
                for job in jobs:  # each attempt runs on its own: a slow endpoint holds up nobody else
                    t = asyncio.create_task(self._attempt(job))
                    self._in_flight.add(t)
                    t.add_done_callback(self._attempt_done)
            # Not asyncio.wait_for: on 3.11 it can swallow a cancel that lands as the event fires (stop() hangs).
            with suppress(TimeoutError):
                async with asyncio.timeout(self.poll_s):
                    await self._wake.wait()

    def _attempt_done(self, t: asyncio.Task[None]) -> None:
        self._in_flight.discard(t)
        if self._wake is not None:
            self._wake.set()  # a slot is free

    def _claim(self, limit: int) -> list[_Job]:
        now = self._now()
        lease = now + timedelta(seconds=LEASE_S)
        D, E = WebhookDelivery, WebhookEndpoint
        with self.db.session() as s:
            rows = s.execute(
                select(D.id, D.attempts, D.payload, D.event_id, D.event_type, E.url, E.secret_encrypted)
                .join(E, E.id == D.endpoint_id)
                .where(D.status == "pending", D.next_attempt_at <= now, E.active.is_(True))
                .order_by(D.next_attempt_at, D.id).limit(limit)).all()
            jobs = []
            for r in rows:
                # Winning this UPDATE is what owns the attempt: a second claimer finds attempts already moved.
                won = rowcount(s.execute(update(D).where(D.id == r.id, D.status == "pending",
                                                         D.attempts == r.attempts, D.next_attempt_at <= now)
                                         .values(attempts=r.attempts + 1, next_attempt_at=lease))) == 1
                if won:
                    jobs.append(_Job(r.id, r.attempts + 1, r.url, r.secret_encrypted, r.payload, r.event_id,
                                     r.event_type))
            return jobs

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http, self._own_http = guarded_client(self.outbound), True
        return self._http

    async def _attempt(self, job: _Job) -> None:
        at, started = self._now(), time.monotonic()
        code: int | None = None
        error: str | None = None
        try:
            secret = self.box.decrypt(job.secret_encrypted)
            body = json.dumps(job.payload, separators=(",", ":")).encode()
            headers = {"Content-Type": "application/json", "User-Agent": f"ShopCall-Webhooks/{__version__}",
                       SIGNATURE_HEADER: signature_header(secret, body, int(self.clock())),
                       EVENT_ID_HEADER: job.event_id, EVENT_TYPE_HEADER: job.event_type}
            async with asyncio.timeout(self.timeout_s):
                # Streamed and never read: a huge or endless response body cannot cost memory or time.
                async with self._client().stream("POST", job.url, content=body, headers=headers) as resp:
                    code = resp.status_code
        except TimeoutError:
            error = f"timeout after {self.timeout_s:g} s"
        except asyncio.CancelledError:
            ms = int((time.monotonic() - started) * 1000)
            with suppress(Exception):
                await asyncio.to_thread(self._record, job, None, "interrupted: the server stopped", ms, at, True)
            raise
        except AddressNotAllowed:
            error = BLOCKED  # nothing more: which addresses exist is none of the tenant's business
        except Exception as e:  # connection refused, DNS, TLS, bad URL, undecryptable secret: all just a failure
            error = _describe(e)
        ms = int((time.monotonic() - started) * 1000)
        try:
            await asyncio.to_thread(self._record, job, code, error, ms, at)
        except Exception:
            log.exception("webhook_record_failed", delivery=job.id)  # the lease expires and it is sent again

    def _record(self, job: _Job, code: int | None, error: str | None, ms: int, at: datetime,
                interrupted: bool = False) -> None:
        ok = code is not None and 200 <= code < 300
        if code is not None and not ok:
            error = f"HTTP {code}"
        entry = {"at": iso(at), "attempt": job.attempt, "status_code": code, "error": error, "duration_ms": ms}
        with self.db.session() as s:
            d = s.scalar(select(WebhookDelivery).where(WebhookDelivery.id == job.id).with_for_update())
            if d is None:
                return
            d.log = [*(d.log or []), entry]  # a new list, so the JSON column is written
            ours = d.status == "pending" and d.attempts == job.attempt
            if ours or ok:
                d.last_status_code, d.last_error = code, error
            if ok:
                d.status, d.delivered_at, d.next_attempt_at, d.last_error = "delivered", at, None, None
            elif not ours:  # its lease ran out (another process retried) or its endpoint was deleted meanwhile
                log.warning("webhook_attempt_not_owned", delivery=job.id, attempt=job.attempt, status=d.status)
            elif interrupted:
                d.next_attempt_at = at
            elif job.attempt > len(self.schedule):
                d.status, d.next_attempt_at = "failed", None
            else:
                delay = self.schedule[job.attempt - 1] * self._rng.uniform(1 - self.jitter, 1 + self.jitter)
                d.next_attempt_at = self._now() + timedelta(seconds=delay)
        log.info("webhook_attempt", delivery=job.id, event_id=job.event_id, event_type=job.event_type,
                 attempt=job.attempt, status_code=code, error=error, ms=ms)
