"""REST: webhook endpoints, the delivery log (API and console), conversions; on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shopcall.api.deps import services_of
from shopcall.app import create_app
from shopcall.config import Settings
from shopcall.console.accounts import upsert_agent
from shopcall.db.models import AuditEntry, Call, WebhookEndpoint
from shopcall.media.fake import FakeMediaBackend
from shopcall.rooms.apps import create_app as create_tenant
from shopcall.rooms.store import RoomStore
from shopcall.webhooks.dispatcher import WebhookDispatcher
from tests.webhooks import Receiver


@pytest.fixture
def client(tmp_path, db_url) -> Iterator[TestClient]:
    app = create_app(Settings(data_dir=tmp_path / "data", database_url=db_url, media_backend="none",
                              outbound_allow=["127.0.0.1"]),
                     media=FakeMediaBackend())
    with TestClient(app) as c:
        d = services_of(app).webhooks
        d.schedule, d.jitter = (0.05, 0.05), 0.0  # three attempts within ~0.1 s
        try:
            yield c
        finally:
            c.portal.call(d.stop)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(mode="ok").start()
    yield r
    r.close()


def _tenant(c: TestClient, name: str) -> tuple[str, httpx.BasicAuth]:
    app, secret = create_tenant(services_of(c.app).db, name)
    return app.id, httpx.BasicAuth(app.id, secret)


def _call(c: TestClient, app_id: str, call_id: str) -> str:
    room = RoomStore(services_of(c.app).db).create_room(app_id)
    with services_of(c.app).db.session() as s:
        s.add(Call(id=call_id, app_id=app_id, room_id=room.id, shopper_identity="cus_9", shopper_name="Maja",
                   customer_id="cus_9", status="ended", agent_identity="anna"))
    return call_id


def _err(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code and r.json()["error"]["message"]


def _pump_until(c: TestClient, cond: Callable[[], bool], timeout: float = 10.0) -> None:
    """Run delivery passes (the worker may run too: claims are atomic) until `cond` holds."""
    deadline = time.monotonic() + timeout
    while True:
        c.portal.call(services_of(c.app).webhooks.deliver_due_now)
        if cond():
            return
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.03)


def _create(c: TestClient, auth: httpx.BasicAuth, url: str, events: list[str]) -> dict[str, Any]:
    r = c.post("/v1/webhooks", json={"url": url, "events": events}, auth=auth)
    assert r.status_code == 201, r.text
    return r.json()


def test_endpoints_secret_shown_once_encrypted_at_rest_rotation_and_validation(client, receiver) -> None:
    app_id, auth = _tenant(client, "Shop A")
    _err(client.get("/v1/webhooks"), 401, "unauthorized")
    for bad in ({"url": "ftp://x.example/h"}, {"url": "not a url"}, {"url": "https://user:pw@x.example/h"},
                {"url": "https://x.example:99999/"}, {"events": []}, {"events": ["call.exploded"]}, {"secret": "mine"}):
        body = {"url": "https://x.example/h", "events": ["*"], **bad}
        _err(client.post("/v1/webhooks", json=body, auth=auth), 422, "validation_error")
    assert _create(client, auth, "https://x.example/h", ["call.ended", "*"])["events"] == ["*"]
    created = _create(client, auth, receiver.url, ["call.queued", "call.ended", "call.queued"])
    secret = created["secret"]
    assert secret.startswith("whsec_") and created["id"].startswith("wh_")
    assert created["events"] == ["call.queued", "call.ended"] and created["url"] == receiver.url
    listed = client.get("/v1/webhooks", auth=auth).json()
    assert [e["id"] for e in listed][-1] == created["id"] and all("secret" not in e for e in listed)
    assert secret not in client.get("/v1/webhooks", auth=auth).text
    with services_of(client.app).db.session() as s:
        row = s.get(WebhookEndpoint, created["id"])
        assert all(secret not in str(getattr(row, col.key)) for col in WebhookEndpoint.__table__.columns)
        assert all(secret not in str(a.details) for a in s.scalars(select(AuditEntry)))
    # rotation: the old secret stops verifying at once, the new one works (signatures are made at send time)
    rotated = client.post(f"/v1/webhooks/{created['id']}/rotate-secret", auth=auth).json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != secret
    receiver.secret = secret
    d: WebhookDispatcher = services_of(client.app).webhooks
    d.schedule = (0.2,) * 10  # stays pending while the receiver learns the new secret
    event_id = client.portal.call(d.emit, app_id, "call.queued", {"call_id": "cl_1"})
    _pump_until(client, lambda: len(receiver.rejected()) == 1)
    assert "signature mismatch" in receiver.rejected()[0]
    receiver.secret = rotated["secret"]
    _pump_until(client, lambda: receiver.accepted() == {event_id: 1})
    # delete: gone from the list, a second delete is 404; each change is audited
    assert client.delete(f"/v1/webhooks/{created['id']}", auth=auth).status_code == 204
    _err(client.delete(f"/v1/webhooks/{created['id']}", auth=auth), 404, "webhook_not_found")
    _err(client.post(f"/v1/webhooks/{created['id']}/rotate-secret", auth=auth), 404, "webhook_not_found")
    assert created["id"] not in client.get("/v1/webhooks", auth=auth).text
    with services_of(client.app).db.session() as s:
        actions = [a.action for a in s.scalars(select(AuditEntry).where(AuditEntry.app_id == app_id)
                                               .order_by(AuditEntry.id))]
    assert actions == ["webhook.created", "webhook.created", "webhook.secret_rotated", "webhook.deleted"]


def test_tenants_cannot_see_or_touch_each_others_webhooks(client, receiver) -> None:
    a_id, a = _tenant(client, "Shop A")
    _, b = _tenant(client, "Shop B")
    ep = _create(client, a, receiver.url, ["*"])
    receiver.secret = ep["secret"]
    client.portal.call(services_of(client.app).webhooks.emit, a_id, "call.ended", {"call_id": "cl_a"})
    _pump_until(client, lambda: len(receiver.accepted()) == 1)
    (delivery,) = client.get("/v1/webhooks/deliveries", auth=a).json()
    assert client.get("/v1/webhooks", auth=b).json() == []
    assert client.get("/v1/webhooks/deliveries", auth=b).json() == []
    _err(client.delete(f"/v1/webhooks/{ep['id']}", auth=b), 404, "webhook_not_found")
    _err(client.post(f"/v1/webhooks/{ep['id']}/rotate-secret", auth=b), 404, "webhook_not_found")
    _err(client.post(f"/v1/webhooks/deliveries/{delivery['id']}/retry", auth=b), 404, "delivery_not_found")
    assert [e["id"] for e in client.get("/v1/webhooks", auth=a).json()] == [ep["id"]]


def test_conversions_link_to_calls_and_are_delivered_with_the_delivery_log(client, receiver) -> None:
    receiver.mode = "fail_first"
    a_id, a = _tenant(client, "Shop A")
    b_id, b = _tenant(client, "Shop B")
    ep = _create(client, a, receiver.url, ["conversion.recorded"])
    receiver.secret = ep["secret"]
    call_a, call_b = _call(client, a_id, "cl_a"), _call(client, b_id, "cl_b")

    r = client.post("/v1/conversions", json={"call_id": call_a, "order_id": "o-1", "amount": 129.9, "currency": "eur"},
                    auth=a)
    assert r.status_code == 201, r.text
    conv = r.json()
    assert (conv["call_id"], conv["order_id"], conv["amount"], conv["amount_cents"], conv["currency"]) == \
        (call_a, "o-1", "129.90", 12990, "EUR")
    _err(client.post("/v1/conversions", json={"call_id": call_a, "order_id": "o-1", "amount": 5, "currency": "EUR"},
                     auth=a), 409, "duplicate_order")
    _err(client.post("/v1/conversions", json={"call_id": call_a, "order_id": "o-9", "amount": 5, "currency": "EUR"},
                     auth=b), 404, "call_not_found")  # A's call, posted by B
    _err(client.post("/v1/conversions", json={"call_id": "cl_nope", "order_id": "o-9", "amount": 5, "currency": "EUR"},
                     auth=a), 404, "call_not_found")
    for bad in ({"amount": 1.234}, {"amount": -1}, {"currency": "EURO"}, {"amount": "lots"}):
        body = {"call_id": call_a, "order_id": "o-x", "amount": 10, "currency": "EUR", **bad}
        _err(client.post("/v1/conversions", json=body, auth=a), 422, "validation_error")
    r = client.post("/v1/conversions", json={"call_id": call_b, "order_id": "o-1", "amount": "7", "currency": "SEK"},
                    auth=b)
    assert r.status_code == 201 and r.json()["amount"] == "7.00"  # order ids are unique per app only
    r = client.post("/v1/conversions", json={"call_id": call_a, "order_id": "o-2", "amount": "19.99",
                                             "currency": "EUR"}, auth=a)
    assert r.status_code == 201 and r.json()["amount_cents"] == 1999

    def delivered(n: int) -> Callable[[], bool]:
        return lambda: len(client.get("/v1/webhooks/deliveries?status=delivered", auth=a).json()) == n

    # both of A's conversions arrive signed, after one 500 each, exactly once
    _pump_until(client, delivered(2))
    assert receiver.rejected() == [] and set(receiver.accepted().values()) == {1}
    got = {h.event["data"]["order_id"]: h.event for h in receiver.snapshot() if h.answered == 200 and h.event}
    assert got["o-1"]["type"] == "conversion.recorded" and got["o-1"]["app_id"] == a_id
    assert {k: got["o-1"]["data"][k] for k in ("call_id", "amount", "amount_cents", "currency", "agent")} == \
        {"call_id": call_a, "amount": "129.90", "amount_cents": 12990, "currency": "EUR", "agent": "anna"}

    log = client.get("/v1/webhooks/deliveries", auth=a).json()
    assert [x["payload"]["data"]["order_id"] for x in log] == ["o-2", "o-1"]  # newest first
    for x in log:
        assert (x["status"], x["attempts"], x["url"], x["event_type"]) == \
            ("delivered", 2, receiver.url, "conversion.recorded")
        assert [e["status_code"] for e in x["log"]] == [500, 200] and x["log"][0]["error"] == "HTTP 500"
    assert len(client.get("/v1/webhooks/deliveries?limit=1", auth=a).json()) == 1
    assert client.get("/v1/webhooks/deliveries?status=failed", auth=a).json() == []
    assert client.get("/v1/webhooks/deliveries?event_type=call.ended", auth=a).json() == []
    assert len(client.get(f"/v1/webhooks/deliveries?status=delivered&endpoint_id={ep['id']}", auth=a).json()) == 2
    _err(client.get("/v1/webhooks/deliveries?status=lost", auth=a), 422, "validation_error")
    _err(client.get("/v1/webhooks/deliveries?limit=0", auth=a), 422, "validation_error")

    # a delivery that keeps failing ends `failed`; a manual retry sends it once more with the same event id
    receiver.mode = "fail"
    client.post("/v1/conversions", json={"call_id": call_a, "order_id": "o-3", "amount": 1, "currency": "EUR"}, auth=a)
    _pump_until(client, lambda: bool(client.get("/v1/webhooks/deliveries?status=failed", auth=a).json()))
    (failed,) = client.get("/v1/webhooks/deliveries?status=failed", auth=a).json()
    assert failed["attempts"] == 3 and failed["last_status_code"] == 500 and failed["next_attempt_at"] is None
    receiver.mode = "ok"
    r = client.post(f"/v1/webhooks/deliveries/{failed['id']}/retry", auth=a)
    assert r.status_code == 202 and r.json()["status"] == "pending"
    _pump_until(client, delivered(3))
    again = client.get(f"/v1/webhooks/deliveries?endpoint_id={ep['id']}&limit=1", auth=a).json()[0]
    assert (again["id"], again["status"], again["attempts"]) == (failed["id"], "delivered", 4)
    _err(client.post(f"/v1/webhooks/deliveries/{failed['id']}/retry", auth=a), 409, "delivery_not_failed")
    _err(client.post("/v1/webhooks/deliveries/whd_nope/retry", auth=a), 404, "delivery_not_found")

    # the console shows the same log to the app's admins only
    upsert_agent(services_of(client.app).db, a_id, "anna", name="Anna", password="pw-anna", role="admin")
    upsert_agent(services_of(client.app).db, a_id, "ben", name="Ben", password="pw-ben")
    upsert_agent(services_of(client.app).db, b_id, "bea", name="Bea", password="pw-bea", role="admin")
    _err(client.get("/v1/console/webhooks/deliveries"), 401, "unauthorized")
    client.post("/v1/console/login", json={"app_id": a_id, "login": "ben", "password": "pw-ben"})
    _err(client.get("/v1/console/webhooks/deliveries"), 403, "forbidden")
    client.post("/v1/console/login", json={"app_id": a_id, "login": "anna", "password": "pw-anna"})
    console = client.get("/v1/console/webhooks/deliveries?status=delivered").json()
    assert [x["id"] for x in console] == [x["id"] for x in client.get(
        "/v1/webhooks/deliveries?status=delivered", auth=a).json()]
    assert [e["id"] for e in client.get("/v1/console/webhooks").json()] == [ep["id"]]
    assert "secret" not in client.get("/v1/console/webhooks").json()[0]
    client.post("/v1/console/login", json={"app_id": b_id, "login": "bea", "password": "pw-bea"})
    assert client.get("/v1/console/webhooks/deliveries").json() == []


def test_deleting_an_endpoint_keeps_its_log_and_drops_pending_deliveries(client, receiver) -> None:
    a_id, a = _tenant(client, "Shop A")
    ep = _create(client, a, receiver.url, ["*"])
    d: WebhookDispatcher = services_of(client.app).webhooks
    receiver.hold = True  # if a running worker sends it before the delete, the attempt is still in flight
    client.portal.call(d.emit, a_id, "participant.joined", {"identity": "x"})
    assert client.delete(f"/v1/webhooks/{ep['id']}", auth=a).status_code == 204
    (x,) = client.get("/v1/webhooks/deliveries", auth=a).json()
    assert (x["status"], x["last_error"]) == ("failed", "endpoint deleted")
    assert x["attempts"] in (0, 1)  # 1 if a running worker got to it first
    _err(client.post(f"/v1/webhooks/deliveries/{x['id']}/retry", auth=a), 409, "endpoint_deleted")
    client.portal.call(d.emit, a_id, "participant.left", {"identity": "x"})
    client.portal.call(d.deliver_due_now)
    assert len(client.get("/v1/webhooks/deliveries", auth=a).json()) == 1
    assert receiver.accepted() == {}
