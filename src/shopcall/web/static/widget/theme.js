/**
 * The app's widget theme (from `PATCH /v1/settings` `widget`, delivered with the widget session) as CSS
 * custom properties on the widget's shadow host. Set through the CSSOM, never as a style attribute or an
 * inline stylesheet, so a shop's strict CSP (`style-src` its own origin and ShopCall's) allows it.
 * @module shopcall/widget/theme
 */

export const DEFAULT_THEME = {
  accent: "#4f5bff",
  accent_text: "#ffffff",
  background: "#ffffff",
  text: "#141821",
  radius: 16,
  font: null,
  logo_url: null,
};

/** @param {HTMLElement} host @param {Partial<typeof DEFAULT_THEME>} theme */
export function applyTheme(host, theme = {}) {
  const t = { ...DEFAULT_THEME, ...(theme || {}) };
  const set = (name, value) => (value == null ? host.style.removeProperty(name) : host.style.setProperty(name, String(value)));
  set("--sc-accent", t.accent);
  set("--sc-accent-fg", t.accent_text);
  set("--sc-surface", t.background);
  set("--sc-fg", t.text);
  set("--sc-radius", `${Number(t.radius)}px`);
  set("--scw-font", t.font || null);
}

/** The launcher's label for `locale` from the app's per-locale labels, else the catalog's. */
export function buttonLabel(labels, locale, fallback) {
  if (!labels) return fallback;
  return labels[locale] || labels[locale.split("-")[0]] || fallback;
}
