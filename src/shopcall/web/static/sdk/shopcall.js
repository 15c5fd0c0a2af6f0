/**
 * ShopCall browser SDK.
 *
 * Speaks the ShopCall signalling protocol v1 (docs/signalling.md) over one WebSocket
 * (`ws(s)://<host>/v1/signal`) and manages the WebRTC peer connections to the media server:
 * one send-only "publisher" connection for the local camera/microphone and one receive-only
 * connection per subscription to a remote participant.
 *
 * Plain ES module, no dependencies.
 *
 * @example
 *   import { ShopCallClient } from "/static/sdk/shopcall.js";
 *   const client = new ShopCallClient();
 *   client.addEventListener("track", (e) => { video.srcObject = e.detail.stream; });
 *   await client.connect(token);
 *   const { call, room } = await client.startCall({ product: "sku-1", page: location.href });
 *   const { agent } = await client.waitForAnswer(call);
 *   await client.join(room);
 *   await client.publish(await navigator.mediaDevices.getUserMedia({ audio: true, video: true }));
 *
 * @module shopcall
 */

export const PROTOCOL_VERSION = 1;
export const SDK_VERSION = "0.1.0";

/**
 * @typedef {Object} Participant
 * @property {string} pid
 * @property {string} identity
 * @property {string} name
 * @property {"shopper"|"agent"|"admin"|string} role
 * @property {boolean} publishing
 * @property {boolean} audio_muted
 * @property {boolean} video_muted
 */

/**
 * @typedef {Object} Welcome
 * @property {string} identity
 * @property {string} name
 * @property {string} role
 * @property {string} app_id
 * @property {string[]} rooms
 * @property {number} expires_at
 * @property {RTCIceServer[]} ice_servers
 * @property {number} heartbeat_s
 */

/**
 * @typedef {Object} IncomingCall
 * @property {string} call
 * @property {string} room
 * @property {{identity: string, name: string}} shopper
 * @property {Object<string, any>} context
 * @property {number} [created_at]
 */

/**
 * @typedef {"idle"|"connecting"|"connected"|"reconnecting"|"closed"} ConnectionState
 */

/**
 * @typedef {Object} ClientOptions
 * @property {string} [url] WebSocket URL; default `ws(s)://<location.host>/v1/signal`.
 * @property {number} [requestTimeoutMs=15000] how long a request waits for its reply.
 * @property {boolean} [reconnect=true] reconnect automatically when the socket drops.
 * @property {number} [maxReconnectAttempts=8]
 * @property {() => Promise<string>|string} [tokenProvider] returns a fresh token; used on
 *   `token_expiring` (sends `refresh`) and when reconnecting.
 * @property {boolean} [simulcast=true] send three video layers when the camera is ≥ 640 wide.
 * @property {boolean} [autoSubscribe=true] subscribe to every publishing participant.
 * @property {boolean} [audioRedundancy=true] send redundant audio (RED) when the browser offers it:
 *   each packet also carries the previous one, so random loss costs far less audio.
 * @property {number} [qualityReportMs=5000] how often to send the quality summary (0: never).
 * @property {boolean} [debug=false] log protocol traffic to the console.
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

/** Human sentences for the error codes a person may see. */
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

/**
 * A sentence for a person, from an error (ShopCallError or anything else).
 * @param {any} err
 * @returns {string}
 */
export function describeError(err) {
  if (!err) return "";
  const code = err.code || "";
  if (ERROR_TEXT[code]) return ERROR_TEXT[code];
  return err.message || String(err);
}

const SIMULCAST_ENCODINGS = [
  { rid: "h", active: true, maxBitrate: 900_000, scaleResolutionDownBy: 1 },
  { rid: "m", active: true, maxBitrate: 300_000, scaleResolutionDownBy: 2 },
  { rid: "l", active: true, maxBitrate: 100_000, scaleResolutionDownBy: 4 },
];

/** Requests whose reply is not named in the protocol: resolve on silence instead of failing. */
const SOFT_REPLY_MS = 3000;

/** Janus's VideoRoom relays every publisher's audio to subscribers under this Opus payload type. */
const JANUS_OPUS_PT = "111";

/**
 * Let redundant audio (RED, RFC 2198) cross the SFU: swap the payload types of Opus and RED in
 * our own offer, so our Opus is not the one Janus uses towards subscribers. The server then
 * answers with RED and declares it to every subscriber (see shopcall/media/opus_red.py). An
 * offer without RED, or whose Opus is already elsewhere, is returned unchanged.
 * @param {string} sdp
 * @returns {string}
 */
/** The payload type (string) of a 48 kHz `codec` in an SDP section, or null. */
function payloadTypeOf(section, codec) {
  const m = section.match(new RegExp(`^a=rtpmap:(\\d+) ${codec}/48000`, "im"));
  return m ? m[1] : null;
}

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

function defaultUrl() {
  if (typeof location === "undefined") return "ws://localhost:8080/v1/signal";
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/v1/signal`;
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Map a getUserMedia failure to a ShopCallError with a helpful code.
 * @param {any} err
 * @param {{audio?: boolean, video?: boolean}} wanted
 */
function mediaError(err, wanted) {
  const name = err && err.name;
  let code = "internal";
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
    code = wanted.video && wanted.audio ? "media_blocked" : wanted.video ? "camera_blocked" : "microphone_blocked";
  } else if (name === "NotFoundError" || name === "DevicesNotFoundError" || name === "OverconstrainedError") {
    code = wanted.video ? "no_camera" : "no_microphone";
  } else if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") {
    code = "device_busy";
  } else if (name === "TypeError" && typeof isSecureContext !== "undefined" && !isSecureContext) {
    code = "media_insecure";
  }
  return new ShopCallError(code, ERROR_TEXT[code] || (err && err.message) || "Media error", { cause: err });
}

/**
 * Open the camera and microphone, degrading gracefully: if both cannot be had, try each
 * alone so that a shopper with a blocked camera can still talk.
 *
 * @param {{audio?: boolean|MediaTrackConstraints, video?: boolean|MediaTrackConstraints}} [want]
 * @returns {Promise<{stream: MediaStream, problems: ShopCallError[]}>} `problems` lists what
 *   could not be opened (e.g. `camera_blocked`); rejects only when nothing could be opened.
 */
/**
 * AI noise suppression (RNNoise, WebAssembly, in an AudioWorklet) for a microphone track.
 * Returns the processed track (publish this one) and a switch; stopping the processed track
 * also stops the microphone. Needs the server's `/vendor/noise-suppressor` files.
 * @param {MediaStreamTrack} track
 * @param {{base?: string, enabled?: boolean}} [opts]
 * @returns {Promise<{track: MediaStreamTrack, enabled: boolean, setEnabled: (on: boolean) => void, close: () => void}>}
 */
export async function createNoiseSuppressor(track, opts = {}) {
  const base = opts.base || "/vendor/noise-suppressor";
  const { RnnoiseWorkletNode, loadRnnoise } = await import(`${base}/index.js`);
  const ctx = new AudioContext({ sampleRate: 48000 }); // RNNoise works on 48 kHz frames
  const [wasmBinary] = await Promise.all([
    loadRnnoise({ url: `${base}/rnnoise.wasm`, simdUrl: `${base}/rnnoise_simd.wasm` }),
    ctx.audioWorklet.addModule(`${base}/rnnoise/workletProcessor.js`),
  ]);
  const src = ctx.createMediaStreamSource(new MediaStream([track]));
  const node = new RnnoiseWorkletNode(ctx, { wasmBinary, maxChannels: 1 });
  const dest = ctx.createMediaStreamDestination();
  node.connect(dest);
  const out = dest.stream.getAudioTracks()[0];
  const ns = {
    track: out,
    enabled: false,
    /** @param {boolean} on */
    setEnabled(on) {
      src.disconnect();
      src.connect(on ? node : dest);
      ns.enabled = !!on;
    },
    close() {
      try {
        node.port.postMessage("destroy");
      } catch (_) {
        /* already gone */
      }
      track.stop();
      ctx.close().catch(() => {});
    },
  };
  ns.setEnabled(opts.enabled !== false);
  ctx.resume().catch(() => {});
  const stop = out.stop.bind(out);
  out.stop = () => {
    stop();
    ns.close();
  };
  return ns;
}

/**
 * getLocalMedia plus, for `noiseSuppression: true`, RNNoise on the microphone (falls back to the
 * raw microphone, with a problem noted, if the suppressor cannot load). `stream.noiseSuppressor`
 * is the switch.
 */
export async function getLocalMedia(want = {}) {
  const got = await _getLocalMedia(want);
  if (!want.noiseSuppression) return got;
  const mic = got.stream.getAudioTracks()[0];
  if (!mic) return got;
  try {
    const ns = await createNoiseSuppressor(mic, { enabled: true });
    const stream = new MediaStream([...got.stream.getVideoTracks(), ns.track]);
    /** @type {any} */ (stream).noiseSuppressor = ns;
    return { stream, problems: got.problems };
  } catch (err) {
    console.warn("noise suppression unavailable", err);
    return got;
  }
}

async function _getLocalMedia(want = {}) {
  // echo cancellation and auto gain on; the browser's own noise suppression only when RNNoise is not used
  const voice = { echoCancellation: true, autoGainControl: true, noiseSuppression: !want.noiseSuppression };
  const audio = want.audio === undefined ? voice : want.audio && typeof want.audio === "object" ? { ...voice, ...want.audio } : want.audio;
  const video =
    want.video === undefined ? { width: { ideal: 1280 }, height: { ideal: 720 }, facingMode: "user" } : want.video;
  if (typeof navigator === "undefined" || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    const insecure = typeof isSecureContext !== "undefined" && !isSecureContext;
    const code = insecure ? "media_insecure" : "webrtc_unsupported";
    throw new ShopCallError(code, ERROR_TEXT[code]);
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio, video });
    return { stream, problems: [] };
  } catch (bothErr) {
    if (!audio || !video) throw mediaError(bothErr, { audio: !!audio, video: !!video });
    /** @type {ShopCallError[]} */
    const problems = [];
    const tracks = [];
    try {
      const s = await navigator.mediaDevices.getUserMedia({ audio });
      tracks.push(...s.getTracks());
    } catch (e) {
      problems.push(mediaError(e, { audio: true }));
    }
    try {
      const s = await navigator.mediaDevices.getUserMedia({ video });
      tracks.push(...s.getTracks());
    } catch (e) {
      problems.push(mediaError(e, { video: true }));
    }
    if (!tracks.length) throw mediaError(bothErr, { audio: true, video: true });
    return { stream: new MediaStream(tracks), problems };
  }
}

/**
 * @typedef {Object} Subscription
 * @property {string} pid
 * @property {string|null} sid
 * @property {RTCPeerConnection|null} pc
 * @property {MediaStream} stream
 * @property {boolean} started
 * @property {Array<RTCIceCandidateInit|null>} pendingCandidates
 * @property {boolean} cancelled
 * @property {number} failures
 * @property {number|null} [playoutTargetMs] receive buffer the server asked for (null: browser default)
 */

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
 * - `track` `{pid, sid, stream, track, participant}` — once per remote track (same `stream`
 *   object for all tracks of one participant)
 * - `track-removed` `{pid, sid}` — the participant's media is gone
 * - `published` `{stream, simulcast}` / `unpublished` `{}`
 * - `local-muted` `{audio, video}` — local mute state changed
 * - `media-state` `{target, pid, state}` — server-side view of a peer connection (`up`/`down`)
 * - `media-reset` `{reason}` — the media server restarted; the SDK re-publishes/re-subscribes
 * - `room-ended` `{room, reason}`
 * - `incoming-call` {@link IncomingCall}
 * - `call-cancelled` `{call}` / `call-taken` `{call}` / `call-answered` `{call, agent}`
 * - `token-expiring` `{expires_at}` / `token-refreshed` `{}`
 * - `error` `{error: ShopCallError, fatal, action}` — errors not tied to a request you awaited
 * - `message` `{message}` — every raw server frame (for debugging)
 */
export class ShopCallClient extends EventTarget {
  /** @param {ClientOptions} [options] */
  constructor(options = {}) {
    super();
    this.options = {
      url: options.url || defaultUrl(),
      requestTimeoutMs: options.requestTimeoutMs ?? 15000,
      reconnect: options.reconnect ?? true,
      maxReconnectAttempts: options.maxReconnectAttempts ?? 8,
      tokenProvider: options.tokenProvider || null,
      simulcast: options.simulcast ?? true,
      autoSubscribe: options.autoSubscribe ?? true,
      qualityReportMs: options.qualityReportMs ?? 5000,
      audioRedundancy: options.audioRedundancy ?? true,
      debug: options.debug ?? false,
    };
    /** @type {ConnectionState} */
    this.state = "idle";
    /** @type {Welcome|null} */
    this.welcome = null;
    /** @type {string|null} */
    this.token = null;
    /** @type {WebSocket|null} */
    this.ws = null;
    /** @type {string|null} room id we are in (or joining) */
    this.room = null;
    /** @type {string|null} our participant id in the room */
    this.pid = null;
    /** @type {Map<string, Participant>} other participants, by pid */
    this.participants = new Map();
    /** @type {MediaStream|null} */
    this.localStream = null;
    /** @type {RTCPeerConnection|null} */
    this.publisherPc = null;
    /** @type {boolean} whether the last publish used simulcast */
    this.simulcast = false;
    /** @type {number} redundant audio frames per packet the server asked for (1: Chrome's RED) */
    this.audioRedundancyDistance = 1;
    /** @type {Worker|null} */
    this._redWorker = null;
    /** @type {Map<string, Subscription>} by publisher pid */
    this.subscriptions = new Map();
    /** @type {{audio: boolean, video: boolean}} */
    this.muted = { audio: false, video: false };
    /** @type {boolean} agent asked to ring */
    this.available = false;

    this._seq = 0;
    /** @type {Map<string, {resolve: Function, reject: Function, timer: any, type: string, soft: boolean}>} */
    this._pending = new Map();
    this._heartbeatTimer = null;
    this._lastSeen = 0;
    this._closing = false;
    this._reconnectAttempt = 0;
    this._pubCandidates = [];
    this._pubReady = false;
    this._publishing = null; // in-flight publish promise
    this._publishGen = 0;
    this._pubFailures = 0;
    this._fatal = false;
    /** @type {Map<string, {resolve: Function, reject: Function}>} */
    this._answerWaiters = new Map();
  }

  // ------------------------------------------------------------------ events

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

  /** @param {ConnectionState} state */
  _setState(state) {
    if (this.state === state) return;
    const previous = this.state;
    this.state = state;
    this._emit("connection-state", { state, previous });
  }

  _log(...args) {
    if (this.options.debug) console.debug("[shopcall]", ...args);
  }

  // -------------------------------------------------------------- connection

  /** Identity from the welcome, or null. */
  get identity() {
    return this.welcome ? this.welcome.identity : null;
  }

  /** Role from the welcome ("shopper", "agent", "admin"), or null. */
  get role() {
    return this.welcome ? this.welcome.role : null;
  }

  /**
   * Open the socket, send `hello` and resolve with the server's `welcome`.
   * @param {string} token client JWT
   * @returns {Promise<Welcome>}
   */
  async connect(token) {
    if (this.state === "connected" || this.state === "connecting") {
      throw new ShopCallError("bad_request", "Already connected");
    }
    this.token = token;
    this._closing = false;
    this._fatal = false;
    this._reconnectAttempt = 0;
    this._setState("connecting");
    try {
      return await this._open();
    } catch (err) {
      this._teardownSocket();
      this._setState("closed");
      throw err;
    }
  }

  /** @returns {Promise<Welcome>} */
  _open() {
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new WebSocket(this.options.url);
      } catch (e) {
        reject(new ShopCallError("connect_failed", ERROR_TEXT.connect_failed, { cause: e }));
        return;
      }
      this.ws = ws;
      let settled = false;
      const fail = (/** @type {ShopCallError} */ err) => {
        if (settled) return;
        settled = true;
        reject(err);
      };
      ws.onopen = () => {
        this._lastSeen = Date.now();
        this.request({ type: "hello", token: this.token }, { timeoutMs: 10000 })
          .then((welcome) => {
            if (settled) return;
            settled = true;
            this.welcome = /** @type {Welcome} */ (welcome);
            this._startHeartbeat();
            this._setState("connected");
            this._emit("welcome", { welcome });
            resolve(this.welcome);
          })
          .catch((err) => {
            fail(err);
            try {
              ws.close(1000);
            } catch (_) {
              /* ignore */
            }
          });
      };
      ws.onmessage = (ev) => this._onMessage(ev);
      ws.onerror = () => {
        /* the close event follows and carries the details */
      };
      ws.onclose = (ev) => {
        const wasSettled = settled;
        fail(
          ev.code === 4401
            ? new ShopCallError("token_invalid", ERROR_TEXT.token_invalid, { fatal: true })
            : new ShopCallError("connect_failed", ERROR_TEXT.connect_failed),
        );
        if (this.ws === ws) this._onSocketClosed(ev, wasSettled);
      };
    });
  }

  /**
   * @param {CloseEvent} ev
   * @param {boolean} wasUp the hello had succeeded on this socket
   */
  _onSocketClosed(ev, wasUp) {
    this._log("socket closed", ev.code, ev.reason);
    this._stopHeartbeat();
    this.ws = null;
    this._rejectAllPending(new ShopCallError("disconnected", ERROR_TEXT.disconnected));
    if (!wasUp) return; // connect()/_reconnect() handles it
    const final = this._closing || ev.code === 4000 || ev.code === 4401 || ev.code === 1000 || this._fatal;
    if (ev.code === 4000 && this.room) {
      // room_ended normally arrives first; make sure the app hears it anyway
      const room = this.room;
      this._dropRoom();
      this._emit("room-ended", { room, reason: "closed" });
    }
    if (final || !this.options.reconnect) {
      this._dropAllMedia();
      this._setState("closed");
      return;
    }
    this._reconnect();
  }

  async _reconnect() {
    this._setState("reconnecting");
    // peer connections survive a short signalling outage only if the server kept our media;
    // it releases it once we are gone, so rebuild everything after the new hello.
    while (!this._closing && this._reconnectAttempt < this.options.maxReconnectAttempts) {
      const delay = Math.min(8000, 500 * 2 ** this._reconnectAttempt) * (0.8 + Math.random() * 0.4);
      this._reconnectAttempt += 1;
      await sleep(delay);
      if (this._closing) return;
      try {
        if (this.options.tokenProvider) {
          try {
            this.token = await this.options.tokenProvider();
          } catch (_) {
            /* keep the old token */
          }
        }
        const welcome = await this._open();
        this._reconnectAttempt = 0;
        this._emit("reconnected", { welcome });
        await this._restoreAfterReconnect();
        return;
      } catch (err) {
        this._log("reconnect failed", err);
        if (err && err.fatal) break;
      }
    }
    if (this._closing) return;
    this._dropAllMedia();
    const room = this.room;
    this._dropRoom();
    this._setState("closed");
    this._emit("error", {
      error: new ShopCallError("disconnected", "Connection lost — could not reconnect."),
      fatal: true,
      action: "reconnect",
      room,
    });
  }

  async _restoreAfterReconnect() {
    if (this.available) {
      try {
        const reply = await this.request({ type: "available" });
        for (const c of reply.calls || []) this._emit("incoming-call", c);
      } catch (err) {
        this._emitError(err, "available");
      }
    }
    if (this.room) {
      const room = this.room;
      const stream = this.localStream;
      this._dropAllMedia();
      this.participants.clear();
      try {
        await this.join(room);
      } catch (err) {
        // the call is lost for this client: say so clearly
        this._dropRoom();
        const error =
          err instanceof ShopCallError ? err : new ShopCallError("internal", String(err && err.message), { cause: err });
        this._emit("error", { error, fatal: true, action: "rejoin", room });
        this._emit("left", { room, reason: "rejoin_failed" });
        return;
      }
      try {
        if (stream) await this.publish(stream);
      } catch (err) {
        this._emitError(err, "publish");
      }
    }
  }

  _startHeartbeat() {
    this._stopHeartbeat();
    const every = Math.max(1, (this.welcome && this.welcome.heartbeat_s) || 20) * 1000;
    this._heartbeatTimer = setInterval(() => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
      if (Date.now() - this._lastSeen > every * 2.5) {
        // the server went silent: drop the socket and reconnect
        this._log("heartbeat lost");
        try {
          this.ws.close(4002, "heartbeat lost");
        } catch (_) {
          /* ignore */
        }
        // browsers fire close asynchronously; treat it as a network drop now
        const ws = this.ws;
        if (ws) {
          ws.onclose = null;
          ws.onmessage = null;
          this._onSocketClosed(/** @type {any} */ ({ code: 1006, reason: "heartbeat lost" }), true);
        }
        return;
      }
      this._send({ type: "ping" });
    }, every);
  }

  _stopHeartbeat() {
    if (this._heartbeatTimer) clearInterval(this._heartbeatTimer);
    this._heartbeatTimer = null;
  }

  _teardownSocket() {
    this._stopHeartbeat();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      try {
        ws.close(1000);
      } catch (_) {
        /* ignore */
      }
    }
    this._rejectAllPending(new ShopCallError("disconnected", ERROR_TEXT.disconnected));
  }

  /**
   * Close everything: peer connections and the socket. Does not stop local camera tracks
   * (the app owns them). Emits `connection-state` `closed`.
   */
  close() {
    this._closing = true;
    this.available = false;
    this._dropAllMedia();
    this._dropRoom();
    this._teardownSocket();
    for (const w of this._answerWaiters.values()) w.reject(new ShopCallError("disconnected", "Client closed"));
    this._answerWaiters.clear();
    this._setState("closed");
  }

  /**
   * Renew the token on the open connection (`refresh` → `refreshed`).
   * @param {string} token
   */
  async refresh(token) {
    await this.request({ type: "refresh", token });
    this.token = token;
    this._emit("token-refreshed", {});
  }

  // ---------------------------------------------------------------- messages

  /** @param {Object} msg */
  _send(msg) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this._log("→", msg.type, msg);
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  /**
   * Send a request and wait for the frame that carries `re: id`.
   * @param {Object} msg frame without `id` (one is added)
   * @param {{timeoutMs?: number, soft?: boolean}} [opts] `soft`: the protocol names no reply,
   *   so silence for a few seconds counts as success (resolves with null).
   * @returns {Promise<any>} the reply frame; rejects with {@link ShopCallError}
   */
  request(msg, opts = {}) {
    const id = `c${++this._seq}`;
    const frame = { ...msg, id };
    const soft = !!opts.soft;
    const timeoutMs = soft ? SOFT_REPLY_MS : opts.timeoutMs ?? this.options.requestTimeoutMs;
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        reject(new ShopCallError("disconnected", "Not connected"));
        return;
      }
      const timer = setTimeout(() => {
        if (!this._pending.has(id)) return;
        this._pending.delete(id);
        if (soft) resolve(null);
        else reject(new ShopCallError("timeout", `No reply to ${msg.type}`));
      }, timeoutMs);
      this._pending.set(id, { resolve, reject, timer, type: msg.type, soft });
      this._send(frame);
    });
  }

  /** @param {ShopCallError} err */
  _rejectAllPending(err) {
    const pend = [...this._pending.values()];
    this._pending.clear();
    for (const p of pend) {
      clearTimeout(p.timer);
      if (p.soft) p.resolve(null);
      else p.reject(err);
    }
  }

  /** @param {MessageEvent} ev */
  _onMessage(ev) {
    this._lastSeen = Date.now();
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch (_) {
      return;
    }
    if (!msg || typeof msg !== "object") return;
    this._log("←", msg.type, msg);
    this._emit("message", { message: msg });

    if (msg.re !== undefined && msg.re !== null) {
      const p = this._pending.get(String(msg.re));
      if (p) {
        this._pending.delete(String(msg.re));
        clearTimeout(p.timer);
        if (msg.type === "error") {
          const err = new ShopCallError(msg.code || "internal", msg.message || msg.code, {
            fatal: !!msg.fatal,
            re: msg.re,
          });
          if (msg.fatal) this._fatal = true;
          p.reject(err);
        } else {
          p.resolve(msg);
        }
        // a reply is consumed by its request; only room_ended also matters as an event
        if (msg.type !== "room_ended") return;
      } else if (msg.type !== "error" && msg.type !== "room_ended") {
        return; // a late reply to a request that timed out
      }
    }

    switch (msg.type) {
      case "pong":
        return;
      case "error": {
        const err = new ShopCallError(msg.code || "internal", msg.message || msg.code, { fatal: !!msg.fatal });
        if (msg.fatal) this._fatal = true;
        this._emit("error", { error: err, fatal: !!msg.fatal, action: null });
        return;
      }
      case "participant_joined":
        return this._onParticipantJoined(msg.participant);
      case "participant_left":
        return this._onParticipantLeft(msg.pid, msg.reason);
      case "participant_updated":
        return this._onParticipantUpdated(msg.participant);
      case "track_published":
        return this._onTrackPublished(msg.pid);
      case "track_unpublished":
        return this._onTrackUnpublished(msg.pid);
      case "room_ended": {
        const room = msg.room || this.room;
        this._dropAllMedia();
        this._dropRoom();
        this._emit("room-ended", { room, reason: msg.reason || "ended" });
        return;
      }
      case "media_reset":
        this._onMediaReset(msg.reason);
        return;
      case "media_state": {
        const target = msg.sid || msg.target || "publisher";
        let pid = null;
        if (target === "publisher") pid = this.pid;
        else for (const s of this.subscriptions.values()) if (s.sid === target) pid = s.pid;
        this._emit("media-state", { target, pid, state: msg.state });
        return;
      }
      case "offer":
        // an unsolicited offer: renegotiation of an existing subscription
        this._onUnsolicitedOffer(msg);
        return;
      case "token_expiring":
        this._emit("token-expiring", { expires_at: msg.expires_at });
        this._autoRefresh();
        return;
      case "incoming_call":
        this._emit("incoming-call", msg);
        return;
      case "queue_update":
        this._emit("queue-update", { call: msg.call, position: msg.position, estimatedWaitS: msg.estimated_wait_s });
        return;
      case "call_unanswered":
        this._emit("call-unanswered", { call: msg.call, message: msg.message });
        this._settleAnswerWaiter(msg.call, new ShopCallError("no_agent", msg.message || "No agent could take the call"));
        return;
      case "call_transferred":
        this._emit("call-transferred", msg);
        return;
      case "participant_quality":
        this._emit("participant-quality", { pid: msg.pid, level: msg.level });
        return;
      case "layer_changed":
        this._emit("layer-changed", { pid: msg.pid, substream: msg.substream, reason: msg.reason });
        return;
      case "audio_redundancy": {
        this.audioRedundancyDistance = Number(msg.distance) || 1;
        if (this._redWorker) this._redWorker.postMessage({ distance: this.audioRedundancyDistance });
        this._emit("audio-redundancy", { distance: this.audioRedundancyDistance, active: !!this._redWorker });
        return;
      }
      case "playout_target": {
        const sub = this.subscriptions.get(msg.pid);
        if (sub) {
          sub.playoutTargetMs = msg.target_ms == null ? null : Number(msg.target_ms);
          this._applyPlayoutTarget(sub);
        }
        this._emit("playout-target", { pid: msg.pid, targetMs: msg.target_ms == null ? null : Number(msg.target_ms) });
        return;
      }
      case "recording_state":
        this.recording = msg.active ? { id: msg.recording, by: msg.by } : null;
        this._emit("recording-state", { active: !!msg.active, recording: msg.recording, by: msg.by });
        return;
      case "recording_consent_request":
        this._emit("recording-consent-request", msg);
        return;
      case "recording_consent":
        this._emit("recording-consent", msg);
        return;
      case "agent_invite":
        this._emit("agent-invite", msg);
        return;
      case "invite_declined":
        this._emit("invite-declined", msg);
        return;
      case "invite_accepted":
        this._emit("invite-accepted", msg);
        return;
      case "force_mute": {
        const what = {};
        if (msg.audio) what.audio = true;
        if (msg.video) what.video = true;
        this.setMuted(what).catch(() => {});
        this._emit("force-muted", { ...what, by: msg.by });
        return;
      }
      case "removed":
        this._fatal = true; // the socket closes next; do not reconnect into a room we were removed from
        this._emit("removed", { room: msg.room, by: msg.by });
        return;
      case "spotlight":
        this.spotlight = msg.pid || null;
        this._emit("spotlight", { pid: msg.pid || null });
        return;
      case "agent_changed":
        this._emit("agent-changed", { call: msg.call, from: msg.from, agent: msg.agent });
        return;
      case "call_invitation":
        this._emit("call-invitation", msg);
        return;
      case "call_cancelled":
        this._emit("call-cancelled", { call: msg.call, reason: msg.reason });
        this._settleAnswerWaiter(msg.call, new ShopCallError("call_cancelled", "The call was cancelled"));
        return;
      case "call_taken":
        this._emit("call-taken", { call: msg.call, agent: msg.agent });
        return;
      case "call_answered":
        this._emit("call-answered", { call: msg.call, agent: msg.agent, room: msg.room });
        this._settleAnswerWaiter(msg.call, null, { call: msg.call, agent: msg.agent, room: msg.room });
        return;
      case "chat":
        this._emit("chat", { message: msg.message });
        return;
      case "product_card":
        this._emit("product-card", { card: msg.card });
        return;
      case "card_action":
        this._emit("card-action", msg);
        return;
      case "annotation":
        this._emit("annotation", msg);
        return;
      default:
        return;
    }
  }

  async _autoRefresh() {
    if (!this.options.tokenProvider) return;
    try {
      const token = await this.options.tokenProvider();
      if (token) await this.refresh(token);
    } catch (err) {
      this._emitError(err, "refresh");
    }
  }

  /** @param {any} err @param {string} action */
  _emitError(err, action) {
    const error = err instanceof ShopCallError ? err : new ShopCallError("internal", String(err && err.message), { cause: err });
    this._log("error", action, error);
    this._emit("error", { error, fatal: !!error.fatal, action });
  }

  // ------------------------------------------------------------------- rooms

  /**
   * Join a room; subscribes automatically to everyone already publishing.
   * @param {string} room
   * @returns {Promise<{room: string, pid: string, participants: Participant[]}>}
   */
  async join(room) {
    this.room = room;
    let reply;
    try {
      reply = await this.request({ type: "join", room });
    } catch (err) {
      if (this.room === room) this.room = null;
      throw err;
    }
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
    };
    this._startQualityReports();
    /** @type {any} what `joined` carried (chat history, cards, annotations), for late UIs */
    this.lastJoined = info;
    this.spotlight = reply.spotlight || null;
    this.recording = reply.recording && reply.recording.active ? { id: reply.recording.recording, by: reply.recording.by } : null;
    this.roomKind = reply.kind || "call";
    this._emit("joined", info);
    if (this.options.autoSubscribe) {
      for (const p of this.participants.values()) {
        if (p.publishing) this._subscribeSafe(p.pid);
        if (p.screen) this._subscribeSafe(`${p.pid}:screen`);
      }
    }
    return info;
  }

  /** Leave the room (`leave` → `left`), releasing all media; the socket stays open. */
  async leave() {
    const room = this.room;
    this._dropAllMedia();
    if (room && this.state === "connected") {
      try {
        await this.request({ type: "leave" });
      } catch (err) {
        if (!["not_in_room", "room_ended", "disconnected", "room_not_found"].includes(err.code)) throw err;
      }
    }
    this._dropRoom();
    this._emit("left", { room });
  }

  /** Agents/admins: end the room for everyone (`end_room`). */
  async endRoom() {
    try {
      await this.request({ type: "end_room" }, { soft: true });
    } catch (err) {
      if (!["not_in_room", "room_ended", "room_not_found", "disconnected"].includes(err.code)) throw err;
    }
  }

  _dropRoom() {
    clearInterval(this._qualityTimer);
    this.room = null;
    this.pid = null;
    this.participants.clear();
  }

  /** @param {Participant} p */
  _onParticipantJoined(p) {
    if (!p || !p.pid) return;
    this.participants.set(p.pid, p);
    this._emit("participant-joined", { participant: p });
    if (p.publishing && this.options.autoSubscribe) this._subscribeSafe(p.pid);
  }

  /** @param {string} pid @param {string} reason */
  _onParticipantLeft(pid, reason) {
    const participant = this.participants.get(pid) || null;
    this.participants.delete(pid);
    this._dropSubscription(pid, true);
    this._emit("participant-left", { pid, reason: reason || "left", participant });
  }

  /** @param {Participant} p */
  _onParticipantUpdated(p) {
    if (!p || !p.pid) return;
    if (p.pid === this.pid) {
      this._emit("participant-updated", { participant: p, self: true });
      return;
    }
    const before = this.participants.get(p.pid);
    const merged = { ...(before || {}), ...p };
    this.participants.set(p.pid, merged);
    this._emit("participant-updated", { participant: merged });
    if (merged.publishing && !this.subscriptions.has(p.pid) && this.options.autoSubscribe) this._subscribeSafe(p.pid);
  }

  /** @param {string} pid */
  /**
   * The participant behind a pid; a screen share (`<pid>:screen`) maps to its owner, named "… (screen)".
   * @param {string} pid
   */
  participantFor(pid) {
    if (pid.endsWith(":screen")) {
      const owner = this.participants.get(pid.slice(0, -7));
      return owner ? { ...owner, pid, name: `${owner.name} (screen)`, source: "screen", of: owner.pid } : null;
    }
    return this.participants.get(pid) || null;
  }

  _onTrackPublished(pid) {
    if (pid === this.pid || pid === `${this.pid}:screen`) return;
    if (pid.endsWith(":screen")) {
      const owner = this.participants.get(pid.slice(0, -7));
      if (owner) owner.screen = true;
    }
    const p = this.participants.get(pid);
    if (p) p.publishing = true;
    if (!this.options.autoSubscribe) return;
    // a re-publish invalidates the old subscription
    if (this.subscriptions.has(pid)) this._dropSubscription(pid, true);
    this._subscribeSafe(pid);
  }

  /** @param {string} pid */
  _onTrackUnpublished(pid) {
    if (pid.endsWith(":screen")) {
      const owner = this.participants.get(pid.slice(0, -7));
      if (owner) owner.screen = false;
    }
    const p = this.participants.get(pid);
    if (p) p.publishing = false;
    this._dropSubscription(pid, true);
  }

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
  }

  /**
   * Close every peer connection (publisher and subscriptions) without telling the server.
   * @param {boolean} [forgetStream=true]
   */
  _dropAllMedia(forgetStream = true) {
    this._closePublisher();
    this._closeScreen(true);
    for (const pid of [...this.subscriptions.keys()]) this._dropSubscription(pid, false);
    if (forgetStream) this.localStream = null;
  }

  // ----------------------------------------------------------------- publish

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

    const pc = new RTCPeerConnection({ iceServers: (this.welcome && this.welcome.ice_servers) || [] });
    this.publisherPc = pc;
    this._pubCandidates = [];
    this._pubReady = false;
    pc.onicecandidate = (e) => {
      const cand = e.candidate ? e.candidate.toJSON() : null;
      if (this.publisherPc !== pc) return;
      if (this._pubReady) this._send({ type: "trickle", target: "publisher", candidate: cand });
      else this._pubCandidates.push(cand);
    };
    pc.onconnectionstatechange = () => {
      if (this.publisherPc !== pc) return;
      this._emit("publisher-state", { state: pc.connectionState });
      if (pc.connectionState === "failed") this._onPublisherFailed(gen);
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

    let offer = await pc.createOffer();
    if (this.options.audioRedundancy) {
      const sdp = swapOpusAndRed(offer.sdp || "");
      if (sdp !== offer.sdp) {
        try {
          await pc.setLocalDescription({ type: "offer", sdp });
          offer = { type: "offer", sdp };
        } catch (err) {
          this._log("redundant audio offer refused, sending Opus only", err);
          await pc.setLocalDescription(offer);
        }
      } else await pc.setLocalDescription(offer);
    } else await pc.setLocalDescription(offer);
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
    this._pubReady = true;
    const queued = this._pubCandidates;
    this._pubCandidates = [];
    for (const c of queued) this._send({ type: "trickle", target: "publisher", candidate: c });
    this.simulcast = simulcast;
    this._emit("published", { stream, simulcast });
    // tell the others our current mute state if anything is muted
    if (this.muted.audio || this.muted.video) {
      this.request({ type: "mute", audio: this.muted.audio, video: this.muted.video }).catch(() => {});
    }
    return { simulcast };
  }

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
        throw new ShopCallError("screen_blocked", "Screen sharing was cancelled or blocked");
      }
    }
    const pc = new RTCPeerConnection({ iceServers: (this.welcome && this.welcome.ice_servers) || [] });
    this.screenPc = pc;
    this.screenStream = stream;
    const pending = [];
    let ready = false;
    pc.onicecandidate = (e) => {
      if (this.screenPc !== pc) return;
      const cand = e.candidate ? e.candidate.toJSON() : null;
      if (ready) this._send({ type: "trickle", target: "screen", candidate: cand });
      else pending.push(cand);
    };
    for (const track of stream.getVideoTracks()) {
      if ("contentHint" in track) track.contentHint = "detail"; // sharp text over smooth motion
      track.addEventListener("ended", () => { if (this.screenPc === pc) this.stopScreenShare(); });
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
    ready = true;
    for (const c of pending) this._send({ type: "trickle", target: "screen", candidate: c });
    await this._prioritiseScreen(pc, true);
    this._emit("screen-share", { active: true, stream });
    return stream;
  }

  /**
   * When bandwidth is short the shared screen wins: its sender gets high priority, and the camera's
   * layers are capped (restored when sharing stops).
   * @param {RTCPeerConnection} screenPc @param {boolean} on
   */
  async _prioritiseScreen(screenPc, on) {
    const setAll = async (sender, fn) => {
      const p = sender.getParameters();
      if (!p.encodings || !p.encodings.length) p.encodings = [{}];
      p.encodings.forEach(fn);
      try {
        await sender.setParameters(p);
      } catch (err) {
        this._log("setParameters failed", err);
      }
    };
    if (screenPc) {
      for (const s of screenPc.getSenders()) if (s.track && s.track.kind === "video") {
        await setAll(s, (e) => { e.priority = "high"; e.networkPriority = "high"; });
      }
    }
    if (this.publisherPc) {
      for (const s of this.publisherPc.getSenders()) if (s.track && s.track.kind === "video") {
        await setAll(s, (e) => {
          const base = SIMULCAST_ENCODINGS.find((x) => x.rid === e.rid);
          if (on) e.maxBitrate = Math.min(base ? base.maxBitrate : 400_000, { h: 400_000, m: 250_000, l: 100_000 }[e.rid] || 400_000);
          else if (base) e.maxBitrate = base.maxBitrate;
          else delete e.maxBitrate;
        });
      }
    }
  }

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
  }

  /** @param {boolean} stopTracks */
  _closeScreen(stopTracks) {
    const pc = this.screenPc;
    this.screenPc = null;
    if (pc) pc.close();
    if (stopTracks && this.screenStream) for (const t of this.screenStream.getTracks()) t.stop();
    this.screenStream = null;
  }

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
  }

  /**
   * Let the server deepen audio redundancy: a worker rewrites each outgoing RED packet to carry
   * the last `distance` frames (Chrome's own RED carries one). Needs RTCRtpScriptTransform (set
   * before negotiating: Chrome ignores a transform added to a sender already sending) and a RED
   * answer; without them the call keeps Chrome's RED or plain Opus.
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
  }

  /** Tell the worker which payload type is RED in the answer (none: it passes frames through). */
  _redAnswered(answerSdp) {
    if (!this._redWorker) return;
    const audio = answerSdp.split(/(?=^m=)/m).find((sec) => sec.startsWith("m=audio")) || "";
    const red = payloadTypeOf(audio, "red");
    this._redWorker.postMessage({ redPt: red ? Number(red) : null });
  }

  _stopRedTransform() {
    if (this._redWorker) this._redWorker.terminate();
    this._redWorker = null;
  }

  _closePublisher() {
    this._stopRedTransform();
    const pc = this.publisherPc;
    this.publisherPc = null;
    this._pubReady = false;
    this._pubCandidates = [];
    if (pc) {
      pc.onicecandidate = null;
      pc.onconnectionstatechange = null;
      try {
        pc.close();
      } catch (_) {
        /* ignore */
      }
    }
  }

  /** @param {number} gen */
  async _onPublisherFailed(gen) {
    if (gen !== this._publishGen || !this.localStream || !this.room) return;
    this._pubFailures += 1;
    if (this._pubFailures > 3) {
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
  }

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
  }

  _applyMuteToTracks() {
    const s = this.localStream;
    if (!s) return;
    for (const t of s.getAudioTracks()) t.enabled = !this.muted.audio;
    for (const t of s.getVideoTracks()) t.enabled = !this.muted.video;
  }

  // --------------------------------------------------------------- subscribe

  /**
   * Subscribe in the background. A publisher that is not (yet) known to the media server —
   * typical right after a `media_reset`, before it has re-published — is retried a few times
   * and otherwise left to the next `track_published`.
   * @param {string} pid
   * @param {number} [attempt]
   */
  _subscribeSafe(pid, attempt = 0) {
    this.subscribe(pid).catch((err) => {
      if (!err || err.code === "cancelled" || err.code === "disconnected") return;
      if (err.code === "no_such_publisher" || err.code === "not_publishing") {
        const delays = [600, 1200, 2500, 5000];
        if (attempt < delays.length) {
          setTimeout(() => {
            const p = this.participants.get(pid);
            if (p && p.publishing && !this.subscriptions.has(pid) && this.state === "connected") {
              this._subscribeSafe(pid, attempt + 1);
            }
          }, delays[attempt]);
        }
        this._log("publisher not ready", pid, err.code);
        return;
      }
      this._emitError(err, "subscribe");
    });
  }

  /**
   * Receive a participant's media. Normally automatic; call it yourself only with
   * `autoSubscribe: false`. Resolves once the answer was accepted (`started`).
   * @param {string} pid
   * @returns {Promise<Subscription>}
   */
  async subscribe(pid) {
    const existing = this.subscriptions.get(pid);
    if (existing) return existing;
    /** @type {Subscription} */
    const sub = {
      pid,
      sid: null,
      pc: null,
      stream: new MediaStream(),
      started: false,
      pendingCandidates: [],
      cancelled: false,
      failures: 0,
    };
    this.subscriptions.set(pid, sub);
    let offer;
    try {
      offer = await this.request({ type: "subscribe", pid });
    } catch (err) {
      if (this.subscriptions.get(pid) === sub) this.subscriptions.delete(pid);
      throw err;
    }
    if (sub.cancelled || this.subscriptions.get(pid) !== sub) {
      // dropped while we waited: give the subscription back
      if (offer.sid) this.request({ type: "unsubscribe", sid: offer.sid }, { soft: true }).catch(() => {});
      throw new ShopCallError("cancelled", "Subscription no longer wanted");
    }
    sub.sid = offer.sid;
    await this._answerSubscription(sub, offer.sdp);
    return sub;
  }

  /**
   * @param {Subscription} sub
   * @param {string} sdp the server's offer
   */
  async _answerSubscription(sub, sdp) {
    let pc = sub.pc;
    if (!pc) {
      pc = new RTCPeerConnection({ iceServers: (this.welcome && this.welcome.ice_servers) || [] });
      sub.pc = pc;
      pc.onicecandidate = (e) => {
        if (sub.cancelled || !sub.sid) return;
        const cand = e.candidate ? e.candidate.toJSON() : null;
        if (sub.started) this._send({ type: "trickle", target: sub.sid, candidate: cand });
        else sub.pendingCandidates.push(cand);
      };
      pc.ontrack = (e) => {
        if (sub.cancelled) return;
        const track = e.track;
        if (!sub.stream.getTracks().includes(track)) sub.stream.addTrack(track);
        track.addEventListener("ended", () => {
          try {
            sub.stream.removeTrack(track);
          } catch (_) {
            /* ignore */
          }
        });
        this._emit("track", {
          pid: sub.pid,
          sid: sub.sid,
          stream: sub.stream,
          track,
          participant: this.participantFor(sub.pid),
          source: sub.pid.endsWith(":screen") ? "screen" : "camera",
        });
      };
      pc.onconnectionstatechange = () => {
        if (sub.cancelled) return;
        this._emit("subscriber-state", { pid: sub.pid, sid: sub.sid, state: pc.connectionState });
        if (pc.connectionState === "failed") this._onSubscriptionFailed(sub);
      };
    }
    await pc.setRemoteDescription({ type: "offer", sdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    this._applyPlayoutTarget(sub);
    if (sub.cancelled) throw new ShopCallError("cancelled", "Subscription no longer wanted");
    await this.request({ type: "start", sid: sub.sid, sdp: pc.localDescription ? pc.localDescription.sdp : answer.sdp });
    sub.started = true;
    const queued = sub.pendingCandidates;
    sub.pendingCandidates = [];
    for (const c of queued) this._send({ type: "trickle", target: sub.sid, candidate: c });
  }

  /**
   * Size the receive buffer of a subscription as the server's playout controller asks: larger
   * under loss, so late retransmissions still land before their frame is due (null: the browser's
   * default, lowest latency). Audio and video together, so lip sync holds.
   * @param {Subscription} sub
   */
  _applyPlayoutTarget(sub) {
    if (!sub.pc || sub.playoutTargetMs === undefined) return;
    for (const r of sub.pc.getReceivers()) {
      if (!("jitterBufferTarget" in r)) continue;
      try {
        r.jitterBufferTarget = sub.playoutTargetMs;
      } catch (err) {
        this._log("jitterBufferTarget refused", err);
      }
    }
  }

  /** @param {{sid: string, pid?: string, sdp: string}} msg */
  async _onUnsolicitedOffer(msg) {
    let sub = null;
    for (const s of this.subscriptions.values()) if (s.sid === msg.sid) sub = s;
    if (!sub && msg.pid) {
      sub = {
        pid: msg.pid,
        sid: msg.sid,
        pc: null,
        stream: new MediaStream(),
        started: false,
        pendingCandidates: [],
        cancelled: false,
        failures: 0,
      };
      const old = this.subscriptions.get(msg.pid);
      if (old) this._dropSubscription(msg.pid, true);
      this.subscriptions.set(msg.pid, sub);
    }
    if (!sub) return;
    try {
      await this._answerSubscription(sub, msg.sdp);
    } catch (err) {
      this._emitError(err, "subscribe");
    }
  }

  /** @param {Subscription} sub */
  async _onSubscriptionFailed(sub) {
    sub.failures += 1;
    const pid = sub.pid;
    const failures = sub.failures;
    if (failures > 3) {
      this._emitError(new ShopCallError("media_unavailable", "Could not receive the other side's video"), "subscribe");
      return;
    }
    await sleep(1000 * failures);
    if (this.subscriptions.get(pid) !== sub || this.state !== "connected") return;
    this._dropSubscription(pid, true);
    const p = this.participants.get(pid);
    if (p && p.publishing) {
      try {
        const fresh = await this.subscribe(pid);
        fresh.failures = failures;
      } catch (err) {
        if (err.code !== "cancelled") this._emitError(err, "subscribe");
      }
    }
  }

  /**
   * Stop receiving a participant's media.
   * @param {string} pid
   */
  async unsubscribe(pid) {
    this._dropSubscription(pid, true);
  }

  /**
   * @param {string} pid
   * @param {boolean} tellServer send `unsubscribe` for it
   */
  _dropSubscription(pid, tellServer) {
    const sub = this.subscriptions.get(pid);
    if (!sub) return;
    this.subscriptions.delete(pid);
    sub.cancelled = true;
    if (sub.pc) {
      sub.pc.onicecandidate = null;
      sub.pc.ontrack = null;
      sub.pc.onconnectionstatechange = null;
      try {
        sub.pc.close();
      } catch (_) {
        /* ignore */
      }
    }
    if (tellServer && sub.sid && this.state === "connected") {
      this.request({ type: "unsubscribe", sid: sub.sid }, { soft: true }).catch(() => {});
    }
    if (sub.sid || sub.stream.getTracks().length) this._emit("track-removed", { pid, sid: sub.sid });
  }

  // ------------------------------------------------------------------- calls

  /**
   * Shopper: ring the shop's agents.
   * @param {{product?: string, page?: string}} [context]
   * @returns {Promise<{call: string, room: string, answered: Promise<{call: string, agent: {identity: string, name: string}}>}>}
   *   `answered` resolves on `call_answered` and rejects (`call_cancelled`) if the call is cancelled.
   */
  async startCall(context = {}) {
    const ctx = { ...context };
    if (ctx.page === undefined && typeof location !== "undefined") ctx.page = location.href;
    const reply = await this.request({ type: "call", context: ctx });
    const answered = this.waitForAnswer(reply.call);
    answered.catch(() => {}); // the app may not await it
    return {
      call: reply.call,
      room: reply.room,
      position: reply.position ?? null,
      estimatedWaitS: reply.estimated_wait_s ?? null,
      answered,
    };
  }

  /**
   * Resolve when an agent answers the call (`call_answered`).
   * @param {string} call
   * @param {{timeoutMs?: number}} [opts]
   * @returns {Promise<{call: string, agent: {identity: string, name: string}}>}
   */
  waitForAnswer(call, opts = {}) {
    const existing = this._answerWaiters.get(call);
    if (existing && existing.promise) return existing.promise;
    /** @type {any} */
    const waiter = {};
    waiter.promise = new Promise((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
    });
    this._answerWaiters.set(call, waiter);
    if (opts.timeoutMs) {
      setTimeout(() => this._settleAnswerWaiter(call, new ShopCallError("timeout", "No agent answered")), opts.timeoutMs);
    }
    return waiter.promise;
  }

  /** @param {string} call @param {ShopCallError|null} err @param {any} [value] */
  _settleAnswerWaiter(call, err, value) {
    const w = this._answerWaiters.get(call);
    if (!w) return;
    this._answerWaiters.delete(call);
    if (err) w.reject(err);
    else w.resolve(value);
  }

  /**
   * Shopper: stop ringing.
   * @param {string} call
   */
  async cancelCall(call) {
    this._settleAnswerWaiter(call, new ShopCallError("call_cancelled", "The call was cancelled"));
    try {
      await this.request({ type: "cancel_call", call }, { soft: true });
    } catch (err) {
      if (!["call_not_found", "disconnected"].includes(err.code)) throw err;
    }
  }

  /**
   * Agent: go online for ringing. Resolves with the calls ringing right now.
   * @returns {Promise<IncomingCall[]>}
   */
  async setAvailable() {
    const reply = await this.request({ type: "available" });
    this.available = true;
    return reply.calls || [];
  }

  /**
   * Agent: set my presence. Calls only ring agents who are online with a free slot.
   * @param {"online"|"away"|"busy"|"offline"} status
   * @returns {Promise<{status: string, calls: IncomingCall[]}>}
   */
  async setStatus(status) {
    const reply = await this.request({ type: "set_status", status });
    this.available = status === "online";
    return { status: reply.status, calls: reply.calls || [] };
  }

  /** Agent: start recording the room (per the app's policy; shoppers are asked for consent first). */
  async startRecording() {
    return this.request({ type: "start_recording" });
  }

  /** Agent: stop recording; the composite is prepared in the background. */
  async stopRecording() {
    return this.request({ type: "stop_recording" });
  }

  /**
   * Shopper: answer "may we record you?". A refusal means nothing of yours is recorded.
   * @param {string} recording @param {boolean} granted
   */
  async answerRecordingConsent(recording, granted) {
    return this.request({ type: "recording_consent", recording, granted });
  }

  /**
   * Shop widget: report what the shopper does (page/product views, cart, heartbeats) so agents see
   * live visitors. Fire and forget.
   * @param {{event: "page_view"|"product_view"|"cart"|"heartbeat", page?: string, product?: string,
   *   title?: string, cart?: {items: number, value: number, currency?: string}, returning?: boolean,
   *   first_seen?: number}} e
   */
  reportVisit(e) {
    return this._send({ type: "visitor_event", ...e });
  }

  /**
   * Agent: invite a live visitor to a video call (they see a prompt and may accept).
   * @param {string} visitor @param {string} [message]
   */
  async inviteVisitor(visitor, message) {
    return this.request({ type: "invite_visitor", visitor, message: message || null });
  }

  /**
   * Shopper: answer an agent's invitation. Accepting returns `{call, room, agent}`: join that room.
   * @param {string} invite @param {boolean} accept
   */
  async answerInvite(invite, accept) {
    return this.request({ type: "answer_invite", invite, accept });
  }

  /**
   * Host (agent): mute, remove or spotlight a participant; `unspotlight` needs no pid.
   * @param {string|null} pid
   * @param {"mute_audio"|"mute_video"|"remove"|"spotlight"|"unspotlight"} action
   */
  async moderate(pid, action) {
    return this.request({ type: "moderate", pid, action });
  }

  /**
   * Agent: hand my call over to another agent (the shopper stays, nobody re-queues).
   * @param {string} call @param {string} to agent identity
   */
  async transferCall(call, to) {
    return this.request({ type: "transfer_call", call, to });
  }

  /**
   * Agent: invite another agent into my call.
   * @param {string} call @param {string} to agent identity
   */
  async inviteAgent(call, to) {
    return this.request({ type: "invite_agent", call, to });
  }

  /**
   * Agent: take a ringing call. Rejects with code `call_taken` if another agent was first.
   * Join the returned room afterwards.
   * @param {string} call
   * @returns {Promise<{call: string, room: string}>}
   */
  async acceptCall(call) {
    const reply = await this.request({ type: "accept_call", call });
    return { call: reply.call || call, room: reply.room };
  }

  /**
   * Agent: stop this call ringing for me.
   * @param {string} call
   */
  async declineCall(call) {
    try {
      await this.request({ type: "decline_call", call }, { soft: true });
    } catch (err) {
      if (!["call_not_found", "call_taken"].includes(err.code)) throw err;
    }
  }

  // ----------------------------------------------------------------- in call

  /**
   * Send a chat message to the room; resolves with the stored message.
   * @param {string} text
   */
  async sendChat(text) {
    const reply = await this.request({ type: "chat", text });
    return reply.message;
  }

  /**
   * Agent: show a product card to the room (from the app's catalogue, by SKU).
   * @param {string} sku
   * @param {string|null} [variant]
   */
  async pushProductCard(sku, variant = null) {
    const reply = await this.request({ type: "product_card", sku, variant });
    return reply.card;
  }

  /**
   * Shopper: record a click on a product card (a conversion signal for the merchant).
   * @param {string} card card id
   * @param {"add_to_cart"|"view"} action
   */
  async cardAction(card, action) {
    return this.request({ type: "card_action", card, action });
  }

  /**
   * Live annotation on a video. `target` is the pid of the video drawn on (or `pid:screen`).
   * Stroke points are fractions (0..1) of the video's width and height. `partial` strokes are
   * streamed while drawing and are not acknowledged; the finished stroke is.
   * @param {{op: "stroke"|"undo"|"clear", target: string, stroke?: any, partial?: boolean, stroke_id?: string}} a
   */
  annotate(a) {
    if (a.partial) {
      this._send({ type: "annotate", id: `a${++this._seq}`, ...a });
      return Promise.resolve(null);
    }
    return this.request({ type: "annotate", ...a });
  }

  // ------------------------------------------------------------------- quality

  _startQualityReports() {
    clearInterval(this._qualityTimer);
    this._qualityPrev = new Map();
    if (!this.options.qualityReportMs) return;
    this._qualityTimer = setInterval(() => this._reportQuality().catch(() => {}), this.options.qualityReportMs);
  }

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
    const out = { rtt_ms: null, jitter_ms: null, out_kbps: null, subs: {} };
    if (this.publisherPc) {
      let bytes = 0;
      (await this.publisherPc.getStats()).forEach((st) => {
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
      (await sub.pc.getStats()).forEach((st) => {
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
    return out;
  }

  async _reportQuality() {
    if (!this.room || this.state !== "connected") return;
    const summary = await this.qualitySummary();
    if (summary.rtt_ms == null && !Object.keys(summary.subs).length) return;
    const ack = await this.request({ type: "quality", ...summary });
    this.networkQuality = { level: ack.level, mos: ack.mos };
    this._emit("network-quality", { level: ack.level, mos: ack.mos, summary });
  }

  // ------------------------------------------------------------------- stats

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
  }

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
  }
}

export default ShopCallClient;
