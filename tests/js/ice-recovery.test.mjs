// The ICE-restart policy: when a broken connection restarts ICE, when it gives up and is rebuilt,
// and that it never restarts in a storm or while the signalling socket is down.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DISCONNECTED_GRACE_MS,
  IceRecovery,
  MAX_FAILED_RESTARTS,
  MIN_RESTART_GAP_MS,
  RESTART_TIMEOUT_MS,
} from "../../src/shopcall/web/static/sdk/ice-recovery.js";
import { peerConfig } from "../../src/shopcall/web/static/sdk/peer.js";

function clocked() {
  const clock = { t: 1_000_000 };
  const policy = new IceRecovery({ now: () => clock.t });
  const advance = (ms) => {
    clock.t += ms;
    return policy.tick();
  };
  return { clock, policy, advance };
}

/** A policy whose connection is up. */
function connected() {
  const c = clocked();
  assert.deepEqual(c.policy.observe("checking"), { do: "none" });
  assert.deepEqual(c.policy.observe("connected"), { do: "none" });
  assert.equal(c.policy.health, "ok");
  return c;
}

test("disconnected for 2 s restarts ICE, not before", () => {
  const { policy, advance } = connected();
  assert.deepEqual(policy.observe("disconnected"), { do: "none" });
  assert.equal(policy.health, "reconnecting");
  assert.deepEqual(advance(DISCONNECTED_GRACE_MS - 1), { do: "none" });
  assert.deepEqual(advance(1), { do: "restart", reason: "disconnected", attempt: 1 });
  assert.equal(policy.restarts, 1);
  assert.deepEqual(advance(500), { do: "none" }); // the restart is running
  policy.observe("checking");
  policy.observe("connected");
  assert.equal(policy.health, "ok");
  assert.deepEqual(advance(60_000), { do: "none" });
  assert.equal(policy.restarts, 1);
});

test("a blip shorter than the grace needs nothing", () => {
  const { policy, advance } = connected();
  policy.observe("disconnected");
  advance(1500);
  policy.observe("connected");
  assert.deepEqual(advance(5000), { do: "none" });
  assert.equal(policy.restarts, 0);
  assert.equal(policy.health, "ok");
});

test("failed restarts at once", () => {
  const { policy } = connected();
  assert.deepEqual(policy.observe("failed"), { do: "restart", reason: "failed", attempt: 1 });
});

test("a restart with no connected within the timeout is retried, and after two the connection is rebuilt", () => {
  const { policy, advance } = connected();
  assert.equal(policy.observe("failed").do, "restart");
  policy.observe("checking");
  assert.deepEqual(advance(RESTART_TIMEOUT_MS - 1), { do: "none" });
  assert.deepEqual(advance(1), { do: "restart", reason: "retry", attempt: 2 });
  const rebuild = advance(RESTART_TIMEOUT_MS);
  assert.equal(rebuild.do, "rebuild");
  assert.equal(MAX_FAILED_RESTARTS, 2);
  assert.equal(policy.restarts, 2);
  // finished: nothing more from this connection's policy
  assert.deepEqual(policy.observe("failed"), { do: "none" });
  assert.deepEqual(advance(60_000), { do: "none" });
  assert.deepEqual(policy.onNetworkChange(), { do: "none" });
});

test("a restart the server refuses (nothing published, subscription gone) rebuilds at once", () => {
  const { policy } = connected();
  assert.equal(policy.observe("failed").do, "restart");
  assert.equal(policy.restartFailed("refused").do, "rebuild");
});

test("a restart request the media server failed counts; the retry waits for the gap", () => {
  const { policy, advance } = connected();
  assert.equal(policy.observe("failed").do, "restart");
  assert.deepEqual(policy.restartFailed("failed"), { do: "none" }); // too soon after the first
  assert.deepEqual(advance(MIN_RESTART_GAP_MS), { do: "restart", reason: "failed", attempt: 2 });
  assert.equal(policy.restartFailed("failed").do, "rebuild");
});

test("a network change restarts at once, even while connected", () => {
  const { policy, advance } = connected();
  assert.deepEqual(policy.onNetworkChange(), { do: "restart", reason: "network_change", attempt: 1 });
  assert.equal(policy.health, "reconnecting");
  policy.observe("connected");
  assert.equal(policy.health, "ok");
  assert.deepEqual(advance(10_000), { do: "none" });
});

test("a network change before the first connection is left to the first ICE run", () => {
  const { policy } = clocked();
  policy.observe("checking");
  assert.deepEqual(policy.onNetworkChange(), { do: "none" });
});

test("no restart storms: repeated triggers within the gap start one restart", () => {
  const { policy, advance } = connected();
  assert.equal(policy.onNetworkChange().do, "restart");
  // the network flaps several times while the restart runs
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(policy.onNetworkChange(), { do: "none" });
    assert.deepEqual(policy.observe("failed"), { do: "none" });
    advance(200);
  }
  assert.equal(policy.restarts, 1);
  // once the gap has passed, the pending change restarts again (the moved network, not a failure)
  advance(MIN_RESTART_GAP_MS);
  assert.equal(policy.restarts, 2);
  assert.equal(policy.failedRestarts, 0);
  // over a minute of constant failure: a handful of restarts, then one rebuild
  let restarts = 0;
  let rebuilds = 0;
  for (let t = 0; t < 60_000; t += 500) {
    const a = advance(500);
    if (a.do === "restart") restarts += 1;
    if (a.do === "rebuild") rebuilds += 1;
  }
  assert.ok(restarts <= MAX_FAILED_RESTARTS, `restarts: ${restarts}`);
  assert.equal(rebuilds, 1);
});

test("nothing is negotiated while the signalling socket is down, and the wait does not count", () => {
  const { clock, policy } = connected();
  policy.observe("disconnected", false);
  clock.t += 30_000;
  assert.deepEqual(policy.tick(false), { do: "none" });
  assert.equal(policy.health, "reconnecting");
  assert.equal(policy.failedRestarts, 0);
  assert.deepEqual(policy.tick(true), { do: "restart", reason: "disconnected", attempt: 1 });
});

test("a restart cut off by a socket drop is retried when the socket is back, not counted", () => {
  const { policy } = connected();
  assert.equal(policy.observe("failed").do, "restart");
  assert.deepEqual(policy.restartFailed("transient", false), { do: "none" });
  assert.equal(policy.failedRestarts, 0);
  assert.deepEqual(policy.tick(true), { do: "restart", reason: "failed", attempt: 1 });
});

test("relayOnly: relay transport policy, and a clear error when no TURN server is offered", () => {
  const turn = [{ urls: ["turn:h:3478?transport=udp", "turns:h:5349?transport=tcp"], username: "u", credential: "c" }];
  assert.deepEqual(peerConfig(turn, true), { iceServers: turn, iceTransportPolicy: "relay" });
  assert.deepEqual(peerConfig([], false), { iceServers: [], iceTransportPolicy: "all" });
  assert.throws(() => peerConfig([{ urls: "stun:h:3478" }], true), (e) => e.code === "relay_unavailable");
  assert.throws(() => peerConfig([], true), (e) => e.code === "relay_unavailable");
});
