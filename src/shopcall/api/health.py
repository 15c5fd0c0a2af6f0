"""Liveness with live media and TURN checks, for load balancers and the demo."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from shopcall import __version__
from shopcall.api.deps import Services, get_services

router = APIRouter(tags=["health"])


async def _turn_state(services: Services) -> str:
    return await services.turn.state() if services.turn is not None else "off"


@router.get("/healthz")
async def healthz(services: Services = Depends(get_services)) -> JSONResponse:
    media_ok, db_ok, turn = await asyncio.gather(services.media.healthy(), asyncio.to_thread(services.db.ping),
                                                 _turn_state(services))
    stats = services.live.stats()
    body = {
        "status": "ok" if db_ok else "degraded",
        "media": "ok" if media_ok else "down",
        "database": "ok" if db_ok else "down",
        "turn": turn,  # ok / down (managed coturn not answering) / off / external (not checked)
        "version": __version__,
        "uptime_s": round(time.monotonic() - services.started, 1),
        "connections": stats.connections,
        "live_rooms": stats.live_rooms,
    }
    return JSONResponse(body, status_code=200 if db_ok else 503)
