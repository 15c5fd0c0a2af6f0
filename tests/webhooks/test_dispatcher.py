"""The delivery worker against a real HTTP receiver, on SQLite and PostgreSQL (`db` fixture)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from shopcall.db.engine import Database
from shopcall.db.models import WebhookDelivery, WebhookEndpoint
from shopcall.outbound import OutboundPolicy
from shopcall.rooms.apps import create_app as create_tenant
from shopcall.webhooks.dispatcher import DEFAULT_SCHEDULE, WebhookDispatcher
from tests.webhooks import Receiver

KEY = b"k" * 48
LOCAL = OutboundPolicy.parse(["127.0.0.1"])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.close()


class Clock:
    """Real time plus a manual offset: signatures stay within the receiver's 300 s window."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def _setup(db: Database, receiver: Receiver, events: list[str] | None = None, **kw) -> tuple[WebhookDispatcher, str]:
    app, _ = create_tenant(db, "Shop")
    kw.setdefault("schedule", (0.1, 0.1, 0.1))
    kw.setdefault("jitter", 0.0)
    kw.setdefault("outbound", LOCAL)  # the receiver listens on loopback
    d = WebhookDispatcher(db, KEY, poll_s=0.05, **kw)
    _, receiver.secret = d.create_endpoint(app.id, receiver.url, events or ["*"])
    return d, app.id


def _rows(db: Database, **where: str) -> list[WebhookDelivery]:
    with db.session() as s:
        q = select(WebhookDelivery).order_by(WebhookDelivery.created_at)
        for k, v in where.items():
            q = q.where(getattr(WebhookDelivery, k) == v)
        return list(s.scalars(q))


async def until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(cond):
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_signed_deliveries_retry_after_500_and_arrive_exactly_once(db: Database, receiver: Receiver) -> None:
    d, app_id = _setup(db, receiver)
    await d.start()
    try:
        ids = [await d.emit(app_id, t, {"call_id": "cl_1", "n": i})
               for i, t in enumerate(("call.queued", "call.started", "call.ended"))]
        await until(lambda: len(receiver.accepted()) == 3)
        await asyncio.sleep(0.4)  # several more worker polls and retry slots go by
    finally:
        await d.stop()
    for _ in range(3):
        assert await d.deliver_due_now() == 0
    assert receiver.rejected() == []  # every request carried a valid signature
    assert receiver.accepted() == {i: 1 for i in ids}
    for event_id in ids:
        assert receiver.answers(event_id) == [500, 200]
        (row,) = _rows(db, event_id=event_id)
        assert (row.status, row.attempts, row.last_status_code, row.last_error) == ("delivered", 2, 200, None)
        assert [e["status_code"] for e in row.log] == [500, 200] and row.log[0]["error"] == "HTTP 500"
        assert all(e["duration_ms"] >= 0 and e["at"].endswith("Z") for e in row.log)
        assert row.delivered_at is not None and row.next_attempt_at is None
    hit = receiver.snapshot()[-1]
    assert hit.headers["ShopCall-Event-Id"] == hit.event_id and hit.headers["ShopCall-Event-Type"] == hit.event_type
    assert hit.event is not None and set(hit.event) == {"id", "type", "created_at", "app_id", "data"}
    assert hit.event["app_id"] == app_id and hit.event["created_at"].endswith("Z")


async def test_emit_never_waits_for_the_receiver(db: Database, receiver: Receiver) -> None:
    receiver.mode, receiver.hold = "ok", True  # the receiver takes 5 s to answer
    d, app_id = _setup(db, receiver)
    await d.start()
    try:
        first = await d.emit(app_id, "call.queued", {})
        await until(lambda: receiver.arrived == 1)  # the request is at the receiver, waiting
        timings = []
        for _ in range(3):
            t0 = time.perf_counter()
            await d.emit(app_id, "participant.joined", {"identity": "x"})
            timings.append(time.perf_counter() - t0)
        assert max(timings) < 0.05, timings
        assert receiver.snapshot() == []  # still nothing answered
    finally:
        await d.stop()  # cancels the attempts in flight
    receiver.release.set()
    row = _rows(db, event_id=first)[0]
    assert row.status == "pending" and row.log[-1]["error"] == "interrupted: the server stopped"
    assert len(_rows(db)) == 4


async def test_failed_after_the_retry_window_then_manual_redelivery(db: Database, receiver: Receiver) -> None:
    receiver.mode = "fail"
    clock = Clock()
    d, app_id = _setup(db, receiver, schedule=(5, 10), clock=clock)
    event_id = await d.emit(app_id, "recording.failed", {"recording_id": "rec_1"})
    assert await d.deliver_due_now() == 1
    assert await d.deliver_due_now() == 0  # not due for 5 s
    for step in (5.1, 10.1):
        clock.offset += step
        assert await d.deliver_due_now() == 1
    (row,) = _rows(db)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 3, None)
    assert [e["status_code"] for e in row.log] == [500, 500, 500]
    clock.offset += 10_000
    assert await d.deliver_due_now() == 0  # failed stays failed
    # another app cannot touch it; a delivered or unknown one cannot be redelivered
    other, _ = create_tenant(db, "Other")
    assert d.redeliver(other.id, row.id) == "not_found" and d.redeliver(app_id, "whd_nope") == "not_found"
    receiver.mode, clock.offset = "ok", 0  # (signatures must carry a timestamp the receiver accepts)
    assert d.redeliver(app_id, row.id) == "ok"
    assert await d.deliver_due_now() == 1
    (row,) = _rows(db)
    assert (row.status, row.attempts, row.event_id) == ("delivered", 4, event_id)
    assert receiver.answers(event_id) == [500, 500, 500, 200]
    assert d.redeliver(app_id, row.id) == "not_failed"
    await d.stop()


async def test_default_backoff_spans_a_day_with_jitter(db: Database, receiver: Receiver) -> None:
    assert sum(DEFAULT_SCHEDULE) * 0.9 >= 24 * 3600
    assert list(DEFAULT_SCHEDULE) == sorted(DEFAULT_SCHEDULE)
    receiver.mode = "fail"
    clock = Clock()
    d, app_id = _setup(db, receiver, schedule=None, jitter=0.1, clock=clock)
    assert d.schedule == DEFAULT_SCHEDULE
    await d.emit(app_id, "call.ended", {})
    await d.deliver_due_now()
    (row,) = _rows(db)
    delay = (row.next_attempt_at - row.created_at).total_seconds()
    assert 9 <= delay <= 11.5, delay
    clock.offset += 8
    assert await d.deliver_due_now() == 0
    clock.offset += 4
    assert await d.deliver_due_now() == 1
    await d.stop()


async def test_two_workers_never_send_the_same_attempt(db: Database, receiver: Receiver) -> None:
    receiver.mode = "ok"
    d1, app_id = _setup(db, receiver)
    d2 = WebhookDispatcher(db, KEY, schedule=(0.1,), jitter=0, outbound=LOCAL)
    ids = [await d1.emit(app_id, "participant.left", {"i": i}) for i in range(20)]
    counts = await asyncio.gather(d1.deliver_due_now(), d2.deliver_due_now(), d1.deliver_due_now())
    assert sum(counts) == 20
    assert receiver.accepted() == {i: 1 for i in ids} and len(receiver.snapshot()) == 20
    assert {(r.status, r.attempts) for r in _rows(db)} == {("delivered", 1)}
    await d1.stop()
    await d2.stop()


async def test_subscriptions_tenancy_and_secret_at_rest(db: Database, receiver: Receiver) -> None:
    receiver.mode = "ok"
    d, app_id = _setup(db, receiver, events=["call.ended", "conversion.recorded"])
    other, _ = create_tenant(db, "Other")
    with pytest.raises(ValueError, match="unknown webhook event type"):
        await d.emit(app_id, "call.exploded", {})
    await d.emit(app_id, "call.queued", {})  # not subscribed
    await d.emit(other.id, "call.ended", {})  # another app: no endpoint
    wanted = await d.emit(app_id, "call.ended", {"duration_s": 3})
    assert [r.event_id for r in _rows(db)] == [wanted]
    assert await d.deliver_due_now() == 1 and receiver.accepted() == {wanted: 1}
    with db.session() as s:
        ep = s.scalars(select(WebhookEndpoint)).one()
    assert receiver.secret not in ep.secret_encrypted and d.box.decrypt(ep.secret_encrypted) == receiver.secret
    # a server whose key changed cannot sign: the attempt fails cleanly and is retried later
    d2 = WebhookDispatcher(db, b"z" * 48, schedule=(60,), jitter=0, outbound=LOCAL)
    ev = await d2.emit(app_id, "call.ended", {})
    assert await d2.deliver_due_now() == 1
    (row,) = _rows(db, event_id=ev)
    assert row.status == "pending" and "cannot decrypt" in row.log[0]["error"]
    # deleting the endpoint drops what is pending and stops new deliveries
    assert d.delete_endpoint(other.id, ep.id) is False
    assert d.delete_endpoint(app_id, ep.id) is True and d.delete_endpoint(app_id, ep.id) is False
    (row,) = _rows(db, event_id=ev)
    assert (row.status, row.last_error) == ("failed", "endpoint deleted")
    assert d.redeliver(app_id, row.id) == "endpoint_deleted"
    await d.emit(app_id, "call.ended", {})
    assert len(_rows(db)) == 2
    await d.stop()
    await d2.stop()


async def test_unreachable_and_slow_endpoints_are_logged_failures(db: Database, receiver: Receiver) -> None:
    receiver.mode, receiver.hold = "ok", True
    d, app_id = _setup(db, receiver, timeout_s=0.3)
    await d.emit(app_id, "call.ended", {})
    await d.deliver_due_now()
    (row,) = _rows(db)
    assert row.status == "pending" and row.log[0]["error"] == "timeout after 0.3 s" and row.log[0]["duration_ms"] >= 300
    with db.session() as s:
        s.scalars(select(WebhookEndpoint)).one().url = "http://127.0.0.1:9/closed"
    await asyncio.sleep(0.15)
    await d.deliver_due_now()
    (row,) = _rows(db)
    assert row.attempts == 2 and row.log[1]["status_code"] is None and "Connect" in row.log[1]["error"]
    await d.stop()
