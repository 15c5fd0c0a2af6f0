// Script of pages/recording.html (loaded as a module, so the page carries no inline script).
import { esc } from "/static/components/icons.js";
import { clock, el } from "/static/pages/ui.js";
const id = location.pathname.split("/").pop();
let rec = null;
let strokesByTime = [];

async function load() {
  const res = await fetch(`/v1/console/recordings/${encodeURIComponent(id)}`);
  if (res.status === 401) { location.href = "/console"; return; }
  const body = await res.json();
  if (!res.ok) { el("status").hidden = false; el("status").textContent = body.error.message; return; }
  rec = body;
  el("title").textContent = `Call with ${rec.shopper || "a shopper"}`;
  el("meta").textContent = [rec.started_at && new Date(rec.started_at).toLocaleString(), rec.agent && `agent ${rec.agent}`,
    rec.duration_s && clock(rec.duration_s), rec.outcome && `outcome: ${rec.outcome.replace("_", " ")}`,
    rec.size_bytes && `${(rec.size_bytes / 1e6).toFixed(1)} MB`, `region ${rec.region}`].filter(Boolean).join(" · ");
  if (rec.status !== "ready") {
    el("status").hidden = false;
    el("status").classList.toggle("failed", rec.status === "failed");
    const step = Object.entries(rec.steps || {}).map(([k, v]) => `${k}: ${v.status}${v.progress != null ? ` ${Math.round(v.progress * 100)} %` : ""}`).join(" · ");
    el("status").textContent = rec.status === "failed" ? `Processing failed: ${rec.error}` : `Preparing the recording… ${step}`;
    if (rec.status !== "failed") setTimeout(load, 2000);
  } else {
    el("status").hidden = true;
    if (!el("video").src) el("video").src = rec.media_url;
    el("download").href = `${rec.media_url}?download=1`;
    el("download").hidden = false;
    el("del").hidden = false;
  }
  renderTimeline();
}

function describe(e) {
  if (e.kind === "chat") return `<b>${esc(e.name)}</b>: ${esc(e.text)}`;
  if (e.kind === "product_card") return `Showed <b>${esc(e.data.title)}</b> <small>${esc(e.data.currency)} ${esc(e.data.price)}</small>`;
  if (e.kind === "card_action") return `Shopper: <b>${esc(e.data.action.replace(/_/g, " "))}</b> ${esc(e.data.sku)}`;
  if (e.kind === "annotation") return `Drawing: ${esc(e.data.op)}${e.data.target && e.data.target.endsWith(":screen") ? " on the shared screen" : ""}`;
  return esc(e.kind);
}

function renderTimeline() {
  const items = (rec.timeline || []);
  strokesByTime = items.filter((e) => e.kind === "annotation");
  const consents = (rec.consents || []).map((c) => `<div class="ev"><span class="t">consent</span><span>${esc(c.identity)}: <b>${esc(c.decision)}</b></span></div>`).join("");
  el("timeline").innerHTML = consents + (items.length ? items.map((e, i) => `<div class="ev" data-i="${i}" data-t="${e.t}" data-testid="timeline-item" data-kind="${esc(e.kind)}">
      <span class="t">${clock(e.t)}</span><span>${describe(e)}</span></div>`).join("") : `<small class="sc-muted">No chat or drawings in this call.</small>`);
  for (const d of el("timeline").querySelectorAll(".ev[data-t]")) {
    d.addEventListener("click", () => { el("video").currentTime = Number(d.dataset.t); el("video").play().catch(() => {}); });
  }
}

/** Replay the drawings at the video's current time (strokes, undo, clear), over the picture. */
function paint() {
  const v = el("video");
  const c = el("ink");
  const t = v.currentTime;
  c.width = c.clientWidth;
  c.height = c.clientHeight;
  const ctx = c.getContext("2d");
  const live = new Map();
  for (const e of strokesByTime) {
    if (e.t > t) break;
    const d = e.data;
    if (d.op === "stroke" && d.stroke) live.set(d.stroke.id, d.stroke);
    else if (d.op === "undo") live.delete(d.stroke_id);
    else if (d.op === "clear") for (const [k, s] of live) if (s) live.delete(k);
  }
  const vw = v.videoWidth || 16, vh = v.videoHeight || 9;
  const scale = Math.min(c.width / vw, c.height / vh);
  const ox = (c.width - vw * scale) / 2, oy = (c.height - vh * scale) / 2;
  for (const s of live.values()) {
    ctx.strokeStyle = s.color; ctx.lineWidth = s.width; ctx.lineCap = "round"; ctx.lineJoin = "round";
    ctx.beginPath();
    s.points.forEach(([x, y], i) => { const px = ox + x * vw * scale, py = oy + y * vh * scale; i ? ctx.lineTo(px, py) : ctx.moveTo(px, py); });
    ctx.stroke();
  }
  for (const d of el("timeline").querySelectorAll(".ev[data-t]")) d.classList.toggle("now", Math.abs(Number(d.dataset.t) - t) < 1.5);
  requestAnimationFrame(paint);
}
requestAnimationFrame(paint);

el("del").addEventListener("click", async () => {
  if (!confirm("Delete this recording for good?")) return;
  const res = await fetch(`/v1/console/recordings/${encodeURIComponent(id)}`, { method: "DELETE" });
  if (res.ok) location.href = "/console";
  else alert((await res.json()).error.message);
});
load();
