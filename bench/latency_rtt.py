"""Glass-to-glass latency through ShopCall with added round-trip delay (the "< 400 ms at +100 ms RTT" target).

Same bots and timecoded picture as bench/latency.py (shopcall.sdk.timecode), but the subscribing
bot runs in its own network namespace (bench/netimpair.py) whose media link is delayed by a
user-space relay, half the added round trip in each direction (default 50 + 50 ms). The publishing
bot, the ShopCall server and its Janus stay on the host. Both bots read the same wall clock, so
latency = the time the subscriber decodes a frame − the send time drawn into it.

The run alternates blocks with the delay on and off (same namespace, same forwarding), so the
table shows what the added round trip costs beside the undelayed figure measured minutes apart.
Needs root. Run from the repository root:

    .venv/bin/python bench/latency_rtt.py --json bench/results/latency_rtt.json

JSON: {"added_rtt_ms": .., "baseline": {"p50_ms", "p95_ms", "max_ms"}, "delayed": {...},
"goal_ms": 400, "met": bool}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import LoopThread, TcpForward, save_json
from latency import Collector, summary
from netimpair import Impairment, NetNS
from rich.console import Console
from rich.table import Table

from shopcall.sdk.bot import ShopCallBot
from shopcall.sdk.timecode import TimecodeVideoTrack, ToneAudioTrack
from tests.e2e.server import AppClient, Server, start_server, stop_server

GOAL_MS = 400.0
console = Console(width=110)


# ----------------------------------------------------------------------------- the subscriber (in the namespace)


async def subscribe(base: str, token: str, room: str, warmup: float, seconds: float) -> dict[str, Any]:
    """Join `room`, decode the publisher's video, and return the latency samples of the measured window."""
    c = Collector()
    b = ShopCallBot(base, token, name="b")
    b.on_frame(c.on_frame)
    try:
        await b.connect()
        await b.join(room)
        print("joined", flush=True)
        await c.measure(warmup, seconds)
    finally:
        await b.close()
    return {"samples": c.samples, "lost": c.lost, "decode_failures": c.decode_failures, "measured_s": c.measured_s}


# ----------------------------------------------------------------------------- the run (on the host)


class Blocks:
    """One block: a fresh room, the subscriber bot started in the namespace, the publisher bot here."""

    def __init__(self, ns: NetNS, server: Server, forwarded_base: str, app: AppClient) -> None:
        self.ns, self.server, self.forwarded = ns, server, forwarded_base
        self.app = app
        self.n = 0

    def run(self, c: Collector, warmup: float, seconds: float) -> None:
        self.n += 1
        room = self.app.room(f"latency-rtt-{self.n}", kind="call", max_participants=2)
        sub_token = self.app.token(room, f"rtt-b-{self.n}", "shopper")
        pub_token = self.app.token(room, f"rtt-a-{self.n}", "agent")
        argv = self.ns.ns_argv([sys.executable, str(Path(__file__).resolve()), "subscriber", "--base", self.forwarded,
                                "--room", room, "--warmup", str(warmup), "--seconds", str(seconds)])
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(sub_token + "\n")  # not on the command line: tokens stay out of `ps`
            proc.stdin.close()
            line = proc.stdout.readline().strip()
            if line != "joined":
                raise RuntimeError(f"subscriber bot did not join (said {line!r})")
            asyncio.run(self._publish(pub_token, room, proc))
            out = json.loads(proc.stdout.read())
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        c.samples += out["samples"]
        c.lost += out["lost"]
        c.decode_failures += out["decode_failures"]
        c.measured_s += out["measured_s"]

    async def _publish(self, token: str, room: str, proc: subprocess.Popen[str]) -> None:
        a = ShopCallBot(self.server.base, token, name="a")
        try:
            await a.connect()
            await a.join(room)
            await a.publish(TimecodeVideoTrack(), ToneAudioTrack())
            while proc.poll() is None:  # until the subscriber has measured and printed
                await asyncio.sleep(0.2)
        finally:
            await a.close()

    def close(self) -> None:
        self.app.close()


def report(results: dict[str, Collector], out: dict[str, Any]) -> None:
    t = Table(title=f"Glass-to-glass video latency (ms): ShopCall, subscriber link +{out['added_rtt_ms']:g} ms RTT")
    for col in ("condition", "samples", "fps", "lost frames", "p50", "p95", "max"):
        t.add_column(col, justify="left" if col == "condition" else "right")
    for name, label in (("baseline", "no added delay"), ("delayed", f"+{out['added_rtt_ms']:g} ms RTT")):
        c, s = results[name], out[name]
        fps = len(c.samples) / c.measured_s if c.measured_s else 0
        t.add_row(label, str(len(c.samples)), f"{fps:.1f}", str(c.lost), str(s["p50_ms"]), str(s["p95_ms"]),
                  str(s["max_ms"]))
    console.print(t)
    verdict = "[green]MET[/green]" if out["met"] else "[red]NOT MET[/red]"
    console.print(f"p95 with +{out['added_rtt_ms']:g} ms RTT = [bold]{out['delayed']['p95_ms']}[/bold] ms "
                  f"(goal < {GOAL_MS:.0f} ms): {verdict}")


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["subscriber"]:
        sp = argparse.ArgumentParser(prog="latency_rtt.py subscriber")
        sp.add_argument("--base", required=True)
        sp.add_argument("--room", required=True)
        sp.add_argument("--warmup", type=float, required=True)
        sp.add_argument("--seconds", type=float, required=True)
        a = sp.parse_args(argv[1:])
        token = sys.stdin.readline().strip()
        print(json.dumps(asyncio.run(subscribe(a.base, token, a.room, a.warmup, a.seconds))), flush=True)
        return 0

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("--rtt-ms", type=float, default=100, help="added round-trip delay (default 100: 50 ms each way)")
    ap.add_argument("--seconds", type=float, default=30, help="measured seconds per condition (default 30)")
    ap.add_argument("--blocks", type=int, default=2, help="alternating blocks per condition (default 2)")
    ap.add_argument("--warmup", type=float, default=3, help="unmeasured seconds after each block's first frame")
    ap.add_argument("--quick", action="store_true", help="smoke run: 8 s per condition, one block, 1 s warm-up")
    ap.add_argument("--json", type=Path, metavar="PATH", help="write the figures as JSON to PATH")
    ap.add_argument("--rtp-base", type=int, default=46000, help="UDP ports of ShopCall's Janus: BASE..BASE+199")
    args = ap.parse_args(argv)
    if args.quick:
        args.seconds, args.blocks, args.warmup = 8.0, 1, 1.0
    if os.geteuid() != 0:
        ap.error("needs root (network namespace and the delay relay)")
    if args.seconds <= 0 or args.blocks < 1 or args.rtt_ms < 0:
        ap.error("--seconds must be positive, --blocks at least 1, --rtt-ms not negative")

    started = time.monotonic()
    results = {"baseline": Collector(), "delayed": Collector()}
    one_way = args.rtt_ms / 2
    with tempfile.TemporaryDirectory(prefix="shopcall-latency-rtt-") as tmp_s, NetNS() as ns:
        loop = LoopThread("latency-rtt")
        server = None
        try:
            with console.status("starting ShopCall (with its Janus)…"):
                server = start_server(Path(tmp_s), demo=False, rtp_base=args.rtp_base, rtp_count=200)
            fwd = TcpForward(loop, ns.host_ip, int(server.base.rsplit(":", 1)[1]))
            blocks = Blocks(ns, server, f"http://{ns.host_ip}:{fwd.port}", server.create_app("latency-rtt"))
            console.print(f"namespace {ns.name} · ShopCall {server.base} · +{args.rtt_ms:g} ms RTT "
                          f"({one_way:g} ms each way) · {args.seconds:g} s per condition in {args.blocks} block(s)")
            try:
                per_block = args.seconds / args.blocks
                for i in range(args.blocks):
                    order = ["baseline", "delayed"] if i % 2 == 0 else ["delayed", "baseline"]
                    for name in order:
                        delay = Impairment(delay_ms=one_way) if name == "delayed" and one_way else Impairment()
                        ns.impair("down", delay)
                        ns.impair("up", delay)
                        before = len(results[name].samples)
                        blocks.run(results[name], args.warmup, per_block)
                        console.print(f"block {i + 1}/{args.blocks} {name:>8}: "
                                      f"{len(results[name].samples) - before} samples")
            finally:
                blocks.close()
                fwd.close()
        finally:
            if server is not None:
                stop_server(server.proc)
            loop.stop()

    out: dict[str, Any] = {"added_rtt_ms": args.rtt_ms, "baseline": summary(results["baseline"]),
                           "delayed": summary(results["delayed"]), "goal_ms": GOAL_MS}
    p95 = out["delayed"]["p95_ms"]
    out["met"] = p95 is not None and p95 < GOAL_MS
    report(results, out)
    console.print(f"total run time {time.monotonic() - started:.0f} s")
    save_json(args.json, out, console)
    return 0 if p95 is not None else 1


if __name__ == "__main__":
    sys.exit(main())
