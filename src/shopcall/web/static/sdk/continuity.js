/**
 * Continuity: a call survives a dropped connection and a new page of the same tab.
 *
 * The server keeps a dropped participant's place for its grace period (60 s by default) and shows
 * them to the others as reconnecting (`participant-reconnecting` / `participant-reconnected`).
 * While this client is in a room or waits for an answer, the server pushes it short-lived resume
 * tokens; the SDK keeps the newest in the tab's sessionStorage. A page of the same tab that loads
 * within the grace period calls `resume()` and is the same participant again: same identity, same
 * room and pid, same call (docs/signalling.md "Continuity").
 * @module shopcall/continuity
 */

import { ShopCallError } from "./errors.js";

/** sessionStorage key of the saved resume token. */
export const RESUME_KEY = "shopcall.resume";

/** Server events after which there is nothing left to resume. */
export const ENDS_RESUME = Object.freeze(["room_ended", "call_unanswered"]);

/**
 * @typedef {{token: string, expires_at: number, room: string|null, call: string|null, pid: string|null}} SavedResume
 */

/**
 * The storage the client keeps its resume token in: `options.resumeStorage` (null: none), else the
 * tab's sessionStorage when there is one.
 * @param {any} client
 * @returns {Storage|null}
 */
export function resumeStorage(client) {
  const opt = client.options && client.options.resumeStorage;
  if (opt !== undefined) return opt;
  try {
    return typeof sessionStorage === "undefined" ? null : sessionStorage;
  } catch (_) {
    return null; // storage disabled by the browser
  }
}

/**
 * The saved resume token, if one is there and not expired (an expired one is removed).
 * @param {Storage|null} storage
 * @param {number} [nowMs]
 * @returns {SavedResume|null}
 */
export function loadResume(storage, nowMs = Date.now()) {
  if (!storage) return null;
  let saved = null;
  try {
    saved = JSON.parse(storage.getItem(RESUME_KEY) || "null");
  } catch (_) {
    saved = null;
  }
  if (!saved || typeof saved.token !== "string" || typeof saved.expires_at !== "number") return null;
  if (saved.expires_at * 1000 <= nowMs) {
    storage.removeItem(RESUME_KEY);
    return null;
  }
  return saved;
}

/** ShopCallClient methods (mixed into its prototype). */
export const methods = {
  /**
   * Come back as the participant this tab was before a reload or a navigation, if the server still
   * keeps the place. Resolves with null when there is nothing to resume (no token, expired, or the
   * call has ended: the token is forgotten); then connect() as usual.
   * @returns {Promise<null|{room: string|null, call: string|null, pid: string|null,
   *   welcome: import("./shopcall.js").Welcome, answered: Promise<any>|null}>}
   *   `room`: join it (the server gives back the same pid) and publish again; `call` without a
   *   room: still waiting, `answered` settles like startCall()'s.
   */
  async resume() {
    const saved = loadResume(resumeStorage(this));
    if (!saved) return null;
    this._resumeToken = saved.token;
    let welcome;
    try {
      welcome = await this.connect(null);
    } catch (err) {
      this._forgetResume();
      if (err instanceof ShopCallError && (err.code.startsWith("resume_") || err.code.startsWith("token_"))) return null;
      throw err;
    }
    const r = welcome.resume || { room: saved.room, call: saved.call, pid: saved.pid };
    let answered = null;
    if (r.call && !r.pid) {
      // still waiting in the queue (or answered meanwhile): take the place up again
      answered = this.waitForAnswer(r.call);
      answered.catch(() => {});
      await this._resumeCalls();
    }
    return { room: r.room, call: r.call, pid: r.pid, welcome, answered };
  },

  /** @param {SavedResume} msg */
  _storeResume(msg) {
    this._resumeToken = msg.token;
    const storage = resumeStorage(this);
    if (!storage) return;
    const saved = { token: msg.token, expires_at: msg.expires_at, room: msg.room, call: msg.call, pid: msg.pid };
    try {
      storage.setItem(RESUME_KEY, JSON.stringify(saved));
    } catch (_) {
      /* storage full or disabled: a reload starts afresh */
    }
  },

  /** Nothing to come back to (the call ended, the user hung up, the client was closed). */
  _forgetResume() {
    this._resumeToken = null;
    const storage = resumeStorage(this);
    try {
      if (storage) storage.removeItem(RESUME_KEY);
    } catch (_) {
      /* ignore */
    }
  },
};

/** @type {import("./messages.js").MessageTable} */
export const messages = {
  resume_token(c, msg) {
    c._storeResume(msg);
  },
  participant_reconnecting(c, msg) {
    const known = c.participants.get(msg.pid);
    const participant = { ...(known || msg.participant), publishing: false, reconnecting: true };
    c.participants.set(msg.pid, participant);
    c._emit("participant-reconnecting", { pid: msg.pid, participant, graceS: msg.grace_s ?? null });
  },
  participant_reconnected(c, msg) {
    const participant = { ...msg.participant, reconnecting: false };
    c.participants.set(participant.pid, participant);
    c._emit("participant-reconnected", { pid: participant.pid, participant });
  },
};
