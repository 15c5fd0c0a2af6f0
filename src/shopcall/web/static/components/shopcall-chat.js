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
 * Strings and prices: property `i18n` (namespaces common, chat, errors), English until set.
 * @module shopcall/components/shopcall-chat
 */

import { englishI18n, translateDom } from "../i18n/i18n.js";
import { describeError } from "../sdk/shopcall.js";
import { esc, icons } from "./icons.js";

/** The element's styles, served as a file and linked into its shadow root. */
const STYLESHEET = new URL("./shopcall-chat.css", import.meta.url).href;
const CHAT_NAMESPACES = ["common", "chat", "errors"];
const EN = await englishI18n(CHAT_NAMESPACES);

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
    /** @type {WeakMap<HTMLElement, any>} each card element's data, to re-label it */
    this._cardData = new WeakMap();
    this._i18n = null;
    this._render();
  }

  /** The I18n for strings and prices (English until set). */
  get i18n() {
    return this._i18n || EN;
  }
  set i18n(v) {
    this._i18n = v || null;
    // an I18n made for another part (the widget's) may lack this element's namespaces: load them, same locale
    if (v && v.including) {
      v.including(CHAT_NAMESPACES).then((full) => {
        if (this._i18n === v && full !== v) this.i18n = full;
      }, () => {});
    }
    translateDom(/** @type {ShadowRoot} */ (this.shadowRoot), { t: (k) => this._t(k) });
    this.setAttribute("lang", this.i18n.locale);
    for (const div of this._cards.values()) this._labelCard(div);
  }

  /** @param {string} key @param {Record<string, any>} [values] */
  _t(key, values) {
    const i18n = this._i18n;
    return i18n && i18n.has(key) ? i18n.t(key, values) : EN.t(key, values);
  }

  _render() {
    const root = /** @type {ShadowRoot} */ (this.shadowRoot);
    root.innerHTML = `<link rel="stylesheet" href="${STYLESHEET}">
      <header><span data-i18n="chat.title"></span>
        <button type="button" data-testid="chat-close" data-i18n-attr="aria-label:chat.close">${icons.close}</button></header>
      <div class="list" data-testid="chat-list" role="log" aria-live="polite" tabindex="0" data-i18n-attr="aria-label:chat.title">
        <div class="empty" data-i18n="chat.empty"></div></div>
      <div class="err" role="alert" hidden></div>
      <form><input data-testid="chat-input" maxlength="2000" data-i18n-attr="placeholder:chat.placeholder;aria-label:chat.message" autocomplete="off">
        <button type="submit" data-testid="chat-send" data-i18n="common.send"></button></form>`;
    translateDom(root, { t: (k) => this._t(k) });
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
      if (ev.action === "add_to_cart") this._addNote(this._t("chat.addedToCartNote", { name: ev.name || this._t("chat.theShopper"), product: this._title(ev.card) }));
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
      this._list.innerHTML = `<div class="empty" data-i18n="chat.empty">${esc(this._t("chat.empty"))}</div>`;
    } else if (!empty) this._list.querySelector(".empty")?.remove();
  }

  /** @param {string} id */
  _title(id) {
    const el = this._cards.get(id);
    return el ? el.dataset.title || this._t("chat.aProduct") : this._t("chat.aProduct");
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
      this._err.textContent = this._t("chat.notSent", { reason: describeError(err, this.i18n) });
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
    div.dataset.shopper = String(shopper);
    div.innerHTML = `
      <img src="${esc(c.image_url || "")}" alt="">
      <div><div class="t">${esc(c.title)}</div>
        ${c.variant ? `<div class="v">${esc(c.variant)}</div>` : ""}
        <div class="row"><span class="p" data-testid="card-price"></span>
          ${shopper ? `<button type="button" data-testid="add-to-cart">${icons.cart}<span></span></button>` : ""}</div></div>
      <div class="from"></div>`;
    this._cardData.set(div, c);
    this._labelCard(div);
    const btn = /** @type {HTMLButtonElement|null} */ (div.querySelector("button"));
    if (btn) {
      btn.addEventListener("click", async () => {
        btn.disabled = true;
        try {
          await this.client.cardAction(c.id, "add_to_cart");
          div.dataset.added = "true";
          btn.innerHTML = `${icons.check}<span>${esc(this._t("chat.added"))}</span>`;
          this.dispatchEvent(new CustomEvent("add-to-cart", { bubbles: true, composed: true, detail: { card: c } }));
        } catch (err) {
          btn.disabled = false;
          this._err.textContent = this._t("chat.cartFailed", { reason: describeError(err, this.i18n) });
          this._err.hidden = false;
        }
      });
    }
    this._cards.set(c.id, div);
    this._append(div, live);
  }

  /** A product card's price (in this locale's format) and words. @param {HTMLElement} div */
  _labelCard(div) {
    const c = this._cardData.get(div);
    if (!c) return;
    const shopper = div.dataset.shopper === "true";
    /** @type {HTMLElement} */ (div.querySelector(".p")).textContent = this.i18n.formatPrice(c.price, c.currency || "EUR");
    const btnText = div.querySelector("button span");
    if (btnText) btnText.textContent = this._t(div.dataset.added ? "chat.added" : "common.addToCart");
    /** @type {HTMLElement} */ (div.querySelector(".from")).textContent = shopper
      ? this._t("chat.shownBy", { name: (c.from && c.from.name) || this._t("chat.yourExpert") })
      : this._t("chat.shownToShopper");
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
