/**
 * The widget's words: the shared i18n module (`/static/i18n/i18n.js`, ICU messages) when the server has
 * it, else a small built-in reader of the same catalogs (flat JSON, `{name}` and `plural`/`select`), so
 * the widget never depends on the order in which the two land. Catalogs come from the widget's own
 * origin, not the shop's.
 * @module shopcall/widget/strings
 */

export const SUPPORTED = ["en", "zh-CN", "de", "fr", "es", "ja"];

/** First supported locale of `candidates` (exact, then by language: "de-AT" → "de", "zh" → "zh-CN"). */
export function pickLocale(candidates) {
  for (const c of candidates) {
    if (!c) continue;
    const exact = SUPPORTED.find((s) => s.toLowerCase() === String(c).toLowerCase());
    if (exact) return exact;
    const lang = String(c).split(/[-_]/)[0].toLowerCase();
    const byLang = SUPPORTED.find((s) => s.split("-")[0].toLowerCase() === lang);
    if (byLang) return byLang;
  }
  return "en";
}

/** One ICU-like message: `{x}`, `{n, plural, one {…} other {…}}` (with `#`), `{x, select, a {…} other {…}}`. */
export function formatMessage(msg, values = {}, locale = "en") {
  let i = 0;
  const parse = (depth) => {
    let out = "";
    while (i < msg.length) {
      const ch = msg[i];
      if (ch === "}" && depth > 0) return out;
      if (ch !== "{") {
        out += ch === "#" && depth > 0 && parse.hash != null ? parse.hash : ch;
        i += 1;
        continue;
      }
      i += 1;
      const close = msg.slice(i).search(/[,}]/);
      const name = msg.slice(i, i + close).trim();
      i += close;
      if (msg[i] === "}") {
        i += 1;
        out += values[name] == null ? `{${name}}` : String(values[name]);
        continue;
      }
      const rest = msg.slice(i + 1);
      const kind = rest.split(",")[0].trim();
      i += 1 + rest.indexOf(",") + 1;
      const options = {};
      while (i < msg.length && msg[i] !== "}") {
        const m = /^\s*([^\s{]+)\s*\{/.exec(msg.slice(i));
        if (!m) break;
        i += m[0].length;
        const saved = parse.hash;
        parse.hash = kind === "plural" ? new Intl.NumberFormat(locale).format(Number(values[name])) : saved;
        options[m[1]] = parse(depth + 1);
        parse.hash = saved;
        i += 1; // the option's "}"
        while (msg[i] === " ") i += 1;
      }
      i += 1; // the argument's "}"
      const v = values[name];
      let pick = options.other || "";
      if (kind === "plural") {
        const n = Number(v);
        pick = options[`=${n}`] ?? options[new Intl.PluralRules(locale).select(n)] ?? pick;
      } else if (kind === "select") {
        pick = options[String(v)] ?? pick;
      }
      out += pick;
    }
    return out;
  };
  parse.hash = null;
  return parse(0);
}

async function catalog(base, locale, ns) {
  try {
    const res = await fetch(new URL(`i18n/locales/${locale}/${ns}.json`, base), { mode: "cors" });
    return res.ok ? await res.json() : {};
  } catch {
    return {};
  }
}

/** The built-in stand-in for the shared module's I18n object (same surface the widget uses). */
async function fallbackI18n(namespaces, locale, base) {
  const [en, own] = await Promise.all([
    Promise.all(namespaces.map((n) => catalog(base, "en", n))),
    locale === "en" ? Promise.resolve([]) : Promise.all(namespaces.map((n) => catalog(base, locale, n))),
  ]);
  const messages = Object.assign({}, ...en, ...own);
  return {
    locale,
    dir: "ltr",
    t: (key, values) => (key in messages ? formatMessage(messages[key], values, locale) : key),
    formatPrice: (amount, currency) => {
      try {
        return new Intl.NumberFormat(locale, { style: "currency", currency: currency || "EUR" }).format(amount);
      } catch {
        return `${amount} ${currency || ""}`.trim();
      }
    },
    formatNumber: (n) => new Intl.NumberFormat(locale).format(n),
    formatDate: (d, opts) => new Intl.DateTimeFormat(locale, opts || { dateStyle: "medium", timeStyle: "short" }).format(new Date(d)),
    formatDuration: (s) => {
      const m = Math.floor(s / 60);
      const sec = Math.floor(s % 60);
      const unit = (v, u) => new Intl.NumberFormat(locale, { style: "unit", unit: u, unitDisplay: "short" }).format(v);
      return m ? `${unit(m, "minute")} ${unit(sec, "second")}` : unit(sec, "second");
    },
  };
}

/**
 * An I18n for `namespaces` in `locale`. `staticBase` is the widget server's `/static/` URL.
 * @returns {Promise<{locale: string, dir: string, t: (k: string, v?: object) => string,
 *   formatPrice: Function, formatNumber: Function, formatDate: Function, formatDuration: Function}>}
 */
export async function loadStrings(namespaces, locale, staticBase) {
  try {
    const mod = await import(new URL("i18n/i18n.js", staticBase).href);
    return await mod.loadI18n(namespaces, locale); // its base: where it was loaded from (this origin)
  } catch {
    return fallbackI18n(namespaces, locale, staticBase);
  }
}
