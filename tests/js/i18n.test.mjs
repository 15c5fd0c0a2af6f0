// The i18n core (static/i18n/i18n.js): locale picking, catalog fallback, ICU formatting, locale formats.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

import { pickLocale, loadI18n, I18n, SUPPORTED } from "../../src/shopcall/web/static/i18n/i18n.js";

const load = async (url) => {
  try { return JSON.parse(await readFile(fileURLToPath(url), "utf8")); } catch { return {}; }
};

test("pickLocale: exact, then by language, else English", () => {
  assert.deepEqual(SUPPORTED, ["en", "zh-CN", "de", "fr", "es", "ja"]);
  assert.equal(pickLocale(["de-AT"]), "de");
  assert.equal(pickLocale(["zh"]), "zh-CN");
  assert.equal(pickLocale(["zh-Hans"]), "zh-CN");
  assert.equal(pickLocale(["zh_CN"]), "zh-CN");
  assert.equal(pickLocale(["pt-BR", "fr-CA", "es"]), "fr"); // the shopper's order wins
  assert.equal(pickLocale(["pt", "ES"]), "es");
  assert.equal(pickLocale(["ko", ""]), "en");
  assert.equal(pickLocale([]), "en");
});

test("loadI18n: the locale's messages, English per missing key, the key when unknown", async () => {
  const i18n = await loadI18n(["common"], "de-CH", { load });
  assert.equal(i18n.locale, "de");
  assert.equal(i18n.dir, "ltr");
  assert.equal(i18n.t("common.close"), "Schließen");
  assert.equal(i18n.t("common.nope"), "common.nope");
});

test("t: ICU plurals and select; a missing key in the locale falls back to English", () => {
  const i18n = new I18n("fr", { "x.n": "{count, plural, one {# minute} other {# minutes}}" },
    { "x.n": "{count, plural, one {# minute} other {# minutes}}", "x.only": "only {who}" });
  assert.equal(i18n.t("x.n", { count: 1 }), "1 minute");
  assert.equal(i18n.t("x.n", { count: 1500 }), "1\u202f500 minutes");
  assert.equal(i18n.t("x.only", { who: "en" }), "only en");
  const broken = new I18n("de", { "x.b": "{a, plural, one {x}" }, { "x.b": "fine {a}" });
  assert.equal(broken.t("x.b", { a: 1 }), "fine 1");
});

test("prices, numbers, dates and durations follow the locale", () => {
  const zh = new I18n("zh-CN", {});
  assert.equal(zh.formatPrice(1299, "CNY"), "¥1,299.00");
  const de = new I18n("de", {});
  assert.equal(de.formatPrice(49.9, "EUR"), "49,90\u00a0€");
  assert.equal(de.formatNumber(12345.5), "12.345,5");
  assert.equal(de.formatPrice(5, "NOT-A-CODE"), "5 NOT-A-CODE");
  const en = new I18n("en", {});
  assert.equal(en.formatDuration(125), "2 min 5 sec");
  assert.equal(en.formatDuration(0), "0 sec");
  assert.equal(en.formatDuration(3600), "1 hr");
  assert.equal(en.formatClock(65), "1:05");
  assert.match(new I18n("ja", {}).formatDuration(125), /^2\s?分\s?5\s?秒$/);
  assert.equal(en.formatDate("2026-03-04T10:00:00Z", { dateStyle: "long", timeZone: "UTC" }), "March 4, 2026");
  assert.equal(en.formatDate("not a date"), "");
});

test("including: the same I18n when it has the namespaces, else one in the same locale that adds them", async () => {
  const i18n = await loadI18n(["common"], "ja", { load });
  assert.deepEqual(i18n.namespaces, ["common"]);
  assert.equal(await i18n.including(["common"]), i18n);
  const more = await i18n.including(["call", "common"]);
  assert.equal(more.locale, "ja");
  assert.deepEqual(more.namespaces, ["common", "call"]);
  assert.equal(more.t("call.hangup"), "通話を終了");
  assert.equal(more.t("common.close"), "閉じる");
});
