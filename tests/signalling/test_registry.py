"""The message registry: one entry per type, precise validation errors."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import Field

from shopcall.signalling.protocol import Msg, ProtocolError
from shopcall.signalling.registry import STAFF, Registry


class Poke(Msg):
    type: Literal["poke"]
    n: int = Field(ge=0)


async def handler(conn: object, msg: Poke) -> None:
    return None


def test_parse_gives_the_spec_and_model() -> None:
    reg = Registry()
    reg.add(Poke, handler, roles=STAFF, denied="agents only")
    spec, msg = reg.parse({"type": "poke", "id": "1", "n": 3})
    assert spec.roles == STAFF and spec.denied == "agents only" and isinstance(msg, Poke) and msg.n == 3
    assert reg.types == {"poke"}
    with pytest.raises(ValueError):
        reg.add(Poke, handler)


@pytest.mark.parametrize("raw, code, text", [
    ([], "bad_request", "JSON object"),
    ({"type": "nope", "id": "7"}, "unknown_type", "'nope'"),
    ({"type": "poke", "id": "7", "n": -1}, "bad_request", "poke: n:"),
    ({"type": "poke", "id": "7", "n": 1, "extra": 1}, "bad_request", "extra"),
])
def test_bad_messages_get_precise_errors(raw: object, code: str, text: str) -> None:
    reg = Registry()
    reg.add(Poke, handler)
    with pytest.raises(ProtocolError) as e:
        reg.parse(raw)
    assert e.value.code == code and text in e.value.message
    if isinstance(raw, dict):
        assert e.value.ref == "7"
