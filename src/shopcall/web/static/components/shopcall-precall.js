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
 * @module shopcall/components/shopcall-precall
 */

import { describeError, getLocalMedia } from "../sdk/shopcall.js";
import { esc } from "./icons.js";

/** The element's styles, served as a file and linked into its shadow root. */
const STYLESHEET = new URL("./shopcall-precall.css", import.meta.url).href;

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
    this._render();
  }

  attributeChangedCallback() {
    this._renderNotice();
  }

  _render() {
    const root = /** @type {ShadowRoot} */ (this.shadowRoot);
    root.innerHTML = `<link rel="stylesheet" href="${STYLESHEET}">
      <div class="preview"><video data-testid="precall-video" autoplay playsinline muted></video>
        <div class="msg" data-el="msg">Starting your camera…</div></div>
      <div class="row">
        <label>Camera<select data-testid="precall-camera" data-el="camera"></select></label>
        <label>Microphone<select data-testid="precall-mic" data-el="mic"></select></label>
      </div>
      <label class="ns"><input type="checkbox" data-testid="precall-noise" data-el="noise" checked> AI noise suppression (removes background noise)</label>
      <div class="meter-row"><span>Mic level</span><div class="meter" data-testid="precall-meter"><i data-el="bar"></i></div></div>
      <div data-el="notice"></div>
      <div class="err" data-el="err" hidden></div>`;
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
      <span>${mode === "on" ? "This call is recorded" : "Your expert may record this call"} for service and quality.
      You will be asked for your consent first.</span></div>`;
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
    this.stream = stream;
    this.problems = problems;
    const { video, msg, err } = this._els;
    video.srcObject = stream;
    const hasVideo = !!(stream && stream.getVideoTracks().length);
    msg.hidden = hasVideo;
    msg.textContent = hasVideo ? "" : "Camera off — you can still talk by voice.";
    if (problems.length) {
      err.textContent = problems.map((p) => describeError(p)).join(" ");
      err.hidden = false;
    }
    this._meter(stream);
  }

  async _listDevices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    const devices = await navigator.mediaDevices.enumerateDevices();
    const current = (/** @type {string} */ kind) => {
      const t = this.stream && this.stream.getTracks().find((x) => x.kind === kind);
      return t ? t.getSettings().deviceId || "" : "";
    };
    const fill = (/** @type {HTMLSelectElement} */ sel, /** @type {string} */ kind, /** @type {string} */ label) => {
      const list = devices.filter((d) => d.kind === kind);
      sel.innerHTML = list.length
        ? list.map((d, i) => `<option value="${esc(d.deviceId)}">${esc(d.label || `${label} ${i + 1}`)}</option>`).join("")
        : `<option value="">No ${label.toLowerCase()} found</option>`;
      const cur = current(kind === "videoinput" ? "video" : "audio");
      if (cur) sel.value = cur;
      sel.disabled = list.length < 2;
    };
    fill(this._els.camera, "videoinput", "Camera");
    fill(this._els.mic, "audioinput", "Microphone");
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
