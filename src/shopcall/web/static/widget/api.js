/**
 * The widget's REST client (`/v1/widget/*` on the ShopCall origin): the shopper's token — the merchant's
 * customer token when the shop sets one, else an anonymous session renewed before it expires — plus
 * availability and callback requests. Every URL names the app (`?app=`) so that CORS can check the
 * page's origin before the browser sends anything.
 * @module shopcall/widget/api
 */

export class WidgetApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class WidgetApi {
  /** @param {{origin: string, app: string}} opts */
  constructor({ origin, app }) {
    this.origin = origin;
    this.app = app;
    this.customerToken = null;
    this.session = null; // {token, expires_at, identity, name, widget}
    this._pending = null;
  }

  async _fetch(path, init = {}) {
    const url = new URL(path, this.origin);
    url.searchParams.set("app", this.app);
    let res;
    try {
      res = await fetch(url, { mode: "cors", credentials: "omit", ...init });
    } catch (err) {
      // a refused CORS preflight surfaces as a network error: ask once more in a way that can tell
      throw new WidgetApiError(0, "unreachable", String(err && err.message));
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      const e = body.error || {};
      throw new WidgetApiError(res.status, e.code || `http_${res.status}`, e.message || `HTTP ${res.status}`);
    }
    return body;
  }

  /** A fresh anonymous session (or a renewal keeping the identity, with `name` if given). */
  async openSession(name) {
    const headers = { "Content-Type": "application/json" };
    if (this.session) headers.Authorization = `Bearer ${this.session.token}`;
    this.session = await this._fetch("/v1/widget/session", {
      method: "POST", headers, body: JSON.stringify(name ? { name } : {}),
    });
    return this.session;
  }

  /** The token calls and the widget API use: the shop's customer token, else an anonymous one. */
  async token(name) {
    if (this.customerToken) return this.customerToken;
    const fresh = this.session && this.session.expires_at - Date.now() / 1000 > 120;
    if (fresh && (!name || name === this.session.name)) return this.session.token;
    this._pending = this._pending || this.openSession(name).finally(() => { this._pending = null; });
    return (await this._pending).token;
  }

  async availability() {
    const token = await this.token();
    return this._fetch("/v1/widget/availability", { headers: { Authorization: `Bearer ${token}` } });
  }

  async requestCallback(body) {
    const token = await this.token();
    return this._fetch("/v1/widget/callbacks", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
  }

  /** The signalling WebSocket URL on the ShopCall origin (not the shop's). */
  signalUrl() {
    const u = new URL("/v1/signal", this.origin);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    return u.href;
  }
}
