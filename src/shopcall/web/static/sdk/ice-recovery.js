/**
 * When a broken peer connection restarts ICE, and when it gives up and is rebuilt (re-publish,
 * re-subscribe): a pure, clock-injected policy per peer connection, so the decisions are tested
 * without a browser (tests/js/ice-recovery.test.mjs). peer.js feeds it the connection's ICE
 * states, network changes and a periodic tick, and carries out what it answers.
 *
 * - `disconnected` for {@link DISCONNECTED_GRACE_MS}, or `failed` → restart ICE in place;
 * - a network change (`online`, a new connection type) → restart at once;
 * - a restart that brings no `connected` within {@link RESTART_TIMEOUT_MS}, or whose request
 *   fails, counts as failed; after {@link MAX_FAILED_RESTARTS} the connection is rebuilt;
 * - restarts are at least {@link MIN_RESTART_GAP_MS} apart (no storms), and none is started
 *   while the signalling socket is down (the time waiting for it does not count).
 * @module shopcall/ice-recovery
 */

export const DISCONNECTED_GRACE_MS = 2000;
export const RESTART_TIMEOUT_MS = 8000;
export const MIN_RESTART_GAP_MS = 2500;
export const MAX_FAILED_RESTARTS = 2;

/**
 * @typedef {"ok"|"reconnecting"} Health fine, or being repaired (restart or rebuild); "failed" (the
 *   rebuild gave up too) is the caller's to say
 * @typedef {{do: "none"} | {do: "restart", reason: string, attempt: number} | {do: "rebuild", reason: string}} Action
 */

const NONE = Object.freeze({ do: "none" });

export class IceRecovery {
  /**
   * @param {{now?: () => number, graceMs?: number, timeoutMs?: number, minGapMs?: number, maxFailures?: number}} [opts]
   */
  constructor(opts = {}) {
    this.now = opts.now || (() => Date.now());
    this.graceMs = opts.graceMs ?? DISCONNECTED_GRACE_MS;
    this.timeoutMs = opts.timeoutMs ?? RESTART_TIMEOUT_MS;
    this.minGapMs = opts.minGapMs ?? MIN_RESTART_GAP_MS;
    this.maxFailures = opts.maxFailures ?? MAX_FAILED_RESTARTS;
    /** @type {string} the connection's last ICE state */
    this.iceState = "new";
    /** @type {number|null} */
    this.disconnectedSince = null;
    /** @type {number|null} when the running restart began (null: none running) */
    this.restartingSince = null;
    /** @type {number} */
    this.lastRestartAt = -Infinity;
    /** consecutive restarts that did not bring the connection back */
    this.failedRestarts = 0;
    /** restarts started so far (for events and tests) */
    this.restarts = 0;
    this.networkChanged = false;
    this.everConnected = false;
    this.done = false; // rebuild was answered: this connection is finished
    /** @type {Health} */
    this.health = "ok";
  }

  /**
   * The connection's ICE state changed.
   * @param {string} state RTCIceConnectionState (or "failed" from connectionState)
   * @param {boolean} [canSignal=true] the signalling socket is up
   * @returns {Action}
   */
  observe(state, canSignal = true) {
    this.iceState = state;
    if (state === "connected" || state === "completed") {
      this.everConnected = true;
      this.disconnectedSince = null;
      this.restartingSince = null;
      this.failedRestarts = 0;
      this.networkChanged = false;
      this.health = "ok";
      return NONE;
    }
    if (state === "disconnected" && this.disconnectedSince === null) this.disconnectedSince = this.now();
    if (state === "failed" || state === "disconnected") this.health = "reconnecting";
    return this.tick(canSignal);
  }

  /**
   * The device's network changed: a path that worked may be gone, restart now.
   * @param {boolean} [canSignal=true]
   * @returns {Action}
   */
  onNetworkChange(canSignal = true) {
    if (!this.everConnected || this.done) return NONE; // the first ICE run is still finding its path
    this.networkChanged = true;
    return this.tick(canSignal);
  }

  /**
   * The restart request could not be carried out.
   * @param {"transient"|"failed"|"refused"} why `transient`: the socket dropped meanwhile (retry when
   *   it is back, not held against the restart); `failed`: the media server failed it (counts);
   *   `refused`: the server has nothing to restart (not publishing, subscription gone) → rebuild now
   * @param {boolean} [canSignal=true]
   * @returns {Action}
   */
  restartFailed(why, canSignal = true) {
    if (this.done) return NONE;
    this.restartingSince = null;
    if (why === "refused") {
      this.done = true;
      return { do: "rebuild", reason: "the server has nothing to restart" };
    }
    if (why === "transient") this.lastRestartAt = -Infinity;
    else this.failedRestarts += 1;
    return this.tick(canSignal);
  }

  /**
   * Time passed (call every few hundred ms): deadlines are checked here.
   * @param {boolean} [canSignal=true]
   * @returns {Action}
   */
  tick(canSignal = true) {
    if (this.done) return NONE;
    const now = this.now();
    if (this.restartingSince !== null) {
      if (this.networkChanged) {
        this.restartingSince = null; // the network moved under the running restart: start over, no fault of it
      } else if (now - this.restartingSince < this.timeoutMs) {
        return NONE;
      } else {
        this.restartingSince = null; // no `connected` in time
        this.failedRestarts += 1;
      }
    }
    if (this.failedRestarts >= this.maxFailures) {
      this.done = true; // the rebuild's new connection has a policy of its own
      return { do: "rebuild", reason: `${this.failedRestarts} ICE restarts failed` };
    }
    let reason = null;
    if (this.networkChanged) reason = "network_change";
    else if (this.iceState === "failed") reason = "failed";
    else if (this.iceState === "disconnected" && this.disconnectedSince !== null && now - this.disconnectedSince >= this.graceMs) {
      reason = "disconnected";
    } else if (this.failedRestarts > 0 && this.iceState !== "connected" && this.iceState !== "completed") {
      reason = "retry";
    }
    if (!reason) return NONE;
    this.health = "reconnecting";
    if (!canSignal) {
      // nothing can be negotiated now; the wait for the socket is not held against the restart
      return NONE;
    }
    if (now - this.lastRestartAt < this.minGapMs) return NONE;
    this.networkChanged = false;
    this.restartingSince = now;
    this.lastRestartAt = now;
    this.restarts += 1;
    return { do: "restart", reason, attempt: this.failedRestarts + 1 };
  }
}
