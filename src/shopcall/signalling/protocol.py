"""Client → server messages of the core protocol (docs/signalling.md), frame decoding and
close codes. Feature modules define their own message models on `Msg` and register them
with the hub's `Registry`."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_FRAME_BYTES = 256 * 1024
MAX_JSON_DEPTH = 32

# WebSocket close codes (documented in docs/signalling.md)
CLOSE_NORMAL = 1000
CLOSE_RESTART = 1012  # the server is restarting: reconnect, the call goes on
CLOSE_TOO_BIG = 1009  # a frame over MAX_FRAME_BYTES (refused by the server before buffering)
CLOSE_ROOM_ENDED = 4000
CLOSE_REMOVED = 4003
CLOSE_AUTH = 4401
CLOSE_IDLE = 4408
CLOSE_TOO_SLOW = 4429  # the client did not read its messages fast enough: its outbound queue overflowed


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.ref = code, message, ref


class Msg(BaseModel):
    """Base of every client message: unknown fields are refused, `id` is echoed as `re`."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(None, max_length=64)


def _depth(value: Any) -> int:
    """Nesting depth of a decoded JSON value, iteratively (no recursion to exhaust)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict | list):
            deepest = max(deepest, d)
            if d > MAX_JSON_DEPTH:
                return d
            stack.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


def decode_frame(text: str) -> Any:
    """One text frame to a JSON value, or ProtocolError with the precise reason."""
    if len(text) > MAX_FRAME_BYTES:
        raise ProtocolError("frame_too_large", f"frame larger than {MAX_FRAME_BYTES} bytes")
    try:
        value = json.loads(text)
    except RecursionError:
        raise ProtocolError("bad_request", f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError:
        raise ProtocolError("bad_request", "frames must be JSON") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise ProtocolError("bad_request", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value


# ---- core messages: session, rooms, media ---------------------------------------------------

class Hello(Msg):
    type: Literal["hello"]
    token: str | None = Field(None, max_length=8192, description="client JWT; may be left out with `resume`")
    resume: str | None = Field(None, max_length=8192, description="resume token: back as the same participant")
    heartbeat: bool = Field(False, description="the client answers the server's pings (fast liveness)")


class Refresh(Msg):
    type: Literal["refresh"]
    token: str = Field(max_length=8192)


class Ping(Msg):
    type: Literal["ping"]


class Pong(Msg):
    """The answer to a server `ping`; no reply."""

    type: Literal["pong"]


class Join(Msg):
    type: Literal["join"]
    room: str = Field(min_length=1, max_length=64)
    # a resumed participant whose peer connections survived the drop: take back the media the server kept
    keep_media: bool = False


class Leave(Msg):
    type: Literal["leave"]


class EndRoom(Msg):
    type: Literal["end_room"]


class Publish(Msg):
    type: Literal["publish"]
    sdp: str = Field(min_length=10, max_length=64 * 1024)


class Unpublish(Msg):
    type: Literal["unpublish"]


class Subscribe(Msg):
    type: Literal["subscribe"]
    pid: str = Field(min_length=1, max_length=64)


class Start(Msg):
    type: Literal["start"]
    sid: str = Field(min_length=1, max_length=64)
    sdp: str = Field(min_length=10, max_length=64 * 1024)


class Unsubscribe(Msg):
    type: Literal["unsubscribe"]
    sid: str = Field(min_length=1, max_length=64)


class IceRestart(Msg):
    """Restart ICE on one of the client's peer connections in place (no re-publish)."""

    type: Literal["ice_restart"]
    target: str = Field(min_length=1, max_length=64, description='"publisher", "screen" or a subscription id')
    sdp: str | None = Field(None, min_length=10, max_length=64 * 1024,
                            description="the new offer (publisher, screen); none for a subscription")


class Keyframe(Msg):
    """A subscriber gets packets again but cannot decode: ask the publisher of `pid` for a key frame."""

    type: Literal["keyframe"]
    pid: str = Field(min_length=1, max_length=80, description="the feed subscribed to (`<pid>` or `<pid>:screen`)")


class Trickle(Msg):
    type: Literal["trickle"]
    target: str = Field(min_length=1, max_length=64)
    candidate: dict[str, Any] | None = None


class Mute(Msg):
    type: Literal["mute"]
    audio: bool | None = None
    video: bool | None = None
