/**
 * Quality: the periodic report of this client's own WebRTC stats (the server turns it into a
 * level, a simulcast layer and a receive buffer per subscription), and raw stats for apps.
 * @module shopcall/features/quality
 */

import { emit } from "../messages.js";

/**
 * The path of a connection's selected ICE candidate pair, from its stats: "direct", or "relay-udp",
 * "relay-tcp", "relay-tls" when the local candidate is a TURN relay (by its protocol to the TURN server).
 * @param {RTCStatsReport|Map<string, any>} stats
 * @returns {"direct"|"relay-udp"|"relay-tcp"|"relay-tls"|null} null: no pair selected yet
 */
export function selectedPath(stats) {
  let pairId = null;
  stats.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  let pair = pairId ? stats.get(pairId) : null;
  if (!pair) {
    stats.forEach((s) => {
      if (!pair && s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s;
    });
  }
  const local = pair ? stats.get(pair.localCandidateId) : null;
  if (!local) return null;
  if (local.candidateType !== "relay") return "direct";
  const proto = String(local.relayProtocol || "udp").toLowerCase();
  return proto === "tls" ? "relay-tls" : proto === "tcp" ? "relay-tcp" : "relay-udp";
}

/** ShopCallClient methods (mixed into its prototype). */
export const methods = {
  _startQualityReports() {
    this._stopQualityReports();
    this._qualityPrev = new Map();
    if (!this.options.qualityReportMs) return;
    this._qualityTimer = setInterval(() => this._reportQuality().catch(() => {}), this.options.qualityReportMs);
  },

  _stopQualityReports() {
    clearInterval(this._qualityTimer);
    this._qualityTimer = null;
  },

  /**
   * A compact summary of this client's own getStats() since the last report: what the server
   * stores, turns into a MOS and a quality level, and uses to pick each subscription's layer.
   */
  async qualitySummary() {
    const now = performance.now();
    const prevAll = this._qualityPrev || new Map();
    const next = new Map();
    // deltas only against the same peer connection (a re-subscription starts its counters at 0)
    const delta = (key, pc, cur) => {
      const p = prevAll.get(key);
      next.set(key, { ...cur, t: now, pc });
      if (!p || p.pc !== pc) return null;
      return { ...Object.fromEntries(Object.keys(cur).map((k) => [k, Math.max(0, cur[k] - (p[k] || 0))])), dt: (now - p.t) / 1000 };
    };
    const out = { rtt_ms: null, jitter_ms: null, out_kbps: null, subs: {}, path: null };
    if (this.publisherPc) {
      let bytes = 0;
      const pubStats = await this.publisherPc.getStats();
      out.path = selectedPath(pubStats);
      pubStats.forEach((st) => {
        if (st.type === "outbound-rtp") bytes += st.bytesSent || 0;
        if (st.type === "candidate-pair" && st.nominated && st.currentRoundTripTime != null) out.rtt_ms = st.currentRoundTripTime * 1000;
        if (st.type === "remote-inbound-rtp" && st.roundTripTime != null && out.rtt_ms == null) out.rtt_ms = st.roundTripTime * 1000;
      });
      const d = delta("pub", this.publisherPc, { bytes });
      if (d && d.dt > 0) out.out_kbps = Math.round((d.bytes * 8) / d.dt / 1000);
    }
    for (const [pid, sub] of this.subscriptions) {
      if (!sub.pc) continue;
      const v = { bytes: 0, lost: 0, recv: 0, frames: 0, freeze: 0, conceal: 0, samples: 0 };
      let height = null, avail = null, jitter = null, rtt = null;
      const subStats = await sub.pc.getStats();
      if (out.path == null) out.path = selectedPath(subStats); // a receive-only participant's path
      subStats.forEach((st) => {
        if (st.type === "inbound-rtp") {
          v.bytes += st.bytesReceived || 0;
          v.lost += Math.max(0, st.packetsLost || 0);
          v.recv += st.packetsReceived || 0;
          if (st.kind === "video") {
            v.frames += st.framesDecoded || 0;
            v.freeze += st.totalFreezesDuration || 0;
            height = st.frameHeight || height;
          } else {
            v.conceal += st.concealedSamples || 0;
            v.samples += st.totalSamplesReceived || 0;
            if (st.jitter != null) jitter = st.jitter * 1000;
          }
        }
        if (st.type === "candidate-pair" && st.nominated) {
          if (st.availableIncomingBitrate) avail = st.availableIncomingBitrate / 1000;
          if (st.currentRoundTripTime != null) rtt = st.currentRoundTripTime * 1000;
        }
      });
      const d = delta(`sub:${pid}`, sub.pc, v);
      if (!d || d.dt <= 0) continue;
      const pk = d.lost + d.recv;
      out.subs[pid] = {
        loss_pct: pk > 0 ? Math.round((1000 * d.lost) / pk) / 10 : 0,
        kbps: Math.round((d.bytes * 8) / d.dt / 1000),
        fps: Math.round((d.frames / d.dt) * 10) / 10,
        freeze_ratio: Math.min(1, Math.max(0, d.freeze / d.dt)),
        concealment_ratio: d.samples > 0 ? Math.min(1, Math.max(0, d.conceal / d.samples)) : 0,
        height,
        available_kbps: avail,
      };
      if (out.rtt_ms == null && rtt != null) out.rtt_ms = rtt;
      if (jitter != null) out.jitter_ms = Math.max(out.jitter_ms || 0, jitter);
    }
    this._qualityPrev = next;
    if (out.path == null) delete out.path;
    else this.mediaPath = out.path;
    return out;
  },

  async _reportQuality() {
    if (!this.room || this.state !== "connected") return;
    const summary = await this.qualitySummary();
    if (summary.rtt_ms == null && !Object.keys(summary.subs).length) return;
    const ack = await this.request({ type: "quality", ...summary });
    this.networkQuality = { level: ack.level, mos: ack.mos };
    this._emit("network-quality", { level: ack.level, mos: ack.mos, summary });
  },

  /**
   * Raw WebRTC stats of every peer connection.
   * @returns {Promise<{publisher: RTCStatsReport|null, subscriptions: Object<string, RTCStatsReport>}>}
   *   subscriptions keyed by publisher pid
   */
  async getStats() {
    const out = { publisher: null, subscriptions: {} };
    if (this.publisherPc) out.publisher = await this.publisherPc.getStats();
    for (const [pid, sub] of this.subscriptions) if (sub.pc) out.subscriptions[pid] = await sub.pc.getStats();
    return out;
  },

  /**
   * A small summary for UIs and tests: bytes and frames sent/received, per direction.
   * @returns {Promise<{sent: {bytes: number, frames: number, layers: number}, received: Object<string, {bytes: number, frames: number, width: number, height: number}>}>}
   */
  async getStatsSummary() {
    const raw = await this.getStats();
    const sent = { bytes: 0, frames: 0, layers: 0 };
    if (raw.publisher) {
      raw.publisher.forEach((s) => {
        if (s.type === "outbound-rtp") {
          sent.bytes += s.bytesSent || 0;
          if (s.kind === "video") {
            sent.frames += s.framesEncoded || 0;
            sent.layers += 1;
          }
        }
      });
    }
    const received = {};
    for (const [pid, report] of Object.entries(raw.subscriptions)) {
      const r = { bytes: 0, frames: 0, width: 0, height: 0 };
      report.forEach((s) => {
        if (s.type === "inbound-rtp") {
          r.bytes += s.bytesReceived || 0;
          if (s.kind === "video") {
            r.frames += s.framesDecoded || 0;
            r.width = s.frameWidth || r.width;
            r.height = s.frameHeight || r.height;
          }
        }
      });
      received[pid] = r;
    }
    return { sent, received };
  },
};

/** @type {import("../messages.js").MessageTable} */
export const messages = {
  participant_quality: emit("participant-quality", (m) => ({ pid: m.pid, level: m.level })),
  participant_path: emit("participant-path", (m) => ({ pid: m.pid, path: m.path })),
  layer_changed: emit("layer-changed", (m) => ({ pid: m.pid, substream: m.substream, reason: m.reason })),
};
