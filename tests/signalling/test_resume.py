"""A queued shopper whose connection drops keeps their place for a while and takes it up with
`resume_call` on a new connection; one who closed the page abandons the call at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopcall.api.deps import services_of
from shopcall.db.models import Call
from tests.signalling.server import LiveServer, RawClient, start_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    srv, uv, thread = start_server(tmp_path)
    yield srv
    uv.should_exit = True
    thread.join(15)


def shopper(srv: LiveServer, app_id: str, identity: str) -> RawClient:
    c = RawClient(srv.url, rcvbuf=65536)
    assert c.request({"type": "hello", "token": srv.token(app_id, identity)}, "welcome")["type"] == "welcome"
    return c


def status(srv: LiveServer, call_id: str) -> str:
    with services_of(srv.app).db.session() as s:
        row = s.get(Call, call_id)
        assert row is not None
        return row.status


def test_a_dropped_shopper_resumes_their_place(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    app_id = server.tenant("Shop")
    ann, ben = shopper(server, app_id, "ann"), shopper(server, app_id, "ben")
    first = ann.request({"type": "call", "context": {}}, "call_created")
    second = ben.request({"type": "call", "context": {}}, "call_created")
    assert (first["position"], second["position"]) == (1, 2)
    ann.close()  # the network drops: no close frame
    time.sleep(0.5)
    assert status(server, first["call"]) == "ringing"
    ann = shopper(server, app_id, "ann")
    resumed = ann.request({"type": "resume_call", "call": first["call"]}, "call_resumed")
    assert (resumed["room"], resumed["position"]) == (first["room"], 1)
    # someone else cannot take it up
    eve = shopper(server, app_id, "eve")
    assert eve.request({"type": "resume_call", "call": first["call"]}, "call_resumed")["code"] == "call_not_found"
    # not back in time: abandoned, and the desk forgets it
    monkeypatch.setattr(services_of(server.app).live.desk, "grace_s", 0.5)  # type: ignore[attr-defined]
    ann.close()
    deadline = time.monotonic() + 5
    while status(server, first["call"]) == "ringing" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status(server, first["call"]) == "abandoned"
    assert ben.request({"type": "ping"}, "pong")["type"] == "pong"
    for c in (ben, eve):
        c.close()
