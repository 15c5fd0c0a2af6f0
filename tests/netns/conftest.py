"""Fixtures for issue 12's network scenarios: one rig per package (network namespace, ShopCall with its
Janus and its managed coturn, a Chromium on the host and one in the namespace; bench/netscenarios.py),
shared by the tests here because building it takes most of a minute on a busy machine."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.bench.runner import BENCH

if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))  # bench/netscenarios.py and the modules it imports by their bare names


@pytest.fixture(scope="package")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if os.geteuid() != 0:
        pytest.skip("needs root: network namespace, veth pair, nftables")
    import netscenarios

    tmp: Path = tmp_path_factory.mktemp("netns")
    with netscenarios.rig(tmp, netscenarios.RigOptions(rtp_base=netscenarios.free_udp_range(200))) as r:
        yield r
