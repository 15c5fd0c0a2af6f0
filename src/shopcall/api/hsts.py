"""Strict-Transport-Security on every HTTP response that came over https (the server's own TLS, or a trusted
proxy's X-Forwarded-Proto: shopcall.api.proxy.over_tls); never over plain http, where browsers ignore it.
No includeSubDomains: the shop's other hosts are not ShopCall's to decide."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shopcall.api.proxy import over_tls
from shopcall.config import Settings


class Hsts:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app, self.settings = app, settings
        self.value = f"max-age={settings.hsts_max_age_s}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.settings.hsts_max_age_s or not over_tls(HTTPConnection(scope),
                                                                                         self.settings):
            await self.app(scope, receive, send)
            return

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("Strict-Transport-Security", self.value)
            await send(message)

        await self.app(scope, receive, with_header)
