/**
 * The shopper's way through a call, as a state machine over the view: idle → precall → ringing (queue)
 * → live → ended | failed, plus the callback form, an expert's invitation and a call resumed after the
 * shop navigated to another page. Ported from the demo shop's inline script, so any shop gets it from
 * the one script tag. It talks to ShopCall through the SDK and `api`; it tells the shop through `emit`.
 * @module shopcall/widget/flow
 */

import { ShopCallClient, describeError, getLocalMedia } from "../sdk/shopcall.js";
import "../components/shopcall-call.js";
import { cameras, switchCamera, watchVisibility } from "./camera.js";

const CALL_KEY = "shopcall.widget.call";
const NAME_KEY = "shopcall.widget.name";

export class CallFlow {
  /**
   * @param {{view: import("./views.js").WidgetView, api: import("./api.js").WidgetApi, i18n: any,
   *   presence: import("./presence.js").Presence, context: () => any, emit: (name: string, detail: any) => void,
   *   sameOrigin: boolean}} opts
   */
  constructor(opts) {
    Object.assign(this, opts);
    this.session = null;
    this.invite = null;
    this.product = null; // what the shopper asks about (the button's sku, else the page's context)
    this._wire();
    watchVisibility(() => (this.session && !this.session.ended ? this.session : null),
                    () => [this.view.root, ...(this.session && this.session.view && this.session.view.shadowRoot ? [this.session.view.shadowRoot] : [])]);
  }

  get t() {
    const i18n = this.i18n;
    return (key, values) => i18n.t(key, values);
  }

  get busy() {
    return !!(this.session && !this.session.ended);
  }

  _wire() {
    const e = this.view.els;
    e.launcher.addEventListener("click", () => this.open());
    e.precallForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const name = e.name.value.trim() || "Guest";
      try { localStorage.setItem(NAME_KEY, name); } catch {}
      const media = e.precall.stream ? e.precall.take() : null;
      this.startCall(name, media);
    });
    e.precallCancel.addEventListener("click", () => this.close());
    e.cbCancel.addEventListener("click", () => this.close());
    e.cbForm.addEventListener("submit", (ev) => this._sendCallback(ev));
    e.cancel.addEventListener("click", () => this.cancelCall());
    e.close.addEventListener("click", () => this.close());
    e.done.addEventListener("click", () => this.close());
    e.again.addEventListener("click", () => { this.view.hide(); this.open(); });
    e.expand.addEventListener("click", () => this.view.setExpanded(!this.view.panel.classList.contains("is-expanded")));
    e.minimise.addEventListener("click", () => this.minimise(true));
    e.bubble.addEventListener("click", () => this.minimise(false));
    e.flip.addEventListener("click", () => this.flipCamera());
    e.ipDecline.addEventListener("click", () => this._answerInvite(false));
    e.ipAccept.addEventListener("click", () => this._answerInvite(true));
  }

  /** `ShopCall.open()`: the pre-call check (or the callback form when closed, or back to a running call). */
  async open(opts = {}) {
    const v = this.view;
    if (this.busy) {
      v.panel.hidden = false;
      this.minimise(false);
      return;
    }
    const mode = v.buttonState().mode;
    if (mode === "refused") {
      v.showRefused(location.origin);
      return;
    }
    if (mode === "callback" && !opts.call) return this.openCallback();
    v.show("precall");
    v.setTitle(this.t("widget.panel.expert"));
    v.setStatus("");
    const ctx = this.context();
    const asked = Object.fromEntries(Object.entries(opts.product || {}).filter(([, x]) => x != null));
    const same = ctx.product && (!asked.sku || asked.sku === ctx.product.sku);
    this.product = opts.product ? { ...(same ? ctx.product : {}), ...asked } : ctx.product || null;
    v.setProduct(this.product);
    let saved = null;
    try { saved = localStorage.getItem(NAME_KEY); } catch {}
    v.els.name.value = ctx.name || saved || "Guest";
    v.els.name.focus();
    v.els.name.select();
    v.els.precall.i18n = this.i18n;
    v.els.precall.open();
  }

  /** Close the panel; a pre-call preview stops, a running call goes on (minimised). */
  close() {
    if (this.busy) return this.minimise(true);
    if (this.view.state === "precall") this.view.els.precall.close();
    this.view.hide();
  }

  minimise(on) {
    const s = this.session;
    if (on && s && !s.ended) {
      const remote = s.client ? [...s.client.subscriptions.values()].map((x) => x.stream).find((st) => st && st.getVideoTracks().length) : null;
      this.view.setMinimised(true, remote || s.stream || null);
    } else {
      this.view.setMinimised(false);
    }
  }

  openCallback(intro) {
    const e = this.view.els;
    this.view.show("callback");
    this.view.setTitle(this.t("widget.panel.expert"));
    this.view.setStatus("");
    e.cbIntro.textContent = intro || this.t("widget.callback.intro");
    e.cbError.hidden = true;
    const name = e.name.value.trim();
    e.cbForm.elements.name.value = name && name !== "Guest" ? name : "";
  }

  async _sendCallback(ev) {
    ev.preventDefault();
    const e = this.view.els;
    const f = new FormData(e.cbForm);
    const ctx = this.context();
    try {
      await this.api.requestCallback({ name: f.get("name"), contact: f.get("contact"), note: f.get("note") || "",
        context: { product: ctx.product ? ctx.product.sku || null : null, page: location.pathname } });
      this.view.hide();
      this.view.toast(this.t("widget.callback.sent"), 5000);
    } catch (err) {
      e.cbError.textContent = this.t("widget.callback.error", { reason: err.message });
      e.cbError.hidden = false;
    }
  }

  offerCallback() {
    setTimeout(() => this.openCallback(this.t("widget.end.unanswered")), 1500);
  }

  // ------------------------------------------------------------------ invitations
  showInvite(client, inv) {
    if (this.busy) {
      client.answerInvite(inv.invite, false).catch(() => {});
      return;
    }
    this.invite = { client, ...inv };
    this.view.showInvite(inv);
    clearTimeout(this._inviteTimer);
    this._inviteTimer = setTimeout(() => { this.view.hideInvite(); this.invite = null; }, (inv.expires_in_s || 120) * 1000);
  }

  async _answerInvite(yes) {
    const inv = this.invite;
    this.invite = null;
    this.view.hideInvite();
    if (!inv) return;
    if (!yes) {
      inv.client.answerInvite(inv.invite, false).catch(() => {});
      return;
    }
    try {
      const res = await inv.client.answerInvite(inv.invite, true);
      this.presence.handOver(); // this socket now carries the call
      this._startInvitedCall(inv.client, res);
    } catch (err) {
      this.view.toast(describeError(err), 5000);
    }
  }

  _newSession(fields) {
    this.session = { client: null, call: null, room: null, stream: null, problems: [], view: null, name: "Guest",
                     agent: null, cancelled: false, ended: false, mediaPromise: null, timers: [], ...fields };
    return this.session;
  }

  async _startInvitedCall(client, res) {
    const s = this._newSession({ client, call: res.call, room: res.room, agent: res.agent,
                                 name: (client.welcome && client.welcome.name) || "Guest" });
    this._wireClient(s, client);
    this._remember(s);
    s.mediaPromise = this._media().then((got) => { s.stream = got.stream; s.problems = got.problems; return got; },
                                        (err) => ({ stream: null, problems: [err] }));
    await this._goLive(s);
  }

  _media() {
    // RNNoise needs this server's WebAssembly and worklet: on the server's own pages only
    return getLocalMedia({ noiseSuppression: this.sameOrigin });
  }

  // ------------------------------------------------------------------ a call
  async startCall(name, media = null) {
    const v = this.view;
    const e = v.els;
    const ctx = this.context();
    const product = this.product || ctx.product || null;
    this.presence.stop(); // the call's own socket takes over; experts see a caller, not a browser
    const s = this._newSession({ name });
    v.show("ringing");
    v.setTitle(this.t("widget.panel.expert"));
    v.setStatus(this.t("widget.status.connecting"));
    e.ringTitle.textContent = this.t("widget.ring.title");
    e.ringSub.textContent = this.t("widget.ring.sub");
    v.setProduct(product);
    v.showQueue(0);
    e.previewNote.textContent = this.t("widget.ring.camera_starting");
    e.previewVideo.hidden = true;
    e.cancel.disabled = false;

    s.mediaPromise = (media ? Promise.resolve(media) : this._media()).then(
      (got) => {
        if (s.ended) {
          if (got.stream) for (const tr of got.stream.getTracks()) tr.stop();
          return got;
        }
        s.stream = got.stream;
        s.problems = got.problems;
        if (got.stream && got.stream.getVideoTracks().length) {
          e.previewVideo.srcObject = got.stream;
          e.previewVideo.hidden = false;
        } else {
          e.previewNote.textContent = got.problems.length ? describeError(got.problems[0]) : this.t("widget.ring.voice_only");
        }
        return got;
      },
      (err) => {
        s.problems = [err];
        e.previewNote.textContent = describeError(err);
        return { stream: null, problems: [err] };
      },
    );
    s.timers.push(setTimeout(() => {
      if (this.session === s && v.state === "ringing") e.ringSub.textContent = this.t("widget.ring.busy");
    }, 30000));

    try {
      const token = await this.api.token(name);
      if (s.cancelled) return;
      const client = new ShopCallClient({ url: this.api.signalUrl() });
      s.client = client;
      this._wireClient(s, client);
      s.connecting = true; // a socket that never opens is this catch's to report, not connection-state's
      try {
        await client.connect(token);
      } finally {
        s.connecting = false;
      }
      if (s.cancelled) return client.close();
      const { call, room, answered, position, estimatedWaitS } = await client.startCall({
        product: product ? product.sku : undefined, page: location.href, language: this.i18n.locale,
        cart: ctx.cart || undefined });
      v.showQueue(position, estimatedWaitS);
      s.call = call;
      s.room = room;
      this._remember(s);
      if (s.cancelled) {
        await client.cancelCall(call).catch(() => {});
        return client.close();
      }
      const { agent } = await answered;
      if (s.cancelled || s.ended) return;
      s.agent = agent;
      this._remember(s);
      await this._goLive(s);
    } catch (err) {
      if (s.cancelled || s.ended || this.session !== s) return;
      console.warn("ShopCall: call failed", err);
      this._finish(s, "failed", describeError(err));
      // the socket could not be opened at all (the shop's CSP leaves our wss:// out of connect-src, or a
      // network blocks it): say so, as for a refused origin, rather than offer a call that cannot work
      if (err && err.code === "connect_failed") this.view.showBlocked(new URL(this.api.signalUrl()).origin);
      if (err && err.code === "closed") this.offerCallback();
    }
  }

  _wireClient(s, client) {
    const v = this.view;
    const t = this.t;
    client.addEventListener("agent-changed", (ev) => {
      const { agent, from } = ev.detail;
      s.handover = { agent, at: Date.now() };
      s.agent = agent;
      v.setTitle(agent.name, true);
      v.setStatus(t("widget.status.connecting_to", { name: agent.name }));
      if (s.view) s.view.showInfo(t("widget.info.handover", { from, name: agent.name }), 4000);
    });
    client.addEventListener("participant-joined", (ev) => {
      const p = ev.detail.participant;
      if (s.handover && p && p.identity === s.handover.agent.identity) {
        s.handover = null;
        v.setStatus(t("widget.status.connected", { name: p.name }));
      }
    });
    client.addEventListener("queue-update", (ev) => {
      if (ev.detail.call === s.call && v.state === "ringing") v.showQueue(ev.detail.position, ev.detail.estimatedWaitS);
    });
    client.addEventListener("call-unanswered", (ev) => {
      if (ev.detail.call === s.call && !s.ended) {
        this._finish(s, "failed", t("widget.end.unanswered"), t("widget.status.unanswered"));
        this.offerCallback();
      }
    });
    client.addEventListener("room-ended", () => this._finish(s, "ended", t("widget.end.agent_ended", { name: s.agent ? s.agent.name : t("widget.panel.expert") })));
    client.addEventListener("participant-left", (ev) => {
      const p = ev.detail.participant;
      if (v.state !== "live" || !p || p.role === "shopper") return;
      if (ev.detail.reason !== "left" && ev.detail.reason !== "removed") return;
      if (s.handover && Date.now() - s.handover.at < 30000) return; // the next expert is on the way
      const staff = [...client.participants.values()].find((x) => x.role === "agent" || x.role === "admin");
      if (staff) {
        s.agent = { identity: staff.identity, name: staff.name };
        v.setTitle(staff.name, true);
        v.setStatus(t("widget.status.connected", { name: staff.name }));
        if (s.view) s.view.showInfo(t("widget.info.handed_over", { from: p.name || t("widget.panel.expert"), name: staff.name }), 4000);
        return;
      }
      this._finish(s, "ended", t("widget.end.agent_left", { name: p.name || t("widget.panel.expert") }));
    });
    client.addEventListener("error", (ev) => {
      if (ev.detail.action === "rejoin" && !s.ended) this._finish(s, "failed", t("widget.end.dropped"), t("widget.status.interrupted"));
    });
    client.addEventListener("call-cancelled", (ev) => {
      if (ev.detail.call === s.call && v.state === "ringing") this._finish(s, "failed", t("widget.end.not_connected"));
    });
    client.addEventListener("connection-state", (ev) => {
      const st = ev.detail.state;
      v.panel.dataset.conn = st;
      if (v.state === "ringing") {
        if (st === "reconnecting") v.setStatus(t("widget.status.reconnecting"));
        if (st === "connected" && s.call) v.setStatus(t("widget.status.connecting"));
        if (st === "closed" && !s.cancelled && !s.ended && !s.connecting) this._finish(s, "failed", t("widget.end.lost"));
      } else if (v.state === "live") {
        if (st === "reconnecting") v.setStatus(t("widget.status.reconnecting"));
        if (st === "connected") v.setStatus(t("widget.status.connected", { name: s.agent ? s.agent.name : t("widget.panel.expert") }));
        if (st === "closed" && !s.ended) this._finish(s, "failed", t("widget.end.lost"));
      }
    });
  }

  // ------------------------------------------------------------------ a call across pages
  // The SDK keeps the server's resume token in this tab's sessionStorage; the widget keeps what it shows.
  // Leaving the page closes the socket (1001) and the server keeps our place for its grace period; the
  // widget on the shop's next page resumes the same call.
  _remember(s) {
    sessionStorage.setItem(CALL_KEY, JSON.stringify({ call: s.call, room: s.room, name: s.name, agent: s.agent }));
  }

  _forget() {
    sessionStorage.removeItem(CALL_KEY);
  }

  /** Take up the call this tab had on the shop's last page, if any. True if there was one. */
  async resume() {
    let saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(CALL_KEY) || "null");
    } catch {
      saved = null;
    }
    if (!saved) return false;
    const v = this.view;
    const media = getLocalMedia();
    media.catch(() => {});
    const client = new ShopCallClient({ url: this.api.signalUrl() });
    const s = this._newSession({ client, call: saved.call, room: saved.room, name: saved.name || "Guest",
                                 agent: saved.agent, resumed: true });
    this._wireClient(s, client);
    client.on("queue-update", (q) => { s.lastQueue = q; });
    let back = null;
    try {
      back = await client.resume();
    } catch (err) {
      console.warn("ShopCall: could not resume the call", err);
    }
    if (!back || (s.call && back.call && back.call !== s.call)) {
      this.session = null;
      this._forget();
      client.close();
      media.then((got) => { for (const tr of got.stream.getTracks()) tr.stop(); }, () => {});
      return false;
    }
    s.call = back.call || s.call;
    s.room = back.room || s.room;
    s.mediaPromise = media.then((got) => { s.stream = got.stream; s.problems = got.problems; return got; },
                                (err) => ({ stream: null, problems: [err] }));
    if (back.pid || s.agent) {
      s.agent = s.agent || { identity: "", name: this.t("widget.panel.expert") };
      if (back.room) await client.join(back.room).catch((err) => console.warn("ShopCall: rejoin failed", err));
      await this._goLive(s);
      return true;
    }
    v.show("ringing");
    v.els.ringTitle.textContent = this.t("widget.ring.title");
    v.els.ringSub.textContent = this.t("widget.ring.still");
    v.setTitle(this.t("widget.panel.expert"));
    v.setStatus(this.t("widget.status.connecting"));
    v.els.previewNote.textContent = "";
    if (s.lastQueue) v.showQueue(s.lastQueue.position, s.lastQueue.estimatedWaitS);
    try {
      const { agent } = await back.answered;
      if (s.cancelled || s.ended) return true;
      s.agent = agent;
      this._remember(s);
      await this._goLive(s);
    } catch (err) {
      if (!s.cancelled && !s.ended && this.session === s) this._finish(s, "failed", describeError(err));
    }
    return true;
  }

  async _goLive(s) {
    const { agent, client } = s;
    const v = this.view;
    const t = this.t;
    v.setStatus(t("widget.status.connected", { name: agent.name }));
    v.setTitle(agent.name, true);
    const got = await s.mediaPromise;
    if (s.ended) return;
    v.els.previewVideo.srcObject = null;
    const wasMinimised = v.minimised;
    v.show("live");
    // parsed, not createElement: an upgraded element may set its own attributes (lang) while it is built
    v.els.live.innerHTML = "<shopcall-call></shopcall-call>";
    const view = /** @type {any} */ (v.els.live.firstElementChild);
    view.i18n = this.i18n;
    view.setAttribute("remote-name", agent.name);
    view.setAttribute("local-name", s.name);
    s.view = view;
    view.addEventListener("hangup", () => this.hangUp(s));
    // the merchant's cart hook: a product card's "Add to cart" goes to the shop's handler
    view.addEventListener("add-to-cart", (ev) => {
      const card = ev.detail.card;
      const handled = this.emit("add-to-cart", { product: card, sku: card.sku || null, title: card.title,
                                                 price: card.price, currency: card.currency, quantity: 1 });
      if (!handled) v.toast(t("widget.cart.added", { title: card.title }));
    });
    view.addEventListener("annotation", (ev) => {
      if (ev.detail.op === "stroke" && !ev.detail.partial && ev.detail.target === client.pid) {
        view.showInfo(t("widget.info.drawing", { name: agent.name }), 2500);
      }
    });
    client.on("product-card", () => { if (!view.chatOpen) view.setChatOpen(true); });
    client.on("track", ({ source }) => { if (source === "screen") v.setExpanded(true); });
    if (!s.announced) {
      s.announced = true;
      this.emit("call-started", { call: s.call, room: s.room, agent: { name: agent.name } });
    }
    try {
      await view.start({ client, room: s.room, stream: got.stream, problems: got.problems, localName: s.name,
                         remoteName: agent.name });
    } catch (err) {
      if (!s.ended) this._finish(s, "failed", t("widget.end.join_failed", { reason: describeError(err) }));
      return;
    }
    if (wasMinimised) this.minimise(true);
    const cams = await cameras();
    if (!s.ended && got.stream && got.stream.getVideoTracks().length && cams.length > 1) v.els.flip.hidden = false;
  }

  /** Front ↔ rear (the next camera), in the call without renegotiating. */
  async flipCamera() {
    const s = this.session;
    if (!s || s.ended || !s.stream) return;
    const btn = this.view.els.flip;
    btn.disabled = true;
    try {
      await switchCamera(s.client, s.stream);
      if (s.view) s.view.setLocalStream(s.stream);
      this.emit("camera-switched", {});
    } catch (err) {
      console.warn("ShopCall: camera switch failed", err);
    } finally {
      btn.disabled = false;
    }
  }

  async hangUp(s) {
    if (s.ended) return;
    const dur = s.view ? s.view.elapsedSeconds : 0;
    const client = s.client;
    s.closing = true;
    this._finish(s, "ended", dur ? this.t("widget.end.talked", { duration: this.i18n.formatDuration(dur) }) : this.t("widget.end.thanks"));
    if (client) {
      try {
        await client.leave();
      } catch {}
      client.close();
    }
  }

  async cancelCall() {
    const s = this.session;
    if (!s || s.ended) return;
    s.cancelled = true;
    this.view.els.cancel.disabled = true;
    const client = s.client;
    this._finish(s, "ended", this.t("widget.end.cancelled"), this.t("widget.status.cancelled"));
    if (client) {
      if (s.call) await client.cancelCall(s.call).catch(() => {});
      client.close();
    }
  }

  _finish(s, kind, text, statusText) {
    if (s.ended) return;
    const v = this.view;
    const t = this.t;
    const dur = s.view ? s.view.elapsedSeconds : 0;
    s.ended = true;
    this._forget();
    for (const tm of s.timers) clearTimeout(tm);
    if (s.view) s.view.stop();
    if (s.stream) for (const tr of s.stream.getTracks()) tr.stop();
    v.els.previewVideo.srcObject = null;
    if (s.client && !s.cancelled && !s.closing) {
      const c = s.client;
      setTimeout(() => c.close(), 0);
    }
    v.els.live.replaceChildren();
    v.showEnded(kind, text);
    v.setTitle(kind === "failed" ? (s.agent ? t("widget.status.interrupted") : t("widget.status.not_connected")) : t("widget.panel.expert"));
    v.setStatus(statusText || (kind === "failed" ? t("widget.status.failed") : dur ? t("widget.status.ended_after", { duration: this.i18n.formatDuration(dur) }) : t("widget.status.ended")));
    if (s.announced) this.emit("call-ended", { call: s.call, reason: kind, duration_s: Math.round(dur) });
  }
}
