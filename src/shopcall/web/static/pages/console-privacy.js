// Console admin: subject access and erasure (issue 14). One shopper, looked up by identity, customer id
// or email, is exported as a ZIP or erased everywhere; the server does the work (/v1/console/privacy).
// Words come from the `console` catalogs (console.privacy.*), through the console's I18n.
import { esc } from "/static/components/icons.js";

const BASE = "/v1/console/privacy/subjects/";

/** Render the privacy tools into `root` (an admin-only panel), in `i18n`'s language (again when it changes). */
export function mountPrivacy(root, i18n) {
  if (!root || root.dataset.mounted === i18n.locale) return;
  root.dataset.mounted = i18n.locale;
  const t = (key, values) => i18n.t(key, values);
  const headers = { Accept: "application/json", "Accept-Language": i18n.locale };
  root.innerHTML = `
    <div data-testid="privacy-summary" style="margin-bottom:8px"><small class="sc-muted">…</small></div>
    <form data-testid="privacy-form" class="sc-row" style="gap:8px;flex-wrap:wrap">
      <input name="subject" required maxlength="320" placeholder="${esc(t("console.privacy.subject"))}"
             aria-label="${esc(t("console.privacy.subject"))}" style="flex:1;min-width:220px">
      <button class="sc-btn sc-btn--sm" type="submit" data-act="export">${esc(t("console.privacy.export"))}</button>
      <button class="sc-btn sc-btn--sm sc-btn--ghost" type="button" data-act="erase">${esc(t("console.privacy.erase"))}</button>
    </form>
    <div data-testid="privacy-result" role="status" style="margin-top:8px"></div>`;
  showSummary(root.querySelector("[data-testid=privacy-summary]"), i18n);
  const form = root.querySelector("form");
  const out = root.querySelector("[data-testid=privacy-result]");
  const subject = () => form.elements.subject.value.trim();
  const fail = async (res) => {
    let msg = t("console.privacy.httpError", { status: res.status });
    try { msg = (await res.json()).error.message; } catch {}
    out.innerHTML = `<small class="sc-muted" data-testid="privacy-error">${esc(msg)}</small>`;
  };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!subject()) return;
    out.textContent = t("console.privacy.preparing");
    const res = await fetch(BASE + encodeURIComponent(subject()) + "/export", { headers: { "Accept-Language": i18n.locale } });
    if (!res.ok) return fail(res);
    const url = URL.createObjectURL(await res.blob());
    out.innerHTML = `<a data-testid="privacy-download" download="shopcall-subject-export.zip" href="${url}">${esc(t("console.privacy.download"))}</a>`;
  });
  root.querySelector("[data-act=erase]").addEventListener("click", async () => {
    if (!subject() || !form.reportValidity()) return;
    if (!confirm(t("console.privacy.confirmErase", { subject: subject() }))) return;
    const res = await fetch(BASE + encodeURIComponent(subject()), { method: "DELETE", headers });
    if (!res.ok) return fail(res);
    const report = await res.json();
    // the rows are the server's stable "table.action" names, with their counts
    const rows = Object.entries(report.removed).map(([k, v]) => `<tr><td><code>${esc(k)}</code></td><td>${esc(i18n.formatNumber(v))}</td></tr>`).join("");
    out.innerHTML = `<div data-testid="privacy-report"><small>${esc(t("console.privacy.erased", { request: report.request }))} ${esc(t("console.privacy.recordingsDeleted"))}</small>
      <table><tr><th>${esc(t("console.privacy.removedWhat"))}</th><th>${esc(t("console.privacy.removedCount"))}</th></tr>${rows}</table></div>`;
  });
}

/** Where the app's data lives, its encryption and retention (GET /v1/console/privacy/summary). */
async function showSummary(box, i18n) {
  const t = (key, values) => i18n.t(key, values);
  try {
    const res = await fetch("/v1/console/privacy/summary", { headers: { Accept: "application/json", "Accept-Language": i18n.locale } });
    if (!res.ok) return;
    const s = await res.json();
    // the server names its storage and cipher in English; the two plain words are translated here
    const place = s.recordings_stored_in === "local folder" ? t("console.privacy.localFolder") : s.recordings_stored_in;
    const cipher = s.encryption_at_rest === "off" ? t("console.privacy.encryptionOff") : s.encryption_at_rest;
    const kind = (k) => (i18n.has(`console.privacy.kind.${k}`) ? t(`console.privacy.kind.${k}`) : k.replace(/_/g, " "));
    const parts = [
      t("console.privacy.storedIn", { place }),
      t("console.privacy.encryption", { cipher }),
      s.recording_retention_days ? t("console.privacy.recordingsKept", { days: s.recording_retention_days }) : t("console.privacy.recordingsKeptForever"),
      ...Object.entries(s.retention_days || {}).filter(([, d]) => d).map(([k, d]) => t("console.privacy.keptFor", { kind: kind(k), days: d })),
    ];
    box.innerHTML = `<small>${esc(t("console.privacy.region"))} <b data-testid="privacy-region">${esc(s.region)}</b> · ${parts.map(esc).join(" · ")}</small>`;
  } catch {}
}
