"""Recordings archive: list with filters, detail with the call's chat and annotations on a timeline,
playback (HTTP range requests, so the browser can seek), download and delete.

Two doors: the console (agent session cookie) and the merchant's server (HTTP Basic). Both only
ever see their own app's recordings. No handler needs live state, so all are plain `def`: FastAPI
runs them in its thread pool, where slow storage (an object store's round trips) blocks nobody.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from shopcall.api.console import current_admin, current_agent
from shopcall.api.deps import AuthedApp, current_app, get_db, get_storage
from shopcall.api.errors import ERROR_RESPONSES, ApiError
from shopcall.auth import audit
from shopcall.console.accounts import AgentInfo
from shopcall.db.engine import Database
from shopcall.db.models import Call, Recording, iso
from shopcall.recording.storage import RangeNotSatisfiable, RecordingNotFound, RecordingStorage
from shopcall.recording.store import BUSY, Filters, IllegalTransition, RecordingStore

router = APIRouter(tags=["recordings"], responses=ERROR_RESPONSES)


def _out(r: Recording, call: Call | None, media_path: str) -> dict[str, Any]:
    return {"id": r.id, "status": r.status, "room": r.room_id, "call": r.call_id, "region": r.region,
            "agent": r.agent_identity, "customer_id": r.customer_id,
            "shopper": call.shopper_name if call else None, "outcome": call.outcome if call else None,
            "started_at": iso(r.started_at), "stopped_at": iso(r.stopped_at), "duration_s": r.duration_s,
            "size_bytes": r.size_bytes, "steps": r.steps, "attempts": r.attempts, "error": r.error,
            "media_url": f"{media_path}/{r.id}/media" if r.status == "ready" else None}


def _get(db: Database, app_id: str, rec_id: str) -> tuple[Recording, Call | None]:
    found = RecordingStore(db).get(app_id, rec_id)
    if found is None:
        raise ApiError(404, "recording_not_found", f"no recording {rec_id}")
    return found


def _range(header: str, total: int) -> tuple[int, int] | None:
    """(start, inclusive end) of a `Range: bytes=...` header (first range only); None without one."""
    if not header.startswith("bytes="):
        return None
    a, _, b = header[6:].split(",")[0].strip().partition("-")
    try:
        start = int(a) if a else max(0, total - int(b))
        end = int(b) if a and b else total - 1
    except ValueError:
        raise ApiError(416, "bad_range", "malformed Range header") from None
    if start < 0 or start >= total or start > end:
        raise _unsatisfiable(total)
    return start, min(end, total - 1)


def _unsatisfiable(total: int) -> ApiError:
    return ApiError(416, "range_not_satisfiable", f"the range is outside the recording ({total} bytes)",
                    {"Content-Range": f"bytes */{total}"})


def _media(storage: RecordingStorage, r: Recording, range_header: str, download: bool) -> Response:
    if r.status != "ready" or not r.storage_key:
        raise ApiError(409, "recording_not_ready", f"the recording is {r.status}")
    url = storage.presigned_url(r.storage_key)
    if url:
        return RedirectResponse(url, status_code=307)
    try:
        total = storage.size(r.storage_key)
        if total is None:
            raise RecordingNotFound(r.storage_key)
        span = _range(range_header, total)
        start, end = span or (0, total - 1)
        chunks, _ = storage.open_range(r.storage_key, start, end)
    except RecordingNotFound:
        raise ApiError(404, "recording_missing", "the recording file is missing from storage") from None
    except RangeNotSatisfiable as e:  # the object changed between size and read
        raise _unsatisfiable(e.total) from None
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(end - start + 1), "Cache-Control": "private"}
    if span is not None:
        headers["Content-Range"] = f"bytes {start}-{end}/{total}"
    if download:
        headers["Content-Disposition"] = f'attachment; filename="shopcall-{r.id}.mp4"'
    return StreamingResponse(chunks, status_code=206 if span else 200, media_type="video/mp4", headers=headers)


def _audit_access(db: Database, app_id: str, actor: str, rec_id: str, range_header: str, download: bool) -> None:
    """One entry per playback or download: its first request (no range, or one from byte 0), not every seek."""
    if not range_header or range_header.replace(" ", "").startswith("bytes=0-"):
        audit.record(db, app_id, actor, "recording.downloaded" if download else "recording.played", recording=rec_id)


def _delete(db: Database, storage: RecordingStorage, app_id: str, rec_id: str, actor: str) -> dict[str, Any]:
    """Files first, then the row with its audit entry: a row is only gone when its files are."""
    r, _ = _get(db, app_id, rec_id)
    if r.status in BUSY:
        raise ApiError(409, "recording_busy", f"the recording is {r.status}; delete it when it is done")
    if r.storage_key:
        storage.delete(r.storage_key)
    if r.folder and Path(r.folder).is_dir():
        shutil.rmtree(r.folder, ignore_errors=True)
    try:
        RecordingStore(db).delete(r.id, actor=actor, only_done=True, details={
            "recording": r.id, "room": r.room_id, "reason": "deleted by staff", "storage_key": r.storage_key,
            "bytes": r.size_bytes})
    except IllegalTransition as e:
        raise ApiError(409, "recording_busy", f"the recording is {e.current}; delete it when it is done") from None
    return {"deleted": r.id}


def _filters(agent: str | None = None, customer: str | None = None,
             outcome: Literal["sold", "follow_up", "no_sale"] | None = None, since: datetime | None = None,
             until: datetime | None = None,
             status: Literal["recording", "processing", "ready", "failed"] | None = None,
             limit: int = Query(100, ge=1, le=500)) -> Filters:
    return Filters(agent=agent, customer=customer, outcome=outcome, since=since, until=until, status=status,
                   limit=limit)


def _list(db: Database, app_id: str, f: Filters, media_path: str) -> list[dict[str, Any]]:
    return [_out(r, c, media_path) for r, c in RecordingStore(db).search(app_id, f)]


# ---- console ------------------------------------------------------------------------------------

CONSOLE = "/v1/console/recordings"


@router.get(CONSOLE, summary="The app's recordings, filtered")
def console_list(f: Filters = Depends(_filters), agent: AgentInfo = Depends(current_agent),
                 db: Database = Depends(get_db)) -> list[dict[str, Any]]:
    return _list(db, agent.app_id, f, CONSOLE)


@router.get(CONSOLE + "/{rec_id}", summary="One recording with its chat and annotations timeline")
def console_get(rec_id: str, agent: AgentInfo = Depends(current_agent),
                db: Database = Depends(get_db)) -> dict[str, Any]:
    r, call = _get(db, agent.app_id, rec_id)
    consents, timeline = RecordingStore(db).timeline(r)
    return {**_out(r, call, CONSOLE), "consents": consents, "timeline": timeline}


@router.get(CONSOLE + "/{rec_id}/media", summary="Play or download (HTTP range requests)")
def console_media(rec_id: str, request: Request, download: bool = False, agent: AgentInfo = Depends(current_agent),
                  db: Database = Depends(get_db), storage: RecordingStorage = Depends(get_storage)) -> Response:
    r, _ = _get(db, agent.app_id, rec_id)
    _audit_access(db, agent.app_id, f"agent:{agent.identity}", r.id, request.headers.get("range", ""), download)
    return _media(storage, r, request.headers.get("range", ""), download)


@router.delete(CONSOLE + "/{rec_id}", summary="Admin: delete a recording (files and row; audited)")
def console_delete(rec_id: str, admin: AgentInfo = Depends(current_admin), db: Database = Depends(get_db),
                   storage: RecordingStorage = Depends(get_storage)) -> dict[str, Any]:
    return _delete(db, storage, admin.app_id, rec_id, f"agent:{admin.identity}")


# ---- merchant server ------------------------------------------------------------------------------

MERCHANT = "/v1/recordings"


@router.get(MERCHANT, summary="The app's recordings, filtered (merchant server)")
def api_list(f: Filters = Depends(_filters), app: AuthedApp = Depends(current_app),
             db: Database = Depends(get_db)) -> list[dict[str, Any]]:
    return _list(db, app.id, f, MERCHANT)


@router.get(MERCHANT + "/{rec_id}/media", summary="Download a recording (merchant server)")
def api_media(rec_id: str, request: Request, app: AuthedApp = Depends(current_app), db: Database = Depends(get_db),
              storage: RecordingStorage = Depends(get_storage)) -> Response:
    r, _ = _get(db, app.id, rec_id)
    _audit_access(db, app.id, f"app:{app.id}", r.id, request.headers.get("range", ""), True)
    return _media(storage, r, request.headers.get("range", ""), True)


@router.delete(MERCHANT + "/{rec_id}", summary="Delete a recording (merchant server; audited)")
def api_delete(rec_id: str, app: AuthedApp = Depends(current_app), db: Database = Depends(get_db),
               storage: RecordingStorage = Depends(get_storage)) -> dict[str, Any]:
    return _delete(db, storage, app.id, rec_id, f"app:{app.id}")

