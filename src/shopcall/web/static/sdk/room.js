/**
 * Room membership: join/leave, the participant list, and the room events that decide what to
 * subscribe to (tracks published and unpublished, media server restarts).
 * @module shopcall/room
 */

/** Errors that mean "already out of the room": leaving or ending it again is not a failure. */
const GONE = ["not_in_room", "room_ended", "room_not_found", "disconnected"];

/** The owner's pid of a screen share (`<pid>:screen`), or null for a camera pid. @param {string} pid */
export function screenOwner(pid) {
  return pid.endsWith(":screen") ? pid.slice(0, -7) : null;
}

/** ShopCallClient methods (mixed into its prototype). */
export const methods = {
  /**
   * Join a room; subscribes automatically to everyone already publishing.
   * @param {string} room
   * @param {{keepMedia?: boolean}} [opts] `keepMedia` (after a reconnect): ask the server to hand back the
   *   media it kept for us, so the live peer connections go on; `mediaKept` in the result says if it did
   * @returns {Promise<{room: string, pid: string, participants: import("./shopcall.js").Participant[], mediaKept: boolean}>}
   */
  async join(room, opts = {}) {
    this.room = room;
    let reply;
    try {
      reply = await this.request(opts.keepMedia ? { type: "join", room, keep_media: true } : { type: "join", room });
    } catch (err) {
      if (this.room === room) this.room = null;
      throw err;
    }
    const mediaKept = !!(opts.keepMedia && reply.media_kept);
    if (opts.keepMedia && !mediaKept) this._dropAllMedia(false); // the server released it: start afresh
    this.room = reply.room || room;
    this.pid = reply.pid;
    this.participants.clear();
    for (const p of reply.participants || []) this.participants.set(p.pid, p);
    const info = {
      room: this.room,
      pid: this.pid,
      participants: [...this.participants.values()],
      chat: reply.chat || [],
      cards: reply.cards || [],
      annotations: reply.annotations || {},
      spotlight: reply.spotlight || null,
      kind: reply.kind || "call",
      mediaKept,
    };
    this._startQualityReports();
    this.lastJoined = info;
    this.spotlight = reply.spotlight || null;
    this.recording = reply.recording && reply.recording.active ? { id: reply.recording.recording, by: reply.recording.by } : null;
    this.roomKind = reply.kind || "call";
    this._emit("joined", info);
    if (mediaKept) this._keepMedia();
    if (this.options.autoSubscribe) {
      for (const p of this.participants.values()) {
        if (p.publishing) this._subscribeSafe(p.pid);
        if (p.screen) this._subscribeSafe(`${p.pid}:screen`);
      }
    }
    return info;
  },

  /** Leave the room (`leave` → `left`), releasing all media; the socket stays open. */
  async leave() {
    const room = this.room;
    this._dropAllMedia();
    if (room && this.state === "connected") {
      try {
        await this.request({ type: "leave" });
      } catch (err) {
        if (!GONE.includes(err.code)) throw err;
      }
    }
    this._dropRoom();
    this._emit("left", { room });
  },

  /** Agents/admins: end the room for everyone (`end_room`). */
  async endRoom() {
    try {
      await this.request({ type: "end_room" }, { soft: true });
    } catch (err) {
      if (!GONE.includes(err.code)) throw err;
    }
  },

  /**
   * The server handed our kept media back after a reconnect: keep the peer connections whose other
   * end still exists (ICE repairs their path if the network moved), drop subscriptions to feeds that
   * stopped meanwhile, and end our screen share (the server stops it when a connection drops).
   */
  _keepMedia() {
    for (const [pid, sub] of [...this.subscriptions]) {
      const owner = screenOwner(pid);
      const p = this.participants.get(owner || pid);
      if (!p || !(owner ? p.screen : p.publishing)) this._dropSubscription(pid, true);
    }
    if (this.screenPc) {
      this._closeScreen(true);
      this._emit("screen-share", { active: false, stream: null });
    }
    this._log("media kept through the reconnect", this.subscriptions.size, "subscriptions");
  },

  _dropRoom() {
    this._stopQualityReports();
    this.room = null;
    this.pid = null;
    this.participants.clear();
  },

  /**
   * The participant behind a pid; a screen share (`<pid>:screen`) maps to its owner, named "… (screen)".
   * @param {string} pid
   */
  participantFor(pid) {
    const ownerPid = screenOwner(pid);
    if (ownerPid) {
      const owner = this.participants.get(ownerPid);
      return owner ? { ...owner, pid, name: `${owner.name} (screen)`, source: "screen", of: owner.pid } : null;
    }
    return this.participants.get(pid) || null;
  },

  /** Mark a participant's camera or screen as (not) published. @param {string} pid @param {boolean} on */
  _markPublishing(pid, on) {
    const ownerPid = screenOwner(pid);
    const owner = ownerPid && this.participants.get(ownerPid);
    if (owner) owner.screen = on;
    const p = this.participants.get(pid);
    if (p) p.publishing = on;
  },

  /** @param {string} reason */
  async _onMediaReset(reason) {
    this._emit("media-reset", { reason });
    const stream = this.localStream;
    this._dropAllMedia(false);
    if (!this.room) return;
    try {
      if (stream) await this.publish(stream);
    } catch (err) {
      this._emitError(err, "publish");
    }
    if (this.options.autoSubscribe) {
      for (const p of this.participants.values()) if (p.publishing) this._subscribeSafe(p.pid);
    }
  },
};

/** @type {import("./messages.js").MessageTable} */
export const messages = {
  participant_joined(c, { participant: p }) {
    if (!p || !p.pid) return;
    c.participants.set(p.pid, p);
    c._emit("participant-joined", { participant: p });
    if (p.publishing && c.options.autoSubscribe) c._subscribeSafe(p.pid);
  },
  participant_left(c, { pid, reason }) {
    const participant = c.participants.get(pid) || null;
    c.participants.delete(pid);
    c._dropSubscription(pid, true);
    c._emit("participant-left", { pid, reason: reason || "left", participant });
  },
  participant_updated(c, { participant: p }) {
    if (!p || !p.pid) return;
    if (p.pid === c.pid) {
      c._emit("participant-updated", { participant: p, self: true });
      return;
    }
    const merged = { ...(c.participants.get(p.pid) || {}), ...p };
    c.participants.set(p.pid, merged);
    c._emit("participant-updated", { participant: merged });
    if (merged.publishing && !c.subscriptions.has(p.pid) && c.options.autoSubscribe) c._subscribeSafe(p.pid);
  },
  track_published(c, { pid }) {
    if (pid === c.pid || pid === `${c.pid}:screen`) return;
    c._markPublishing(pid, true);
    if (!c.options.autoSubscribe) return;
    // a re-publish invalidates the old subscription
    if (c.subscriptions.has(pid)) c._dropSubscription(pid, true);
    c._subscribeSafe(pid);
  },
  track_unpublished(c, { pid }) {
    c._markPublishing(pid, false);
    c._dropSubscription(pid, true);
  },
  room_ended(c, msg) {
    const room = msg.room || c.room;
    c._dropAllMedia();
    c._dropRoom();
    c._emit("room-ended", { room, reason: msg.reason || "ended" });
  },
  media_reset(c, msg) {
    c._onMediaReset(msg.reason);
  },
  media_state(c, msg) {
    const target = msg.sid || msg.target || "publisher";
    let pid = null;
    if (target === "publisher") pid = c.pid;
    else for (const s of c.subscriptions.values()) if (s.sid === target) pid = s.pid;
    c._emit("media-state", { target, pid, state: msg.state });
  },
};
