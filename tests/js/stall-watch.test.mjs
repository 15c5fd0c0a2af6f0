// The call view's stall detector: "Reconnecting…" within 3 s of frames stopping, cleared when they flow.
import assert from "node:assert/strict";
import { test } from "node:test";

import { STALL_AFTER_MS, STALL_POLL_MS, StallWatch } from "../../src/shopcall/web/static/components/stall-watch.js";

/** Feed a watch polls of a 20 fps video from t0 for `ms`; returns the time after. */
function flowing(w, t0, ms, frames0 = 0) {
  let t = t0;
  let f = frames0;
  for (; t < t0 + ms; t += STALL_POLL_MS) {
    f += 10;
    assert.equal(w.update(t, { frames: f, ice: "connected" }), false);
  }
  return { t, f };
}

test("frames that stop advancing are a stall within 3 s; flowing frames clear it", () => {
  const w = new StallWatch();
  let { t, f } = flowing(w, 0, 5000);
  const stoppedAt = t - STALL_POLL_MS; // the last poll that saw a new frame
  let seenAt = null;
  for (; t < stoppedAt + 5000; t += STALL_POLL_MS) {
    if (w.update(t, { frames: f, ice: "connected" }) && seenAt === null) seenAt = t;
  }
  assert.ok(seenAt !== null, "never stalled");
  // at worst one poll late after the threshold, and the stall began up to a poll before `stoppedAt`
  assert.ok(seenAt - stoppedAt + STALL_POLL_MS <= 3000, `shown ${seenAt - stoppedAt} ms after the last frame`);
  assert.ok(seenAt - stoppedAt >= STALL_AFTER_MS);
  assert.equal(w.update(t, { frames: f + 3, ice: "connected" }), false, "one new frame clears it");
});

test("a broken connection is a stall at once, whatever the frame count", () => {
  const w = new StallWatch();
  const { t, f } = flowing(w, 0, 2000);
  assert.equal(w.update(t, { frames: f + 10, ice: "disconnected" }), true);
  assert.equal(w.update(t + 500, { frames: f + 20, ice: "failed" }), true);
  assert.equal(w.update(t + 1000, { frames: f + 30, ice: "connected" }), false);
});

test("no stall before the first frame, nor while the sender's camera is off on purpose", () => {
  const w = new StallWatch();
  for (let t = 0; t < 10_000; t += STALL_POLL_MS) assert.equal(w.update(t, { frames: 0, ice: "checking" }), false);
  const { t, f } = flowing(w, 10_000, 2000);
  assert.equal(w.update(t + 5000, { frames: f, ice: "connected", paused: true }), false);
  assert.equal(w.update(t + 5500, { frames: f, ice: "connected" }), true);
});

test("a rebuilt connection counting from zero again is followed", () => {
  const w = new StallWatch();
  const { t } = flowing(w, 0, 2000);
  assert.equal(w.update(t, { frames: 0, ice: "connected" }), false);
  assert.equal(w.update(t + 500, { frames: 12, ice: "connected" }), false);
  assert.equal(w.update(t + 1000, { frames: 25, ice: "connected" }), false);
});
