"""CI runs only pytest, so the linters run here: ruff, mypy over src/ and the import-linter contracts.

Plus two rules no linter states: REST handlers never open a database session themselves (stores do), and
nothing but `api.deps` touches `app.state` (services are passed in, not looked up).
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


HANDLERS = ["app_settings", "console", "deps", "health", "privacy", "recordings", "rooms", "sessions", "webhooks",
            "widget"]


@pytest.mark.parametrize("module", HANDLERS)
def test_rest_handlers_open_no_database_session(module: str) -> None:
    source = (ROOT / "src" / "shopcall" / "api" / f"{module}.py").read_text()
    assert not re.search(r"\.session\(\)", source), f"api/{module}.py opens a session: call a store instead"


def test_only_api_deps_touches_app_state() -> None:
    src = ROOT / "src" / "shopcall"
    offenders = [str(p.relative_to(src)) for p in src.rglob("*.py")
                 if p != src / "api" / "deps.py" and re.search(r"\bapp\.state\b", p.read_text())]
    assert offenders == [], f"read services through shopcall.api.deps (Services / services_of): {offenders}"
