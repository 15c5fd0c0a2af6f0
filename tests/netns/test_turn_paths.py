"""Issue 12 (a) and (b): a shopper whose network blocks UDP, or lets only TLS to the TURN port through,
still gets a call through ShopCall's managed coturn, media decoded both ways."""

from __future__ import annotations

from typing import Any

import pytest
from netscenarios import run_connect

pytestmark = pytest.mark.netns


def _relay_only(res: Any, protocol: str) -> None:
    """Every open connection of the shopper's page runs on a relay candidate over `protocol`."""
    assert res.connected, res
    assert res.paths, res
    for p in res.paths:
        assert p["local"] is not None, res.paths
        assert (p["local"]["type"], p["local"]["relayProtocol"]) == ("relay", protocol), res.paths
    assert res.path == f"relay-{protocol}", res
    # media keeps flowing both ways: the shopper decodes the agent's video and the agent the shopper's
    # (≥ 2 fps: the shared test machine can be loaded far beyond its 2 cores)
    assert min(res.frames_2s.values()) >= 4, res.frames_2s


def test_udp_blocked_shopper_connects_through_turn_over_tcp(rig: Any) -> None:
    res = run_connect(rig, "shopcall", "udp", timeout_s=45)
    _relay_only(res, "tcp")
    assert res.dropped > 0, "the firewall dropped no UDP: the browser never tried a UDP path"


def test_tls_only_shopper_connects_through_turn_over_tls(rig: Any) -> None:
    # allowed: TCP to the TURN TLS port and to the control plane (page + signalling through the forwarder)
    res = run_connect(rig, "shopcall", "tls", timeout_s=45)
    _relay_only(res, "tls")
    assert res.dropped > 0, "the firewall dropped nothing: the browser never tried another path"
