/**
 * The widget's DOM: one shadow root (the shop's CSS cannot reach in, ours cannot leak out) holding the
 * floating launcher, the call panel with its panes (pre-call, callback form, ringing/queue, live call,
 * ended, refused), the invitation prompt, the minimised picture-in-picture bubble and toasts. Styles come
 * from `widget.css` on the ShopCall origin (a stylesheet link: allowed by a CSP naming that origin); the
 * markup has no inline styles or scripts. Words come from the I18n instance; the flow fills in the rest.
 * @module shopcall/widget/views
 */

import { esc, icons, initials } from "../components/icons.js";
import "../components/shopcall-precall.js";

const PANES = ["precall", "callback", "ringing", "live", "ended", "refused"];

export class WidgetView {
  /**
   * @param {{staticBase: string, i18n: any, theme: any, position: string, label: string}} opts
   */
  constructor(opts) {
    this.opts = opts;
    this.host = document.createElement("div");
    this.host.setAttribute("data-shopcall-widget", "");
    this.root = this.host.attachShadow({ mode: "open" });
    this.inlineButtons = new Set();
    // the floating launcher steps aside while one of the shop's own call buttons is on screen
    this._inlineVisible = new Set();
    this._launcherWanted = false;
    this._io = typeof IntersectionObserver === "undefined" ? null : new IntersectionObserver((entries) => {
      for (const en of entries) {
        if (en.isIntersecting) this._inlineVisible.add(en.target);
        else this._inlineVisible.delete(en.target);
      }
      this._syncLauncher();
    });
    this.availability = null;
    this._render();
    document.body.append(this.host);
  }

  get t() {
    const i18n = this.opts.i18n;
    return (key, values) => i18n.t(key, values);
  }

  _render() {
    const t = this.t;
    const css = new URL("widget/widget.css", this.opts.staticBase).href;
    const logo = this.opts.theme && this.opts.theme.logo_url;
    this.root.innerHTML = `<link rel="stylesheet" href="${esc(css)}">
    <div class="scw" data-position="${esc(this.opts.position)}" lang="${esc(this.opts.i18n.locale)}" dir="${esc(this.opts.i18n.dir || "ltr")}">
      <button class="launcher" type="button" data-el="launcher" data-testid="launcher" data-mode="call" hidden>
        <span class="launcher-icon" data-el="launcherIcon">${icons.video}</span>
        <span class="launcher-text"><b data-el="launcherLabel"></b><small data-el="launcherAvail" data-testid="launcher-availability"></small></span>
        <span class="dot" data-el="launcherDot"></span>
      </button>

      <section class="panel" data-testid="call-widget" data-el="panel" data-state="idle" role="dialog" aria-modal="false" hidden>
        <header class="head">
          ${logo ? `<img class="logo" data-el="logo" alt="" src="${esc(logo)}">` : ""}
          <span class="avatar" data-el="cwAvatar" aria-hidden="true">${icons.video}</span>
          <div class="who">
            <strong data-el="cwTitle"></strong>
            <span class="status" data-testid="call-status" role="status" aria-live="polite" data-el="status"></span>
          </div>
          <button class="icon-btn" type="button" data-el="minimise" data-testid="minimise-call" hidden>${icons.collapse}</button>
          <button class="icon-btn expand" type="button" data-el="expand" hidden>${icons.expand}</button>
          <button class="icon-btn" type="button" data-el="close" data-testid="close-call-widget">${icons.close}</button>
        </header>
        <div class="body">
          <form class="pane precall" data-pane="precall" data-testid="name-dialog" data-el="precallForm" hidden>
            <h2 data-el="precallTitle"></h2>
            <p class="muted" data-el="precallIntro"></p>
            <div class="about" data-el="precallAbout" hidden><img alt="" data-el="precallAboutImg"><div><span data-el="precallAboutLabel"></span><b data-el="precallAboutTitle"></b></div><span class="price" data-testid="widget-price" data-el="precallAboutPrice"></span></div>
            <shopcall-precall data-testid="precall" data-el="precall"></shopcall-precall>
            <label class="field"><span data-el="nameLabel"></span>
              <input name="name" data-testid="shopper-name" data-el="name" maxlength="40" autocomplete="given-name" required></label>
            <div class="actions">
              <button class="btn ghost" type="button" data-testid="name-cancel" data-el="precallCancel"></button>
              <button class="btn primary" type="submit" data-testid="start-call" data-el="startCall"></button>
            </div>
          </form>

          <form class="pane callback" data-pane="callback" data-testid="callback-dialog" data-el="cbForm" hidden>
            <h2 data-el="cbTitle"></h2>
            <p class="muted" data-el="cbIntro"></p>
            <label class="field"><span data-el="cbNameLabel"></span><input name="name" data-testid="callback-name" required maxlength="200"></label>
            <label class="field"><span data-el="cbContactLabel"></span><input name="contact" data-testid="callback-contact" required minlength="3" maxlength="320"></label>
            <label class="field"><span data-el="cbNoteLabel"></span><input name="note" data-testid="callback-note" maxlength="2000"></label>
            <p class="error" data-el="cbError" role="alert" hidden></p>
            <div class="actions">
              <button class="btn ghost" type="button" data-el="cbCancel"></button>
              <button class="btn primary" type="submit" data-testid="callback-submit" data-el="cbSubmit"></button>
            </div>
          </form>

          <div class="pane ringing" data-pane="ringing" hidden>
            <div class="rings"><span>${icons.phone}</span></div>
            <div>
              <h2 data-el="ringTitle"></h2>
              <p class="muted" data-el="ringSub"></p>
              <p class="queue" data-testid="queue-position" data-el="queuePos" hidden></p>
            </div>
            <div class="preview"><span data-el="previewNote"></span><video autoplay playsinline muted data-el="previewVideo" hidden></video><span class="cap" data-el="previewCap"></span></div>
            <div class="about" data-el="about" hidden><img alt="" data-el="aboutImg"><div><span data-el="aboutLabel"></span><b data-el="aboutTitle"></b></div><span class="price" data-el="aboutPrice"></span></div>
            <button class="btn block" type="button" data-testid="cancel-call" data-el="cancel"></button>
          </div>

          <div class="pane live" data-pane="live" hidden>
            <div class="stage" data-el="live"></div>
            <button class="icon-btn flip" type="button" data-testid="switch-camera" data-el="flip" hidden>${FLIP}</button>
          </div>

          <div class="pane ended" data-pane="ended" hidden>
            <div class="check" data-el="endIcon">${icons.check}</div>
            <p data-el="endText"></p>
            <div class="actions">
              <button class="btn" type="button" data-testid="call-again" data-el="again">${icons.video}<span data-el="againLabel"></span></button>
              <button class="btn dark" type="button" data-el="done"></button>
            </div>
          </div>

          <div class="pane refused" data-pane="refused" data-testid="widget-refused" data-el="refused" hidden>
            <div class="check is-error">${icons.alert}</div>
            <h2 data-el="refusedTitle"></h2>
            <p class="muted" data-el="refusedText"></p>
          </div>
        </div>
      </section>

      <aside class="invite" data-testid="invite-prompt" data-el="invite" role="dialog" aria-live="polite" hidden>
        <div class="invite-head"><span class="avatar" data-el="ipAvatar"></span>
          <div><b data-el="ipName"></b><small data-el="ipRole"></small></div></div>
        <p data-el="ipMessage"></p>
        <div class="actions">
          <button class="btn ghost sm" type="button" data-testid="invite-decline" data-el="ipDecline"></button>
          <button class="btn primary sm" type="button" data-testid="invite-accept" data-el="ipAccept">${icons.video}<span data-el="ipAcceptLabel"></span></button>
        </div>
      </aside>

      <button class="bubble" type="button" data-testid="pip-bubble" data-el="bubble" hidden>
        <video autoplay playsinline muted data-el="bubbleVideo"></video>
        <span class="bubble-badge">${icons.video}</span>
      </button>

      <div class="toasts" data-el="toasts" aria-live="polite"></div>
    </div>`;
    /** @type {Record<string, any>} */
    this.els = {};
    for (const n of this.root.querySelectorAll("[data-el]")) this.els[n.dataset.el] = n;
    this.panel = this.els.panel;
    this.applyWords();
  }

  /** Every fixed word of the widget, from the catalogs (again after a language change). */
  applyWords() {
    const t = this.t;
    const e = this.els;
    const words = {
      precallTitle: "widget.precall.title", precallIntro: "widget.precall.intro", nameLabel: "widget.precall.name",
      precallCancel: "widget.action.not_now", startCall: "widget.precall.start", precallAboutLabel: "widget.precall.about",
      cbTitle: "widget.callback.title", cbIntro: "widget.callback.intro", cbNameLabel: "widget.callback.name",
      cbContactLabel: "widget.callback.contact", cbNoteLabel: "widget.callback.note", cbCancel: "widget.action.not_now",
      cbSubmit: "widget.callback.submit", cancel: "widget.action.cancel", againLabel: "widget.action.again",
      done: "widget.action.done", previewCap: "widget.ring.your_camera", aboutLabel: "widget.precall.about",
      refusedTitle: e.refused.dataset.reason === "blocked" ? "widget.blocked.title" : "widget.refused.title", ipRole: "widget.invite.role", ipDecline: "widget.invite.decline",
      ipAcceptLabel: "widget.invite.accept",
    };
    for (const [el, key] of Object.entries(words)) e[el].textContent = t(key);
    const labels = { minimise: "widget.action.minimise", expand: "widget.action.expand", close: "widget.action.close",
                     flip: "widget.action.switch_camera", bubble: "widget.action.restore" };
    for (const [el, key] of Object.entries(labels)) {
      e[el].setAttribute("aria-label", t(key));
      e[el].title = t(key);
    }
    this.panel.setAttribute("aria-label", t("widget.panel.label"));
    this.setLauncher();
  }

  /** The floating launcher (hidden when the shop places its buttons inline). */
  showLauncher(on) {
    this._launcherWanted = on;
    this._syncLauncher();
  }

  _syncLauncher() {
    this.els.launcher.hidden = !this._launcherWanted || this.opts.position === "inline" || this._inlineVisible.size > 0;
  }

  /** An inline `<shopcall-button>` joined (or left) the page. */
  trackInline(btn, on) {
    if (on) {
      this.inlineButtons.add(btn);
      if (this._io) this._io.observe(btn);
    } else {
      this.inlineButtons.delete(btn);
      this._inlineVisible.delete(btn);
      if (this._io) this._io.unobserve(btn);
      this._syncLauncher();
    }
  }

  /** Availability on the launcher and every inline `<shopcall-button>`. */
  setAvailability(av) {
    this.availability = av;
    this.setLauncher();
  }

  /** {mode: "call"|"callback", label, text, state}: what a call button says now. */
  buttonState() {
    const t = this.t;
    const av = this.availability;
    if (av && av.refused) return { mode: "refused", label: this.opts.label, text: t("widget.refused.title"), state: "closed" };
    if (av && !av.open) {
      const when = av.next_open ? this.opts.i18n.formatDate(av.next_open, { weekday: "short", hour: "2-digit", minute: "2-digit" }) : null;
      return { mode: "callback", label: t("widget.launcher.callback"), state: "closed",
               text: when ? t("widget.avail.closed_until", { when }) : t("widget.avail.closed") };
    }
    let text = t("widget.free_note");
    let state = "unknown";
    if (av) {
      const wait = av.estimated_wait_s;
      state = av.agents_online ? "online" : "none";
      text = av.agents_online
        ? t("widget.avail.online", { count: av.agents_online }) +
          (wait == null ? "" : ` · ${wait < 60 ? t("widget.avail.wait_short") : t("widget.avail.wait_minutes", { minutes: Math.round(wait / 60) })}`)
        : t("widget.avail.busy");
    }
    return { mode: "call", label: this.opts.label, text, state };
  }

  setLauncher() {
    const s = this.buttonState();
    const e = this.els;
    e.launcher.dataset.mode = s.mode;
    e.launcher.dataset.state = s.state;
    e.launcherLabel.textContent = s.label;
    e.launcherAvail.textContent = s.text;
    e.launcherIcon.innerHTML = s.mode === "callback" ? icons.phone : icons.video;
    e.launcher.setAttribute("aria-label", `${s.label} — ${s.text}`);
    for (const b of this.inlineButtons) b.render(s);
  }

  /** Show `name` of PANES (or "failed": the ended pane as an error; "blocked": the refused one); the panel opens. */
  show(name) {
    const e = this.els;
    this.panel.hidden = false;
    this.panel.dataset.state = name;
    const pane = name === "failed" ? "ended" : name === "blocked" ? "refused" : name;
    for (const p of this.root.querySelectorAll("[data-pane]")) p.hidden = p.dataset.pane !== pane;
    e.expand.hidden = name !== "live";
    e.minimise.hidden = !(name === "live" || name === "ringing");
    e.flip.hidden = true;
    if (name !== "live") this.panel.classList.remove("is-expanded");
    this.setMinimised(false);
    if (!PANES.includes(pane)) throw new Error(`no pane ${name}`);
  }

  hide() {
    this.panel.hidden = true;
    this.panel.dataset.state = "idle";
    this.setMinimised(false);
  }

  get state() {
    return this.panel.dataset.state;
  }

  setStatus(text) {
    this.els.status.textContent = text || "";
  }

  /** The header: who the shopper talks to (an expert's initials) or the shop's product expert. */
  setTitle(name, person = false) {
    this.els.cwTitle.textContent = name;
    this.els.cwAvatar.innerHTML = person ? esc(initials(name)) : icons.video;
  }

  setExpanded(big) {
    this.panel.classList.toggle("is-expanded", big);
    this.els.expand.innerHTML = big ? icons.collapse : icons.expand;
    this.els.expand.setAttribute("aria-label", this.t(big ? "widget.action.collapse" : "widget.action.expand"));
  }

  /** Minimised: the panel steps aside (still running) and a floating bubble plays the expert's video. */
  setMinimised(on, stream = null) {
    const e = this.els;
    this.panel.classList.toggle("is-minimised", on);
    e.bubble.hidden = !on;
    e.bubbleVideo.srcObject = on ? stream : null;
    if (on && stream) e.bubbleVideo.play().catch(() => {});
    if (on) e.bubble.setAttribute("aria-label", `${this.t("widget.action.restore")} — ${this.els.cwTitle.textContent}`);
  }

  get minimised() {
    return this.panel.classList.contains("is-minimised");
  }

  showEnded(kind, text) {
    this.show(kind);
    this.els.endText.textContent = text;
    this.els.endIcon.innerHTML = kind === "failed" ? icons.alert : icons.check;
    this.els.endIcon.classList.toggle("is-error", kind === "failed");
  }

  showRefused(origin) {
    this.show("refused");
    this.setTitle(this.t("widget.panel.expert"));
    this.setStatus("");
    this.els.refused.dataset.reason = "origin";
    this.els.refusedTitle.textContent = this.t("widget.refused.title");
    this.els.refusedText.textContent = this.t("widget.refused.text", { origin });
  }

  /** The call's socket could not be opened from this page at all (e.g. the shop's CSP leaves `origin`, the
   * signalling origin, out of connect-src): the refused pane, saying so. */
  showBlocked(origin) {
    this.show("blocked");
    this.setTitle(this.t("widget.status.not_connected"));
    this.setStatus(this.t("widget.status.failed"));
    this.els.refused.dataset.reason = "blocked";
    this.els.refusedTitle.textContent = this.t("widget.blocked.title");
    this.els.refusedText.textContent = this.t("widget.blocked.text", { origin });
  }

  showInvite(inv) {
    const e = this.els;
    e.ipName.textContent = inv.agent.name;
    e.ipAvatar.textContent = initials(inv.agent.name);
    e.ipMessage.textContent = inv.message || "";
    e.invite.hidden = false;
  }

  hideInvite() {
    this.els.invite.hidden = true;
  }

  /** "You're next" / "You're number 3 in line · about 4 min". */
  showQueue(position, waitS) {
    const t = this.t;
    const box = this.els.queuePos;
    if (!position) {
      box.hidden = true;
      return;
    }
    const wait = waitS == null ? "" : ` · ${waitS < 60 ? t("widget.queue.wait_short") : t("widget.queue.wait_minutes", { minutes: Math.round(waitS / 60) })}`;
    box.textContent = (position === 1 ? t("widget.queue.next") : t("widget.queue.position", { position })) + wait;
    box.hidden = false;
  }

  /** The product the shopper asks about, on the pre-call and ringing panes. */
  setProduct(product) {
    const e = this.els;
    const price = product && typeof product.price === "number" ? this.opts.i18n.formatPrice(product.price, product.currency || "EUR") : "";
    for (const [box, img, title, cost] of [["about", "aboutImg", "aboutTitle", "aboutPrice"],
                                           ["precallAbout", "precallAboutImg", "precallAboutTitle", "precallAboutPrice"]]) {
      e[box].hidden = !(product && product.title);
      if (!product) continue;
      e[title].textContent = product.title || "";
      e[cost].textContent = price;
      if (product.image_url) e[img].src = product.image_url;
      e[img].hidden = !product.image_url;
    }
  }

  toast(text, ms = 3500) {
    const n = document.createElement("div");
    n.className = "toast";
    n.setAttribute("data-testid", "widget-toast");
    n.innerHTML = `${icons.check}<span></span>`;
    n.querySelector("span").textContent = text;
    this.els.toasts.append(n);
    setTimeout(() => n.remove(), ms);
  }
}

const FLIP = `<svg viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M4 8h2.5l1.6-2.2h7.8L17.5 8H20a1 1 0 0 1 1 1v9a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V9a1 1 0 0 1 1-1z"/><path d="M9 13.5a3 3 0 0 1 5.2-2"/><path d="M15 12.5a3 3 0 0 1-5.2 2"/><path d="M14.5 9.5v2h-2"/><path d="M9.5 16.5v-2h2"/></svg>`;
