"""ASGI application factory: builds the services once (database, media backend, signalling hub, storage,
workers), hands them to the REST API as one typed container, and runs the background loops."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from shopcall import __version__
from shopcall.api import app_settings, apps, console, deps, errors, health, privacy, recordings, rooms, sessions, widget
from shopcall.api import webhooks as webhooks_api
from shopcall.api.app_store import AppStore
from shopcall.api.body_limit import BodyLimit
from shopcall.api.cors import WidgetCors
from shopcall.api.hsts import Hsts
from shopcall.auth.secrets import load_signing_key
from shopcall.config import Settings
from shopcall.crm.connectors import CrmConnectors
from shopcall.db.engine import Database
from shopcall.keys.keyring import Keyring, load_master_key
from shopcall.media.backend import MediaBackend
from shopcall.outbound import OutboundPolicy
from shopcall.privacy.retention import run_data_retention
from shopcall.ratelimit import RateLimiter
from shopcall.recording.encryption import EncryptedStorage
from shopcall.recording.regions import regional_storage_from_settings
from shopcall.recording.retention import retention_loop
from shopcall.recording.storage import RecordingStorage
from shopcall.recording.store import RecordingStore
from shopcall.recording.worker import RecordingWorker
from shopcall.rooms.store import RoomStore
from shopcall.signalling import endpoint
from shopcall.signalling.hub import Hub
from shopcall.turn.service import TurnService
from shopcall.web import routes as web
from shopcall.webhooks.dispatcher import WebhookDispatcher

log = structlog.get_logger("shopcall")


def default_media(settings: Settings) -> MediaBackend:
    if settings.media_backend == "none":
        from shopcall.media.null import NullMediaBackend

        return NullMediaBackend()
    from shopcall.media.janus_backend import JanusBackend

    return JanusBackend(settings)


def _storage_settings(settings: Settings) -> dict[str, object]:
    values: dict[str, object] = settings.model_dump()
    if settings.s3_secret_key is not None:
        values["s3_secret_key"] = settings.s3_secret_key.get_secret_value()
    return values


def build_storage(settings: Settings, db: Database) -> RecordingStorage:
    """The configured recording storage (per data region), encrypting at rest unless `recording_encryption` is off."""
    storage = regional_storage_from_settings(_storage_settings(settings), settings.regions)
    if not settings.recording_encryption:
        return storage
    return EncryptedStorage(storage, Keyring(db, load_master_key(settings.data_dir)))


def create_app(settings: Settings, *, media: MediaBackend | None = None, storage: RecordingStorage | None = None,
               demo: bool = False, on_ready: Callable[[], None] | None = None) -> FastAPI:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url)
    media = media or default_media(settings)
    key = load_signing_key(settings.data_dir)
    store = RoomStore(db)
    storage = storage or build_storage(settings, db)
    outbound = OutboundPolicy.parse(settings.outbound_allow)
    master_key = load_master_key(settings.data_dir)
    dispatcher = WebhookDispatcher(db, key, outbound=outbound, master_key=master_key)
    worker = RecordingWorker(db, storage, on_event=dispatcher.emit,
                             raw_keys=Keyring(db, master_key) if settings.recording_encryption else None)
    limiter = RateLimiter(settings.rate_limit_storage)
    turn = TurnService(settings)
    hub = Hub(store, media, key, webhooks=dispatcher, raw_recordings=settings.data_dir / "recordings-raw",
              wake_recording_worker=worker.wake,
              heartbeat_s=settings.signal_heartbeat_s, liveness_timeout_s=settings.signal_liveness_timeout_s,
              resume_grace_s=settings.resume_grace_s,
              outbox_limits={"outbox_messages": settings.signal_queue_messages,
                             "outbox_bytes": settings.signal_queue_bytes,
                             "send_timeout_s": settings.signal_send_timeout_s},
              limiter=limiter, ice_servers=turn.ice_servers)
    crm = CrmConnectors(db, key, outbound=outbound, master_key=master_key)
    services = deps.Services(settings=settings, db=db, live=hub, media=media, storage=storage,
                             signing_key=key, webhooks=dispatcher, crm=crm, limiter=limiter,
                             started=time.monotonic(), turn=turn)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(db.migrate)
        await asyncio.to_thread(crm.seal_plaintext)  # CRM credentials in clear or under an older key
        await asyncio.to_thread(dispatcher.reseal_secrets)  # webhook secrets sealed before the keyring
        if demo:
            from shopcall.demo.seed import seed_demo

            await asyncio.to_thread(seed_demo, db)
        await media.start()
        await turn.start()  # a TURN that cannot start is reported on /healthz, not fatal
        await hub.recover()
        await dispatcher.start()
        for rec_id, status in await asyncio.to_thread(RecordingStore(db).recover_interrupted):
            log.warning("recording_interrupted_by_restart", recording=rec_id, status=status)
        await worker.start()
        worker.wake()  # recordings left `processing` by a previous run
        stop_retention = asyncio.Event()
        retention = asyncio.get_running_loop().create_task(retention_loop(
            db, storage, settings.retention_interval_s, stop_retention,
            raw_root=settings.data_dir / "recordings-raw", also=[lambda: run_data_retention(db)]), name="retention")
        log.info("shopcall_started", url=settings.base_url, version=__version__)
        if on_ready:
            on_ready()
        try:
            yield
        finally:
            await hub.shutdown()
            await worker.stop()
            await dispatcher.stop()
            await crm.aclose()
            stop_retention.set()
            retention.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await retention
            await media.stop()
            await turn.stop()
            db.dispose()

    app = FastAPI(title="ShopCall API", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Video consultation for online shops. Authenticate with HTTP Basic: "
                              "app id as user name, app secret as password.")
    deps.install(app, services)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    # preflights are answered before anything else (only HSTS wraps it), every widget response gets CORS headers
    app.add_middleware(WidgetCors, settings=settings, key=key, origins_of=AppStore(db).widget_origins)
    app.add_middleware(Hsts, settings=settings)  # outside CORS: preflights and errors get it too
    errors.install(app)
    app.include_router(health.router)
    app.include_router(rooms.router)
    app.include_router(console.router)
    app.include_router(widget.router)
    app.include_router(sessions.router)
    app.include_router(recordings.router)
    app.include_router(webhooks_api.router)
    app.include_router(webhooks_api.console_router)
    app.include_router(app_settings.router)
    app.include_router(apps.router)
    app.include_router(privacy.router)
    app.include_router(endpoint.router_for(hub))
    if demo:
        from shopcall.demo import routes as demo_routes

        app.include_router(demo_routes.router)
    web.install(app)
    return app
