/**
 * Is a video stalled? Decided from how its decoded-frame count moves (getStats `framesDecoded`,
 * polled every {@link STALL_POLL_MS}) and from its peer connection's ICE state, so the call view can
 * say "Reconnecting…" within 3 s of media stalling and clear it once frames flow again. Pure and
 * clock-free (the caller passes the time), tested in tests/js/stall-watch.test.mjs.
 * @module shopcall/components/stall-watch
 */

export const STALL_POLL_MS = 500;
/** Frames not advancing for this long is a stall (a poll later it is on screen: well under 3 s). */
export const STALL_AFTER_MS = 1000;

export class StallWatch {
  /** @param {{stallAfterMs?: number}} [opts] */
  constructor(opts = {}) {
    this.stallAfterMs = opts.stallAfterMs ?? STALL_AFTER_MS;
    /** @type {number|null} */
    this.frames = null;
    /** @type {number|null} when the count last moved (null: no frame decoded yet) */
    this.lastAdvance = null;
    this.stalled = false;
  }

  /**
   * One observation.
   * @param {number} now ms
   * @param {{frames: number|null, ice?: string, paused?: boolean}} o `frames`: decoded so far (null: no
   *   stats); `ice`: the connection's ICE state; `paused`: the sender turned its camera off on purpose
   * @returns {boolean} stalled
   */
  update(now, o) {
    const frames = o.frames;
    if (frames != null && (this.frames == null || frames > this.frames)) {
      if (frames > 0) this.lastAdvance = now;
      this.frames = frames;
    } else if (frames != null && frames < this.frames) {
      this.frames = frames; // a new connection (rebuilt) counts from 0 again
    }
    const iceBroken = o.ice === "disconnected" || o.ice === "failed";
    const frozen = this.lastAdvance !== null && now - this.lastAdvance >= this.stallAfterMs;
    this.stalled = iceBroken || (frozen && !o.paused);
    return this.stalled;
  }
}
