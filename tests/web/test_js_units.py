"""Runs the browser SDK's JavaScript unit tests (`node --test tests/js/`) as part of `pytest`."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_node_unit_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (scripts/setup.sh installs it)")
    # the spec reporter ends with a summary of the failing tests, so the tail of its output says what broke
    r = subprocess.run([node, "--test", "--test-reporter=spec", "tests/js/"], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, f"node --test tests/js/ failed:\n{r.stdout[-8000:]}\n{r.stderr[-3000:]}"
    ran = re.search(r"ℹ tests (\d+)", r.stdout)
    assert ran and int(ran.group(1)) > 0, f"no JavaScript tests ran:\n{r.stdout[-8000:]}"
