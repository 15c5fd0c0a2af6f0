// Server messages: replies settle their request, everything else goes through the message table.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";

import { MESSAGES } from "../../src/shopcall/web/static/sdk/client.js";
import { ShopCallError } from "../../src/shopcall/web/static/sdk/errors.js";
import { dispatch, emit, mergeTables } from "../../src/shopcall/web/static/sdk/messages.js";
import { connectedClient, details } from "./fake-server.mjs";

let open = [];
async function client(options) {
  const c = await connectedClient(options);
  open.push(c.client);
  return c;
}
afterEach(() => {
  for (const c of open) c.close();
  open = [];
});

test("dispatch: a forward emits the message or its transform; a handler gets client and message", () => {
  const emitted = [];
  const handled = [];
  const fake = { _emit: (type, detail) => emitted.push([type, detail]), _log() {} };
  const table = mergeTables(
    { a: emit("event-a"), b: emit("event-b", (m) => ({ n: m.n * 2 })) },
    { c: (cl, m) => handled.push([cl, m]) },
  );
  assert.equal(dispatch(table, fake, { type: "a", x: 1 }), true);
  dispatch(table, fake, { type: "b", n: 2 });
  dispatch(table, fake, { type: "c" });
  assert.deepEqual(emitted, [["event-a", { type: "a", x: 1 }], ["event-b", { n: 4 }]]);
  assert.deepEqual(handled, [[fake, { type: "c" }]]);
});

test("dispatch: unknown types, including Object.prototype names, are logged and ignored", () => {
  const logged = [];
  const fake = { _emit: () => assert.fail("nothing to emit"), _log: (...a) => logged.push(a) };
  assert.equal(dispatch(MESSAGES, fake, { type: "brand_new_feature" }), false);
  assert.equal(dispatch(MESSAGES, fake, { type: "constructor" }), false);
  assert.equal(dispatch(MESSAGES, fake, { type: "__proto__" }), false);
  assert.equal(logged.length, 3);
  assert.equal(logged[0][1], "brand_new_feature");
});

test("mergeTables refuses a type claimed by two features", () => {
  assert.throws(() => mergeTables({ chat: emit("chat") }, { chat: emit("chat2") }), /chat handled twice/);
});

test("the table covers every server event the SDK handled before the split", () => {
  const expected = `pong error participant_joined participant_left participant_updated track_published
    track_unpublished room_ended media_reset media_state offer token_expiring incoming_call queue_update
    call_unanswered call_transferred participant_quality layer_changed audio_redundancy playout_target
    recording_state recording_consent_request recording_consent agent_invite invite_declined invite_accepted
    force_mute removed spotlight agent_changed call_invitation call_cancelled call_taken call_answered chat
    product_card card_action annotation ping resume_token participant_reconnecting participant_reconnected
    participant_path`.split(/\s+/);
  assert.deepEqual(Object.keys(MESSAGES).sort(), expected.sort());
});

test("an error with `re` rejects the matching request only, with its code and fatality", async () => {
  const { client: c, ws, events } = await client();
  const chat = c.request({ type: "chat", text: "hi" });
  const card = c.request({ type: "product_card", sku: "x" });
  ws.push({ type: "error", re: ws.last("product_card").id, code: "product_not_found", message: "No such product" });
  await assert.rejects(card, (err) => err instanceof ShopCallError && err.code === "product_not_found" && !err.fatal && err.re === ws.last("product_card").id);
  ws.push({ type: "chat_sent", re: ws.last("chat").id, message: { id: "m1", text: "hi" } });
  assert.equal((await chat).message.id, "m1");
  assert.deepEqual(details(events, "error"), [], "a request's error is not also an error event");
  assert.equal(c._fatal, false);
});

test("a fatal error reply marks the client fatal, so the close that follows is final", async () => {
  const { client: c, ws } = await client();
  const req = c.request({ type: "join", room: "r1" });
  ws.push({ type: "error", re: ws.last("join").id, code: "token_expired", fatal: true });
  await assert.rejects(req, { code: "token_expired", fatal: true });
  ws.serverClose(1011);
  assert.equal(c.state, "closed");
});

test("an error without a pending request is an `error` event; late replies are dropped", async () => {
  const { client: c, ws, events } = await client();
  ws.push({ type: "error", code: "internal", message: "boom" });
  ws.push({ type: "error", re: "c999", code: "timeout" });
  ws.push({ type: "chat_sent", re: "c998" });
  const errs = details(events, "error");
  assert.deepEqual(errs.map((e) => [e.error.code, e.fatal, e.action]), [["internal", false, null], ["timeout", false, null]]);
  assert.equal(errs[0].error.message, "boom");
  assert.equal(c.state, "connected");
});

test("forwarded events carry the documented detail", async () => {
  const { ws, events } = await client();
  ws.push({ type: "queue_update", call: "k1", position: 2, estimated_wait_s: 40 });
  ws.push({ type: "chat", message: { id: "m1", text: "hello" } });
  ws.push({ type: "incoming_call", call: "k2", room: "r2", shopper: { identity: "s", name: "S" } });
  ws.push({ type: "layer_changed", pid: "p1", substream: 1, reason: "down", extra: true });
  assert.deepEqual(details(events, "queue-update"), [{ call: "k1", position: 2, estimatedWaitS: 40 }]);
  assert.deepEqual(details(events, "chat"), [{ message: { id: "m1", text: "hello" } }]);
  assert.equal(details(events, "incoming-call")[0].shopper.name, "S");
  assert.deepEqual(details(events, "layer-changed"), [{ pid: "p1", substream: 1, reason: "down" }]);
});

test("an unknown server message changes nothing and raises nothing", async () => {
  const { client: c, ws, events } = await client();
  const before = events.length;
  ws.push({ type: "something_from_a_newer_server", x: 1 });
  assert.deepEqual(events.slice(before).map((e) => e.type), ["message"]);
  assert.equal(c.state, "connected");
});

test("participants: joined, updated (merged) and left keep the list and emit events", async () => {
  const { client: c, ws, events } = await client({ autoSubscribe: false });
  const join = c.join("r1");
  ws.push({ type: "joined", re: ws.last("join").id, room: "r1", pid: "me", participants: [] });
  await join;
  ws.push({ type: "participant_joined", participant: { pid: "p2", name: "Bob", publishing: false, audio_muted: false } });
  ws.push({ type: "participant_updated", participant: { pid: "p2", audio_muted: true } });
  assert.deepEqual(c.participants.get("p2"), { pid: "p2", name: "Bob", publishing: false, audio_muted: true });
  ws.push({ type: "participant_updated", participant: { pid: "me", audio_muted: true } });
  assert.equal(details(events, "participant-updated").at(-1).self, true);
  ws.push({ type: "participant_left", pid: "p2" });
  assert.equal(c.participants.size, 0);
  assert.deepEqual(details(events, "participant-left"), [{ pid: "p2", reason: "left", participant: { pid: "p2", name: "Bob", publishing: false, audio_muted: true } }]);
});

test("room_ended drops the room, also when it arrives as the reply to end_room", async () => {
  const { client: c, ws, events } = await client();
  const join = c.join("r1");
  ws.push({ type: "joined", re: ws.last("join").id, room: "r1", pid: "me", participants: [] });
  await join;
  const ending = c.endRoom();
  ws.push({ type: "room_ended", re: ws.last("end_room").id, room: "r1", reason: "ended_by_agent" });
  await ending;
  assert.equal(c.room, null);
  assert.deepEqual(details(events, "room-ended"), [{ room: "r1", reason: "ended_by_agent" }]);
});

test("call_answered resolves the shopper's waiter; call_unanswered rejects it with no_agent", async () => {
  const { client: c, ws, events } = await client();
  const answered = c.waitForAnswer("k1");
  const unanswered = c.waitForAnswer("k2");
  ws.push({ type: "call_answered", call: "k1", agent: { identity: "anna", name: "Anna" }, room: "r1" });
  ws.push({ type: "call_unanswered", call: "k2", message: "Nobody is free" });
  assert.deepEqual(await answered, { call: "k1", agent: { identity: "anna", name: "Anna" }, room: "r1" });
  await assert.rejects(unanswered, { code: "no_agent", message: "Nobody is free" });
  assert.equal(details(events, "call-answered").length, 1);
});

test("state-changing events: spotlight, recording_state, audio_redundancy", async () => {
  const { client: c, ws, events } = await client();
  ws.push({ type: "spotlight", pid: "p2" });
  ws.push({ type: "recording_state", active: true, recording: "rec1", by: "anna" });
  ws.push({ type: "audio_redundancy", distance: 3 });
  assert.equal(c.spotlight, "p2");
  assert.deepEqual(c.recording, { id: "rec1", by: "anna" });
  assert.equal(c.audioRedundancyDistance, 3);
  assert.deepEqual(details(events, "audio-redundancy"), [{ distance: 3, active: false }]);
  ws.push({ type: "spotlight" });
  ws.push({ type: "recording_state", active: false });
  assert.equal(c.spotlight, null);
  assert.equal(c.recording, null);
});

test("force_mute mutes locally and tells the room", async () => {
  const { client: c, ws, events } = await client();
  ws.push({ type: "force_mute", audio: true, by: "anna" });
  assert.deepEqual(c.muted, { audio: true, video: false });
  assert.deepEqual(details(events, "force-muted"), [{ audio: true, by: "anna" }]);
});

test("token_expiring asks the token provider and sends refresh", async () => {
  const { ws, events } = await client({ tokenProvider: async () => "token-2" });
  ws.push({ type: "token_expiring", expires_at: 123 });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(details(events, "token-expiring"), [{ expires_at: 123 }]);
  assert.equal(ws.last("refresh").token, "token-2");
});

test("track_published/unpublished for a screen mark its owner as sharing", async () => {
  const { client: c, ws } = await client({ autoSubscribe: false });
  const join = c.join("r1");
  ws.push({ type: "joined", re: ws.last("join").id, room: "r1", pid: "me", participants: [{ pid: "p2", name: "Bob", publishing: false }] });
  await join;
  ws.push({ type: "track_published", pid: "p2:screen", of: "p2", source: "screen" });
  assert.equal(c.participants.get("p2").screen, true);
  assert.equal(c.participants.get("p2").publishing, false);
  assert.deepEqual(c.participantFor("p2:screen"), { pid: "p2:screen", name: "Bob (screen)", publishing: false, screen: true, source: "screen", of: "p2" });
  ws.push({ type: "track_published", pid: "p2" });
  assert.equal(c.participants.get("p2").publishing, true);
  ws.push({ type: "track_unpublished", pid: "p2:screen" });
  assert.equal(c.participants.get("p2").screen, false);
});
