/**
 * Live visitors: the shop widget reports what the shopper does; agents invite visitors to a
 * call and visitors answer (docs/signalling.md "Live visitors and invitations").
 * @module shopcall/features/visitors
 */

import { emit } from "../messages.js";

/** ShopCallClient methods (mixed into its prototype). */
export const methods = {
  /**
   * Shop widget: report what the shopper does (page/product views, cart, heartbeats) so agents see
   * live visitors. Fire and forget.
   * @param {{event: "page_view"|"product_view"|"cart"|"heartbeat", page?: string, product?: string,
   *   title?: string, cart?: {items: number, value: number, currency?: string}, returning?: boolean,
   *   first_seen?: number}} e
   */
  reportVisit(e) {
    return this._send({ type: "visitor_event", ...e });
  },

  /**
   * Agent: invite a live visitor to a video call (they see a prompt and may accept).
   * @param {string} visitor @param {string} [message]
   */
  async inviteVisitor(visitor, message) {
    return this.request({ type: "invite_visitor", visitor, message: message || null });
  },

  /**
   * Shopper: answer an agent's invitation. Accepting returns `{call, room, agent}`: join that room.
   * @param {string} invite @param {boolean} accept
   */
  async answerInvite(invite, accept) {
    return this.request({ type: "answer_invite", invite, accept });
  },
};

/** @type {import("../messages.js").MessageTable} */
export const messages = {
  agent_invite: emit("agent-invite"),
  invite_declined: emit("invite-declined"),
  invite_accepted: emit("invite-accepted"),
};
