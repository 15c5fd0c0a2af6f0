// Message catalogs and locale formatting for every ShopCall page, component and the widget.
//
// Catalogs are flat JSON files of ICU messages, /static/i18n/locales/<locale>/<namespace>.json; keys carry
// their namespace as prefix ("call.mute" lives in call.json). A key missing in a locale falls back to English,
// so a half-translated catalog never shows a raw key. Catalog URLs are resolved against this module's own URL
// (import.meta.url), so the widget works when a shop on another origin imports it.
// ICU formatting is intl-messageformat (npm), bundled once into ./vendor (`npm run build:i18n`): browsers load
// it as a plain ES module, with no import map and no build step at run time.
import { IntlMessageFormat } from "./vendor/intl-messageformat.js";

export const SUPPORTED = ["en", "zh-CN", "de", "fr", "es", "ja"];
export const DEFAULT_LOCALE = "en";
// Every namespace with catalogs; a component with no i18n set loads English for the ones it needs.
export const NAMESPACES = ["common", "widget", "call", "precall", "chat", "console", "join", "recording", "errors"];

const HERE = new URL("./", import.meta.url);

/** The first candidate that is supported (exactly, else by language: "de-AT" → "de", "zh-Hans" → "zh-CN"); else "en". */
export function pickLocale(candidates) {
  const list = (Array.isArray(candidates) ? candidates : [candidates])
    .filter((c) => typeof c === "string" && c.trim())
    .map((c) => c.trim().replace(/_/g, "-"));
  for (const c of list) {
    const exact = SUPPORTED.find((s) => s.toLowerCase() === c.toLowerCase());
    if (exact) return exact;
    const lang = c.split("-")[0].toLowerCase();
    const byLang = SUPPORTED.find((s) => s.split("-")[0].toLowerCase() === lang);
    if (byLang) return byLang;
  }
  return DEFAULT_LOCALE;
}

/** The browser's preferred locales (navigator.languages), for pickLocale. */
export function browserLocales() {
  if (typeof navigator === "undefined") return [];
  return [...(navigator.languages || []), navigator.language].filter(Boolean);
}

const catalogCache = new Map(); // url → Promise<object>

async function fetchCatalog(url) {
  if (!catalogCache.has(url)) {
    const p = fetch(url, { credentials: "omit" })
      .then((r) => (r.ok ? r.json() : {}))
      .catch(() => ({})); // a missing catalog falls back to English, never breaks the page
    catalogCache.set(url, p);
  }
  return catalogCache.get(url);
}

/**
 * Loads `namespaces` for `locale` (plus English as per-key fallback) and returns an I18n.
 * `base`: the folder holding `locales/` (default: this module's folder). `load(url)`: replaces fetch (tests).
 */
export async function loadI18n(namespaces, locale, { base, load } = {}) {
  const loc = pickLocale([locale]);
  const root = new URL("./", base ? new URL(base, HERE) : HERE);
  const get = load || fetchCatalog;
  const urls = (l) => namespaces.map((ns) => new URL(`locales/${l}/${ns}.json`, root).href);
  const [en, own] = await Promise.all([
    Promise.all(urls(DEFAULT_LOCALE).map(get)),
    loc === DEFAULT_LOCALE ? Promise.resolve([]) : Promise.all(urls(loc).map(get)),
  ]);
  const i18n = new I18n(loc, Object.assign({}, ...own), Object.assign({}, ...en));
  i18n.namespaces = [...namespaces];
  i18n._loadOpts = { base, load };
  return i18n;
}

const englishCache = new Map();
/** English catalogs for a component that was given no i18n (memoised per namespace list). */
export function englishI18n(namespaces) {
  const k = namespaces.join(",");
  if (!englishCache.has(k)) englishCache.set(k, loadI18n(namespaces, DEFAULT_LOCALE));
  return englishCache.get(k);
}

export class I18n {
  constructor(locale, messages, fallback = {}) {
    this.locale = locale;
    this.dir = "ltr"; // all six supported locales are left-to-right
    this._messages = messages;
    this._fallback = fallback;
    this._formats = new Map();
    /** @type {string[]} the namespaces loaded (set by loadI18n) */
    this.namespaces = [];
    this._loadOpts = {};
  }

  /** This I18n if it has `namespaces`, else one in the same locale that also has them (components call this). */
  async including(namespaces) {
    const missing = namespaces.filter((ns) => !this.namespaces.includes(ns));
    if (!missing.length) return this;
    return loadI18n([...this.namespaces, ...missing], this.locale, this._loadOpts);
  }

  /** Whether `key` exists in this locale or in English. */
  has(key) {
    return key in this._messages || key in this._fallback;
  }

  /** The message `key` formatted with `values` (ICU: plural, select, number, date); the key itself if unknown. */
  t(key, values) {
    for (const [msgs, loc] of [[this._messages, this.locale], [this._fallback, DEFAULT_LOCALE]]) {
      const msg = msgs[key];
      if (typeof msg !== "string") continue;
      try {
        return String(this._formatter(msg, loc).format(values));
      } catch (e) {
        console.warn(`i18n: cannot format ${key} (${loc})`, e); // try the English message next
      }
    }
    return key;
  }

  _formatter(msg, loc) {
    const k = `${loc}\u0000${msg}`;
    let f = this._formats.get(k);
    if (!f) {
      f = new IntlMessageFormat(msg, loc);
      this._formats.set(k, f);
    }
    return f;
  }

  /** A price in `currency` (ISO 4217) the way this locale writes it; a bad currency code prints the code. */
  formatPrice(amount, currency) {
    const n = Number(amount);
    try {
      return new Intl.NumberFormat(this.locale, { style: "currency", currency: String(currency || "") }).format(n);
    } catch {
      return `${this.formatNumber(n)} ${currency || ""}`.trim();
    }
  }

  formatNumber(n, opts) {
    return new Intl.NumberFormat(this.locale, opts).format(Number(n));
  }

  /** A date (Date, ISO string or epoch ms); `opts` are Intl.DateTimeFormat options (default: medium date and short time). */
  formatDate(dateOrIso, opts) {
    const d = dateOrIso instanceof Date ? dateOrIso : new Date(dateOrIso);
    if (Number.isNaN(d.getTime())) return "";
    return new Intl.DateTimeFormat(this.locale, opts || { dateStyle: "medium", timeStyle: "short" }).format(d);
  }

  /** A duration in seconds as hours, minutes and seconds in this locale ("2 min 5 sec", "2分5秒"). */
  formatDuration(seconds) {
    const total = Math.max(0, Math.round(Number(seconds) || 0));
    const parts = [[Math.floor(total / 3600), "hour"], [Math.floor((total % 3600) / 60), "minute"], [total % 60, "second"]]
      .filter(([v], i, all) => v > 0 || (i === all.length - 1 && total === 0))
      .map(([v, unit]) => new Intl.NumberFormat(this.locale, { style: "unit", unit, unitDisplay: "short" }).format(v));
    return new Intl.ListFormat(this.locale, { type: "unit", style: "narrow" }).format(parts);
  }

  /** A clock-style elapsed time ("1:05", "1:02:03"), digits in this locale's numbering. */
  formatClock(seconds) {
    const total = Math.max(0, Math.floor(Number(seconds) || 0));
    const two = (v) => this.formatNumber(v, { minimumIntegerDigits: 2, useGrouping: false });
    const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    return h ? `${this.formatNumber(h)}:${two(m)}:${two(s)}` : `${this.formatNumber(m)}:${two(s)}`;
  }
}

/**
 * Fills a static page's markup from the catalogs: `data-i18n="key"` sets textContent and
 * `data-i18n-attr="aria-label:key;placeholder:key2"` sets attributes. Also sets <html lang> when `root` is the document.
 */
export function translateDom(root, i18n) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = i18n.t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":").map((s) => s.trim());
      if (attr && key) el.setAttribute(attr, i18n.t(key));
    }
  }
  if (root.documentElement) {
    root.documentElement.lang = i18n.locale;
    root.documentElement.dir = i18n.dir;
  }
}
