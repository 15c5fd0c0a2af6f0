// Console admin: the shop-page widget (issue 13 §5). Edit the look (colours, radius, font, logo, button
// labels, position) with a live preview drawn by the widget's own stylesheet, and copy the two things a
// merchant needs to go live: the script tag and the settings call (PATCH /v1/settings, with the app's
// secret, which the console never holds). The current look comes from a widget session, as shops get it.
// Words come from the `console` catalogs (console.widget.*), through the console's I18n.
import { esc, icons, initials } from "/static/components/icons.js";
import { applyTheme } from "/static/widget/theme.js";

const LOCALES = ["en", "zh-CN", "de", "fr", "es", "ja"];
const DEFAULTS = { accent: "#4f5bff", accent_text: "#ffffff", background: "#ffffff", text: "#141821", radius: 16 };
const POSITIONS = { "bottom-right": "console.widget.posBottomRight", "bottom-left": "console.widget.posBottomLeft", inline: "console.widget.posInline" };
// examples and the preview's sample expert: data, not words to translate
const FONT_EXAMPLE = "Inter, system-ui, sans-serif";
const LOGO_EXAMPLE = "https://cdn.example.com/logo.svg";
const SAMPLE_EXPERT = "Anna Lindqvist";

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

/** The tag a merchant puts on their pages (code, not words to translate). */
function scriptTag(app) {
  return `<script src="${location.origin}/widget.js" data-app="${app}" async></script>`;
}

/** The settings call a merchant's server makes with the app secret (code, not words to translate). */
function settingsCall(app, body) {
  return `curl -u ${app}:SECRET -X PATCH ${location.origin}/v1/settings \\\n  -H 'content-type: application/json' -d '${JSON.stringify(body)}'`;
}

/** Render the widget page into `root` (admin only), in `i18n`'s language (again when it changes). */
export async function mountWidget(root, i18n) {
  if (!root || root.dataset.mounted === i18n.locale) return;
  root.dataset.mounted = i18n.locale;
  const tr = (key, values) => i18n.t(key, values);
  const app = await appId().catch(() => "APP_ID");
  const w = await current(app).catch(() => ({}));
  const theme = { ...DEFAULTS, ...(w.theme || {}) };
  const labels = w.button_label || {};
  const field = (name, label, input) => `<label class="sc-field" style="gap:4px;font-size:13px"><span>${esc(label)}</span>${input}</label>`;
  const color = (name, label) => field(name, label, `<input type="color" name="${name}" value="${esc(theme[name])}" style="width:100%;height:40px">`);
  root.innerHTML = `<h3 style="margin-top:14px">${esc(tr("console.widget.title"))}</h3>
    <div style="display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:18px;align-items:start" data-testid="widget-settings">
      <form data-el="wForm" style="display:grid;grid-template-columns:1fr 1fr;gap:10px">
        ${color("accent", tr("console.widget.accent"))}${color("accent_text", tr("console.widget.accentText"))}${color("background", tr("console.widget.background"))}${color("text", tr("console.widget.text"))}
        ${field("radius", tr("console.widget.radius"), `<input class="sc-input" type="number" min="0" max="32" name="radius" value="${esc(theme.radius)}">`)}
        ${field("position", tr("console.widget.position"), `<select class="sc-input" name="position">${Object.entries(POSITIONS).map(([p, key]) => `<option value="${p}"${p === (w.position || "bottom-right") ? " selected" : ""}>${esc(tr(key))}</option>`).join("")}</select>`)}
        ${field("font", tr("console.widget.font"), `<input class="sc-input" name="font" maxlength="200" value="${esc(theme.font || "")}" placeholder="${FONT_EXAMPLE}">`)}
        ${field("logo_url", tr("console.widget.logo"), `<input class="sc-input" name="logo_url" maxlength="500" value="${esc(theme.logo_url || "")}" placeholder="${LOGO_EXAMPLE}">`)}
        ${LOCALES.map((l) => field(`label_${l}`, tr("console.widget.buttonLabel", { locale: l }), `<input class="sc-input" name="label_${l}" maxlength="60" value="${esc(labels[l] || "")}" placeholder="${esc(tr("console.widget.builtIn"))}">`)).join("")}
      </form>
      <div style="display:grid;gap:12px">
        <div data-testid="widget-preview" data-el="wPreview" style="position:relative;height:300px;border-radius:12px;overflow:hidden;border:1px solid var(--sc-border);background:repeating-linear-gradient(135deg,#f4f5f7 0 12px,#eef0f3 12px 24px)"></div>
        <div><b style="font-size:13px">${esc(tr("console.widget.step1"))}</b>
          <pre data-testid="widget-snippet" data-el="wSnippet" style="white-space:pre-wrap;word-break:break-all;font-size:12px;background:var(--sc-surface-2);padding:10px;border-radius:8px;margin:6px 0"></pre>
          <button class="sc-btn sc-btn--sm" type="button" data-copy="wSnippet">${esc(tr("console.widget.copy"))}</button></div>
        <div><b style="font-size:13px">${esc(tr("console.widget.step2"))}</b>
          <pre data-testid="widget-settings-call" data-el="wCall" style="white-space:pre-wrap;word-break:break-all;font-size:12px;background:var(--sc-surface-2);padding:10px;border-radius:8px;margin:6px 0"></pre>
          <button class="sc-btn sc-btn--sm" type="button" data-copy="wCall">${esc(tr("console.widget.copy"))}</button></div>
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
    // the label a shopper in the console's language would see (the shop's own, else the built-in one)
    const label = button_label[i18n.locale] || tr("console.widget.previewCall");
    shadow.innerHTML = `<link rel="stylesheet" href="/static/widget/widget.css">
      <div class="scw" data-position="${esc(position)}" style="position:absolute;inset:0">
        <section class="panel" style="top:14px;${position === "bottom-left" ? "right" : "left"}:14px;bottom:auto">
          <header class="head">${t.logo_url ? `<img class="logo" alt="" src="${esc(t.logo_url)}">` : ""}<span class="avatar">${esc(initials(SAMPLE_EXPERT))}</span>
            <div class="who"><strong>${esc(SAMPLE_EXPERT)}</strong><span class="status">${esc(tr("console.widget.previewConnected", { name: SAMPLE_EXPERT.split(" ")[0] }))}</span></div></header>
          <div class="pane ended"><p>${esc(tr("console.widget.previewThanks"))}</p><div class="actions"><button class="btn" type="button">${esc(tr("console.widget.previewAgain"))}</button></div></div>
        </section>
        <button class="launcher" type="button" style="${position === "bottom-left" ? "left:14px;right:auto" : "right:14px"};bottom:14px">
          <span class="launcher-icon">${icons.video}</span><span class="launcher-text"><b>${esc(label)}</b><small>${esc(tr("console.widget.previewOnline", { count: 2 }))}</small></span></button>
        ${position === "inline" ? `<div class="inline-wrap" style="position:absolute;right:14px;bottom:14px;width:240px"><button class="inline-btn" type="button">${esc(label)}</button></div>` : ""}
      </div>`;
    applyTheme(host, t);
    q("wSnippet").textContent = scriptTag(app);
    q("wCall").textContent = settingsCall(app, { widget: { allowed_origins: ["https://shop.example.com"], theme: t, button_label, position } });
  };
  form.addEventListener("input", render);
  for (const b of root.querySelectorAll("[data-copy]")) {
    b.addEventListener("click", () => navigator.clipboard.writeText(q(b.dataset.copy).textContent).then(() => { b.textContent = tr("console.widget.copied"); }, () => {}));
  }
  render();
}
