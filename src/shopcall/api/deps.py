"""Request dependencies: the app (tenant) authenticated by HTTP Basic app_id:secret."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from shopcall.api.errors import ApiError
from shopcall.auth.secrets import verify_secret
from shopcall.db.engine import Database
from shopcall.db.models import App

_basic = HTTPBasic(auto_error=False, description="app id as user name, app secret as password")
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="shopcall"'}


@dataclass(frozen=True)
class AuthedApp:
    id: str
    name: str


def get_db(request: Request) -> Database:
    return request.app.state.db


def current_app(creds: HTTPBasicCredentials | None = Depends(_basic), db: Database = Depends(get_db)) -> AuthedApp:
    if creds is None:
        raise ApiError(401, "unauthorized", "send the app id and secret with HTTP Basic auth", _CHALLENGE)
    with db.session() as s:
        app = s.get(App, creds.username)
        ok = app is not None and verify_secret(creds.password, app.secret_hash)
        if not ok or app is None:
            raise ApiError(401, "unauthorized", "unknown app id or wrong secret", _CHALLENGE)
        return AuthedApp(app.id, app.name)
