/**
 * Sending: the send-only "publisher" peer connection for the local camera and microphone
 * (simulcast, redundant audio), its recovery when it breaks — an ICE restart in place first
 * (same feed, so nobody re-subscribes), a re-publish only when restarts fail — and local mute.
 * @module shopcall/publisher
 */

import { ShopCallError } from "./errors.js";
import { candidateQueue } from "./peer.js";
import { swapOpusAndRed } from "./red.js";
import { sleep } from "./transport.js";

/** The camera's simulcast layers; the server's layer bitrates match them (media/janus_*). */
export const SIMULCAST_ENCODINGS = [
  { rid: "h", active: true, maxBitrate: 900_000, scaleResolutionDownBy: 1 },
  { rid: "m", active: true, maxBitrate: 300_000, scaleResolutionDownBy: 2 },
  { rid: "l", active: true, maxBitrate: 100_000, scaleResolutionDownBy: 4 },
];

/** ShopCallClient methods (mixed into its prototype). */
export const methods = {
  /**
   * Publish local media (after `join`). Replaces an earlier publication.
   * @param {MediaStream} stream
   * @returns {Promise<{simulcast: boolean}>}
   */
  async publish(stream) {
    if (!this.room || !this.pid) throw new ShopCallError("not_in_room", "Join a room before publishing");
    if (!stream || !stream.getTracks().length) throw new ShopCallError("bad_request", "Nothing to publish");
    const gen = ++this._publishGen;
    this._closePublisher();
    this.localStream = stream;
    this._applyMuteToTracks();

    const pc = this._newPeerConnection();
    this.publisherPc = pc;
    const trickle = candidateQueue(this, "publisher");
    this._pubTrickle = trickle;
    pc.onicecandidate = (e) => {
      if (this.publisherPc === pc && this._pubTrickle) this._pubTrickle.add(e.candidate ? e.candidate.toJSON() : null);
    };
    pc.onconnectionstatechange = () => {
      if (this.publisherPc !== pc) return;
      this._emit("publisher-state", { state: pc.connectionState });
      if (pc.connectionState === "connected") this._pubFailures = 0;
    };

    let simulcast = false;
    for (const track of stream.getAudioTracks()) {
      const tr = pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
      this._startRedTransform(tr.sender);
    }
    for (const track of stream.getVideoTracks()) {
      const width = (track.getSettings && track.getSettings().width) || 0;
      if (this.options.simulcast && width >= 640) {
        try {
          pc.addTransceiver(track, {
            direction: "sendonly",
            streams: [stream],
            sendEncodings: SIMULCAST_ENCODINGS.map((e) => ({ ...e })),
          });
          simulcast = true;
          continue;
        } catch (err) {
          this._log("simulcast not available, single encoding", err);
        }
      }
      pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
    }

    const offer = await this._setPublisherOffer(pc, await pc.createOffer());
    if (this.publisherPc !== pc) throw new ShopCallError("cancelled", "Publish replaced");
    let reply;
    try {
      reply = await this.request({ type: "publish", sdp: pc.localDescription ? pc.localDescription.sdp : offer.sdp });
    } catch (err) {
      if (this.publisherPc === pc) this._closePublisher();
      throw err;
    }
    if (this.publisherPc !== pc) throw new ShopCallError("cancelled", "Publish replaced");
    await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
    this._redAnswered(reply.sdp);
    trickle.flush();
    this._pubWatch = this._watchIce(pc, {
      target: "publisher",
      pid: () => this.pid,
      restart: () => this._restartPublisherIce(pc),
      rebuild: () => this._onPublisherFailed(gen),
      // our path moved: subscribers get our packets again but need a key frame to show them
      requestKeyframe: () => {
        if (this.pid) this.request({ type: "keyframe", pid: this.pid }).catch((err) => this._log("key frame request failed", err));
      },
    });
    this.simulcast = simulcast;
    this._emit("published", { stream, simulcast });
    // tell the others our current mute state if anything is muted
    if (this.muted.audio || this.muted.video) {
      this.request({ type: "mute", audio: this.muted.audio, video: this.muted.video }).catch(() => {});
    }
    return { simulcast };
  },

  /**
   * Set the offer, with Opus and RED swapped when redundant audio is on (see red.js); a browser
   * that refuses the munged offer sends Opus only.
   * @param {RTCPeerConnection} pc @param {RTCSessionDescriptionInit} offer
   * @returns {Promise<RTCSessionDescriptionInit>} the offer that was set
   */
  async _setPublisherOffer(pc, offer) {
    const sdp = this.options.audioRedundancy ? swapOpusAndRed(offer.sdp || "") : offer.sdp;
    if (sdp !== offer.sdp) {
      try {
        await pc.setLocalDescription({ type: "offer", sdp });
        return { type: "offer", sdp };
      } catch (err) {
        this._log("redundant audio offer refused, sending Opus only", err);
      }
    }
    await pc.setLocalDescription(offer);
    return offer;
  },

  /**
   * Restart ICE on the live publisher connection: an offer with fresh ICE credentials (`iceRestart`),
   * `ice_restart` → the server's answer. Tracks, encodings, the RED worker and the feed stay as they
   * are. Its candidates wait until the server has the new offer.
   * @param {RTCPeerConnection} pc
   */
  async _restartPublisherIce(pc) {
    if (this.publisherPc !== pc) return;
    const trickle = candidateQueue(this, "publisher");
    this._pubTrickle = trickle;
    await this._setPublisherOffer(pc, await pc.createOffer({ iceRestart: true }));
    let reply;
    try {
      reply = await this.request({ type: "ice_restart", target: "publisher", sdp: pc.localDescription ? pc.localDescription.sdp : "" });
    } catch (err) {
      if (this.publisherPc === pc && pc.signalingState === "have-local-offer") {
        await pc.setLocalDescription({ type: "rollback" }).catch(() => {});
      }
      throw err;
    }
    if (this.publisherPc !== pc) return;
    await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
    this._redAnswered(reply.sdp);
    trickle.flush();
  },

  /**
   * Debugging and tests: restart ICE on every live connection now, as a network change does.
   * @returns {number} how many connections were asked to restart
   */
  restartIce() {
    const watches = [...(this._iceWatches || [])];
    for (const w of watches) w.networkChanged();
    return watches.length;
  },

  /** Stop publishing (`unpublish`), keeping the room membership. */
  async unpublish() {
    const had = !!this.publisherPc;
    this._closePublisher();
    this.localStream = null;
    if (had && this.room) {
      try {
        await this.request({ type: "unpublish" });
      } catch (err) {
        if (err.code !== "not_publishing") throw err;
      }
    }
    this._emit("unpublished", {});
  },

  _closePublisher() {
    this._stopRedTransform();
    if (this._pubWatch) this._pubWatch.dispose();
    this._pubWatch = null;
    this._pubTrickle = null;
    const pc = this.publisherPc;
    this.publisherPc = null;
    if (pc) {
      pc.onicecandidate = null;
      pc.onconnectionstatechange = null;
      try {
        pc.close();
      } catch (_) {
        /* ignore */
      }
    }
  },

  /**
   * Re-publish after ICE restarts could not repair the connection, backing off; gives up after 3 tries.
   * @param {number} gen
   */
  async _onPublisherFailed(gen) {
    if (gen !== this._publishGen || !this.localStream || !this.room) return;
    this._pubFailures += 1;
    if (this._pubFailures > 3) {
      this._setMediaHealth("publisher", this.pid, "failed");
      this._emitError(new ShopCallError("media_unavailable", "Could not send your video"), "publish");
      return;
    }
    await sleep(1000 * this._pubFailures);
    if (gen !== this._publishGen || !this.localStream || !this.room || this.state !== "connected") return;
    try {
      await this.publish(this.localStream);
    } catch (err) {
      this._emitError(err, "publish");
    }
  },

  /**
   * Mute or unmute local media: sets `track.enabled` and tells the room (`mute`).
   * @param {{audio?: boolean, video?: boolean}} what true = muted
   * @returns {Promise<{audio: boolean, video: boolean}>}
   */
  async setMuted(what) {
    const msg = { type: "mute" };
    if (typeof what.audio === "boolean") {
      this.muted.audio = what.audio;
      msg.audio = what.audio;
    }
    if (typeof what.video === "boolean") {
      this.muted.video = what.video;
      msg.video = what.video;
    }
    this._applyMuteToTracks();
    this._emit("local-muted", { ...this.muted });
    if (this.room && this.state === "connected" && ("audio" in msg || "video" in msg)) {
      try {
        await this.request(msg);
      } catch (err) {
        this._emitError(err, "mute");
      }
    }
    return { ...this.muted };
  },

  _applyMuteToTracks() {
    const s = this.localStream;
    if (!s) return;
    for (const t of s.getAudioTracks()) t.enabled = !this.muted.audio;
    for (const t of s.getVideoTracks()) t.enabled = !this.muted.video;
  },
};
