/**
 * The widget's entry module, imported by `/widget.js` from the ShopCall origin: picks the language, gets
 * the shopper's session (and with it the app's theme), builds the view, the call flow and visitor
 * presence, and turns the loader's `window.ShopCall` stub into the working API. Nothing else is global.
 * @module shopcall/widget/main
 */

import { WidgetApi, WidgetApiError } from "./api.js";
import { defineButton } from "./button.js";
import { CallFlow } from "./flow.js";
import { Presence } from "./presence.js";
import { loadStrings, pickLocale } from "./strings.js";
import { applyTheme, buttonLabel } from "./theme.js";
import { WidgetView } from "./views.js";

const AVAILABILITY_EVERY_MS = 15000;

/**
 * @param {{api: any, queue: any[], listeners: Record<string, Function[]>, config: {app: string, lang?: string,
 *   consent?: string, position?: string}, origin: string}} boot what the loader collected
 */
export async function start(boot) {
  const { config, origin } = boot;
  const staticBase = new URL("/static/", origin).href;
  const locale = pickLocale([config.lang, document.documentElement.lang, ...(navigator.languages || [navigator.language])]);
  const api = new WidgetApi({ origin, app: config.app });
  let context = {};
  let refusedBy = null;

  const [i18n] = await Promise.all([
    loadStrings(["widget", "call", "precall", "chat", "errors", "common"], locale, staticBase),
    api.openSession().catch((err) => {
      if (err instanceof WidgetApiError && (err.status === 0 || err.code === "origin_not_allowed" || err.status === 403)) refusedBy = err;
      else console.warn("ShopCall: no widget session", err);
    }),
  ]);
  const settings = (api.session && api.session.widget) || {};
  const position = config.position || settings.position || "bottom-right";
  const label = buttonLabel(settings.button_label, i18n.locale, i18n.t("widget.launcher.call"));

  const emit = (name, detail) => {
    const handlers = boot.listeners[name] || [];
    for (const fn of handlers) {
      try {
        fn(detail);
      } catch (err) {
        console.error(`ShopCall: a ${name} handler failed`, err);
      }
    }
    window.dispatchEvent(new CustomEvent(`shopcall:${name}`, { detail }));
    return handlers.length;
  };

  const view = new WidgetView({ staticBase, i18n, theme: settings.theme, position, label });
  applyTheme(view.host, settings.theme);
  let flow = null;
  const presence = new Presence({ api, context: () => context, busy: () => !!(flow && flow.busy),
                                  onInvite: (c, inv) => flow.showInvite(c, inv) });
  flow = new CallFlow({ view, api, i18n, presence, context: () => context, emit,
                        sameOrigin: new URL(origin).origin === location.origin });
  defineButton({ view, staticBase, open: (o) => flow.open(o) });

  if (refusedBy) {
    // a page on an origin the app does not allow: say so where the shopper looks, and stop there
    view.setAvailability({ refused: true });
    view.showLauncher(true);
    console.warn(`ShopCall: this page's origin (${location.origin}) may not use app ${config.app}:`, refusedBy.message);
  } else {
    view.showLauncher(true);
    const refresh = async () => {
      try {
        view.setAvailability(await api.availability());
      } catch (err) {
        console.warn("ShopCall: availability unavailable", err);
      }
    };
    refresh();
    setInterval(refresh, AVAILABILITY_EVERY_MS);
  }

  const sc = boot.api;
  Object.assign(sc, {
    /** What the shopper looks at: `{product: {sku, title, price, currency, image_url}, cart: {items, value, currency},
     *  customerToken, name}`; merged into what was set before. */
    setContext(ctx = {}) {
      const before = context.customerToken;
      context = { ...context, ...ctx };
      api.customerToken = context.customerToken || null;
      if (context.customerToken !== before && !flow.busy) {
        presence.stop(); // the next socket speaks as the signed-in customer
        if (presence.consented) presence.setConsent(true);
      } else {
        presence.reportContext();
      }
    },
    open: (opts) => flow.open(opts || {}),
    /** `{analytics: true}` starts visitor reporting; false stops it. */
    consent(c = {}) {
      presence.setConsent(!!c.analytics);
    },
  });
  // getters are defined, not assigned (Object.assign would copy their value once)
  Object.defineProperties(sc, {
    /** The widget's language. */
    locale: { get: () => i18n.locale, configurable: true },
    /** The running call's SDK client (diagnostics), or null. */
    client: { get: () => (flow.session && !flow.session.ended ? flow.session.client : null), configurable: true },
    /** The panel's state: idle, precall, callback, ringing, live, ended, failed, refused,
     * blocked (the call's socket could not be opened from this page). */
    state: { get: () => view.state, configurable: true },
    /** The current call's id (also in the call-started event), or null. */
    callId: { get: () => (flow.session && !flow.session.ended ? flow.session.call : null), configurable: true },
  });
  sc.ready = true;
  if (!refusedBy) {
    const resumed = flow.resume().catch(() => false);
    for (const [method, args] of boot.queue.splice(0)) sc[method](...args);
    if (config.consent && /analytics|all|true|yes/.test(config.consent)) presence.setConsent(true);
    await resumed;
  } else {
    for (const [method, args] of boot.queue.splice(0)) if (method !== "consent") sc[method](...args);
  }
  window.dispatchEvent(new CustomEvent("shopcall:ready"));
  return sc;
}
