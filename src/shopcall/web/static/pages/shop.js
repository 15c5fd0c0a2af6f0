// Script of pages/shop.html (loaded as a module, so the page carries no inline script).
import { ShopCallClient, ShopCallError, createNoiseSuppressor, describeError, getLocalMedia } from "/static/sdk/shopcall.js";
import "/static/components/shopcall-call.js";
import "/static/components/shopcall-precall.js";
import { icons, esc, initials } from "/static/components/icons.js";
import { clock, el, money, showToast } from "/static/pages/ui.js";

const $ = (sel) => document.querySelector(sel);
const els = (name) => [...document.querySelectorAll(`[data-el="${name}"]`)];
for (const n of document.querySelectorAll("[data-icon]")) n.outerHTML = icons[n.dataset.icon] || "";

// ------------------------------------------------------------------ products
let products = [];
let product = null;

async function loadProducts() {
  try {
    const res = await fetch("/demo/api/products", { headers: { Accept: "application/json" } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    products = await res.json();
    if (!Array.isArray(products) || !products.length) throw new Error("no products");
  } catch (err) {
    el("title").textContent = "Products unavailable";
    el("desc").innerHTML = `<span class="load-error">We couldn’t load the product list (${esc(err.message)}). Please reload the page.</span>`;
    el("price").textContent = "";
    return;
  }
  const sku = new URLSearchParams(location.search).get("sku");
  showProduct(products.find((p) => p.sku === sku) || products[0], false);
  renderSwitcher();
  renderNav();
}

function showProduct(p, push = true) {
  product = p;
  document.title = `${p.title} — Nordlys Audio`;
  el("title").textContent = p.title;
  el("category").textContent = p.category || "Nordlys";
  el("crumbCat").textContent = p.category || "Shop";
  el("crumbTitle").textContent = p.title;
  el("price").textContent = money(p.price, p.currency);
  el("desc").textContent = p.description || "";
  el("mainImg").src = p.image_url;
  el("mainImg").alt = p.title;
  for (const t of els("thumb")) t.src = p.image_url;
  el("tag").textContent = products.indexOf(p) === 0 ? "Bestseller" : "New";
  const seed = [...p.sku].reduce((a, c) => a + c.charCodeAt(0), 0);
  el("rating").textContent = `${(4.5 + (seed % 5) / 10).toFixed(1)} · ${80 + (seed % 240)} reviews`;
  setView("main");
  if (typeof reportProduct === "function") reportProduct();
  if (push) {
    const url = new URL(location.href);
    url.searchParams.set("sku", p.sku);
    history.pushState({ sku: p.sku }, "", url);
    window.scrollTo({ top: 0, behavior: "smooth" });
  }
  for (const a of document.querySelectorAll(".p-card")) {
    if (a.dataset.sku === p.sku) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

function renderSwitcher() {
  el("count").textContent = `${products.length} products`;
  el("switcher").innerHTML = products
    .map(
      (p) => `<a class="p-card" href="?sku=${encodeURIComponent(p.sku)}" data-sku="${esc(p.sku)}" data-testid="product-${esc(p.sku)}"${p === product ? ' aria-current="page"' : ""}>
        <span class="img"><img src="${esc(p.image_url)}" alt="" loading="lazy"></span>
        <span class="t">${esc(p.title)}</span><span class="p">${esc(money(p.price, p.currency))}</span></a>`,
    )
    .join("");
}

function renderNav() {
  const cats = [...new Set(products.map((p) => p.category).filter(Boolean))].slice(0, 5);
  el("nav").innerHTML = cats
    .map((c) => {
      const first = products.find((p) => p.category === c);
      return `<a href="?sku=${encodeURIComponent(first.sku)}" data-sku="${esc(first.sku)}">${esc(c)}</a>`;
    })
    .join("");
}

document.addEventListener("click", (e) => {
  const a = e.target.closest("a[data-sku]");
  if (!a || e.metaKey || e.ctrlKey || e.shiftKey) return;
  const p = products.find((x) => x.sku === a.dataset.sku);
  if (!p) return;
  e.preventDefault();
  showProduct(p);
});
window.addEventListener("popstate", () => {
  const sku = new URLSearchParams(location.search).get("sku");
  const p = products.find((x) => x.sku === sku) || products[0];
  if (p) showProduct(p, false);
});

function setView(view) {
  $(".stage-img").dataset.view = view;
  for (const b of document.querySelectorAll(".thumb[data-view]")) b.setAttribute("aria-pressed", String(b.dataset.view === view));
}
for (const b of document.querySelectorAll(".thumb[data-view]")) b.addEventListener("click", () => setView(b.dataset.view));
for (const s of document.querySelectorAll(".swatch")) {
  s.addEventListener("click", () => {
    for (const o of document.querySelectorAll(".swatch")) o.setAttribute("aria-pressed", String(o === s));
    el("finish").textContent = s.getAttribute("aria-label");
  });
}

// ---------------------------------------------------------------------- cart
let qty = 1;
let cart = Number(sessionStorage.getItem("nordlys.cart") || 0);
const renderCart = () => {
  const c = $('[data-testid="cart-count"]');
  c.textContent = String(cart);
  c.classList.toggle("has-items", cart > 0);
};
renderCart();
for (const b of document.querySelectorAll("[data-qty]")) {
  b.addEventListener("click", () => {
    qty = Math.max(1, Math.min(9, qty + Number(b.dataset.qty)));
    el("qty").textContent = String(qty);
  });
}
$('[data-testid="add-to-cart"]').addEventListener("click", () => {
  if (!product) return;
  cart += qty;
  cartValue += qty * product.price;
  sessionStorage.setItem("nordlys.cart", String(cart));
  sessionStorage.setItem("nordlys.cartValue", String(cartValue));
  renderCart();
  reportCart();
  toast(`${qty} × ${product.title} added to your cart`);
});

function toast(text, ms = 3200) {
  showToast(el("toasts"), text, { ms });
}

// ---------------------------------------------------------------------- call
const widget = $('[data-testid="call-widget"]');
const dialog = $('[data-testid="name-dialog"]');
const nameInput = $('[data-testid="shopper-name"]');
const customerSelect = $('[data-testid="demo-customer"]');
const demoCustomer = () => customerSelect.value || new URLSearchParams(location.search).get("customer") || null;
fetch("/demo/api/customers").then((r) => r.json()).then((list) => {
  for (const c of list) customerSelect.add(new Option(`${c.name} (${c.id})`, c.id));
}).catch(() => {});
const savedName = localStorage.getItem("nordlys.name");
if (savedName) nameInput.value = savedName;

/** @type {null | {client: ShopCallClient|null, call: string|null, room: string|null, stream: MediaStream|null,
 *   problems: any[], view: any, name: string, agent: any, cancelled: boolean, ended: boolean, mediaPromise: Promise<any>|null, timers: any[]}} */
let session = null;

async function openNameDialog() {
  if (session && !session.ended) {
    widget.hidden = false;
    return;
  }
  await productsReady;
  if (!product || (session && !session.ended)) return;
  // ?name=… skips the question (handy for links from a logged-in shop)
  const preset = new URLSearchParams(location.search).get("name");
  if (preset && preset.trim()) {
    startCall(preset.trim().slice(0, 40));
    return;
  }
  dialog.showModal();
  nameInput.focus();
  nameInput.select();
  precall.open();
}
const precall = $('[data-testid="precall"]');
dialog.addEventListener("close", () => {
  if (!dialog.dataset.starting) precall.close();
  delete dialog.dataset.starting;
});
// ---------------------------------------------------------------------- availability, callbacks
let availability = { open: true };
let browseToken = null;
async function shopperToken() {
  const res = await fetch("/demo/api/shopper-token", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name: nameInput.value.trim() || "Guest", customer: demoCustomer() }),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return (await res.json()).token;
}
async function checkAvailability() {
  try {
    browseToken = browseToken || (await shopperToken());
    const res = await fetch("/v1/widget/availability", { headers: { Authorization: `Bearer ${browseToken}` } });
    if (!res.ok) return;
    availability = await res.json();
  } catch {
    return;
  }
  const btn = $('[data-testid="call-button"]');
  const text = el("availText");
  el("availability").dataset.state = availability.open ? (availability.agents_online ? "online" : "none") : "closed";
  if (!availability.open) {
    const when = availability.next_open ? new Date(availability.next_open).toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit" }) : null;
    text.textContent = when ? `Closed now · we open ${when}` : "Closed now";
    btn.innerHTML = `${icons.phone}Request a callback`;
    btn.dataset.mode = "callback";
  } else {
    const wait = availability.estimated_wait_s;
    text.textContent = availability.agents_online
      ? `${availability.agents_online} expert${availability.agents_online > 1 ? "s" : ""} online${wait != null ? (wait < 60 ? " · usually answer in under a minute" : ` · about ${Math.round(wait / 60)} min wait`) : ""}`
      : "Experts are busy — call and you’ll be next in line";
    btn.innerHTML = `${icons.video}Video call an expert`;
    btn.dataset.mode = "call";
  }
}
checkAvailability();
setInterval(checkAvailability, 15000);

// ---------------------------------------------------------------------- live visitor presence
// The widget tells the shop's experts what this (anonymous) shopper is looking at, so one of
// them can offer help; nothing is stored unless a call happens.
let presence = null;
const firstSeen = Number(sessionStorage.getItem("nordlys.since")) || Date.now() / 1000;
sessionStorage.setItem("nordlys.since", String(firstSeen));
const returning = !!localStorage.getItem("nordlys.visited") && !sessionStorage.getItem("nordlys.new");
if (!localStorage.getItem("nordlys.visited")) {
  localStorage.setItem("nordlys.visited", String(Date.now()));
  sessionStorage.setItem("nordlys.new", "1");
}
let cartValue = Number(sessionStorage.getItem("nordlys.cartValue") || 0);
function report(event, extra = {}) {
  if (!presence || presence.state !== "connected") return;
  presence.reportVisit({ event, page: location.pathname + location.search, returning, first_seen: firstSeen, ...extra });
}
function reportProduct() {
  if (product) report("product_view", { product: product.sku, title: product.title });
}
function reportCart() {
  report("cart", { cart: { items: cart, value: Math.round(cartValue * 100) / 100, currency: "EUR" } });
}
async function ensurePresence() {
  if (presence && presence.state !== "closed") return;
  await resuming; // this page may be taking up a call from the last one
  if (session && !session.ended) return; // the call's own socket is in use
  try {
    browseToken = browseToken || (await shopperToken());
    const c = new ShopCallClient();
    presence = c;
    c.on("agent-invite", (inv) => showInvite(c, inv));
    await c.connect(browseToken);
    report("page_view");
    reportProduct();
    if (cart) reportCart();
  } catch (err) {
    console.warn("visitor presence unavailable", err);
  }
}
setTimeout(() => productsReady.then(ensurePresence)); // after the module has defined productsReady
setInterval(() => { ensurePresence(); report("heartbeat"); }, 20000);

let openInvite = null;
function showInvite(c, inv) {
  if (session && !session.ended) {
    c.answerInvite(inv.invite, false).catch(() => {});
    return;
  }
  openInvite = { client: c, ...inv };
  el("ipName").textContent = inv.agent.name;
  el("ipAvatar").textContent = initials(inv.agent.name);
  el("ipMessage").textContent = inv.message;
  el("invitePrompt").hidden = false;
  clearTimeout(showInvite.timer);
  showInvite.timer = setTimeout(() => { el("invitePrompt").hidden = true; openInvite = null; }, (inv.expires_in_s || 120) * 1000);
}
el("ipDecline").addEventListener("click", () => {
  el("invitePrompt").hidden = true;
  if (openInvite) openInvite.client.answerInvite(openInvite.invite, false).catch(() => {});
  openInvite = null;
});
el("ipAccept").addEventListener("click", async () => {
  const inv = openInvite;
  el("invitePrompt").hidden = true;
  openInvite = null;
  if (!inv) return;
  try {
    const res = await inv.client.answerInvite(inv.invite, true);
    presence = null; // this socket now carries the call
    startInvitedCall(inv.client, res);
  } catch (err) {
    toast(describeError(err), 5000);
  }
});

const cbDialog = $('[data-testid="callback-dialog"]');
function openCallback(intro) {
  if (intro) el("cbIntro").textContent = intro;
  el("cbError").hidden = true;
  $('[data-testid="callback-name"]').value = nameInput.value.trim() === "Guest" ? "" : nameInput.value.trim();
  cbDialog.showModal();
}
el("cbCancel").addEventListener("click", () => cbDialog.close());
el("cbForm").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  try {
    browseToken = browseToken || (await shopperToken());
    const res = await fetch("/v1/widget/callbacks", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${browseToken}` },
      body: JSON.stringify({ name: f.get("name"), contact: f.get("contact"), note: f.get("note") || "",
                             context: { product: product ? product.sku : null, page: location.pathname } }),
    });
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      throw new Error((body.error && body.error.message) || `HTTP ${res.status}`);
    }
    cbDialog.close();
    toast("Thanks — we’ll call you back as soon as we can.", 5000);
  } catch (err) {
    el("cbError").textContent = `Could not send your request: ${err.message}`;
    el("cbError").hidden = false;
  }
});
function offerCallback() {
  setTimeout(() => openCallback("None of our experts could take your call. Leave your number and we’ll call you back."), 600);
}

$('[data-testid="call-button"]').addEventListener("click", () => {
  if ($('[data-testid="call-button"]').dataset.mode === "callback") openCallback();
  else openNameDialog();
});
$('.video-thumb').addEventListener("click", openNameDialog);
el("nameCancel").addEventListener("click", () => dialog.close());
el("nameForm").addEventListener("submit", (e) => {
  e.preventDefault();
  const name = nameInput.value.trim() || "Guest";
  localStorage.setItem("nordlys.name", name);
  const media = precall.stream ? precall.take() : null;
  dialog.dataset.starting = "1";
  dialog.close();
  startCall(name, media);
});

function setStatus(text) {
  el("status").textContent = text;
}

function showPane(name) {
  widget.dataset.state = name;
  for (const p of document.querySelectorAll("[data-pane]")) p.hidden = p.dataset.pane !== (name === "failed" ? "ended" : name);
  el("expand").hidden = name !== "live";
  el("closeWidget").hidden = !(name === "ended" || name === "failed");
  if (name !== "live") widget.classList.remove("is-expanded");
}

/** An expert's invitation was accepted: straight into the call with them, no queue. */
async function startInvitedCall(client, res) {
  session = { client, call: res.call, room: res.room, stream: null, problems: [], view: null,
              name: (client.welcome && client.welcome.name) || "Guest", agent: res.agent,
              cancelled: false, ended: false, mediaPromise: null, timers: [] };
  const s = session;
  widget.hidden = false;
  wireClient(s, client);
  remember(s);
  s.mediaPromise = getLocalMedia({ noiseSuppression: true }).then((got) => {
    s.stream = got.stream;
    s.problems = got.problems;
    return got;
  }, (err) => ({ stream: null, problems: [err] }));
  await goLive(s);
}

async function startCall(name, media = null) {
  const sku = product.sku;
  if (presence) {
    presence.close(); // the call's own socket takes over; experts see a caller, not a browser
    presence = null;
  }
  session = { client: null, call: null, room: null, stream: null, problems: [], view: null, name, agent: null,
              cancelled: false, ended: false, mediaPromise: null, timers: [] };
  const s = session;
  widget.hidden = false;
  showPane("ringing");
  el("cwTitle").textContent = "Nordlys expert";
  el("cwAvatar").textContent = "N";
  setStatus("Connecting you to an expert…");
  el("ringTitle").textContent = "Connecting you to an expert…";
  el("ringSub").textContent = "An expert will pick up in a moment. Keep this window open.";
  el("aboutTitle").textContent = product.title;
  el("aboutImg").src = product.image_url;
  el("previewNote").textContent = "Starting your camera…";
  el("previewVideo").hidden = true;
  const cancelBtn = $('[data-testid="cancel-call"]');
  cancelBtn.disabled = false;

  // camera preview while it rings (the permission prompt comes now, not when the expert is waiting)
  s.mediaPromise = (media ? Promise.resolve(media) : getLocalMedia({ noiseSuppression: true })).then(
    (got) => {
      if (s.ended) {
        for (const t of got.stream.getTracks()) t.stop();
        return got;
      }
      s.stream = got.stream;
      s.problems = got.problems;
      if (got.stream.getVideoTracks().length) {
        el("previewVideo").srcObject = got.stream;
        el("previewVideo").hidden = false;
      } else {
        el("previewNote").textContent = got.problems.length ? describeError(got.problems[0]) : "Voice only";
      }
      return got;
    },
    (err) => {
      s.problems = [err];
      el("previewNote").textContent = describeError(err);
      return { stream: null, problems: [err] };
    },
  );

  s.timers.push(setTimeout(() => {
    if (session === s && widget.dataset.state === "ringing") {
      el("ringSub").textContent = "All our experts are busy right now — hang on, you’re next in line.";
    }
  }, 30000));

  try {
    const res = await fetch("/demo/api/shopper-token", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ name, sku, customer: demoCustomer() }),
    });
    if (!res.ok) throw new ShopCallError("connect_failed", `The shop could not start a call (HTTP ${res.status}).`);
    const { token } = await res.json();
    if (s.cancelled) return;

    const client = new ShopCallClient();
    s.client = client;
    wireClient(s, client);
    await client.connect(token);
    if (s.cancelled) return client.close();

    const language = (navigator.language || "en").split("-")[0];
    const { call, room, answered, position, estimatedWaitS } = await client.startCall({ product: sku, page: location.href, language,
      cart: { items: cart, value: Math.round(cartValue * 100) / 100, currency: "EUR" } });
    showQueue(position, estimatedWaitS);
    s.call = call;
    s.room = room;
    remember(s);
    if (s.cancelled) {
      await client.cancelCall(call).catch(() => {});
      return client.close();
    }
    const { agent } = await answered;
    if (s.cancelled || s.ended) return;
    s.agent = agent;
    remember(s);
    await goLive(s);
  } catch (err) {
    if (s.cancelled || s.ended || session !== s) return;
    console.warn("call failed", err);
    finish(s, "failed", describeError(err));
    if (err && err.code === "closed") {
      checkAvailability();
      offerCallback();
    }
  }
}

/** "You're next" / "You're number 3 in line · about 4 min". */
function showQueue(position, waitS) {
  const box = el("queuePos");
  if (!position) {
    box.hidden = true;
    return;
  }
  const wait = waitS == null ? "" : waitS < 60 ? " · less than a minute" : ` · about ${Math.round(waitS / 60)} min`;
  box.textContent = position === 1 ? `You’re next in line${wait}` : `You’re number ${position} in line${wait}`;
  box.hidden = false;
}

function wireClient(s, client) {
  client.addEventListener("agent-changed", (e) => {
    const { agent, from } = e.detail;
    s.handover = { agent, at: Date.now() };
    s.agent = agent;
    el("cwTitle").textContent = agent.name;
    el("cwAvatar").textContent = initials(agent.name);
    setStatus(`Connecting you to ${agent.name}…`);
    if (s.view) s.view.showInfo(`${from} is handing you over to ${agent.name}`, 4000);
  });
  client.addEventListener("participant-joined", (e) => {
    const p = e.detail.participant;
    if (s.handover && p && p.identity === s.handover.agent.identity) {
      s.handover = null;
      setStatus(`Connected with ${p.name}`);
    }
  });
  client.addEventListener("queue-update", (e) => {
    if (e.detail.call === s.call && widget.dataset.state === "ringing") showQueue(e.detail.position, e.detail.estimatedWaitS);
  });
  client.addEventListener("call-unanswered", (e) => {
    if (e.detail.call === s.call && !s.ended) {
      finish(s, "failed", "None of our experts could take your call right now. Leave your number and we’ll call you back.", "No one available");
      offerCallback();
    }
  });
  client.addEventListener("room-ended", () => finish(s, "ended", `${s.agent ? s.agent.name : "The expert"} ended the call.`));
  client.addEventListener("participant-left", (e) => {
    const p = e.detail.participant;
    if (widget.dataset.state !== "live" || !p || p.role === "shopper") return;
    if (e.detail.reason !== "left" && e.detail.reason !== "removed") return;
    if (s.handover && Date.now() - s.handover.at < 30000) return; // the next expert is on the way
    // another expert still here (a transfer or a colleague who joined): the call goes on
    const staff = [...client.participants.values()].find((x) => x.role === "agent" || x.role === "admin");
    if (staff) {
      s.agent = { identity: staff.identity, name: staff.name };
      el("cwTitle").textContent = staff.name;
      el("cwAvatar").textContent = initials(staff.name);
      setStatus(`Connected with ${staff.name}`);
      if (s.view) s.view.showInfo(`${p.name || "Your expert"} handed you over to ${staff.name}`, 4000);
      return;
    }
    finish(s, "ended", `${p.name || "The expert"} left the call.`);
  });
  client.addEventListener("error", (e) => {
    if (e.detail.action === "rejoin" && !s.ended) {
      finish(s, "failed", "The connection dropped and the call could not be resumed. Please call again.", "Call interrupted");
    }
  });
  client.addEventListener("call-cancelled", (e) => {
    if (e.detail.call === s.call && widget.dataset.state === "ringing") finish(s, "failed", "The call could not be connected. Please try again.");
  });
  client.addEventListener("connection-state", (e) => {
    const st = e.detail.state;
    widget.dataset.conn = st;
    if (widget.dataset.state === "ringing") {
      if (st === "reconnecting") setStatus("Connection lost — reconnecting…");
      if (st === "connected" && s.call) setStatus("Connecting you to an expert…");
      if (st === "closed" && !s.cancelled && !s.ended) finish(s, "failed", "Connection lost. Please try again.");
    } else if (widget.dataset.state === "live") {
      if (st === "reconnecting") setStatus("Connection lost — reconnecting…");
      if (st === "connected") setStatus(`Connected with ${s.agent ? s.agent.name : "an expert"}`);
      if (st === "closed" && !s.ended) finish(s, "failed", "The connection was lost.");
    }
  });
}

// ---------------------------------------------------------------------- a call across pages
// The SDK keeps the server's resume token in this tab's sessionStorage; the page keeps what it shows
// (the expert's name, the call). Leaving the page (a link, a reload) just unloads it: the socket
// closes with 1001 and the server keeps our place for its grace period; the next page of the shop
// resumes the same call. Hanging up or cancelling tells the server first, so they end at once.
const CALL_KEY = "nordlys.call";
function remember(s) {
  sessionStorage.setItem(CALL_KEY, JSON.stringify({ call: s.call, room: s.room, name: s.name, agent: s.agent }));
}
function forget() {
  sessionStorage.removeItem(CALL_KEY);
}

async function resumeCall() {
  let saved = null;
  try {
    saved = JSON.parse(sessionStorage.getItem(CALL_KEY) || "null");
  } catch {
    saved = null;
  }
  if (!saved) return false;
  // the camera starts while we say hello (the permission was given on the last page); noise suppression
  // (RNNoise) comes once we are back, so its loading does not hold up the call
  const media = getLocalMedia();
  media.catch(() => {});
  const client = new ShopCallClient();
  const s = { client, call: saved.call, room: saved.room, stream: null, problems: [], view: null, name: saved.name || "Guest",
              agent: saved.agent, cancelled: false, ended: false, mediaPromise: null, timers: [], resumed: true };
  session = s;
  widget.hidden = false;
  wireClient(s, client);
  client.on("queue-update", (q) => { s.lastQueue = q; });
  let back = null;
  try {
    back = await client.resume();
  } catch (err) {
    console.warn("could not resume the call", err);
  }
  if (!back || (s.call && back.call && back.call !== s.call)) {
    session = null;
    widget.hidden = true;
    forget();
    client.close();
    media.then((got) => { for (const t of got.stream.getTracks()) t.stop(); }, () => {});
    return false;
  }
  s.call = back.call || s.call;
  s.room = back.room || s.room;
  s.mediaPromise = media.then((got) => {
    s.stream = got.stream;
    s.problems = got.problems;
    return got;
  }, (err) => ({ stream: null, problems: [err] }));
  if (back.pid || s.agent) {
    s.agent = s.agent || { identity: "", name: "your expert" };
    // back in our place (and the expert's video on its way) while the camera starts
    if (back.room) await client.join(back.room).catch((err) => console.warn("rejoin failed", err));
    await goLive(s);
    suppressNoiseLater(s);
    return true;
  }
  // still waiting for an expert: the same place in the queue
  showPane("ringing");
  el("ringTitle").textContent = "Connecting you to an expert…";
  el("ringSub").textContent = "You’re still in line — an expert will pick up in a moment.";
  setStatus("Connecting you to an expert…");
  if (s.lastQueue) showQueue(s.lastQueue.position, s.lastQueue.estimatedWaitS);
  try {
    const { agent } = await back.answered;
    if (s.cancelled || s.ended) return true;
    s.agent = agent;
    remember(s);
    await goLive(s);
  } catch (err) {
    if (!s.cancelled && !s.ended && session === s) finish(s, "failed", describeError(err));
  }
  return true;
}

/** Put RNNoise on the microphone of a call that is already sending (replaces the sent audio track). */
async function suppressNoiseLater(s) {
  const mic = s.stream && s.stream.getAudioTracks()[0];
  const pc = s.client && s.client.publisherPc;
  const sender = pc && pc.getSenders().find((x) => x.track && x.track.kind === "audio");
  if (!mic || !sender || s.ended) return;
  try {
    const ns = await createNoiseSuppressor(mic, { enabled: true });
    if (s.ended || sender.track !== mic) return;
    await sender.replaceTrack(ns.track);
    s.stream.noiseSuppressor = ns;
  } catch (err) {
    console.warn("noise suppression unavailable", err);
  }
}

async function goLive(s) {
  const { agent, client } = s;
  setStatus(`Connected with ${agent.name}`);
  el("cwTitle").textContent = agent.name;
  el("cwAvatar").textContent = initials(agent.name);
  const got = await s.mediaPromise;
  if (s.ended) return;
  el("previewVideo").srcObject = null;
  showPane("live");
  const view = document.createElement("shopcall-call");
  view.setAttribute("remote-name", agent.name);
  view.setAttribute("local-name", s.name);
  s.view = view;
  el("live").replaceChildren(view);
  view.addEventListener("hangup", () => hangUp(s));
  // the merchant's cart hook: a product card's "Add to cart" puts the item in this shop's cart
  view.addEventListener("add-to-cart", (e) => {
    const card = e.detail.card;
    cart += 1;
    cartValue += card.price || 0;
    sessionStorage.setItem("nordlys.cartValue", String(cartValue));
    sessionStorage.setItem("nordlys.cart", String(cart));
    renderCart();
    toast(`${card.title} added to your cart`);
  });
  view.addEventListener("annotation", (e) => {
    if (e.detail.op === "stroke" && !e.detail.partial && e.detail.target === client.pid) {
      view.showInfo(`${agent.name} is drawing on your video`, 2500);
    }
  });
  client.on("product-card", () => { if (!view.chatOpen) view.setChatOpen(true); });
  // a shared screen is shown large: the call grows to fill the page
  client.on("track", ({ source }) => { if (source === "screen") setExpanded(true); });
  try {
    await view.start({ client, room: s.room, stream: got.stream, problems: got.problems, localName: s.name, remoteName: agent.name });
  } catch (err) {
    if (!s.ended) finish(s, "failed", `Could not join the call — ${describeError(err)}`);
  }
}

async function hangUp(s) {
  if (s.ended) return;
  const dur = s.view ? s.view.elapsedSeconds : 0;
  const client = s.client;
  s.closing = true;
  finish(s, "ended", dur ? `You talked for ${clock(dur)}. Thanks for calling Nordlys.` : "Thanks for calling Nordlys.");
  if (client) {
    try {
      await client.leave();
    } catch {}
    client.close();
  }
}

async function cancelCall() {
  const s = session;
  if (!s || s.ended) return;
  s.cancelled = true;
  $('[data-testid="cancel-call"]').disabled = true;
  const client = s.client;
  finish(s, "ended", "You cancelled the call. Our experts are here whenever you’re ready.", "Call cancelled");
  if (client) {
    if (s.call) await client.cancelCall(s.call).catch(() => {});
    client.close();
  }
}
$('[data-testid="cancel-call"]').addEventListener("click", cancelCall);

function finish(s, kind, text, statusText) {
  if (s.ended) return;
  const dur = s.view ? s.view.elapsedSeconds : 0;
  s.ended = true;
  forget();
  for (const t of s.timers) clearTimeout(t);
  if (s.view) s.view.stop();
  if (s.stream) for (const t of s.stream.getTracks()) t.stop();
  el("previewVideo").srcObject = null;
  if (s.client && !s.cancelled && !s.closing) {
    const c = s.client;
    setTimeout(() => c.close(), 0);
  }
  el("live").replaceChildren();
  showPane(kind);
  el("endText").textContent = text;
  el("endIcon").innerHTML = kind === "failed" ? icons.alert : icons.check;
  el("endIcon").parentElement.classList.toggle("is-error", kind === "failed");
  el("cwAvatar").textContent = "N";
  el("cwTitle").textContent = kind === "failed" ? (s.agent ? "Call interrupted" : "Call not connected") : "Nordlys expert";
  setStatus(statusText || (kind === "failed" ? "Call failed" : dur ? `Call ended · ${clock(dur)}` : "Call ended"));
}


function setExpanded(big) {
  widget.classList.toggle("is-expanded", big);
  el("expand").innerHTML = big ? icons.collapse : icons.expand;
  el("expand").setAttribute("aria-label", big ? "Make video smaller" : "Enlarge video");
}
el("expand").addEventListener("click", () => setExpanded(!widget.classList.contains("is-expanded")));
const closeWidget = () => {
  widget.hidden = true;
  widget.dataset.state = "idle";
};
el("closeWidget").addEventListener("click", closeWidget);
el("done").addEventListener("click", closeWidget);
el("again").addEventListener("click", () => {
  closeWidget();
  openNameDialog();
});
// No hang-up when the page goes: another page of the shop takes the call up (resumeCall above).

const resuming = resumeCall(); // first: its socket opens before the page's other requests
const productsReady = loadProducts();
// debugging / test handle
window.shopcall = {
  get client() {
    return session ? session.client : null;
  },
  get session() {
    return session;
  },
};
