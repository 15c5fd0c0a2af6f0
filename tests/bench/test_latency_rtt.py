"""bench/latency_rtt.py runs end to end: the added round trip shows up in the measured latency."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.bench.runner import run_bench

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespace and delay relay")


def test_quick_run_measures_the_added_delay(tmp_path: Path) -> None:
    out = tmp_path / "latency_rtt.json"
    r = run_bench("latency_rtt.py", "--quick", "--rtp-base", "46400", "--json", str(out), timeout=240)
    data = json.loads(out.read_text())
    assert set(data) == {"added_rtt_ms", "baseline", "delayed", "goal_ms", "met"}
    base, delayed = data["baseline"], data["delayed"]
    for s in (base, delayed):
        assert 0 < s["p50_ms"] <= s["p95_ms"] <= s["max_ms"] < 5000
    # media to the subscriber crosses the delayed downlink once: + 50 ms one way
    assert delayed["p50_ms"] - base["p50_ms"] >= 40, data
    assert data["met"] == (delayed["p95_ms"] < 400)
    assert "p95 with +100 ms RTT" in r.stdout
