"""The join-to-first-frame benchmark runs end to end and writes the JSON shape other tools read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_call_setup_bench_runs_and_writes_its_json(tmp_path: Path) -> None:
    out = tmp_path / "call_setup.json"
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "call_setup.py"), "--calls", "2", "--warmup", "0",
                        "--rtp-base", "41000", "--json", str(out)], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    data = json.loads(out.read_text())
    assert set(data) == {"shopcall", "janus", "ratio_median"}
    for system in ("shopcall", "janus"):
        assert set(data[system]) == {"median_ms", "p95_ms"}
        assert 0 < data[system]["median_ms"] <= data[system]["p95_ms"] < 20000
    assert data["ratio_median"] > 0
    assert "ratio of medians" in r.stdout
