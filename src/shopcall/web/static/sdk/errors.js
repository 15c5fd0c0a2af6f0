/**
 * Errors: the protocol's error codes as a ShopCallError, and a sentence for a person.
 * @module shopcall/errors
 */

/** Error carrying a protocol error `code` (see docs/signalling.md "Error codes"). */
export class ShopCallError extends Error {
  /**
   * @param {string} code
   * @param {string} [message]
   * @param {{fatal?: boolean, cause?: any, re?: string}} [extra]
   */
  constructor(code, message, extra = {}) {
    super(message || code, extra.cause ? { cause: extra.cause } : undefined);
    this.name = "ShopCallError";
    /** @type {string} */
    this.code = code;
    /** @type {boolean} */
    this.fatal = !!extra.fatal;
    /** @type {string|undefined} */
    this.re = extra.re;
  }
}

/**
 * English sentences for the error codes a person may see: the fallback when no catalog is loaded.
 * The translated ones are the `errors.<code>` keys of static/i18n/locales/<locale>/errors.json (a test keeps
 * the English catalog and this table equal).
 */
export const ERROR_TEXT = {
  token_invalid: "Your session is not valid — please reload the page.",
  token_expired: "Your session expired — please reload the page.",
  token_wrong_app: "This session belongs to another shop — please reload the page.",
  forbidden: "You are not allowed to do that.",
  not_in_room: "You are not in this call any more.",
  room_not_found: "This call no longer exists.",
  room_ended: "The call has ended.",
  call_not_found: "This call is no longer ringing.",
  call_taken: "Another agent already answered this call.",
  recording_disabled: "Recording is switched off for this shop.",
  recording_required: "This shop records every call.",
  not_recording: "Nothing is being recorded.",
  visitor_gone: "That visitor has left the shop.",
  visitor_busy: "That visitor is already talking to someone or has an open invitation.",
  invite_not_found: "This invitation has expired.",
  closed: "We are closed right now — leave a callback request and we will call you.",
  no_agent: "None of our experts could take your call right now.",
  agent_unavailable: "That agent cannot take the call right now.",
  media_unavailable: "The video service is unavailable right now — please try again shortly.",
  timeout: "The server did not answer in time.",
  rate_limited: "That was a lot at once — please wait a moment and try again.",
  disconnected: "Connection lost.",
  connect_failed: "Could not reach the video service — check your connection.",
  camera_blocked: "Camera blocked — allow camera access in your browser.",
  microphone_blocked: "Microphone blocked — allow microphone access in your browser.",
  media_blocked: "Camera and microphone blocked — allow access in your browser.",
  no_camera: "No camera found — you can still talk by voice.",
  no_microphone: "No microphone found.",
  device_busy: "Your camera or microphone is used by another app.",
  media_insecure: "Camera access needs a secure (https) page.",
  webrtc_unsupported: "This browser does not support video calls.",
  internal: "Something went wrong on our side.",
};

/** The catalog key of an error code's sentence. @param {string} code */
export const errorKey = (code) => `errors.${code}`;

/**
 * A sentence for a person, from an error (ShopCallError or anything else), in the locale of `i18n`
 * (an I18n from static/i18n/i18n.js) when given, else English.
 * @param {any} err
 * @param {{t: (key: string) => string, has: (key: string) => boolean}} [i18n]
 * @returns {string}
 */
export function describeError(err, i18n) {
  if (!err) return "";
  const code = err.code || "";
  if (i18n && code && i18n.has(errorKey(code))) return i18n.t(errorKey(code));
  if (ERROR_TEXT[code]) return ERROR_TEXT[code];
  if (i18n && !err.code && i18n.has("errors.internal")) return i18n.t("errors.internal");
  return err.message || String(err);
}

/**
 * The ShopCallError for a server `error` frame.
 * @param {{code?: string, message?: string, fatal?: boolean, re?: string}} msg
 */
export function errorFromMessage(msg) {
  return new ShopCallError(msg.code || "internal", msg.message || msg.code, { fatal: !!msg.fatal, re: msg.re ?? undefined });
}

/** Anything thrown, as a ShopCallError (`internal` unless it already is one). @param {any} err */
export function asShopCallError(err) {
  return err instanceof ShopCallError ? err : new ShopCallError("internal", String(err && err.message), { cause: err });
}
