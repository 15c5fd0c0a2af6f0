"""Subject access and erasure over REST: the merchant's server (HTTP Basic) and console admins.

`GET …/subjects/{identity}/export` streams a ZIP of every record about one shopper plus the recordings
they appear in; `DELETE …/subjects/{identity}` erases them and answers with what was removed. The
shopper is looked up by identity, customer id or email, only inside the caller's app.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from shopcall.api.app_store import AppStore
from shopcall.api.console import current_admin
from shopcall.api.deps import AuthedApp, current_app, get_db, get_settings, get_storage
from shopcall.api.errors import ERROR_RESPONSES, ApiError, ErrorOut
from shopcall.config import Settings
from shopcall.console.accounts import AgentInfo
from shopcall.db.engine import Database
from shopcall.privacy.service import Privacy, SubjectNotFound, iter_file
from shopcall.recording.storage import RecordingStorage

router = APIRouter(tags=["privacy"], responses=ERROR_RESPONSES)
_ZIP: dict[int | str, dict[str, Any]] = {200: {"content": {"application/zip": {}},
                                             "description": "a ZIP: subject.json, tables/*.json, recordings/*.mp4"}}
_ADMIN: dict[int | str, dict[str, Any]] = {403: {"model": ErrorOut, "description": "not an admin (`forbidden`)"}}


def _privacy(db: Database = Depends(get_db), storage: RecordingStorage = Depends(get_storage),
             settings: Settings = Depends(get_settings)) -> Privacy:
    return Privacy(db, storage, settings.data_dir / "recordings-raw")


def _export(privacy: Privacy, app_id: str, identity: str, actor: str) -> StreamingResponse:
    try:
        subject = privacy.find(app_id, identity)
    except SubjectNotFound:
        raise ApiError(404, "subject_not_found", "nothing in this app names that shopper") from None
    f = privacy.export(subject, actor)
    return StreamingResponse(iter_file(f), media_type="application/zip", headers={
        "Content-Disposition": 'attachment; filename="shopcall-subject-export.zip"', "Cache-Control": "no-store"})


def _erase(privacy: Privacy, app_id: str, identity: str, actor: str) -> dict[str, Any]:
    try:
        subject = privacy.find(app_id, identity)
    except SubjectNotFound:
        raise ApiError(404, "subject_not_found", "nothing in this app names that shopper") from None
    return privacy.erase(subject, actor).as_dict()


@router.get("/v1/privacy/subjects/{identity}/export", response_class=StreamingResponse, responses=_ZIP,
            summary="Everything about one shopper (identity, customer id or email) as a ZIP, with recordings")
async def export_subject(identity: str, app: AuthedApp = Depends(current_app),
                         privacy: Privacy = Depends(_privacy)) -> StreamingResponse:
    return await run_in_threadpool(_export, privacy, app.id, identity, f"app:{app.id}")


@router.delete("/v1/privacy/subjects/{identity}", summary="Erase one shopper everywhere; the report of what went")
async def erase_subject(identity: str, app: AuthedApp = Depends(current_app),
                        privacy: Privacy = Depends(_privacy)) -> dict[str, Any]:
    return await run_in_threadpool(_erase, privacy, app.id, identity, f"app:{app.id}")


def _summary(db: Database, settings: Settings, app_id: str) -> dict[str, Any]:
    app = AppStore(db).get(app_id)
    if app is None:
        raise ApiError(404, "app_not_found", "this app no longer exists")
    region = settings.regions.get(app.region)
    where = (f"s3://{region.s3_bucket}/{region.s3_prefix}" if region.storage == "s3" else "local folder") \
        if region is not None else (f"s3://{settings.s3_bucket}" if settings.recording_storage == "s3"
                                    else "local folder")
    return {"region": app.region, "recordings_stored_in": where,
            "encryption_at_rest": "AES-256-GCM, a data key per recording" if settings.recording_encryption else "off",
            "recording_retention_days": app.retention_days, "retention_days": dict(app.retention or {})}


@router.get("/v1/console/privacy/summary", responses=_ADMIN,
            summary="Admin: where the app's data lives, how it is encrypted and how long it is kept")
def console_privacy_summary(admin: AgentInfo = Depends(current_admin), db: Database = Depends(get_db),
                            settings: Settings = Depends(get_settings)) -> dict[str, Any]:
    return _summary(db, settings, admin.app_id)


@router.get("/v1/console/privacy/subjects/{identity}/export", response_class=StreamingResponse,
            responses={**_ZIP, **_ADMIN},
            summary="Admin: everything about one shopper as a ZIP")
async def console_export_subject(identity: str, admin: AgentInfo = Depends(current_admin),
                                 privacy: Privacy = Depends(_privacy)) -> StreamingResponse:
    return await run_in_threadpool(_export, privacy, admin.app_id, identity, f"agent:{admin.identity}")


@router.delete("/v1/console/privacy/subjects/{identity}", summary="Admin: erase one shopper everywhere",
               responses=_ADMIN)
async def console_erase_subject(identity: str, admin: AgentInfo = Depends(current_admin),
                                privacy: Privacy = Depends(_privacy)) -> dict[str, Any]:
    return await run_in_threadpool(_erase, privacy, admin.app_id, identity, f"agent:{admin.identity}")
