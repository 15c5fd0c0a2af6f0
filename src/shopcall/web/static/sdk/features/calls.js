/**
 * Calls and the queue: a shopper rings and waits for an answer; an agent goes online, is rung,
 * accepts, declines, transfers or invites a colleague (docs/signalling.md "Calls").
 * @module shopcall/features/calls
 */

import { ShopCallError } from "../errors.js";
import { emit } from "../messages.js";

/** ShopCallClient methods (mixed into its prototype). */
export const methods = {
  /**
   * Shopper: ring the shop's agents.
   * @param {{product?: string, page?: string}} [context]
   * @returns {Promise<{call: string, room: string, position: number|null, estimatedWaitS: number|null,
   *   answered: Promise<{call: string, agent: {identity: string, name: string}}>}>}
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
  },

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
  },

  /** @param {string} call @param {ShopCallError|null} err @param {any} [value] */
  _settleAnswerWaiter(call, err, value) {
    const w = this._answerWaiters.get(call);
    if (!w) return;
    this._answerWaiters.delete(call);
    if (err) w.reject(err);
    else w.resolve(value);
  },

  /**
   * Shopper, after a reconnect (dropped network or server restart): take up the calls still
   * waiting for an answer. The server kept their places in the queue; an answer that came
   * meanwhile settles `answered` as `call_answered` would have.
   */
  async _resumeCalls() {
    for (const call of [...this._answerWaiters.keys()]) {
      try {
        const r = await this.request({ type: "resume_call", call });
        if (r.answered) messages.call_answered(this, { call, room: r.room, agent: r.answered });
        else this._emit("queue-update", { call, position: r.position ?? null, estimatedWaitS: r.estimated_wait_s ?? null });
      } catch (err) {
        this._emit("call-unanswered", { call, message: err.message });
        this._settleAnswerWaiter(call, err instanceof ShopCallError ? err : new ShopCallError("internal", String(err)));
      }
    }
  },

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
  },

  /**
   * Agent: go online for ringing. Resolves with the calls ringing right now.
   * @returns {Promise<import("../shopcall.js").IncomingCall[]>}
   */
  async setAvailable() {
    const reply = await this.request({ type: "available" });
    this.available = true;
    return reply.calls || [];
  },

  /**
   * Agent: set my presence. Calls only ring agents who are online with a free slot.
   * @param {"online"|"away"|"busy"|"offline"} status
   * @returns {Promise<{status: string, calls: import("../shopcall.js").IncomingCall[]}>}
   */
  async setStatus(status) {
    const reply = await this.request({ type: "set_status", status });
    this.available = status === "online";
    return { status: reply.status, calls: reply.calls || [] };
  },

  /**
   * Agent: take a ringing call. Rejects with code `call_taken` if another agent was first.
   * Join the returned room afterwards.
   * @param {string} call
   * @returns {Promise<{call: string, room: string}>}
   */
  async acceptCall(call) {
    const reply = await this.request({ type: "accept_call", call });
    return { call: reply.call || call, room: reply.room };
  },

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
  },

  /**
   * Agent: hand my call over to another agent (the shopper stays, nobody re-queues).
   * @param {string} call @param {string} to agent identity
   */
  async transferCall(call, to) {
    return this.request({ type: "transfer_call", call, to });
  },

  /**
   * Agent: invite another agent into my call.
   * @param {string} call @param {string} to agent identity
   */
  async inviteAgent(call, to) {
    return this.request({ type: "invite_agent", call, to });
  },
};

/** @type {import("../messages.js").MessageTable} */
export const messages = {
  incoming_call: emit("incoming-call"),
  call_transferred: emit("call-transferred"),
  call_invitation: emit("call-invitation"),
  queue_update: emit("queue-update", (m) => ({ call: m.call, position: m.position, estimatedWaitS: m.estimated_wait_s })),
  agent_changed: emit("agent-changed", (m) => ({ call: m.call, from: m.from, agent: m.agent })),
  call_taken: emit("call-taken", (m) => ({ call: m.call, agent: m.agent })),
  call_unanswered(c, msg) {
    c._emit("call-unanswered", { call: msg.call, message: msg.message });
    c._settleAnswerWaiter(msg.call, new ShopCallError("no_agent", msg.message || "No agent could take the call"));
  },
  call_cancelled(c, msg) {
    c._emit("call-cancelled", { call: msg.call, reason: msg.reason });
    c._settleAnswerWaiter(msg.call, new ShopCallError("call_cancelled", "The call was cancelled"));
  },
  call_answered(c, msg) {
    const answer = { call: msg.call, agent: msg.agent, room: msg.room };
    c._emit("call-answered", answer);
    c._settleAnswerWaiter(msg.call, null, answer);
  },
};
