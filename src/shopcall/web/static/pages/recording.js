// Script of pages/recording.html (loaded as a module, so the page carries no inline script).
import { esc } from "/static/components/icons.js";
import { browserLocales, loadI18n, pickLocale, translateDom } from "/static/i18n/i18n.js";
import { clock, el } from "/static/pages/ui.js";

// The agent's console language (remembered by the console page), else the browser's.
const i18n = await loadI18n(["common", "console", "recording", "errors"],
  pickLocale([localStorage.getItem("shopcall.console.locale") || "", ...browserLocales()]));
const t = (key, values) => i18n.t(key, values);
translateDom(document, i18n);
const id = location.pathname.split("/").pop();
let rec = null;
let strokesByTime = [];

async function load() {
  const res = await fetch(`/v1/console/recordings/${encodeURIComponent(id)}`, { headers: { "Accept-Language": i18n.locale } });
  if (res.status === 401) { location.href = "/console"; return; }
  const body = await res.json();
  if (!res.ok) { el("status").hidden = false; el("status").textContent = body.error.message; return; }
  rec = body;
  el("title").textContent = rec.shopper ? t("recording.callWith", { name: rec.shopper }) : t("recording.callWithShopper");
  el("meta").textContent = [rec.started_at && i18n.formatDate(rec.started_at), rec.agent && t("recording.agent", { name: rec.agent }),
    rec.duration_s && i18n.formatDuration(rec.duration_s),
    rec.outcome && t("recording.outcome", { outcome: i18n.has(`console.outcome.${rec.outcome}`) ? t(`console.outcome.${rec.outcome}`) : rec.outcome }),
    rec.size_bytes && t("recording.size", { mb: rec.size_bytes / 1e6 }), t("recording.region", { region: rec.region })]
    .filter(Boolean).join(" · ");
  if (rec.status !== "ready") {
    el("status").hidden = false;
    el("status").classList.toggle("failed", rec.status === "failed");
    const step = Object.entries(rec.steps || {}).map(([k, v]) => `${k}: ${v.status}${v.progress != null ? ` ${i18n.formatNumber(v.progress, { style: "percent" })}` : ""}`).join(" · ");
    el("status").textContent = rec.status === "failed" ? t("recording.failed", { error: rec.error || "" }) : t("recording.preparing", { steps: step });
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
  if (e.kind === "product_card") return `${esc(t("recording.showed"))} <b>${esc(e.data.title)}</b> <small>${esc(i18n.formatPrice(e.data.price, e.data.currency))}</small>`;
  if (e.kind === "card_action") return `${esc(t("recording.shopperAction"))} <b>${esc(t(e.data.action === "add_to_cart" ? "common.addToCart" : "recording.action", { action: e.data.action }))}</b> ${esc(e.data.sku)}`;
  if (e.kind === "annotation") {
    const onScreen = e.data.target && e.data.target.endsWith(":screen");
    return esc(t(onScreen ? "recording.drawingOnScreen" : "recording.drawing", { op: i18n.has(`recording.op.${e.data.op}`) ? t(`recording.op.${e.data.op}`) : e.data.op }));
  }
  return esc(e.kind);
}

function renderTimeline() {
  const items = (rec.timeline || []);
  strokesByTime = items.filter((e) => e.kind === "annotation");
  const consents = (rec.consents || []).map((c) => `<div class="ev"><span class="t">${esc(t("recording.consent"))}</span><span>${esc(c.identity)}: <b>${esc(i18n.has(`recording.decision.${c.decision}`) ? t(`recording.decision.${c.decision}`) : c.decision)}</b></span></div>`).join("");
  el("timeline").innerHTML = consents + (items.length ? items.map((e, i) => `<div class="ev" data-i="${i}" data-t="${e.t}" data-testid="timeline-item" data-kind="${esc(e.kind)}">
      <span class="t">${clock(e.t)}</span><span>${describe(e)}</span></div>`).join("") : `<small class="sc-muted">${esc(t("recording.empty"))}</small>`);
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
  if (!confirm(t("recording.confirmDelete"))) return;
  const res = await fetch(`/v1/console/recordings/${encodeURIComponent(id)}`, { method: "DELETE", headers: { "Accept-Language": i18n.locale } });
  if (res.ok) location.href = "/console";
  else alert((await res.json()).error.message);
});
load();
