"""Rooms, participants and client tokens for merchant servers.

Handlers that report live participants or end a live room are `async` (live state is the event
loop's) and run their database work in threads; the others are plain `def` (FastAPI's thread pool).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from shopcall.api.deps import AuthedApp, current_app, get_db, get_live, get_signing_key, get_throttle
from shopcall.api.errors import ERROR_RESPONSES, ApiError
from shopcall.api.room_reads import RoomReads
from shopcall.api.throttle import Throttle
from shopcall.auth import audit, tokens
from shopcall.db.engine import Database
from shopcall.db.models import Room
from shopcall.rooms.store import RoomStore
from shopcall.signalling.control import LiveControl

router = APIRouter(prefix="/v1", tags=["rooms"], responses=ERROR_RESPONSES)


class RoomIn(BaseModel):
    name: str = Field("", max_length=200)
    kind: Literal["call", "group"] = "call"
    max_participants: int = Field(4, ge=2, le=17, description="including agents; a group holds 1 agent + 16")


class RoomOut(BaseModel):
    id: str
    name: str
    kind: str
    status: str
    max_participants: int
    created_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    live_participants: int = 0


class ParticipantOut(BaseModel):
    id: str
    identity: str
    name: str
    role: str
    joined_at: datetime
    left_at: datetime | None
    leave_reason: str | None


class TokenIn(BaseModel):
    identity: str = Field(min_length=1, max_length=200)
    name: str | None = Field(None, max_length=200)
    role: Literal["shopper", "agent", "admin"] = "shopper"
    rooms: list[str] = Field(default_factory=list, max_length=50,
                             description='room ids this token may join; ["*"] = any room (agents/admins only)')
    ttl_s: int = Field(3600, ge=30, le=tokens.MAX_TTL_S)
    customer: str | None = Field(None, max_length=200, description="your customer id, for the CRM panel")


class TokenOut(BaseModel):
    token: str
    expires_at: int
    app_id: str


def _room_out(room: Room, live: int) -> RoomOut:
    return RoomOut(id=room.id, name=room.name, kind=room.kind, status=room.status,
                   max_participants=room.max_participants, created_at=room.created_at.replace(tzinfo=UTC),
                   ended_at=room.ended_at.replace(tzinfo=UTC) if room.ended_at else None,
                   end_reason=room.end_reason, live_participants=live)


def _own_room(db: Database, app: AuthedApp, room_id: str) -> Room:
    room = RoomStore(db).get_room(room_id)
    if room is None or room.app_id != app.id:  # another tenant's room looks exactly like a missing one
        raise ApiError(404, "room_not_found", f"no room {room_id}")
    return room


@router.post("/rooms", status_code=201, response_model=RoomOut)
def create_room(body: RoomIn, app: AuthedApp = Depends(current_app), db: Database = Depends(get_db)) -> RoomOut:
    room = RoomStore(db).create_room(app.id, name=body.name, kind=body.kind,
                                     max_participants=body.max_participants)
    return _room_out(room, 0)


@router.get("/rooms", response_model=list[RoomOut])
async def list_rooms(status: Literal["open", "ended"] | None = None, limit: int = Query(50, ge=1, le=500),
                     app: AuthedApp = Depends(current_app), db: Database = Depends(get_db),
                     live: LiveControl = Depends(get_live)) -> list[RoomOut]:
    rooms = await asyncio.to_thread(RoomReads(db).rooms, app.id, status=status, limit=limit)
    return [_room_out(r, await live.live_participants(r.id)) for r in rooms]


@router.get("/rooms/{room_id}", response_model=RoomOut)
async def get_room(room_id: str, app: AuthedApp = Depends(current_app), db: Database = Depends(get_db),
                   live: LiveControl = Depends(get_live)) -> RoomOut:
    room = await asyncio.to_thread(_own_room, db, app, room_id)
    return _room_out(room, await live.live_participants(room_id))


@router.post("/rooms/{room_id}/end", response_model=RoomOut)
async def end_room(room_id: str, app: AuthedApp = Depends(current_app), db: Database = Depends(get_db),
                   live: LiveControl = Depends(get_live)) -> RoomOut:
    room = await asyncio.to_thread(_own_room, db, app, room_id)
    if room.status != "open":
        raise ApiError(409, "room_ended", f"room {room_id} has already ended")
    await live.end_room(room_id, "ended_by_api")
    return _room_out(await asyncio.to_thread(_own_room, db, app, room_id), 0)


@router.get("/rooms/{room_id}/participants", response_model=list[ParticipantOut])
def list_participants(room_id: str, active: bool = False, app: AuthedApp = Depends(current_app),
                      db: Database = Depends(get_db)) -> list[ParticipantOut]:
    _own_room(db, app, room_id)
    return [ParticipantOut(id=r.id, identity=r.identity, name=r.display_name, role=r.role,
                           joined_at=r.joined_at, left_at=r.left_at, leave_reason=r.leave_reason)
            for r in RoomReads(db).participants(room_id, active=active)]


@router.post("/tokens", status_code=201, response_model=TokenOut)
def mint_token(body: TokenIn, app: AuthedApp = Depends(current_app), db: Database = Depends(get_db),
               key: bytes = Depends(get_signing_key), throttle: Throttle = Depends(get_throttle)) -> TokenOut:
    throttle.mint(app.id)
    if "*" in body.rooms and body.role == "shopper":
        raise ApiError(422, "validation_error", 'rooms: shoppers cannot be granted every room ("*")')
    for room_id in body.rooms:
        if room_id != "*":
            _own_room(db, app, room_id)
    token, exp = tokens.mint(key, app_id=app.id, identity=body.identity, role=body.role, rooms=body.rooms,
                             name=body.name, ttl_s=body.ttl_s, customer=body.customer)
    if body.role != "shopper":
        audit.record(db, app.id, f"app:{app.id}", "token.minted", role=body.role, identity=body.identity,
                     rooms=body.rooms[:20])
    return TokenOut(token=token, expires_at=exp, app_id=app.id)
