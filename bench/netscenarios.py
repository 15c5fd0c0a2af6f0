"""Issue 12's network scenarios, shared by bench/reconnect.py and the tests in tests/netns: a real call whose
shopper sits in a network namespace (bench/netimpair.py) while the agent stays on the host, and the
network events done to the shopper's link — UDP blocked, only TCP to a few ports, a total outage, an
address change — with what the pages saw (frames, selected candidate pair, ICE states, signalling).

- `ShopperLink`: the namespace's veth end as a firewall and an ISP see it. Rules are stateless nftables
  chains in the namespace's `netdev` ingress/egress hooks: a dropped packet vanishes (as at a firewall
  upstream) instead of failing the browser's `send()`. The link is widened from netimpair's /30 to a /24
  at the start, so the shopper can be renumbered within its subnet.
- `PROBE_JS`: an in-page recorder (installed after tests/e2e/browser.PC_PROBE): per peer connection its
  ICE and connection states, ICE-restart offers and ufrag changes; the signalling socket's open/close and
  the requests the page sent; and, once started, a 100 ms sampler of decoded video frames (wall-clock
  times, so two browsers' samples compare).
- `Rig`: the namespace, ShopCall (its Janus and its managed coturn on fixed free ports) and two Chromiums;
  optionally a raw Janus with janus.js for the baseline (bench only).
- `ShopCallCall` / `JanusCall`: one call through the demo shop and the agent console, or through janus.js
  with Janus's defaults (each side publishes and subscribes to the other).

The page and the signalling reach ShopCall from the namespace through a TCP forwarder on the host end of
the veth (ShopCall listens on loopback), so "the control-plane port" a firewall must let through is that
forwarder's port. Needs root.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from harness import FRAME_JS, BaselineJanus, LoopThread, StaticServer, TcpForward
from netimpair import NetNS, sh

from tests.e2e.browser import CHROMIUM, PC_PROBE, launch
from tests.e2e.journeys import sign_in_agent, start_call
from tests.e2e.polling import wait_until
from tests.e2e.server import Server, start_server, stop_server

FW_TABLE = "shopcall_fw"
PRIORITY = -50  # before netimpair's loss chains (priority 0)
SAMPLE_MS = 100


def now_ms() -> float:
    return time.time() * 1000


# ----------------------------------------------------------------------------- the shopper's link


class ShopperLink:
    """Firewall rules and address changes on the namespace's side of the veth."""

    def __init__(self, ns: NetNS) -> None:
        self.ns = ns
        self.prefix = ns.host_ip.rsplit(".", 1)[0]
        self.address = ns.ns_ip
        self._widen()

    def _widen(self) -> None:
        """/30 → /24 on both ends: room for a new shopper address in the same subnet."""
        ns = self.ns
        sh(["ip", "addr", "del", f"{ns.host_ip}/30", "dev", ns.host_if])
        sh(["ip", "addr", "add", f"{ns.host_ip}/24", "dev", ns.host_if])
        ns.ns_sh(["ip", "addr", "del", f"{ns.ns_ip}/30", "dev", ns.ns_if])
        ns.ns_sh(["ip", "addr", "add", f"{ns.ns_ip}/24", "dev", ns.ns_if])
        ns.ns_sh(["ip", "route", "replace", "default", "via", ns.host_ip, "dev", ns.ns_if])

    def _rules(self, inbound: list[str], outbound: list[str], policy: str) -> None:
        self.clear()
        dev = self.ns.ns_if

        def chain(name: str, hook: str, rules: list[str]) -> str:
            body = "".join(f"    {r}\n" for r in rules)
            return (f"  chain {name} {{\n    type filter hook {hook} device \"{dev}\" priority {PRIORITY}; "
                    f"policy {policy};\n{body}    counter\n  }}\n")

        self.ns.ns_sh(["nft", "-f", "-"], input=(
            f"table netdev {FW_TABLE} {{\n{chain('in', 'ingress', inbound)}{chain('out', 'egress', outbound)}}}\n"))

    def block_udp(self) -> None:
        """Drop every UDP packet in and out (a network that lets only TCP through)."""
        rule = ["meta l4proto udp counter drop"]
        self._rules(rule, rule, "accept")

    def allow_only_tcp(self, ports: list[int]) -> None:
        """Drop everything but TCP between the shopper and the host's `ports` (and ARP, to find the host)."""
        plist = ", ".join(str(p) for p in ports)
        host = self.ns.host_ip
        self._rules(["ether type arp accept", f"ip saddr {host} tcp sport {{ {plist} }} accept"],
                    ["ether type arp accept", f"ip daddr {host} tcp dport {{ {plist} }} accept"], "drop")

    def cut(self) -> None:
        """A total outage: every frame in both directions dropped (the link itself stays up)."""
        self._rules([], [], "drop")

    def clear(self) -> None:
        self.ns.ns_sh(["nft", "delete", "table", "netdev", FW_TABLE], check=False)

    def dropped(self) -> int:
        """Packets the rules dropped so far (drop rules' counters, or what reached the policy)."""
        r = self.ns.ns_sh(["nft", "-j", "list", "table", "netdev", FW_TABLE], check=False)
        if r.returncode != 0:
            return 0
        total = 0
        rules = [x["rule"] for x in json.loads(r.stdout)["nftables"] if "rule" in x]
        for rule in rules:
            exprs = rule["expr"]
            counters = [e["counter"]["packets"] for e in exprs if "counter" in e]
            is_drop = any("drop" in e for e in exprs)
            is_policy_tail = len(exprs) == 1 and "counter" in exprs[0]  # the chain's last rule: what the policy gets
            if counters and (is_drop or (is_policy_tail and self._policy_drop(rule["chain"], r.stdout))):
                total += counters[0]
        return total

    @staticmethod
    def _policy_drop(chain: str, listing: str) -> bool:
        for x in json.loads(listing)["nftables"]:
            if "chain" in x and x["chain"]["name"] == chain:
                return bool(x["chain"].get("policy") == "drop")
        return False

    def renumber(self) -> str:
        """Move the shopper to a new address in the same subnet: old one removed, new one added, default
        route set again (it went with the old address). Returns the new address."""
        last = int(self.address.rsplit(".", 1)[1])
        new = f"{self.prefix}.{last + 1 if last < 250 else 2}"
        dev = self.ns.ns_if
        self.ns.ns_sh(["ip", "addr", "del", f"{self.address}/24", "dev", dev])
        self.ns.ns_sh(["ip", "addr", "add", f"{new}/24", "dev", dev])
        self.ns.ns_sh(["ip", "route", "replace", "default", "via", self.ns.host_ip, "dev", dev])
        self.address = new
        return new


# ----------------------------------------------------------------------------- in-page recorder

PROBE_JS = """
(() => {
  const t0 = Date.now();
  const log = [];
  const note = (what, pc, detail) => log.push([Date.now(), pc, what, detail === undefined ? "" : String(detail)]);
  const ufrag = (d) => (d && d.sdp && (d.sdp.match(/a=ice-ufrag:(\\S+)/) || [])[1]) || "";
  const Base = window.RTCPeerConnection;  // tests/e2e/browser.PC_PROBE's recorder
  window.RTCPeerConnection = function (...args) {
    const pc = new Base(...args);
    const i = window.__pcs.indexOf(pc);
    note("pc", i, "new");
    pc.addEventListener("iceconnectionstatechange", () => note("ice", i, pc.iceConnectionState));
    pc.addEventListener("connectionstatechange", () => note("conn", i, pc.connectionState));
    const createOffer = pc.createOffer.bind(pc);
    pc.createOffer = (...a) => {
      if (a[0] && a[0].iceRestart) note("offer-ice-restart", i);
      return createOffer(...a);
    };
    const restartIce = pc.restartIce.bind(pc);
    pc.restartIce = () => { note("restartIce", i); return restartIce(); };
    let lastLocal = "", lastRemote = "";
    const watch = (kind, get) => () => {
      const u = ufrag(get());
      if (kind === "local" ? u !== lastLocal : u !== lastRemote) {
        if ((kind === "local" ? lastLocal : lastRemote) !== "") note("ufrag-" + kind, i, u);
        if (kind === "local") lastLocal = u; else lastRemote = u;
      }
    };
    const sld = pc.setLocalDescription.bind(pc), srd = pc.setRemoteDescription.bind(pc);
    pc.setLocalDescription = (...a) => sld(...a).then((r) => {
      watch("local", () => pc.localDescription)();
      return r;
    });
    pc.setRemoteDescription = (...a) => srd(...a).then((r) => {
      watch("remote", () => pc.remoteDescription)();
      return r;
    });
    return pc;
  };
  window.RTCPeerConnection.prototype = Base.prototype;
  Object.setPrototypeOf(window.RTCPeerConnection, Base);

  const QUIET = new Set(["trickle", "ping", "pong", "quality", "quality_ack", "keepalive", "ack", "visitor_event",
                         "participant_quality", "queue_update"]);
  const WS = window.WebSocket;
  window.WebSocket = function (url, protocols) {
    const ws = protocols === undefined ? new WS(url) : new WS(url, protocols);
    note("ws", -1, "connecting");
    ws.addEventListener("open", () => note("ws", -1, "open"));
    ws.addEventListener("close", (e) => note("ws", -1, "close " + e.code));
    ws.addEventListener("message", (e) => {
      try {
        const m = JSON.parse(e.data);
        if (m.type && !m.janus && !QUIET.has(m.type)) note("recv", -1, m.type + (m.state ? " " + m.state : "")
          + (m.target ? " " + m.target : ""));
      } catch (err) { /* not JSON */ }
    });
    const send = ws.send.bind(ws);
    ws.send = (data) => {
      try {
        const m = JSON.parse(data);
        const t = m.type || (m.janus === "message" ? "janus:" + ((m.body || {}).request || "") : null);
        const restart = m.restart || (m.body && m.body.restart);
        if (t && !QUIET.has(t)) note("send", -1, t + (restart ? " restart" : ""));
      } catch (err) { /* not JSON */ }
      return send(data);
    };
    return ws;
  };
  window.WebSocket.prototype = WS.prototype;
  Object.setPrototypeOf(window.WebSocket, WS);

  window.__rc = {
    t0, log, note, samples: [], max: new Map(), rtp: new Map(), timer: null, busy: false,
    /** Also record the ShopCall SDK's own events of the page's client (the demo pages expose it). */
    hookSdk() {
      const sc = window.ShopCall || window.shopcall; const c = sc && sc.client;
      if (!c || c.__rcHooked) return !!c;
      c.__rcHooked = true;
      const log = c._log.bind(c);  // the SDK's own reasoning (probes, drops, restarts) in the timeline
      c._log = (...a) => {
        note("log", -1, a.map((x) => (x && x.code) || String(x)).join(" ").slice(0, 100));
        log(...a);
      };
      for (const t of ["ice-restart", "media-health", "connection-state"]) {
        c.addEventListener(t, (e) => note("sdk", -1, t + " " + JSON.stringify(e.detail)));
      }
      return true;
    },
    /** The SDK's count of ICE restarts it started (null without an SDK client on the page). */
    sdkRestarts() {
      const sc = window.ShopCall || window.shopcall; const c = sc && sc.client;
      return c ? (c.iceRestarts || 0) : null;
    },
    /** Decoded video frames so far, summed over every peer connection this page ever had. */
    async frames() {
      for (const pc of window.__pcs) {
        if (pc.connectionState === "closed") continue;
        let n = 0;
        const i = window.__pcs.indexOf(pc);
        (await pc.getStats()).forEach((s) => {
          if (s.type !== "inbound-rtp" || s.kind !== "video") return;
          n += s.framesDecoded || 0;
          // what the receiver did about a gap: packets stalled and resumed, key frames asked for and got
          const prev = this.rtp.get(s.id) || {};
          const cur = { p: s.packetsReceived || 0, pli: s.pliCount || 0, kf: s.keyFramesDecoded || 0 };
          if (prev.p !== undefined) {
            if (cur.p === prev.p && !prev.stalled) { cur.stalled = true; note("rtp", i, "packets stalled"); }
            else if (cur.p === prev.p) cur.stalled = true;
            else if (prev.stalled) note("rtp", i, "packets resume");
            if (cur.pli !== prev.pli) note("rtp", i, "pli sent #" + cur.pli);
            if (cur.kf !== prev.kf && (prev.stalled || cur.pli !== prev.pli)) note("rtp", i, "key frame decoded");
          }
          this.rtp.set(s.id, cur);
        });
        this.max.set(pc, Math.max(n, this.max.get(pc) || 0));
      }
      let total = 0;
      for (const v of this.max.values()) total += v;
      return total;
    },
    start(everyMs) {
      if (this.timer) return;
      this.timer = setInterval(async () => {
        if (this.busy) return;
        this.busy = true;
        try { this.samples.push([Date.now(), await this.frames()]); } finally { this.busy = false; }
      }, everyMs);
    },
    /** Wall-clock ms of the first sample after `t` whose frame count grew; null if none yet. With `stallFrom`,
     *  only growth after a stall counts: two samples in a row without a new frame, seen after `stallFrom`
     *  (so frames still draining from the jitter buffer right after a cut are not "media back"). */
    firstFrameAfter(t, stallFrom) {
      let still = 0;
      for (let k = 1; k < this.samples.length; k++) {
        const [ts, n] = this.samples[k];
        const grew = n > this.samples[k - 1][1];
        if (stallFrom != null) {
          if (ts <= stallFrom) continue;
          if (!grew) { still += 1; continue; }
          if (still < 2) { still = 0; continue; }
        }
        if (ts > t && grew) return ts;
      }
      return null;
    },
    /** Frames decoded between wall-clock ms `a` and `b` (from the samples). */
    framesBetween(a, b) {
      const inside = this.samples.filter(([ts]) => ts >= a && ts <= b);
      return inside.length ? inside[inside.length - 1][1] - inside[0][1] : null;
    },
    /** The selected candidate pair of each open peer connection. */
    async paths() {
      const out = [];
      for (const pc of window.__pcs) {
        if (pc.connectionState === "closed") continue;
        const stats = await pc.getStats();
        let pairId = null;
        stats.forEach((s) => {
          if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
        });
        const pair = pairId ? stats.get(pairId) : null;
        const loc = pair ? stats.get(pair.localCandidateId) : null;
        const rem = pair ? stats.get(pair.remoteCandidateId) : null;
        out.push({ index: window.__pcs.indexOf(pc), state: pc.connectionState,
                   local: loc ? { type: loc.candidateType, protocol: loc.protocol,
                                  relayProtocol: loc.relayProtocol || null, address: loc.address, port: loc.port,
                                  url: loc.url || null } : null,
                   remote: rem ? { type: rem.candidateType, address: rem.address, port: rem.port } : null });
      }
      return out;
    },
    /** ufrag (local/remote) per peer connection, open or not. */
    ufrags() {
      return window.__pcs.map((pc) => ufrag(pc.localDescription) + "/" + ufrag(pc.remoteDescription));
    },
  };
})();
"""

# What the raw-Janus page (bench/pages/weaknet_janus.html) expects besides janus.js: capture constraints and helpers.
JANUS_PAGE_JS = ("window.__weak = {\n  constraints: { audio: true, video: { width: 640, height: 480 } },"
                 + FRAME_JS + "};\n")


@dataclass
class Side:
    """One page of a call ("shopper": in the namespace, "agent": on the host) with PROBE_JS installed; the
    methods read what its recorder saw."""

    name: str
    ctx: Any
    page: Any

    def start_sampling(self) -> None:
        self.page.evaluate(f"window.__rc.start({SAMPLE_MS})")

    def first_frame_after(self, t_ms: float, stall_from_ms: float | None = None) -> float | None:
        v = self.page.evaluate("([t, s]) => window.__rc.firstFrameAfter(t, s)", [t_ms, stall_from_ms])
        return None if v is None else float(v)

    def frames_between(self, a_ms: float, b_ms: float) -> int | None:
        v = self.page.evaluate("([a, b]) => window.__rc.framesBetween(a, b)", [a_ms, b_ms])
        return None if v is None else int(v)

    def frames(self) -> int:
        return int(self.page.evaluate("window.__rc.frames()"))

    def paths(self) -> list[dict[str, Any]]:
        return list(self.page.evaluate("window.__rc.paths()"))

    def ufrags(self) -> list[str]:
        return list(self.page.evaluate("window.__rc.ufrags()"))

    def hook_sdk(self) -> bool:
        return bool(self.page.evaluate("window.__rc.hookSdk()"))

    def sdk_restarts(self) -> int | None:
        v = self.page.evaluate("window.__rc.sdkRestarts()")
        return None if v is None else int(v)

    def pc_count(self) -> int:
        return int(self.page.evaluate("window.__pcs.length"))

    def timeline(self, since_ms: float) -> list[tuple[float, int, str, str]]:
        rows = self.page.evaluate("t => window.__rc.log.filter((r) => r[0] >= t)", since_ms)
        return [(float(t), int(pc), str(what), str(detail)) for t, pc, what, detail in rows]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ctx.close()


def path_label(paths: list[dict[str, Any]]) -> str | None:
    """"relay-tcp", "relay-tls", "relay-udp", "host", … for the selected pairs of a page's connections
    (joined by "+" if they differ); None without a selected pair."""
    labels = set()
    for p in paths:
        loc = p.get("local")
        if not loc:
            continue
        labels.add(f"relay-{loc['relayProtocol']}" if loc["type"] == "relay" else str(loc["type"]))
    return "+".join(sorted(labels)) or None


def format_timeline(sides: list[Side], t0_ms: float, marks: dict[str, float]) -> str:
    """One merged, time-ordered timeline of both pages' recorders and the bench's own marks (ms after t0)."""
    rows = [(t, f"{s.name}", f"{what}{'' if pc < 0 else f'[pc{pc}]'} {detail}".rstrip())
            for s in sides for t, pc, what, detail in s.timeline(t0_ms - 5000)]
    rows += [(t, "bench", what) for what, t in marks.items()]
    rows.sort()
    return "\n".join(f"{t - t0_ms:+8.0f} ms  {who:<8} {what}" for t, who, what in rows)


def wait_first_frames(sides: list[Side], after_ms: float, timeout_s: float,
                      stall_from_ms: float | None = None) -> dict[str, float | None]:
    """Per side, the wall-clock ms of its first newly decoded frame after `after_ms` (after a stall seen since
    `stall_from_ms`, if given); waits until every side has one or `timeout_s` has passed (None for the rest)."""
    deadline = time.monotonic() + timeout_s
    got: dict[str, float | None] = {s.name: None for s in sides}
    while True:
        for s in sides:
            if got[s.name] is None:
                got[s.name] = s.first_frame_after(after_ms, stall_from_ms)
        if all(v is not None for v in got.values()) or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def media_back_ms(sides: list[Side], restored_ms: float, timeout_s: float,
                  stall_from_ms: float) -> tuple[float | None, dict[str, Any]]:
    """Time from `restored_ms` until both sides decode a new frame after their stall (None if either does not
    within `timeout_s`), and the per-side figures."""
    got = wait_first_frames(sides, restored_ms, timeout_s, stall_from_ms)
    per_side = {k: (None if v is None else round(v - restored_ms)) for k, v in got.items()}
    if any(v is None for v in got.values()):
        return None, per_side
    return round(max(v for v in got.values() if v is not None) - restored_ms), per_side


# ----------------------------------------------------------------------------- the rig


def free_udp_tcp_port() -> int:
    """A port free for both TCP and UDP on every address (TURN listens on both)."""
    for _ in range(50):
        with socket.socket() as t:
            t.bind(("0.0.0.0", 0))
            port = int(t.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("0.0.0.0", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no port free for both TCP and UDP")


def free_udp_range(count: int, low: int = 52000, high: int = 60000) -> int:
    """The first port of `count` consecutive UDP ports nobody has bound (others run Janus and coturn too)."""
    import random

    for _ in range(50):
        base = random.randrange(low, high - count, 100)
        socks: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(u)
                u.bind(("0.0.0.0", port))
            return base
        except OSError:
            continue
        finally:
            for u in socks:
                u.close()
    raise RuntimeError(f"no {count} consecutive free UDP ports in {low}..{high}")


@dataclass
class RigOptions:
    rtp_base: int  # ShopCall's Janus: rtp_base..+99; coturn's relay ports +100..+199; raw Janus +200..+299
    baseline: bool = False  # also a raw Janus + janus.js page (the benchmark)
    chromium_args: tuple[str, ...] = ()


class Rig:
    """Everything a scenario runs on. Built in order: the namespace first (coturn listens on the addresses the
    host has when it starts, which must include the veth's host end), then ShopCall with managed TURN on free
    ports, the forwarders, the browsers. `close()` takes it all down, namespace last."""

    def __init__(self, tmp: Path, playwright: Any, opts: RigOptions) -> None:
        self.tmp = tmp
        self.opts = opts
        self.ns = NetNS()
        self.loop = LoopThread("netscenarios")
        self.server: Server | None = None
        self.janus: BaselineJanus | None = None
        self.static: StaticServer | None = None
        self.forwards: list[TcpForward] = []
        self.browsers: list[Any] = []
        try:
            self._build(playwright)
        except BaseException:
            self.close()
            raise

    def _build(self, playwright: Any) -> None:
        self.ns.create()
        self.link = ShopperLink(self.ns)
        self.turn_port = free_udp_tcp_port()
        self.turn_tls_port = free_udp_tcp_port()
        base = self.opts.rtp_base
        (self.tmp / "shopcall").mkdir(exist_ok=True)
        self.server = start_server(self.tmp / "shopcall", rtp_base=base, rtp_count=100, env={
            "SHOPCALL_TURN_MODE": "managed", "SHOPCALL_TURN_PORT": str(self.turn_port),
            "SHOPCALL_TURN_TLS_PORT": str(self.turn_tls_port), "SHOPCALL_TURN_RELAY_PORT_MIN": str(base + 100),
            "SHOPCALL_TURN_RELAY_PORT_MAX": str(base + 199)})
        self.control_fwd = TcpForward(self.loop, self.ns.host_ip, int(self.server.base.rsplit(":", 1)[1]))
        self.forwards.append(self.control_fwd)
        self.sc_base = f"http://{self.ns.host_ip}:{self.control_fwd.port}"  # ShopCall as the shopper reaches it
        origins = [self.sc_base]
        if self.opts.baseline:
            self.janus = BaselineJanus(self.tmp / "baseline", base + 200, base + 299, self.loop, "reconnect baseline")
            self.static = StaticServer("weaknet_janus.html", self.ns.host_ip)
            jfwd = TcpForward(self.loop, self.ns.host_ip, self.janus.config.ports.ws)
            self.forwards.append(jfwd)
            self.janus_ws_ns = f"ws://{self.ns.host_ip}:{jfwd.port}"
            origins.append(self.static.base)
        # The namespace's pages come from a non-loopback http origin: declared secure, so getUserMedia works.
        # Chromium (156 here) verifies a TURN server's TLS certificate: with coturn's self-signed development
        # certificate no turns: allocation is made (the TLS-only call never connects) unless certificate
        # errors are ignored. A production TURN needs a certificate browsers trust.
        args = ["--disable-renderer-backgrounding", "--disable-background-timer-throttling",
                "--disable-backgrounding-occluded-windows", "--ignore-certificate-errors",
                f"--unsafely-treat-insecure-origin-as-secure={','.join(origins)}", *self.opts.chromium_args]
        self.host_browser = launch(playwright, args)
        self.browsers.append(self.host_browser)
        self.ns_browser = launch(playwright, args, executable=str(self.ns.wrapper(CHROMIUM, self.tmp)))
        self.browsers.append(self.ns_browser)

    @property
    def control_ports(self) -> list[int]:
        """TCP ports on the host end the shopper's page and signalling need (the forwarder to ShopCall)."""
        return [self.control_fwd.port]

    def new_side(self, name: str, where: str, width: int = 1280, height: int = 800) -> Side:
        browser = self.ns_browser if where == "ns" else self.host_browser
        ctx = browser.new_context(viewport={"width": width, "height": height})
        ctx.add_init_script(PC_PROBE)
        ctx.add_init_script(PROBE_JS)
        return Side(name, ctx, ctx.new_page())

    def janus_sessions(self, system: str) -> list[int]:
        if system == "janus":
            assert self.janus is not None
            return self.janus.sessions()
        assert self.server is not None
        return self.server.janus_sessions()

    def close(self) -> None:
        for b in self.browsers:
            with contextlib.suppress(Exception):
                b.close()
        for f in self.forwards:
            with contextlib.suppress(Exception):
                f.close()
        if self.static is not None:
            self.static.stop()
        if self.janus is not None:
            with contextlib.suppress(Exception):
                self.janus.stop()
        if self.server is not None:
            stop_server(self.server.proc)
        self.loop.stop()
        self.ns.close()


@contextlib.contextmanager
def rig(tmp: Path, opts: RigOptions) -> Iterator[Rig]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        r = Rig(tmp, pw, opts)
        try:
            yield r
        finally:
            r.close()


# ----------------------------------------------------------------------------- calls


def janus_feeds(server: Server) -> dict[int, int]:
    """{Janus handle id: VideoRoom feed id} of every publisher handle of ShopCall's Janus (admin API)."""
    from shopcall.media.janus_config import read_admin_endpoint

    url, secret = read_admin_endpoint(server.data_dir / "janus")

    def ask(path: str, request: str) -> dict[str, Any]:
        r = httpx.post(f"{url}{path}", json={"janus": request, "transaction": secrets.token_hex(6),
                                             "admin_secret": secret}, timeout=5)
        out: dict[str, Any] = r.json()
        return out

    feeds: dict[int, int] = {}
    for session in ask("", "list_sessions").get("sessions", []):
        for handle in ask(f"/{session}", "list_handles").get("handles", []):
            info = ask(f"/{session}/{handle}", "handle_info").get("info", {})
            ps = info.get("plugin_specific", {})
            if ps.get("type") == "publisher" and "id" in ps:
                feeds[int(handle)] = int(ps["id"])
    return feeds


class Call:
    """A call between the shopper (namespace) and the agent (host) with its two recorded pages."""

    system = ""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.close_error: str | None = None
        self.shopper: Side | None = None
        self.agent: Side | None = None

    @property
    def sides(self) -> list[Side]:
        return [s for s in (self.shopper, self.agent) if s is not None]

    def start(self, timeout_s: float = 30) -> float:
        """Set the call up; returns the wall-clock ms at which media was first asked for (after which
        `first_frames` counts)."""
        raise NotImplementedError

    def close(self) -> None:
        for s in self.sides:
            s.close()
        with contextlib.suppress(Exception):
            wait_until(lambda: not self.rig.janus_sessions(self.system), 15, f"{self.system} sessions released", 0.2)


class ShopCallCall(Call):
    """The product path: the shopper presses "Video call an expert" on the demo shop (in the namespace),
    Anna answers in the console (on the host)."""

    system = "shopcall"

    def start(self, timeout_s: float = 30) -> float:
        assert self.rig.server is not None
        self.agent = self.rig.new_side("agent", "host")
        try:
            sign_in_agent(self.agent.page, self.rig.server.base, "anna")
        except Exception:  # noqa: BLE001 - busy: a previous call may be held for a reconnect (60 s grace)
            status = self.agent.page.get_by_test_id("agent-status")
            try:
                status.filter(has_text="Online").wait_for(timeout=75000)
            except Exception as e:
                raise RuntimeError(f"Anna is not online in the console (status {status.all_inner_texts()})") from e
        self.shopper = self.rig.new_side("shopper", "ns", 390, 844)
        start_call(self.shopper.page, self.rig.sc_base, name="Netns shopper")
        answer = self.agent.page.get_by_test_id("answer-call").first
        answer.wait_for(timeout=timeout_s * 1000)
        for s in self.sides:
            s.start_sampling()
        t = now_ms()
        answer.click()
        return t

    def in_call(self) -> bool:
        """Both UIs still show the call (the agent can end it, the shopper has not been offered to call again)."""
        assert self.agent is not None and self.shopper is not None
        return bool(self.agent.page.get_by_test_id("end-call").first.is_visible()
                    and not self.shopper.page.get_by_test_id("call-again").first.is_visible())

    def calls(self) -> list[tuple[str, str, str]]:
        """(call id, room id, status) of every call of the run so far."""
        assert self.rig.server is not None
        return [(str(r[0]), str(r[1]), str(r[2])) for r in
                self.rig.server.sql("SELECT id, room_id, status FROM calls ORDER BY created_at")]

    def close(self) -> None:
        """The agent ends the call (the next call needs Anna free, not in a call kept for a reconnect)."""
        if self.agent is not None:
            end = self.agent.page.get_by_test_id("end-call")
            clicked = ""
            click_ms = now_ms()
            try:
                end.click(timeout=5000)
            except Exception as e:  # noqa: BLE001 - on a loaded machine the click can outlast its timeout
                lines = [x.strip() for x in str(e).splitlines() if x.strip()]
                clicked = "End call click: " + " / ".join(lines[:1] + lines[-1:])[:300]
                with contextlib.suppress(Exception):
                    if end.first.is_visible():
                        end.dispatch_event("click")
            if self.shopper is not None:
                try:
                    self.shopper.page.get_by_test_id("call-again").wait_for(timeout=15000)
                except Exception as e:  # noqa: BLE001 - reported: the call did not end, the next may find Anna busy
                    self.close_error = f"{clicked}; shopper not offered Call again: {str(e).splitlines()[0]}"
                    with contextlib.suppress(Exception):
                        shot = self.rig.tmp / f"end-call-{int(time.time())}.png"
                        self.agent.page.screenshot(path=str(shot))
                        self.close_error += f" (agent's console: {shot})"
            # the call must have ended on the server too, or the next call finds Anna busy with it
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.calls() and self.calls()[-1][2] == "answered":
                time.sleep(0.3)
            if self.calls() and self.calls()[-1][2] == "answered":
                with contextlib.suppress(Exception):
                    rows = [f"{t - click_ms:+.0f} {who} {what} {detail}" for who, side in (("agent", self.agent),
                            ("shopper", self.shopper)) if side is not None
                            for t, _pc, what, detail in side.timeline(click_ms - 3000)]
                    self.close_error = (self.close_error or "") + " the call is still answered on the server after " \
                        "End call: " + " | ".join(rows)[-1500:]
        super().close()


class JanusCall(Call):
    """The baseline: janus.js straight to a raw Janus (Janus's defaults, no TURN, no restart logic); each page
    publishes camera+mic and subscribes to the other's feed."""

    system = "janus"

    def start(self, timeout_s: float = 30) -> float:
        rig = self.rig
        assert rig.janus is not None and rig.static is not None
        self.room = rig.janus.create_room()
        self.agent = rig.new_side("agent", "host")
        self.shopper = rig.new_side("shopper", "ns", 390, 844)
        feeds = {"agent": secrets.randbelow(2**50) + 1, "shopper": secrets.randbelow(2**50) + 1}
        servers = {"agent": rig.janus.ws_url, "shopper": rig.janus_ws_ns}
        for s in self.sides:
            s.page.add_init_script(JANUS_PAGE_JS)
            s.page.goto(rig.static.page_url)
            s.page.wait_for_function("window.benchReady === true", timeout=15000)
            s.start_sampling()
        t = now_ms()
        for s in self.sides:
            s.page.evaluate("a => benchPublish(a)", {"server": servers[s.name], "room": self.room,
                                                     "feed": feeds[s.name]})
        for s, other in ((self.agent, "shopper"), (self.shopper, "agent")):
            s.page.evaluate("a => benchSubscribe(a)", {"server": servers[s.name], "room": self.room,
                                                       "feed": feeds[other], "timeoutMs": int(timeout_s * 1000)})
        return t

    def close(self) -> None:
        for s in self.sides:
            with contextlib.suppress(Exception):
                s.page.evaluate("benchClose()")
        super().close()
        if self.rig.janus is not None:
            with contextlib.suppress(Exception):
                self.rig.janus.destroy_room(self.room)


# ----------------------------------------------------------------------------- scenarios

CALLS: dict[str, type[Call]] = {"shopcall": ShopCallCall, "janus": JanusCall}
STEADY_S = 3.0  # clean call time before a disruption: key frames done, both directions flowing


@dataclass
class Connected:
    """Scenarios (a)/(b): did a call connect through the firewall, how fast, on which path."""

    system: str
    connected: bool
    first_frame_ms: float | None = None
    path: str | None = None  # the shopper's selected pairs (path_label)
    paths: list[dict[str, Any]] = field(default_factory=list)
    dropped: int = 0  # packets the firewall dropped during the call (it really was in the way)
    frames_2s: dict[str, int] = field(default_factory=dict)  # frames each page decoded in 2 s once connected
    timeline: str = ""
    error: str | None = None

    def row(self) -> dict[str, Any]:
        return {"connected": self.connected, "first_frame_ms": self.first_frame_ms, "path": self.path}


@dataclass
class Disrupted:
    """Scenarios (c)/(d): a call disrupted mid-way (outage or address change), and how it came back."""

    system: str
    kind: str  # "outage" | "ip_change"
    outage_s: float | None = None
    media_back_ms: float | None = None
    per_side: dict[str, Any] = field(default_factory=dict)  # media back per page (ms after restore)
    frames_during: dict[str, int | None] = field(default_factory=dict)  # decoded while cut (sanity: ~0)
    pcs_before: dict[str, int] = field(default_factory=dict)
    pcs_after: dict[str, int] = field(default_factory=dict)
    ufrags_before: dict[str, list[str]] = field(default_factory=dict)
    ufrags_after: dict[str, list[str]] = field(default_factory=dict)
    feeds_before: dict[int, int] = field(default_factory=dict)  # ShopCall's Janus publisher handles → feed ids
    feeds_after: dict[int, int] = field(default_factory=dict)
    calls_before: list[tuple[str, str, str]] = field(default_factory=list)
    calls_after: list[tuple[str, str, str]] = field(default_factory=list)
    in_call: bool | None = None
    sdk_restarts: dict[str, int | None] = field(default_factory=dict)  # SDK-counted ICE restarts during it
    ufrag_changes: dict[str, list[int]] = field(default_factory=dict)  # pre-existing pcs with a new local ufrag
    timeline: str = ""
    error: str | None = None

    def restarted(self, side: str) -> bool:
        """Some peer connection that existed before changed its ICE credentials in place (an ICE restart): seen
        by the recorder after the disruption began, or in the ufrags read before and after."""
        before, after = self.ufrags_before.get(side, []), self.ufrags_after.get(side, [])
        return bool(self.ufrag_changes.get(side)) or any(b != a for b, a in zip(before, after, strict=False))

    def row(self) -> dict[str, Any]:
        if self.kind == "outage":
            length = self.outage_s
            if length is not None and float(length).is_integer():
                length = int(length)
            return {"system": self.system, "outage_s": length, "media_back_ms": self.media_back_ms}
        return {"system": self.system, "media_back_ms": self.media_back_ms}


def run_connect(rig: Rig, system: str, firewall: str, timeout_s: float = 30) -> Connected:
    """A fresh call with the shopper's link behind `firewall`: "udp" (all UDP dropped) or "tls" (only TCP to
    the TURN TLS port and to the control plane's forwarder)."""
    rig.link.clear()
    if firewall == "udp":
        rig.link.block_udp()
    elif firewall == "tls":
        rig.link.allow_only_tcp([rig.turn_tls_port, *rig.control_ports])
    else:
        raise ValueError(f"unknown firewall {firewall!r} (udp or tls)")
    res = Connected(system, connected=False)
    call = CALLS[system](rig)
    t0 = now_ms()
    try:
        t = t0 = call.start(timeout_s)
        got = wait_first_frames(call.sides, t, timeout_s)
        assert call.shopper is not None
        res.paths = call.shopper.paths()
        res.path = path_label(res.paths)
        if all(v is not None for v in got.values()):
            res.connected = True
            res.first_frame_ms = round(max(v for v in got.values() if v is not None) - t)
            before = {s.name: s.frames() for s in call.sides}
            time.sleep(2)
            res.frames_2s = {s.name: s.frames() - before[s.name] for s in call.sides}
        else:
            missing = ", ".join(k for k, v in got.items() if v is None)
            res.error = f"no frame within {timeout_s:g} s on {missing}"
    except Exception as e:  # noqa: BLE001 - a call that does not connect is a result here
        res.error = str(e).splitlines()[0][:300]
    finally:
        res.dropped = rig.link.dropped()
        with contextlib.suppress(Exception):
            res.timeline = format_timeline(call.sides, t0, {"start": t0})
        call.close()
        if call.close_error:
            res.error = f"{res.error or ''} (ending the call: {call.close_error})".lstrip()
        rig.link.clear()
    return res


def _snapshot(call: Call, res: Disrupted, when: str) -> None:
    pcs = {s.name: s.pc_count() for s in call.sides}
    ufrags = {s.name: s.ufrags() for s in call.sides}
    feeds = janus_feeds(call.rig.server) if isinstance(call, ShopCallCall) and call.rig.server else {}
    calls = call.calls() if isinstance(call, ShopCallCall) else []
    if when == "before":
        res.pcs_before, res.ufrags_before, res.feeds_before, res.calls_before = pcs, ufrags, feeds, calls
    else:
        res.pcs_after, res.ufrags_after, res.feeds_after, res.calls_after = pcs, ufrags, feeds, calls


def run_disruption(rig: Rig, system: str, kind: str, outage_s: float = 6, give_up_s: float = 60,
                   settle_s: float = 3) -> Disrupted:
    """A clean call, then `kind`: "outage" (every packet of the shopper's link dropped for `outage_s`) or
    "ip_change" (the shopper renumbered). Media back = from the link's return (outage) or the new address
    being usable (ip_change) to the first newly decoded frame after the stall on both pages; None after
    `give_up_s`. After it, `settle_s` more seconds let the ICE/signalling state settle before the snapshot."""
    if kind not in ("outage", "ip_change"):
        raise ValueError(f"unknown disruption {kind!r} (outage or ip_change)")
    rig.link.clear()
    res = Disrupted(system, kind, outage_s=outage_s if kind == "outage" else None)
    call = CALLS[system](rig)
    marks: dict[str, float] = {}
    t0 = now_ms()
    try:
        t = call.start()
        got = wait_first_frames(call.sides, t, 30)
        if any(v is None for v in got.values()):
            raise RuntimeError("the call did not connect on a clean link: " + json.dumps(got))
        for s in call.sides:
            s.hook_sdk()
        time.sleep(STEADY_S)
        _snapshot(call, res, "before")
        restarts_before = {s.name: s.sdk_restarts() for s in call.sides}
        if kind == "outage":
            marks["cut"] = now_ms()
            rig.link.cut()
            time.sleep(outage_s)
            rig.link.clear()
            restored = marks["restored"] = now_ms()
            stall_from = restored - 1000
            # from 2.5 s in: a loaded receiver still decodes what its (up to 800 ms) jitter buffer held
            res.frames_during = {s.name: s.frames_between(marks["cut"] + 2500, restored) for s in call.sides}
        else:
            marks["renumber"] = now_ms()
            rig.link.renumber()
            restored = marks["new address up"] = now_ms()
            stall_from = restored
        t0 = restored
        res.media_back_ms, res.per_side = media_back_ms(call.sides, restored, give_up_s, stall_from)
        for name, ms in res.per_side.items():
            if ms is not None:
                marks[f"{name} frames back"] = restored + ms
        time.sleep(settle_s)
        _snapshot(call, res, "after")
        began = marks.get("cut", marks.get("renumber", restored))
        for s in call.sides:
            after, before = s.sdk_restarts(), restarts_before[s.name]
            res.sdk_restarts[s.name] = None if after is None or before is None else after - before
            res.ufrag_changes[s.name] = sorted({pc for t, pc, what, _ in s.timeline(began)
                                                if what == "ufrag-local" and 0 <= pc < res.pcs_before[s.name]})
        if isinstance(call, ShopCallCall):
            res.in_call = call.in_call()
    except Exception as e:  # noqa: BLE001 - reported with the row
        res.error = str(e).splitlines()[0][:300]
    finally:
        rig.link.clear()
        with contextlib.suppress(Exception):
            res.timeline = format_timeline(call.sides, t0, marks)
        call.close()
        if call.close_error:
            res.error = f"{res.error or ''} (ending the call: {call.close_error})".lstrip()
    return res
