"""bench/netimpair.py does what it says: measured with real UDP traffic, and it leaves nothing behind.

The weak-network benchmark's figures are only as good as its impairments, so each one is checked by
its effect on packets crossing the veth (not by reading back the rules), then the clean-up is checked
against the system's own listings (namespaces, links, policy rules, processes).
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.bench.runner import BENCH

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root: creates a network namespace, veth pair, nftables tables and tc qdiscs")

NETIMPAIR = BENCH / "netimpair.py"

# Sends `n` UDP datagrams of `size` bytes, one every `gap` s, each stamped with (seq, send wall time).
SENDER = r"""
import socket, struct, sys, time
host, port, n, gap, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t0 = time.monotonic()
for i in range(n):
    s.sendto(struct.pack("!Id", i, time.time()).ljust(size, b"."), (host, port))
    wait = t0 + (i + 1) * gap - time.monotonic()
    if wait > 0:
        time.sleep(wait)
"""

# Receives until 1 s of silence; prints [[seq, one-way delay s, recv wall time, bytes], ...] as JSON.
RECEIVER = r"""
import json, socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(1.0)
print("listening", flush=True)
got = []
while True:
    try:
        data = s.recv(65535)
    except socket.timeout:
        break
    now = time.time()
    seq, sent = struct.unpack("!Id", data[:12])
    got.append([seq, now - sent, now, len(data)])
print(json.dumps(got), flush=True)
"""

Packets = list[tuple[int, float, float, int]]


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("netimpair", NETIMPAIR)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["netimpair"] = mod
    spec.loader.exec_module(mod)
    return mod


def up_traffic(ns: Any, n: int, gap: float, size: int) -> Packets:
    """From the namespace to a socket on the host (the namespace's uplink)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind((ns.host_ip, 0))
        rx.settimeout(1.0)
        port = rx.getsockname()[1]
        sender = ns.popen([sys.executable, "-c", SENDER, ns.host_ip, str(port), str(n), str(gap), str(size)])
        got: Packets = []
        while True:
            try:
                data = rx.recv(65535)
            except TimeoutError:
                break
            now = time.time()
            seq, sent = struct.unpack("!Id", data[:12])
            got.append((seq, now - sent, now, len(data)))
        assert sender.wait(10) == 0
    return got


def down_traffic(ns: Any, n: int, gap: float, size: int) -> Packets:
    """From the host to a socket inside the namespace (the namespace's downlink)."""
    ns_ip: str = ns.ns_ip
    rx = ns.popen([sys.executable, "-c", RECEIVER, ns_ip, "45999"], stdout=subprocess.PIPE)
    assert rx.stdout is not None
    assert rx.stdout.readline().strip() == b"listening"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        t0 = time.monotonic()
        for i in range(n):
            tx.sendto(struct.pack("!Id", i, time.time()).ljust(size, b"."), (ns_ip, 45999))
            wait = t0 + (i + 1) * gap - time.monotonic()
            if wait > 0:
                time.sleep(wait)
    out, _ = rx.communicate(timeout=15)
    return [(int(p[0]), float(p[1]), float(p[2]), int(p[3])) for p in json.loads(out)]


def kbit_per_s(got: Packets) -> float:
    span = got[-1][2] - got[0][2]
    return sum(p[3] + 28 for p in got[1:]) * 8 / span / 1000  # + IPv4/UDP headers, as tbf counts them


def leftovers(tag: str, names: list[str], delay_table: str) -> list[str]:
    """What of one instance is still there: its namespace, links, host nftables table, helper processes."""
    found = []
    if any(line.split(" ")[0] == names[0] for line in subprocess.run(
            ["ip", "netns", "list"], capture_output=True, text=True).stdout.splitlines()):
        found.append(f"namespace {names[0]}")
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    found += [f"link {n}" for n in names[1:] if f" {n}:" in links or f" {n}@" in links]
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    found += [f"nft {line}" for line in tables.splitlines() if line.endswith(f" {delay_table}")]
    qdiscs = subprocess.run(["tc", "qdisc", "show"], capture_output=True, text=True).stdout
    found += [f"qdisc {line}" for line in qdiscs.splitlines() if any(f" dev {n} " in line for n in names[1:])]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if f"scwd{tag}" in cmd or f"scwu{tag}" in cmd or f"shopcall-wn-{tag}" in cmd:
            found.append(f"process {pid}: {cmd}")
    return found


def test_loss_rate_and_delay_are_real_and_cleanup_is_complete() -> None:
    ni = load()
    ns = ni.NetNS()
    names = [ns.name, ns.host_if, ns.ns_if, f"scwd{ns.tag}", f"scwu{ns.tag}"]
    try:
        ns.create()
        clean = up_traffic(ns, 200, 0.002, 200)
        assert len(clean) == 200, "a clean link must not lose packets"

        ns.impair("up", ni.Impairment(loss_pct=50))
        got = up_traffic(ns, 1000, 0.002, 200)
        assert 0.43 < len(got) / 1000 < 0.57, f"50 % uplink loss let {len(got)} of 1000 through"
        ns.impair("down", ni.Impairment(loss_pct=50))
        ns.impair("up", ni.Impairment())
        got = down_traffic(ns, 1000, 0.002, 200)
        assert 0.43 < len(got) / 1000 < 0.57, f"50 % downlink loss let {len(got)} of 1000 through"
        assert ns.counters()["down"] > 400  # the nftables rule did the dropping

        ns.impair("down", ni.Impairment(rate_kbit=500))  # offered 2 Mbit/s for 1.5 s
        got = down_traffic(ns, 250, 0.006, 1472)
        rate = kbit_per_s(got)
        assert 430 < rate < 560, f"500 kbit/s cap measured {rate:.0f} kbit/s"
        assert len(got) < 150, "the cap must drop what does not fit (queue ≤ 200 ms)"

        ns.impair("down", ni.Impairment())
        ns.impair("up", ni.Impairment(delay_ms=80, jitter_ms=20))
        got = up_traffic(ns, 300, 0.005, 200)
        delays = [p[1] * 1000 for p in got]
        assert len(got) == 300, "delay must not lose packets"
        assert 60 <= min(delays) and max(delays) <= 115, (min(delays), max(delays))
        assert 70 < statistics.mean(delays) < 95, statistics.mean(delays)
        assert max(delays) - min(delays) > 15, "jitter must vary the delay"
        assert [p[0] for p in got] == sorted(p[0] for p in got), "the delayer must not reorder"

        ns.impair("up", ni.Impairment())
        ns.impair("down", ni.Impairment(delay_ms=50))  # the host side: TAP + nftables table on the host
        got = down_traffic(ns, 100, 0.005, 200)
        delays = [p[1] * 1000 for p in got]
        assert len(got) == 100 and 48 <= min(delays) and max(delays) < 70, (len(got), min(delays), max(delays))

        ns.impair("down", ni.Impairment())
        again = up_traffic(ns, 100, 0.002, 200)
        assert len(again) == 100 and max(p[1] for p in again) < 0.02, "clearing restores a clean link"
    finally:
        ns.close()
    assert leftovers(ns.tag, names, ns.delay_table) == []
