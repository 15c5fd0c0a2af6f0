// Script of pages/join.html (loaded as a module, so the page carries no inline script).
import { ShopCallClient, describeError } from "/static/sdk/shopcall.js";
import "/static/components/shopcall-call.js";
import "/static/components/shopcall-precall.js";
import { browserLocales, loadI18n, pickLocale, translateDom } from "/static/i18n/i18n.js";
import { el } from "/static/pages/ui.js";

// The guest's language: ?lang= (an invitation can carry it), else the browser's.
const lang = pickLocale([new URLSearchParams(location.search).get("lang") || "", ...browserLocales()]);
const i18n = await loadI18n(["common", "join", "call", "chat", "precall", "errors"], lang);
const t = (key, values) => i18n.t(key, values);
translateDom(document, i18n);
document.title = t("join.pageTitle");

const room = location.pathname.split("/").pop();
const invite = new URLSearchParams(location.search).get("invite") || "";
const precall = document.querySelector("shopcall-precall");
precall.i18n = i18n;
const nameInput = document.querySelector('[data-testid="join-name"]');
nameInput.value = localStorage.getItem("shopcall.guest.name") || t("call.guest");
precall.open();
el("camera").addEventListener("change", () => {
  for (const t of (precall.stream && precall.stream.getVideoTracks()) || []) t.enabled = el("camera").checked;
});

function fail(text) {
  el("error").textContent = text;
  el("error").hidden = false;
  document.querySelector('[data-testid="join-button"]').disabled = false;
}

el("form").addEventListener("submit", async (e) => {
  e.preventDefault();
  el("error").hidden = true;
  document.querySelector('[data-testid="join-button"]').disabled = true;
  const name = nameInput.value.trim() || t("call.guest");
  localStorage.setItem("shopcall.guest.name", name);
  let grant;
  try {
    const res = await fetch(`/v1/join/${encodeURIComponent(room)}`, {
      method: "POST", headers: { "Content-Type": "application/json", "Accept-Language": i18n.locale },
      body: JSON.stringify({ invite, name }),
    });
    grant = await res.json();
    if (!res.ok) return fail(grant.error ? grant.error.message : t("join.httpError", { status: res.status }));
  } catch (err) {
    return fail(t("join.unreachable"));
  }
  // camera optional: without it, only the microphone is sent
  let { stream, problems } = precall.take();
  if (stream && !el("camera").checked) {
    for (const t of stream.getVideoTracks()) { t.stop(); stream.removeTrack(t); }
  }
  const client = new ShopCallClient({ tokenProvider: null });
  window.shopcall = { client };
  try {
    await client.connect(grant.token);
  } catch (err) {
    return fail(describeError(err, i18n));
  }
  el("lobby").hidden = true;
  el("stage").hidden = false;
  document.title = t("join.liveTitle", { title: grant.title });
  const view = document.createElement("shopcall-call");
  view.i18n = i18n;
  view.setAttribute("local-name", name);
  view.setAttribute("hangup-label", t("join.leave"));
  el("stage").replaceChildren(view);
  window.shopcall.view = view;
  const done = (text) => {
    view.stop();
    const box = document.createElement("div");
    box.className = "ended";
    box.style.margin = "auto";
    const h = document.createElement("h2");
    h.textContent = text; // may carry the host's display name: text, never markup
    const p = document.createElement("p");
    p.className = "sc-muted";
    p.textContent = t("join.closeWindow");
    box.append(h, p);
    el("stage").replaceChildren(box);
    client.close();
  };
  view.addEventListener("hangup", async () => {
    await client.leave().catch(() => {});
    done(t("join.youLeft"));
  });
  client.on("room-ended", () => done(t("join.ended")));
  client.on("removed", ({ by }) => setTimeout(() => done(t("join.removed", { name: by || t("call.theHost") })), 1500));
  view.start({ client, room: grant.room, stream, problems: problems || [], localName: name }).catch((err) => {
    done(t("join.couldNotJoin", { reason: describeError(err, i18n) }));
  });
});
