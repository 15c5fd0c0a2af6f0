/**
 * `<shopcall-precall>` — the check before a call: camera preview, camera and microphone pickers,
 * a live microphone level meter, and the recording notice when the shop records calls.
 *
 *   const pre = document.querySelector("shopcall-precall");
 *   await pre.open();                       // asks for the devices, starts the preview
 *   const { stream, problems } = pre.take(); // hand the stream to the call; the preview stops
 *   pre.close();                            // or: stop everything (dialog dismissed)
 *
 * Attributes: `recording` ("on"|"on_demand"|"off") shows the recording notice.
 * Events: `devices-change` {camera, microphone} when the shopper picks another device.
 * Strings: property `i18n` (namespaces common, precall, errors), English until set.
 * @module shopcall/components/shopcall-precall
 */

import { englishI18n, translateDom } from "../i18n/i18n.js";
import { describeError, getLocalMedia } from "../sdk/shopcall.js";
import { esc } from "./icons.js";

/** The element's styles, served as a file and linked into its shadow root. */
const STYLESHEET = new URL("./shopcall-precall.css", import.meta.url).href;
const PRECALL_NAMESPACES = ["common", "precall", "errors"];
const EN = await englishI18n(PRECALL_NAMESPACES);

export class ShopCallPrecallElement extends HTMLElement {
  static get observedAttributes() {
    return ["recording"];
  }

  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    /** @type {MediaStream|null} */
    this.stream = null;
    /** @type {any[]} */
    this.problems = [];
    this.level = 0;
    this._audioCtx = null;
    this._raf = 0;
    this._i18n = null;
    this._devices = [];
    this._render();
  }

  /** The I18n the check speaks (English until set). */
  get i18n() {
    return this._i18n || EN;
  }
  set i18n(v) {
    this._i18n = v || null;
    // an I18n made for another part (the widget's) may lack this element's namespaces: load them, same locale
    if (v && v.including) {
      v.including(PRECALL_NAMESPACES).then((full) => {
        if (this._i18n === v && full !== v) this.i18n = full;
      }, () => {});
    }
    translateDom(/** @type {ShadowRoot} */ (this.shadowRoot), { t: (k) => this._t(k) });
    this.setAttribute("lang", this.i18n.locale);
    this._renderNotice();
    this._showState();
    this._fillDevices();
  }

  /** @param {string} key @param {Record<string, any>} [values] */
  _t(key, values) {
    const i18n = this._i18n;
    return i18n && i18n.has(key) ? i18n.t(key, values) : EN.t(key, values);
  }

  attributeChangedCallback() {
    this._renderNotice();
  }

  _render() {
    const root = /** @type {ShadowRoot} */ (this.shadowRoot);
    root.innerHTML = `<link rel="stylesheet" href="${STYLESHEET}">
      <div class="preview"><video data-testid="precall-video" autoplay playsinline muted data-i18n-attr="aria-label:precall.preview"></video>
        <div class="msg" data-el="msg" data-i18n="precall.starting"></div></div>
      <div class="row">
        <label><span data-i18n="precall.camera"></span><select data-testid="precall-camera" data-el="camera"></select></label>
        <label><span data-i18n="precall.microphone"></span><select data-testid="precall-mic" data-el="mic"></select></label>
      </div>
      <label class="ns"><input type="checkbox" data-testid="precall-noise" data-el="noise" checked> <span data-i18n="precall.noise"></span></label>
      <div class="meter-row"><span id="meter-label" data-i18n="precall.micLevel"></span><div class="meter" data-testid="precall-meter" role="meter" aria-labelledby="meter-label" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0"><i data-el="bar"></i></div></div>
      <div data-el="notice"></div>
      <div class="err" data-el="err" role="alert" hidden></div>`;
    translateDom(root, { t: (k) => this._t(k) });
    const q = (/** @type {string} */ n) => /** @type {any} */ (root.querySelector(`[data-el="${n}"]`));
    this._els = { video: root.querySelector("video"), msg: q("msg"), camera: q("camera"), mic: q("mic"), bar: q("bar"),
      notice: q("notice"), err: q("err"), noise: q("noise") };
    this._els.noise.addEventListener("change", () => {
      const ns = this.stream && /** @type {any} */ (this.stream).noiseSuppressor;
      if (ns) ns.setEnabled(this._els.noise.checked);
    });
    this._els.camera.addEventListener("change", () => this._switch());
    this._els.mic.addEventListener("change", () => this._switch());
    this._renderNotice();
  }

  _renderNotice() {
    if (!this._els) return;
    const mode = this.getAttribute("recording") || "off";
    this._els.notice.innerHTML = mode === "off" ? "" : `<div class="rec" data-testid="precall-recording-notice"><b></b>
      <span>${esc(this._t(mode === "on" ? "precall.recordedNotice" : "precall.mayRecordNotice"))}</span></div>`;
  }

  /** Ask for camera and microphone and start the preview. */
  async open(constraints = {}) {
    this._els.err.hidden = true;
    try {
      const got = await getLocalMedia({ ...constraints, noiseSuppression: true });
      const ns = /** @type {any} */ (got.stream).noiseSuppressor;
      if (ns) ns.setEnabled(this._els.noise.checked);
      this._els.noise.disabled = !ns;
      this._use(got.stream, got.problems);
    } catch (err) {
      this._use(null, [err]);
    }
    await this._listDevices();
  }

  async _switch() {
    const cam = this._els.camera.value;
    const mic = this._els.mic.value;
    this._stopTracks();
    const video = cam ? { deviceId: { exact: cam }, width: { ideal: 1280 }, height: { ideal: 720 } } : undefined;
    const audio = mic ? { deviceId: { exact: mic } } : undefined;
    await this.open({ video, audio });
    this.dispatchEvent(new CustomEvent("devices-change", { detail: { camera: cam, microphone: mic } }));
  }

  /** @param {MediaStream|null} stream @param {any[]} problems */
  _use(stream, problems) {
    this._started = true;
    this.stream = stream;
    this.problems = problems;
    const { video, err } = this._els;
    video.srcObject = stream;
    this._showState();
    err.hidden = !problems.length;
    this._meter(stream);
  }

  /** The preview's message and the device problems, in the current locale. */
  _showState() {
    const { msg, err } = this._els;
    if (!this._started) return;
    const hasVideo = !!(this.stream && this.stream.getVideoTracks().length);
    msg.hidden = hasVideo;
    msg.textContent = hasVideo ? "" : this._t("precall.cameraOff");
    err.textContent = this.problems.map((p) => describeError(p, this.i18n)).join(" ");
  }

  async _listDevices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    this._devices = await navigator.mediaDevices.enumerateDevices();
    this._fillDevices();
  }

  /** The device pickers, with numbered names when the browser hides device labels. */
  _fillDevices() {
    const devices = this._devices;
    const current = (/** @type {string} */ kind) => {
      const t = this.stream && this.stream.getTracks().find((x) => x.kind === kind);
      return t ? t.getSettings().deviceId || "" : "";
    };
    const fill = (/** @type {HTMLSelectElement} */ sel, /** @type {string} */ kind, /** @type {string} */ what) => {
      if (!devices.length) return;
      const list = devices.filter((d) => d.kind === kind);
      const keep = sel.value;
      sel.innerHTML = list.length
        ? list.map((d, i) => `<option value="${esc(d.deviceId)}">${esc(d.label || this._t(`precall.${what}N`, { n: i + 1 }))}</option>`).join("")
        : `<option value="">${esc(this._t(`precall.no_${what}`))}</option>`;
      const cur = current(kind === "videoinput" ? "video" : "audio") || keep;
      if (cur) sel.value = cur;
      sel.disabled = list.length < 2;
    };
    fill(this._els.camera, "videoinput", "camera");
    fill(this._els.mic, "audioinput", "microphone");
  }

  /** @param {MediaStream|null} stream */
  _meter(stream) {
    cancelAnimationFrame(this._raf);
    if (this._audioCtx) this._audioCtx.close().catch(() => {});
    this._audioCtx = null;
    const track = stream && stream.getAudioTracks()[0];
    if (!track) return;
    const ctx = new AudioContext();
    this._audioCtx = ctx;
    const src = ctx.createMediaStreamSource(new MediaStream([track]));
    const an = ctx.createAnalyser();
    an.fftSize = 512;
    src.connect(an);
    const buf = new Float32Array(an.fftSize);
    const tick = () => {
      an.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      const rms = Math.sqrt(sum / buf.length);
      // -60 dBFS .. 0 dBFS onto 0..100 %
      const db = 20 * Math.log10(Math.max(rms, 1e-6));
      this.level = Math.max(0, Math.min(1, (db + 60) / 60));
      this._els.bar.style.width = `${Math.round(this.level * 100)}%`;
      this._els.bar.parentElement.dataset.level = this.level.toFixed(2);
      this._els.bar.parentElement.setAttribute("aria-valuenow", String(Math.round(this.level * 100)));
      this._raf = requestAnimationFrame(tick);
    };
    ctx.resume().catch(() => {});
    tick();
  }

  /** Hand over the stream (the call owns it from now on); the preview and meter stop. */
  take() {
    const out = { stream: this.stream, problems: this.problems };
    this.stream = null;
    this._release();
    return out;
  }

  /** Stop the preview and the devices. */
  close() {
    this._stopTracks();
    this._release();
  }

  _stopTracks() {
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    this.stream = null;
  }

  _release() {
    cancelAnimationFrame(this._raf);
    if (this._audioCtx) this._audioCtx.close().catch(() => {});
    this._audioCtx = null;
    this._els.video.srcObject = null;
  }
}

if (!customElements.get("shopcall-precall")) customElements.define("shopcall-precall", ShopCallPrecallElement);
