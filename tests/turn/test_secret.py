"""The shared TURN secret: generated once with mode 0600, or taken from the settings."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from shopcall.config import Settings
from shopcall.turn.secret import load_turn_secret


def test_generated_once_and_private(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "d")
    first = load_turn_secret(s)
    assert len(first) >= 32 and load_turn_secret(s) == first
    path = tmp_path / "d" / "turn.secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_configured_secret_wins_and_must_be_long(tmp_path: Path) -> None:
    assert load_turn_secret(Settings(data_dir=tmp_path, turn_secret="x" * 20)) == "x" * 20  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 16"):
        load_turn_secret(Settings(data_dir=tmp_path, turn_secret="short"))  # type: ignore[arg-type]
    assert not (tmp_path / "turn.secret").exists()
