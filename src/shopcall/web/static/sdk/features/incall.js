/**
 * In the call: chat, product cards and live annotation (docs/signalling.md "In the call").
 * @module shopcall/features/incall
 */

import { emit } from "../messages.js";

/** ShopCallClient methods (mixed into its prototype). */
export const methods = {
  /**
   * Send a chat message to the room; resolves with the stored message.
   * @param {string} text
   */
  async sendChat(text) {
    const reply = await this.request({ type: "chat", text });
    return reply.message;
  },

  /**
   * Agent: show a product card to the room (from the app's catalogue, by SKU).
   * @param {string} sku
   * @param {string|null} [variant]
   */
  async pushProductCard(sku, variant = null) {
    const reply = await this.request({ type: "product_card", sku, variant });
    return reply.card;
  },

  /**
   * Shopper: record a click on a product card (a conversion signal for the merchant).
   * @param {string} card card id
   * @param {"add_to_cart"|"view"} action
   */
  async cardAction(card, action) {
    return this.request({ type: "card_action", card, action });
  },

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
  },
};

/** @type {import("../messages.js").MessageTable} */
export const messages = {
  chat: emit("chat", (m) => ({ message: m.message })),
  product_card: emit("product-card", (m) => ({ card: m.card })),
  card_action: emit("card-action"),
  annotation: emit("annotation"),
};
