"""A real coturn supervised by ShopCall on free ports, and credentials for it."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shopcall.config import Settings
from shopcall.turn.credentials import TurnCredential, mint
from shopcall.turn.service import TurnService

TURNSERVER = "/usr/bin/turnserver"


def managed_settings(tmp_path: Path, **extra: object) -> Settings:
    """Settings for a managed coturn on free ports; the test is skipped where coturn is not installed."""
    if not os.path.exists(TURNSERVER):
        pytest.skip(f"{TURNSERVER} is not installed")
    values: dict[str, object] = {"data_dir": tmp_path / "data", "turn_mode": "managed", "turn_port": 0,
                                 "turn_tls_port": 0, "turn_binary": TURNSERVER, **extra}
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def turn(tmp_path: Path) -> AsyncIterator[TurnService]:
    service = TurnService(managed_settings(tmp_path))
    await service.start()
    assert service.process is not None and service.process.ready, service.process and service.process.log_tail()
    try:
        yield service
    finally:
        await service.stop()


def credential(service: TurnService, identity: str = "cus_1", ttl_s: int = 600) -> TurnCredential:
    """Credentials as the service mints them for a client (via its ice_servers)."""
    expires_at = int(time.time()) + ttl_s
    entry = service.ice_servers(identity, expires_at, None)[0]
    return TurnCredential(entry["username"], entry["credential"], expires_at)


def wrong_secret_credential(identity: str = "cus_1") -> TurnCredential:
    return mint("not-the-shared-secret", identity, int(time.time()) + 600)
