/**
 * ShopCallClient: the state of one connection, its events, and the glue between the feature
 * modules. Each module contributes methods (mixed into the prototype) and its part of the
 * server-message table; see the module list below.
 * @module shopcall/client
 */

import { ShopCallError, asShopCallError } from "./errors.js";
import * as continuity from "./continuity.js";
import * as calls from "./features/calls.js";
import * as incall from "./features/incall.js";
import * as moderation from "./features/moderation.js";
import * as quality from "./features/quality.js";
import * as recording from "./features/recording.js";
import * as visitors from "./features/visitors.js";
import { dispatch, mergeTables } from "./messages.js";
import * as peer from "./peer.js";
import * as publisher from "./publisher.js";
import * as red from "./red.js";
import * as room from "./room.js";
import * as screen from "./screen.js";
import * as subscriptions from "./subscriptions.js";
import * as transport from "./transport.js";

const PARTS = [transport, continuity, room, peer, publisher, red, subscriptions, screen, calls, incall, moderation, recording, visitors, quality];

/** Server message type → handler or forwarded event, from every part (see messages.js). */
export const MESSAGES = mergeTables(...PARTS.map((p) => p.messages || {}));

/** Debug logging can be switched on for a page without code: `localStorage["shopcall-debug"] = "1"`. */
function debugFlag() {
  try {
    return globalThis.localStorage?.getItem("shopcall-debug") === "1";
  } catch {
    return false; // storage blocked (sandboxed frame, privacy mode)
  }
}

/**
 * ShopCall client. One instance = one WebSocket = one identity.
 *
 * Events (all `CustomEvent`, payload in `event.detail`):
 * - `connection-state` `{state, previous}` — idle, connecting, connected, reconnecting, closed
 * - `welcome` `{welcome}` — after every successful hello (also after reconnects)
 * - `reconnected` `{welcome}`
 * - `joined` `{room, pid, participants}`
 * - `left` `{room, reason?}` — after leave(), or `reason: "rejoin_failed"` when a reconnect could not
 *   get back into the room (an `error` with `action: "rejoin"`, `fatal: true` comes first)
 * - `participant-joined` `{participant}`
 * - `participant-left` `{pid, reason, participant}`
 * - `participant-updated` `{participant}`
 * - `participant-reconnecting` `{pid, participant, graceS}` — their connection dropped; the server keeps
 *   their place for `graceS` (then `participant-left` with reason `disconnected`, and a call ends)
 * - `participant-reconnected` `{pid, participant}` — back in their place (same pid); they publish again
 * - `track` `{pid, sid, stream, track, participant}` — once per remote track (same `stream`
 *   object for all tracks of one participant)
 * - `track-removed` `{pid, sid}` — the participant's media is gone
 * - `published` `{stream, simulcast}` / `unpublished` `{}`
 * - `local-muted` `{audio, video}` — local mute state changed
 * - `media-state` `{target, pid, state}` — server-side view of a peer connection (`up`/`down`)
 * - `media-health` `{target, pid, state}` — this side's view, target `publisher`, `screen` or
 *   `subscription` (pid = whose media): `reconnecting` while ICE restarts or a rebuild repair it, `ok`
 *   once connected again, `failed` when re-publishing/re-subscribing gave up; `ice-restart`
 *   `{target, pid, reason, attempt}` when a restart starts (`client.iceRestarts` counts them)
 * - `media-reset` `{reason}` — the media server restarted; the SDK re-publishes/re-subscribes
 * - `room-ended` `{room, reason}`
 * - `incoming-call` {@link IncomingCall}
 * - `call-cancelled` `{call}` / `call-taken` `{call}` / `call-answered` `{call, agent}`
 * - `token-expiring` `{expires_at}` / `token-refreshed` `{}`
 * - `error` `{error: ShopCallError, fatal, action}` — errors not tied to a request you awaited
 * - `message` `{message}` — every raw server frame (for debugging)
 * The feature modules' message tables name the rest (chat, product-card, recording-state, …).
 */
export class ShopCallClient extends EventTarget {
  /** @param {import("./shopcall.js").ClientOptions} [options] */
  constructor(options = {}) {
    super();
    this.options = {
      url: options.url || transport.defaultUrl(),
      requestTimeoutMs: options.requestTimeoutMs ?? 15000,
      reconnect: options.reconnect ?? true,
      maxReconnectAttempts: options.maxReconnectAttempts ?? 8,
      tokenProvider: options.tokenProvider || null,
      simulcast: options.simulcast ?? true,
      autoSubscribe: options.autoSubscribe ?? true,
      qualityReportMs: options.qualityReportMs ?? 5000,
      audioRedundancy: options.audioRedundancy ?? true,
      relayOnly: options.relayOnly ?? false,
      debug: options.debug ?? debugFlag(),
      resumeStorage: options.resumeStorage, // undefined: the tab's sessionStorage (continuity.js)
    };
    /** @type {import("./shopcall.js").ConnectionState} */
    this.state = "idle";
    /** @type {import("./shopcall.js").Welcome|null} */
    this.welcome = null;
    /** @type {string|null} */
    this.token = null;
    /** @type {WebSocket|null} */
    this.ws = null;
    /** @type {string|null} room id we are in (or joining) */
    this.room = null;
    /** @type {string|null} our participant id in the room */
    this.pid = null;
    /** @type {Map<string, import("./shopcall.js").Participant>} other participants, by pid */
    this.participants = new Map();
    /** @type {any} what `joined` carried (chat history, cards, annotations), for late UIs */
    this.lastJoined = null;
    /** @type {string|null} spotlighted pid */
    this.spotlight = null;
    /** @type {{id: string, by: string}|null} the room's running recording */
    this.recording = null;
    /** @type {MediaStream|null} */
    this.localStream = null;
    /** @type {RTCPeerConnection|null} */
    this.publisherPc = null;
    /** @type {boolean} whether the last publish used simulcast */
    this.simulcast = false;
    /** @type {RTCPeerConnection|null} */
    this.screenPc = null;
    /** @type {MediaStream|null} */
    this.screenStream = null;
    /** @type {number} redundant audio frames per packet the server asked for (1: Chrome's RED) */
    this.audioRedundancyDistance = 1;
    /** @type {Worker|null} */
    this._redWorker = null;
    /** @type {Map<string, import("./subscriptions.js").Subscription>} by publisher pid */
    this.subscriptions = new Map();
    /** @type {{audio: boolean, video: boolean}} */
    this.muted = { audio: false, video: false };
    /** @type {boolean} agent asked to ring */
    this.available = false;

    this._seq = 0;
    /** @type {Map<string, {resolve: Function, reject: Function, timer: any, type: string, soft: boolean}>} */
    this._pending = new Map();
    this._heartbeatTimer = null;
    this._qualityTimer = null;
    this._lastSeen = 0;
    this._closing = false;
    this._reconnectAttempt = 0;
    this._publishGen = 0;
    this._pubFailures = 0;
    this._fatal = false;
    /** @type {string|null} the newest resume token the server gave us (continuity.js) */
    this._resumeToken = null;
    this._lastPingAt = 0;
    /** @type {Map<string, {resolve: Function, reject: Function, promise: Promise<any>}>} */
    this._answerWaiters = new Map();
  }

  /** Identity from the welcome, or null. */
  get identity() {
    return this.welcome ? this.welcome.identity : null;
  }

  /** Role from the welcome ("shopper", "agent", "admin"), or null. */
  get role() {
    return this.welcome ? this.welcome.role : null;
  }

  /**
   * Convenience listener: `client.on("track", ({pid, stream}) => …)`; returns an unsubscribe.
   * @param {string} type
   * @param {(detail: any) => void} fn
   * @returns {() => void}
   */
  on(type, fn) {
    const h = (/** @type {any} */ e) => fn(e.detail);
    this.addEventListener(type, h);
    return () => this.removeEventListener(type, h);
  }

  /** @param {string} type @param {any} [detail] */
  _emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** @param {any} err @param {string} action */
  _emitError(err, action) {
    const error = asShopCallError(err);
    this._log("error", action, error);
    this._emit("error", { error, fatal: !!error.fatal, action });
  }

  /** @param {import("./shopcall.js").ConnectionState} state */
  _setState(state) {
    if (this.state === state) return;
    const previous = this.state;
    this.state = state;
    this._emit("connection-state", { state, previous });
  }

  _log(...args) {
    if (this.options.debug) console.debug("[shopcall]", ...args);
  }

  /** A server event (not a reply): the message table decides. @param {{type: string}} msg */
  _dispatch(msg) {
    dispatch(MESSAGES, this, msg);
  }

  /**
   * Close everything: peer connections and the socket. Does not stop local camera tracks
   * (the app owns them). Emits `connection-state` `closed`.
   */
  close() {
    this._closing = true;
    this._forgetResume(); // closed on purpose: nothing for a next page to resume
    this.available = false;
    this._dropAllMedia();
    this._dropRoom();
    this._teardownSocket();
    for (const w of this._answerWaiters.values()) w.reject(new ShopCallError("disconnected", "Client closed"));
    this._answerWaiters.clear();
    this._setState("closed");
  }

  /**
   * Close every peer connection (publisher, screen, subscriptions) without telling the server.
   * @param {boolean} [forgetStream=true]
   */
  _dropAllMedia(forgetStream = true) {
    this._closePublisher();
    this._closeScreen(true);
    for (const pid of [...this.subscriptions.keys()]) this._dropSubscription(pid, false);
    if (forgetStream) this.localStream = null;
  }

  /** After a reconnect the server knows nothing of this connection: ring again, resume waiting calls, rejoin, re-publish. */
  async _restoreAfterReconnect() {
    if (this.available) {
      try {
        const reply = await this.request({ type: "available" });
        for (const c of reply.calls || []) this._emit("incoming-call", c);
      } catch (err) {
        this._emitError(err, "available");
      }
    }
    await this._resumeCalls();
    if (!this.room) return;
    const room = this.room;
    const stream = this.localStream;
    // live peer connections may outlast the drop (the server keeps our media for the grace period):
    // ask for it back; what a connection lost on the way, an ICE restart repairs
    const keepMedia = !!(this.publisherPc || this.subscriptions.size);
    if (!keepMedia) this._dropAllMedia();
    this.participants.clear();
    let info;
    this._rejoining = true;
    try {
      info = await this.join(room, { keepMedia });
    } catch (err) {
      // the call is lost for this client: say so clearly
      this._dropAllMedia();
      this._dropRoom();
      this._emit("error", { error: asShopCallError(err), fatal: true, action: "rejoin", room });
      this._emit("left", { room, reason: "rejoin_failed" });
      return;
    } finally {
      this._rejoining = false;
    }
    if (info.mediaKept) {
      // the socket broke with the network: every path may have too (a receive-only one is reported
      // late), so restart ICE on all of them now; one that still worked switches without a gap
      for (const w of [...(this._iceWatches || [])]) w.networkChanged();
      return;
    }
    try {
      if (stream) await this.publish(stream);
    } catch (err) {
      this._emitError(err, "publish");
    }
  }
}

// The parts' methods become ShopCallClient methods (non-enumerable, like class methods).
for (const part of PARTS) {
  for (const [name, desc] of Object.entries(Object.getOwnPropertyDescriptors(part.methods || {}))) {
    if (name in ShopCallClient.prototype) throw new Error(`ShopCallClient.${name} defined twice`);
    Object.defineProperty(ShopCallClient.prototype, name, { ...desc, enumerable: false });
  }
}
