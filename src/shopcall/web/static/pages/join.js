// Script of pages/join.html (loaded as a module, so the page carries no inline script).
import { ShopCallClient, describeError } from "/static/sdk/shopcall.js";
import "/static/components/shopcall-call.js";
import "/static/components/shopcall-precall.js";
import { el } from "/static/pages/ui.js";

const room = location.pathname.split("/").pop();
const invite = new URLSearchParams(location.search).get("invite") || "";
const precall = document.querySelector("shopcall-precall");
const nameInput = document.querySelector('[data-testid="join-name"]');
nameInput.value = localStorage.getItem("shopcall.guest.name") || "Guest";
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
  const name = nameInput.value.trim() || "Guest";
  localStorage.setItem("shopcall.guest.name", name);
  let grant;
  try {
    const res = await fetch(`/v1/join/${encodeURIComponent(room)}`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ invite, name }),
    });
    grant = await res.json();
    if (!res.ok) return fail(grant.error ? grant.error.message : `HTTP ${res.status}`);
  } catch (err) {
    return fail(`Could not reach the session: ${err.message}`);
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
    return fail(describeError(err));
  }
  el("lobby").hidden = true;
  el("stage").hidden = false;
  document.title = `${grant.title} · live`;
  const view = document.createElement("shopcall-call");
  view.setAttribute("local-name", name);
  view.setAttribute("hangup-label", "Leave the session");
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
    p.textContent = "You can close this window.";
    box.append(h, p);
    el("stage").replaceChildren(box);
    client.close();
  };
  view.addEventListener("hangup", async () => {
    await client.leave().catch(() => {});
    done("You left the session");
  });
  client.on("room-ended", () => done("The session has ended"));
  client.on("removed", ({ by }) => setTimeout(() => done(`${by || "The host"} removed you from the session`), 1500));
  view.start({ client, room: grant.room, stream, problems: problems || [], localName: name }).catch((err) => {
    done(`Could not join: ${describeError(err)}`);
  });
});
