"""Client → server messages (docs/signalling.md), validated with pydantic."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

MAX_FRAME_BYTES = 256 * 1024


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(None, max_length=64)


class Hello(_Msg):
    type: Literal["hello"]
    token: str = Field(max_length=8192)


class Refresh(_Msg):
    type: Literal["refresh"]
    token: str = Field(max_length=8192)


class Ping(_Msg):
    type: Literal["ping"]


class Join(_Msg):
    type: Literal["join"]
    room: str = Field(min_length=1, max_length=64)


class Publish(_Msg):
    type: Literal["publish"]
    sdp: str = Field(min_length=10, max_length=64 * 1024)


class Unpublish(_Msg):
    type: Literal["unpublish"]


class Subscribe(_Msg):
    type: Literal["subscribe"]
    pid: str = Field(min_length=1, max_length=64)


class Start(_Msg):
    type: Literal["start"]
    sid: str = Field(min_length=1, max_length=64)
    sdp: str = Field(min_length=10, max_length=64 * 1024)


class Unsubscribe(_Msg):
    type: Literal["unsubscribe"]
    sid: str = Field(min_length=1, max_length=64)


class Trickle(_Msg):
    type: Literal["trickle"]
    target: str = Field(min_length=1, max_length=64)
    candidate: dict[str, Any] | None = None


class Mute(_Msg):
    type: Literal["mute"]
    audio: bool | None = None
    video: bool | None = None


class Leave(_Msg):
    type: Literal["leave"]


class EndRoom(_Msg):
    type: Literal["end_room"]


class CallRequest(_Msg):
    type: Literal["call"]
    context: dict[str, Any] = Field(default_factory=dict)


class CancelCall(_Msg):
    type: Literal["cancel_call"]
    call: str = Field(max_length=64)


class Available(_Msg):
    type: Literal["available"]


class AcceptCall(_Msg):
    type: Literal["accept_call"]
    call: str = Field(max_length=64)


class DeclineCall(_Msg):
    type: Literal["decline_call"]
    call: str = Field(max_length=64)


ClientMessage = Annotated[
    Hello | Refresh | Ping | Join | Publish | Unpublish | Subscribe | Start | Unsubscribe | Trickle
    | Mute | Leave | EndRoom | CallRequest | CancelCall | Available | AcceptCall | DeclineCall,
    Field(discriminator="type"),
]
_adapter: TypeAdapter[Any] = TypeAdapter(ClientMessage)
KNOWN_TYPES = {
    "hello", "refresh", "ping", "join", "publish", "unpublish", "subscribe", "start", "unsubscribe",
    "trickle", "mute", "leave", "end_room", "call", "cancel_call", "available", "accept_call",
    "decline_call",
}


# Feature modules (e.g. signalling.incall) register further message models here.
EXTRA_MODELS: dict[str, type[BaseModel]] = {}


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.ref = code, message, ref


def parse(raw: Any) -> Any:
    """Parse one frame into a message model, or raise ProtocolError with a precise reason."""
    if not isinstance(raw, dict):
        raise ProtocolError("bad_request", "each frame must be a JSON object")
    ref = raw.get("id") if isinstance(raw.get("id"), str) else None
    kind = raw.get("type")
    if kind not in KNOWN_TYPES and kind not in EXTRA_MODELS:
        raise ProtocolError("unknown_type", f"unknown message type {kind!r}", ref)
    try:
        if kind in EXTRA_MODELS:
            return EXTRA_MODELS[kind].model_validate(raw)
        return _adapter.validate_python(raw)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "message"
        raise ProtocolError("bad_request", f"{kind}: {where}: {first['msg']}", ref) from None
