/**
 * Recording: start/stop (agents), consent (shoppers), and the room's recording state.
 * @module shopcall/features/recording
 */

import { emit } from "../messages.js";

/** ShopCallClient methods (mixed into its prototype). */
export const methods = {
  /** Agent: start recording the room (per the app's policy; shoppers are asked for consent first). */
  async startRecording() {
    return this.request({ type: "start_recording" });
  },

  /** Agent: stop recording; the composite is prepared in the background. */
  async stopRecording() {
    return this.request({ type: "stop_recording" });
  },

  /**
   * Shopper: answer "may we record you?". A refusal means nothing of yours is recorded.
   * @param {string} recording @param {boolean} granted
   */
  async answerRecordingConsent(recording, granted) {
    return this.request({ type: "recording_consent", recording, granted });
  },
};

/** @type {import("../messages.js").MessageTable} */
export const messages = {
  recording_state(c, msg) {
    c.recording = msg.active ? { id: msg.recording, by: msg.by } : null;
    c._emit("recording-state", { active: !!msg.active, recording: msg.recording, by: msg.by });
  },
  recording_consent_request: emit("recording-consent-request"),
  recording_consent: emit("recording-consent"),
};
