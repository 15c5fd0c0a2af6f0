"""Fixtures for the media tests: a scripted Janus on loopback and a JanusClient connected to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shopcall.media.janus_client import JanusClient
from tests.media.fake_janus import FakeJanus


@pytest.fixture
async def janus() -> AsyncIterator[FakeJanus]:
    fake = FakeJanus()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def client(janus: FakeJanus) -> AsyncIterator[JanusClient]:
    """Connected, with short request timeouts and keepalives slow enough to stay out of the way."""
    c = JanusClient(janus.url, request_timeout=2.0, keepalive_s=30.0)
    await c.connect()
    try:
        yield c
    finally:
        await c.close()
