// Script of pages/console.html (loaded as a module, so the page carries no inline script).
import { ShopCallClient, describeError as describeErrorIn } from "/static/sdk/shopcall.js";
import "/static/components/shopcall-call.js";
import { icons, esc, initials } from "/static/components/icons.js";
import { browserLocales, loadI18n, pickLocale, translateDom } from "/static/i18n/i18n.js";
import { clock, el, showToast } from "/static/pages/ui.js";

// The console speaks the agent's language: their saved setting once signed in (PATCH /v1/console/me), before
// that the last one used on this browser, else the browser's.
const NAMESPACES = ["common", "console", "call", "chat", "errors"];
const LOCALE_KEY = "shopcall.console.locale";
let i18n = await loadI18n(NAMESPACES, pickLocale([localStorage.getItem(LOCALE_KEY) || "", ...browserLocales()]));
const t = (key, values) => i18n.t(key, values);
const describeError = (err) => describeErrorIn(err, i18n);
const money = (amount, currency) => i18n.formatPrice(amount, currency || "EUR");
const shortTime = (iso) => i18n.formatDate(iso, { timeStyle: "short" });
const longTime = (iso) => i18n.formatDate(iso, { timeStyle: "medium" });
const day = (iso) => i18n.formatDate(iso, { dateStyle: "medium" });
/** A shopper's language tag ("de-AT") as its name in the agent's language ("German (Austria)"). */
function languageName(tag) {
  try {
    return new Intl.DisplayNames([i18n.locale], { type: "language" }).of(tag) || tag;
  } catch {
    return tag;
  }
}
translateDom(document, i18n);
import { mountPrivacy } from "/static/pages/console-privacy.js";
import { mountWidget } from "/static/pages/console-widget.js";

for (const n of document.querySelectorAll("[data-icon]")) {
  const wrapper = n.classList.contains("mark");
  if (wrapper) n.innerHTML = icons[n.dataset.icon] || "";
  else n.outerHTML = icons[n.dataset.icon] || "";
}

const baseTitle = () => t("console.pageTitle");
let agent = null; // {identity, name}
let client = null;
let products = new Map();
let demoAccounts = new Map();
const ringing = new Map(); // call id -> incoming call info
let current = null; // {call, room, shopper, context, view, startedAt, ending}
let loggedOut = true;
let reconnectDelay = 1000;
const stats = { calls: 0, seconds: 0 };

// ------------------------------------------------------------------ helpers
async function api(path, body, method = "POST") {
  const headers = { Accept: "application/json", "Accept-Language": i18n.locale };
  const res = await fetch(path, body === undefined
    ? { headers }
    : { method, headers: { ...headers, "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (!res.ok) {
    let msg = t("console.httpError", { status: res.status });
    let code = "http_" + res.status;
    try {
      const body = await res.json();
      if (body && body.error) ({ message: msg, code } = body.error);
    } catch {}
    const err = new Error(msg);
    err.code = code;
    err.status = res.status;
    throw err;
  }
  return res.json();
}

function note(text, icon = icons.check, ms = 3500) {
  showToast(el("toasts"), text, { icon, ms, testid: "console-note" });
}


let statusShown = ["connecting", "console.status.connecting"];
function setStatus(state, key) {
  statusShown = [state, key];
  const chip = document.querySelector('[data-testid="agent-status"]');
  chip.dataset.state = state;
  el("statusText").textContent = t(key);
}

// ------------------------------------------------------------------ language
/** Switch the console to `locale`: static markup, the open call view, and every list on its next render. */
async function applyLanguage(locale) {
  i18n = await loadI18n(NAMESPACES, locale);
  localStorage.setItem(LOCALE_KEY, i18n.locale);
  translateDom(document, i18n);
  el("language").value = i18n.locale;
  setStatus(...statusShown);
  if (current && current.view) {
    current.view.i18n = i18n;
    current.view.setAttribute("hangup-label", t("console.endCall"));
  }
  renderQueue();
  renderTeam();
  if (current) renderCatalog(current.view);
  if (agent) loadLists();
}

el("language").value = i18n.locale;
el("language").addEventListener("change", async (e) => {
  const locale = e.target.value;
  await applyLanguage(locale);
  if (!agent) return;
  try {
    const res = await api("/v1/console/me", { locale }, "PATCH"); // the agent's setting, for every browser
    agent = { ...agent, ...res.agent };
  } catch (err) {
    note(describeError(err), icons.alert, 5000);
  }
});

// ------------------------------------------------------------------ login
async function loadAgents() {
  const box = el("agents");
  try {
    const agents = await api("/demo/api/agents");
    if (!agents.length) {
      box.innerHTML = `<p class="sc-muted">${esc(t("console.login.noDemo"))}</p>`;
      return;
    }
    box.innerHTML = agents
      .map((a) => `<button type="button" class="agent-btn" data-testid="login-${esc(a.identity)}" data-identity="${esc(a.identity)}">
          <span class="sc-avatar">${esc(initials(a.name))}</span>
          <span class="meta"><strong>${esc(a.name)}</strong><span class="id">@${esc(a.identity)}</span></span>
          <span class="go" aria-hidden="true">→</span></button>`)
      .join("");
    demoAccounts = new Map(agents.map((a) => [a.identity, a]));
    for (const b of box.querySelectorAll(".agent-btn")) b.addEventListener("click", () => login(b.dataset.identity, b));
  } catch (err) {
    box.innerHTML = `<div class="login-error">${esc(t("console.login.loadFailed", { reason: describeError(err) }))} <button class="sc-btn sc-btn--sm" type="button">${esc(t("common.retry"))}</button></div>`;
    box.querySelector("button").addEventListener("click", loadAgents);
  }
}

/** Demo account button: sign in with the demo credentials through the real login. */
async function login(identity, button) {
  const a = demoAccounts.get(identity);
  if (button) button.querySelector(".go").outerHTML = `<span class="sc-spinner" style="color:var(--sc-muted)" role="status" aria-label="${esc(t("common.loading"))}"></span>`;
  return signIn(() => api("/v1/console/login", { app_id: a.app_id, login: a.identity, password: a.password }));
}

async function signIn(getSession) {
  for (const b of document.querySelectorAll(".agent-btn, .login-form button")) b.disabled = true;
  try {
    const res = await getSession();
    agent = res.agent;
    loggedOut = false;
    if (agent.locale && agent.locale !== i18n.locale) await applyLanguage(agent.locale);
    el("language").value = i18n.locale;
    el("loginView").hidden = true;
    el("topbar").hidden = false;
    el("consoleView").hidden = false;
    el("meName").textContent = agent.name;
    el("meAvatar").textContent = initials(agent.name);
    document.title = `${agent.name} · ${baseTitle()}`;
    renderQueue();
    api("/v1/console/products").then((list) => {
      products = new Map(list.map((p) => [p.sku, p]));
      renderQueue();
    }).catch(() => {});
    await goOnline(res.token);
  } catch (err) {
    for (const b of document.querySelectorAll(".agent-btn, .login-form button")) b.disabled = false;
    loadAgents();
    const box = el("loginError");
    box.hidden = false;
    box.textContent = err.code === "login_failed" ? t("errors.login_failed") : t("console.login.failed", { reason: describeError(err) });
    el("loginView").hidden = false;
    el("topbar").hidden = true;
    el("consoleView").hidden = true;
  }
}

/** Fresh signalling token from the console session (the session cookie is the credential). */
async function freshToken() {
  const res = await api("/v1/console/me");
  return res.token;
}

// ------------------------------------------------------------------ signalling
async function goOnline(token) {
  if (loggedOut) return;
  setStatus("connecting", "console.status.connecting");
  const c = new ShopCallClient({ tokenProvider: freshToken });
  client = c;
  c.addEventListener("incoming-call", (e) => addCall(e.detail));
  c.addEventListener("call-cancelled", (e) => {
    const info = ringing.get(e.detail.call);
    if (!removeCall(e.detail.call) || !info) return;
    const who = info.shopper.name;
    const key = { timeout: "console.cancel.timeout", agent_unavailable: "console.cancel.elsewhere",
                  declined: "console.cancel.declined" }[e.detail.reason] || "console.cancel.hungUp";
    note(t(key, { name: who }), icons.phone);
  });
  const joinOffered = (info, how) => {
    const values = { from: info.from, name: info.shopper.name, how };
    if (current) {
      note(t("console.offer.busy", values), icons.alert, 5000);
      return;
    }
    note(t("console.offer.joined", values), icons.user);
    startCallView({ ...info, invited: how === "invite" });
  };
  c.addEventListener("call-transferred", (e) => joinOffered(e.detail, "transfer"));
  c.addEventListener("invite-accepted", (e) => {
    note(t("console.invite.accepted", { name: e.detail.shopper.name }), icons.video);
    if (!current) startCallView(e.detail);
  });
  c.addEventListener("invite-declined", () => note(t("console.invite.declined"), icons.user, 3000));
  c.addEventListener("call-invitation", (e) => joinOffered(e.detail, "invite"));
  c.addEventListener("call-taken", (e) => {
    const info = ringing.get(e.detail.call);
    if (removeCall(e.detail.call) && info) note(t("console.call.taken", { name: info.shopper.name }), icons.user);
  });
  c.addEventListener("connection-state", (e) => {
    if (client !== c) return;
    const st = e.detail.state;
    if (st === "connected") {
      showPresence(presence);
      reconnectDelay = 1000;
    } else if (st === "reconnecting" || st === "connecting") {
      setStatus("connecting", "console.status.reconnecting");
    } else if (st === "closed") {
      if (loggedOut) return;
      // the server closes our socket when a room ends; come back online with a new one
      if (current) endLocal(t("console.end.ended"));
      setStatus("connecting", "console.status.reconnecting");
      clearRinging();
      const delay = reconnectDelay;
      reconnectDelay = Math.min(reconnectDelay * 2, 15000);
      setTimeout(() => {
        if (client === c && !loggedOut) freshToken().then(goOnline, () => goOnlineLater(c));
      }, current ? 0 : Math.min(delay, 400));
    }
  });
  c.addEventListener("error", (e) => {
    if (e.detail.action === "rejoin" && current) {
      endLocal(null);
      note(t("console.call.rejoinFailed"), icons.wifiOff, 5000);
    }
  });
  c.addEventListener("room-ended", (e) => {
    if (!current) return;
    if (e.detail.reason === "shopper_disconnected") {
      endLocal(t("console.end.noReturn", { name: current.shopper.name }));
      return;
    }
    endLocal(current.quiet ? null : current.endedByMe ? t("console.end.byMe") : t("console.end.byOther"));
  });
  // a shopper whose connection dropped keeps their place for the server's grace period
  c.addEventListener("participant-reconnecting", (e) => {
    const p = e.detail.participant;
    if (!current || current.group || (p && p.role !== "shopper")) return;
    showReconnecting((p && p.name) || current.shopper.name, e.detail.graceS);
  });
  c.addEventListener("participant-reconnected", (e) => {
    const p = e.detail.participant;
    if (!current || current.group || (p && p.role !== "shopper") || !current.reconnecting) return;
    hideReconnecting();
    note(t("console.call.back", { name: (p && p.name) || current.shopper.name }), icons.video, 3000);
  });
  const countGuests = () => {
    if (!current || !current.group) return;
    const n = [...c.participants.values()].filter((x) => x.role === "shopper").length;
    el("sessionCount").textContent = n ? t("console.session.count", { count: n }) : t("console.session.nobody");
  };
  c.addEventListener("participant-joined", countGuests);
  c.addEventListener("participant-left", (e) => {
    countGuests();
    if (!current || current.group) return;
    const p = e.detail.participant;
    if (p && p.role !== "shopper") return;
    hideReconnecting();
    const who = (p && p.name) || current.shopper.name;
    if (e.detail.reason === "disconnected") {
      note(t("console.call.dropped", { name: who }), icons.wifiOff, 5000);
      return;
    }
    note(t("console.call.hungUp", { name: who }), icons.phone);
    endCall(true);
  });
  try {
    await c.connect(token);
    const r = await c.setStatus(presence);
    showPresence(r.status);
    clearRinging();
    for (const info of r.calls) addCall(info);
    pollQueue();
    loadLists();
  } catch (err) {
    if (client !== c || loggedOut) return;
    console.warn("going online failed", err);
    setStatus("offline", "console.status.offline");
    if (err && err.code && err.code.startsWith("token_")) {
      freshToken().then(goOnline, () => goOnlineLater(c));
    } else {
      goOnlineLater(c);
    }
  }
}

function goOnlineLater(c) {
  if (client !== c || loggedOut) return;
  setStatus("offline", "console.status.retrying");
  const delay = reconnectDelay;
  reconnectDelay = Math.min(reconnectDelay * 2, 15000);
  setTimeout(() => {
    if (client === c && !loggedOut) freshToken().then(goOnline, () => goOnlineLater(c));
  }, delay);
}

// ------------------------------------------------------------------ presence, team, lists
let presence = "online";
el("presence").addEventListener("change", async (e) => {
  const want = e.target.value;
  if (!client) return;
  try {
    const r = await client.setStatus(want);
    presence = want;
    showPresence(r.status);
    clearRinging();
    for (const info of r.calls) addCall(info);
  } catch (err) {
    e.target.value = presence;
    note(t("console.presence.failed", { reason: describeError(err) }), icons.alert, 5000);
  }
});
function showPresence(status) {
  setStatus(status, `console.status.${status}`);
}

let snapshot = null;
async function pollQueue() {
  if (!agent || loggedOut) return;
  try {
    snapshot = await api("/v1/console/queue");
  } catch {
    return;
  }
  const q = snapshot.queue || [];
  const longest = q.reduce((m, c) => Math.max(m, c.waited_s), 0);
  const avg = snapshot.averages && snapshot.averages.wait_s;
  el("queueSum").innerHTML = q.length
    ? `<b>${esc(t("console.queue.waiting", { count: q.length }))}</b><span>${esc(avg != null
      ? t("console.queue.longestAvg", { longest: i18n.formatDuration(longest), average: i18n.formatDuration(avg) })
      : t("console.queue.longest", { longest: i18n.formatDuration(longest) }))}</span>${queueLanguages(q)}`
    : `<b>${esc(t("console.queue.title"))}</b><span>${esc(t("console.queue.none"))}</span>`;
  renderTeam();
  try {
    renderVisitors(await api("/v1/console/visitors"));
  } catch {}
}
setInterval(pollQueue, 3000);

/** The waiting shoppers' languages, so the agent sees who needs which language (routing uses the same). */
function queueLanguages(q) {
  const langs = [...new Set(q.map((c) => c.language).filter(Boolean))];
  return langs.length
    ? `<span data-testid="queue-languages">${esc(t("console.queue.languages", { languages: langs.map(languageName).join(", ") }))}</span>`
    : "";
}

function renderVisitors(list) {
  el("visitorCount").textContent = String(list.length);
  const box = el("visitors");
  if (!list.length) {
    box.innerHTML = `<p class="sc-muted" style="padding:0 4px;font-size:13.5px">${esc(t("console.visitors.none"))}</p>`;
    return;
  }
  box.innerHTML = list.map((v) => {
    const p = products.get(v.product);
    const cartText = v.cart && v.cart.items ? t("console.visitors.cart", { count: v.cart.items, value: money(v.cart.value, v.cart.currency) }) : "";
    return `<div class="visitor" data-testid="visitor" data-visitor="${esc(v.id)}">
      <b>${esc(v.customer ? v.name : t("console.visitors.anonymous"))}${v.returning ? `<span class="tag">${esc(t("console.visitors.returning"))}</span>` : ""}</b>
      <small>${esc(p ? p.title : v.title || v.page || "—")}</small>
      <small>${esc(t("console.visitors.onSite", { time: i18n.formatDuration(v.time_on_site_s), pages: v.pages_viewed }))}${cartText ? ` · ${esc(cartText)}` : ""}</small>
      <button type="button" class="sc-btn sc-btn--sm" data-testid="invite-visitor" ${v.invited_by || current ? "disabled" : ""}>${esc(t(v.invited_by ? "console.visitors.invited" : "console.visitors.invite"))}</button></div>`;
  }).join("");
  for (const b of box.querySelectorAll("button")) {
    b.addEventListener("click", async () => {
      b.disabled = true;
      b.textContent = t("console.visitors.invited");
      try {
        await client.inviteVisitor(b.closest(".visitor").dataset.visitor);
        note(t("console.visitors.sent"), icons.user, 3000);
      } catch (err) {
        note(describeError(err), icons.alert, 5000);
      }
    });
  }
}

function renderTeam() {
  const box = el("team");
  if (!snapshot || !agent) return;
  const mates = (snapshot.agents || []).filter((a) => a.identity !== agent.identity && a.presence !== "offline");
  if (!mates.length) {
    box.innerHTML = `<small class="sc-muted">${esc(t("console.team.none"))}</small>`;
    return;
  }
  const word = (st) => (i18n.has(`console.team.${st}`) ? t(`console.team.${st}`) : st);
  box.innerHTML = mates.map((m) => `<div class="mate" data-identity="${esc(m.identity)}">
      <span class="sc-avatar" style="--_size:28px">${esc(initials(m.identity))}</span>
      <span class="n">${esc(m.identity)}<small>${esc(word(m.status))}${m.languages.length ? " · " + esc(m.languages.map(languageName).join(", ")) : ""}</small></span>
      <button type="button" class="sc-btn sc-btn--sm" data-act="invite" data-testid="invite-agent" aria-label="${esc(t("console.team.inviteNamed", { name: m.identity }))}" ${m.status !== "online" || !current ? "disabled" : ""}>${esc(t("console.team.invite"))}</button>
      <button type="button" class="sc-btn sc-btn--sm" data-act="transfer" data-testid="transfer-agent" aria-label="${esc(t("console.team.transferNamed", { name: m.identity }))}" ${m.status !== "online" || !current ? "disabled" : ""}>${esc(t("console.team.transfer"))}</button></div>`).join("");
  for (const b of box.querySelectorAll("button")) {
    b.addEventListener("click", async () => {
      const to = b.closest(".mate").dataset.identity;
      if (!current) return;
      b.disabled = true;
      try {
        if (b.dataset.act === "invite") {
          await client.inviteAgent(current.call, to);
          note(t("console.team.invitedNote", { name: to }), icons.user);
        } else {
          const c = current;
          await client.transferCall(c.call, to);
          note(t("console.team.transferredNote", { name: to }), icons.user);
          c.transferred = true;
          await client.leave().catch(() => {});
          endLocal(null);
        }
      } catch (err) {
        note(describeError(err), icons.alert, 5000);
        b.disabled = false;
      }
    });
  }
}

async function loadRecordings() {
  const f = new FormData(el("recFilters"));
  const q = new URLSearchParams();
  for (const [k, v] of f) if (v) q.set(k, k === "since" || k === "until" ? `${v}T00:00:00` : v);
  let rows;
  try {
    rows = await api(`/v1/console/recordings?${q}`);
  } catch {
    return;
  }
  const agentSel = el("recFilters").querySelector('[name="agent"]');
  for (const a of new Set(rows.map((r) => r.agent).filter(Boolean))) {
    if (![...agentSel.options].some((o) => o.value === a)) agentSel.add(new Option(a, a));
  }
  const status = (r) => {
    const word = esc(i18n.has(`console.rec.status.${r.status}`) ? t(`console.rec.status.${r.status}`) : r.status);
    if (r.status === "ready") return word;
    if (r.status === "failed") return `${word}: ${esc(r.error || "")}`;
    const c = (r.steps || {}).composite;
    const p = c && c.progress != null ? c.progress : r.status === "recording" ? 0 : 0.05;
    return `${word} <span class="prog" role="progressbar" aria-valuenow="${Math.round(p * 100)}" aria-valuemin="0" aria-valuemax="100" aria-label="${word}"><i style="width:${Math.round(p * 100)}%"></i></span>`;
  };
  el("recList").innerHTML = rows.length
    ? `<table><tr><th>${esc(t("console.col.when"))}</th><th>${esc(t("console.col.shopper"))}</th><th>${esc(t("console.col.agent"))}</th><th>${esc(t("console.col.length"))}</th><th>${esc(t("console.col.outcome"))}</th><th>${esc(t("console.col.status"))}</th></tr>${rows.map((r) => `<tr data-testid="recording-row" data-id="${esc(r.id)}" data-status="${esc(r.status)}">
        <td><a href="/console/recordings/${encodeURIComponent(r.id)}">${esc(i18n.formatDate(r.started_at))}</a></td><td>${esc(r.shopper || "—")}</td>
        <td>${esc(r.agent || "—")}</td><td>${r.duration_s ? esc(i18n.formatDuration(r.duration_s)) : "—"}</td><td>${esc(outcomeWord(r.outcome))}</td><td>${status(r)}</td></tr>`).join("")}</table>`
    : `<small class="sc-muted">${esc(t(q.toString() ? "console.rec.noMatch" : "console.rec.noneYet"))}</small>`;
  if (rows.some((r) => r.status === "processing" || r.status === "recording")) {
    clearTimeout(loadRecordings.timer);
    loadRecordings.timer = setTimeout(loadRecordings, 2000);
  }
}
el("recFilters").addEventListener("change", loadRecordings);
el("recFilters").addEventListener("submit", (e) => { e.preventDefault(); loadRecordings(); });

/** An outcome code in words ("follow_up" → "Follow-up"), a dash for none. */
function outcomeWord(o) {
  if (!o) return "—";
  return i18n.has(`console.outcome.${o}`) ? t(`console.outcome.${o}`) : o;
}

async function loadLists() {
  loadRecordings();
  try {
    const cbs = await api("/v1/console/callbacks");
    el("callbacks").innerHTML = cbs.length
      ? `<table><tr><th>${esc(t("console.col.when"))}</th><th>${esc(t("console.col.name"))}</th><th>${esc(t("console.col.contact"))}</th><th>${esc(t("console.col.note"))}</th></tr>${cbs.slice(0, 20).map((c) => `<tr data-testid="callback-row"><td>${esc(i18n.formatDate(c.created_at))}</td><td>${esc(c.name)}</td><td>${esc(c.contact)}</td><td>${esc(c.note || (c.context && c.context.product) || "")}</td></tr>`).join("")}</table>`
      : `<small class="sc-muted">${esc(t("console.none"))}</small>`;
  } catch {}
  if (!agent || agent.role !== "admin") return;
  try {
    const [agents, calls] = await Promise.all([api("/v1/console/admin/agents"), api("/v1/console/admin/calls?limit=15")]);
    el("adminView").hidden = false;
    mountPrivacy(el("adminPrivacy"), i18n);
    mountWidget(el("adminWidget"), i18n);
    const btn = (act, key, who) => `<button class="sc-btn sc-btn--sm sc-btn--ghost" type="button" data-act="${act}" aria-label="${esc(t(`${key}Named`, { name: who }))}">${esc(t(key))}</button>`;
    el("adminAgents").innerHTML = `<table><tr><th>${esc(t("console.col.agent"))}</th><th>${esc(t("console.col.role"))}</th><th>${esc(t("console.col.skills"))}</th><th>${esc(t("console.col.calls"))}</th><th>${esc(t("console.col.online"))}</th><th><span class="sc-sr-only">${esc(t("console.col.actions"))}</span></th></tr>${agents.map((a) => `<tr data-testid="admin-agent-row" data-identity="${esc(a.identity)}"><td>${esc(a.disabled ? t("console.admin.disabledName", { name: a.name }) : a.name)}</td><td>${esc(i18n.has(`console.role.${a.role}`) ? t(`console.role.${a.role}`) : a.role)}</td><td>${esc([...a.languages.map(languageName), ...a.categories].join(", "))}</td><td>${esc(i18n.formatNumber(a.calls))}</td><td>${a.online ? esc(t("common.yes")) : "—"}</td><td>${a.identity === agent.identity ? "" : `${btn("reset", "console.admin.reset", a.name)} ${btn(a.disabled ? "enable" : "disable", a.disabled ? "console.admin.enable" : "console.admin.disable", a.name)} ${btn("delete", "console.admin.delete", a.name)}`}</td></tr>`).join("")}</table>`;
    for (const b of el("adminAgents").querySelectorAll("button[data-act]")) b.addEventListener("click", () => manageAgent(b.closest("tr").dataset.identity, b.dataset.act));
    api("/v1/console/webhooks/deliveries?limit=15").then((rows) => {
      const list = Array.isArray(rows) ? rows : rows.deliveries || [];
      el("adminHooks").innerHTML = list.length
        ? `<table><tr><th>${esc(t("console.col.when"))}</th><th>${esc(t("console.col.event"))}</th><th>${esc(t("console.col.status"))}</th><th>${esc(t("console.col.attempts"))}</th><th>${esc(t("console.col.lastAnswer"))}</th></tr>${list.map((d) => `<tr data-testid="webhook-row"><td>${esc(longTime(d.created_at))}</td><td>${esc(d.event_type)}</td><td>${esc(d.status)}</td><td>${d.attempts}</td><td>${esc(d.last_status_code ?? d.last_error ?? "—")}</td></tr>`).join("")}</table>`
        : `<small class="sc-muted">${esc(t("console.admin.noHooks"))}</small>`;
    }).catch(() => {});
    el("adminCalls").innerHTML = `<table><tr><th>${esc(t("console.col.started"))}</th><th>${esc(t("console.col.shopper"))}</th><th>${esc(t("console.col.agent"))}</th><th>${esc(t("console.col.status"))}</th><th>${esc(t("console.col.wait"))}</th><th>${esc(t("console.col.duration"))}</th><th>${esc(t("console.col.outcome"))}</th></tr>${calls.map((c) => `<tr data-testid="admin-call-row"><td>${esc(longTime(c.created_at))}</td><td>${esc(c.shopper.name)}</td><td>${esc(c.agent || "—")}</td><td>${esc(i18n.has(`console.callStatus.${c.status}`) ? t(`console.callStatus.${c.status}`) : c.status)}</td><td>${c.wait_s != null ? esc(i18n.formatDuration(c.wait_s)) : "—"}</td><td>${c.duration_s != null ? esc(i18n.formatDuration(c.duration_s)) : "—"}</td><td>${esc(outcomeWord(c.outcome))}</td></tr>`).join("")}</table>`;
  } catch {}
}

// ------------------------------------------------------------------ accounts
/** Ask for a password in the dialog: the agent's own change (current + new) or an admin's reset of `who`. */
function askPassword(who) {
  const form = el("pwForm");
  form.reset();
  el("pwTitle").textContent = who ? t("console.password.titleFor", { name: who }) : t("console.password.title");
  el("pwCurrentField").hidden = Boolean(who);
  form.elements.current.required = !who;
  el("pwError").hidden = true;
  el("pwDialog").showModal();
  form.onsubmit = async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    try {
      if (who) await api(`/v1/console/admin/agents/${encodeURIComponent(who)}/password`, { new_password: f.get("new") });
      else await api("/v1/console/password", { current_password: f.get("current"), new_password: f.get("new") });
      el("pwDialog").close();
      note(who ? t("console.password.resetDone", { name: who }) : t("console.password.changed"));
    } catch (err) {
      el("pwError").textContent = describeError(err);
      el("pwError").hidden = false;
    }
  };
}

async function manageAgent(who, act) {
  if (act === "reset") return askPassword(who);
  if (act === "delete" && !confirm(t("console.admin.confirmDelete", { name: who }))) return;
  try {
    if (act === "delete") await api(`/v1/console/admin/agents/${encodeURIComponent(who)}`, {}, "DELETE");
    else await api(`/v1/console/admin/agents/${encodeURIComponent(who)}`, { disabled: act === "disable" }, "PATCH");
    note(t("console.admin.done", { name: who, act }));
  } catch (err) {
    note(describeError(err), icons.alert);
  }
  loadLists();
}

el("changePassword").addEventListener("click", () => askPassword(null));
el("pwCancel").addEventListener("click", () => el("pwDialog").close());

// ------------------------------------------------------------------ queue
function addCall(info) {
  if (!info || !info.call || ringing.has(info.call)) return;
  if (current && current.call === info.call) return;
  info.receivedAt = Date.now() - (info.created_at ? Math.max(0, Date.now() / 1000 - info.created_at) * 1000 : 0);
  ringing.set(info.call, info);
  renderQueue();
}

function removeCall(id) {
  const had = ringing.delete(id);
  if (had) renderQueue();
  return had;
}

function clearRinging() {
  ringing.clear();
  renderQueue();
}

function renderQueue() {
  const box = el("calls");
  const n = ringing.size;
  el("count").textContent = String(n);
  el("count").classList.toggle("hot", n > 0);
  document.title = n ? t("console.title.ringing", { count: n, base: baseTitle() }) : agent ? `${agent.name} · ${baseTitle()}` : baseTitle();
  if (!n) {
    box.innerHTML = `<div class="empty-queue"><span class="icon">${icons.clock}</span><p>${esc(t("console.queue.emptyA"))}<br>${esc(t("console.queue.emptyB"))}</p></div>`;
    return;
  }
  // keep existing cards (animations, focus); add/remove the difference
  const empty = box.querySelector(".empty-queue");
  if (empty) empty.remove();
  for (const card of [...box.querySelectorAll(".call-card")]) if (!ringing.has(card.dataset.call)) card.remove();
  for (const info of ringing.values()) {
    let card = box.querySelector(`.call-card[data-call="${CSS.escape(info.call)}"]`);
    if (!card) {
      card = document.createElement("article");
      card.className = "call-card ringing";
      card.dataset.testid = "incoming-call";
      card.dataset.call = info.call;
      box.append(card);
      card.addEventListener("click", (e) => {
        const b = e.target.closest("button");
        if (!b) return;
        if (b.dataset.act === "answer") answer(info.call, card);
        if (b.dataset.act === "decline") decline(info.call);
      });
    }
    const ctx = info.context || {};
    const p = products.get(ctx.product);
    const shopper = (info.shopper && info.shopper.name) || t("console.ctx.shopper");
    const lang = ctx.language ? `<span class="lang" data-testid="incoming-language" lang="${esc(ctx.language)}" title="${esc(t("console.call.languageTitle"))}">${esc(languageName(ctx.language))}</span>` : "";
    card.innerHTML = `
      <div class="row">
        <span class="ring-av sc-rings"><span class="sc-avatar">${esc(initials(shopper))}</span></span>
        <div class="who"><strong data-testid="incoming-shopper">${esc(shopper)}</strong><small data-wait>${esc(t("console.call.ringing", { time: clock(0) }))}</small>${lang}</div>
      </div>
      ${ctx.product ? `<div class="ctx">${p ? `<img src="${esc(p.image_url)}" alt="">` : ""}<div><span>${esc(t("console.ctx.lookingAt"))}</span><b data-testid="incoming-product">${esc(p ? p.title : ctx.product)}</b></div></div>` : ""}
      <div class="actions">
        <button type="button" class="sc-btn" data-act="decline" data-testid="decline-call" aria-label="${esc(t("console.call.declineNamed", { name: shopper }))}">${esc(t("console.call.decline"))}</button>
        <button type="button" class="sc-btn sc-btn--success" data-act="answer" data-testid="answer-call" aria-label="${esc(t("console.call.answerNamed", { name: shopper }))}"${current ? ` disabled title="${esc(t("console.call.finishFirst"))}"` : ""}>${icons.phone}${esc(t("console.call.answer"))}</button>
      </div>`;
  }
  tickWaits();
}

function tickWaits() {
  for (const card of document.querySelectorAll(".call-card")) {
    const info = ringing.get(card.dataset.call);
    const w = card.querySelector("[data-wait]");
    if (info && w) w.textContent = t("console.call.ringing", { time: clock((Date.now() - info.receivedAt) / 1000) });
  }
}
setInterval(tickWaits, 1000);

async function answer(id, card) {
  const info = ringing.get(id);
  if (!info || current || !client) return;
  for (const b of card.querySelectorAll("button")) b.disabled = true;
  card.querySelector('[data-act="answer"]').innerHTML = `<span class="sc-spinner"></span>${esc(t("console.call.answering"))}`;
  let room;
  try {
    ({ room } = await client.acceptCall(id));
  } catch (err) {
    removeCall(id);
    if (err.code === "call_taken") note(t("console.call.taken", { name: info.shopper.name }), icons.user);
    else if (err.code === "call_not_found") note(t("console.call.gone", { name: info.shopper.name }), icons.phone);
    else note(t("console.call.answerFailed", { reason: describeError(err) }), icons.alert, 5000);
    return;
  }
  removeCall(id);
  startCallView({ ...info, room: room || info.room });
}

async function decline(id) {
  const info = ringing.get(id);
  removeCall(id);
  if (client) client.declineCall(id).catch(() => {});
  if (info) note(t("console.cancel.declined", { name: info.shopper.name }), icons.phone, 2500);
}

// ------------------------------------------------------------------ in call
function startCallView(info) {
  const shopper = (info.shopper && info.shopper.name) || t("console.ctx.shopper");
  const ctx = info.context || {};
  const p = products.get(ctx.product);
  current = { ...info, view: null, startedAt: Date.now(), endedByMe: false, done: false };
  el("consoleView").classList.add("in-call");
  el("idleView").hidden = true;
  el("callView").hidden = false;
  renderQueue();

  el("ctxName").textContent = shopper;
  el("ctxAvatar").textContent = initials(shopper);
  el("ctxSince").textContent = t("console.ctx.since", { time: shortTime(current.startedAt) })
    + (ctx.language ? ` · ${t("console.ctx.speaks", { language: languageName(ctx.language) })}` : "");
  el("ctxSince").dataset.language = ctx.language || "";
  el("ctxProd").hidden = !ctx.product;
  el("ctxTitle").textContent = p ? p.title : ctx.product || "";
  el("ctxPrice").textContent = p ? money(p.price, p.currency) : "";
  el("ctxSku").textContent = ctx.product ? t("console.ctx.sku", { sku: ctx.product }) : "";
  if (p) el("ctxImg").src = p.image_url;
  el("ctxImg").hidden = !p;
  let pageText = ctx.page || "—";
  try {
    if (ctx.page) {
      const u = new URL(ctx.page);
      pageText = /^https?:$/.test(u.protocol)
        ? `<a href="${esc(u.href)}" target="_blank" rel="noopener noreferrer">${esc(u.pathname + u.search)}</a>`
        : esc(ctx.page);
    }
  } catch {
    pageText = esc(pageText);
  }
  el("ctxPage").innerHTML = ctx.page ? pageText : "—";
  el("ctxCall").textContent = info.call || "";
  const cartCtx = ctx.cart && typeof ctx.cart === "object" ? ctx.cart : null;
  el("ctxCart").textContent = cartCtx && cartCtx.items
    ? t("console.ctx.cartItems", { count: cartCtx.items, value: money(cartCtx.value || 0, cartCtx.currency) }) : t("console.ctx.cartEmpty");
  document.querySelector('[data-testid="call-notes"]').value = "";
  current.outcome = null;
  for (const b of document.querySelectorAll(".outcomes button")) b.setAttribute("aria-pressed", "false");
  document.querySelector(".context").classList.toggle("group", !!info.group);
  el("sessionBox").hidden = !info.group;
  if (info.group) {
    el("sessionLink").value = info.link;
    el("sessionCount").textContent = t("console.session.nobody");
  } else {
    loadCrm(info.call);
  }
  el("endCall").disabled = false;

  const view = document.createElement("shopcall-call");
  view.i18n = i18n;
  view.setAttribute("hangup-label", t("console.endCall"));
  view.setAttribute("can-share-screen", "");
  view.setAttribute("can-record", "");
  view.setAttribute("show-path", ""); // each participant's media path: direct, or relayed over UDP/TCP/TLS
  if (info.group) view.setAttribute("can-moderate", "");
  view.setAttribute("remote-name", shopper);
  view.setAttribute("local-name", agent.name);
  view.style.flex = "1";
  current.view = view;
  el("callSlot").replaceChildren(view);
  view.addEventListener("hangup", () => endCall(false));
  renderCatalog(view);
  current.offCard = client.on("card-action", (ev) => {
    if (current && current.view === view && ev.action === "add_to_cart") {
      note(t("chat.addedToCartNote", { name: ev.name || shopper, product: products.get(ev.sku)?.title || ev.sku }), icons.cart);
    }
  });
  view.start({ client, room: current.room, localName: agent.name, remoteName: shopper }).catch((err) => {
    note(t("console.call.joinFailed", { reason: describeError(err) }), icons.alert, 5000);
    endLocal();
  });
}

// ------------------------------------------------------------------ group sessions
el("hostSession").addEventListener("click", async () => {
  if (current || !client) return;
  el("hostSession").disabled = true;
  try {
    const s = await api("/v1/console/sessions", { title: t("console.session.defaultTitle", { name: agent.name }), max_shoppers: 16 });
    startCallView({ call: null, room: s.room, group: true, link: s.join_url, shopper: { name: s.title }, context: {} });
  } catch (err) {
    note(t("console.session.failed", { reason: describeError(err) }), icons.alert, 5000);
  } finally {
    el("hostSession").disabled = false;
  }
});
el("copyLink").addEventListener("click", () => {
  navigator.clipboard.writeText(el("sessionLink").value).then(() => note(t("console.session.copied"), icons.link, 2000), () => {
    el("sessionLink").select();
  });
});

/** The CRM panel: profile, lifetime value, orders, earlier notes; never holds up the call. */
async function loadCrm(callId) {
  const box = el("crm");
  box.innerHTML = `<div class="sc-muted" style="display:flex;gap:8px;align-items:center"><span class="sc-spinner"></span>${esc(t("console.crm.loading"))}</div>`;
  let data;
  try {
    data = await api(`/v1/console/calls/${encodeURIComponent(callId)}/crm`);
  } catch (err) {
    data = { crm: { status: "unavailable", error: t("console.crm.unavailableReason", { reason: describeError(err) }) }, notes: [] };
  }
  if (!current || current.call !== callId) return;
  const { crm, notes } = data;
  let html = "";
  if (crm.status === "ok") {
    const p = crm.profile;
    const orders = p.orders || [];
    html += `<div><strong data-testid="crm-name">${esc(p.name)}</strong><br><small class="sc-muted">${esc(p.email || "")}${p.created_at ? ` · ${esc(t("console.crm.since", { date: day(p.created_at) }))}` : ""}</small></div>
      <div class="ltv"><div><b data-testid="crm-ltv">${esc(money(p.lifetime_value, p.currency))}</b><span>${esc(t("console.crm.ltv"))}</span></div>
        <div><b data-testid="crm-orders-count">${esc(i18n.formatNumber(p.orders_count ?? orders.length))}</b><span>${esc(t("console.crm.orders"))}</span></div>
        <div><b>${orders.length ? esc(day(orders[0].placed_at)) : "—"}</b><span>${esc(t("console.crm.lastOrder"))}</span></div></div>
      <div class="orders" data-testid="crm-orders">${orders.slice(0, 8).map((o) => `<div class="order" data-testid="crm-order">
          <div class="top"><span>${esc(day(o.placed_at))}</span><span>${esc(money(o.total, o.currency))}</span></div>
          <small>${(o.items || []).map((i) => `${esc(i18n.formatNumber(i.quantity))} × ${esc(i.title || i.sku || t("console.crm.item"))}`).join(", ") || "—"}</small></div>`).join("")
        || `<small class="sc-muted">${esc(t("console.crm.noOrders"))}</small>`}</div>`;
  } else if (crm.status === "unavailable") {
    html += `<div class="unavail" data-testid="crm-unavailable">${esc(crm.error || t("console.crm.unavailable"))}</div>`;
  } else {
    html += `<div class="sc-muted" data-testid="crm-guest">${esc(t("console.crm.guest"))}</div>`;
  }
  const earlier = (notes || []).filter((n) => !n.this_call);
  if (earlier.length) {
    html += `<div><b>${esc(t("console.crm.earlier"))}</b></div>` + earlier.slice(0, 5).map((n) => `<div class="note" data-testid="crm-note">${esc(n.text || t("console.crm.noNote"))}
      <small>${esc(day(n.at))} · ${esc(n.agent)}${n.outcome ? ` · ${esc(outcomeWord(n.outcome))}` : ""}</small></div>`).join("");
  }
  box.innerHTML = html;
}

for (const b of document.querySelectorAll(".outcomes button")) {
  b.addEventListener("click", () => {
    if (!current) return;
    current.outcome = b.dataset.outcome;
    for (const o of document.querySelectorAll(".outcomes button")) o.setAttribute("aria-pressed", String(o === b));
  });
}
el("saveNotes").addEventListener("click", () => saveNotes(false));

async function saveNotes(quiet, call = current) {
  if (!call) return;
  const text = document.querySelector('[data-testid="call-notes"]').value;
  if (!text.trim() && !call.outcome) {
    if (!quiet) note(t("console.notes.empty"), icons.alert);
    return;
  }
  try {
    await api(`/v1/console/calls/${encodeURIComponent(call.call)}/notes`, { text, outcome: call.outcome });
    call.savedText = text;
    call.savedOutcome = call.outcome;
    if (!quiet) note(t("console.notes.saved"), icons.check, 2500);
  } catch (err) {
    note(t("console.notes.failed", { reason: describeError(err) }), icons.alert, 5000);
  }
}

/** Product picker: "Show" pushes a product card into the call. */
function renderCatalog(view) {
  const box = el("catalog");
  const ctx = (current && current.context) || {};
  const list = [...products.values()].sort((a, b) => (b.sku === ctx.product) - (a.sku === ctx.product));
  box.innerHTML = list.map((p) => `<div class="item" data-sku="${esc(p.sku)}">
      <img src="${esc(p.image_url)}" alt=""><div><b>${esc(p.title)}</b><small>${esc(money(p.price, p.currency))}</small></div>
      <button type="button" class="sc-btn sc-btn--sm" data-testid="show-product" data-sku="${esc(p.sku)}" aria-label="${esc(t("console.catalog.showNamed", { product: p.title }))}">${esc(t("console.catalog.show"))}</button></div>`).join("")
    || `<p class="sc-muted">${esc(t("console.catalog.none"))}</p>`;
  for (const b of box.querySelectorAll("button")) {
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        const card = await client.pushProductCard(b.dataset.sku);
        view.chat.showSentCard(card);
        b.closest(".item").classList.add("shown");
        b.textContent = t("console.catalog.shown");
        note(t("console.catalog.showing", { product: card.title, name: (current && current.shopper && current.shopper.name) || t("console.catalog.theShopper") }), icons.cart, 2500);
      } catch (err) {
        note(t("console.catalog.failed", { reason: describeError(err) }), icons.alert, 5000);
      } finally {
        setTimeout(() => { b.disabled = false; b.textContent = t("console.catalog.show"); }, 1500);
      }
    });
  }
}

async function endCall(shopperLeft) {
  if (!current || current.ending) return;
  current.ending = true;
  if (current.invited && !shopperLeft) {
    // a colleague invited me: hanging up leaves, the call goes on without me
    await client.leave().catch(() => {});
    endLocal(t("console.end.left"));
    return;
  }
  current.endedByMe = true;
  current.quiet = shopperLeft;
  el("endCall").disabled = true;
  const c = client;
  try {
    await c.endRoom();
  } catch (err) {
    console.warn("end_room failed", err);
  }
  // the server answers with room_ended and closes the socket; make sure the UI moves on
  if (current) endLocal(shopperLeft ? null : t("console.end.byMe"));
  if (c === client && c.state === "connected" && !c.room) {
    /* still online on the same socket: nothing to do */
  }
}

/**
 * "Shopper reconnecting" on the call, with the seconds left of the server's grace period.
 * @param {string} who @param {number|null} graceS
 */
function showReconnecting(who, graceS) {
  hideReconnecting();
  const box = document.createElement("div");
  box.dataset.testid = "shopper-reconnecting";
  box.setAttribute("role", "status");
  Object.assign(box.style, { padding: "8px 12px", borderRadius: "8px", marginBottom: "10px", fontSize: "14px",
                             background: "var(--sc-surface-2)", borderLeft: "3px solid var(--sc-warning)" });
  const until = Date.now() + (graceS || 60) * 1000;
  const render = () => {
    const left = Math.max(0, Math.round((until - Date.now()) / 1000));
    box.textContent = t("console.call.reconnecting", { name: who, seconds: left });
  };
  render();
  const timer = setInterval(render, 1000);
  document.querySelector('[data-testid="call-context"]').prepend(box);
  current.reconnecting = { box, timer };
}

function hideReconnecting() {
  if (!current || !current.reconnecting) return;
  clearInterval(current.reconnecting.timer);
  current.reconnecting.box.remove();
  current.reconnecting = null;
}

function endLocal(message) {
  if (!current || current.done) return;
  hideReconnecting();
  current.done = true;
  // nothing lost: unsaved notes or outcome are saved when the call ends
  const typed = document.querySelector('[data-testid="call-notes"]').value;
  if (current.call && ((typed.trim() && typed !== current.savedText) || (current.outcome && current.outcome !== current.savedOutcome))) {
    saveNotes(true, current);
  }
  const secs = (Date.now() - current.startedAt) / 1000;
  if (current.view && current.view.elapsedSeconds > 0) {
    stats.calls += 1;
    stats.seconds += current.view.elapsedSeconds;
  }
  if (current.view) current.view.stop();
  if (current.offCard) current.offCard();
  el("callSlot").replaceChildren();
  current = null;
  el("consoleView").classList.remove("in-call");
  el("callView").hidden = true;
  el("idleView").hidden = false;
  el("statCalls").textContent = String(stats.calls);
  loadLists();
  el("statTime").textContent = i18n.formatClock(stats.seconds);
  el("idleTitle").dataset.i18n = "console.idle.ready";
  el("idleTitle").textContent = t("console.idle.ready");
  if (message) note(`${message} · ${i18n.formatDuration(secs)}`);
  renderQueue();
}

el("endCall").addEventListener("click", () => endCall(false));

el("logout").addEventListener("click", () => {
  loggedOut = true;
  api("/v1/console/logout", {}).catch(() => {});
  if (current && client) client.endRoom().catch(() => {});
  if (current) endLocal();
  if (client) client.close();
  client = null;
  agent = null;
  clearRinging();
  el("loginView").hidden = false;
  el("topbar").hidden = true;
  el("consoleView").hidden = true;
  for (const b of document.querySelectorAll(".login-form button")) b.disabled = false; // disabled by signIn
  document.title = baseTitle();
  loadAgents();
});

window.addEventListener("beforeunload", () => {
  loggedOut = true;
  if (client) client.close();
});

// debugging / test handle
window.shopcall = {
  get client() {
    return client;
  },
  get agent() {
    return agent;
  },
  get currentCall() {
    return current;
  },
};

el("loginForm").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  signIn(() => api("/v1/console/login", { app_id: f.get("app_id"), login: f.get("login"), password: f.get("password") }));
});
// resume a live session (reload), else show the sign-in page
api("/v1/console/me").then((res) => signIn(async () => res), () => loadAgents());
