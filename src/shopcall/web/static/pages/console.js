// Script of pages/console.html (loaded as a module, so the page carries no inline script).
import { ShopCallClient, describeError } from "/static/sdk/shopcall.js";
import "/static/components/shopcall-call.js";
import { icons, esc, initials } from "/static/components/icons.js";
import { clock, el, money, showToast } from "/static/pages/ui.js";
import { mountPrivacy } from "/static/pages/console-privacy.js";

for (const n of document.querySelectorAll("[data-icon]")) {
  const wrapper = n.classList.contains("mark");
  if (wrapper) n.innerHTML = icons[n.dataset.icon] || "";
  else n.outerHTML = icons[n.dataset.icon] || "";
}

const BASE_TITLE = "ShopCall Console";
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
  const res = await fetch(path, body === undefined
    ? { headers: { Accept: "application/json" } }
    : { method, headers: { "Content-Type": "application/json", Accept: "application/json" }, body: JSON.stringify(body) });
  if (!res.ok) {
    let msg = `${path} answered HTTP ${res.status}`;
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


function setStatus(state, text) {
  const chip = document.querySelector('[data-testid="agent-status"]');
  chip.dataset.state = state;
  el("statusText").textContent = text;
}

// ------------------------------------------------------------------ login
async function loadAgents() {
  const box = el("agents");
  try {
    const agents = await api("/demo/api/agents");
    if (!agents.length) {
      box.innerHTML = `<p class="sc-muted">No demo agents are configured.</p>`;
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
    box.innerHTML = `<div class="login-error">Could not load the demo agents: ${esc(err.message)}. <button class="sc-btn sc-btn--sm" type="button">Retry</button></div>`;
    box.querySelector("button").addEventListener("click", loadAgents);
  }
}

/** Demo account button: sign in with the demo credentials through the real login. */
async function login(identity, button) {
  const a = demoAccounts.get(identity);
  if (button) button.querySelector(".go").outerHTML = `<span class="sc-spinner" style="color:var(--sc-muted)"></span>`;
  return signIn(() => api("/v1/console/login", { app_id: a.app_id, login: a.identity, password: a.password }));
}

async function signIn(getSession) {
  for (const b of document.querySelectorAll(".agent-btn, .login-form button")) b.disabled = true;
  try {
    const res = await getSession();
    agent = res.agent;
    loggedOut = false;
    el("loginView").hidden = true;
    el("topbar").hidden = false;
    el("consoleView").hidden = false;
    el("meName").textContent = agent.name;
    el("meAvatar").textContent = initials(agent.name);
    document.title = `${agent.name} · ${BASE_TITLE}`;
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
    box.textContent = err.code === "login_failed" ? "Wrong login or password." : `Sign-in failed: ${describeError(err)}`;
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
  setStatus("connecting", "Connecting…");
  const c = new ShopCallClient({ tokenProvider: freshToken });
  client = c;
  c.addEventListener("incoming-call", (e) => addCall(e.detail));
  c.addEventListener("call-cancelled", (e) => {
    const info = ringing.get(e.detail.call);
    if (!removeCall(e.detail.call) || !info) return;
    const who = info.shopper.name;
    const text = {
      timeout: `Missed ${who}’s call — offered to the next agent`,
      agent_unavailable: `${who}’s call went to another agent`,
      declined: `Declined ${who}’s call`,
    }[e.detail.reason] || `${who} hung up before anyone answered`;
    note(text, icons.phone);
  });
  const joinOffered = (info, verb) => {
    if (current) {
      note(`${info.from} ${verb} ${info.shopper.name}’s call, but you are in another call`, icons.alert, 5000);
      return;
    }
    note(`${info.from} ${verb} ${info.shopper.name}’s call`, icons.user);
    startCallView({ ...info, invited: verb.startsWith("invited") });
  };
  c.addEventListener("call-transferred", (e) => joinOffered(e.detail, "handed you"));
  c.addEventListener("invite-accepted", (e) => {
    note(`${e.detail.shopper.name} accepted your invitation`, icons.video);
    if (!current) startCallView(e.detail);
  });
  c.addEventListener("invite-declined", () => note("The visitor declined your invitation", icons.user, 3000));
  c.addEventListener("call-invitation", (e) => joinOffered(e.detail, "invited you into"));
  c.addEventListener("call-taken", (e) => {
    const info = ringing.get(e.detail.call);
    if (removeCall(e.detail.call) && info) note(`${info.shopper.name}’s call was answered by another agent`, icons.user);
  });
  c.addEventListener("connection-state", (e) => {
    if (client !== c) return;
    const st = e.detail.state;
    if (st === "connected") {
      showPresence(presence);
      reconnectDelay = 1000;
    } else if (st === "reconnecting" || st === "connecting") {
      setStatus("connecting", "Reconnecting…");
    } else if (st === "closed") {
      if (loggedOut) return;
      // the server closes our socket when a room ends; come back online with a new one
      if (current) endLocal("The call ended.");
      setStatus("connecting", "Reconnecting…");
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
      note("Connection dropped — could not get back into the call", icons.wifiOff, 5000);
    }
  });
  c.addEventListener("room-ended", (e) => {
    if (!current) return;
    if (e.detail.reason === "shopper_disconnected") {
      endLocal(`${current.shopper.name} did not come back — call ended`);
      return;
    }
    endLocal(current.quiet ? null : current.endedByMe ? "Call ended" : "The call was ended");
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
    note(`${(p && p.name) || current.shopper.name} is back`, icons.video, 3000);
  });
  const countGuests = () => {
    if (!current || !current.group) return;
    const n = [...c.participants.values()].filter((x) => x.role === "shopper").length;
    el("sessionCount").textContent = n ? `${n} shopper${n > 1 ? "s" : ""} in the session` : "No one has joined yet.";
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
      note(`${who}’s connection dropped — waiting for them to come back`, icons.wifiOff, 5000);
      return;
    }
    note(`${who} hung up`, icons.phone);
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
    setStatus("offline", "Offline");
    if (err && err.code && err.code.startsWith("token_")) {
      freshToken().then(goOnline, () => goOnlineLater(c));
    } else {
      goOnlineLater(c);
    }
  }
}

function goOnlineLater(c) {
  if (client !== c || loggedOut) return;
  setStatus("offline", "Offline — retrying…");
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
    note(`Could not change your status: ${describeError(err)}`, icons.alert, 5000);
  }
});
function showPresence(status) {
  const words = { online: "Online", busy: "Busy", away: "Away", offline: "Offline" };
  setStatus(status, words[status] || status);
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
  el("queueSum").innerHTML = q.length
    ? `<b>Queue · ${q.length} waiting</b><span>Longest wait ${clock(longest)}${snapshot.averages && snapshot.averages.wait_s != null ? ` · average ${clock(snapshot.averages.wait_s)}` : ""}</span>`
    : `<b>Queue</b><span>No one waiting.</span>`;
  renderTeam();
  try {
    renderVisitors(await api("/v1/console/visitors"));
  } catch {}
}
setInterval(pollQueue, 3000);

function renderVisitors(list) {
  el("visitorCount").textContent = String(list.length);
  const box = el("visitors");
  if (!list.length) {
    box.innerHTML = `<p class="sc-muted" style="padding:0 4px;font-size:13.5px">No one is browsing the shop right now.</p>`;
    return;
  }
  box.innerHTML = list.map((v) => {
    const p = products.get(v.product);
    const cartText = v.cart && v.cart.items ? ` · cart ${v.cart.items} (${money(v.cart.value, v.cart.currency)})` : "";
    return `<div class="visitor" data-testid="visitor" data-visitor="${esc(v.id)}">
      <b>${esc(v.customer ? v.name : "Anonymous visitor")}${v.returning ? '<span class="tag">returning</span>' : ""}</b>
      <small>${esc(p ? p.title : v.title || v.page || "—")}</small>
      <small>${clock(v.time_on_site_s)} on site · ${v.pages_viewed} page${v.pages_viewed === 1 ? "" : "s"}${esc(cartText)}</small>
      <button type="button" class="sc-btn sc-btn--sm" data-testid="invite-visitor" ${v.invited_by || current ? "disabled" : ""}>${v.invited_by ? "Invited" : "Invite"}</button></div>`;
  }).join("");
  for (const b of box.querySelectorAll("button")) {
    b.addEventListener("click", async () => {
      b.disabled = true;
      b.textContent = "Invited";
      try {
        await client.inviteVisitor(b.closest(".visitor").dataset.visitor);
        note("Invitation sent — waiting for the shopper", icons.user, 3000);
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
    box.innerHTML = `<small class="sc-muted">No other agent is online.</small>`;
    return;
  }
  const words = { online: "Available", busy: "In a call", away: "Away" };
  box.innerHTML = mates.map((m) => `<div class="mate" data-identity="${esc(m.identity)}">
      <span class="sc-avatar" style="--_size:28px">${esc(initials(m.identity))}</span>
      <span class="n">${esc(m.identity)}<small>${esc(words[m.status] || m.status)}${m.languages.length ? " · " + esc(m.languages.join(", ")) : ""}</small></span>
      <button type="button" class="sc-btn sc-btn--sm" data-act="invite" data-testid="invite-agent" ${m.status !== "online" || !current ? "disabled" : ""}>Invite</button>
      <button type="button" class="sc-btn sc-btn--sm" data-act="transfer" data-testid="transfer-agent" ${m.status !== "online" || !current ? "disabled" : ""}>Transfer</button></div>`).join("");
  for (const b of box.querySelectorAll("button")) {
    b.addEventListener("click", async () => {
      const to = b.closest(".mate").dataset.identity;
      if (!current) return;
      b.disabled = true;
      try {
        if (b.dataset.act === "invite") {
          await client.inviteAgent(current.call, to);
          note(`Invited ${to} to the call`, icons.user);
        } else {
          const c = current;
          await client.transferCall(c.call, to);
          note(`Call handed over to ${to}`, icons.user);
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
    if (r.status === "ready") return "ready";
    if (r.status === "failed") return `failed: ${esc(r.error || "")}`;
    const c = (r.steps || {}).composite;
    const p = c && c.progress != null ? c.progress : r.status === "recording" ? 0 : 0.05;
    return `${esc(r.status)} <span class="prog"><i style="width:${Math.round(p * 100)}%"></i></span>`;
  };
  el("recList").innerHTML = rows.length
    ? `<table><tr><th>When</th><th>Shopper</th><th>Agent</th><th>Length</th><th>Outcome</th><th>Status</th></tr>${rows.map((r) => `<tr data-testid="recording-row" data-id="${esc(r.id)}" data-status="${esc(r.status)}">
        <td><a href="/console/recordings/${encodeURIComponent(r.id)}">${esc(new Date(r.started_at).toLocaleString())}</a></td><td>${esc(r.shopper || "—")}</td>
        <td>${esc(r.agent || "—")}</td><td>${r.duration_s ? clock(r.duration_s) : "—"}</td><td>${esc(r.outcome || "—")}</td><td>${status(r)}</td></tr>`).join("")}</table>`
    : `<small class="sc-muted">No recordings${q.toString() ? " match these filters" : " yet"}.</small>`;
  if (rows.some((r) => r.status === "processing" || r.status === "recording")) {
    clearTimeout(loadRecordings.timer);
    loadRecordings.timer = setTimeout(loadRecordings, 2000);
  }
}
el("recFilters").addEventListener("change", loadRecordings);
el("recFilters").addEventListener("submit", (e) => { e.preventDefault(); loadRecordings(); });

async function loadLists() {
  loadRecordings();
  try {
    const cbs = await api("/v1/console/callbacks");
    el("callbacks").innerHTML = cbs.length
      ? `<table><tr><th>When</th><th>Name</th><th>Contact</th><th>Note</th></tr>${cbs.slice(0, 20).map((c) => `<tr data-testid="callback-row"><td>${esc(new Date(c.created_at).toLocaleString())}</td><td>${esc(c.name)}</td><td>${esc(c.contact)}</td><td>${esc(c.note || (c.context && c.context.product) || "")}</td></tr>`).join("")}</table>`
      : `<small class="sc-muted">None.</small>`;
  } catch {}
  if (!agent || agent.role !== "admin") return;
  try {
    const [agents, calls] = await Promise.all([api("/v1/console/admin/agents"), api("/v1/console/admin/calls?limit=15")]);
    el("adminView").hidden = false;
    mountPrivacy(el("adminPrivacy"));
    el("adminAgents").innerHTML = `<table><tr><th>Agent</th><th>Role</th><th>Skills</th><th>Calls</th><th>Online</th><th></th></tr>${agents.map((a) => `<tr data-testid="admin-agent-row" data-identity="${esc(a.identity)}"><td>${esc(a.name)}${a.disabled ? " (disabled)" : ""}</td><td>${esc(a.role)}</td><td>${esc([...a.languages, ...a.categories].join(", "))}</td><td>${a.calls}</td><td>${a.online ? "yes" : "—"}</td><td>${a.identity === agent.identity ? "" : `<button class="sc-btn sc-btn--sm sc-btn--ghost" type="button" data-act="reset">Reset password</button> <button class="sc-btn sc-btn--sm sc-btn--ghost" type="button" data-act="${a.disabled ? "enable" : "disable"}">${a.disabled ? "Enable" : "Disable"}</button> <button class="sc-btn sc-btn--sm sc-btn--ghost" type="button" data-act="delete">Delete</button>`}</td></tr>`).join("")}</table>`;
    for (const b of el("adminAgents").querySelectorAll("button[data-act]")) b.addEventListener("click", () => manageAgent(b.closest("tr").dataset.identity, b.dataset.act));
    api("/v1/console/webhooks/deliveries?limit=15").then((rows) => {
      const list = Array.isArray(rows) ? rows : rows.deliveries || [];
      el("adminHooks").innerHTML = list.length
        ? `<table><tr><th>When</th><th>Event</th><th>Status</th><th>Attempts</th><th>Last answer</th></tr>${list.map((d) => `<tr data-testid="webhook-row"><td>${esc(new Date(d.created_at).toLocaleTimeString())}</td><td>${esc(d.event_type)}</td><td>${esc(d.status)}</td><td>${d.attempts}</td><td>${esc(d.last_status_code ?? d.last_error ?? "—")}</td></tr>`).join("")}</table>`
        : `<small class="sc-muted">No webhook endpoints or deliveries yet (register one with POST /v1/webhooks).</small>`;
    }).catch(() => {});
    el("adminCalls").innerHTML = `<table><tr><th>Started</th><th>Shopper</th><th>Agent</th><th>Status</th><th>Wait</th><th>Duration</th><th>Outcome</th></tr>${calls.map((c) => `<tr data-testid="admin-call-row"><td>${esc(new Date(c.created_at).toLocaleTimeString())}</td><td>${esc(c.shopper.name)}</td><td>${esc(c.agent || "—")}</td><td>${esc(c.status)}</td><td>${c.wait_s != null ? clock(c.wait_s) : "—"}</td><td>${c.duration_s != null ? clock(c.duration_s) : "—"}</td><td>${esc(c.outcome || "—")}</td></tr>`).join("")}</table>`;
  } catch {}
}

// ------------------------------------------------------------------ accounts
/** Ask for a password in the dialog: the agent's own change (current + new) or an admin's reset of `who`. */
function askPassword(who) {
  const form = el("pwForm");
  form.reset();
  el("pwTitle").textContent = who ? `New password for ${who}` : "Change your password";
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
      note(who ? `Password of ${who} reset; their sessions are signed out.` : "Password changed; your other sessions are signed out.");
    } catch (err) {
      el("pwError").textContent = describeError(err);
      el("pwError").hidden = false;
    }
  };
}

async function manageAgent(who, act) {
  if (act === "reset") return askPassword(who);
  if (act === "delete" && !confirm(`Delete the account ${who}? Their sessions end now.`)) return;
  try {
    if (act === "delete") await api(`/v1/console/admin/agents/${encodeURIComponent(who)}`, {}, "DELETE");
    else await api(`/v1/console/admin/agents/${encodeURIComponent(who)}`, { disabled: act === "disable" }, "PATCH");
    note(`${who}: ${act === "delete" ? "deleted" : act === "disable" ? "disabled" : "enabled"}.`);
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
  document.title = n ? `(${n}) Incoming call · ${BASE_TITLE}` : agent ? `${agent.name} · ${BASE_TITLE}` : BASE_TITLE;
  if (!n) {
    box.innerHTML = `<div class="empty-queue"><span class="icon">${icons.clock}</span><p>No one is calling right now.<br>Calls are offered to you here while you are available.</p></div>`;
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
    const shopper = (info.shopper && info.shopper.name) || "Shopper";
    card.innerHTML = `
      <div class="row">
        <span class="ring-av sc-rings"><span class="sc-avatar">${esc(initials(shopper))}</span></span>
        <div class="who"><strong data-testid="incoming-shopper">${esc(shopper)}</strong><small data-wait>Ringing · 0:00</small></div>
      </div>
      ${ctx.product ? `<div class="ctx">${p ? `<img src="${esc(p.image_url)}" alt="">` : ""}<div><span>Looking at</span><b data-testid="incoming-product">${esc(p ? p.title : ctx.product)}</b></div></div>` : ""}
      <div class="actions">
        <button type="button" class="sc-btn" data-act="decline" data-testid="decline-call">Decline</button>
        <button type="button" class="sc-btn sc-btn--success" data-act="answer" data-testid="answer-call"${current ? ' disabled title="Finish your current call first"' : ""}>${icons.phone}Answer</button>
      </div>`;
  }
  tickWaits();
}

function tickWaits() {
  for (const card of document.querySelectorAll(".call-card")) {
    const info = ringing.get(card.dataset.call);
    const w = card.querySelector("[data-wait]");
    if (info && w) w.textContent = `Ringing · ${clock((Date.now() - info.receivedAt) / 1000)}`;
  }
}
setInterval(tickWaits, 1000);

async function answer(id, card) {
  const info = ringing.get(id);
  if (!info || current || !client) return;
  for (const b of card.querySelectorAll("button")) b.disabled = true;
  card.querySelector('[data-act="answer"]').innerHTML = `<span class="sc-spinner"></span>Answering…`;
  let room;
  try {
    ({ room } = await client.acceptCall(id));
  } catch (err) {
    removeCall(id);
    if (err.code === "call_taken") note(`${info.shopper.name}’s call was answered by another agent`, icons.user);
    else if (err.code === "call_not_found") note(`${info.shopper.name}’s call is no longer ringing`, icons.phone);
    else note(`Could not answer: ${describeError(err)}`, icons.alert, 5000);
    return;
  }
  removeCall(id);
  startCallView({ ...info, room: room || info.room });
}

async function decline(id) {
  const info = ringing.get(id);
  removeCall(id);
  if (client) client.declineCall(id).catch(() => {});
  if (info) note(`Declined ${info.shopper.name}’s call`, icons.phone, 2500);
}

// ------------------------------------------------------------------ in call
function startCallView(info) {
  const shopper = (info.shopper && info.shopper.name) || "Shopper";
  const ctx = info.context || {};
  const p = products.get(ctx.product);
  current = { ...info, view: null, startedAt: Date.now(), endedByMe: false, done: false };
  el("consoleView").classList.add("in-call");
  el("idleView").hidden = true;
  el("callView").hidden = false;
  renderQueue();

  el("ctxName").textContent = shopper;
  el("ctxAvatar").textContent = initials(shopper);
  el("ctxSince").textContent = `On call since ${new Date(current.startedAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`;
  el("ctxProd").hidden = !ctx.product;
  el("ctxTitle").textContent = p ? p.title : ctx.product || "";
  el("ctxPrice").textContent = p ? money(p.price, p.currency) : "";
  el("ctxSku").textContent = ctx.product ? `SKU ${ctx.product}` : "";
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
    ? `${cartCtx.items} item${cartCtx.items > 1 ? "s" : ""} · ${money(cartCtx.value || 0, cartCtx.currency)}` : "Empty";
  document.querySelector('[data-testid="call-notes"]').value = "";
  current.outcome = null;
  for (const b of document.querySelectorAll(".outcomes button")) b.setAttribute("aria-pressed", "false");
  document.querySelector(".context").classList.toggle("group", !!info.group);
  el("sessionBox").hidden = !info.group;
  if (info.group) {
    el("sessionLink").value = info.link;
    el("sessionCount").textContent = "No one has joined yet.";
  } else {
    loadCrm(info.call);
  }
  el("endCall").disabled = false;

  const view = document.createElement("shopcall-call");
  view.setAttribute("hangup-label", "End call");
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
      note(`${ev.name || shopper} added ${products.get(ev.sku)?.title || ev.sku} to the cart`, icons.cart);
    }
  });
  view.start({ client, room: current.room, localName: agent.name, remoteName: shopper }).catch((err) => {
    note(`Could not join the call: ${describeError(err)}`, icons.alert, 5000);
    endLocal();
  });
}

// ------------------------------------------------------------------ group sessions
el("hostSession").addEventListener("click", async () => {
  if (current || !client) return;
  el("hostSession").disabled = true;
  try {
    const s = await api("/v1/console/sessions", { title: `Live with ${agent.name}`, max_shoppers: 16 });
    startCallView({ call: null, room: s.room, group: true, link: s.join_url, shopper: { name: s.title }, context: {} });
  } catch (err) {
    note(`Could not start a session: ${describeError(err)}`, icons.alert, 5000);
  } finally {
    el("hostSession").disabled = false;
  }
});
el("copyLink").addEventListener("click", () => {
  navigator.clipboard.writeText(el("sessionLink").value).then(() => note("Link copied", icons.link, 2000), () => {
    el("sessionLink").select();
  });
});

/** The CRM panel: profile, lifetime value, orders, earlier notes; never holds up the call. */
async function loadCrm(callId) {
  const box = el("crm");
  box.innerHTML = `<div class="sc-muted" style="display:flex;gap:8px;align-items:center"><span class="sc-spinner"></span>Loading customer…</div>`;
  let data;
  try {
    data = await api(`/v1/console/calls/${encodeURIComponent(callId)}/crm`);
  } catch (err) {
    data = { crm: { status: "unavailable", error: `CRM unavailable: ${describeError(err)}` }, notes: [] };
  }
  if (!current || current.call !== callId) return;
  const { crm, notes } = data;
  let html = "";
  if (crm.status === "ok") {
    const p = crm.profile;
    const orders = p.orders || [];
    html += `<div><strong data-testid="crm-name">${esc(p.name)}</strong><br><small class="sc-muted">${esc(p.email || "")}${p.created_at ? ` · customer since ${new Date(p.created_at).toLocaleDateString()}` : ""}</small></div>
      <div class="ltv"><div><b data-testid="crm-ltv">${esc(money(p.lifetime_value, p.currency))}</b><span>lifetime value</span></div>
        <div><b data-testid="crm-orders-count">${p.orders_count ?? orders.length}</b><span>orders</span></div>
        <div><b>${orders.length ? esc(new Date(orders[0].placed_at).toLocaleDateString()) : "—"}</b><span>last order</span></div></div>
      <div class="orders" data-testid="crm-orders">${orders.slice(0, 8).map((o) => `<div class="order" data-testid="crm-order">
          <div class="top"><span>${esc(new Date(o.placed_at).toLocaleDateString())}</span><span>${esc(money(o.total, o.currency))}</span></div>
          <small>${(o.items || []).map((i) => `${i.quantity} × ${esc(i.title || i.sku || "item")}`).join(", ") || "—"}</small></div>`).join("")
        || `<small class="sc-muted">No orders yet.</small>`}</div>`;
  } else if (crm.status === "unavailable") {
    html += `<div class="unavail" data-testid="crm-unavailable">${esc(crm.error || "CRM unavailable")}</div>`;
  } else {
    html += `<div class="sc-muted" data-testid="crm-guest">Guest shopper — not signed in to the shop, so no customer record.</div>`;
  }
  const earlier = (notes || []).filter((n) => !n.this_call);
  if (earlier.length) {
    html += `<div><b>Earlier calls</b></div>` + earlier.slice(0, 5).map((n) => `<div class="note" data-testid="crm-note">${esc(n.text || "(no note)")}
      <small>${esc(new Date(n.at).toLocaleDateString())} · ${esc(n.agent)}${n.outcome ? ` · ${esc(n.outcome.replace("_", " "))}` : ""}</small></div>`).join("");
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
    if (!quiet) note("Write a note or choose an outcome first", icons.alert);
    return;
  }
  try {
    await api(`/v1/console/calls/${encodeURIComponent(call.call)}/notes`, { text, outcome: call.outcome });
    call.savedText = text;
    call.savedOutcome = call.outcome;
    if (!quiet) note("Notes saved", icons.check, 2500);
  } catch (err) {
    note(`Notes not saved: ${describeError(err)}`, icons.alert, 5000);
  }
}

/** Product picker: "Show" pushes a product card into the call. */
function renderCatalog(view) {
  const box = el("catalog");
  const ctx = (current && current.context) || {};
  const list = [...products.values()].sort((a, b) => (b.sku === ctx.product) - (a.sku === ctx.product));
  box.innerHTML = list.map((p) => `<div class="item" data-sku="${esc(p.sku)}">
      <img src="${esc(p.image_url)}" alt=""><div><b>${esc(p.title)}</b><small>${esc(money(p.price, p.currency))}</small></div>
      <button type="button" class="sc-btn sc-btn--sm" data-testid="show-product" data-sku="${esc(p.sku)}">Show</button></div>`).join("")
    || `<p class="sc-muted">No products in the catalogue.</p>`;
  for (const b of box.querySelectorAll("button")) {
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        const card = await client.pushProductCard(b.dataset.sku);
        view.chat.showSentCard(card);
        b.closest(".item").classList.add("shown");
        b.textContent = "Shown";
        note(`Showing ${card.title} to ${(current && current.shopper && current.shopper.name) || "the shopper"}`, icons.cart, 2500);
      } catch (err) {
        note(`Could not show the product: ${describeError(err)}`, icons.alert, 5000);
      } finally {
        setTimeout(() => { b.disabled = false; b.textContent = "Show"; }, 1500);
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
    endLocal("You left the call");
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
  if (current) endLocal(shopperLeft ? null : "Call ended");
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
    box.textContent = `${who} is reconnecting… their place is kept for ${left} s`;
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
  el("statTime").textContent = clock(stats.seconds);
  el("idleTitle").textContent = "Ready for the next call";
  if (message) note(`${message} · ${clock(secs)}`);
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
  document.title = BASE_TITLE;
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
