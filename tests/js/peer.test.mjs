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
