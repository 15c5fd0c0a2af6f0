/**
 * Moderation by the host: mute, remove, spotlight — and what the SDK does when it is the target.
 * @module shopcall/features/moderation
 */

/** ShopCallClient methods (mixed into its prototype). */
export const methods = {
  /**
   * Host (agent): mute, remove or spotlight a participant; `unspotlight` needs no pid.
   * @param {string|null} pid
   * @param {"mute_audio"|"mute_video"|"remove"|"spotlight"|"unspotlight"} action
   */
  async moderate(pid, action) {
    return this.request({ type: "moderate", pid, action });
  },
};

/** @type {import("../messages.js").MessageTable} */
export const messages = {
  force_mute(c, msg) {
    const what = {};
    if (msg.audio) what.audio = true;
    if (msg.video) what.video = true;
    c.setMuted(what).catch(() => {});
    c._emit("force-muted", { ...what, by: msg.by });
  },
  removed(c, msg) {
    c._fatal = true; // the socket closes next (4003); do not reconnect into a room we were removed from
    c._emit("removed", { room: msg.room, by: msg.by });
  },
  spotlight(c, msg) {
    c.spotlight = msg.pid || null;
    c._emit("spotlight", { pid: c.spotlight });
  },
};
