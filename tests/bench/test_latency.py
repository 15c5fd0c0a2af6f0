"""bench/latency.py runs end to end (bots through the server and its Janus, and direct aiortc) and writes the
JSON shape other tools read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bench.runner import run_bench

pytestmark = pytest.mark.e2e


def test_latency_bench_quick_run_writes_its_json(tmp_path: Path) -> None:
    out = tmp_path / "latency.json"
    r = run_bench("latency.py", "--quick", "--rtp-base", "44800", "--json", str(out), timeout=180)
    data = json.loads(out.read_text())
    assert set(data) == {"shopcall", "direct", "ratio_p95"}
    for system in ("shopcall", "direct"):
        s = data[system]
        assert set(s) == {"p50_ms", "p95_ms", "max_ms"}
        assert 0 < s["p50_ms"] <= s["p95_ms"] <= s["max_ms"] < 5000
    assert data["ratio_p95"] > 0
    assert "ratio of p95" in r.stdout
