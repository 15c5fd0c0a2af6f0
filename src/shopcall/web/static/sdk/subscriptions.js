/**
 * Receiving: one receive-only peer connection per remote publisher (camera or `<pid>:screen`),
 * retried when the publisher is not up yet, repaired in place by an ICE restart when its path
 * breaks (re-subscribed only when restarts fail), with the receive buffer the server's playout
 * controller asks for.
 * @module shopcall/subscriptions
 */

import { ShopCallError } from "./errors.js";
import { candidateQueue } from "./peer.js";
import { screenOwner } from "./room.js";
import { sleep } from "./transport.js";

/** How long to wait before re-subscribing to a publisher the media server does not know yet. */
const NOT_READY_RETRY_MS = [600, 1200, 2500, 5000];

/**
 * @typedef {Object} Subscription
 * @property {string} pid
 * @property {string|null} sid
 * @property {RTCPeerConnection|null} pc
 * @property {MediaStream} stream
 * @property {boolean} started
 * @property {ReturnType<typeof candidateQueue>|null} trickle
 * @property {boolean} cancelled
 * @property {number} failures
 * @property {number|null} [playoutTargetMs] receive buffer the server asked for (null: browser default)
 * @property {import("./peer.js").IceWatch|null} [watch] ICE restarts of its connection
 */

/** @param {string} pid @param {string|null} sid @returns {Subscription} */
function newSubscription(pid, sid) {
  return { pid, sid, pc: null, stream: new MediaStream(), started: false, trickle: null, cancelled: false, failures: 0 };
}

/** ShopCallClient methods (mixed into its prototype). */
export const methods = {
  /**
   * Subscribe in the background. A publisher that is not (yet) known to the media server —
   * typical right after a `media_reset`, before it has re-published — is retried a few times
   * and otherwise left to the next `track_published`.
   * @param {string} pid
   * @param {number} [attempt]
   */
  _subscribeSafe(pid, attempt = 0) {
    this.subscribe(pid).catch((err) => {
      if (!err || err.code === "cancelled" || err.code === "disconnected") return;
      if (err.code === "no_such_publisher" || err.code === "not_publishing") {
        if (attempt < NOT_READY_RETRY_MS.length) {
          setTimeout(() => {
            const p = this.participants.get(pid);
            if (p && p.publishing && !this.subscriptions.has(pid) && this.state === "connected") {
              this._subscribeSafe(pid, attempt + 1);
            }
          }, NOT_READY_RETRY_MS[attempt]);
        }
        this._log("publisher not ready", pid, err.code);
        return;
      }
      this._emitError(err, "subscribe");
    });
  },

  /**
   * Receive a participant's media. Normally automatic; call it yourself only with
   * `autoSubscribe: false`. Resolves once the answer was accepted (`started`).
   * @param {string} pid
   * @returns {Promise<Subscription>}
   */
  async subscribe(pid) {
    const existing = this.subscriptions.get(pid);
    if (existing) return existing;
    const sub = newSubscription(pid, null);
    this.subscriptions.set(pid, sub);
    let offer;
    try {
      offer = await this.request({ type: "subscribe", pid });
    } catch (err) {
      if (this.subscriptions.get(pid) === sub) this.subscriptions.delete(pid);
      throw err;
    }
    if (sub.cancelled || this.subscriptions.get(pid) !== sub) {
      // dropped while we waited: give the subscription back
      if (offer.sid) this.request({ type: "unsubscribe", sid: offer.sid }, { soft: true }).catch(() => {});
      throw new ShopCallError("cancelled", "Subscription no longer wanted");
    }
    sub.sid = offer.sid;
    await this._answerSubscription(sub, offer.sdp);
    return sub;
  },

  /**
   * Answer the server's offer for a subscription (the first one, or a renegotiation).
   * @param {Subscription} sub
   * @param {string} sdp the server's offer
   */
  async _answerSubscription(sub, sdp) {
    if (!sub.pc) this._openSubscriptionPc(sub);
    const pc = /** @type {RTCPeerConnection} */ (sub.pc);
    await pc.setRemoteDescription({ type: "offer", sdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    this._applyPlayoutTarget(sub);
    if (sub.cancelled) throw new ShopCallError("cancelled", "Subscription no longer wanted");
    await this.request({ type: "start", sid: sub.sid, sdp: pc.localDescription ? pc.localDescription.sdp : answer.sdp });
    sub.started = true;
    if (sub.trickle) sub.trickle.flush();
    if (!sub.watch && !sub.cancelled) {
      sub.watch = this._watchIce(pc, {
        target: "subscription",
        pid: () => sub.pid,
        restart: () => this._restartSubscriptionIce(sub),
        rebuild: () => this._onSubscriptionFailed(sub),
        expectsMedia: () => {
          // a camera feed sends audio and video packets all the time unless both are muted (a still
          // screen share may send nothing for a while)
          const p = this.participants.get(sub.pid);
          return !!p && !screenOwner(sub.pid) && !!p.publishing && !p.reconnecting && !(p.audio_muted && p.video_muted);
        },
        expectsVideo: () => {
          const p = this.participants.get(sub.pid);
          return !!p && !screenOwner(sub.pid) && !!p.publishing && !p.video_muted;
        },
        requestKeyframe: () => {
          this.request({ type: "keyframe", pid: sub.pid }).catch((err) => this._log("key frame request failed", err));
        },
      });
    }
  },

  /**
   * Restart ICE on a subscription in place: `ice_restart` → the server's new offer, answered with
   * `start` like the first one. Same subscription id, tracks and receive buffer; the server's layer
   * and playout controllers are keyed by it, so they carry on. Candidates wait for `started`.
   * @param {Subscription} sub
   */
  async _restartSubscriptionIce(sub) {
    if (sub.cancelled || !sub.sid || !sub.pc) return;
    const reply = await this.request({ type: "ice_restart", target: sub.sid });
    if (sub.cancelled) return;
    sub.trickle = candidateQueue(this, sub.sid);
    await this._answerSubscription(sub, reply.sdp);
  },

  /** @param {Subscription} sub */
  _openSubscriptionPc(sub) {
    const pc = this._newPeerConnection();
    sub.pc = pc;
    sub.trickle = candidateQueue(this, /** @type {string} */ (sub.sid));
    pc.onicecandidate = (e) => {
      if (!sub.cancelled && sub.trickle) sub.trickle.add(e.candidate ? e.candidate.toJSON() : null);
    };
    pc.ontrack = (e) => {
      if (sub.cancelled) return;
      const track = e.track;
      if (!sub.stream.getTracks().includes(track)) sub.stream.addTrack(track);
      track.addEventListener("ended", () => {
        try {
          sub.stream.removeTrack(track);
        } catch (_) {
          /* ignore */
        }
      });
      this._emit("track", {
        pid: sub.pid,
        sid: sub.sid,
        stream: sub.stream,
        track,
        participant: this.participantFor(sub.pid),
        source: screenOwner(sub.pid) ? "screen" : "camera",
      });
    };
    pc.onconnectionstatechange = () => {
      if (sub.cancelled) return;
      this._emit("subscriber-state", { pid: sub.pid, sid: sub.sid, state: pc.connectionState });
    };
  },

  /**
   * Size the receive buffer of a subscription as the server's playout controller asks: larger
   * under loss, so late retransmissions still land before their frame is due (null: the browser's
   * default, lowest latency). Audio and video together, so lip sync holds.
   * @param {Subscription} sub
   */
  _applyPlayoutTarget(sub) {
    if (!sub.pc || sub.playoutTargetMs === undefined) return;
    for (const r of sub.pc.getReceivers()) {
      if (!("jitterBufferTarget" in r)) continue;
      try {
        r.jitterBufferTarget = sub.playoutTargetMs;
      } catch (err) {
        this._log("jitterBufferTarget refused", err);
      }
    }
  },

  /** Re-subscribe after ICE restarts could not repair the connection, backing off; gives up after 3 tries. @param {Subscription} sub */
  async _onSubscriptionFailed(sub) {
    sub.failures += 1;
    const pid = sub.pid;
    const failures = sub.failures;
    if (failures > 3) {
      this._setMediaHealth("subscription", pid, "failed");
      this._emitError(new ShopCallError("media_unavailable", "Could not receive the other side's video"), "subscribe");
      return;
    }
    await sleep(1000 * failures);
    if (this.subscriptions.get(pid) !== sub || this.state !== "connected") return;
    this._dropSubscription(pid, true);
    const p = this.participants.get(pid);
    if (p && p.publishing) {
      try {
        const fresh = await this.subscribe(pid);
        fresh.failures = failures;
      } catch (err) {
        if (err.code !== "cancelled") this._emitError(err, "subscribe");
      }
    }
  },

  /**
   * Stop receiving a participant's media.
   * @param {string} pid
   */
  async unsubscribe(pid) {
    this._dropSubscription(pid, true);
  },

  /**
   * @param {string} pid
   * @param {boolean} tellServer send `unsubscribe` for it
   */
  _dropSubscription(pid, tellServer) {
    const sub = this.subscriptions.get(pid);
    if (!sub) return;
    this.subscriptions.delete(pid);
    sub.cancelled = true;
    if (sub.watch) sub.watch.dispose();
    sub.watch = null;
    if (sub.pc) {
      sub.pc.onicecandidate = null;
      sub.pc.ontrack = null;
      sub.pc.onconnectionstatechange = null;
      try {
        sub.pc.close();
      } catch (_) {
        /* ignore */
      }
    }
    if (tellServer && sub.sid && this.state === "connected") {
      this.request({ type: "unsubscribe", sid: sub.sid }, { soft: true }).catch(() => {});
    }
    if (sub.sid || sub.stream.getTracks().length) this._emit("track-removed", { pid, sid: sub.sid });
  },
};

/** @type {import("./messages.js").MessageTable} */
export const messages = {
  /** An offer nobody asked for: the server renegotiates a subscription (or starts one for `pid`). */
  async offer(c, msg) {
    let sub = null;
    for (const s of c.subscriptions.values()) if (s.sid === msg.sid) sub = s;
    if (!sub && msg.pid) {
      sub = newSubscription(msg.pid, msg.sid);
      if (c.subscriptions.has(msg.pid)) c._dropSubscription(msg.pid, true);
      c.subscriptions.set(msg.pid, sub);
    }
    if (!sub) return;
    try {
      await c._answerSubscription(sub, msg.sdp);
    } catch (err) {
      c._emitError(err, "subscribe");
    }
  },
  playout_target(c, msg) {
    const targetMs = msg.target_ms == null ? null : Number(msg.target_ms);
    const sub = c.subscriptions.get(msg.pid);
    if (sub) {
      sub.playoutTargetMs = targetMs;
      c._applyPlayoutTarget(sub);
    }
    c._emit("playout-target", { pid: msg.pid, targetMs });
  },
};
