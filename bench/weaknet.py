"""Weak-network resilience: ShopCall versus the same Janus driven directly by janus.js, same run.

A real call between two headless Chromiums (fake camera 1280x720 at 20 fps, as the SDK's default
capture, + fake microphone; at 640x480 Chromium would send only two of the three simulcast layers):
one browser publishes, the other subscribes. One of them runs in a network namespace (bench/netimpair.py) behind
an impaired veth link: the subscriber for `down` conditions, the publisher for `up` ones. Conditions:
random UDP loss (nftables), rate caps (tc tbf) and one-way delay with jitter (a user-space TAP
delayer), applied to the namespace's receiving (`down`) or sending (`up`) direction only.

The call is set up on a clean link, runs a few seconds (warm-up: keyframes, the publisher's bandwidth
ramp-up), then the impairment is switched on; after `--settle` s the subscriber's (and the impaired
peer's) `getStats()` is sampled every 0.5 s for `--hold` s and the metrics are the deltas over that
window. Impairing only once the call is up is deliberate: at 50 % loss and more even ICE/DTLS of a
default janus.js subscriber do not complete (measured before), and this compares media resilience,
not connection setup.

- ShopCall: the JS SDK with its defaults (simulcast on, 5 s quality reports that drive the server's
  per-subscriber layer controller), through the ShopCall server and its supervised Janus.
- raw Janus: janus.js straight to a second Janus configured by ShopCall's config module, room with
  Janus's defaults; the publisher sends the same three simulcast layers, the subscriber takes what
  Janus forwards by default.

Metrics per run (subscriber side unless said): decoded fps; freeze ratio = totalFreezesDuration /
window (a stall still open at the window's end, ≥ 1 s without a decoded frame, is added, since
getStats counts a freeze only once it ends); received height (median over the window's frames);
audio concealment = concealedSamples / totalSamplesReceived; RTT = the ICE candidate pair's mean
round-trip time on the impaired peer's connection. The two systems alternate per condition (ShopCall
first on even conditions). Run from the repository root, as root:

    .venv/bin/python bench/weaknet.py --json bench/results/weaknet.json --plot bench/results/weaknet.png \\
        --md bench/results/weaknet.md
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import FRAME_JS, JANUS_JS, PAGES, BaselineJanus, LoopThread, StaticServer, TcpForward, save_json
from netimpair import Direction, Impairment, NetNS
from rich.console import Console
from rich.table import Table

from tests.e2e.browser import CHROMIUM, launch, scripted_context
from tests.e2e.polling import wait_until
from tests.e2e.server import AppClient, Server, start_server, stop_server

SYSTEMS = ("shopcall", "janus")
LABEL = {"shopcall": "ShopCall", "janus": "raw Janus"}
TOP_HEIGHT = 720  # the publisher's top simulcast layer (1280x720 camera: 720p/360p/180p)
console = Console(width=140)

# Installed in every page before its own scripts: media constraints and the one sampler both systems use.
COMMON_JS = """
window.__weak = {
  constraints: { audio: true, video: { width: { exact: 1280 }, height: { exact: 720 } } },""" + FRAME_JS + """
  KEYS: ["frames", "freeze", "freezes", "conceal", "samples", "lost", "recv", "bytesIn", "bytesOut",
         "rttSum", "rttN", "framesSent", "jbDelay", "jbCount", "vLost", "vRecv",
         "nacks", "rtx", "plis", "vRecvFrames", "vDropped", "keyFrames", "aDiscarded", "aRecv", "aLost"],
  /** Cumulative counters of one peer connection. */
  async read(pc) {
    const r = { height: 0, rttNow: null };
    for (const k of this.KEYS) r[k] = 0;
    const stats = await pc.getStats();
    let pair = null;
    stats.forEach((s) => {
      if (s.type === "transport" && s.selectedCandidatePairId) pair = s.selectedCandidatePairId;
    });
    stats.forEach((s) => {
      if (s.type === "inbound-rtp") {
        r.bytesIn += s.bytesReceived || 0;
        r.lost += Math.max(0, s.packetsLost || 0);
        r.recv += s.packetsReceived || 0;
        if (s.kind === "video") {
          r.frames += s.framesDecoded || 0;
          r.freeze += s.totalFreezesDuration || 0;
          r.freezes += s.freezeCount || 0;
          r.height = s.frameHeight || r.height;
          r.jbDelay += s.jitterBufferDelay || 0;
          r.vLost += Math.max(0, s.packetsLost || 0);
          r.vRecv += s.packetsReceived || 0;
          r.jbCount += s.jitterBufferEmittedCount || 0;
          r.nacks += s.nackCount || 0;
          r.rtx += s.retransmittedPacketsReceived || 0;
          r.plis += (s.pliCount || 0) + (s.firCount || 0);
          r.vRecvFrames += s.framesReceived || 0;
          r.vDropped += s.framesDropped || 0;
          r.keyFrames += s.keyFramesDecoded || 0;
        } else {
          r.aDiscarded += s.packetsDiscarded || 0;
          r.aRecv += s.packetsReceived || 0;
          r.aLost += Math.max(0, s.packetsLost || 0);
          r.conceal += s.concealedSamples || 0;
          r.samples += s.totalSamplesReceived || 0;
        }
      }
      if (s.type === "outbound-rtp") {
        r.bytesOut += s.bytesSent || 0;
        if (s.kind === "video") r.framesSent = Math.max(r.framesSent, s.framesSent || 0);
      }
      if (s.type === "candidate-pair" && (pair ? s.id === pair : s.nominated && s.state === "succeeded")) {
        r.rttSum += s.totalRoundTripTime || 0;
        r.rttN += s.responsesReceived || 0;
        if (s.currentRoundTripTime != null) r.rttNow = s.currentRoundTripTime * 1000;
      }
    });
    return r;
  },
  /** One sample: per role, the sum over its peer connections of the counters' growth since the last one. */
  async tick() {
    const pcs = window.benchPcs();
    const t = performance.now();
    const row = { t, dt: (t - this.last) / 1000 };
    this.last = t;
    for (const role of ["sub", "pub"]) {
      const d = { height: 0, rttNow: null };
      for (const k of this.KEYS) d[k] = 0;
      for (const pc of pcs[role]) {
        const cur = await this.read(pc);
        const prev = this.prev.get(pc);  // a connection first seen now started inside the window: from 0
        this.prev.set(pc, cur);
        for (const k of this.KEYS) d[k] += Math.max(0, cur[k] - (prev ? prev[k] : 0));
        d.height = Math.max(d.height, cur.height);
        if (cur.rttNow != null) d.rttNow = cur.rttNow;
      }
      row[role] = d;
    }
    this.rows.push(row);
  },
  async start(everyMs) {
    this.prev = new Map();
    this.rows = [];
    const pcs = window.benchPcs();
    for (const pc of [...pcs.sub, ...pcs.pub]) this.prev.set(pc, await this.read(pc));
    this.last = this.t0 = performance.now();
    this.busy = false;
    this.timer = setInterval(async () => {
      if (this.busy) return;
      this.busy = true;
      try { await this.tick(); } finally { this.busy = false; }
    }, everyMs);
  },
  async stop() {
    clearInterval(this.timer);
    while (this.busy) await new Promise((r) => setTimeout(r, 20));
    await this.tick();
    return { duration: (this.last - this.t0) / 1000, rows: this.rows, pcs: this.prev.size };
  },
};
"""


# ----------------------------------------------------------------------------- conditions and metrics


@dataclass(frozen=True)
class Condition:
    direction: Direction
    imp: Impairment

    @property
    def label(self) -> str:
        return self.imp.label()


def conditions(quick: bool) -> list[Condition]:
    """The full grid (loss, rate caps, delay; on the subscriber's and on the publisher's link) or the quick subset."""
    if quick:
        return [Condition("down", Impairment(loss_pct=p)) for p in (0, 30, 70)] + [
            Condition("down", Impairment(rate_kbit=300))]
    out: list[Condition] = []
    for direction in ("down", "up"):
        out += [Condition(direction, Impairment(loss_pct=p)) for p in (0, 10, 20, 30, 50, 70)]
        out += [Condition(direction, Impairment(rate_kbit=k)) for k in (2000, 500, 300)]
        out += [Condition(direction, Impairment(delay_ms=d, jitter_ms=j)) for d, j in ((150, 40), (300, 100))]
    return out


@dataclass
class Run:
    """One system under one condition: the JSON row plus what the table shows besides."""

    system: str
    cond: Condition
    fps: float | None = None
    freeze_ratio: float | None = None
    concealment_ratio: float | None = None
    height: int | None = None
    rtt_ms: float | None = None
    video_loss_pct: float | None = None  # the subscriber's own video loss figure: packetsLost / (lost + received)
    kbps_in: float | None = None
    jb_ms: float | None = None  # mean video jitter-buffer delay (a receive-side latency component)
    connections: int = 0  # subscriber peer connections seen in the window (> 1: it re-subscribed)
    layers: list[Any] = field(default_factory=list)
    diag: dict[str, float] = field(default_factory=dict)  # recovery counters (NACK, RTX, PLI, drops) for diagnosis
    error: str | None = None

    def row(self) -> dict[str, Any]:
        imp = self.cond.imp
        return {"system": self.system, "direction": self.cond.direction, "loss_pct": imp.loss_pct,
                "rate_kbit": imp.rate_kbit, "delay_ms": imp.delay_ms, "fps": self.fps,
                "freeze_ratio": self.freeze_ratio, "concealment_ratio": self.concealment_ratio,
                "height": self.height, "rtt_ms": self.rtt_ms}


OPEN_STALL_S = 1.0


def summarise(run: Run, sub: dict[str, Any], impaired: dict[str, Any]) -> None:
    """Fill `run` from the sampler output of the subscriber page and of the impaired peer's page."""
    rows = sub["rows"]
    duration = sub["duration"]
    if duration <= 0 or not rows:
        run.error = "no samples"
        return
    s = {k: sum(r["sub"][k] for r in rows) for k in rows[0]["sub"] if k not in ("height", "rttNow")}
    run.fps = round(s["frames"] / duration, 1)
    # totalFreezesDuration grows when a freeze ends, by its whole length: count only the part inside
    # the window, and add a stall still open at the window's end.
    freeze, elapsed = 0.0, 0.0
    for r in rows:
        elapsed += r["dt"]
        freeze += min(r["sub"]["freeze"], elapsed)
    trailing = 0.0
    for r in reversed(rows):
        if r["sub"]["frames"] > 0:
            break
        trailing += r["dt"]
    if trailing >= OPEN_STALL_S:
        freeze += trailing
    run.freeze_ratio = 1.0 if s["frames"] == 0 else round(min(1.0, freeze / duration), 3)
    run.concealment_ratio = round(s["conceal"] / s["samples"], 3) if s["samples"] > 0 else None
    weighted = [r["sub"]["height"] for r in rows for _ in range(int(r["sub"]["frames"])) if r["sub"]["height"]]
    run.height = int(statistics.median_low(weighted)) if weighted else None
    packets = s["vLost"] + s["vRecv"]
    run.video_loss_pct = round(100 * s["vLost"] / packets, 1) if packets else None
    run.kbps_in = round(s["bytesIn"] * 8 / duration / 1000)
    run.jb_ms = round(1000 * s["jbDelay"] / s["jbCount"]) if s["jbCount"] else None
    run.connections = int(sub.get("pcs", 0))
    run.diag = {k: s[k] for k in ("nacks", "rtx", "plis", "vRecv", "vLost", "vRecvFrames", "vDropped", "keyFrames",
                                  "aRecv", "aLost", "aDiscarded", "conceal", "samples") if k in s}
    role = "sub" if impaired is sub else "pub"
    irows = impaired["rows"]
    rtt_sum = sum(r[role]["rttSum"] for r in irows)
    rtt_n = sum(r[role]["rttN"] for r in irows)
    if rtt_n > 0:
        run.rtt_ms = round(rtt_sum / rtt_n * 1000, 1)
    else:
        now = [r[role]["rttNow"] for r in irows if r[role]["rttNow"] is not None]
        run.rtt_ms = round(statistics.median(now), 1) if now else None


# ----------------------------------------------------------------------------- the bench


@dataclass
class Options:
    """Timing of one run: clean warm-up, then settle under the impairment, then the measured hold."""

    hold: float
    settle: float
    warmup: float
    sample_ms: int = 500
    timeout: float = 30


class Bench:
    """Runs one system under one condition at a time: fresh pages and a fresh room per run, so runs do not
    inherit each other's bandwidth estimates, layer choices or jitter buffers."""

    def __init__(self, ns: NetNS, host_browser: Any, ns_browser: Any, server: Server, sc_base: str,
                 app: AppClient, janus: BaselineJanus, janus_ws: str, static: StaticServer,
                 opts: Options) -> None:
        self.ns = ns
        self.browsers = {"host": host_browser, "ns": ns_browser}
        self.server = server
        self.sc_base = sc_base  # the ShopCall origin as the browsers see it (forwarder on the veth address)
        self.app = app
        self.janus = janus
        self.janus_ws = janus_ws
        self.static = static
        self.opts = opts
        self.sc_html = (PAGES / "weaknet_shopcall.html").read_text()
        self.n = 0

    @contextlib.contextmanager
    def _page(self, where: str, system: str) -> Iterator[Any]:
        ctx = scripted_context(self.browsers[where])
        try:
            ctx.add_init_script(COMMON_JS)
            page = ctx.new_page()
            if system == "shopcall":
                page.goto(self.sc_base + "/")
                page.set_content(self.sc_html)
            else:
                page.goto(self.static.page_url)
            page.wait_for_function("window.benchReady === true", timeout=15000)
            yield page
        finally:
            if ctx.pages:
                with contextlib.suppress(Exception):
                    ctx.pages[0].evaluate("benchClose()")
            ctx.close()

    def _sc_room(self) -> tuple[str, str, str]:
        room = self.app.room(f"weaknet-{self.n}", kind="call", max_participants=4)
        return (room, self.app.token(room, f"weaknet-agent-{self.n}", "agent"),
                self.app.token(room, f"weaknet-shopper-{self.n}", "shopper"))

    def run(self, system: str, cond: Condition) -> Run:
        self.n += 1
        run = Run(system, cond)
        pub_where, sub_where = ("ns", "host") if cond.direction == "up" else ("host", "ns")
        self.ns.clear()
        janus_room: int | None = None
        try:
            with self._page(pub_where, system) as pub, self._page(sub_where, system) as sub:
                timeout_ms = int(self.opts.timeout * 1000)
                if system == "shopcall":
                    room, pub_token, sub_token = self._sc_room()
                    pub.evaluate("a => benchPublish(a)", {"token": pub_token, "room": room})
                    sub.evaluate("a => benchSubscribe(a)", {"token": sub_token, "room": room, "timeoutMs": timeout_ms})
                else:
                    janus_room = self.janus.create_room()
                    feed = secrets.randbelow(2**50) + 1
                    args = {"server": self.janus_ws, "room": janus_room, "feed": feed}
                    pub.evaluate("a => benchPublish(a)", args)
                    sub.evaluate("a => benchSubscribe(a)", {**args, "timeoutMs": timeout_ms})
                time.sleep(self.opts.warmup)  # clean link: keyframes, bandwidth ramp-up, top layer flowing
                self.ns.impair(cond.direction, cond.imp)
                time.sleep(self.opts.settle)
                impaired = sub if cond.direction == "down" else pub
                sub.evaluate("ms => window.__weak.start(ms)", self.opts.sample_ms)
                if impaired is not sub:
                    impaired.evaluate("ms => window.__weak.start(ms)", self.opts.sample_ms)
                time.sleep(self.opts.hold)
                sub_out = sub.evaluate("window.__weak.stop()")
                imp_out = impaired.evaluate("window.__weak.stop()") if impaired is not sub else sub_out
                self.ns.clear()
                summarise(run, sub_out, imp_out)
                if system == "shopcall":
                    run.layers = sub.evaluate("window.__layers")
                    # audio frames per RED packet the server asked the publisher for (1: Chrome's own RED)
                    run.diag["redDistance"] = pub.evaluate("() => window.__client.audioRedundancyDistance")
        except Exception as e:  # noqa: BLE001 - a failed run is reported, the others go on
            run.error = str(e).splitlines()[0][:200]
        finally:
            self.ns.clear()
            if janus_room is not None:
                with contextlib.suppress(Exception):
                    self.janus.destroy_room(janus_room)
            self._wait_released(system)
        return run

    def warm_up(self, system: str) -> None:
        """One short unmeasured call: the first call after a browser starts is slower (caches, code warm-up)."""
        opts = self.opts
        self.opts = Options(hold=1, settle=0, warmup=3, sample_ms=opts.sample_ms, timeout=opts.timeout)
        try:
            r = self.run(system, Condition("down", Impairment()))
            if r.error:
                console.print(f"[yellow]warm-up call ({LABEL[system]}) failed: {r.error}[/yellow]")
        finally:
            self.opts = opts

    def _wait_released(self, system: str) -> None:
        """Sessions of the last run are gone before the next starts (so runs do not overlap on the CPU)."""
        def empty() -> bool:
            if system == "shopcall":
                return not self.server.janus_sessions()
            return not self.janus.sessions()

        with contextlib.suppress(Exception):
            wait_until(empty, 10, f"{system} Janus sessions released", every=0.2)


# ----------------------------------------------------------------------------- report


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def num(x: float | int | None, digits: int = 1) -> str:
    return "–" if x is None else f"{x:.{digits}f}" if isinstance(x, float) else str(x)


COLUMNS = [("fps", lambda r: num(r.fps)), ("freeze %", lambda r: pct(r.freeze_ratio)),
           ("conceal %", lambda r: pct(r.concealment_ratio)), ("height", lambda r: num(r.height)),
           ("RTT ms", lambda r: num(r.rtt_ms, 0)), ("video loss %", lambda r: num(r.video_loss_pct)),
           ("kbit/s in", lambda r: num(r.kbps_in)), ("jitter buf ms", lambda r: num(r.jb_ms))]


def by_condition(runs: list[Run]) -> list[tuple[Condition, dict[str, Run]]]:
    out: dict[Condition, dict[str, Run]] = {}
    for r in runs:
        out.setdefault(r.cond, {})[r.system] = r
    return list(out.items())


def cell(runs: dict[str, Run], system: str, fmt: Callable[[Run], str]) -> str:
    r = runs.get(system)
    if r is None:
        return ""
    return "failed" if r.error and r.fps is None else fmt(r)


def layer_note(r: Run | None) -> str:
    if r is None or not r.layers:
        return ""
    return "→".join(str(x[1]) for x in r.layers)


def targets(runs: list[Run]) -> list[tuple[str, bool | None, str]]:
    """The issue's targets, each (what, met (None = not measured), the figures behind it)."""
    def find(direction: str, **kw: Any) -> dict[str, Run]:
        for cond, rs in by_condition(runs):
            imp = cond.imp
            if cond.direction == direction and all(getattr(imp, k) == v for k, v in kw.items()):
                return rs
        return {}

    def below_janus(what: str, ratio: str, limit: float, rs: dict[str, Run]) -> tuple[str, bool | None, str]:
        """ShopCall's `ratio` at most `limit` and below raw Janus's."""
        sc, jn = rs.get("shopcall"), rs.get("janus")
        a, b = getattr(sc, ratio, None), getattr(jn, ratio, None)
        if a is None or b is None:
            return what, None, "not measured"
        return what, a <= limit and a < b, f"ShopCall {pct(a)} %, raw Janus {pct(b)} %"

    rs = find("down", loss_pct=30, rate_kbit=None, delay_ms=None)
    out = [below_janus("30 % loss down: video freeze ≤ 5 % and below raw Janus", "freeze_ratio", 0.05, rs),
           below_janus("30 % loss down: audio concealment ≤ 10 % and below raw Janus", "concealment_ratio", 0.10, rs)]
    rs = find("down", loss_pct=0, rate_kbit=300, delay_ms=None)
    sc, jn = rs.get("shopcall"), rs.get("janus")
    if sc and sc.fps is not None:
        ok = sc.fps >= 15 and sc.height is not None and sc.height < TOP_HEIGHT
        out.append(("300 kbit/s down: ≥ 15 fps on a lower layer", ok,
                    f"ShopCall {num(sc.fps)} fps at {num(sc.height)}p; raw Janus "
                    f"{num(jn.fps) if jn else '–'} fps at {num(jn.height) if jn else '–'}p, "
                    f"freeze {pct(jn.freeze_ratio) if jn else '–'} %"))
    else:
        out.append(("300 kbit/s down: ≥ 15 fps on a lower layer", None, "not measured"))
    for loss in (50, 70):
        rs = find("down", loss_pct=loss, rate_kbit=None, delay_ms=None)
        if rs:
            figs = "; ".join(f"{LABEL[s]} {num(r.fps)} fps, freeze {pct(r.freeze_ratio)} %, conceal "
                             f"{pct(r.concealment_ratio)} %" for s in SYSTEMS if (r := rs.get(s)) is not None)
            out.append((f"{loss} % loss down: report", None, figs))
    return out


def print_report(runs: list[Run]) -> None:
    t = Table(title="Weak network: subscriber's view over the measured window (ShopCall | raw Janus)")
    t.add_column("dir")
    t.add_column("condition")
    for name, _ in COLUMNS:
        t.add_column(f"{name}\nSC", justify="right")
        t.add_column("J", justify="right")
    t.add_column("SC layers")
    for cond, rs in by_condition(runs):
        row = [cond.direction, cond.label]
        for _, fmt in COLUMNS:
            row += [cell(rs, "shopcall", fmt), cell(rs, "janus", fmt)]
        row.append(layer_note(rs.get("shopcall")))
        t.add_row(*row)
    console.print(t)
    for r in runs:
        if r.error:
            console.print(f"[red]{LABEL[r.system]} {r.cond.direction} {r.cond.label}: {r.error}[/red]")
    for what, ok, figs in targets(runs):
        verdict = "[green]MET[/green]" if ok else "[red]NOT MET[/red]" if ok is False else "[cyan]figures[/cyan]"
        console.print(f"{verdict}  {what}: {figs}")


def markdown(runs: list[Run], meta: dict[str, Any]) -> str:
    lines = ["# Weak-network resilience: ShopCall vs raw Janus (bench/weaknet.py)", "",
             f"Run {meta['date']} on {meta['host']}; hold {meta['hold']:g} s per run after {meta['warmup']:g} s "
             f"clean warm-up and {meta['settle']:g} s settling under the impairment; total {meta['minutes']:.1f} min. "
             "Chromium publisher → SFU → Chromium subscriber, fake camera 1280x720 (20 fps) with 3 simulcast "
             "layers (720p/360p/180p) on both systems. `down` impairs the subscriber's downlink, `up` the publisher's "
             "uplink; the impairment starts once the call is up (clean-link setup). Loss: nftables random UDP drop; "
             "rate: tc tbf (≤ 200 ms queue); delay: user-space TAP delayer (one-way, ± jitter, no reordering).",
             "", "Each cell: ShopCall / raw Janus, from the subscriber's getStats() over the measured window "
             "(RTT: ICE round trip on the impaired peer's connection). Freeze % = totalFreezesDuration / window, "
             "plus a stall still open at the end; conceal % = concealedSamples / totalSamplesReceived; height = "
             "median decoded frame height. `SC layers`: the substreams ShopCall's controller switched the "
             "subscriber to, in order (it starts on 2 = 720p); raw Janus keeps its default (the top layer, or "
             "a lower one when the top stops arriving). `video loss %`: the subscriber's inbound video packetsLost / "
             "(packetsLost + packetsReceived). `jitter buf ms`: mean video jitter-buffer delay. "
             "Glass-to-glass latency is not measured under impairment (bench/latency.py measures it with bots on a "
             "clean link); RTT and jitter-buffer delay are the latency figures here.", "",
             "| dir | condition | " + " | ".join(name for name, _ in COLUMNS) + " | SC layers |",
             "|---" * (len(COLUMNS) + 3) + "|"]
    for cond, rs in by_condition(runs):
        cells = [f"{cell(rs, 'shopcall', fmt)} / {cell(rs, 'janus', fmt)}" for _, fmt in COLUMNS]
        note = layer_note(rs.get("shopcall"))
        lines.append(f"| {cond.direction} | {cond.label} | " + " | ".join(cells) + f" | {note} |")
    errors = [r for r in runs if r.error]
    if errors:
        lines += ["", "Failed runs:", ""] + [f"- {LABEL[r.system]} {r.cond.direction} {r.cond.label}: {r.error}"
                                             for r in errors]
    lines += ["", "## Targets", ""]
    for what, ok, figs in targets(runs):
        verdict = "met" if ok else "**not met**" if ok is False else "figures"
        lines.append(f"- {what}: {verdict} — {figs}")
    return "\n".join(lines) + "\n"


def plot(runs: list[Run], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    metrics = (("freeze_ratio", "video freeze ratio"), ("concealment_ratio", "audio concealment ratio"))
    for ax, (key, title) in zip(axes, metrics, strict=True):
        for system, color in (("shopcall", "tab:blue"), ("janus", "tab:red")):
            for direction, style in (("down", "-"), ("up", "--")):
                pts = sorted((r.cond.imp.loss_pct, getattr(r, key)) for r in runs
                             if r.system == system and r.cond.direction == direction and r.cond.imp.rate_kbit is None
                             and r.cond.imp.delay_ms is None and getattr(r, key) is not None)
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], style, marker="o", color=color,
                            label=f"{LABEL[system]} ({'subscriber' if direction == 'down' else 'publisher'} link)")
        ax.set_title(title)
        ax.set_xlabel("random packet loss on the impaired link (%)")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("ShopCall vs raw Janus under packet loss (bench/weaknet.py)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("--quick", action="store_true",
                    help="subset (loss 0/30/70 %% and 300 kbit/s on the subscriber link), shorter hold: < 5 min")
    ap.add_argument("--hold", type=float, help="measured seconds per run (default 20, --quick 10)")
    ap.add_argument("--settle", type=float,
                    help="seconds under the impairment before measuring (default 10, --quick 8)")
    ap.add_argument("--warmup", type=float, default=4, help="seconds of clean call before the impairment (default 4)")
    ap.add_argument("--json", type=Path, metavar="PATH", help="write the rows as JSON to PATH")
    ap.add_argument("--plot", type=Path, metavar="PATH", help="draw freeze and concealment against loss (PNG)")
    ap.add_argument("--md", type=Path, metavar="PATH", help="write the table and the targets as Markdown")
    ap.add_argument("--only", choices=SYSTEMS, help="run one system only (debugging)")
    ap.add_argument("--match", metavar="TEXT",
                    help="run only conditions whose 'dir label' contains TEXT, e.g. 'up 30 %%'")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="also print recovery counters per run (NACKs, retransmissions, PLIs, dropped frames)")
    ap.add_argument("--rtp-base", type=int, default=42000,
                    help="UDP ports: ShopCall's Janus BASE..BASE+199, the baseline Janus BASE+200..BASE+399")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        ap.error("needs root (network namespaces, nftables, tc)")
    if not JANUS_JS.is_file():
        ap.error(f"{JANUS_JS} is missing (apt-get install libjs-janus-gateway)")
    opts = Options(hold=args.hold or (10 if args.quick else 20), settle=args.settle or (8 if args.quick else 10),
                   warmup=args.warmup)
    conds = [c for c in conditions(args.quick) if not args.match or args.match in f"{c.direction} {c.label}"]
    if not conds:
        ap.error(f"no condition matches {args.match!r}")
    systems = [args.only] if args.only else list(SYSTEMS)

    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="shopcall-weaknet-") as tmp_s, NetNS() as ns:
        tmp = Path(tmp_s)
        (tmp / "shopcall").mkdir()
        loop = LoopThread("weaknet-loop")
        server = app = janus = static = None
        forwards: list[TcpForward] = []
        try:
            with console.status("starting ShopCall (with its Janus) and a baseline Janus…"):
                server = start_server(tmp / "shopcall", rtp_base=args.rtp_base, rtp_count=200)
                app = server.create_app("weaknet")
                janus = BaselineJanus(tmp / "baseline", args.rtp_base + 200, args.rtp_base + 399, loop,
                                      "weaknet baseline")
                static = StaticServer("weaknet_janus.html", ns.host_ip)
                sc_fwd = TcpForward(loop, ns.host_ip, int(server.base.rsplit(":", 1)[1]))
                jn_fwd = TcpForward(loop, ns.host_ip, janus.config.ports.ws)
                forwards = [sc_fwd, jn_fwd]
            sc_base = f"http://{ns.host_ip}:{sc_fwd.port}"
            janus_ws = f"ws://{ns.host_ip}:{jn_fwd.port}"
            chromium_args = ["--disable-renderer-backgrounding",
                             "--disable-background-timer-throttling", "--disable-backgrounding-occluded-windows",
                             f"--unsafely-treat-insecure-origin-as-secure={sc_base},{static.base}"]
            console.print(f"namespace {ns.name} ({ns.ns_ip}) ↔ host {ns.host_ip} · ShopCall {sc_base} · "
                          f"raw Janus {janus_ws} · {len(conds)} conditions × {len(systems)} systems, hold "
                          f"{opts.hold:g} s, settle {opts.settle:g} s")
            with sync_playwright() as pw:
                host_browser = launch(pw, chromium_args)
                ns_browser = launch(pw, chromium_args, executable=str(ns.wrapper(CHROMIUM, tmp)))
                try:
                    bench = Bench(ns, host_browser, ns_browser, server, sc_base, app, janus, janus_ws, static, opts)
                    with console.status("warm-up calls…"):
                        for system in systems:
                            bench.warm_up(system)
                    for i, cond in enumerate(conds):
                        order = systems if i % 2 == 0 else systems[::-1]
                        for system in order:
                            t0 = time.monotonic()
                            r = bench.run(system, cond)
                            runs.append(r)
                            status = (f"[red]{r.error}[/red]" if r.error else
                                      f"fps {num(r.fps)}, freeze {pct(r.freeze_ratio)} %, conceal "
                                      f"{pct(r.concealment_ratio)} %, {num(r.height)}p, RTT {num(r.rtt_ms, 0)} ms, "
                                      f"video loss {num(r.video_loss_pct)} %")
                            console.print(f"{i + 1:>2}/{len(conds)} {cond.direction:>4} {cond.label:<22} "
                                          f"{LABEL[system]:<9}: {status}  ({time.monotonic() - t0:.0f} s)")
                            if args.verbose and r.diag:
                                console.print("      " + ", ".join(f"{k} {v:.0f}" for k, v in r.diag.items()))
                finally:
                    ns_browser.close()
                    host_browser.close()
        finally:
            for f in forwards:
                f.close()
            if static is not None:
                static.stop()
            if janus is not None:
                with contextlib.suppress(Exception):
                    janus.stop()
            if app is not None:
                app.close()
            if server is not None:
                stop_server(server.proc)
            loop.stop()

    minutes = (time.monotonic() - started) / 60
    print_report(runs)
    console.print(f"total run time {minutes:.1f} min")
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "host": f"{os.cpu_count()} cores, {os.uname().release}",
            "hold": opts.hold, "settle": opts.settle, "warmup": opts.warmup, "minutes": minutes}
    save_json(args.json, [r.row() for r in runs], console)
    if args.md:
        args.md.parent.mkdir(parents=True, exist_ok=True)
        args.md.write_text(markdown(runs, meta))
        console.print(f"wrote {args.md}")
    if args.plot:
        plot(runs, args.plot)
        console.print(f"wrote {args.plot}")
    return 1 if any(r.error for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
