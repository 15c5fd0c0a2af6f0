// Console admin: the shop-page widget (issue 13 §5). Edit the look (colours, radius, font, logo, button
// labels, position) with a live preview drawn by the widget's own stylesheet, and copy the two things a
// merchant needs to go live: the script tag and the settings call (PATCH /v1/settings, with the app's
// secret, which the console never holds). The current look comes from a widget session, as shops get it.
import { esc, icons } from "/static/components/icons.js";
import { applyTheme } from "/static/widget/theme.js";

const LOCALES = ["en", "zh-CN", "de", "fr", "es", "ja"];
const DEFAULTS = { accent: "#4f5bff", accent_text: "#ffffff", background: "#ffffff", text: "#141821", radius: 16 };

/** The app id of the signed-in console (the audience of its signalling token). */
async function appId() {
  const res = await fetch("/v1/console/me", { headers: { Accept: "application/json" } });
  const { token } = await res.json();
  const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  return Array.isArray(payload.aud) ? payload.aud[0] : payload.aud;
}

async function current(app) {
  const res = await fetch(`/v1/widget/session?app=${encodeURIComponent(app)}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
  return res.ok ? (await res.json()).widget || {} : {};
}

/** Render the widget page into `root` (admin only). */
export async function mountWidget(root) {
  if (!root || root.dataset.mounted) return;
  root.dataset.mounted = "1";
  const app = await appId().catch(() => "APP_ID");
  const w = await current(app).catch(() => ({}));
  const theme = { ...DEFAULTS, ...(w.theme || {}) };
  const labels = w.button_label || {};
  const field = (name, label, input) => `<label class="sc-field" style="gap:4px;font-size:13px"><span>${esc(label)}</span>${input}</label>`;
  const color = (name, label) => field(name, label, `<input type="color" name="${name}" value="${esc(theme[name])}" style="width:100%;height:40px">`);
  root.innerHTML = `<h3 style="margin-top:14px">Shop widget</h3>
    <div style="display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:18px;align-items:start" data-testid="widget-settings">
      <form data-el="wForm" style="display:grid;grid-template-columns:1fr 1fr;gap:10px">
        ${color("accent", "Accent")}${color("accent_text", "Text on accent")}${color("background", "Panel background")}${color("text", "Panel text")}
        ${field("radius", "Corner radius (px)", `<input class="sc-input" type="number" min="0" max="32" name="radius" value="${esc(theme.radius)}">`)}
        ${field("position", "Position", `<select class="sc-input" name="position">${["bottom-right", "bottom-left", "inline"].map((p) => `<option${p === (w.position || "bottom-right") ? " selected" : ""}>${p}</option>`).join("")}</select>`)}
        ${field("font", "Font (CSS font-family, optional)", `<input class="sc-input" name="font" maxlength="200" value="${esc(theme.font || "")}" placeholder="Inter, system-ui, sans-serif">`)}
        ${field("logo_url", "Logo URL (https, optional)", `<input class="sc-input" name="logo_url" maxlength="500" value="${esc(theme.logo_url || "")}" placeholder="https://cdn.example.com/logo.svg">`)}
        ${LOCALES.map((l) => field(`label_${l}`, `Button label · ${l}`, `<input class="sc-input" name="label_${l}" maxlength="60" value="${esc(labels[l] || "")}" placeholder="(built-in)">`)).join("")}
      </form>
      <div style="display:grid;gap:12px">
        <div data-testid="widget-preview" data-el="wPreview" style="position:relative;height:300px;border-radius:12px;overflow:hidden;border:1px solid var(--sc-border);background:repeating-linear-gradient(135deg,#f4f5f7 0 12px,#eef0f3 12px 24px)"></div>
        <div><b style="font-size:13px">1 · Put this on every page of your shop</b>
          <pre data-testid="widget-snippet" data-el="wSnippet" style="white-space:pre-wrap;word-break:break-all;font-size:12px;background:var(--sc-surface-2);padding:10px;border-radius:8px;margin:6px 0"></pre>
          <button class="sc-btn sc-btn--sm" type="button" data-copy="wSnippet">Copy</button></div>
        <div><b style="font-size:13px">2 · Allow your shop's origin and save this look (your server, with the app secret)</b>
          <pre data-testid="widget-settings-call" data-el="wCall" style="white-space:pre-wrap;word-break:break-all;font-size:12px;background:var(--sc-surface-2);padding:10px;border-radius:8px;margin:6px 0"></pre>
          <button class="sc-btn sc-btn--sm" type="button" data-copy="wCall">Copy</button></div>
      </div>
    </div>`;
  const q = (n) => root.querySelector(`[data-el="${n}"]`);
  const form = q("wForm");

  // the preview: the widget's own stylesheet in a shadow root, its fixed parts held inside the box
  const host = document.createElement("div");
  host.style.cssText = "position:absolute;inset:0";
  q("wPreview").append(host);
  const shadow = host.attachShadow({ mode: "open" });
  const hold = new CSSStyleSheet();
  hold.replaceSync(".launcher, .panel { position: absolute !important; } .panel { height: auto !important; width: min(250px, calc(100% - 28px)) !important; }" +
                   ".scw .launcher { display: flex !important; } [data-position=inline] .launcher { display: none !important; }");
  shadow.adoptedStyleSheets = [hold];

  const render = () => {
    const f = new FormData(form);
    const t = { accent: f.get("accent"), accent_text: f.get("accent_text"), background: f.get("background"), text: f.get("text"),
                radius: Math.max(0, Math.min(32, Number(f.get("radius")) || 0)) };
    if (f.get("font")) t.font = String(f.get("font"));
    if (f.get("logo_url")) t.logo_url = String(f.get("logo_url"));
    const button_label = Object.fromEntries(LOCALES.map((l) => [l, String(f.get(`label_${l}`) || "").trim()]).filter(([, v]) => v));
    const position = String(f.get("position"));
    const label = button_label.en || "Video call an expert";
    shadow.innerHTML = `<link rel="stylesheet" href="/static/widget/widget.css">
      <div class="scw" data-position="${esc(position)}" style="position:absolute;inset:0">
        <section class="panel" style="top:14px;${position === "bottom-left" ? "right" : "left"}:14px;bottom:auto">
          <header class="head">${t.logo_url ? `<img class="logo" alt="" src="${esc(t.logo_url)}">` : ""}<span class="avatar">AL</span>
            <div class="who"><strong>Anna Lindqvist</strong><span class="status">Connected with Anna</span></div></header>
          <div class="pane ended"><p>Thanks for talking with us.</p><div class="actions"><button class="btn" type="button">Call again</button></div></div>
        </section>
        <button class="launcher" type="button" style="${position === "bottom-left" ? "left:14px;right:auto" : "right:14px"};bottom:14px">
          <span class="launcher-icon">${icons.video}</span><span class="launcher-text"><b>${esc(label)}</b><small>2 experts online</small></span></button>
        ${position === "inline" ? `<div class="inline-wrap" style="position:absolute;right:14px;bottom:14px;width:240px"><button class="inline-btn" type="button">${esc(label)}</button></div>` : ""}
      </div>`;
    applyTheme(host, t);
    q("wSnippet").textContent = `<script src="${location.origin}/widget.js" data-app="${app}" async></script>`;
    const body = { widget: { allowed_origins: ["https://shop.example.com"], theme: t, button_label, position } };
    q("wCall").textContent = `curl -u ${app}:SECRET -X PATCH ${location.origin}/v1/settings \\\n  -H 'content-type: application/json' -d '${JSON.stringify(body)}'`;
  };
  form.addEventListener("input", render);
  for (const b of root.querySelectorAll("[data-copy]")) {
    b.addEventListener("click", () => navigator.clipboard.writeText(q(b.dataset.copy).textContent).then(() => { b.textContent = "Copied"; }, () => {}));
  }
  render();
}
