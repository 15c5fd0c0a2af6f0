"""Client tokens (JWT, HS256, signed by the server key).

Claims: `iss`="shopcall", `aud`=app id, `sub`=identity, `name`, `role`, `rooms` (room ids,
or ["*"] for agents/admins = any room of the app), `iat`, `exp`, optional `customer`, and for
console-minted staff tokens `ver`: the agent's token version (a password change, disable or delete
bumps it, so older tokens are refused at the next hello, join or refresh).

Resume tokens (`typ`="resume") are minted by the signalling hub for one participant of one room or
waiting call, live only for the reconnect grace period, and let a new page of the same tab come
back as that participant (`hello.resume`); they are never accepted as client tokens.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import jwt

Role = Literal["shopper", "agent", "admin"]
ROLES: tuple[str, ...] = ("shopper", "agent", "admin")
ISSUER = "shopcall"
MAX_TTL_S = 24 * 3600


class TokenError(Exception):
    """A token that must not be accepted; `code` is the stable API/signalling error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ClientClaims:
    app_id: str
    identity: str
    name: str
    role: Role
    rooms: tuple[str, ...]
    expires_at: int
    customer: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    version: int | None = None  # `ver`: set on tokens minted for a console account

    def may_join(self, room_id: str) -> bool:
        if "*" in self.rooms:
            return self.role in ("agent", "admin")
        return room_id in self.rooms

    @property
    def is_staff(self) -> bool:
        return self.role in ("agent", "admin")


def mint(
    key: bytes,
    *,
    app_id: str,
    identity: str,
    role: str,
    rooms: list[str] | tuple[str, ...] = (),
    name: str | None = None,
    ttl_s: int = 3600,
    customer: str | None = None,
    now: float | None = None,
    version: int | None = None,
) -> tuple[str, int]:
    """Return (token, expires_at)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not identity or len(identity) > 200:
        raise ValueError("identity must be 1-200 characters")
    if not 1 <= ttl_s <= MAX_TTL_S:
        raise ValueError(f"ttl_s must be between 1 and {MAX_TTL_S}")
    if "*" in rooms and role == "shopper":
        raise ValueError("shoppers cannot be granted every room ('*')")
    iat = int(now if now is not None else time.time())
    exp = iat + ttl_s
    claims: dict[str, Any] = {
        "iss": ISSUER, "aud": app_id, "sub": identity, "name": name or identity,
        "role": role, "rooms": list(rooms), "iat": iat, "exp": exp,
    }
    if customer:
        claims["customer"] = customer
    if version is not None:
        claims["ver"] = version
    return jwt.encode(claims, key, algorithm="HS256"), exp


RESUME_TYPE = "resume"


@dataclass(frozen=True)
class ResumeClaims:
    """What a resume token stands for: who (with their session's own expiry), and where they were."""

    client: ClientClaims
    room: str | None
    call: str | None
    pid: str | None
    expires_at: int


def mint_resume(key: bytes, client: ClientClaims, *, room: str | None, call: str | None, pid: str | None,
                ttl_s: float, now: float | None = None) -> tuple[str, int]:
    """A resume token for `client` in `room`/`call` as `pid`; it never outlives the client's own token."""
    if room is None and call is None:
        raise ValueError("a resume token needs a room or a call")
    iat = int(now if now is not None else time.time())
    exp = min(iat + max(1, int(ttl_s)), client.expires_at)
    claims: dict[str, Any] = {
        "iss": ISSUER, "aud": client.app_id, "sub": client.identity, "typ": RESUME_TYPE, "name": client.name,
        "role": client.role, "room": room, "call": call, "pid": pid, "sexp": client.expires_at,
        "iat": iat, "exp": exp,
    }
    if client.customer:
        claims["customer"] = client.customer
    if client.version is not None:
        claims["ver"] = client.version
    return jwt.encode(claims, key, algorithm="HS256"), exp


def verify_resume(key: bytes, token: str) -> ResumeClaims:
    """Check a resume token; TokenError `resume_invalid` or `resume_expired` otherwise."""
    try:
        aud = jwt.decode(token, options={"verify_signature": False}).get("aud")
        claims = jwt.decode(token, key, algorithms=["HS256"], audience=aud if isinstance(aud, str) else "",
                            issuer=ISSUER, options={"require": ["exp", "iat", "sub", "aud", "iss"]})
    except jwt.ExpiredSignatureError:
        raise TokenError("resume_expired", "the resume token has expired (the grace period is over); "
                         "connect with a new token") from None
    except jwt.PyJWTError:
        raise TokenError("resume_invalid", "the resume token is not valid") from None
    role, sexp, ver = claims.get("role"), claims.get("sexp"), claims.get("ver")
    fields_ok = all(claims.get(k) is None or isinstance(claims.get(k), str) for k in ("room", "call", "pid"))
    if (claims.get("typ") != RESUME_TYPE or role not in ROLES or not isinstance(sexp, int) or not fields_ok
            or (ver is not None and (not isinstance(ver, int) or isinstance(ver, bool)))):
        raise TokenError("resume_invalid", "the resume token is not valid")
    room = claims.get("room")
    client = ClientClaims(app_id=str(claims["aud"]), identity=str(claims["sub"]),
                          name=str(claims.get("name") or claims["sub"]), role=role,
                          rooms=(room,) if isinstance(room, str) else (),
                          expires_at=sexp, customer=claims.get("customer"), version=ver)
    return ResumeClaims(client, room, claims.get("call"), claims.get("pid"), int(claims["exp"]))


def verify(key: bytes, token: str, *, app_id: str | None = None, leeway_s: int = 0) -> ClientClaims:
    """Check signature, expiry, issuer and (optionally) the app; raise TokenError otherwise."""
    if not isinstance(token, str) or not token:
        raise TokenError("token_invalid", "a token is required")
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise TokenError("token_invalid", "the token is not a well-formed JWT") from None
    aud = unverified.get("aud")
    if not isinstance(aud, str):
        raise TokenError("token_invalid", "the token names no app")
    try:
        claims = jwt.decode(
            token, key, algorithms=["HS256"], audience=aud, issuer=ISSUER, leeway=leeway_s,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("token_expired", "the token has expired; ask the shop for a new one") from None
    except jwt.InvalidSignatureError:
        raise TokenError("token_invalid", "the token signature is not valid") from None
    except jwt.PyJWTError as e:
        raise TokenError("token_invalid", f"the token is not valid: {e}") from None
    if app_id is not None and aud != app_id:
        raise TokenError("token_wrong_app", "the token was issued for another app")
    if claims.get("typ") is not None:
        raise TokenError("token_invalid", "this is a resume token, not a client token; send it as hello.resume")
    role = claims.get("role")
    rooms = claims.get("rooms", [])
    if role not in ROLES or not isinstance(rooms, list) or not all(isinstance(r, str) for r in rooms):
        raise TokenError("token_invalid", "the token's role or room grants are malformed")
    if "*" in rooms and role == "shopper":
        raise TokenError("token_invalid", "a shopper token cannot grant every room")
    ver = claims.get("ver")
    if ver is not None and (not isinstance(ver, int) or isinstance(ver, bool)):
        raise TokenError("token_invalid", "the token's version is malformed")
    return ClientClaims(
        app_id=aud, identity=str(claims["sub"]), name=str(claims.get("name") or claims["sub"]),
        role=role, rooms=tuple(rooms), expires_at=int(claims["exp"]), customer=claims.get("customer"),
        version=ver,
    )
