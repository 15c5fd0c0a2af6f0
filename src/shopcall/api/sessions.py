"""Group sessions: agents host them from the console; shoppers join by link (`/join/{room}`).

A shopper with the link gets a client token for that one room and nothing else.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from shopcall.api.console import current_agent
from shopcall.api.deps import (
    AuthedApp,
    current_app,
    get_client_address,
    get_db,
    get_settings,
    get_signing_key,
    get_throttle,
)
from shopcall.api.errors import ERROR_RESPONSES, ApiError
from shopcall.api.proxy import is_https
from shopcall.api.throttle import Throttle
from shopcall.auth import tokens
from shopcall.config import Settings
from shopcall.console.accounts import AgentInfo
from shopcall.db.engine import Database
from shopcall.rooms.invites import check_invite, guest_identity, invite_code
from shopcall.rooms.store import RoomStore

router = APIRouter(prefix="/v1", tags=["sessions"], responses=ERROR_RESPONSES)
MAX_SHOPPERS = 16
GUEST_TTL_S = 3 * 3600
DEVICE_COOKIE = "shopcall_device"
DEVICE_COOKIE_AGE_S = 365 * 86400
DEVICE_RE = re.compile(r"[A-Za-z0-9_-]{24}")


class SessionIn(BaseModel):
    title: str = Field("Live consultation", min_length=1, max_length=200)
    max_shoppers: int = Field(MAX_SHOPPERS, ge=1, le=MAX_SHOPPERS)


class JoinIn(BaseModel):
    invite: str = Field(min_length=10, max_length=64)
    name: str = Field("Guest", min_length=1, max_length=80)


def _link(request: Request, key: bytes, room_id: str) -> dict[str, str]:
    code = invite_code(key, room_id)
    return {"room": room_id, "invite": code, "join_url": str(request.base_url).rstrip("/") +
            f"/join/{room_id}?invite={code}"}


@router.post("/console/sessions", status_code=201, summary="Host a group session (1 agent + up to 16 shoppers)")
def host_session(body: SessionIn, request: Request, agent: AgentInfo = Depends(current_agent),
                 db: Database = Depends(get_db), key: bytes = Depends(get_signing_key)) -> dict[str, Any]:
    room = RoomStore(db).create_room(agent.app_id, name=body.title, kind="group",
                                     max_participants=body.max_shoppers + 2)
    return {**_link(request, key, room.id), "title": room.name, "max_participants": room.max_participants}


@router.post("/rooms/{room_id}/invite", summary="An invitation link for a group room (merchant server)")
def room_invite(room_id: str, request: Request, app: AuthedApp = Depends(current_app),
                db: Database = Depends(get_db), key: bytes = Depends(get_signing_key)) -> dict[str, str]:
    room = RoomStore(db).get_room(room_id)
    if room is None or room.app_id != app.id:
        raise ApiError(404, "room_not_found", f"no room {room_id}")
    if room.kind != "group":
        raise ApiError(409, "not_a_group", "invitation links are for group sessions")
    return _link(request, key, room.id)


@router.post("/join/{room_id}", summary="Join a group session by link: a shopper token for that room")
def join_by_link(room_id: str, body: JoinIn, request: Request, response: Response,
                 db: Database = Depends(get_db), settings: Settings = Depends(get_settings),
                 key: bytes = Depends(get_signing_key), throttle: Throttle = Depends(get_throttle),
                 address: str = Depends(get_client_address)) -> dict[str, Any]:
    """A guest's identity is bound to their device (a cookie), so one the host removed stays out."""
    throttle.mint("link", address)
    store = RoomStore(db)
    room = store.get_room(room_id)
    if room is None or not check_invite(key, room_id, body.invite):
        raise ApiError(404, "invite_invalid", "this invitation link is not valid")
    if room.status != "open":
        raise ApiError(410, "room_ended", "this session has ended")
    device = request.cookies.get(DEVICE_COOKIE, "")
    if not DEVICE_RE.fullmatch(device):
        device = secrets.token_urlsafe(18)
        response.set_cookie(DEVICE_COOKIE, device, max_age=DEVICE_COOKIE_AGE_S, httponly=True, samesite="lax",
                            path="/v1/join", secure=is_https(request, settings))
    identity = guest_identity(key, room.id, device)
    if identity in store.removed_identities(room.id):
        raise ApiError(403, "removed", "the host removed you from this session")
    token, exp = tokens.mint(key, app_id=room.app_id, identity=identity, role="shopper", name=body.name.strip(),
                             rooms=[room.id], ttl_s=GUEST_TTL_S)
    return {"token": token, "room": room.id, "title": room.name, "identity": identity, "expires_at": exp}
