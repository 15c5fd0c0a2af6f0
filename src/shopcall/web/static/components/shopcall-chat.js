/**
 * `<shopcall-chat>` — the in-call side panel: text chat and the product cards the agent shows,
 * in one timeline. Shoppers get "Add to cart" on each card; the click is recorded by the
 * server (a conversion signal) and re-dispatched as an `add-to-cart` event {card} so the
 * merchant page can call its own cart.
 *
 *   chat.attach(client, joinedInfo);   // history from `joined`, live updates from the client
 *   chat.addEventListener("add-to-cart", (e) => shopCart.add(e.detail.card.sku));
 *
 * Events: `add-to-cart` {card}, `unread` {count}.
 * @module shopcall/components/shopcall-chat
 */

import { describeError } from "../sdk/shopcall.js";
import { esc, icons } from "./icons.js";

/** The element's styles, served as a file and linked into its shadow root. */
const STYLESHEET = new URL("./shopcall-chat.css", import.meta.url).href;

export class ShopCallChatElement extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    /** @type {any} */
    this.client = null;
    /** @type {Array<() => void>} */
    this._off = [];
    this.unread = 0;
    this.visible = false;
    /** @type {Map<string, HTMLElement>} */
    this._cards = new Map();
    this._render();
  }

  _render() {
    const root = /** @type {ShadowRoot} */ (this.shadowRoot);
    root.innerHTML = `<link rel="stylesheet" href="${STYLESHEET}">
      <header><span>Chat &amp; products</span>
        <button type="button" data-testid="chat-close" aria-label="Close chat">${icons.close}</button></header>
      <div class="list" data-testid="chat-list" role="log" aria-live="polite">
        <div class="empty">Messages and the products your expert shows you appear here.</div></div>
      <div class="err" hidden></div>
      <form><input data-testid="chat-input" maxlength="2000" placeholder="Write a message…" aria-label="Message" autocomplete="off">
        <button type="submit" data-testid="chat-send">Send</button></form>`;
    this._list = /** @type {HTMLElement} */ (root.querySelector(".list"));
    this._err = /** @type {HTMLElement} */ (root.querySelector(".err"));
    this._input = /** @type {HTMLInputElement} */ (root.querySelector("input"));
    root.querySelector("form")?.addEventListener("submit", (e) => {
      e.preventDefault();
      this._submit();
    });
    root.querySelector("header button")?.addEventListener("click", () =>
      this.dispatchEvent(new CustomEvent("close", { bubbles: true, composed: true })));
  }

  /**
   * @param {any} client a connected ShopCallClient
   * @param {{chat?: any[], cards?: any[]}} [joined] the `joined` info (history)
   */
  attach(client, joined = {}) {
    this.detach();
    this.client = client;
    this._list.innerHTML = "";
    this._cards.clear();
    const items = [
      ...(joined.chat || []).map((m) => ({ ts: m.ts, m })),
      ...(joined.cards || []).map((c) => ({ ts: c.ts, c })),
    ].sort((a, b) => a.ts - b.ts);
    for (const it of items) (it.m ? this._addMessage(it.m, false) : this._addCard(it.c, false));
    this._emptyState();
    const on = (/** @type {string} */ t, /** @type {(d: any) => void} */ fn) => this._off.push(client.on(t, fn));
    on("chat", ({ message }) => this._addMessage(message, true));
    on("product-card", ({ card }) => this._addCard(card, true));
    on("card-action", (ev) => {
      if (ev.action === "add_to_cart") this._addNote(`${ev.name || "The shopper"} added ${this._title(ev.card)} to the cart`);
    });
  }

  detach() {
    for (const off of this._off) off();
    this._off = [];
  }

  /** Whether the panel is on screen (unread counting). @param {boolean} v */
  setVisible(v) {
    this.visible = v;
    if (v) {
      this.unread = 0;
      this._unread();
      setTimeout(() => this._input.focus(), 50);
    }
  }

  /** Agent side: show a card that we pushed. @param {any} card */
  showSentCard(card) {
    this._addCard(card, false);
  }

  _emptyState() {
    const empty = !this._list.querySelector(".msg, .card, .note");
    if (empty && !this._list.querySelector(".empty")) {
      this._list.innerHTML = `<div class="empty">Messages and the products your expert shows you appear here.</div>`;
    } else if (!empty) this._list.querySelector(".empty")?.remove();
  }

  /** @param {string} id */
  _title(id) {
    const el = this._cards.get(id);
    return el ? el.dataset.title || "a product" : "a product";
  }

  async _submit() {
    const text = this._input.value.trim();
    if (!text || !this.client) return;
    this._input.value = "";
    this._err.hidden = true;
    try {
      const m = await this.client.sendChat(text);
      this._addMessage(m, false, true);
    } catch (err) {
      this._input.value = text;
      this._err.textContent = `Not sent — ${describeError(err)}`;
      this._err.hidden = false;
    }
  }

  /** @param {any} m @param {boolean} live @param {boolean} [mine] */
  _addMessage(m, live, mine) {
    const me = this.client && this.client.token ? this._identity() : null;
    const div = document.createElement("div");
    div.className = "msg" + (mine || (me && m.identity === me) ? " mine" : "");
    div.dataset.testid = "chat-message";
    div.innerHTML = `<span class="who">${esc(m.name || m.identity)}</span>${esc(m.text)}`;
    this._append(div, live);
  }

  /** @param {string} text */
  _addNote(text) {
    const div = document.createElement("div");
    div.className = "note";
    div.dataset.testid = "chat-note";
    div.textContent = text;
    this._append(div, true);
  }

  /** @param {any} c @param {boolean} live */
  _addCard(c, live) {
    if (this._cards.has(c.id)) return;
    const shopper = !this.client || !this._isStaff();
    const div = document.createElement("div");
    div.className = "card";
    div.dataset.testid = "product-card";
    div.dataset.sku = c.sku;
    div.dataset.title = c.title;
    const price = new Intl.NumberFormat(undefined, { style: "currency", currency: c.currency || "EUR" }).format(c.price);
    div.innerHTML = `
      <img src="${esc(c.image_url || "")}" alt="">
      <div><div class="t">${esc(c.title)}</div>
        ${c.variant ? `<div class="v">${esc(c.variant)}</div>` : ""}
        <div class="row"><span class="p">${esc(price)}</span>
          ${shopper ? `<button type="button" data-testid="add-to-cart">${icons.cart}<span>Add to cart</span></button>` : ""}</div></div>
      <div class="from">${shopper ? `Shown by ${esc((c.from && c.from.name) || "your expert")}` : "Shown to the shopper"}</div>`;
    const btn = /** @type {HTMLButtonElement|null} */ (div.querySelector("button"));
    if (btn) {
      btn.addEventListener("click", async () => {
        btn.disabled = true;
        try {
          await this.client.cardAction(c.id, "add_to_cart");
          btn.innerHTML = `${icons.check}<span>Added</span>`;
          this.dispatchEvent(new CustomEvent("add-to-cart", { bubbles: true, composed: true, detail: { card: c } }));
        } catch (err) {
          btn.disabled = false;
          this._err.textContent = `Could not add to cart — ${describeError(err)}`;
          this._err.hidden = false;
        }
      });
    }
    this._cards.set(c.id, div);
    this._append(div, live);
  }

  /** @param {HTMLElement} el @param {boolean} live */
  _append(el, live) {
    this._list.querySelector(".empty")?.remove();
    this._list.append(el);
    this._list.scrollTop = this._list.scrollHeight;
    if (live && !this.visible) {
      this.unread += 1;
      this._unread();
    }
  }

  _unread() {
    this.dispatchEvent(new CustomEvent("unread", { bubbles: true, composed: true, detail: { count: this.unread } }));
  }

  _claims() {
    try {
      const part = String(this.client.token).split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part));
    } catch (_) {
      return {};
    }
  }

  _identity() {
    return this._claims().sub || null;
  }

  _isStaff() {
    const role = this._claims().role;
    return role === "agent" || role === "admin";
  }
}

if (!customElements.get("shopcall-chat")) customElements.define("shopcall-chat", ShopCallChatElement);
