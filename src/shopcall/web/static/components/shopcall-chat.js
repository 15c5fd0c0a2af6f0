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

const STYLE = `
:host { display: flex; flex-direction: column; min-height: 0; height: 100%;
  font-family: var(--sc-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  color: var(--sc-fg, #111827); background: var(--sc-bg, #fff); }
* { box-sizing: border-box; }
header { display: flex; align-items: center; justify-content: space-between; padding: 12px 14px;
  border-bottom: 1px solid rgba(0,0,0,.08); font-weight: 650; font-size: 15px; }
header button { border: 0; background: transparent; cursor: pointer; width: 32px; height: 32px; border-radius: 8px;
  display: grid; place-items: center; color: inherit; }
header button:hover { background: rgba(0,0,0,.06); }
header svg { width: 18px; height: 18px; }
.list { flex: 1; overflow-y: auto; padding: 12px 12px 4px; display: flex; flex-direction: column; gap: 8px;
  scroll-behavior: smooth; }
.empty { margin: auto; text-align: center; color: rgba(0,0,0,.45); font-size: 13.5px; padding: 20px; }
.msg { max-width: 82%; padding: 8px 11px; border-radius: 14px; font-size: 14px; line-height: 1.35;
  background: #f1f3f7; align-self: flex-start; overflow-wrap: anywhere; white-space: pre-wrap; }
.msg.mine { align-self: flex-end; background: var(--sc-accent, #4f5bff); color: #fff; }
.msg .who { display: block; font-size: 11.5px; font-weight: 650; opacity: .7; margin-bottom: 2px; }
.msg.mine .who { display: none; }
.note { align-self: center; font-size: 12.5px; color: rgba(0,0,0,.55); background: rgba(47,210,127,.12);
  padding: 5px 10px; border-radius: 999px; }
.card { align-self: stretch; display: grid; grid-template-columns: 72px 1fr; gap: 10px; padding: 10px;
  border: 1px solid rgba(0,0,0,.09); border-radius: 14px; background: #fff; box-shadow: 0 4px 14px rgba(0,0,0,.06); }
.card img { width: 72px; height: 72px; object-fit: contain; border-radius: 10px; background: #f5f6f9; }
.card .t { font-weight: 650; font-size: 14px; line-height: 1.25; }
.card .v { font-size: 12.5px; color: rgba(0,0,0,.55); margin-top: 2px; }
.card .p { font-weight: 700; margin-top: 4px; }
.card .row { display: flex; align-items: center; justify-content: space-between; gap: 8px; }
.card button { border: 0; border-radius: 999px; padding: 7px 12px; font: inherit; font-size: 13px; font-weight: 650;
  background: var(--sc-accent, #4f5bff); color: #fff; cursor: pointer; display: inline-flex; gap: 6px; align-items: center; }
.card button svg { width: 15px; height: 15px; }
.card button[disabled] { background: var(--sc-success, #1f9d55); cursor: default; }
.card .from { grid-column: 1 / -1; font-size: 11.5px; color: rgba(0,0,0,.45); }
form { display: flex; gap: 8px; padding: 10px 12px; border-top: 1px solid rgba(0,0,0,.08); }
input { flex: 1; min-width: 0; border: 1px solid rgba(0,0,0,.15); border-radius: 999px; padding: 9px 14px; font: inherit;
  font-size: 14px; outline: none; }
input:focus { border-color: var(--sc-accent, #4f5bff); box-shadow: 0 0 0 3px color-mix(in srgb, var(--sc-accent, #4f5bff) 20%, transparent); }
form button { border: 0; border-radius: 999px; padding: 0 16px; font: inherit; font-weight: 650; cursor: pointer;
  background: var(--sc-accent, #4f5bff); color: #fff; }
.err { color: var(--sc-danger, #d92d20); font-size: 12.5px; padding: 0 14px 8px; }
`;

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
    root.innerHTML = `<style>${STYLE}</style>
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
