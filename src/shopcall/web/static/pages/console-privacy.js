// Console admin: subject access and erasure (issue 14). One shopper, looked up by identity, customer id
// or email, is exported as a ZIP or erased everywhere; the server does the work (/v1/console/privacy).
import { esc } from "/static/components/icons.js";

const BASE = "/v1/console/privacy/subjects/";

/** Render the privacy tools into `root` (an admin-only panel). */
export function mountPrivacy(root) {
  if (!root || root.dataset.mounted) return;
  root.dataset.mounted = "1";
  root.innerHTML = `
    <div data-testid="privacy-summary" style="margin-bottom:8px"><small class="sc-muted">…</small></div>
    <form data-testid="privacy-form" class="sc-row" style="gap:8px;flex-wrap:wrap">
      <input name="subject" required maxlength="320" placeholder="Shopper identity, customer id or email"
             aria-label="Shopper identity, customer id or email" style="flex:1;min-width:220px">
      <button class="sc-btn sc-btn--sm" type="submit" data-act="export">Export (ZIP)</button>
      <button class="sc-btn sc-btn--sm sc-btn--ghost" type="button" data-act="erase">Erase…</button>
    </form>
    <div data-testid="privacy-result" role="status" style="margin-top:8px"></div>`;
  showSummary(root.querySelector("[data-testid=privacy-summary]"));
  const form = root.querySelector("form");
  const out = root.querySelector("[data-testid=privacy-result]");
  const subject = () => form.elements.subject.value.trim();
  const fail = async (res) => {
    let msg = `HTTP ${res.status}`;
    try { msg = (await res.json()).error.message; } catch {}
    out.innerHTML = `<small class="sc-muted" data-testid="privacy-error">${esc(msg)}</small>`;
  };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!subject()) return;
    out.textContent = "Preparing the export…";
    const res = await fetch(BASE + encodeURIComponent(subject()) + "/export");
    if (!res.ok) return fail(res);
    const url = URL.createObjectURL(await res.blob());
    out.innerHTML = `<a data-testid="privacy-download" download="shopcall-subject-export.zip" href="${url}">Download the export</a>`;
  });
  root.querySelector("[data-act=erase]").addEventListener("click", async () => {
    if (!subject() || !form.reportValidity()) return;
    if (!confirm(`Erase everything about “${subject()}”? Their calls are anonymised, and recordings they appear in are deleted. This cannot be undone.`)) return;
    const res = await fetch(BASE + encodeURIComponent(subject()), { method: "DELETE", headers: { Accept: "application/json" } });
    if (!res.ok) return fail(res);
    const report = await res.json();
    const rows = Object.entries(report.removed).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${v}</td></tr>`).join("");
    out.innerHTML = `<div data-testid="privacy-report"><small>Erased (request ${esc(report.request)}). Recordings: ${esc(report.recordings)}.</small><table>${rows}</table></div>`;
  });
}

/** Where the app's data lives, its encryption and retention (GET /v1/console/privacy/summary). */
async function showSummary(box) {
  try {
    const res = await fetch("/v1/console/privacy/summary", { headers: { Accept: "application/json" } });
    if (!res.ok) return;
    const s = await res.json();
    const kept = Object.entries(s.retention_days).map(([k, d]) => `${k.replace(/_/g, " ")} ${d} d`).join(", ");
    box.innerHTML = `<small>Data region: <b data-testid="privacy-region">${esc(s.region)}</b> (recordings in ${esc(s.recordings_stored_in)});
      encryption at rest: ${esc(s.encryption_at_rest)}; recordings kept ${s.recording_retention_days ? `${s.recording_retention_days} days` : "until deleted"}${kept ? `; ${esc(kept)}` : ""}.</small>`;
  } catch {}
}
