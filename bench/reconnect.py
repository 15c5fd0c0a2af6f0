"""Reaching shoppers on hostile networks: ShopCall (managed TURN, ICE restart, fast liveness) against raw Janus
driven by janus.js (no TURN, no restart logic), same run, same machine.

A real call: the shopper's Chromium in a network namespace, the agent's on the host (bench/netscenarios.py).
ShopCall's call goes through the product path (demo shop → queue → Anna answers in the console); raw Janus's
through janus.js with Janus's defaults (bench/pages/weaknet_janus.html, each page publishes and subscribes
to the other's feed). Scenarios, each on a fresh call:

- udp_blocked: every UDP packet of the shopper's link dropped (nftables) before the call starts. connected =
  both pages decode the other's video within 30 s; first_frame_ms = from the agent's answer (ShopCall) or
  the first publish (raw Janus) to both pages' first decoded frame; path = the shopper's selected candidate
  pair (relay-tcp = through TURN over TCP).
- tls_only: everything dropped but TCP to the TURN TLS port and to the control plane's port (the page and
  the signalling reach ShopCall through a forwarder on that port). ShopCall only (raw Janus has no TURN).
- outage: a clean call, then every packet of the shopper's link dropped for 2, 6 and 15 s.
- ip_change: a clean call, then the shopper's address is replaced by another in the same subnet.

media_back_ms = from the link's return (or the new address being usable) to the first newly decoded frame
after the stall on BOTH pages (getStats framesDecoded sampled every 100 ms in each page); null when media is
not back within --give-up s (60). Run from the repository root, as root:

    .venv/bin/python bench/reconnect.py --json bench/results/reconnect.json
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import JANUS_JS, save_json
from netscenarios import Connected, Disrupted, RigOptions, free_udp_range, rig, run_connect, run_disruption
from rich.console import Console
from rich.table import Table

console = Console(width=140)
LABEL = {"shopcall": "ShopCall", "janus": "raw Janus"}
OUTAGE_TARGET_MS = 3000  # after a 6 s outage
IP_CHANGE_TARGET_MS = 5000


def ms(x: float | None) -> str:
    return "null" if x is None else f"{x:.0f}"


def report_connect(what: str, r: Connected) -> None:
    status = (f"connected, first frame {ms(r.first_frame_ms)} ms, path {r.path}, frames in 2 s {r.frames_2s}"
              if r.connected else f"[yellow]not connected[/yellow] ({r.error})")
    console.print(f"{what:<12} {LABEL[r.system]:<9}: {status}; firewall dropped {r.dropped} packets")


def report_disruption(r: Disrupted, verbose: bool) -> None:
    what = f"outage {r.outage_s:g} s" if r.kind == "outage" else "ip change"
    extra = ""
    if r.system == "shopcall":
        extra = (f", ICE restart {'yes' if r.restarted('shopper') else 'no'}, new peer connections "
                 f"{ {k: r.pcs_after.get(k, 0) - v for k, v in r.pcs_before.items()} }, same call "
                 f"{r.calls_after == r.calls_before}, in call {r.in_call}")
    err = f" [red]{r.error}[/red]" if r.error else ""
    console.print(f"{what:<12} {LABEL[r.system]:<9}: media back {ms(r.media_back_ms)} ms {r.per_side}{extra}{err}")
    missed = r.system == "shopcall" and (r.media_back_ms is None or (
        r.kind == "ip_change" and r.media_back_ms > IP_CHANGE_TARGET_MS) or (
        r.kind == "outage" and r.outage_s == 6 and r.media_back_ms > OUTAGE_TARGET_MS))
    if verbose or missed or r.error:
        console.print(r.timeline or "(no timeline)", markup=False, highlight=False)


def table(data: dict[str, Any]) -> Table:
    t = Table(title="Reconnects: shopper's link blocked, cut or renumbered (ShopCall | raw Janus)")
    t.add_column("scenario")
    t.add_column("ShopCall", justify="right")
    t.add_column("raw Janus", justify="right")

    def conn(r: dict[str, Any] | None) -> str:
        if r is None:
            return "–"
        return f"{r['path']}, {ms(r['first_frame_ms'])} ms" if r["connected"] else "not connected"

    t.add_row("UDP blocked: connects (path, first frame)", conn(data["udp_blocked"]),
              conn(data.get("udp_blocked_janus")))
    t.add_row("only TLS to TURN: connects", conn(data["tls_only"]), "– (no TURN)")
    for length in sorted({r["outage_s"] for r in data["outage"]}):
        cells = {r["system"]: ms(r["media_back_ms"]) for r in data["outage"] if r["outage_s"] == length}
        t.add_row(f"{length:g} s outage: media back (ms)", cells.get("shopcall", "–"), cells.get("janus", "–"))
    cells = {r["system"]: ms(r["media_back_ms"]) for r in data["ip_change"]}
    t.add_row("address change: media back (ms)", cells.get("shopcall", "–"), cells.get("janus", "–"))
    return t


def targets(data: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    ub, jb = data["udp_blocked"], data.get("udp_blocked_janus")
    out: list[tuple[str, bool | None, str]] = [
        ("calls connect with UDP blocked (raw Janus without TURN: 0 %)", ub["connected"],
         f"ShopCall {'connected via ' + str(ub['path']) if ub['connected'] else 'not connected'}; raw Janus "
         f"{'–' if jb is None else ('connected' if jb['connected'] else 'not connected')}")]
    six = [r for r in data["outage"] if r["system"] == "shopcall" and r["outage_s"] == 6]
    if six:
        v = six[0]["media_back_ms"]
        out.append(("media back within 3 s of a 6 s outage ending", v is not None and v <= OUTAGE_TARGET_MS,
                    f"{ms(v)} ms"))
    ip = [r for r in data["ip_change"] if r["system"] == "shopcall"]
    if ip:
        v = ip[0]["media_back_ms"]
        out.append(("media back within 5 s of an address change", v is not None and v <= IP_CHANGE_TARGET_MS,
                    f"{ms(v)} ms"))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("--json", type=Path, metavar="PATH", help="write the results as JSON to PATH")
    ap.add_argument("--quick", action="store_true", help="one outage length (6 s), give up after 20 s: ~4 min")
    ap.add_argument("--outages", default="2,6,15", help="outage lengths in s, comma-separated (default 2,6,15)")
    ap.add_argument("--give-up", type=float, help="s to wait for media after a disruption (default 60, --quick 20)")
    ap.add_argument("--rtp-base", type=int, help="UDP ports BASE..BASE+299 (ShopCall's Janus, coturn's relays, "
                    "the raw Janus); default: a free range")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every run's timeline (ICE, signalling, frames)")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        ap.error("needs root (network namespaces, nftables)")
    if not JANUS_JS.is_file():
        ap.error(f"{JANUS_JS} is missing (apt-get install libjs-janus-gateway)")
    try:
        outages = [6.0] if args.quick else [float(x) for x in args.outages.split(",") if x.strip()]
    except ValueError:
        ap.error(f"--outages must be numbers separated by commas, got {args.outages!r}")
    if not outages or any(x <= 0 for x in outages):
        ap.error("--outages needs at least one positive length")
    give_up = args.give_up or (20.0 if args.quick else 60.0)
    base = args.rtp_base or free_udp_range(300)

    started = time.monotonic()
    data: dict[str, Any] = {}
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="shopcall-reconnect-") as tmp:
        with console.status("starting ShopCall (Janus + coturn), a raw Janus, two Chromiums…"):
            ctx = rig(Path(tmp), RigOptions(rtp_base=base, baseline=True))
            r = ctx.__enter__()
        try:
            console.print(f"namespace {r.ns.name} (shopper {r.link.address}) ↔ host {r.ns.host_ip} · ShopCall "
                          f"{r.sc_base} · TURN {r.turn_port} (UDP/TCP), {r.turn_tls_port} (TLS) · up in "
                          f"{time.monotonic() - started:.0f} s")
            ub = run_connect(r, "shopcall", "udp")
            report_connect("UDP blocked", ub)
            jb = run_connect(r, "janus", "udp", timeout_s=20)
            report_connect("UDP blocked", jb)
            tls = run_connect(r, "shopcall", "tls")
            report_connect("TLS only", tls)
            data["udp_blocked"], data["tls_only"] = ub.row(), tls.row()
            data["outage"], data["ip_change"] = [], []
            for name, res in (("udp_blocked", ub), ("tls_only", tls)):
                if not res.connected:
                    failures.append(f"{name}: {res.error}")
            # before the outages: after a long one the agent can stay busy for minutes (see the report)
            for system in ("shopcall", "janus"):
                d = run_disruption(r, system, "ip_change", give_up_s=give_up)
                report_disruption(d, args.verbose)
                data["ip_change"].append(d.row())
                if d.error:
                    failures.append(f"{system} ip change: {d.error}")
            for i, length in enumerate(sorted(outages)):
                for system in ("shopcall", "janus") if i % 2 == 0 else ("janus", "shopcall"):
                    d = run_disruption(r, system, "outage", outage_s=length, give_up_s=give_up)
                    report_disruption(d, args.verbose)
                    data["outage"].append(d.row())
                    if d.error:
                        failures.append(f"{system} outage {length:g} s: {d.error}")
            data["udp_blocked_janus"] = jb.row()
        finally:
            ctx.__exit__(None, None, None)

    minutes = (time.monotonic() - started) / 60
    console.print(table(data))
    for what, ok, figs in targets(data):
        verdict = "[green]MET[/green]" if ok else "[red]NOT MET[/red]" if ok is False else "[cyan]figures[/cyan]"
        console.print(f"{verdict}  {what}: {figs}")
    for f in failures:
        console.print(f"[red]failed run: {f}[/red]")
    console.print(f"total run time {minutes:.1f} min")
    save_json(args.json, data, console)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
