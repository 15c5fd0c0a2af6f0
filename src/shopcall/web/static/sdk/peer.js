/**
 * Peer-connection plumbing shared by the publisher, the screen share and the subscriptions:
 * trickling, the ICE servers and transport policy, and repairing a broken connection in place
 * (ICE restart, decided by ice-recovery.js) before it is rebuilt.
 * @module shopcall/peer
 */

import { ShopCallError } from "./errors.js";
import { IceRecovery } from "./ice-recovery.js";

/** How often a watched connection's deadlines are checked. */
export const ICE_TICK_MS = 500;

/**
 * How often a subscription's received packets are counted, and after how many counts without a new
 * packet it is stalled. Browsers report a receive-only connection `disconnected` late (seen 4-5 s
 * after the network came back from an outage): a feed that should be sending but brings nothing is
 * the earlier sign that the path, and maybe the socket, broke.
 */
export const STALL_CHECK_MS = 750;
export const STALL_CHECKS = 2;
/** Least time between two key frame requests of one subscription. */
export const KEYFRAME_GAP_MS = 2000;

/** Errors of a restart request that mean "the socket went away", not "the restart failed". */
const TRANSIENT = ["disconnected", "timeout", "not_in_room", "rate_limited"];
/** Errors that mean the server has nothing to restart: rebuild at once. */
const REFUSED = ["not_publishing", "no_such_subscription", "no_such_publisher"];

/**
 * @typedef {Object} IceWatch
 * @property {IceRecovery} policy
 * @property {() => void} networkChanged
 * @property {() => void} tick check the policy now (e.g. signalling just came back)
 * @property {() => void} dispose
 */

/**
 * Trickle a peer connection's ICE candidates to the server for `target`, held back until the
 * server's session exists (its answer came) and then flushed in order. `null` = end of candidates.
 * @param {{_send: (msg: any) => boolean}} client
 * @param {string} target "publisher", "screen" or a subscription id
 */
export function candidateQueue(client, target) {
  /** @type {Array<RTCIceCandidateInit|null>} */
  let held = [];
  let ready = false;
  const send = (candidate) => client._send({ type: "trickle", target, candidate });
  return {
    /** @param {RTCIceCandidateInit|null} candidate */
    add(candidate) {
      if (ready) send(candidate);
      else held.push(candidate);
    },
    flush() {
      ready = true;
      const queued = held;
      held = [];
      for (const c of queued) send(c);
    },
  };
}

/**
 * The RTCPeerConnection configuration: the welcome's ICE servers, and with `relayOnly` only relayed
 * (TURN) candidates, so the other side never learns this device's addresses.
 * @param {RTCIceServer[]} iceServers
 * @param {boolean} relayOnly
 * @returns {RTCConfiguration}
 */
export function peerConfig(iceServers, relayOnly) {
  if (relayOnly) {
    const turn = iceServers.some((s) => [].concat(s.urls || []).some((u) => /^turns?:/i.test(String(u))));
    if (!turn) throw new ShopCallError("relay_unavailable", "relayOnly needs a TURN server, and the server offered none");
    return { iceServers, iceTransportPolicy: "relay" };
  }
  return { iceServers, iceTransportPolicy: "all" };
}

/** ShopCallClient methods (mixed into its prototype). */
export const methods = {
  /** A peer connection with the ICE servers from the welcome (relay only with the `relayOnly` option). */
  _newPeerConnection() {
    return new RTCPeerConnection(this._peerConfig());
  },

  /** Hand the welcome's (renewed) ICE servers to every live peer connection (after a token refresh). */
  _applyIceServers() {
    const pcs = [this.publisherPc, this.screenPc, ...[...this.subscriptions.values()].map((s) => s.pc)];
    for (const pc of pcs) {
      if (!pc || pc.connectionState === "closed") continue;
      try {
        pc.setConfiguration(this._peerConfig());
      } catch (err) {
        this._log("setConfiguration failed", err);
      }
    }
  },

  /** @returns {RTCConfiguration} */
  _peerConfig() {
    return peerConfig((this.welcome && this.welcome.ice_servers) || [], !!this.options.relayOnly);
  },

  /**
   * Watch a peer connection and repair it: ICE restarts as IceRecovery decides, then `rebuild()`.
   * Emits `media-health` {target, pid, state: "ok"|"reconnecting"} on changes and `ice-restart`
   * {target, pid, reason, attempt} when a restart starts. Restarts wait for the signalling socket.
   * @param {RTCPeerConnection} pc
   * @param {{target: string, pid: () => string|null, restart: () => Promise<void>, rebuild: (reason: string) => void,
   *   expectsMedia?: () => boolean, expectsVideo?: () => boolean, requestKeyframe?: () => void}} how
   *   `target`: "publisher", "screen" or "subscription"; `restart` negotiates the ICE restart; with
   *   `expectsMedia`, received packets are counted and a stall (none while media is expected) probes the
   *   socket: a dead socket means our own network broke, and the reconnect then restarts ICE
   * @returns {IceWatch}
   */
  _watchIce(pc, how) {
    const policy = new IceRecovery();
    // not while a reconnect is taking the room back: a restart then would reach the server before the join
    const canSignal = () => this.state === "connected" && !!this.room && !this._rejoining;
    let disposed = false;
    /** @type {Promise<void>} */
    let chain = Promise.resolve();
    let reported = policy.health; // a new connection is presumed fine until it says otherwise
    const report = () => {
      if (policy.health === reported) return;
      reported = policy.health;
      this._setMediaHealth(how.target, how.pid(), reported);
    };
    const act = (/** @type {import("./ice-recovery.js").Action} */ a) => {
      report();
      if (disposed || a.do === "none") return;
      if (a.do === "rebuild") {
        this._log("ICE recovery gave up, rebuilding", how.target, a.reason);
        watch.dispose();
        how.rebuild(a.reason);
        return;
      }
      this.iceRestarts = (this.iceRestarts || 0) + 1;
      this._log("ICE restart", how.target, a.reason, a.attempt);
      this._emit("ice-restart", { target: how.target, pid: how.pid(), reason: a.reason, attempt: a.attempt });
      // one negotiation at a time: a network change may ask again while a restart is in flight
      const run = chain.then(() => (disposed ? undefined : how.restart()));
      chain = run.catch(() => {});
      run.catch((err) => {
        if (disposed) return;
        const code = (err && err.code) || "";
        this._log("ICE restart failed", how.target, code, err);
        act(policy.restartFailed(REFUSED.includes(code) ? "refused" : TRANSIENT.includes(code) ? "transient" : "failed", canSignal()));
      });
    };
    let askedAt = 0;
    const askKeyframe = (/** @type {string} */ why) => {
      if (!how.requestKeyframe || Date.now() - askedAt < KEYFRAME_GAP_MS || this.state !== "connected") return;
      askedAt = Date.now();
      this._log("asking for a key frame", how.target, how.pid(), why);
      how.requestKeyframe();
    };
    const onState = () => {
      if (disposed) return;
      const state = pc.connectionState === "failed" ? "failed" : pc.iceConnectionState;
      // the path broke: the socket may have gone with it (an address change, an outage)
      if (state === "disconnected" || state === "failed") this._probeSocket(`${how.target} ${state}`);
      // back on a (new) path: the picture needs a key frame; the browser's own request may be lost
      if ((state === "connected" || state === "completed") && policy.health === "reconnecting") askKeyframe("path back");
      act(policy.observe(state, canSignal()));
      // connected: also clears what an earlier connection of this target (before a rebuild) reported
      if (state === "connected" || state === "completed") this._setMediaHealth(how.target, how.pid(), "ok");
    };
    pc.addEventListener("iceconnectionstatechange", onState);
    pc.addEventListener("connectionstatechange", onState);
    const timer = setInterval(() => {
      if (!disposed) act(policy.tick(canSignal()));
    }, ICE_TICK_MS);
    let packets = -1;
    let frames = -1;
    let still = 0;
    let counting = false;
    const stallTimer = how.expectsMedia
      ? setInterval(async () => {
          if (disposed || counting || pc.connectionState === "closed" || !policy.everConnected) return;
          counting = true;
          try {
            let n = 0;
            let decoded = 0;
            (await pc.getStats()).forEach((s) => {
              if (s.type !== "inbound-rtp") return;
              n += s.packetsReceived || 0;
              if (s.kind === "video") decoded += s.framesDecoded || 0;
            });
            still = n === packets && how.expectsMedia && how.expectsMedia() ? still + 1 : 0;
            // packets flow again but no picture: the key frame the decoder waits for (its own request may
            // have gone out on the old path) — ask the publisher through the server, at most every 2 s
            const blind = n > packets && packets >= 0 && decoded === frames && how.expectsVideo && how.expectsVideo();
            packets = n;
            frames = decoded;
            if (blind) askKeyframe("packets but no frames");
            if (still === STALL_CHECKS) {
              this._log("receiving nothing", how.target, how.pid());
              this._probeSocket(`${how.target} receives nothing`);
            }
          } catch (_) {
            /* closed meanwhile */
          } finally {
            counting = false;
          }
        }, STALL_CHECK_MS)
      : null;
    /** @type {IceWatch} */
    const watch = {
      policy,
      tick: () => {
        if (!disposed) act(policy.tick(canSignal()));
      },
      networkChanged: () => {
        if (disposed) return;
        this._probeSocket("network change");
        act(policy.onNetworkChange(canSignal()));
      },
      dispose: () => {
        if (disposed) return;
        disposed = true;
        clearInterval(timer);
        if (stallTimer) clearInterval(stallTimer);
        pc.removeEventListener("iceconnectionstatechange", onState);
        pc.removeEventListener("connectionstatechange", onState);
        this._iceWatches.delete(watch);
        if (!this._iceWatches.size) this._listenNetwork(false);
      },
    };
    if (!this._iceWatches) this._iceWatches = new Set();
    this._iceWatches.add(watch);
    this._listenNetwork(true);
    return watch;
  },

  /**
   * Restart every watched connection when the device's network changes (Wi-Fi ↔ mobile, back online).
   * @param {boolean} on
   */
  _listenNetwork(on) {
    if (typeof window === "undefined") return;
    const conn = typeof navigator !== "undefined" ? /** @type {any} */ (navigator).connection : null;
    if (on && !this._onNetworkChange) {
      // `change` also fires for every new bandwidth/RTT estimate: only a new connection type (Wi-Fi → mobile)
      // is a network change; where `type` is not exposed (desktop), `online` is the signal
      let lastType = conn ? conn.type : undefined;
      this._onNetworkChange = (/** @type {Event} */ e) => {
        if (e.type === "change") {
          if (!conn || conn.type === undefined || conn.type === lastType) return;
          lastType = conn.type;
        }
        this._log("network changed", e.type);
        this._emit("network-change", { cause: e.type });
        for (const w of [...(this._iceWatches || [])]) w.networkChanged();
      };
      window.addEventListener("online", this._onNetworkChange);
      if (conn && conn.addEventListener) conn.addEventListener("change", this._onNetworkChange);
    } else if (!on && this._onNetworkChange) {
      window.removeEventListener("online", this._onNetworkChange);
      if (conn && conn.removeEventListener) conn.removeEventListener("change", this._onNetworkChange);
      this._onNetworkChange = null;
    }
  },

  /**
   * Record and announce one connection's health (`media-health`), only when it changes.
   * @param {string} target "publisher", "screen" or "subscription"
   * @param {string|null} pid whose media (own pid for publisher/screen, the remote pid for a subscription)
   * @param {"ok"|"reconnecting"|"failed"} state
   */
  _setMediaHealth(target, pid, state) {
    if (!this.mediaHealth) this.mediaHealth = new Map();
    const key = target === "subscription" ? `sub:${pid}` : target;
    if (this.mediaHealth.get(key) === state) return;
    if (state === "ok" && !this.mediaHealth.has(key)) {
      this.mediaHealth.set(key, state);
      return; // a first connect is not news
    }
    this.mediaHealth.set(key, state);
    this._emit("media-health", { target, pid, state });
  },
};
