// Fast liveness and continuity in the SDK: a silent server is noticed within 10 s (never sooner
// than the timeout while frames flow), server pings are answered at once, resume tokens are kept
// for the tab and used by resume(), and reconnecting participants are reported.
import assert from "node:assert/strict";
import { test } from "node:test";

import { RESUME_KEY, loadResume } from "../../src/shopcall/web/static/sdk/continuity.js";
import { inCallReconnectDelay, livenessTimeoutMs, openTimeoutMs } from "../../src/shopcall/web/static/sdk/transport.js";
import { ShopCallClient } from "../../src/shopcall/web/static/sdk/shopcall.js";
import { FakeWebSocket, WELCOME, connectedClient, details } from "./fake-server.mjs";

const FAST = { heartbeat_s: 3, liveness_timeout_s: 8 };

class MemoryStorage {
  constructor() {
    this.items = new Map();
  }
  getItem(k) {
    return this.items.has(k) ? this.items.get(k) : null;
  }
  setItem(k, v) {
    this.items.set(k, String(v));
  }
  removeItem(k) {
    this.items.delete(k);
  }
}

/** A connected client whose welcome carries `welcome` (fake timers and clock must be on already). */
async function connected(welcome, options = {}) {
  const client = new ShopCallClient({ url: "ws://test/v1/signal", qualityReportMs: 0, ...options });
  const events = [];
  const record = client.dispatchEvent.bind(client);
  client.dispatchEvent = (ev) => {
    events.push({ type: ev.type, detail: ev.detail });
    return record(ev);
  };
  const connecting = client.connect("token-1");
  const ws = FakeWebSocket.opened.at(-1);
  ws.open();
  ws.push({ type: "welcome", re: ws.last("hello").id, ...WELCOME, ...welcome });
  await connecting;
  return { client, ws, events };
}

test("the liveness timeout comes from the welcome, else 2.5 heartbeats", () => {
  assert.equal(livenessTimeoutMs(FAST), 8000);
  assert.equal(livenessTimeoutMs({ heartbeat_s: 20 }), 50000);
  assert.equal(livenessTimeoutMs(null), 50000);
});

test("hello asks the server for pings, and a server ping is answered at once", async () => {
  const { client, ws } = await connectedClient();
  assert.equal(ws.last("hello").heartbeat, true);
  assert.equal(ws.last("hello").token, "token-1");
  assert.equal(ws.last("hello").resume, undefined);
  ws.push({ type: "ping" });
  assert.equal(ws.sent.at(-1).type, "pong", "no timer involved: answered from the message handler");
  client.close();
});

test("a server gone silent is declared lost within 10 s, and not before the timeout", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: 1_000_000 });
  const { client, ws } = await connected(FAST);
  t.mock.timers.tick(3000);
  assert.equal(ws.sent.filter((m) => m.type === "ping").length, 1, "pings every heartbeat_s");
  t.mock.timers.tick(4000); // 7 s of silence
  assert.equal(client.state, "connected");
  let lostAt = null;
  for (let ms = 7000; ms <= 12000 && lostAt === null; ms += 100) {
    t.mock.timers.tick(100);
    if (client.state !== "connected") lostAt = ms + 100;
  }
  assert.ok(lostAt !== null && lostAt > 8000 && lostAt <= 9100, `declared lost after ${lostAt} ms`);
  assert.equal(client.state, "reconnecting");
  t.mock.timers.tick(1000); // past the first backoff (≤ 600 ms)
  await new Promise((r) => setImmediate(r));
  assert.notEqual(FakeWebSocket.opened.at(-1), ws, "a new socket is opened");
  client.close();
});

test("frames every heartbeat keep the socket: no false drop over a minute", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: 2_000_000 });
  const { client, ws } = await connected(FAST);
  for (let s = 0; s < 60; s += 3) {
    t.mock.timers.tick(3000);
    ws.push({ type: "ping" }); // the server's own heartbeat
  }
  assert.equal(client.state, "connected");
  assert.equal(FakeWebSocket.opened.at(-1), ws);
  assert.ok(ws.sent.filter((m) => m.type === "pong").length >= 20);
  client.close();
});

test("resume tokens are kept for the tab and forgotten when the room ends", async () => {
  const storage = new MemoryStorage();
  const { client, ws } = await connectedClient({ resumeStorage: storage });
  const exp = Math.floor(Date.now() / 1000) + 60;
  ws.push({ type: "resume_token", token: "rt-1", expires_at: exp, room: "r1", call: "c1", pid: "p1" });
  assert.deepEqual(loadResume(storage), { token: "rt-1", expires_at: exp, room: "r1", call: "c1", pid: "p1" });
  ws.push({ type: "room_ended", room: "r1", reason: "ended_by_agent" });
  assert.equal(storage.getItem(RESUME_KEY), null);
  ws.push({ type: "resume_token", token: "rt-2", expires_at: exp, room: "r1", call: "c1", pid: "p1" });
  client.close();
  assert.equal(storage.getItem(RESUME_KEY), null, "closed on purpose: nothing to resume");
});

test("an expired saved token is dropped", () => {
  const storage = new MemoryStorage();
  storage.setItem(RESUME_KEY, JSON.stringify({ token: "old", expires_at: 100, room: "r", call: null, pid: "p" }));
  assert.equal(loadResume(storage, 101_000), null);
  assert.equal(storage.getItem(RESUME_KEY), null);
});

test("resume() says hello with the saved token and no client token, and reports where we were", async () => {
  const storage = new MemoryStorage();
  const exp = Math.floor(Date.now() / 1000) + 60;
  storage.setItem(RESUME_KEY, JSON.stringify({ token: "rt-9", expires_at: exp, room: "r1", call: "c1", pid: "p1" }));
  const client = new ShopCallClient({ url: "ws://test/v1/signal", qualityReportMs: 0, resumeStorage: storage });
  const resuming = client.resume();
  const ws = FakeWebSocket.opened.at(-1);
  ws.open();
  const hello = ws.last("hello");
  assert.equal(hello.resume, "rt-9");
  assert.equal(hello.token, undefined);
  ws.push({ type: "welcome", re: hello.id, ...WELCOME, resume: { room: "r1", call: "c1", pid: "p1" } });
  const r = await resuming;
  assert.deepEqual([r.room, r.call, r.pid], ["r1", "c1", "p1"]);
  client.close();
});

test("a refused resume token is forgotten and resume() resolves null", async () => {
  const storage = new MemoryStorage();
  const exp = Math.floor(Date.now() / 1000) + 60;
  storage.setItem(RESUME_KEY, JSON.stringify({ token: "rt-x", expires_at: exp, room: "r1", call: "c1", pid: "p1" }));
  const client = new ShopCallClient({ url: "ws://test/v1/signal", qualityReportMs: 0, resumeStorage: storage });
  const resuming = client.resume();
  const ws = FakeWebSocket.opened.at(-1);
  ws.open();
  ws.push({ type: "error", re: ws.last("hello").id, code: "resume_revoked", message: "ended", fatal: true });
  ws.serverClose(4401);
  assert.equal(await resuming, null);
  assert.equal(storage.getItem(RESUME_KEY), null);
  assert.equal(client.state, "closed");
});

test("a participant who drops is reported reconnecting, then back in the same place", async () => {
  const { client, ws, events } = await connectedClient({ autoSubscribe: false });
  const join = client.join("r1");
  const bob = { pid: "p2", identity: "bob", name: "Bob", role: "shopper", publishing: true };
  ws.push({ type: "joined", re: ws.last("join").id, room: "r1", pid: "p1", participants: [bob] });
  await join;
  ws.push({ type: "participant_reconnecting", pid: "p2", participant: { ...bob, publishing: false }, grace_s: 60 });
  assert.deepEqual(details(events, "participant-reconnecting").map((d) => [d.pid, d.graceS, d.participant.reconnecting]),
    [["p2", 60, true]]);
  assert.equal(client.participants.get("p2").reconnecting, true);
  ws.push({ type: "participant_reconnected", participant: { ...bob, publishing: false } });
  assert.equal(details(events, "participant-reconnected")[0].pid, "p2");
  assert.equal(client.participants.get("p2").reconnecting, false);
  assert.deepEqual(details(events, "participant-left"), [], "never reported as gone");
  client.close();
});

test("a page frozen longer than the timeout is not taken for a dead server: the late tick looks again", async (t) => {
  // browsers run a missed interval once when a frozen page wakes up: drive the ticks by hand
  t.mock.timers.enable({ apis: ["Date"], now: 3_000_000 });
  const { client, ws } = await connected(FAST);
  const tick = (ms) => {
    t.mock.timers.tick(ms);
    client._heartbeatTick(3000, 8000);
  };
  tick(1000);
  tick(20_000); // the tab was frozen for 20 s: the first tick after it is late
  assert.equal(client.state, "connected");
  ws.push({ type: "ping" }); // what the server sent meanwhile is delivered next
  tick(1000);
  assert.equal(client.state, "connected");
  // a server that then stays silent is still caught
  for (let i = 0; i < 9; i += 1) tick(1000);
  assert.equal(client.state, "reconnecting");
  client.close();
});

test("a probe (a peer connection broke) finds a dead socket within 1 s and reconnects at once", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: 2_000_000 });
  const { client, ws } = await connected(FAST);
  client._probeSocket("publisher disconnected");
  assert.equal(ws.sent.at(-1).type, "ping", "the probe is a ping");
  t.mock.timers.tick(900);
  assert.equal(client.state, "connected", "not before the probe timeout");
  t.mock.timers.tick(200);
  assert.equal(client.state, "reconnecting", "declared dead 1 s after an unanswered probe, not after 8 s");
  client.close();
});

test("an answered probe keeps the socket", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: 3_000_000 });
  const { client, ws } = await connected(FAST);
  client._probeSocket("network change");
  t.mock.timers.tick(300);
  ws.push({ type: "pong" });
  t.mock.timers.tick(2000);
  assert.equal(client.state, "connected");
  assert.equal(FakeWebSocket.opened.at(-1), ws);
  client.close();
});

test("a socket that does not open in time is given up and another tried (no kernel SYN back-off)", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: 4_000_000 });
  const client = new ShopCallClient({ url: "ws://test/v1/signal", qualityReportMs: 0 });
  const connecting = client.connect("token-1");
  const ws = FakeWebSocket.opened.at(-1);
  t.mock.timers.tick(10100);
  await assert.rejects(connecting, (err) => err.code === "connect_failed");
  assert.equal(ws.onopen, null, "the stuck socket is abandoned");
  client.close();
});

test("after a reconnect in a call the SDK asks for its kept media and keeps its peer connections", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: 5_000_000 });
  const { client, ws } = await connected(FAST);
  // in a room with one live subscription (no real RTCPeerConnection in node: a stand-in object)
  client.room = "rm_1";
  client.pid = "p_me";
  const closed = [];
  const pc = { close: () => closed.push("sub"), connectionState: "connected" };
  client.subscriptions.set("p_agent", { pid: "p_agent", sid: "s1", pc, stream: { getTracks: () => [] }, cancelled: false });
  client.subscriptions.set("p_gone", { pid: "p_gone", sid: "s2", pc: { close: () => closed.push("gone") }, stream: { getTracks: () => [] }, cancelled: false });
  ws.serverClose(1006);
  assert.equal(client.state, "reconnecting");
  t.mock.timers.tick(700);
  await new Promise((r) => setImmediate(r));
  const ws2 = FakeWebSocket.opened.at(-1);
  assert.notEqual(ws2, ws);
  ws2.open();
  ws2.push({ type: "welcome", re: ws2.last("hello").id, ...WELCOME, ...FAST });
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  const join = ws2.last("join");
  assert.deepEqual([join.room, join.keep_media], ["rm_1", true]);
  ws2.push({ type: "joined", re: join.id, room: "rm_1", pid: "p_me", resumed: true, media_kept: true, kind: "call",
    participants: [{ pid: "p_agent", identity: "anna", publishing: true }] });
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  assert.equal(client.subscriptions.get("p_agent").pc, pc, "the live subscription is kept");
  assert.deepEqual(closed, ["gone"], "only the subscription to a feed that stopped is dropped");
  assert.ok(!ws2.sent.some((m) => m.type === "subscribe" || m.type === "publish"), "nothing renegotiated");
  client.close();
});

test("in a call, reconnect attempts come quickly at first, and each attempt's open timeout doubles", () => {
  for (let a = 0; a < 4; a++) {
    assert.ok(inCallReconnectDelay(a, () => 0) >= 200 && inCallReconnectDelay(a, () => 1) <= 400);
  }
  assert.ok(inCallReconnectDelay(20, () => 1) <= 2401, "then capped at 2 s (+20 % jitter)");
  assert.deepEqual([0, 1, 2, 3, 9].map(openTimeoutMs), [1500, 3000, 6000, 12000, 12000]);
});
