/**
 * Screen sharing: a second send-only connection, seen by the others as `<pid>:screen`, which
 * wins over the camera when bandwidth is short.
 * @module shopcall/screen
 */

import { ShopCallError } from "./errors.js";
import { candidateQueue } from "./peer.js";
import { SIMULCAST_ENCODINGS } from "./publisher.js";

/** Camera layer caps while a screen is shared, by rid. */
const CAMERA_CAP_WHILE_SHARING = { h: 400_000, m: 250_000, l: 100_000 };

/** Apply `fn` to every encoding of a sender (a single-encoding sender gets one). */
async function setEncodings(client, sender, fn) {
  const p = sender.getParameters();
  if (!p.encodings || !p.encodings.length) p.encodings = [{}];
  p.encodings.forEach(fn);
  try {
    await sender.setParameters(p);
  } catch (err) {
    client._log("setParameters failed", err);
  }
}

/** @param {RTCPeerConnection|null} pc */
function videoSenders(pc) {
  return pc ? pc.getSenders().filter((s) => s.track && s.track.kind === "video") : [];
}

/** ShopCallClient methods (mixed into its prototype). */
export const methods = {
  /**
   * Share the screen (or a given stream) as a second video, seen by others as `<pid>:screen`.
   * Ends by itself when the browser's "Stop sharing" is pressed.
   * @param {{stream?: MediaStream}} [opts]
   * @returns {Promise<MediaStream>}
   */
  async startScreenShare(opts = {}) {
    if (!this.room || !this.pid) throw new ShopCallError("not_in_room", "Join a room before sharing the screen");
    await this.stopScreenShare();
    let stream = opts.stream;
    if (!stream) {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia) {
        throw new ShopCallError("webrtc_unsupported", "This browser cannot share the screen");
      }
      try {
        stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
      } catch (err) {
        throw new ShopCallError("screen_blocked", "Screen sharing was cancelled or blocked", { cause: err });
      }
    }
    const pc = this._newPeerConnection();
    this.screenPc = pc;
    this.screenStream = stream;
    const trickle = candidateQueue(this, "screen");
    this._screenTrickle = trickle;
    pc.onicecandidate = (e) => {
      if (this.screenPc === pc && this._screenTrickle) this._screenTrickle.add(e.candidate ? e.candidate.toJSON() : null);
    };
    for (const track of stream.getVideoTracks()) {
      if ("contentHint" in track) track.contentHint = "detail"; // sharp text over smooth motion
      track.addEventListener("ended", () => {
        if (this.screenPc === pc) this.stopScreenShare();
      });
      pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
    }
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    let reply;
    try {
      reply = await this.request({ type: "publish_screen", sdp: pc.localDescription ? pc.localDescription.sdp : offer.sdp });
    } catch (err) {
      if (this.screenPc === pc) this._closeScreen(!opts.stream);
      throw err;
    }
    await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
    trickle.flush();
    this._screenWatch = this._watchIce(pc, {
      target: "screen",
      pid: () => this.pid,
      restart: () => this._restartScreenIce(pc),
      rebuild: () => {
        if (this.screenPc !== pc) return;
        this._setMediaHealth("screen", this.pid, "failed");
        this.stopScreenShare().catch(() => {});
        this._emitError(new ShopCallError("media_unavailable", "Your screen share was lost — share it again"), "screen");
      },
    });
    await this._prioritiseScreen(pc, true);
    this._emit("screen-share", { active: true, stream });
    return stream;
  },

  /**
   * Restart ICE on the screen share's connection in place (`ice_restart` with target "screen").
   * @param {RTCPeerConnection} pc
   */
  async _restartScreenIce(pc) {
    if (this.screenPc !== pc) return;
    const trickle = candidateQueue(this, "screen");
    this._screenTrickle = trickle;
    const offer = await pc.createOffer({ iceRestart: true });
    await pc.setLocalDescription(offer);
    let reply;
    try {
      reply = await this.request({ type: "ice_restart", target: "screen", sdp: pc.localDescription ? pc.localDescription.sdp : offer.sdp });
    } catch (err) {
      if (this.screenPc === pc && pc.signalingState === "have-local-offer") {
        await pc.setLocalDescription({ type: "rollback" }).catch(() => {});
      }
      throw err;
    }
    if (this.screenPc !== pc) return;
    await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
    trickle.flush();
  },

  /**
   * When bandwidth is short the shared screen wins: its sender gets high priority, and the camera's
   * layers are capped (restored when sharing stops).
   * @param {RTCPeerConnection|null} screenPc @param {boolean} on
   */
  async _prioritiseScreen(screenPc, on) {
    for (const s of videoSenders(screenPc)) {
      await setEncodings(this, s, (e) => {
        e.priority = "high";
        e.networkPriority = "high";
      });
    }
    for (const s of videoSenders(this.publisherPc)) {
      await setEncodings(this, s, (e) => {
        const base = SIMULCAST_ENCODINGS.find((x) => x.rid === e.rid);
        if (on) e.maxBitrate = Math.min(base ? base.maxBitrate : 400_000, CAMERA_CAP_WHILE_SHARING[e.rid] || 400_000);
        else if (base) e.maxBitrate = base.maxBitrate;
        else delete e.maxBitrate;
      });
    }
  },

  /** Stop sharing the screen. */
  async stopScreenShare() {
    if (!this.screenPc) return;
    this._closeScreen(true);
    this._prioritiseScreen(null, false).catch(() => {});
    try {
      await this.request({ type: "unpublish_screen" }, { soft: true });
    } catch (err) {
      if (!["not_publishing", "not_in_room", "disconnected"].includes(err.code)) throw err;
    }
    this._emit("screen-share", { active: false, stream: null });
  },

  /** @param {boolean} stopTracks */
  _closeScreen(stopTracks) {
    if (this._screenWatch) this._screenWatch.dispose();
    this._screenWatch = null;
    this._screenTrickle = null;
    const pc = this.screenPc;
    this.screenPc = null;
    if (pc) pc.close();
    if (stopTracks && this.screenStream) for (const t of this.screenStream.getTracks()) t.stop();
    this.screenStream = null;
  },
};
