// Reconnect policy: which close codes end the session and which are recovered from.
import assert from "node:assert/strict";
import { test } from "node:test";

import { FINAL_CLOSE_CODES, closePolicy, reconnectDelay } from "../../src/shopcall/web/static/sdk/transport.js";
import { FakeWebSocket, WELCOME, connectedClient, details } from "./fake-server.mjs";

const POLICY = [
  [1000, "final", "normal close"],
  [4000, "final", "room ended"],
  [4003, "final", "removed by the host"],
  [4401, "final", "token refused"],
  [4409, "final", "replaced by a newer connection of the same participant"],
  [4408, "reconnect", "idle timeout"],
  [4429, "reconnect", "the server's outbound queue for this client overflowed"],
  [1009, "reconnect", "message too big"],
  [1006, "reconnect", "network drop"],
  [1001, "reconnect", "server going away"],
  [1011, "reconnect", "server error"],
  [4002, "reconnect", "heartbeat lost (set by the SDK)"],
];

for (const [code, action, why] of POLICY) {
  test(`close ${code} (${why}) → ${action}`, () => {
    assert.equal(closePolicy(code), action);
  });
}

test("the final codes are exactly the documented ones", () => {
  assert.deepEqual([...FINAL_CLOSE_CODES].sort(), [1000, 4000, 4003, 4401, 4409]);
});

test("backoff doubles from 0.5 s up to 8 s, with ±20 % jitter", () => {
  const mid = () => 0.5;
  assert.deepEqual([0, 1, 2, 3, 4, 5, 9].map((a) => reconnectDelay(a, mid)), [500, 1000, 2000, 4000, 8000, 8000, 8000]);
  assert.equal(reconnectDelay(0, () => 0), 400);
  assert.equal(Math.round(reconnectDelay(4, () => 1)), 9600);
});

for (const [code, action] of POLICY.filter(([c]) => c !== 4002)) {
  test(`a connected client closed with ${code} is ${action === "final" ? "closed" : "reconnecting"}`, async () => {
    const { client, ws, events } = await connectedClient();
    ws.serverClose(code);
    assert.equal(client.state, action === "final" ? "closed" : "reconnecting");
    assert.deepEqual(details(events, "connection-state").at(-1).previous, "connected");
    client.close();
  });
}

test("after a drop the client says hello again and rejoins its room", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  const { client, ws, events } = await connectedClient({ autoSubscribe: false });
  const join = client.join("r1");
  ws.push({ type: "joined", re: ws.last("join").id, room: "r1", pid: "p1", participants: [] });
  await join;
  ws.serverClose(4429);
  t.mock.timers.tick(1000); // past the first backoff (≤ 600 ms)
  await new Promise((r) => setImmediate(r));
  const ws2 = FakeWebSocket.opened.at(-1);
  assert.notEqual(ws2, ws);
  ws2.open();
  ws2.push({ type: "welcome", re: ws2.last("hello").id, ...WELCOME });
  await new Promise((r) => setImmediate(r));
  ws2.push({ type: "joined", re: ws2.last("join").id, room: "r1", pid: "p9", participants: [] });
  await new Promise((r) => setImmediate(r));
  assert.equal(client.state, "connected");
  assert.equal(client.pid, "p9");
  assert.equal(details(events, "reconnected").length, 1);
  client.close();
});

test("the `removed` message makes the following close final even with another code", async () => {
  const { client, ws, events } = await connectedClient();
  ws.push({ type: "removed", room: "r1", by: "anna" });
  ws.serverClose(1006);
  assert.equal(client.state, "closed");
  assert.deepEqual(details(events, "removed"), [{ room: "r1", by: "anna" }]);
});

test("a 4401 during hello rejects connect with a fatal token_invalid", async () => {
  const { ShopCallClient } = await import("../../src/shopcall/web/static/sdk/shopcall.js");
  const client = new ShopCallClient({ url: "ws://test/v1/signal" });
  const connecting = client.connect("bad");
  const ws = FakeWebSocket.opened.at(-1);
  ws.open();
  ws.serverClose(4401);
  await assert.rejects(connecting, { code: "token_invalid", fatal: true });
  assert.equal(client.state, "closed");
});

test("after a server restart (1012) a waiting shopper resumes their call and its answer arrives", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  const { client, ws, events } = await connectedClient({ autoSubscribe: false });
  const started = client.startCall({ page: "https://shop.example/p" });
  ws.push({ type: "call_created", re: ws.last("call").id, call: "c1", room: "r1", position: 2, estimated_wait_s: 40 });
  const { answered } = await started;
  ws.serverClose(1012);
  t.mock.timers.tick(1000);
  await new Promise((r) => setImmediate(r));
  const ws2 = FakeWebSocket.opened.at(-1);
  ws2.open();
  ws2.push({ type: "welcome", re: ws2.last("hello").id, ...WELCOME });
  await new Promise((r) => setImmediate(r));
  const resume = ws2.last("resume_call");
  assert.equal(resume.call, "c1");
  ws2.push({ type: "call_resumed", re: resume.id, call: "c1", room: "r1", answered: { identity: "anna", name: "Anna" } });
  assert.deepEqual(await answered, { call: "c1", room: "r1", agent: { identity: "anna", name: "Anna" } });
  assert.equal(details(events, "call-answered").length, 1);
  client.close();
});

test("a socket the page blocks before it opens (CSP connect-src: CLOSED at once, no close event) → connect_failed", async () => {
  const { ShopCallClient } = await import("../../src/shopcall/web/static/sdk/shopcall.js");
  class BlockedWebSocket extends FakeWebSocket {
    constructor(url) {
      super(url);
      this.readyState = FakeWebSocket.CLOSED; // Chromium: an error event follows, never a close event
    }
  }
  const saved = globalThis.WebSocket;
  globalThis.WebSocket = BlockedWebSocket;
  try {
    const client = new ShopCallClient({ url: "ws://blocked.test/v1/signal" });
    await assert.rejects(client.connect("token"), (err) => err.code === "connect_failed");
    assert.equal(client.state, "closed");
  } finally {
    globalThis.WebSocket = saved;
  }
});
