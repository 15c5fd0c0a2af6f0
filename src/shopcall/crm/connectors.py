"""One CRM connector per app and configuration, built off the event loop and replaced when the settings change.

Connectors hold HTTP connection pools, so they are kept; building one (reading the app's settings,
creating an HTTP client with its TLS context) is blocking work, so it runs in a thread. The cache itself
is only touched on the event loop. Credentials are stored encrypted (`credentials`); a row still in
clear from before is sealed when it is read, and all of them at start-up (`seal_plaintext`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from shopcall.crm._http import describe
from shopcall.crm.base import CrmConnector
from shopcall.crm.credentials import CrmCredentials
from shopcall.crm.factory import connector_for, parse_crm_config
from shopcall.db.engine import Database
from shopcall.db.models import App
from shopcall.outbound import OutboundPolicy

BUILTIN: dict[str, Any] = {"kind": "builtin"}


class CrmMisconfigured(ValueError):
    """The app's stored CRM settings do not describe a valid connector."""


class CrmConnectors:
    def __init__(self, db: Database, signing_key: bytes, *, outbound: OutboundPolicy | None = None,
                 master_key: bytes | None = None) -> None:
        self.db = db
        self.credentials = CrmCredentials(signing_key, master_key)
        self.outbound = outbound or OutboundPolicy()
        self._by_app: dict[str, tuple[str, CrmConnector]] = {}  # app id -> (settings fingerprint, connector)

    def _settings(self, app_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            app = s.get(App, app_id)
            raw = dict(app.crm_config or {}) if app is not None else {}
            if app is not None and self.credentials.needs_reseal(raw):
                with contextlib.suppress(ValueError):  # an unreadable secret fails in _build, with its reason
                    raw = app.crm_config = self.credentials.reseal(raw)
        return raw or BUILTIN

    def seal_plaintext(self) -> int:
        """Encrypt CRM credentials stored in clear or under an older key; returns how many apps."""
        sealed = 0
        with self.db.session() as s:
            for app in s.scalars(select(App)):
                raw = dict(app.crm_config or {})
                if self.credentials.needs_reseal(raw):
                    try:
                        app.crm_config = self.credentials.reseal(raw)
                    except ValueError:  # sealed under a key this server does not have: reported when used
                        continue
                    sealed += 1
        return sealed

    def _build(self, app_id: str, raw: dict[str, Any]) -> CrmConnector:
        try:
            return connector_for(parse_crm_config(self.credentials.open(raw)), db=self.db, app_id=app_id,
                                 outbound=self.outbound)
        except ValidationError as e:
            raise CrmMisconfigured(describe(e)) from None
        except ValueError as e:
            raise CrmMisconfigured(str(e)) from None

    async def for_app(self, app_id: str) -> CrmConnector:
        """The app's connector; raises CrmMisconfigured. The connector it replaces is closed."""
        raw = await asyncio.to_thread(self._settings, app_id)
        fingerprint = json.dumps(raw, sort_keys=True, default=str)
        held = self._by_app.get(app_id)
        if held is not None and held[0] == fingerprint:
            return held[1]
        built = await asyncio.to_thread(self._build, app_id, raw)
        held = self._by_app.get(app_id)  # another request may have built it meanwhile
        if held is not None and held[0] == fingerprint:
            await built.aclose()
            return held[1]
        self._by_app[app_id] = (fingerprint, built)
        if held is not None:
            await held[1].aclose()
        return built

    async def aclose(self) -> None:
        held, self._by_app = list(self._by_app.values()), {}
        for _, connector in held:
            await connector.aclose()
