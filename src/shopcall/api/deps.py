"""The services REST handlers use, built once by `create_app`, and the FastAPI dependencies that hand them out.

Handlers declare what they need (`db: Database = Depends(get_db)`, `live: LiveControl = Depends(get_live)`)
instead of reaching into `app.state`; `Services` is stored on the app in one place (`install`) and read
in one place (`get_services`). Live signalling state is reachable only through `LiveControl`.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from shopcall.api.app_store import AppStore
from shopcall.api.errors import ApiError
from shopcall.api.proxy import client_address
from shopcall.api.throttle import Throttle
from shopcall.config import Settings
from shopcall.crm.connectors import CrmConnectors
from shopcall.db.engine import Database
from shopcall.media.backend import MediaBackend
from shopcall.ratelimit import RateLimiter
from shopcall.recording.storage import RecordingStorage
from shopcall.signalling.control import LiveControl
from shopcall.turn.service import TurnService
from shopcall.webhooks.dispatcher import WebhookDispatcher

_basic = HTTPBasic(auto_error=False, description="app id as user name, app secret as password")
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="shopcall"'}


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    live: LiveControl
    media: MediaBackend
    storage: RecordingStorage
    signing_key: bytes
    webhooks: WebhookDispatcher
    crm: CrmConnectors
    limiter: RateLimiter
    started: float  # time.monotonic() when the app was built, for /healthz's uptime
    turn: TurnService | None = None  # None: built without TURN (reported as off)


def install(app: FastAPI, services: Services) -> None:
    app.state.services = services


def services_of(app: FastAPI) -> Services:
    """The app's services (also for tests and entry points that hold the app, not a request)."""
    found = getattr(app.state, "services", None)
    if not isinstance(found, Services):
        raise RuntimeError("this app was not built by shopcall.app.create_app")
    return found


async def get_services(request: Request) -> Services:
    return services_of(request.app)


async def get_db(services: Services = Depends(get_services)) -> Database:
    return services.db


async def get_live(services: Services = Depends(get_services)) -> LiveControl:
    return services.live


async def get_storage(services: Services = Depends(get_services)) -> RecordingStorage:
    return services.storage


async def get_signing_key(services: Services = Depends(get_services)) -> bytes:
    return services.signing_key


async def get_crm(services: Services = Depends(get_services)) -> CrmConnectors:
    return services.crm


async def get_settings(services: Services = Depends(get_services)) -> Settings:
    return services.settings


async def get_throttle(services: Services = Depends(get_services)) -> Throttle:
    return Throttle(services.limiter, services.settings)


async def get_client_address(request: Request, services: Services = Depends(get_services)) -> str:
    return client_address(request, services.settings)


async def get_webhooks(services: Services = Depends(get_services)) -> WebhookDispatcher:
    return services.webhooks


@dataclass(frozen=True)
class AuthedApp:
    id: str
    name: str


def current_app(creds: HTTPBasicCredentials | None = Depends(_basic), db: Database = Depends(get_db),
                throttle: Throttle = Depends(get_throttle),
                address: str = Depends(get_client_address)) -> AuthedApp:
    """The tenant named by HTTP Basic app_id:secret (a plain `def`: the lookup runs in FastAPI's thread pool).

    Failed checks count against the client address; too many answer 429 before the secret is looked at.
    """
    if creds is None:
        raise ApiError(401, "unauthorized", "send the app id and secret with HTTP Basic auth", _CHALLENGE)
    throttle.before_secret_check(address)
    found = AppStore(db).authenticate(creds.username, creds.password)
    if found is None:
        throttle.secret_failed(address)
        raise ApiError(401, "unauthorized", "unknown app id or wrong secret", _CHALLENGE)
    return AuthedApp(*found)
