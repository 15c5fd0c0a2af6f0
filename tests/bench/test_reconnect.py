"""bench/reconnect.py runs end to end (--quick: one 6 s outage, an address change, UDP blocked, TLS only)
and writes the JSON shape of issue 12's benchmark."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.bench.runner import run_bench

pytestmark = [pytest.mark.netns,
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespace and nftables")]
CONNECT_KEYS = {"connected", "first_frame_ms", "path"}


@pytest.mark.skipif(not os.environ.get("SHOPCALL_BENCH_SMOKE"), reason="about 5 min: run with SHOPCALL_BENCH_SMOKE=1 "
                    "(tests/netns covers the same scenarios in the suite)")
def test_quick_run_writes_the_issue_12_shape(tmp_path: Path) -> None:
    out = tmp_path / "reconnect.json"
    r = run_bench("reconnect.py", "--quick", "--json", str(out), timeout=900)
    data = json.loads(out.read_text())
    assert set(data) == {"udp_blocked", "tls_only", "outage", "ip_change", "udp_blocked_janus"}
    for key in ("udp_blocked", "tls_only", "udp_blocked_janus"):
        assert set(data[key]) == CONNECT_KEYS, data[key]
    # with UDP blocked ShopCall connects through TURN over TCP; raw Janus without TURN cannot
    assert data["udp_blocked"]["connected"] is True and data["udp_blocked"]["path"] == "relay-tcp", data
    assert data["udp_blocked"]["first_frame_ms"] > 0
    assert data["udp_blocked_janus"] == {"connected": False, "first_frame_ms": None, "path": None}
    assert data["tls_only"]["connected"] is True and data["tls_only"]["path"] == "relay-tls", data
    assert [(row["system"], row["outage_s"]) for row in data["outage"]] == [("shopcall", 6), ("janus", 6)]
    assert [row["system"] for row in data["ip_change"]] == ["shopcall", "janus"]
    for row in data["outage"] + data["ip_change"]:
        assert row["media_back_ms"] is None or 0 < row["media_back_ms"] <= 20000, row
    assert "Reconnects" in r.stdout and "total run time" in r.stdout
