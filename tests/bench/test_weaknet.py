"""bench/weaknet.py runs end to end from a fresh setup: one lossy condition against both systems."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.bench.runner import run_bench

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespace, nftables and tc")
ROW_KEYS = {"system", "direction", "loss_pct", "rate_kbit", "delay_ms", "fps", "freeze_ratio",
            "concealment_ratio", "height", "rtt_ms"}


def test_one_lossy_condition_writes_the_row_shape_other_tools_read(tmp_path: Path) -> None:
    out = tmp_path / "weaknet.json"
    r = run_bench("weaknet.py", "--match", "down 30 %", "--hold", "5", "--settle", "3", "--warmup", "2",
                  "--rtp-base", "45000", "-v", "--json", str(out), timeout=300)
    rows = json.loads(out.read_text())
    assert [row["system"] for row in rows] == ["shopcall", "janus"]
    by_system = {row["system"]: row for row in rows}
    for row in rows:
        assert set(row) == ROW_KEYS
        assert (row["direction"], row["loss_pct"], row["rate_kbit"], row["delay_ms"]) == ("down", 30, None, None)
        assert row["fps"] > 0 and row["height"] >= 180, row
        assert 0 <= row["freeze_ratio"] <= 1 and 0 <= row["concealment_ratio"] <= 1, row
    # the loss was really applied (raw Janus conceals about as much audio as is lost) and
    # ShopCall's redundant audio recovers much of it
    assert by_system["janus"]["concealment_ratio"] > 0.15, rows
    assert by_system["shopcall"]["concealment_ratio"] < by_system["janus"]["concealment_ratio"], rows
    assert "Weak network" in r.stdout
    # the subscriber's loss reports made the server ask the publisher for three audio frames per packet
    assert "redDistance 3" in r.stdout, r.stdout[-3000:]
