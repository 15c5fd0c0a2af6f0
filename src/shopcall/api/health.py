"""Liveness with a live media check, for load balancers and the demo."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from shopcall import __version__
from shopcall.api.deps import Services, get_services

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(services: Services = Depends(get_services)) -> JSONResponse:
    media_ok, db_ok = await asyncio.gather(services.media.healthy(), asyncio.to_thread(services.db.ping))
    stats = services.live.stats()
    body = {
        "status": "ok" if db_ok else "degraded",
        "media": "ok" if media_ok else "down",
        "database": "ok" if db_ok else "down",
        "version": __version__,
        "uptime_s": round(time.monotonic() - services.started, 1),
        "connections": stats.connections,
        "live_rooms": stats.live_rooms,
    }
    return JSONResponse(body, status_code=200 if db_ok else 503)
