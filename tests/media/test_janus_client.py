"""JanusClient against a scripted Janus on loopback (tests/media/fake_janus.py): transactions,
ack-then-event plugin requests, errors, timeouts, event routing, keepalives and a lost socket."""

from __future__ import annotations

import asyncio

import pytest

from shopcall.media.backend import MediaError
from shopcall.media.janus_client import JanusClient, JanusError, JanusHandle, JanusSession, PluginReply
from tests.media.fake_janus import FakeJanus, Msg, plugin_event


class Seen:
    """An on_event callback that records (handle id, Janus message) pairs and lets a test wait for them."""

    def __init__(self) -> None:
        self.items: list[tuple[int, Msg]] = []
        self._new = asyncio.Event()

    async def __call__(self, handle: JanusHandle, msg: Msg) -> None:
        self.items.append((handle.id, msg))
        self._new.set()

    async def wait(self, count: int = 1, timeout: float = 2.0) -> list[tuple[int, Msg]]:
        async def enough() -> None:
            while len(self.items) < count:
                self._new.clear()
                await self._new.wait()

        await asyncio.wait_for(enough(), timeout)
        return self.items


async def test_connects_with_the_janus_subprotocol(janus: FakeJanus, client: JanusClient) -> None:
    assert client.connected
    await client.create_session()
    assert janus.subprotocols == ["janus-protocol"]


async def test_each_request_gets_the_answer_with_its_transaction(janus: FakeJanus, client: JanusClient) -> None:
    """Answers arrive in the opposite order of the requests; each still reaches its own caller."""
    held: list[Msg] = []

    async def hold(fake: FakeJanus, msg: Msg) -> None:
        held.append(msg)
        if len(held) == 2:
            for m, sid in zip(reversed(held), (22, 11), strict=True):
                await fake.send({"janus": "success", "transaction": m["transaction"], "data": {"id": sid}})

    janus.script["create"] = hold
    first, second = await asyncio.gather(client.create_session(), client.create_session())
    assert (first.id, second.id) == (11, 22)
    assert client.sessions == {11: first, 22: second}
    sent = [m["transaction"] for m in janus.received]
    assert len(set(sent)) == 2 and all(isinstance(t, str) and t for t in sent)
    assert client._pending == {}


async def test_plugin_message_waits_past_the_ack_for_its_event(janus: FakeJanus, client: JanusClient) -> None:
    release = asyncio.Event()

    async def ack_then_event(fake: FakeJanus, msg: Msg) -> None:
        await fake.send({"janus": "ack", "transaction": msg["transaction"], "session_id": msg["session_id"]})
        await release.wait()
        jsep = {"type": "answer", "sdp": "v=0\r\n"}
        await fake.send(plugin_event(msg, {"videoroom": "event", "configured": "ok"}, jsep))

    janus.script["message"] = ack_then_event
    handle = await (await client.create_session()).attach()
    reply = asyncio.create_task(handle.message({"request": "configure"}, {"type": "offer", "sdp": "v=0\r\n"}))
    (sent,) = await janus.wait_for("message")
    await asyncio.sleep(0.1)
    assert not reply.done()  # the ack alone is not the answer
    release.set()
    assert await reply == PluginReply({"videoroom": "event", "configured": "ok"}, {"type": "answer", "sdp": "v=0\r\n"})
    assert sent["body"] == {"request": "configure"} and sent["jsep"]["type"] == "offer"
    assert (sent["session_id"], sent["handle_id"]) == (handle.session.id, handle.id)


async def test_an_ack_answers_trickle_and_keepalive(janus: FakeJanus, client: JanusClient) -> None:
    session = await client.create_session()
    handle = await session.attach()
    await handle.trickle({"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0"})
    await handle.trickle(None)
    trickles = await janus.wait_for("trickle", 2)
    assert trickles[1]["candidate"] == {"completed": True}
    assert (await client.request({"janus": "keepalive", "session_id": session.id}))["janus"] == "ack"


async def test_a_synchronous_plugin_answer_is_a_success(janus: FakeJanus, client: JanusClient) -> None:
    async def success(fake: FakeJanus, msg: Msg) -> None:
        event = plugin_event(msg, {"videoroom": "success", "exists": True})
        await fake.send({**event, "janus": "success"})

    janus.script["message"] = success
    handle = await (await client.create_session()).attach()
    assert (await handle.message({"request": "exists", "room": 1})).data == {"videoroom": "success", "exists": True}


async def test_janus_errors_raise_janus_error_with_code_and_reason(janus: FakeJanus, client: JanusClient) -> None:
    session = await client.create_session()

    async def no_such_plugin(fake: FakeJanus, msg: Msg) -> None:
        await fake.send({"janus": "error", "transaction": msg["transaction"], "session_id": msg["session_id"],
                         "error": {"code": 460, "reason": "No such plugin 'janus.plugin.nope'"}})

    janus.script["attach"] = no_such_plugin
    with pytest.raises(JanusError) as core:
        await session.attach("janus.plugin.nope")
    assert core.value.janus_code == 460 and "No such plugin" in str(core.value) and "attach" in str(core.value)
    assert isinstance(core.value, MediaError) and core.value.code == "media_unavailable"
    assert session.handles == {}

    del janus.script["attach"]
    handle = await session.attach()

    async def no_such_room(fake: FakeJanus, msg: Msg) -> None:
        await fake.send({"janus": "ack", "transaction": msg["transaction"], "session_id": msg["session_id"]})
        await fake.send(plugin_event(msg, {"videoroom": "event", "error_code": 426, "error": "No such room (9)"}))

    janus.script["message"] = no_such_room
    with pytest.raises(JanusError) as plugin:
        await handle.message({"request": "join", "room": 9})
    assert plugin.value.janus_code == 426 and "No such room (9)" in str(plugin.value) and "'join'" in str(plugin.value)
    assert client._pending == {}


async def test_an_unanswered_request_times_out_and_its_late_answer_is_dropped(
    janus: FakeJanus, client: JanusClient
) -> None:
    seen = Seen()
    handle = await (await client.create_session()).attach(on_event=seen)
    late: list[Msg] = []

    async def never(fake: FakeJanus, msg: Msg) -> None:
        late.append(msg)

    janus.script["hangup"] = never
    with pytest.raises(MediaError, match=r"did not answer hangup within 0.2 s") as e:
        await client.request({"janus": "hangup", "session_id": handle.session.id, "handle_id": handle.id},
                             timeout=0.2)
    assert not isinstance(e.value, JanusError)
    assert client._pending == {}
    await janus.send({"janus": "success", "transaction": late[0]["transaction"], "session_id": handle.session.id,
                      "sender": handle.id})
    # the client stays usable, and the stray answer reached no handle
    assert (await client.request({"janus": "keepalive", "session_id": handle.session.id}))["janus"] == "ack"
    assert seen.items == []


async def test_default_request_timeout(janus: FakeJanus) -> None:
    async def never(fake: FakeJanus, msg: Msg) -> None:
        return None

    janus.script["create"] = never
    c = JanusClient(janus.url, request_timeout=0.2)
    await c.connect()
    try:
        with pytest.raises(MediaError, match="did not answer create"):
            await c.create_session()
        assert c.sessions == {} and c.connected
    finally:
        await c.close()


async def test_events_reach_the_handle_they_name(janus: FakeJanus, client: JanusClient) -> None:
    s1, s2 = await client.create_session(), await client.create_session()
    a, b = Seen(), Seen()
    ha = await s1.attach(on_event=a)
    hb = await s2.attach(on_event=b)
    hb2 = await s2.attach()  # no callback: its events are dropped quietly
    await janus.push({"janus": "webrtcup", "session_id": s2.id, "sender": hb.id})
    await janus.push({"janus": "media", "session_id": s1.id, "sender": ha.id, "type": "video", "receiving": True})
    await janus.push({"janus": "slowlink", "session_id": s2.id, "sender": hb2.id, "uplink": True})
    await janus.push({"janus": "event", "session_id": s1.id, "sender": 424242, "plugindata": {}})  # unknown handle
    await janus.push({"janus": "event", "session_id": 999, "sender": ha.id, "plugindata": {}})  # unknown session
    await janus.send_raw("{not json")  # logged and skipped; the reader goes on
    await janus.push({"janus": "hangup", "session_id": s1.id, "sender": ha.id, "reason": "DTLS alert"})
    assert [(h, m["janus"]) for h, m in await a.wait(2)] == [(ha.id, "media"), (ha.id, "hangup")]
    assert [(h, m["janus"]) for h, m in await b.wait(1)] == [(hb.id, "webrtcup")]
    await asyncio.sleep(0.1)
    assert len(a.items) == 2 and len(b.items) == 1


async def test_a_detached_event_forgets_the_handle(janus: FakeJanus, client: JanusClient) -> None:
    session = await client.create_session()
    seen = Seen()
    handle = await session.attach(on_event=seen)
    await janus.push({"janus": "detached", "session_id": session.id, "sender": handle.id})
    await seen.wait()
    assert handle.detached and handle.id not in session.handles
    await handle.detach()  # already gone: nothing is sent
    assert [m for m in janus.received if m["janus"] == "detach"] == []


async def test_a_session_timeout_is_reported_once_and_forgotten(janus: FakeJanus, client: JanusClient) -> None:
    session = await client.create_session()
    timed_out: asyncio.Queue[JanusSession] = asyncio.Queue()

    async def on_timeout(s: JanusSession) -> None:
        await timed_out.put(s)

    session.on_timeout = on_timeout
    await janus.push({"janus": "timeout", "session_id": session.id})
    assert await asyncio.wait_for(timed_out.get(), 2) is session
    assert session.destroyed and session.id not in client.sessions
    await session.destroy()  # Janus already dropped it: nothing is sent
    assert [m for m in janus.received if m["janus"] == "destroy"] == []


async def test_keepalives_flow_while_the_session_lives(janus: FakeJanus) -> None:
    c = JanusClient(janus.url, keepalive_s=0.05)
    await c.connect()
    try:
        session = await c.create_session()
        keepalives = await janus.wait_for("keepalive", 3, timeout=2)
        assert {m["session_id"] for m in keepalives} == {session.id}
        await session.destroy()
        (destroy,) = await janus.wait_for("destroy")
        assert destroy["session_id"] == session.id
        count = len([m for m in janus.received if m["janus"] == "keepalive"])
        await asyncio.sleep(0.2)
        assert len([m for m in janus.received if m["janus"] == "keepalive"]) == count  # stopped with the session
    finally:
        await c.close()


async def test_destroy_and_detach_tell_janus_once(janus: FakeJanus, client: JanusClient) -> None:
    session = await client.create_session()
    h1, h2 = await session.attach(), await session.attach()
    await h1.detach()
    await h1.detach()
    await session.destroy()
    await session.destroy()
    assert h2.detached and session.handles == {} and client.sessions == {}
    kinds = [(m["janus"], m.get("handle_id")) for m in janus.received if m["janus"] in ("detach", "destroy")]
    assert kinds == [("detach", h1.id), ("destroy", None)]


async def test_a_dropped_socket_fails_pending_requests_and_reports_the_loss(
    janus: FakeJanus, client: JanusClient
) -> None:
    lost: asyncio.Queue[JanusClient] = asyncio.Queue()

    async def on_disconnect(c: JanusClient) -> None:
        await lost.put(c)

    client.on_disconnect(on_disconnect)
    session = await client.create_session()
    handle = await session.attach()

    async def drop(fake: FakeJanus, msg: Msg) -> None:
        await fake.send({"janus": "ack", "transaction": msg["transaction"], "session_id": msg["session_id"]})
        await fake.drop()

    janus.script["message"] = drop
    with pytest.raises(MediaError, match=r"Janus connection lost \(while waiting for message 'publish'\)"):
        await handle.message({"request": "publish"})
    assert await asyncio.wait_for(lost.get(), 2) is client
    assert not client.connected and client._pending == {}
    assert session._keepalive is None  # no keepalives on a dead socket
    with pytest.raises(MediaError, match="not connected"):
        await session.attach()
    await asyncio.sleep(0.1)
    assert lost.empty()  # reported once


async def test_every_pending_request_fails_when_the_socket_drops(janus: FakeJanus, client: JanusClient) -> None:
    session = await client.create_session()

    async def never(fake: FakeJanus, msg: Msg) -> None:
        return None

    janus.script["attach"] = never
    attaches = [asyncio.create_task(session.attach()) for _ in range(3)]
    await janus.wait_for("attach", 3)
    await janus.drop()
    results = await asyncio.wait_for(asyncio.gather(*attaches, return_exceptions=True), 2)
    assert all(isinstance(r, MediaError) and "connection lost" in str(r) for r in results), results


async def test_close_fails_pending_requests_without_reporting_a_loss(janus: FakeJanus) -> None:
    c = JanusClient(janus.url)
    await c.connect()
    lost: list[JanusClient] = []

    async def on_disconnect(client: JanusClient) -> None:
        lost.append(client)

    c.on_disconnect(on_disconnect)

    async def never(fake: FakeJanus, msg: Msg) -> None:
        return None

    janus.script["create"] = never
    pending = asyncio.create_task(c.create_session())
    await janus.wait_for("create")
    await c.close()
    with pytest.raises(MediaError, match="closed"):
        await pending
    await asyncio.sleep(0.1)
    assert lost == [] and not c.connected


async def test_reconnecting_after_a_loss(janus: FakeJanus, client: JanusClient) -> None:
    await janus.drop()
    while client.connected:
        await asyncio.sleep(0.01)
    await client.connect()
    session = await client.create_session()
    assert client.connected and session.id in client.sessions
    assert janus.subprotocols == ["janus-protocol", "janus-protocol"]


async def test_unreachable_janus_is_a_media_error() -> None:
    c = JanusClient("ws://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(MediaError, match="cannot connect to Janus"):
        await c.connect(timeout=1)
    assert not c.connected
    with pytest.raises(MediaError, match="not connected"):
        await c.request({"janus": "info"})

