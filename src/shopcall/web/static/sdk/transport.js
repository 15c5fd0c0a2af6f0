/**
 * The signalling socket: hello/welcome, requests and their replies, heartbeat, token refresh,
 * and reconnecting with backoff after a drop (docs/signalling.md).
 *
 * Liveness: the hello asks the server to ping us (`heartbeat: true`); we answer each ping at once
 * from the message handler (never throttled like a background tab's timers) and ping it ourselves
 * every `heartbeat_s`. A socket that brought no frame for `liveness_timeout_s` is dead: dropped and
 * reconnected, so a silent network loss is noticed within about 9 s on both sides.
 * @module shopcall/transport
 */

import { ENDS_RESUME } from "./continuity.js";
import { ERROR_TEXT, ShopCallError, errorFromMessage } from "./errors.js";

/** Requests whose reply is not named in the protocol: resolve on silence instead of failing. */
export const SOFT_REPLY_MS = 3000;

/**
 * Close codes after which reconnecting is pointless: normal close, room ended (4000), removed by
 * the host (4003), token refused (4401), replaced by a newer connection of ours (4409: this tab was
 * reopened elsewhere). Every other code is a drop to recover from — among them
 * idle timeout (4408), the server's outbound queue for us overflowed (4429), a message too big
 * (1009) — since the server keeps no state we would lose by coming back.
 */
export const FINAL_CLOSE_CODES = Object.freeze([1000, 4000, 4003, 4401, 4409]);

/** How often the heartbeat timer looks at the socket. */
export const HEARTBEAT_TICK_MS = 1000;

/**
 * After how long without any frame from the server the socket counts as dead: the welcome's
 * `liveness_timeout_s`, or 2.5 heartbeats from a server that does not send one.
 * @param {{heartbeat_s?: number, liveness_timeout_s?: number}|null} welcome
 */
export function livenessTimeoutMs(welcome) {
  const w = welcome || {};
  if (w.liveness_timeout_s && w.liveness_timeout_s > 0) return w.liveness_timeout_s * 1000;
  return Math.max(1, w.heartbeat_s || 20) * 2500;
}

/**
 * What to do after the socket closed with `code`.
 * @param {number} code
 * @returns {"final"|"reconnect"}
 */
export function closePolicy(code) {
  return FINAL_CLOSE_CODES.includes(code) ? "final" : "reconnect";
}

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential from 0.5 s, capped at `capMs`
 * (8 s; 2 s while in a call, whose media the server keeps only for the grace period and which
 * should be back within seconds of the network), ±20 % jitter so clients dropped together do not
 * come back together.
 * @param {number} attempt @param {() => number} [random] @param {number} [capMs]
 */
export function reconnectDelay(attempt, random = Math.random, capMs = 8000) {
  return Math.min(capMs, 500 * 2 ** attempt) * (0.8 + random() * 0.4);
}

/** Reconnect delay cap while in a room. */
export const IN_CALL_RECONNECT_CAP_MS = 2000;

/**
 * Delay before reconnect attempt `attempt` of a client in a call: the first few come quickly
 * (0.2-0.4 s; the kept media waits, and the open timeout already spaces them), then as
 * {@link reconnectDelay} capped at 2 s.
 * @param {number} attempt @param {() => number} [random]
 */
export function inCallReconnectDelay(attempt, random = Math.random) {
  if (attempt < 4) return 200 + random() * 200;
  return reconnectDelay(attempt - 4, random, IN_CALL_RECONNECT_CAP_MS);
}

/**
 * A socket that is not open after this long is given up and a new one tried: a SYN lost while the
 * network was down is otherwise retried by the kernel with a growing back-off (1, 2, 4 s…), long
 * after the network is back.
 */
export const OPEN_TIMEOUT_MS = 1500;

/** A first connect gets longer: a slow network's TLS handshake, with no reconnect loop behind it. */
export const FIRST_OPEN_TIMEOUT_MS = 10000;

/** The open timeout of reconnect attempt `attempt`: doubling from {@link OPEN_TIMEOUT_MS} (a slow but
 * reachable server still gets in), at most 12 s. @param {number} attempt */
export function openTimeoutMs(attempt) {
  return Math.min(12000, OPEN_TIMEOUT_MS * 2 ** Math.max(0, attempt));
}

/** A probe ping (sent when a peer connection breaks or the network changes) unanswered this long means the socket is dead too. */
export const PROBE_TIMEOUT_MS = 1000;

/** @param {number} ms */
export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

export function defaultUrl() {
  if (typeof location === "undefined") return "ws://localhost:8080/v1/signal";
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/v1/signal`;
}

/** ShopCallClient methods (mixed into its prototype). */
export const methods = {
  /**
   * Open the socket, send `hello` and resolve with the server's `welcome`.
   * @param {string} token client JWT
   * @returns {Promise<import("./shopcall.js").Welcome>}
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
  },

  /** One socket and its hello; rejects if the hello fails or the socket closes first. */
  _open() {
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new WebSocket(this.options.url);
      } catch (e) {
        reject(new ShopCallError("connect_failed", ERROR_TEXT.connect_failed, { cause: e }));
        return;
      }
      if (ws.readyState === WebSocket.CLOSED) {
        // refused before it started (Chromium, when the page's CSP connect-src leaves this URL out): the
        // socket is CLOSED at once and fires an error but never a close event, so nothing below would settle
        this._log("socket blocked before it opened");
        ws.onerror = () => {};
        reject(new ShopCallError("connect_failed", ERROR_TEXT.connect_failed));
        return;
      }
      this.ws = ws;
      let settled = false;
      const fail = (/** @type {ShopCallError} */ err) => {
        if (settled) return;
        settled = true;
        clearTimeout(openTimer);
        reject(err);
      };
      const openTimer = setTimeout(() => {
        if (ws.readyState !== WebSocket.CONNECTING) return;
        this._log("socket open timed out");
        ws.onopen = ws.onmessage = ws.onclose = null;
        try {
          ws.close();
        } catch (_) {
          /* ignore */
        }
        if (this.ws === ws) this.ws = null;
        fail(new ShopCallError("connect_failed", ERROR_TEXT.connect_failed));
      }, this.state === "connecting" ? FIRST_OPEN_TIMEOUT_MS : openTimeoutMs((this._reconnectAttempt || 1) - 1));
      ws.onopen = () => {
        clearTimeout(openTimer);
        this._lastSeen = Date.now();
        /** @type {Record<string, any>} */
        const hello = { type: "hello", heartbeat: true };
        if (this.token) hello.token = this.token;
        else if (this._resumeToken) hello.resume = this._resumeToken;
        this.request(hello, { timeoutMs: 10000 })
          .then((welcome) => {
            if (settled) return;
            settled = true;
            this.welcome = welcome;
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
  },

  /**
   * @param {{code: number, reason?: string}} ev
   * @param {boolean} wasUp the hello had succeeded on this socket
   */
  _onSocketClosed(ev, wasUp) {
    this._log("socket closed", ev.code, ev.reason);
    this._stopHeartbeat();
    this.ws = null;
    this._rejectAllPending(new ShopCallError("disconnected", ERROR_TEXT.disconnected));
    if (!wasUp) return; // connect()/_reconnect() handles it
    const final = this._closing || this._fatal || closePolicy(ev.code) === "final";
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
  },

  async _reconnect() {
    this._setState("reconnecting");
    // peer connections survive a short signalling outage only if the server kept our media;
    // it releases it once we are gone, so rebuild everything after the new hello.
    while (!this._closing && this._reconnectAttempt < this.options.maxReconnectAttempts) {
      const quick = this._quickReconnect && this._reconnectAttempt === 0;
      this._quickReconnect = false;
      const delay = quick ? 50 : this.room ? inCallReconnectDelay(this._reconnectAttempt) : reconnectDelay(this._reconnectAttempt);
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
  },

  _startHeartbeat() {
    this._stopHeartbeat();
    const every = Math.max(1, (this.welcome && this.welcome.heartbeat_s) || 20) * 1000;
    const deadAfter = livenessTimeoutMs(this.welcome);
    this._lastPingAt = Date.now();
    this._lastTickAt = 0;
    this._heartbeatTimer = setInterval(() => this._heartbeatTick(every, deadAfter), Math.min(HEARTBEAT_TICK_MS, every));
  },

  /** @param {number} every ping period (ms) @param {number} deadAfter silence that means a dead socket (ms) */
  _heartbeatTick(every, deadAfter) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    const now = Date.now();
    // a tick that comes late (this page was frozen or starved): frames that arrived meanwhile may
    // still wait in the event queue, so look at the silence again on the next tick
    const late = this._lastTickAt && now - this._lastTickAt > 2.5 * HEARTBEAT_TICK_MS;
    this._lastTickAt = now;
    if (!late && now - this._lastSeen > deadAfter) {
      // the server went silent: drop the socket and reconnect
      this._log("heartbeat lost", now - this._lastSeen);
      this._dropDeadSocket("heartbeat lost");
      return;
    }
    if (now - this._lastPingAt >= every) {
      this._lastPingAt = now;
      this._send({ type: "ping" });
    }
  },

  /**
   * Drop a socket found dead (silent, or a probe unanswered) and reconnect now: browsers fire its
   * close only when TCP gives up, which takes far longer.
   * @param {string} why
   */
  _dropDeadSocket(why) {
    const ws = this.ws;
    if (!ws) return;
    try {
      ws.close(4002, why);
    } catch (_) {
      /* ignore */
    }
    if (this.ws === ws) {
      ws.onclose = null;
      ws.onmessage = null;
      this._quickReconnect = true; // our network broke, not the server: no herd to spread out
      this._onSocketClosed({ code: 1006, reason: why }, true);
    }
  },

  /**
   * A peer connection broke or the network changed: the socket may be dead as well, and waiting for
   * the liveness timeout would delay every repair (an ICE restart needs signalling). Ping now; no
   * frame within {@link PROBE_TIMEOUT_MS} → drop it and reconnect at once.
   * @param {string} why
   */
  _probeSocket(why) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.state !== "connected" || this._probe) return;
    const framesBefore = this._framesIn || 0;
    this._log("probing the socket", why);
    this._send({ type: "ping" });
    this._probe = setTimeout(() => {
      this._probe = null;
      if (this.ws !== ws || (this._framesIn || 0) > framesBefore) return; // any frame since: alive
      this._log("probe unanswered: the socket is dead", why);
      this._dropDeadSocket(`probe unanswered (${why})`);
    }, PROBE_TIMEOUT_MS);
  },

  _stopHeartbeat() {
    if (this._probe) clearTimeout(this._probe);
    this._probe = null;
    if (this._heartbeatTimer) clearInterval(this._heartbeatTimer);
    this._heartbeatTimer = null;
  },

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
  },

  /**
   * Renew the token on the open connection (`refresh` → `refreshed`).
   * @param {string} token
   */
  async refresh(token) {
    const reply = await this.request({ type: "refresh", token });
    this.token = token;
    // TURN credentials expire with the token: live peer connections take the renewed ones
    if (reply && Array.isArray(reply.ice_servers) && this.welcome) {
      this.welcome.ice_servers = reply.ice_servers;
      if (typeof this._applyIceServers === "function") this._applyIceServers();
    }
    this._emit("token-refreshed", {});
  },

  async _autoRefresh() {
    if (!this.options.tokenProvider) return;
    try {
      const token = await this.options.tokenProvider();
      if (token) await this.refresh(token);
    } catch (err) {
      this._emitError(err, "refresh");
    }
  },

  /** @param {Object} msg @returns {boolean} whether it went out */
  _send(msg) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this._log("→", msg.type, msg);
    this.ws.send(JSON.stringify(msg));
    return true;
  },

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
  },

  /** @param {ShopCallError} err */
  _rejectAllPending(err) {
    const pend = [...this._pending.values()];
    this._pending.clear();
    for (const p of pend) {
      clearTimeout(p.timer);
      if (p.soft) p.resolve(null);
      else p.reject(err);
    }
  },

  /**
   * A frame from the server: a reply settles its request; everything else goes to the
   * message table (room_ended also does when it is a reply, since it ends the room for us).
   * @param {{data: string}} ev
   */
  _onMessage(ev) {
    this._lastSeen = Date.now();
    this._framesIn = (this._framesIn || 0) + 1;
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch (_) {
      return;
    }
    if (!msg || typeof msg !== "object") return;
    this._log("←", msg.type, msg);
    this._emit("message", { message: msg });
    if (ENDS_RESUME.includes(msg.type)) this._forgetResume();

    if (msg.re !== undefined && msg.re !== null) {
      const p = this._pending.get(String(msg.re));
      if (p) {
        this._pending.delete(String(msg.re));
        clearTimeout(p.timer);
        if (msg.type === "error") {
          if (msg.fatal) this._fatal = true;
          p.reject(errorFromMessage(msg));
        } else {
          p.resolve(msg);
        }
        if (msg.type !== "room_ended") return;
      } else if (msg.type !== "error" && msg.type !== "room_ended") {
        return; // a late reply to a request that timed out
      }
    }
    this._dispatch(msg);
  },
};

/** @type {import("./messages.js").MessageTable} */
export const messages = {
  pong() {},
  ping(c) {
    c._send({ type: "pong" }); // the server's liveness probe: answer now, whatever the timers do
  },
  error(c, msg) {
    // not a reply to a pending request: tell the app
    if (msg.fatal) c._fatal = true;
    c._emit("error", { error: errorFromMessage({ ...msg, re: undefined }), fatal: !!msg.fatal, action: null });
  },
  token_expiring(c, msg) {
    c._emit("token-expiring", { expires_at: msg.expires_at });
    c._autoRefresh();
  },
};
