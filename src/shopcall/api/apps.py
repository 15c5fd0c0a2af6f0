"""The app itself (merchant server, HTTP Basic): rotate its secret, delete it with all its data, read
its audit log."""

from __future__ import annotations

import asyncio
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from shopcall.api.app_store import AppStore
from shopcall.api.deps import AuthedApp, current_app, get_db, get_live, get_storage
from shopcall.api.errors import ERROR_RESPONSES, ApiError
from shopcall.auth import audit
from shopcall.db.engine import Database
from shopcall.db.models import AuditEntry, iso
from shopcall.recording.storage import RecordingStorage
from shopcall.signalling.control import LiveControl

router = APIRouter(prefix="/v1", tags=["app"], responses=ERROR_RESPONSES)


class RotateIn(BaseModel):
    overlap_minutes: int = Field(60, ge=0, le=7 * 24 * 60,
                                 description="how long the current secret keeps working (0 = revoke it now)")


class RotateOut(BaseModel):
    app_id: str
    secret: str = Field(description="the new secret; shown only this once")
    previous_valid_until: str | None


def audit_out(e: AuditEntry) -> dict[str, Any]:
    return {"id": e.id, "at": iso(e.created_at), "actor": e.actor, "action": e.action, "details": e.details}


@router.post("/app/secret", response_model=RotateOut,
             summary="Rotate the app secret (the old one keeps working for an overlap)")
def rotate_secret(body: RotateIn, app: AuthedApp = Depends(current_app), db: Database = Depends(get_db)) -> RotateOut:
    done = AppStore(db).rotate_secret(app.id, timedelta(minutes=body.overlap_minutes))
    if done is None:
        raise ApiError(404, "app_not_found", "this app no longer exists")
    secret, row = done
    audit.record(db, app.id, f"app:{app.id}", "app.secret_rotated", overlap_minutes=body.overlap_minutes)
    return RotateOut(app_id=app.id, secret=secret, previous_valid_until=iso(row.prev_secret_expires_at))


async def delete_app_data(db: Database, storage: RecordingStorage, live: LiveControl | None, app_id: str,
                          actor: str) -> bool:
    """End the app's live rooms (when served here), delete its recordings' files, then every row of the app."""
    store = AppStore(db)
    if live is not None:
        for room_id in await asyncio.to_thread(store.open_rooms, app_id):
            await live.end_room(room_id, "app_deleted")
    for key, folder in await asyncio.to_thread(store.recording_keys, app_id):
        if key:
            await asyncio.to_thread(storage.delete, key)
        if folder and Path(folder).is_dir():
            await asyncio.to_thread(shutil.rmtree, folder, True)
    return await asyncio.to_thread(store.delete, app_id, actor)


@router.delete("/app", summary="Delete the app and all of its data (rooms, calls, agents, recordings...)")
async def delete_app(confirm: str = Query(description="the app id again, to confirm"),
                     app: AuthedApp = Depends(current_app), db: Database = Depends(get_db),
                     storage: RecordingStorage = Depends(get_storage),
                     live: LiveControl = Depends(get_live)) -> dict[str, Any]:
    if confirm != app.id:
        raise ApiError(422, "bad_request", "confirm must repeat the app id")
    await delete_app_data(db, storage, live, app.id, f"app:{app.id}")
    return {"deleted": app.id}


@router.get("/audit", summary="The app's audit log, newest first")
def audit_log(limit: int = Query(100, ge=1, le=500), before: int | None = Query(None, ge=1),
              app: AuthedApp = Depends(current_app), db: Database = Depends(get_db)) -> list[dict[str, Any]]:
    return [audit_out(e) for e in audit.entries(db, app.id, limit=limit, before_id=before)]
