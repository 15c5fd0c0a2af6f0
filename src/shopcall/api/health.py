"""Liveness with a live media check, for load balancers and the demo."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from shopcall import __version__

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    state = request.app.state
    media_ok = await state.media.healthy()
    try:
        with state.db.engine.connect() as c:
            c.execute(text("SELECT 1"))
        db_ok = True
    except Exception:
        db_ok = False
    hub = state.hub
    body = {
        "status": "ok" if db_ok else "degraded",
        "media": "ok" if media_ok else "down",
        "database": "ok" if db_ok else "down",
        "version": __version__,
        "uptime_s": round(time.monotonic() - state.started, 1),
        "connections": len(hub.connections),
        "live_rooms": len(hub.rooms),
    }
    return JSONResponse(body, status_code=200 if db_ok else 503)
