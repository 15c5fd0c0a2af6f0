"""The join-to-first-frame benchmark runs end to end and writes the JSON shape other tools read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bench.runner import run_bench

pytestmark = pytest.mark.e2e


def test_call_setup_bench_runs_and_writes_its_json(tmp_path: Path) -> None:
    out = tmp_path / "call_setup.json"
    r = run_bench("call_setup.py", "--calls", "2", "--warmup", "0", "--rtp-base", "41000", "--json", str(out),
                  timeout=300)
    data = json.loads(out.read_text())
    assert set(data) == {"shopcall", "janus", "ratio_median"}
    for system in ("shopcall", "janus"):
        assert set(data[system]) == {"median_ms", "p95_ms"}
        assert 0 < data[system]["median_ms"] <= data[system]["p95_ms"] < 20000
    assert data["ratio_median"] > 0
    assert "ratio of medians" in r.stdout
