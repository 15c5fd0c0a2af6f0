"""Fixtures for browser tests: the demo server (+ its supervised Janus) per module, headless Chromium, and
where screenshots go."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser import launch
from tests.e2e.server import Server, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("server")) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = launch(pw)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest, artifacts: Path) -> Path:
    """The test module's screenshot folder: test-artifacts/<module name without `test_`>."""
    folder = artifacts / request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    folder.mkdir(exist_ok=True)
    return folder
