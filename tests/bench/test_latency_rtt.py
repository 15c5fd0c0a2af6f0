"""bench/latency_rtt.py runs end to end: the added round trip shows up in the measured latency."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespace and delay relay")
ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_measures_the_added_delay(tmp_path: Path) -> None:
    out = tmp_path / "latency_rtt.json"
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "latency_rtt.py"), "--quick", "--rtp-base", "46400",
                        "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    data = json.loads(out.read_text())
    assert set(data) == {"added_rtt_ms", "baseline", "delayed", "goal_ms", "met"}
    base, delayed = data["baseline"], data["delayed"]
    for s in (base, delayed):
        assert 0 < s["p50_ms"] <= s["p95_ms"] <= s["max_ms"] < 5000
    # media to the subscriber crosses the delayed downlink once: + 50 ms one way
    assert delayed["p50_ms"] - base["p50_ms"] >= 40, data
    assert data["met"] == (delayed["p95_ms"] < 400)
    assert "p95 with +100 ms RTT" in r.stdout
