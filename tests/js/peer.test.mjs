// ICE candidates wait for the server's session, then go out in order.
import assert from "node:assert/strict";
import { test } from "node:test";

import { candidateQueue } from "../../src/shopcall/web/static/sdk/peer.js";

test("candidates are held until flush, then sent at once and in order", () => {
  const sent = [];
  const q = candidateQueue({ _send: (m) => sent.push(m) }, "publisher");
  q.add({ candidate: "a" });
  q.add({ candidate: "b" });
  assert.deepEqual(sent, []);
  q.flush();
  q.add(null); // end of candidates
  assert.deepEqual(sent, [
    { type: "trickle", target: "publisher", candidate: { candidate: "a" } },
    { type: "trickle", target: "publisher", candidate: { candidate: "b" } },
    { type: "trickle", target: "publisher", candidate: null },
  ]);
});

test("renewed ICE servers (token refresh) reach every live peer connection, not closed ones", async () => {
  const { methods } = await import("../../src/shopcall/web/static/sdk/peer.js");
  const fakePc = (state) => ({ connectionState: state, configs: [], setConfiguration(c) { this.configs.push(c); } });
  const pub = fakePc("connected"), screen = fakePc("connected"), sub = fakePc("disconnected"), gone = fakePc("closed");
  const turn = [{ urls: ["turn:h:3478?transport=udp"], username: "2:u", credential: "new" }];
  const client = {
    ...methods, options: { relayOnly: true }, welcome: { ice_servers: turn },
    publisherPc: pub, screenPc: screen, subscriptions: new Map([["s1", { pc: sub }], ["s2", { pc: gone }], ["s3", {}]]),
    _log() {},
  };
  client._applyIceServers();
  for (const pc of [pub, screen, sub]) assert.deepEqual(pc.configs, [{ iceServers: turn, iceTransportPolicy: "relay" }]);
  assert.deepEqual(gone.configs, []);
});
