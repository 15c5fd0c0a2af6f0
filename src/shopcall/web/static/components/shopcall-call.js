/**
 * `<shopcall-call>` — the in-call view: large remote video, picture-in-picture self view,
 * name labels, mic/camera/hang-up controls, connection pill, call timer and error banner.
 *
 * Usage:
 *   const view = document.createElement("shopcall-call");
 *   container.append(view);
 *   view.addEventListener("hangup", () => …);          // the page decides: leave or end_room
 *   await view.start({ client, room, stream, localName: "Maja", remoteName: "Anna" });
 *   …
 *   view.stop();                                          // detach, stop the camera
 *
 * Attributes: `local-name`, `remote-name`, `hangup-label` (text for the hang-up button's
 * tooltip, e.g. "End call"; already translated by the page).
 *
 * Strings: property `i18n` (an I18n from /static/i18n/i18n.js, namespaces common, call, chat, errors); until
 * set, English catalogs loaded by this module. Setting it re-labels the whole view.
 *
 * Events (bubbling, composed): `hangup` {}, `mute-change` {audio, video},
 * `remote-video` {pid} when the first remote video frame arrives, `call-error` {message, code},
 * `media-stall` {pid, stalled} when a video stops (frames not advancing, or its connection broken:
 * the tile shows "Reconnecting…") and when it flows again; `pid` is "self" for the local publisher.
 *
 * Attribute `show-path` (the agent console): each remote tile names its participant's media path
 * (direct, or relayed over UDP, TCP or TLS).
 *
 * Themed by --sc-accent, --sc-fg, --sc-bg, --sc-radius, --sc-font, --sc-danger, --sc-success,
 * --sc-warning and --sc-stage-bg (the dark video background).
 *
 * @module shopcall/components/shopcall-call
 */

import { englishI18n, translateDom } from "../i18n/i18n.js";
import { describeError, getLocalMedia } from "../sdk/shopcall.js";
import { AnnotationLayer } from "./annotation-layer.js";
import { esc, icons, initials } from "./icons.js";
import "./shopcall-chat.js";
import { STALL_POLL_MS, StallWatch } from "./stall-watch.js";

/** The namespaces this view (and the chat inside it) takes its strings from. */
export const CALL_NAMESPACES = ["common", "call", "chat", "errors"];
/** English until the page sets `i18n` (top-level await: the element is never drawn without strings). */
const EN = await englishI18n(CALL_NAMESPACES);

/** The element's styles, served as a file and linked into its shadow root. */
const STYLESHEET = new URL("./shopcall-call.css", import.meta.url).href;

/**
 * @typedef {import("../sdk/shopcall.js").ShopCallClient} ShopCallClient
 */

export class ShopCallCallElement extends HTMLElement {
  static get observedAttributes() {
    return ["local-name", "remote-name", "hangup-label", "can-share-screen", "can-moderate", "can-record"];
  }

  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    /** @type {ShopCallClient|null} */
    this.client = null;
    /** @type {MediaStream|null} */
    this.stream = null;
    /** @type {Map<string, {tile: HTMLElement, video: HTMLVideoElement|null, name: string}>} */
    this._tiles = new Map();
    /** @type {Array<() => void>} */
    this._off = [];
    this._timerStart = 0;
    this._timerId = null;
    this._bannerTimer = null;
    this._persistentBanner = null;
    this._camAvailable = true;
    this._micAvailable = true;
    /** @type {Map<string, AnnotationLayer>} annotation layers by target (remote pids and my own pid) */
    this._layers = new Map();
    /** @type {AnnotationLayer|null} */
    this._selfLayer = null;
    this.drawing = false;
    this.drawColor = "#ff3b30";
    this.chatOpen = false;
    /** @type {Map<string, StallWatch>} by remote pid */
    this._stalls = new Map();
    /** @type {Map<string, string>} media path by remote pid */
    this._paths = new Map();
    this._stallTimer = null;
    this._selfHealth = "ok";
    this._i18n = null;
    this._connState = "connecting";
    this._connText = "";
    this._render();
  }

  /** The I18n the view speaks (English until set). */
  get i18n() {
    return this._i18n || EN;
  }
  set i18n(v) {
    this._i18n = v || null;
    // an I18n made for another part (the widget's) may lack this element's namespaces: load them, same locale
    if (v && v.including) {
      v.including(CALL_NAMESPACES).then((full) => {
        if (this._i18n === v && full !== v) this.i18n = full;
      }, () => {});
    }
    if (this._els.chat) this._els.chat.i18n = v;
    this.setAttribute("lang", this.i18n.locale); // screen readers pronounce the labels in their language
    this._retranslate();
  }

  /** @param {string} key @param {Record<string, any>} [values] */
  _t(key, values) {
    const i18n = this._i18n;
    return i18n && i18n.has(key) ? i18n.t(key, values) : EN.t(key, values);
  }

  /** @param {any} err */
  _err(err) {
    return describeError(err, this.i18n);
  }

  /** Every string on screen again, in the current locale. */
  _retranslate() {
    const root = /** @type {ShadowRoot} */ (this.shadowRoot);
    translateDom(root, { t: (k) => this._t(k) });
    this._syncMuteUi();
    this._syncRecording();
    this._syncScreenUi(!!(this.client && this.client.screenPc), false);
    this._setConnection(this._connState, this._connText, false);
    for (const [pid, t] of this._tiles) this._labelTile(pid, t);
    this.attributeChangedCallback();
  }

  /** Name under the self view (default "You"). */
  get localName() {
    return this.getAttribute("local-name") || this._t("common.you");
  }
  set localName(v) {
    this.setAttribute("local-name", v || "");
  }

  /** Fallback name for the remote side until the server tells us theirs. */
  get remoteName() {
    return this.getAttribute("remote-name") || "";
  }
  set remoteName(v) {
    this.setAttribute("remote-name", v || "");
  }

  /** Seconds since the first remote media arrived (0 before). */
  get elapsedSeconds() {
    return this._timerStart ? Math.floor((Date.now() - this._timerStart) / 1000) : 0;
  }

  attributeChangedCallback() {
    if (!this._els) return;
    this._els.screenBtn.hidden = !this.hasAttribute("can-share-screen");
    this._els.recBtn.hidden = !this.hasAttribute("can-record");
    this._updateNames();
    const label = this.getAttribute("hangup-label") || this._t("call.hangup");
    this._els.hangup.setAttribute("aria-label", label);
    this._els.hangupTip.textContent = label;
  }

  disconnectedCallback() {
    // keep running if the element is only moved; stop() is explicit
  }

  _render() {
    const root = /** @type {ShadowRoot} */ (this.shadowRoot);
    root.innerHTML = `
      <link rel="stylesheet" href="${STYLESHEET}">
      <div class="stage" part="stage">
        <div class="remotes" data-count="0"></div>
        <div class="waiting" part="waiting">
          <div>
            <div class="avatar" data-el="waitAvatar">?</div>
            <p data-el="waitText"></p>
            <small data-el="waitSub"></small>
          </div>
        </div>
        <div class="top">
          <span class="pill" data-testid="connection-state" data-state="connecting" role="status" aria-live="polite">
            <i class="dot"></i><span data-el="pillText"></span>
          </span>
          <span class="timer" data-testid="call-timer" data-running="false" data-i18n-attr="aria-label:call.duration">00:00</span>
          <span class="rec" data-testid="recording-indicator" hidden><i></i><span data-i18n="call.recBadge"></span></span>
          <span class="nq" data-testid="network-quality" data-level="" data-i18n-attr="title:call.yourConnection" hidden><i></i><i></i><i></i><i></i><i></i></span>
        </div>
        <div class="self video-off" part="self">
          <video data-testid="local-video" autoplay playsinline muted></video>
          <div class="avatar-wrap"><div class="avatar" data-el="selfAvatar">Y</div></div>
          <span class="label"><span class="mic-off">${icons.micOff}</span><span class="name" data-el="selfName" data-i18n="common.you"></span></span>
          <span class="self-stall" data-testid="local-reconnecting" data-i18n="call.selfReconnecting" hidden></span>
        </div>
        <div class="banner" data-testid="call-error" role="alert" hidden>
          <span data-el="bannerIcon">${icons.alert}</span>
          <span data-el="bannerText"></span>
          <button type="button" data-el="bannerClose" data-i18n-attr="aria-label:call.dismiss">${icons.close}</button>
        </div>
        <button type="button" class="sound" data-testid="enable-sound" hidden>${icons.volume}<span data-i18n="call.enableSound"></span></button>
        <div class="drawbar" data-testid="drawbar" hidden>
          <span data-i18n="call.drawHint"></span>
          <button type="button" class="sw" data-color="#ff3b30" style="background:#ff3b30" data-i18n-attr="aria-label:call.color.red" aria-pressed="true"></button>
          <button type="button" class="sw" data-color="#ffd60a" style="background:#ffd60a" data-i18n-attr="aria-label:call.color.yellow" aria-pressed="false"></button>
          <button type="button" class="sw" data-color="#30d158" style="background:#30d158" data-i18n-attr="aria-label:call.color.green" aria-pressed="false"></button>
          <button type="button" class="sw" data-color="#ffffff" style="background:#ffffff" data-i18n-attr="aria-label:call.color.white" aria-pressed="false"></button>
          <button type="button" class="mini" data-testid="draw-undo" data-i18n-attr="aria-label:call.drawUndo">${icons.undo}</button>
          <button type="button" class="mini" data-testid="draw-clear" data-i18n-attr="aria-label:call.drawClear">${icons.trash}</button>
        </div>
        <div class="consent" data-testid="consent-prompt" hidden>
          <div class="box" role="dialog" aria-modal="true" data-i18n-attr="aria-label:call.consent.title">
            <b data-i18n="call.consent.title"></b>
            <span data-el="consentText" data-i18n="call.consent.text"></span>
            <div class="row">
              <button type="button" class="no" data-testid="consent-refuse" data-i18n="call.consent.refuse"></button>
              <button type="button" class="yes" data-testid="consent-allow" data-i18n="call.consent.allow"></button>
            </div>
          </div>
        </div>
        <div class="drawer" part="drawer"><shopcall-chat data-testid="chat"></shopcall-chat></div>
        <div class="controls" part="controls">
          <button type="button" class="btn" data-testid="toggle-mic" aria-pressed="false"></button>
          <button type="button" class="btn" data-testid="toggle-camera" aria-pressed="false"></button>
          <button type="button" class="btn" data-testid="toggle-record" hidden></button>
          <button type="button" class="btn" data-testid="toggle-screen" data-on="false" hidden></button>
          <button type="button" class="btn" data-testid="toggle-draw" data-i18n-attr="aria-label:call.draw" data-on="false">
            ${icons.pen}<span class="tip" data-i18n="call.draw"></span>
          </button>
          <button type="button" class="btn" data-testid="toggle-chat" data-i18n-attr="aria-label:call.chat" data-on="false" style="position:relative">
            ${icons.chat}<span class="badge" data-testid="chat-unread" hidden>0</span><span class="tip" data-i18n="call.chat"></span>
          </button>
          <button type="button" class="btn hangup" data-testid="hangup">
            ${icons.hangup}<span class="tip" data-el="hangupTip"></span>
          </button>
        </div>
      </div>`;
    const q = (/** @type {string} */ s) => /** @type {HTMLElement} */ (root.querySelector(s));
    const el = (/** @type {string} */ n) => /** @type {HTMLElement} */ (root.querySelector(`[data-el="${n}"]`));
    this._els = {
      remotes: q(".remotes"),
      waiting: q(".waiting"),
      waitAvatar: el("waitAvatar"),
      waitText: el("waitText"),
      waitSub: el("waitSub"),
      pill: q(".pill"),
      pillText: el("pillText"),
      timer: q(".timer"),
      self: q(".self"),
      selfVideo: /** @type {HTMLVideoElement} */ (q('[data-testid="local-video"]')),
      selfAvatar: el("selfAvatar"),
      selfName: el("selfName"),
      banner: q(".banner"),
      bannerText: el("bannerText"),
      bannerIcon: el("bannerIcon"),
      sound: q(".sound"),
      mic: q('[data-testid="toggle-mic"]'),
      cam: q('[data-testid="toggle-camera"]'),
      hangup: q('[data-testid="hangup"]'),
      hangupTip: el("hangupTip"),
      draw: q('[data-testid="toggle-draw"]'),
      drawbar: q(".drawbar"),
      chatBtn: q('[data-testid="toggle-chat"]'),
      unread: q('[data-testid="chat-unread"]'),
      drawer: q(".drawer"),
      chat: /** @type {any} */ (q("shopcall-chat")),
    };
    this._els.draw.addEventListener("click", () => this.setDrawing(!this.drawing));
    this._els.screenBtn = q('[data-testid="toggle-screen"]');
    this._els.recBtn = q('[data-testid="toggle-record"]');
    this._els.recPill = q('[data-testid="recording-indicator"]');
    this._els.consent = q('[data-testid="consent-prompt"]');
    this._els.recBtn.addEventListener("click", () => this.toggleRecording());
    q('[data-testid="consent-allow"]').addEventListener("click", () => this._answerConsent(true));
    q('[data-testid="consent-refuse"]').addEventListener("click", () => this._answerConsent(false));
    this._els.screenBtn.addEventListener("click", () => this.toggleScreenShare());
    this._els.chatBtn.addEventListener("click", () => this.setChatOpen(!this.chatOpen));
    this._els.chat.addEventListener("close", () => this.setChatOpen(false));
    this._els.chat.addEventListener("unread", (/** @type {any} */ e) => {
      this._els.unread.textContent = String(e.detail.count);
      this._els.unread.hidden = !e.detail.count;
    });
    for (const sw of root.querySelectorAll(".drawbar .sw")) {
      sw.addEventListener("click", () => {
        this.drawColor = /** @type {HTMLElement} */ (sw).dataset.color || "#ff3b30";
        for (const o of root.querySelectorAll(".drawbar .sw")) o.setAttribute("aria-pressed", String(o === sw));
        for (const l of this._layers.values()) l.color = this.drawColor;
      });
    }
    q('[data-testid="draw-undo"]').addEventListener("click", () => this._drawTarget()?.undo());
    q('[data-testid="draw-clear"]').addEventListener("click", () => this._drawTarget()?.clear());
    this._els.mic.addEventListener("click", () => this.toggleMic());
    this._els.cam.addEventListener("click", () => this.toggleCamera());
    this._els.hangup.addEventListener("click", () => {
      this.dispatchEvent(new CustomEvent("hangup", { bubbles: true, composed: true }));
    });
    el("bannerClose").addEventListener("click", () => this._hideBanner(true));
    this._els.sound.addEventListener("click", () => this._retryPlayback());
    this._retranslate();
  }

  /**
   * Attach to a connected client, join the room (if not joined yet), open the camera (if no
   * stream is given) and publish.
   * @param {{client: ShopCallClient, room?: string, stream?: MediaStream|null,
   *          problems?: Array<{code: string, message: string}>, localName?: string,
   *          remoteName?: string, publish?: boolean}} opts
   */
  async start(opts) {
    const { client } = opts;
    if (!client) throw new Error("shopcall-call: start() needs a client");
    this.stop({ stopTracks: false });
    this.client = client;
    if (opts.localName) this.localName = opts.localName;
    if (opts.remoteName) this.remoteName = opts.remoteName;
    this._listen();
    this._setConnection(client.state);
    this._setWaiting();

    // local media
    let stream = opts.stream || null;
    let problems = opts.problems || [];
    if (!stream) {
      try {
        const got = await getLocalMedia();
        stream = got.stream;
        problems = got.problems;
      } catch (err) {
        problems = [err];
      }
    }
    this.setLocalStream(stream);
    for (const p of problems) this._applyMediaProblem(p);

    // room
    try {
      if (opts.room && client.room !== opts.room) await client.join(opts.room);
    } catch (err) {
      this.showError(this._t("call.error.join", { reason: this._err(err) }));
      throw err;
    }
    this._onJoined(client.lastJoined || {});
    this._syncRecording();
    // remote participants already known
    for (const p of client.participants.values()) this._ensureTile(p.pid, p);
    for (const [pid, sub] of client.subscriptions) {
      if (sub.stream && sub.stream.getTracks().length) this._attachStream(pid, sub.stream);
    }
    this._layout();

    if (stream && opts.publish !== false) {
      try {
        await client.publish(stream);
      } catch (err) {
        this.showError(this._t("call.error.publish", { reason: this._err(err) }));
      }
    }
  }

  /**
   * Detach from the client and release the UI. By default also stops the local camera/mic.
   * @param {{stopTracks?: boolean}} [opts]
   */
  stop(opts = {}) {
    for (const off of this._off) off();
    this._off = [];
    this._stopTimer();
    if (opts.stopTracks !== false && this.stream) for (const t of this.stream.getTracks()) t.stop();
    this.stream = null;
    this.client = null;
    this._els.selfVideo.srcObject = null;
    for (const pid of [...this._tiles.keys()]) this._removeTile(pid);
    if (this._selfLayer) this._selfLayer.destroy();
    this._selfLayer = null;
    this._els.chat.detach();
    this.setDrawing(false);
    this._hideBanner(true);
    this._els.sound.hidden = true;
  }

  /** Show (or replace) the local preview. @param {MediaStream|null} stream */
  setLocalStream(stream) {
    this.stream = stream;
    const v = this._els.selfVideo;
    v.srcObject = stream;
    if (stream) v.play().catch(() => {});
    const hasVideo = !!(stream && stream.getVideoTracks().length);
    const hasAudio = !!(stream && stream.getAudioTracks().length);
    this._camAvailable = hasVideo;
    this._micAvailable = hasAudio;
    const cam = /** @type {HTMLButtonElement} */ (this._els.cam);
    const mic = /** @type {HTMLButtonElement} */ (this._els.mic);
    cam.disabled = !hasVideo;
    mic.disabled = !hasAudio;
    this._syncMuteUi();
  }

  /** Toggle the microphone (track.enabled + `mute` to the room). */
  async toggleMic() {
    if (!this._micAvailable) return;
    const muted = this._muted().audio;
    await this.setMuted({ audio: !muted });
  }

  /** Toggle the camera. */
  async toggleCamera() {
    if (!this._camAvailable) return;
    const muted = this._muted().video;
    await this.setMuted({ video: !muted });
  }

  /** @param {{audio?: boolean, video?: boolean}} what true = muted */
  async setMuted(what) {
    if (this.client) {
      const p = this.client.setMuted(what);
      this._syncMuteUi();
      await p;
    } else if (this.stream) {
      if (typeof what.audio === "boolean") for (const t of this.stream.getAudioTracks()) t.enabled = !what.audio;
      if (typeof what.video === "boolean") for (const t of this.stream.getVideoTracks()) t.enabled = !what.video;
    }
    this._syncMuteUi();
    this.dispatchEvent(new CustomEvent("mute-change", { bubbles: true, composed: true, detail: this._muted() }));
  }

  _muted() {
    if (this.client) return { ...this.client.muted };
    const s = this.stream;
    return {
      audio: !!s && s.getAudioTracks().every((t) => !t.enabled),
      video: !!s && s.getVideoTracks().every((t) => !t.enabled),
    };
  }

  _syncMuteUi() {
    const m = this._muted();
    const micOff = m.audio || !this._micAvailable;
    const camOff = m.video || !this._camAvailable;
    const { mic, cam, self } = this._els;
    mic.setAttribute("aria-pressed", String(micOff));
    mic.dataset.state = micOff ? "off" : "on";
    const micLabel = this._t(!this._micAvailable ? "call.micUnavailable" : micOff ? "call.unmuteMic" : "call.muteMic");
    mic.setAttribute("aria-label", micLabel);
    mic.innerHTML = `${micOff ? icons.micOff : icons.mic}<span class="tip">${esc(micLabel)}</span>`;
    cam.setAttribute("aria-pressed", String(camOff));
    cam.dataset.state = camOff ? "off" : "on";
    const camLabel = this._t(!this._camAvailable ? "call.camUnavailable" : camOff ? "call.camOn" : "call.camOff");
    cam.setAttribute("aria-label", camLabel);
    cam.innerHTML = `${camOff ? icons.cameraOff : icons.camera}<span class="tip">${esc(camLabel)}</span>`;
    self.classList.toggle("video-off", camOff);
    self.classList.toggle("muted-audio", micOff);
  }

  // ---------------------------------------------------------------- client wiring

  _listen() {
    const c = /** @type {ShopCallClient} */ (this.client);
    this._startSpeakerWatch();
    this._off.push(() => {
      clearInterval(this._speakerTimer);
      this._speakerTimer = null;
    });
    const on = (/** @type {string} */ t, /** @type {(d: any) => void} */ fn) => this._off.push(c.on(t, fn));
    this._startStallWatch();
    this._off.push(() => this._stopStallWatch());
    on("media-health", ({ target, state }) => {
      if (target === "publisher") {
        this._selfHealth = state;
        this._checkStalls();
      }
    });
    on("participant-path", ({ pid, path }) => {
      this._paths.set(pid, path);
      this._showPath(pid);
    });
    on("connection-state", ({ state }) => this._setConnection(state));
    on("track", ({ pid, stream, participant }) => {
      this._ensureTile(pid, participant || c.participants.get(pid));
      this._attachStream(pid, stream);
    });
    on("track-removed", ({ pid }) => {
      if (pid.endsWith(":screen")) {
        this._removeTile(pid);
        this._layout();
        return;
      }
      const t = this._tiles.get(pid);
      if (t && t.video) {
        t.video.srcObject = null;
        t.video.remove();
        t.video = null;
        t.tile.classList.remove("has-video");
      }
    });
    on("spotlight", () => this._layout());
    on("network-quality", ({ level, mos }) => {
      const nq = /** @type {HTMLElement} */ (this.shadowRoot?.querySelector('[data-testid="network-quality"]'));
      if (!nq || level == null) return;
      nq.hidden = false;
      nq.dataset.level = String(level);
      const words = this._t(`call.quality.${Math.max(0, Math.min(5, level))}`);
      nq.title = mos
        ? this._t("call.qualityTitleMos", { quality: words, mos: this.i18n.formatNumber(mos, { maximumFractionDigits: 1, minimumFractionDigits: 1 }) })
        : this._t("call.qualityTitle", { quality: words });
      if (level <= 1 && !this._warnedQuality) {
        this._warnedQuality = true;
        this.showInfo(this._t("call.weakConnection"), 5000);
      }
    });
    on("participant-quality", ({ pid, level }) => {
      const t = this._tiles.get(pid);
      if (!t) return;
      let nq = /** @type {HTMLElement|null} */ (t.tile.querySelector(".label .nq"));
      if (!nq) {
        nq = document.createElement("span");
        nq.className = "nq";
        nq.dataset.testid = "participant-quality";
        nq.innerHTML = "<i></i><i></i><i></i><i></i><i></i>";
        t.tile.querySelector(".label")?.append(nq);
      }
      nq.dataset.level = String(level);
    });
    on("recording-state", ({ active, by }) => {
      this._syncRecording();
      this.showInfo(active ? this._t("call.recordingStarted", { name: by || this._t("call.yourExpert") }) : this._t("call.recordingStopped"), 3000);
    });
    on("recording-consent-request", (req) => {
      this._consentFor = req.recording;
      this._els.consent.hidden = false;
    });
    on("recording-consent", ({ name, granted }) => {
      this.showInfo(this._t(granted ? "call.consentGranted" : "call.consentDeclined", { name }), 4000);
    });
    on("force-muted", ({ by, audio }) => {
      this._syncMuteUi();
      this.showInfo(this._t("call.forceMuted", { name: by || this._t("call.theHost"), what: audio ? "audio" : "video" }), 4000);
    });
    on("removed", ({ by }) => {
      this._setConnection("closed", "call.state.removed");
      this.showError(this._t("call.removed", { name: by || this._t("call.theHost") }), true);
    });
    on("screen-share", ({ active, stream }) => {
      this._syncScreenUi(active);
      // my own shared screen, shown large so I can point and draw on it
      const pid = `${c.pid}:screen`;
      if (active && stream) {
        this._ensureTile(pid, { pid, name: this._t("call.yourScreen") });
        this._attachStream(pid, stream);
      } else {
        this._removeTile(pid);
      }
      this._layout();
    });
    on("participant-joined", ({ participant }) => {
      this._ensureTile(participant.pid, participant);
      this._layout();
    });
    on("participant-updated", ({ participant, self }) => {
      if (self) return;
      this._ensureTile(participant.pid, participant);
      this._applyRemoteMute(participant);
    });
    on("participant-left", ({ pid, participant, reason }) => {
      const name = (participant && participant.name) || (this._tiles.get(pid) || {}).name || this.remoteName;
      this._removeTile(pid);
      this._layout();
      if (name) this.showInfo(this._t(reason === "disconnected" ? "call.participantDropped" : "call.participantLeft", { name }));
    });
    on("local-muted", () => this._syncMuteUi());
    on("media-reset", () => this.showInfo(this._t("call.mediaReset"), 4000));
    on("error", ({ error, action, fatal }) => {
      if (action === "subscribe" && error.code === "cancelled") return;
      if (action === "mute" || action === "refresh") return;
      if (fatal || action === "reconnect") {
        this.showError(error.code === "disconnected" ? this._t("call.error.lost") : this._err(error), true);
      } else if (action === "publish") {
        this.showError(this._t("call.error.publish", { reason: this._err(error) }));
      } else if (action === "subscribe") {
        this.showError(this._t("call.error.subscribe", { reason: this._err(error) }));
      } else if (action === "rejoin") {
        this.showError(this._t("call.error.rejoin", { reason: this._err(error) }), true);
      }
    });
    on("joined", (info) => this._onJoined(info));
    on("annotation", (ev) => {
      const layer = this._layerFor(ev.target);
      if (!layer) return;
      layer.apply(ev);
      this._markSelfAnnotated();
      this.dispatchEvent(new CustomEvent("annotation", { bubbles: true, composed: true, detail: ev }));
    });
    on("room-ended", () => {
      this._setConnection("closed", "call.state.ended");
      this._stopTimer();
    });
  }

  /**
   * @param {string} state
   * @param {string} [textKey] catalog key of the pill's text (default `call.state.<state>`)
   * @param {boolean} [notify] show the reconnect banners (false when only re-labelling)
   */
  _setConnection(state, textKey, notify = true) {
    const pill = this._els.pill;
    pill.dataset.state = state;
    this._connState = state;
    this._connText = textKey || "";
    const key = textKey || `call.state.${state}`;
    this._els.pillText.textContent = this.i18n.has(key) || EN.has(key) ? this._t(key) : state;
    if (!notify) return;
    if (state === "reconnecting") {
      this.showError(this._t("call.reconnectingBanner"), true, "warn", icons.wifiOff);
    } else if (state === "connected" && this._persistentBanner === "reconnect") {
      this._hideBanner(true);
      this.showInfo(this._t("call.reconnected"), 2500);
    }
    if (state === "reconnecting") this._persistentBanner = "reconnect";
  }

  /** @param {{code?: string, message?: string}} problem */
  _applyMediaProblem(problem) {
    const code = problem && problem.code;
    if (code === "camera_blocked" || code === "no_camera" || code === "media_blocked") this._camAvailable = false;
    if (code === "microphone_blocked" || code === "no_microphone" || code === "media_blocked") this._micAvailable = false;
    /** @type {HTMLButtonElement} */ (this._els.cam).disabled = !this._camAvailable;
    /** @type {HTMLButtonElement} */ (this._els.mic).disabled = !this._micAvailable;
    this._syncMuteUi();
    this.showError(this._err(problem), true);
  }

  // ---------------------------------------------------------------- remote tiles

  /**
   * @param {string} pid
   * @param {any} [participant]
   */
  _ensureTile(pid, participant) {
    let t = this._tiles.get(pid);
    const name = (participant && participant.name) || (t && t.name) || this.remoteName || this._t("call.guest");
    if (!t) {
      const tile = document.createElement("div");
      tile.className = pid.endsWith(":screen") ? "tile screen" : "tile";
      tile.dataset.pid = pid;
      tile.setAttribute("part", "remote-tile");
      tile.innerHTML = `
        <div class="avatar-wrap"><div class="avatar">${esc(initials(name))}</div></div>
        <span class="label"><span class="star">${icons.star}</span><span class="mic-off">${icons.micOff}</span><span class="name">${esc(name)}</span></span>
        <span class="path" data-testid="participant-path" hidden></span>
        <div class="stall" data-testid="media-reconnecting" role="status" hidden><i class="spin"></i><span></span></div>
        ${pid.endsWith(":screen") ? "" : `<span class="mod">
          <button type="button" data-act="mute_audio" data-testid="mod-mute">${icons.micOff}</button>
          <button type="button" data-act="spotlight" data-testid="mod-spotlight">${icons.star}</button>
          <button type="button" data-act="remove" data-testid="mod-remove">${icons.close}</button></span>`}`;
      tile.querySelector(".mod")?.addEventListener("click", (e) => {
        const b = /** @type {HTMLElement|null} */ (/** @type {HTMLElement} */ (e.target).closest("button"));
        if (b && b.dataset.act) this.moderate(pid, b.dataset.act);
      });
      this._els.remotes.append(tile);
      t = { tile, video: null, name };
      this._tiles.set(pid, t);
      this._labelTile(pid, t);
      const layer = new AnnotationLayer(tile, {
        target: pid,
        send: (a) => this._sendAnnotation(a),
        myPid: () => (this.client ? this.client.pid : null),
      });
      layer.color = this.drawColor;
      layer.setDrawing(this.drawing && this._tiles.size === 1);
      this._layers.set(pid, layer);
      this._showPath(pid);
      this._layout();
    } else if (name !== t.name) {
      t.name = name;
      /** @type {HTMLElement} */ (t.tile.querySelector(".label .name")).textContent = name;
      /** @type {HTMLElement} */ (t.tile.querySelector(".avatar")).textContent = initials(name);
      this._labelTile(pid, t);
    }
    if (participant) this._applyRemoteMute(participant);
    return t;
  }

  /** A tile's translated labels (stall overlay, path chip, the host's buttons named after the participant). */
  _labelTile(/** @type {string} */ pid, /** @type {{tile: HTMLElement, name: string}} */ t) {
    const stall = t.tile.querySelector(".stall span");
    if (stall) stall.textContent = this._t("call.reconnecting");
    t.tile.querySelector(".path")?.setAttribute("title", this._t("call.path.title"));
    for (const [act, key] of [["mute_audio", "call.mod.mute"], ["spotlight", "call.mod.spotlight"], ["remove", "call.mod.remove"]]) {
      const b = t.tile.querySelector(`[data-act="${act}"]`);
      if (!b) continue;
      b.setAttribute("aria-label", this._t(`${key}Named`, { name: t.name }));
      b.setAttribute("title", this._t(key));
    }
    this._showPath(pid);
  }

  /** @param {any} p */
  _applyRemoteMute(p) {
    const t = this._tiles.get(p.pid);
    if (!t) return;
    t.tile.classList.toggle("muted-audio", !!p.audio_muted);
    t.tile.classList.toggle("video-off", !!p.video_muted);
  }

  /**
   * @param {string} pid
   * @param {MediaStream} stream
   */
  _attachStream(pid, stream) {
    const t = this._ensureTile(pid);
    if (!t.video) {
      const v = document.createElement("video");
      v.autoplay = true;
      v.playsInline = true;
      v.setAttribute("playsinline", "");
      v.dataset.testid = "remote-video";
      v.dataset.pid = pid;
      const onFrames = () => {
        this._startTimer();
        if (v.videoWidth > 0 && !t.tile.classList.contains("has-video")) {
          t.tile.classList.add("has-video");
          this.dispatchEvent(new CustomEvent("remote-video", { bubbles: true, composed: true, detail: { pid } }));
        }
      };
      v.addEventListener("loadeddata", onFrames);
      v.addEventListener("resize", onFrames);
      v.addEventListener("resize", () => {
        // screen-like or portrait video in a landscape tile: show it whole
        const portrait = v.videoHeight > v.videoWidth * 1.1;
        const box = t.tile.getBoundingClientRect();
        t.tile.classList.toggle("contain", portrait && box.width > box.height);
      });
      t.tile.prepend(v);
      t.video = v;
      this._layers.get(pid)?.setVideo(v);
    }
    if (t.video.srcObject !== stream) t.video.srcObject = stream;
    if (stream.getVideoTracks().length === 0) this._startTimer(); // audio-only peer
    this._play(t.video);
    this._layout();
  }

  /** @param {HTMLVideoElement} v */
  _play(v) {
    const p = v.play();
    if (p && p.catch) {
      p.catch((err) => {
        if (err && err.name === "NotAllowedError") {
          // autoplay with sound blocked: play muted and offer a button
          v.muted = true;
          v.play().catch(() => {});
          this._els.sound.hidden = false;
        }
      });
    }
  }

  _retryPlayback() {
    this._els.sound.hidden = true;
    for (const t of this._tiles.values()) {
      if (!t.video) continue;
      t.video.muted = false;
      t.video.play().catch(() => {
        this._els.sound.hidden = false;
      });
    }
  }

  /** @param {string} pid */
  _removeTile(pid) {
    const t = this._tiles.get(pid);
    this._stalls.delete(pid);
    if (!t) return;
    if (t.video) t.video.srcObject = null;
    this._layers.get(pid)?.destroy();
    this._layers.delete(pid);
    t.tile.remove();
    this._tiles.delete(pid);
  }

  _layout() {
    const n = this._tiles.size;
    this._els.remotes.dataset.count = String(n);
    const screen = [...this._tiles.keys()].some((pid) => pid.endsWith(":screen"));
    const spot = this.client && this.client.spotlight;
    for (const [pid, t] of this._tiles) t.tile.classList.toggle("spotlit", pid === spot);
    const main = !screen && n >= 3 ? (spot && this._tiles.has(spot) ? spot : this.activeSpeaker) : null;
    this._els.remotes.classList.toggle("many", n > 6 && !main && !screen);
    this._arrangeSpeaker(screen ? null : main && this._tiles.has(main) ? main : null);
    this._els.remotes.dataset.layout = screen ? "screen" : this._els.remotes.dataset.main ? "speaker" : "grid";
    if (screen) {
      let i = 0;
      for (const [pid, t] of this._tiles) {
        if (pid.endsWith(":screen")) continue;
        t.tile.style.top = `calc(56px + ${i} * (clamp(90px, 20cqw, 200px) * .75 + 10px))`;
        i += 1;
      }
    } else {
      for (const t of this._tiles.values()) t.tile.style.top = "";
    }
    this._els.waiting.hidden = n > 0;
    this._setWaiting();
  }

  _setWaiting() {
    const name = this.remoteName;
    this._els.waitAvatar.textContent = name ? initials(name) : "…";
    const connected = !this.client || this.client.room;
    this._els.waitText.textContent = name
      ? this._t(connected ? "call.waitingFor" : "call.connectingTo", { name })
      : this._t("call.waiting");
    this._els.waitSub.textContent = this._t("call.waitingSub");
  }

  _updateNames() {
    if (!this._els) return;
    const ln = this.localName;
    this._els.selfName.textContent = this._t("common.you");
    this._els.self.setAttribute("aria-label", ln === this._t("common.you") ? this._t("call.yourCamera") : this._t("call.yourCameraNamed", { name: ln }));
    this._els.selfAvatar.textContent = initials(ln);
    this._setWaiting();
  }

  // ---------------------------------------------------------------- chat, annotation

  /** Catch up on a (re)join: chat history, product cards, the drawings. @param {any} info */
  _onJoined(info) {
    if (!this.client) return;
    this._els.chat.attach(this.client, info);
    if (!this._selfLayer) {
      this._selfLayer = new AnnotationLayer(this._els.self, { target: "", mirror: true });
      this._selfLayer.setVideo(this._els.selfVideo);
    }
    this._selfLayer.target = info.pid || "";
    const ann = info.annotations || {};
    this._selfLayer.load(ann[info.pid] || []);
    for (const [target, strokes] of Object.entries(ann)) {
      if (target === info.pid) continue;
      this._ensureTile(target, this.client.participants.get(target));
      this._layers.get(target)?.load(/** @type {any[]} */ (strokes));
    }
    this._markSelfAnnotated();
  }

  /** @param {string} target */
  _layerFor(target) {
    if (this.client && target === this.client.pid) return this._selfLayer;
    if (!this._layers.has(target) && this.client && this.client.participants.has(target)) {
      this._ensureTile(target, this.client.participants.get(target));
    }
    return this._layers.get(target) || null;
  }

  _markSelfAnnotated() {
    const on = !!(this._selfLayer && this._selfLayer.strokes.length);
    this._els.self.classList.toggle("annotated", on);
    if (this._selfLayer) this._selfLayer.redraw();
  }

  /** @param {any} a */
  async _sendAnnotation(a) {
    if (!this.client) return;
    try {
      await this.client.annotate(a);
    } catch (err) {
      this.showError(this._t("call.error.draw", { reason: this._err(err) }));
    }
  }

  /**
   * Speaker layout: the main tile large, the others in a filmstrip (or back to a plain grid).
   * @param {string|null} main
   */
  _arrangeSpeaker(main) {
    const remotes = this._els.remotes;
    let strip = /** @type {HTMLElement|null} */ (remotes.querySelector(":scope > .strip"));
    if (!main) {
      if (strip) {
        for (const t of [...strip.children]) remotes.append(t);
        strip.remove();
      }
      for (const t of this._tiles.values()) t.tile.classList.remove("main");
      delete remotes.dataset.main;
      return;
    }
    if (!strip) {
      strip = document.createElement("div");
      strip.className = "strip";
      remotes.append(strip);
    }
    for (const [pid, t] of this._tiles) {
      t.tile.classList.toggle("main", pid === main);
      if (pid === main) {
        if (t.tile.parentElement !== remotes) remotes.prepend(t.tile);
      } else if (t.tile.parentElement !== strip) {
        strip.append(t.tile);
      }
    }
    remotes.dataset.main = main;
  }

  /** Host: moderate a participant. @param {string} pid @param {string} action */
  async moderate(pid, action) {
    if (!this.client) return;
    try {
      if (action === "spotlight" && this.client.spotlight === pid) await this.client.moderate(null, "unspotlight");
      else await this.client.moderate(pid, action);
    } catch (err) {
      this.showError(this._err(err));
    }
  }

  /** Follow the loudest remote participant (audio level from getStats, with a hold against flapping). */
  // ---------------------------------------------------------------- media health

  /** Poll each remote video's decoded frames (and the connections' ICE states) for stalls. */
  _startStallWatch() {
    this._stopStallWatch();
    this._stallTimer = setInterval(() => this._checkStalls(), STALL_POLL_MS);
  }

  _stopStallWatch() {
    clearInterval(this._stallTimer);
    this._stallTimer = null;
    this._stalls.clear();
  }

  async _checkStalls() {
    const c = this.client;
    if (!c || this._checkingStalls) return;
    this._checkingStalls = true;
    try {
      await this._checkStallsNow(c);
    } finally {
      this._checkingStalls = false;
    }
  }

  /** @param {ShopCallClient} c */
  async _checkStallsNow(c) {
    const now = Date.now();
    for (const [pid, t] of this._tiles) {
      const sub = c.subscriptions.get(pid);
      if (!sub || !sub.pc || pid === `${c.pid}:screen`) continue;
      let frames = null;
      try {
        (await sub.pc.getStats()).forEach((st) => {
          if (st.type === "inbound-rtp" && st.kind === "video") frames = (frames || 0) + (st.framesDecoded || 0);
        });
      } catch (_) {
        continue; // closed meanwhile
      }
      if (!this._tiles.has(pid)) continue;
      let watch = this._stalls.get(pid);
      if (!watch) this._stalls.set(pid, (watch = new StallWatch()));
      const was = watch.stalled;
      const p = c.participantFor(pid);
      const stalled = watch.update(now, { frames, ice: sub.pc.iceConnectionState, paused: !!(p && p.video_muted) });
      if (stalled !== was) this._markStalled(t.tile, pid, stalled);
    }
    // my own video: its connection broken or being repaired
    const pc = c.publisherPc;
    const ice = pc ? pc.iceConnectionState : "new";
    const selfStalled = !!pc && (ice === "disconnected" || ice === "failed" || this._selfHealth === "reconnecting");
    const badge = /** @type {HTMLElement} */ (this.shadowRoot?.querySelector('[data-testid="local-reconnecting"]'));
    if (badge && badge.hidden === selfStalled) {
      badge.hidden = !selfStalled;
      this._els.self.classList.toggle("stalled", selfStalled);
      this.dispatchEvent(new CustomEvent("media-stall", { bubbles: true, composed: true, detail: { pid: "self", stalled: selfStalled } }));
    }
  }

  /** @param {HTMLElement} tile @param {string} pid @param {boolean} stalled */
  _markStalled(tile, pid, stalled) {
    tile.dataset.media = stalled ? "stalled" : "ok";
    const overlay = /** @type {HTMLElement|null} */ (tile.querySelector(".stall"));
    if (overlay) overlay.hidden = !stalled;
    this.dispatchEvent(new CustomEvent("media-stall", { bubbles: true, composed: true, detail: { pid, stalled } }));
  }

  /** @param {string} pid */
  _showPath(pid) {
    const t = this._tiles.get(pid);
    const path = this._paths.get(pid);
    const chip = /** @type {HTMLElement|null} */ (t ? t.tile.querySelector(".path") : null);
    if (!chip || !path) return;
    chip.dataset.path = path;
    chip.textContent = EN.has(`call.path.${path}`) ? this._t(`call.path.${path}`) : path;
    chip.hidden = false;
  }

  _startSpeakerWatch() {
    if (this._speakerTimer) return;
    this.activeSpeaker = null;
    this._speakerSince = 0;
    this._speakerTimer = setInterval(async () => {
      const c = this.client;
      if (!c || this._tiles.size < 3) return;
      const levels = {};
      for (const [pid, sub] of c.subscriptions) {
        if (!sub.pc || pid.endsWith(":screen")) continue;
        try {
          (await sub.pc.getStats()).forEach((st) => {
            if (st.type === "inbound-rtp" && st.kind === "audio") levels[pid] = st.audioLevel || 0;
          });
        } catch (_) {
          /* closed meanwhile */
        }
      }
      this.audioLevels = levels;
      let best = null;
      let bestLevel = 0.02; // below this nobody is speaking
      for (const [pid, lvl] of Object.entries(levels)) if (lvl > bestLevel) [best, bestLevel] = [pid, lvl];
      for (const [pid, t] of this._tiles) t.tile.classList.toggle("speaking", pid === best);
      const now = Date.now();
      const cur = this.activeSpeaker;
      const curLevel = cur ? levels[cur] || 0 : 0;
      // switch only when someone is clearly louder and the current speaker has held the stage 1.5 s
      if (best && best !== cur && (!cur || (now - this._speakerSince > 1500 && bestLevel > curLevel * 1.5))) {
        this.activeSpeaker = best;
        this._speakerSince = now;
        this._layout();
        this.dispatchEvent(new CustomEvent("active-speaker", { bubbles: true, composed: true, detail: { pid: best } }));
      }
    }, 400);
  }

  /** The layer drawing applies to: a shared screen if there is one, else the first remote video. */
  _drawTarget() {
    const screen = [...this._tiles.keys()].find((pid) => pid.endsWith(":screen"));
    if (screen) return this._layers.get(screen) || null;
    const first = this._tiles.keys().next();
    return first.done ? null : this._layers.get(first.value) || null;
  }

  _syncRecording() {
    const active = !!(this.client && this.client.recording);
    this._els.recPill.hidden = !active;
    const b = this._els.recBtn;
    b.classList.toggle("recording", active);
    b.dataset.on = String(active);
    const label = this._t(active ? "call.stopRecording" : "call.record");
    b.setAttribute("aria-label", label);
    b.innerHTML = `${icons.record}<span class="tip">${esc(label)}</span>`;
    if (!active) this._els.consent.hidden = true;
  }

  /** Agents: start or stop recording. */
  async toggleRecording() {
    if (!this.client) return;
    try {
      if (this.client.recording) await this.client.stopRecording();
      else await this.client.startRecording();
    } catch (err) {
      this.showError(this._err(err));
    }
  }

  /** @param {boolean} granted */
  async _answerConsent(granted) {
    this._els.consent.hidden = true;
    if (!this.client || !this._consentFor) return;
    try {
      await this.client.answerRecordingConsent(this._consentFor, granted);
      this.showInfo(this._t(granted ? "call.consentThanks" : "call.consentNotRecorded"), 3000);
    } catch (err) {
      this.showError(this._err(err));
    }
  }

  /** Agents: start or stop sharing the screen. */
  async toggleScreenShare() {
    if (!this.client) return;
    try {
      if (this.client.screenPc) await this.client.stopScreenShare();
      else await this.client.startScreenShare();
    } catch (err) {
      if (err && err.code !== "screen_blocked") this.showError(this._t("call.error.screen", { reason: this._err(err) }));
      this._syncScreenUi(!!this.client.screenPc);
    }
  }

  /** @param {boolean} active @param {boolean} [notify] */
  _syncScreenUi(active, notify = true) {
    const b = this._els.screenBtn;
    b.dataset.on = String(active);
    b.classList.toggle("sharing", active);
    const label = this._t(active ? "call.stopScreen" : "call.shareScreen");
    b.setAttribute("aria-label", label);
    b.innerHTML = `${icons.screen}<span class="tip">${esc(label)}</span>`;
    if (active && notify) this.showInfo(this._t("call.sharingScreen"), 3000);
  }

  /** Switch drawing on the remote video on or off. @param {boolean} on */
  setDrawing(on) {
    const target = this._drawTarget();
    this.drawing = !!on && !!target;
    for (const l of this._layers.values()) l.setDrawing(this.drawing && l === target);
    this._els.draw.dataset.on = String(this.drawing);
    this._els.draw.setAttribute("aria-pressed", "false");
    this._els.drawbar.hidden = !this.drawing;
  }

  /** Open or close the chat & products drawer. @param {boolean} open */
  setChatOpen(open) {
    this.chatOpen = !!open;
    this._els.drawer.classList.toggle("open", this.chatOpen);
    this._els.drawer.parentElement?.classList.toggle("chat-open", this.chatOpen);
    this._els.chatBtn.dataset.on = String(this.chatOpen);
    this._els.chat.setVisible(this.chatOpen);
    if (this.chatOpen) this._els.unread.hidden = true;
  }

  /** The chat & products panel element (e.g. to listen for `add-to-cart`). */
  get chat() {
    return this._els.chat;
  }

  /** Drawing state for tests and UIs: strokes per target. */
  annotationState() {
    /** @type {Object<string, any[]>} */
    const out = {};
    for (const [t, l] of this._layers) out[t] = l.strokes.map((s) => ({ ...s }));
    if (this._selfLayer && this._selfLayer.target) out[this._selfLayer.target] = this._selfLayer.strokes.map((s) => ({ ...s }));
    return out;
  }

  // ---------------------------------------------------------------- timer

  _startTimer() {
    if (this._timerId) return;
    this._timerStart = Date.now();
    this._els.timer.dataset.running = "true";
    const tick = () => {
      const s = this.elapsedSeconds;
      const h = Math.floor(s / 3600);
      const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
      const ss = String(s % 60).padStart(2, "0");
      this._els.timer.textContent = h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
      this._els.timer.setAttribute("aria-label", this._t("call.durationValue", { duration: this.i18n.formatDuration(s) }));
    };
    tick();
    this._timerId = setInterval(tick, 1000);
  }

  _stopTimer() {
    if (this._timerId) clearInterval(this._timerId);
    this._timerId = null;
    this._els.timer.dataset.running = "false";
  }

  // ---------------------------------------------------------------- banner

  /**
   * Show an error sentence over the video.
   * @param {string} message
   * @param {boolean} [persistent] stays until dismissed (otherwise 8 s)
   * @param {"error"|"warn"|"info"} [kind]
   * @param {string} [icon]
   */
  showError(message, persistent = false, kind = "error", icon = icons.alert) {
    const { banner, bannerText, bannerIcon } = this._els;
    banner.className = `banner ${kind === "error" ? "" : kind}`.trim();
    bannerIcon.innerHTML = icon;
    bannerText.textContent = message;
    banner.hidden = false;
    banner.dataset.kind = kind;
    this._persistentBanner = persistent ? "error" : null;
    if (this._bannerTimer) clearTimeout(this._bannerTimer);
    this._bannerTimer = persistent ? null : setTimeout(() => this._hideBanner(), 8000);
    if (kind !== "info") {
      this.dispatchEvent(new CustomEvent("call-error", { bubbles: true, composed: true, detail: { message } }));
    }
  }

  /**
   * Show a short note over the video.
   * @param {string} message
   * @param {number} [ms]
   */
  showInfo(message, ms = 4000) {
    if (this._persistentBanner && !this._els.banner.hidden) return; // never hide an error behind a note
    this.showError(message, false, "info", icons.check);
    if (this._bannerTimer) clearTimeout(this._bannerTimer);
    this._bannerTimer = setTimeout(() => this._hideBanner(), ms);
  }

  /** @param {boolean} [force] */
  _hideBanner(force = false) {
    if (this._persistentBanner && !force) return;
    this._els.banner.hidden = true;
    this._persistentBanner = null;
    if (this._bannerTimer) clearTimeout(this._bannerTimer);
    this._bannerTimer = null;
  }
}

if (!customElements.get("shopcall-call")) customElements.define("shopcall-call", ShopCallCallElement);
