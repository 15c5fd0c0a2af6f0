/**
 * Live annotation: a canvas laid over one video that shows every participant's strokes and,
 * when drawing is switched on, turns pointer moves into strokes sent through the SDK.
 *
 * Points are stored as fractions of the *video picture* (not of the element), so a stroke
 * lands on the same spot of the picture on both sides even when one shows the video cropped
 * (`object-fit: cover`) and the other whole, and on a mirrored self view.
 *
 * @module shopcall/components/annotation-layer
 */

const STREAM_EVERY_MS = 40; // partial strokes while drawing: ~25 updates/s keeps the far side live

export class AnnotationLayer {
  /**
   * @param {HTMLElement} host the tile that holds the video
   * @param {{target: string, mirror?: boolean, send?: (a: any) => Promise<any>|void, myPid?: () => string|null}} opts
   */
  constructor(host, opts) {
    this.host = host;
    this.target = opts.target;
    this.mirror = !!opts.mirror;
    this.send = opts.send || (() => {});
    this.myPid = opts.myPid || (() => null);
    /** @type {Array<{id: string, points: number[][], color: string, width: number, by: string}>} */
    this.strokes = [];
    this.color = "#ff3b30";
    this.width = 4;
    this.drawing = false;
    /** @type {HTMLVideoElement|null} */
    this.video = null;
    this.canvas = document.createElement("canvas");
    this.canvas.className = "annotation";
    this.canvas.dataset.testid = "annotation-canvas";
    this.canvas.dataset.target = this.target;
    this.canvas.dataset.strokes = "0";
    Object.assign(this.canvas.style, {
      position: "absolute", inset: "0", width: "100%", height: "100%", zIndex: "2",
      pointerEvents: "none", touchAction: "none",
    });
    host.append(this.canvas);
    this._current = null;
    this._lastSent = 0;
    this._raf = 0;
    this._ro = new ResizeObserver(() => this.redraw());
    this._ro.observe(host);
    this._bindPointer();
  }

  /** @param {HTMLVideoElement|null} video */
  setVideo(video) {
    this.video = video;
    if (video) video.addEventListener("resize", () => this.redraw());
    this.redraw();
  }

  /** @param {boolean} on */
  setDrawing(on) {
    this.drawing = on;
    this.canvas.style.pointerEvents = on ? "auto" : "none";
    this.canvas.style.cursor = on ? "crosshair" : "";
    this.host.classList.toggle("drawing", on);
  }

  /** Replace the state (late-join replay). @param {any[]} strokes */
  load(strokes) {
    this.strokes = (strokes || []).map((s) => ({ ...s }));
    this.redraw();
  }

  /** Apply an `annotation` event from the server. @param {any} ev */
  apply(ev) {
    if (ev.op === "stroke" && ev.stroke) {
      const i = this.strokes.findIndex((s) => s.id === ev.stroke.id);
      if (i >= 0) this.strokes[i] = ev.stroke;
      else this.strokes.push(ev.stroke);
    } else if (ev.op === "undo") {
      this.strokes = this.strokes.filter((s) => s.id !== ev.stroke_id);
    } else if (ev.op === "clear") {
      this.strokes = [];
    }
    this.redraw();
  }

  /** Undo my last stroke here. */
  async undo() {
    const me = this.myPid();
    const mine = this.strokes.filter((s) => s.by === me);
    if (!mine.length) return;
    const last = mine[mine.length - 1];
    this.strokes = this.strokes.filter((s) => s !== last);
    this.redraw();
    await this.send({ op: "undo", target: this.target, stroke_id: last.id });
  }

  async clear() {
    this.strokes = [];
    this.redraw();
    await this.send({ op: "clear", target: this.target });
  }

  destroy() {
    this._ro.disconnect();
    cancelAnimationFrame(this._raf);
    this.canvas.remove();
  }

  // ------------------------------------------------------------------ geometry

  /** Where the picture is drawn inside the element (object-fit cover/contain). */
  _pictureRect() {
    const w = this.canvas.clientWidth;
    const h = this.canvas.clientHeight;
    const v = this.video;
    const vw = (v && v.videoWidth) || w;
    const vh = (v && v.videoHeight) || h;
    const fit = v ? getComputedStyle(v).objectFit : "fill";
    if (fit !== "cover" && fit !== "contain") return { x: 0, y: 0, w, h };
    const scale = fit === "cover" ? Math.max(w / vw, h / vh) : Math.min(w / vw, h / vh);
    const pw = vw * scale;
    const ph = vh * scale;
    return { x: (w - pw) / 2, y: (h - ph) / 2, w: pw, h: ph };
  }

  /** element px -> picture fraction @param {number} px @param {number} py */
  _toFrac(px, py) {
    const r = this._pictureRect();
    let fx = (px - r.x) / r.w;
    const fy = (py - r.y) / r.h;
    if (this.mirror) fx = 1 - fx;
    const clamp = (/** @type {number} */ n) => Math.min(1, Math.max(0, Math.round(n * 10000) / 10000));
    return [clamp(fx), clamp(fy)];
  }

  /** picture fraction -> element px @param {number[]} p */
  _toPx(p) {
    const r = this._pictureRect();
    const fx = this.mirror ? 1 - p[0] : p[0];
    return [r.x + fx * r.w, r.y + p[1] * r.h];
  }

  // ------------------------------------------------------------------- drawing

  redraw() {
    cancelAnimationFrame(this._raf);
    this._raf = requestAnimationFrame(() => this._paint());
  }

  _paint() {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(c.clientWidth * dpr));
    const h = Math.max(1, Math.round(c.clientHeight * dpr));
    if (c.width !== w || c.height !== h) {
      c.width = w;
      c.height = h;
    }
    const ctx = /** @type {CanvasRenderingContext2D} */ (c.getContext("2d"));
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, c.clientWidth, c.clientHeight);
    const all = this._current ? [...this.strokes, this._current] : this.strokes;
    for (const s of all) {
      if (!s.points.length) continue;
      ctx.strokeStyle = s.color;
      ctx.fillStyle = s.color;
      ctx.lineWidth = s.width;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.shadowColor = "rgba(0,0,0,.35)";
      ctx.shadowBlur = 3;
      const pts = s.points.map((p) => this._toPx(p));
      if (pts.length === 1) {
        ctx.beginPath();
        ctx.arc(pts[0][0], pts[0][1], s.width / 2, 0, Math.PI * 2);
        ctx.fill();
        continue;
      }
      ctx.beginPath();
      ctx.moveTo(pts[0][0], pts[0][1]);
      for (let i = 1; i < pts.length; i++) ctx.lineTo(pts[i][0], pts[i][1]);
      ctx.stroke();
    }
    c.dataset.strokes = String(this.strokes.length + (this._current ? 1 : 0));
  }

  _bindPointer() {
    const c = this.canvas;
    c.addEventListener("pointerdown", (e) => {
      if (!this.drawing) return;
      e.preventDefault();
      c.setPointerCapture(e.pointerId);
      const id = `s${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
      this._current = { id, points: [this._point(e)], color: this.color, width: this.width, by: this.myPid() || "" };
      this._lastSent = 0;
      this._stream(true);
      this.redraw();
    });
    c.addEventListener("pointermove", (e) => {
      if (!this._current) return;
      const p = this._point(e);
      const last = this._current.points[this._current.points.length - 1];
      if (Math.abs(p[0] - last[0]) + Math.abs(p[1] - last[1]) < 0.002) return;
      if (this._current.points.length >= 3900) return;
      this._current.points.push(p);
      this._stream(true);
      this.redraw();
    });
    const finish = () => {
      if (!this._current) return;
      const s = this._current;
      this._current = null;
      this.strokes.push(s);
      this.redraw();
      this._stream(false, s);
    };
    c.addEventListener("pointerup", finish);
    c.addEventListener("pointercancel", finish);
  }

  /** @param {PointerEvent} e */
  _point(e) {
    const r = this.canvas.getBoundingClientRect();
    return this._toFrac(e.clientX - r.left, e.clientY - r.top);
  }

  /** @param {boolean} partial @param {any} [stroke] */
  _stream(partial, stroke) {
    const s = stroke || this._current;
    if (!s) return;
    const now = performance.now();
    if (partial && now - this._lastSent < STREAM_EVERY_MS) return;
    this._lastSent = now;
    const { id, points, color, width } = s;
    this.send({ op: "stroke", target: this.target, stroke: { id, points, color, width }, partial });
  }
}
