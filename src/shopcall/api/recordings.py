"""Recordings archive: list with filters, detail with the call's chat and annotations on a timeline,
playback (HTTP range requests, so the browser can seek), download and delete.

Two doors: the console (agent session cookie) and the merchant's server (HTTP Basic). Both only
ever see their own app's recordings.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy import select

from shopcall.api.console import current_admin, current_agent
from shopcall.api.deps import AuthedApp, current_app
from shopcall.api.errors import ERROR_RESPONSES, ApiError
from shopcall.console.accounts import AgentInfo
from shopcall.db.models import AuditEntry, Call, ChatMessage, ConsentDecision, Recording, RoomEvent

router = APIRouter(tags=["recordings"], responses=ERROR_RESPONSES)


def _iso(d: datetime | None) -> str | None:
    return d.isoformat() + "Z" if d else None


def _out(r: Recording, call: Call | None) -> dict[str, Any]:
    return {"id": r.id, "status": r.status, "room": r.room_id, "call": r.call_id, "region": r.region,
            "agent": r.agent_identity, "customer_id": r.customer_id,
            "shopper": call.shopper_name if call else None, "outcome": call.outcome if call else None,
            "started_at": _iso(r.started_at), "stopped_at": _iso(r.stopped_at), "duration_s": r.duration_s,
            "size_bytes": r.size_bytes, "steps": r.steps, "attempts": r.attempts, "error": r.error,
            "media_url": f"/v1/console/recordings/{r.id}/media" if r.status == "ready" else None}


def _list(request: Request, app_id: str, *, agent: str | None, customer: str | None, outcome: str | None,
          since: datetime | None, until: datetime | None, status: str | None, limit: int) -> list[dict[str, Any]]:
    q = select(Recording, Call).outerjoin(Call, Call.id == Recording.call_id).where(Recording.app_id == app_id)
    if agent:
        q = q.where(Recording.agent_identity == agent)
    if customer:
        q = q.where(Recording.customer_id == customer)
    if outcome:
        q = q.where(Call.outcome == outcome)
    if since:
        q = q.where(Recording.started_at >= since.replace(tzinfo=None))
    if until:
        q = q.where(Recording.started_at < until.replace(tzinfo=None))
    if status:
        q = q.where(Recording.status == status)
    with request.app.state.db.session() as s:
        return [_out(r, c) for r, c in s.execute(q.order_by(Recording.started_at.desc()).limit(limit))]


def _get(request: Request, app_id: str, rec_id: str) -> tuple[Recording, Call | None]:
    with request.app.state.db.session() as s:
        r = s.get(Recording, rec_id)
        if r is None or r.app_id != app_id:
            raise ApiError(404, "recording_not_found", f"no recording {rec_id}")
        return r, (s.get(Call, r.call_id) if r.call_id else None)


def _timeline(request: Request, r: Recording) -> list[dict[str, Any]]:
    """Chat, product cards, clicks and finished annotation strokes, as offsets from the recording start."""
    start, end = r.started_at, r.stopped_at or datetime.max
    out: list[dict[str, Any]] = []
    with request.app.state.db.session() as s:
        for m in s.scalars(select(ChatMessage).where(ChatMessage.room_id == r.room_id)):
            if start <= m.created_at <= end:
                out.append({"t": (m.created_at - start).total_seconds(), "kind": "chat", "name": m.name,
                            "role": m.role, "text": m.text})
        for e in s.scalars(select(RoomEvent).where(RoomEvent.room_id == r.room_id).order_by(RoomEvent.id)):
            if start <= e.created_at <= end:
                out.append({"t": (e.created_at - start).total_seconds(), "kind": e.kind, "by": e.identity,
                            "data": e.data})
        consents = [{"identity": c.identity, "decision": c.decision, "at": _iso(c.decided_at)}
                    for c in s.scalars(select(ConsentDecision).where(ConsentDecision.recording_id == r.id))]
    out.sort(key=lambda x: x["t"])
    for x in out:
        x["t"] = round(x["t"], 2)
    return [{"consents": consents}, *out]


def _media(request: Request, r: Recording, download: bool) -> Response:
    if r.status != "ready" or not r.storage_key:
        raise ApiError(409, "recording_not_ready", f"the recording is {r.status}")
    storage = request.app.state.storage
    url = storage.presigned_url(r.storage_key)
    if url:
        return RedirectResponse(url, status_code=307)
    total = storage.size(r.storage_key)
    if total is None:
        raise ApiError(404, "recording_missing", "the recording file is missing from storage")
    start, end, status = 0, total - 1, 200
    rng = request.headers.get("range", "")
    if rng.startswith("bytes="):
        a, _, b = rng[6:].split(",")[0].partition("-")
        try:
            start = int(a) if a else max(0, total - int(b))
            end = int(b) if a and b else total - 1
        except ValueError:
            raise ApiError(416, "bad_range", "malformed Range header") from None
        if start >= total or start > end:
            return Response(status_code=416, headers={"Content-Range": f"bytes */{total}"})
        end, status = min(end, total - 1), 206
    chunks, _ = storage.open_range(r.storage_key, start, end)
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(end - start + 1), "Cache-Control": "private"}
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end}/{total}"
    if download:
        headers["Content-Disposition"] = f'attachment; filename="shopcall-{r.id}.mp4"'
    return StreamingResponse(chunks, status_code=status, media_type="video/mp4", headers=headers)


def _delete(request: Request, r: Recording, actor: str) -> dict[str, Any]:
    storage = request.app.state.storage
    if r.storage_key:
        storage.delete(r.storage_key)
    if r.folder and Path(r.folder).is_dir():
        shutil.rmtree(r.folder, ignore_errors=True)
    with request.app.state.db.session() as s:
        row = s.get(Recording, r.id)
        if row is not None:
            s.delete(row)
        s.add(AuditEntry(app_id=r.app_id, actor=actor, action="recording.deleted",
                         details={"recording": r.id, "room": r.room_id, "reason": "deleted by staff",
                                  "storage_key": r.storage_key, "bytes": r.size_bytes}))
    return {"deleted": r.id}


Filters = dict[str, Any]


def _filters(agent: str | None = None, customer: str | None = None,
             outcome: Literal["sold", "follow_up", "no_sale"] | None = None, since: datetime | None = None,
             until: datetime | None = None,
             status: Literal["recording", "processing", "ready", "failed"] | None = None,
             limit: int = Query(100, ge=1, le=500)) -> Filters:
    return {"agent": agent, "customer": customer, "outcome": outcome, "since": since, "until": until,
            "status": status, "limit": limit}


# ---- console ------------------------------------------------------------------------------------

@router.get("/v1/console/recordings", summary="The app's recordings, filtered")
async def console_list(request: Request, f: Filters = Depends(_filters),
                       agent: AgentInfo = Depends(current_agent)) -> list[dict[str, Any]]:
    return await asyncio.to_thread(_list, request, agent.app_id, **f)


@router.get("/v1/console/recordings/{rec_id}", summary="One recording with its chat and annotations timeline")
async def console_get(rec_id: str, request: Request, agent: AgentInfo = Depends(current_agent)) -> dict[str, Any]:
    r, call = await asyncio.to_thread(_get, request, agent.app_id, rec_id)
    timeline = await asyncio.to_thread(_timeline, request, r)
    return {**_out(r, call), "consents": timeline[0]["consents"], "timeline": timeline[1:]}


@router.get("/v1/console/recordings/{rec_id}/media", summary="Play or download (HTTP range requests)")
async def console_media(rec_id: str, request: Request, download: bool = False,
                        agent: AgentInfo = Depends(current_agent)) -> Response:
    r, _ = await asyncio.to_thread(_get, request, agent.app_id, rec_id)
    return _media(request, r, download)


@router.delete("/v1/console/recordings/{rec_id}", summary="Admin: delete a recording (files and row; audited)")
async def console_delete(rec_id: str, request: Request, admin: AgentInfo = Depends(current_admin)) -> dict[str, Any]:
    r, _ = await asyncio.to_thread(_get, request, admin.app_id, rec_id)
    if r.status in ("recording", "processing"):
        raise ApiError(409, "recording_busy", f"the recording is {r.status}; delete it when it is done")
    return await asyncio.to_thread(_delete, request, r, f"agent:{admin.identity}")


# ---- merchant server ------------------------------------------------------------------------------

@router.get("/v1/recordings", summary="The app's recordings, filtered (merchant server)")
async def api_list(request: Request, f: Filters = Depends(_filters),
                   app: AuthedApp = Depends(current_app)) -> list[dict[str, Any]]:
    rows = await asyncio.to_thread(_list, request, app.id, **f)
    for x in rows:
        x["media_url"] = f"/v1/recordings/{x['id']}/media" if x["status"] == "ready" else None
    return rows


@router.get("/v1/recordings/{rec_id}/media", summary="Download a recording (merchant server)")
async def api_media(rec_id: str, request: Request, app: AuthedApp = Depends(current_app)) -> Response:
    r, _ = await asyncio.to_thread(_get, request, app.id, rec_id)
    return _media(request, r, True)


@router.delete("/v1/recordings/{rec_id}", summary="Delete a recording (merchant server; audited)")
async def api_delete(rec_id: str, request: Request, app: AuthedApp = Depends(current_app)) -> dict[str, Any]:
    r, _ = await asyncio.to_thread(_get, request, app.id, rec_id)
    if r.status in ("recording", "processing"):
        raise ApiError(409, "recording_busy", f"the recording is {r.status}; delete it when it is done")
    return await asyncio.to_thread(_delete, request, r, f"app:{app.id}")
