"""Glass-to-glass video latency: ShopCall (+ its Janus) versus a direct aiortc peer connection.

Both systems carry the same synthetic media (shopcall.sdk.timecode): a 640x480 30 fps picture
that has its send time (`time.time()` ms, taken when aiortc pulls the frame for encoding) drawn
into it as big black/white cells, plus a 400 Hz tone. The receiver reads the time back from
every decoded frame; latency = receive wall time (when aiortc hands over the decoded frame) −
the time in the picture. Sender and receiver run in this one process, so they share a clock
(the measure is same-host only).

- ShopCall: bot A (agent token) publishes into a fresh room through the ShopCall server, which
  drives its own supervised Janus; bot B (shopper token) subscribes on `track_published`. Both
  are `shopcall.sdk.bot.ShopCallBot`s speaking the public signalling protocol.
- Direct (baseline): two aiortc peer connections in this process, A → B, same tracks, same
  codec (VP8), SDP exchanged in memory.

ICE on both paths uses the host's non-loopback address (aioice and libnice both skip 127.0.0.1),
so both cross the same local network stack. The run is split into blocks (default 3) that
alternate the two systems (and their order) with fresh connections each; the first
`--warmup` seconds after the first decoded frame of each block are not measured (keyframe,
encoder bitrate ramp-up). Run from the repository root:

    .venv/bin/python bench/latency.py --json bench/results/latency.json
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
from aiortc import RTCConfiguration, RTCPeerConnection
from harness import percentile, save_json
from rich.console import Console
from rich.table import Table

from shopcall.sdk.bot import ShopCallBot, drain_track, prefer_codec
from shopcall.sdk.timecode import TimecodeVideoTrack, ToneAudioTrack, read_timecode
from tests.e2e.server import AppClient, Server, start_server, stop_server

GOAL_RATIO = 1.20
FIRST_FRAME_TIMEOUT_S = 20
console = Console(width=110)


# ----------------------------------------------------------------------------- measuring


@dataclass
class Collector:
    """Latency samples of one system, accumulated over its blocks."""

    samples: list[float] = field(default_factory=list)
    decode_failures: int = 0
    lost: int = 0  # gaps in the frame counter drawn into the picture
    measured_s: float = 0.0
    measuring: bool = False
    first: asyncio.Event = field(default_factory=asyncio.Event)
    _last_seq: int | None = None

    def on_frame(self, _pid: str, frame: av.VideoFrame, recv_time: float) -> None:
        self.first.set()
        if not self.measuring:
            return
        tc = read_timecode(frame)
        if tc is None:
            self.decode_failures += 1
            return
        self.samples.append(recv_time * 1000 - tc.ms)
        if self._last_seq is not None:
            self.lost += (tc.seq - self._last_seq - 1) % 4096
        self._last_seq = tc.seq

    async def measure(self, warmup_s: float, seconds: float) -> None:
        """Wait for the first decoded frame, skip the warm-up, then record for `seconds`."""
        self.first.clear()
        await asyncio.wait_for(self.first.wait(), FIRST_FRAME_TIMEOUT_S)
        await asyncio.sleep(warmup_s)
        self._last_seq = None
        self.measuring = True
        t0 = time.monotonic()
        try:
            await asyncio.sleep(seconds)
        finally:
            self.measuring = False
            self.measured_s += time.monotonic() - t0


def summary(c: Collector) -> dict[str, float | None]:
    if not c.samples:
        return {"p50_ms": None, "p95_ms": None, "max_ms": None}
    return {"p50_ms": round(percentile(c.samples, 0.5), 1), "p95_ms": round(percentile(c.samples, 0.95), 1),
            "max_ms": round(max(c.samples), 1)}


# ----------------------------------------------------------------------------- the two systems


class ShopCallPath:
    """A → ShopCall server (+ Janus) → B, through two bots in a fresh room per block."""

    def __init__(self, server: Server, app: AppClient) -> None:
        self.server = server
        self.app = app
        self.n = 0

    async def run(self, c: Collector, warmup_s: float, seconds: float) -> None:
        self.n += 1
        # set-up over blocking REST: nothing else runs on the loop between blocks
        room = self.app.room(f"latency-{self.n}", kind="call", max_participants=2)
        a = ShopCallBot(self.server.base, self.app.token(room, f"lat-a-{self.n}", "agent"), name="a")
        b = ShopCallBot(self.server.base, self.app.token(room, f"lat-b-{self.n}", "shopper"), name="b")
        b.on_frame(c.on_frame)
        try:
            await a.connect()
            await b.connect()
            await b.join(room)  # B subscribes by itself on `track_published`
            await a.join(room)
            await a.publish(TimecodeVideoTrack(), ToneAudioTrack())
            await c.measure(warmup_s, seconds)
        finally:
            await b.close()
            await a.close()


class DirectPath:
    """A → B over one aiortc peer connection pair in this process (no server at all)."""

    async def run(self, c: Collector, warmup_s: float, seconds: float) -> None:
        pa = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN: host candidates only
        pb = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        tasks: list[asyncio.Task[None]] = []

        async def on_video(pid: str, frame: av.VideoFrame, t: float) -> None:
            c.on_frame(pid, frame, t)

        @pb.on("track")
        def on_track(track: Any) -> None:
            tasks.append(asyncio.ensure_future(drain_track(track, "direct", on_video, lambda _f: None)))

        try:
            pa.addTransceiver(ToneAudioTrack(), direction="sendonly")
            pa.addTransceiver(TimecodeVideoTrack(), direction="sendonly")
            prefer_codec(pa, "video", "VP8")
            await pa.setLocalDescription(await pa.createOffer())
            await pb.setRemoteDescription(pa.localDescription)
            await pb.setLocalDescription(await pb.createAnswer())
            await pa.setRemoteDescription(pb.localDescription)
            await c.measure(warmup_s, seconds)
        finally:
            await pa.close()
            await pb.close()
            for t in tasks:
                t.cancel()


# ----------------------------------------------------------------------------- report


def report(results: dict[str, Collector], out: dict[str, Any]) -> None:
    t = Table(title="Glass-to-glass video latency (ms), same host")
    for col in ("system", "samples", "fps", "decode failures", "lost frames", "p50", "p95", "max"):
        t.add_column(col, justify="left" if col == "system" else "right")
    for name, label in (("shopcall", "ShopCall (bot → server/Janus → bot)"), ("direct", "direct aiortc A → B")):
        c, s = results[name], out[name]
        fps = len(c.samples) / c.measured_s if c.measured_s else 0
        t.add_row(label, str(len(c.samples)), f"{fps:.1f}", str(c.decode_failures), str(c.lost),
                  str(s["p50_ms"]), str(s["p95_ms"]), str(s["max_ms"]))
    console.print(t)
    ratio = out["ratio_p95"]
    verdict = "[green]MET[/green]" if ratio is not None and ratio <= GOAL_RATIO else "[red]NOT MET[/red]"
    console.print(f"ratio of p95 ShopCall / direct = [bold]{ratio}[/bold]  (goal ≤ {GOAL_RATIO:.2f}): {verdict}")


async def run(server: Server, app: AppClient, args: argparse.Namespace) -> dict[str, Collector]:
    results = {"shopcall": Collector(), "direct": Collector()}
    shopcall, direct = ShopCallPath(server, app), DirectPath()
    per_block = args.seconds / args.blocks
    for i in range(args.blocks):
        order = ["shopcall", "direct"] if i % 2 == 0 else ["direct", "shopcall"]
        for name in order:
            path = shopcall if name == "shopcall" else direct
            before = len(results[name].samples)
            await path.run(results[name], args.warmup, per_block)
            c = results[name]
            console.print(f"block {i + 1}/{args.blocks} {name:>8}: {len(c.samples) - before} samples, "
                          f"p95 so far {percentile(c.samples, 0.95):.1f} ms")
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("--seconds", type=float, default=30, help="measured seconds per system (default 30)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 10 s per system, one block, 1 s warm-up")
    ap.add_argument("--blocks", type=int, default=3, help="alternating blocks the run is split into (default 3)")
    ap.add_argument("--warmup", type=float, default=3, help="unmeasured seconds after each block's first frame")
    ap.add_argument("--json", type=Path, metavar="PATH", help="write p50/p95/max per system and ratio_p95 to PATH")
    ap.add_argument("--rtp-base", type=int, default=44000, help="UDP ports of ShopCall's Janus: BASE..BASE+199")
    args = ap.parse_args(argv)
    if args.quick:
        args.seconds, args.blocks, args.warmup = 10.0, 1, 1.0
    if args.seconds <= 0 or args.blocks < 1:
        ap.error("--seconds must be positive and --blocks at least 1")

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="shopcall-latency-") as tmp_s:
        with console.status("starting ShopCall (with its Janus)…"):
            server = start_server(Path(tmp_s), demo=False, rtp_base=args.rtp_base, rtp_count=200)
        try:
            app = server.create_app("latency-bench")
            console.print(f"ShopCall {server.base} · {args.seconds:.0f} s per system in {args.blocks} block(s) · "
                          f"warm-up {args.warmup:.0f} s per block")
            results = asyncio.run(run(server, app, args))
            app.close()
        finally:
            stop_server(server.proc)

    out: dict[str, Any] = {"shopcall": summary(results["shopcall"]), "direct": summary(results["direct"])}
    sp, dp = out["shopcall"]["p95_ms"], out["direct"]["p95_ms"]
    out["ratio_p95"] = round(sp / dp, 3) if sp is not None and dp else None
    report(results, out)
    console.print(f"total run time {time.monotonic() - started:.0f} s")
    save_json(args.json, out, console)
    return 0 if out["ratio_p95"] is not None else 1


if __name__ == "__main__":
    sys.exit(main())
