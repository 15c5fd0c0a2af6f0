/**
 * Redundant audio (RED, RFC 2198) through Janus's VideoRoom: the SDP munging that lets it cross
 * the SFU, and the worker that deepens it when the server asks (`audio_redundancy`).
 * @module shopcall/red
 */

/** Janus's VideoRoom relays every publisher's audio to subscribers under this Opus payload type. */
export const JANUS_OPUS_PT = "111";

/**
 * The payload type (string) of a 48 kHz `codec` in an SDP section, or null.
 * @param {string} section @param {string} codec
 */
export function payloadTypeOf(section, codec) {
  const m = section.match(new RegExp(`^a=rtpmap:(\\d+) ${codec}/48000`, "im"));
  return m ? m[1] : null;
}

/** The first `m=audio` section of an SDP ("" if none). @param {string} sdp */
function audioSection(sdp) {
  return sdp.split(/(?=^m=)/m).find((sec) => sec.startsWith("m=audio")) || "";
}

/**
 * Let RED cross the SFU: swap the payload types of Opus and RED in our own offer, so our Opus
 * is not the one Janus uses towards subscribers. The server then answers with RED and declares
 * it to every subscriber (see shopcall/media/opus_red.py). An offer without RED, or whose Opus
 * is already elsewhere, is returned unchanged.
 * @param {string} sdp
 * @returns {string}
 */
export function swapOpusAndRed(sdp) {
  const parts = sdp.split(/(?=^m=)/m);
  const i = parts.findIndex((p) => p.startsWith("m=audio"));
  if (i < 0) return sdp;
  let sec = parts[i];
  const opus = payloadTypeOf(sec, "opus");
  const red = payloadTypeOf(sec, "red");
  if (!opus || !red || opus !== JANUS_OPUS_PT) return sdp;
  const swap = (x) => (x === opus ? red : x === red ? opus : x);
  sec = sec.replace(/^(a=(?:rtpmap|fmtp|rtcp-fb):)(\d+)/gm, (_, head, n) => head + swap(n));
  sec = sec.replace(/^(m=audio \S+ \S+ )([^\r\n]*)/m, (_, head, list) => head + list.split(" ").map(swap).join(" "));
  // RED's fmtp names its blocks' payload type: now Opus's new one
  sec = sec.replace(new RegExp(`^(a=fmtp:${opus} )(${opus}(?:/${opus})*)`, "m"), (_, key, blocks) => key + blocks.split("/").map(() => red).join("/"));
  parts[i] = sec;
  return parts.join("");
}

/** RED's payload type in an answer's audio section, as a number, or null. @param {string} sdp */
export function redPayloadType(sdp) {
  const red = payloadTypeOf(audioSection(sdp), "red");
  return red ? Number(red) : null;
}

/** ShopCallClient methods (mixed into its prototype). */
export const methods = {
  /**
   * Let the server deepen audio redundancy: a worker rewrites each outgoing RED packet to carry
   * the last `distance` frames (Chrome's own RED carries one). Needs RTCRtpScriptTransform (set
   * before negotiating: Chrome ignores a transform added to a sender already sending) and a RED
   * answer; without them the call keeps Chrome's RED or plain Opus.
   * @param {RTCRtpSender} sender
   */
  _startRedTransform(sender) {
    this._stopRedTransform();
    if (!this.options.audioRedundancy || typeof RTCRtpScriptTransform === "undefined") return;
    try {
      const worker = new Worker(new URL("./red-worker.js", import.meta.url));
      sender.transform = new RTCRtpScriptTransform(worker, {});
      worker.postMessage({ distance: this.audioRedundancyDistance || 1 });
      this._redWorker = worker;
    } catch (err) {
      this._log("deeper audio redundancy unavailable", err);
    }
  },

  /** Tell the worker which payload type is RED in the answer (none: it passes frames through). */
  _redAnswered(answerSdp) {
    if (this._redWorker) this._redWorker.postMessage({ redPt: redPayloadType(answerSdp) });
  },

  _stopRedTransform() {
    if (this._redWorker) this._redWorker.terminate();
    this._redWorker = null;
  },
};

/** @type {import("./messages.js").MessageTable} */
export const messages = {
  audio_redundancy(c, msg) {
    c.audioRedundancyDistance = Number(msg.distance) || 1;
    if (c._redWorker) c._redWorker.postMessage({ distance: c.audioRedundancyDistance });
    c._emit("audio-redundancy", { distance: c.audioRedundancyDistance, active: !!c._redWorker });
  },
};
