"""Weak-network impairment for benchmarks: a network namespace behind a veth pair, with loss, rate and delay.

The kernel here has no `netem`, so each impairment uses what it does have:

- **loss**: nftables random drop of UDP (i.e. media and ICE; the signalling is TCP) in a `netdev` table
  of the namespace, on the namespace's veth end: the `ingress` hook for the downlink (host → namespace),
  the `egress` hook for the uplink (namespace → host). Drops happen before the rate limiter queues.
- **rate**: `tc tbf` on the sending end of the veth (host end for the downlink, namespace end for the uplink).
- **delay with jitter**: a user-space delayer (`delay` sub-command of this file). An nftables rule in
  the `egress` hook of the sending veth end (`netdev` family) forwards (`fwd`) every UDP frame to a TAP
  device that the delayer reads; it holds each frame for the current one-way delay and then sends it,
  marked, back out of the same veth end through an AF_PACKET socket (the mark lets it pass the `fwd`
  rule the second time), so it still crosses the loss rule and the rate limiter after the delay.
  Taking frames at the device rather than by policy routing matters: Janus's media did not follow an
  `ip rule` into a TUN (a plain socket did). The delay wanders as a piecewise-linear random walk
  between `delay - jitter` and `delay + jitter` (a new uniform target every `2.5 × jitter` ms, at least
  50 ms): its mean is `delay` and it changes slower than time passes, so packets keep their order, as on
  a real queueing path.

Everything is created under names with a per-instance tag and removed by `close()` (also on errors, at
exit and on SIGTERM): the namespace (with its veth end, nftables tables, qdiscs and TAP), the host end of
the veth with its qdisc, the host's nftables table for the downlink delay, the delayer processes (a TAP
vanishes with its process). Needs root.

    with NetNS() as ns:
        ns.impair("down", Impairment(loss_pct=30))
        ns.ns_sh(["ping", "-c1", ns.host_ip])
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import fcntl
import heapq
import os
import random
import secrets
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Direction = Literal["down", "up"]
NS_PREFIX = "shopcall-wn-"
IF_PREFIX = "scw"  # veth ends scwh<tag>/scwn<tag>, TAP devices scwd<tag> (host) / scwu<tag> (namespace)
DELAY_TABLE = "shopcall_wn_delay_"  # + tag: the host's netdev table for the downlink delay
MARK = 0x5C0DE1A7  # frames the delayer sends back out: not to be taken again
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Impairment:
    """One network condition, applied to one direction of the namespace's link."""

    loss_pct: float = 0.0
    rate_kbit: int | None = None
    delay_ms: float | None = None
    jitter_ms: float = 0.0

    def label(self) -> str:
        parts = []
        if self.loss_pct:
            parts.append(f"{self.loss_pct:g} % loss")
        if self.rate_kbit:
            parts.append(f"{self.rate_kbit} kbit/s" if self.rate_kbit < 1000 else f"{self.rate_kbit / 1000:g} Mbit/s")
        if self.delay_ms:
            parts.append(f"{self.delay_ms:g}±{self.jitter_ms:g} ms")
        return ", ".join(parts) or "clean"


def sh(argv: list[str], *, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure raise with its stderr (the messages of ip/tc/nft are the useful part)."""
    r = subprocess.run(argv, capture_output=True, text=True, input=input)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({r.returncode}): {r.stderr.strip() or r.stdout.strip()}")
    return r


def _die_with_parent() -> None:
    """preexec_fn: a helper process must not outlive the benchmark that started it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


_LIVE: weakref.WeakSet[NetNS] = weakref.WeakSet()
_HOOKS_INSTALLED = False


def _close_all() -> None:
    for ns in list(_LIVE):
        with contextlib.suppress(Exception):
            ns.close()


def _on_sigterm(signum: int, _frame: object) -> None:
    _close_all()
    raise SystemExit(128 + signum)


def _install_hooks() -> None:
    """atexit + SIGTERM clean-up, once per process (SIGINT already unwinds through `finally`)."""
    global _HOOKS_INSTALLED
    if _HOOKS_INSTALLED:
        return
    _HOOKS_INSTALLED = True
    atexit.register(_close_all)
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) in (
            signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _on_sigterm)


class NetNS:
    """A namespace `shopcall-wn-<tag>` at `ns_ip`, linked by a veth pair to the host end at `host_ip`.

    The namespace's default route points at the host end, so it reaches every address of the host (e.g. the
    ICE candidates of a Janus on the host) but nothing beyond it: no forwarding or NAT is set up.
    """

    def __init__(self, tag: str | None = None) -> None:
        self.tag = tag or self._free_tag()
        self.name = NS_PREFIX + self.tag
        self.host_if = f"{IF_PREFIX}h{self.tag}"
        self.ns_if = f"{IF_PREFIX}n{self.tag}"
        self.octet = int(self.tag, 16) % 250 + 1 if all(c in "0123456789abcdef" for c in self.tag) else 1
        self.host_ip = f"10.213.{self.octet}.1"
        self.ns_ip = f"10.213.{self.octet}.2"
        self.host_mac = f"02:5c:00:00:{self.octet:02x}:01"
        self.ns_mac = f"02:5c:00:00:{self.octet:02x}:02"
        self.delay_table = DELAY_TABLE + self.tag
        self._created = False
        self._delayers: dict[Direction, subprocess.Popen[bytes]] = {}
        self._current: dict[Direction, Impairment] = {}
        self._children: list[subprocess.Popen[bytes]] = []
        self._wrappers: list[Path] = []

    @staticmethod
    def _free_tag() -> str:
        """A random tag whose namespace name and /30 subnet are not in use (several instances may run at once)."""
        used = sh(["ip", "-4", "-o", "addr"], check=False).stdout
        for _ in range(100):
            tag = secrets.token_hex(2)
            octet = int(tag, 16) % 250 + 1
            if f" 10.213.{octet}." not in used and not Path("/run/netns", NS_PREFIX + tag).exists():
                return tag
        raise RuntimeError("no free 10.213.x.0/30 subnet")

    # ---------------------------------------------------------------- lifecycle

    def create(self) -> NetNS:
        if os.geteuid() != 0:
            raise PermissionError("network namespaces need root")
        if Path("/run/netns", self.name).exists():
            raise RuntimeError(f"namespace {self.name} exists already (a crashed run? `{sys.argv[0]} cleanup`)")
        used = sh(["ip", "-4", "-o", "addr"]).stdout
        if f" 10.213.{self.octet}." in used:
            raise RuntimeError(f"10.213.{self.octet}.0/30 is in use on this host; pick another tag")
        _install_hooks()
        _LIVE.add(self)
        self._created = True  # from here on close() removes whatever part exists
        try:
            sh(["ip", "netns", "add", self.name])
            sh(["ip", "link", "add", self.host_if, "address", self.host_mac, "type", "veth",
                "peer", "name", self.ns_if, "address", self.ns_mac, "netns", self.name])
            sh(["sysctl", "-qw", f"net.ipv6.conf.{self.host_if}.disable_ipv6=1"])
            sh(["ip", "addr", "add", f"{self.host_ip}/30", "dev", self.host_if])
            sh(["ip", "link", "set", self.host_if, "up"])
            self.ns_sh(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
            self.ns_sh(["ip", "addr", "add", f"{self.ns_ip}/30", "dev", self.ns_if])
            self.ns_sh(["ip", "link", "set", "lo", "up"])
            self.ns_sh(["ip", "link", "set", self.ns_if, "up"])
            self.ns_sh(["ip", "route", "add", "default", "via", self.host_ip, "dev", self.ns_if])
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Remove everything this instance created. Idempotent; never raises for parts already gone."""
        if not self._created:
            return
        for direction in list(self._delayers):
            self._stop_delayer(direction)
        for p in self._children:
            self._end(p)
        self._children.clear()
        # Processes we started inside the namespace (e.g. a browser through a wrapper) would keep it alive.
        pids = sh(["ip", "netns", "pids", self.name], check=False).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        sh(["nft", "delete", "table", "netdev", self.delay_table], check=False)
        sh(["ip", "link", "del", self.host_if], check=False)  # takes the namespace end with it
        sh(["ip", "netns", "del", self.name], check=False)
        for w in self._wrappers:
            w.unlink(missing_ok=True)
        self._wrappers.clear()
        self._current.clear()
        self._created = False
        _LIVE.discard(self)

    def __enter__(self) -> NetNS:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- running things inside

    def ns_argv(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def ns_sh(self, argv: list[str], *, check: bool = True,
              input: str | None = None) -> subprocess.CompletedProcess[str]:
        return sh(self.ns_argv(argv), check=check, input=input)

    def popen(self, argv: list[str], **kw: object) -> subprocess.Popen[bytes]:
        """Start a process inside the namespace; it is ended by close() and dies with this process."""
        p: subprocess.Popen[bytes] = subprocess.Popen(self.ns_argv(argv), preexec_fn=_die_with_parent, **kw)  # type: ignore[call-overload]  # noqa: PLW1509
        self._children.append(p)
        return p

    def wrapper(self, binary: str, folder: Path) -> Path:
        """An executable that runs `binary` inside the namespace (for Playwright's `executable_path`:
        its pipe transport is inherited file descriptors, which cross the namespace boundary)."""
        path = folder / f"in-{self.name}-{Path(binary).name}"
        path.write_text(f'#!/bin/sh\nexec ip netns exec {self.name} {binary} "$@"\n')
        path.chmod(0o755)
        self._wrappers.append(path)
        return path

    # ---------------------------------------------------------------- impairments

    def impair(self, direction: Direction, imp: Impairment) -> None:
        """Make `imp` the condition of `direction` (replacing what was there)."""
        if direction not in ("down", "up"):
            raise ValueError(direction)
        self._set_loss(direction, imp.loss_pct)
        self._set_rate(direction, imp.rate_kbit)
        self._set_delay(direction, imp.delay_ms, imp.jitter_ms)
        self._current[direction] = imp

    def clear(self) -> None:
        for direction in ("down", "up"):
            if direction in self._current:
                self.impair(direction, Impairment())
            self._current.pop(direction, None)

    def _set_loss(self, direction: Direction, pct: float) -> None:
        table = f"impair_{direction}"
        self.ns_sh(["nft", "delete", "table", "netdev", table], check=False)
        if pct <= 0:
            return
        if pct > 100:
            raise ValueError("loss_pct must be 0..100")
        hook = "ingress" if direction == "down" else "egress"
        # numgen gives 0..9999: hundredths of a percent.
        self.ns_sh(["nft", "-f", "-"], input=(
            f"table netdev {table} {{\n"
            f"  chain {direction} {{\n"
            f'    type filter hook {hook} device "{self.ns_if}" priority 0; policy accept;\n'
            f"    meta l4proto udp numgen random mod 10000 < {round(pct * 100)} counter drop\n"
            f"  }}\n"
            f"}}\n"))

    def _set_rate(self, direction: Direction, kbit: int | None) -> None:
        run = sh if direction == "down" else self.ns_sh
        dev = self.host_if if direction == "down" else self.ns_if
        run(["tc", "qdisc", "del", "dev", dev, "root"], check=False)
        if not kbit:
            return
        # burst: at least one MTU and ~20 ms of the rate; queue up to 200 ms before tail drop.
        burst = max(1600, kbit * 1000 // 8 // 50)
        run(["tc", "qdisc", "replace", "dev", dev, "root", "tbf", "rate", f"{kbit}kbit", "burst", str(burst),
             "latency", "200ms"])

    def _set_delay(self, direction: Direction, delay_ms: float | None, jitter_ms: float) -> None:
        old = self._current.get(direction)
        if old and old.delay_ms == delay_ms and old.jitter_ms == jitter_ms and direction in self._delayers:
            return
        self._stop_delayer(direction)
        if not delay_ms and not jitter_ms:
            return
        tap = f"{IF_PREFIX}{'d' if direction == 'down' else 'u'}{self.tag}"
        dev = self.host_if if direction == "down" else self.ns_if
        run = sh if direction == "down" else self.ns_sh
        argv = [sys.executable, str(Path(__file__).resolve()), "delay", "--tap", tap, "--out-if", dev,
                "--delay", str(delay_ms or 0), "--jitter", str(jitter_ms)]
        if direction == "up":
            argv = self.ns_argv(argv)
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, preexec_fn=_die_with_parent)  # noqa: PLW1509
        self._delayers[direction] = p
        assert p.stdout is not None
        ready, _, _ = select.select([p.stdout], [], [], 10)
        line = p.stdout.readline().decode().strip() if ready else ""
        if line != "ready":
            self._stop_delayer(direction)
            raise RuntimeError(f"delayer did not start (said {line!r})")
        run(["sysctl", "-qw", f"net.ipv6.conf.{tap}.disable_ipv6=1"])  # no IPv6 chatter of its own
        run(["ip", "link", "set", tap, "up"])
        # Before the loss chain (priority 0): a frame is delayed first, and meets the loss rule on its way out.
        table = self.delay_table if direction == "down" else "delay_up"
        run(["nft", "-f", "-"], input=(
            f"table netdev {table} {{\n"
            f"  chain take {{\n"
            f'    type filter hook egress device "{dev}" priority -10; policy accept;\n'
            f'    meta mark != {MARK:#x} meta l4proto udp fwd to "{tap}"\n'
            f"  }}\n"
            f"}}\n"))

    def _stop_delayer(self, direction: Direction) -> None:
        if direction == "down":
            sh(["nft", "delete", "table", "netdev", self.delay_table], check=False)
        elif self._created:
            self.ns_sh(["nft", "delete", "table", "netdev", "delay_up"], check=False)
        p = self._delayers.pop(direction, None)
        if p is not None:
            self._end(p)  # its TAP (not persistent) vanishes with it

    @staticmethod
    def _end(p: subprocess.Popen[bytes]) -> None:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(3)
        if p.stdout is not None:
            p.stdout.close()

    def counters(self) -> dict[str, int]:
        """Packets dropped so far by the loss rules, per direction (for sanity checks)."""
        out: dict[str, int] = {}
        for direction in ("down", "up"):
            r = self.ns_sh(["nft", "list", "table", "netdev", f"impair_{direction}"], check=False)
            for line in r.stdout.splitlines():
                if "counter packets" in line:
                    out[direction] = int(line.split("counter packets")[1].split()[0])
        return out


# -------------------------------------------------------------------- the delayer process

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
SO_MARK = 36


def run_delayer(tap: str, out_if: str, delay_ms: float, jitter_ms: float, seed: int | None = None) -> None:
    """Read frames from a new TAP `tap`, hold each for the current delay, send them out of `out_if`, marked.

    The delay follows a random piecewise-linear curve within `delay ± jitter` (see the module docstring);
    a frame's release time is also never before its predecessor's, so there is no reordering.
    Exits on SIGTERM/SIGINT; the TAP disappears with it.
    """
    rng = random.Random(seed)
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", tap.encode(), IFF_TAP | IFF_NO_PI))
    os.set_blocking(fd, False)
    out = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    out.setsockopt(socket.SOL_SOCKET, SO_MARK, MARK)
    out.bind((out_if, 0))
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    lo, hi = max(0.0, delay_ms - jitter_ms) / 1000, (delay_ms + jitter_ms) / 1000
    step = max(0.05, 2.5 * jitter_ms / 1000)  # slope ≤ 0.8: the delay never falls faster than time runs
    k0_t, k0_v = time.monotonic(), rng.uniform(lo, hi)
    k1_t, k1_v = k0_t + step, rng.uniform(lo, hi)

    def delay_at(t: float) -> float:
        nonlocal k0_t, k0_v, k1_t, k1_v
        while t >= k1_t:
            k0_t, k0_v, k1_t, k1_v = k1_t, k1_v, k1_t + step, rng.uniform(lo, hi)
        return k0_v + (k1_v - k0_v) * (t - k0_t) / step

    print("ready", flush=True)
    heap: list[tuple[float, int, bytes]] = []
    seq = 0
    last_release = 0.0
    while not stop:
        now = time.monotonic()
        while heap and heap[0][0] <= now:
            _, _, frame = heapq.heappop(heap)
            with contextlib.suppress(OSError):  # e.g. ENOBUFS when the rate limiter's queue is full: a drop
                out.send(frame)
        timeout = max(0.0, heap[0][0] - now) if heap else 0.5
        try:
            ready, _, _ = select.select([fd], [], [], timeout)
        except InterruptedError:
            continue
        if not ready:
            continue
        while True:  # drain what is there
            try:
                frame = os.read(fd, 65535)
            except BlockingIOError:
                break
            if len(frame) < 34:
                continue
            t = time.monotonic()
            release = max(t + delay_at(t), last_release)
            last_release = release
            seq += 1
            heapq.heappush(heap, (release, seq, frame))
    os.close(fd)
    out.close()


def cleanup_leftovers() -> list[str]:
    """Remove namespaces, veths and host rules left by runs that were killed hard (SIGKILL). Returns what went."""
    gone: list[str] = []
    for ns in sh(["ip", "netns", "list"], check=False).stdout.split("\n"):
        name = ns.split(" ")[0]
        if name.startswith(NS_PREFIX):
            for pid in sh(["ip", "netns", "pids", name], check=False).stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            sh(["ip", "netns", "del", name], check=False)
            gone.append(f"netns {name}")
    for line in sh(["ip", "-o", "link"], check=False).stdout.splitlines():
        dev = line.split(":")[1].strip().split("@")[0]
        if dev.startswith(IF_PREFIX) and len(dev) > len(IF_PREFIX) and dev[len(IF_PREFIX)] in "hd":
            sh(["ip", "link", "del", dev], check=False)
            gone.append(f"link {dev}")
    for line in sh(["nft", "list", "tables", "netdev"], check=False).stdout.splitlines():
        name = line.split()[-1] if line.startswith("table netdev ") else ""
        if name.startswith(DELAY_TABLE):
            sh(["nft", "delete", "table", "netdev", name], check=False)
            gone.append(f"nft table netdev {name}")
    return gone


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("delay", help="(internal) run the delayer: TAP in, veth out")
    d.add_argument("--tap", required=True)
    d.add_argument("--out-if", required=True)
    d.add_argument("--delay", type=float, required=True, help="ms")
    d.add_argument("--jitter", type=float, default=0.0, help="ms, uniform ±")
    d.add_argument("--seed", type=int)
    sub.add_parser("cleanup",
                   help="remove leftovers of killed runs (namespaces shopcall-wn-*, scw* links, delay tables)")
    args = ap.parse_args(argv)
    if args.cmd == "delay":
        run_delayer(args.tap, args.out_if, args.delay, args.jitter, args.seed)
        return 0
    for what in cleanup_leftovers():
        print("removed", what)
    return 0


if __name__ == "__main__":
    sys.exit(main())
