/* ShopCall widget loader, served as /widget.js — a classic script so it works from a plain
 *   <script src="https://calls.example.com/widget.js" data-app="APP_ID" async></script>
 * on any origin. It defines window.ShopCall (the only global) at once, so the shop can call it before the
 * widget has loaded (calls are queued), then imports the widget's modules from its own origin.
 * Attributes: data-app (required), data-lang, data-consent ("analytics"), data-position. */
(function () {
  "use strict";
  if (window.ShopCall && window.ShopCall.loader) return; // the tag twice
  var script = document.currentScript;
  if (!script || !script.src) return;
  var src = new URL(script.src, location.href);
  var queue = [];
  var listeners = {};
  var queued = function (name) {
    return function () {
      queue.push([name, Array.prototype.slice.call(arguments)]);
    };
  };
  var api = {
    loader: "1",
    ready: false,
    setContext: queued("setContext"),
    open: queued("open"),
    consent: queued("consent"),
    /** Events: call-started, call-ended, add-to-cart (also window CustomEvents "shopcall:<name>"). */
    on: function (name, fn) {
      (listeners[name] = listeners[name] || []).push(fn);
      return api;
    },
    off: function (name, fn) {
      listeners[name] = (listeners[name] || []).filter(function (f) { return f !== fn; });
      return api;
    },
  };
  window.ShopCall = api;
  var config = {
    app: script.getAttribute("data-app") || src.searchParams.get("app") || "",
    lang: script.getAttribute("data-lang") || null,
    consent: script.getAttribute("data-consent") || null,
    position: script.getAttribute("data-position") || null,
  };
  if (!config.app) {
    console.error("ShopCall: the widget script needs data-app=\"APP_ID\"");
    return;
  }
  import(src.origin + "/static/widget/main.js")
    .then(function (m) {
      return m.start({ api: api, queue: queue, listeners: listeners, config: config, origin: src.origin });
    })
    .catch(function (err) {
      console.error("ShopCall: the widget could not start", err);
    });
})();
