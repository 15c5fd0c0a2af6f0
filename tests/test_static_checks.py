"""CI runs only pytest, so the linters run here: ruff, mypy over src/ and the import-linter contracts.

Plus one rule no linter states: REST handlers never open a database session themselves (stores do).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's bin/, where ruff, mypy and lint-imports are installed


@pytest.mark.parametrize("cmd", [
    ["ruff", "check", "src", "tests", "bench"],
    ["mypy", "src"],
    ["lint-imports"],
], ids=["ruff", "mypy", "import-linter"])
def test_static_check_passes(cmd: list[str]) -> None:
    res = subprocess.run([str(BIN / cmd[0]), *cmd[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, f"{' '.join(cmd)} exited {res.returncode}:\n{res.stdout}\n{res.stderr}"


HANDLERS = ["app_settings", "console", "deps", "health", "recordings", "rooms", "sessions", "webhooks", "widget"]


@pytest.mark.parametrize("module", HANDLERS)
def test_rest_handlers_open_no_database_session(module: str) -> None:
    """Sessions belong to store modules; app state is read only through api.deps."""
    source = (ROOT / "src" / "shopcall" / "api" / f"{module}.py").read_text()
    assert not re.search(r"\.session\(\)", source), f"api/{module}.py opens a session: call a store instead"
    if module != "deps":
        assert "app.state" not in source, f"api/{module}.py reads app.state: declare a dependency from api.deps"
