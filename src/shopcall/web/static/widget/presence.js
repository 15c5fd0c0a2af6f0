/**
 * Visitor reporting: while the shopper browses (no call), one signalling socket tells the shop's experts
 * what they look at (page, product, cart) so one of them can invite them to a call. Off until the shop
 * declares consent (`ShopCall.consent({analytics: true})` or `data-consent`): without it no socket is
 * opened and nothing is sent.
 * @module shopcall/widget/presence
 */

import { ShopCallClient } from "../sdk/shopcall.js";

const SINCE_KEY = "shopcall.widget.since";
const VISITED_KEY = "shopcall.widget.visited";

export class Presence {
  /**
   * @param {{api: import("./api.js").WidgetApi, onInvite: (client: any, invite: any) => void,
   *          context: () => any, busy: () => boolean}} opts
   */
  constructor(opts) {
    this.opts = opts;
    this.consented = false;
    this.client = null;
    this.timer = null;
    this.firstSeen = Number(sessionStorage.getItem(SINCE_KEY)) || Date.now() / 1000;
    sessionStorage.setItem(SINCE_KEY, String(this.firstSeen));
    this.returning = !!localStorage.getItem(VISITED_KEY);
  }

  /** The shop's consent changed: start (heartbeat every 20 s) or stop and forget this visitor. */
  setConsent(on) {
    this.consented = !!on;
    if (!this.consented) {
      this.stop();
      return;
    }
    if (!localStorage.getItem(VISITED_KEY)) localStorage.setItem(VISITED_KEY, String(Date.now()));
    this.ensure();
    clearInterval(this.timer);
    this.timer = setInterval(() => { this.ensure(); this.report("heartbeat"); }, 20000);
  }

  async ensure() {
    if (!this.consented || this.opts.busy() || (this.client && this.client.state !== "closed")) return;
    try {
      const token = await this.opts.api.token();
      if (!this.consented || this.opts.busy()) return;
      const c = new ShopCallClient({ url: this.opts.api.signalUrl() });
      this.client = c;
      c.on("agent-invite", (inv) => this.opts.onInvite(c, inv));
      await c.connect(token);
      this.report("page_view");
      this.reportContext();
    } catch (err) {
      console.warn("ShopCall: visitor presence unavailable", err);
    }
  }

  report(event, extra = {}) {
    const c = this.client;
    if (!this.consented || !c || c.state !== "connected") return;
    c.reportVisit({ event, page: location.pathname + location.search, returning: this.returning,
                    first_seen: this.firstSeen, ...extra });
  }

  /** What the shop's context says now: the product on screen, the cart. */
  reportContext() {
    const ctx = this.opts.context() || {};
    if (ctx.product && ctx.product.sku) this.report("product_view", { product: ctx.product.sku, title: ctx.product.title });
    if (ctx.cart && ctx.cart.items) this.report("cart", { cart: ctx.cart });
  }

  /** The call takes over: its own socket; the presence socket goes (experts see a caller, not a browser). */
  handOver() {
    const c = this.client;
    this.client = null;
    return c;
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    if (this.client) this.client.close();
    this.client = null;
  }
}
