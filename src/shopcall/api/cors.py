"""CORS for the widget API (`/v1/widget/*`), which shop pages on other origins call.

A response is made readable to a page only if the page's origin is in the allowed list of the app the
request names: `?app=APP_ID` in the URL (a preflight carries no body and no token, so cross-origin callers
always add it), else the app of its Bearer token. The origin is echoed, never `*`, and credentials are not
allowed (the widget sends its token in a header, never a cookie). A preflight from any other origin gets
a JSON 403 and no CORS headers, so the browser never sends the request. The handlers check the origin
again (`widget.check_origin`): CORS only decides what a page may read, not what the server does.

The widget's code itself (ES modules, its stylesheet, the string catalogs: `PUBLIC_ASSETS`) is fetched by
shop pages in CORS mode and answered with `Access-Control-Allow-Origin: *`. These files are the same
public code for everyone, carry no tenant data and are served without cookies or credentials, so a
per-app check there would protect nothing; it would only stop a page on a refused origin from loading
the widget far enough to tell the shopper why it does not work. The tenant boundary stays the widget API.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shopcall.api.errors import error_body
from shopcall.api.origins import Origin, allows, parse_origin
from shopcall.api.proxy import is_https
from shopcall.auth.tokens import TokenError, verify
from shopcall.config import Settings

PREFIX = "/v1/widget/"
ALLOW_METHODS = "GET, POST"
ALLOW_HEADERS = "Authorization, Content-Type"
MAX_AGE_S = 600
# Public code and catalogs the widget imports from shop pages (see the module docstring).
PUBLIC_ASSETS = ("/widget.js", "/static/widget/", "/static/sdk/", "/static/components/", "/static/i18n/")


def own_origins(conn: HTTPConnection, settings: Settings) -> set[Origin]:
    """This server's own origins: the one the request was addressed to, and `public_url`'s. Pages served
    from here (the demo shop, a console preview) are same-origin and need no allowed-list entry."""
    scheme = "https" if is_https(conn, settings) else "http"
    found = {parse_origin(f"{scheme}://{conn.headers.get('host', '')}"), parse_origin(settings.base_url)}
    return {o for o in found if o is not None}


def app_named(conn: HTTPConnection, key: bytes) -> str | None:
    """The app a widget request names: `?app=`, else the app of a valid Bearer token."""
    app_id = conn.query_params.get("app")
    if app_id:
        return app_id
    scheme, _, token = conn.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        return verify(key, token.strip()).app_id
    except TokenError:
        return None


class WidgetCors:
    def __init__(self, app: ASGIApp, *, settings: Settings, key: bytes,
                 origins_of: Callable[[str], list[str] | None]) -> None:
        """`origins_of(app_id)`: the app's allowed origins, None for an unknown app (blocking: run in a thread)."""
        self.app, self.settings, self.key, self.origins_of = app, settings, key, origins_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PUBLIC_ASSETS):
            await _public(self.app, scope, receive, send)
            return
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        header = conn.headers.get("origin")
        origin = parse_origin(header) if header is not None else None
        preflight = scope["method"] == "OPTIONS" and "access-control-request-method" in conn.headers
        if header is None or (origin is not None and origin in own_origins(conn, self.settings)):
            await self.app(scope, receive, send)
            return
        app_id = app_named(conn, self.key)
        allowed = await asyncio.to_thread(self.origins_of, app_id) if app_id else None
        readable = origin is not None and allowed is not None and allows(allowed, origin)
        if preflight:
            await self._preflight(send, header, app_id, allowed, readable)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.add_vary_header("Origin")
                if readable:
                    headers["Access-Control-Allow-Origin"] = header
                    headers["Access-Control-Expose-Headers"] = "Retry-After"
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, send: Send, header: str, app_id: str | None, allowed: list[str] | None,
                         readable: bool) -> None:
        if readable:
            status, body = 204, b""
            headers = [("access-control-allow-origin", header), ("access-control-allow-methods", ALLOW_METHODS),
                       ("access-control-allow-headers", ALLOW_HEADERS), ("access-control-max-age", str(MAX_AGE_S))]
        else:
            if not app_id:
                err = error_body("app_required", "name the app in the URL (?app=APP_ID) so that the widget's "
                                 "origin can be checked")
            elif allowed is None:
                err = error_body("app_not_found", f"no app {app_id!r}")
            else:
                err = error_body("origin_not_allowed", f"pages on {header} may not use the widget of app "
                                 f"{app_id}; the shop adds the origin to widget.allowed_origins (PATCH /v1/settings)")
            status, body = 403, json.dumps(err).encode()
            headers = [("content-type", "application/json")]
        headers += [("vary", "Origin"), ("content-length", str(len(body)))]
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]})
        await send({"type": "http.response.body", "body": body})



async def _public(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """A public asset, readable by pages of any origin (GET/HEAD only; no credentials)."""
    async def send_with_cors(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers["Access-Control-Allow-Origin"] = "*"
            headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        await send(message)

    await app(scope, receive, send_with_cors if scope["method"] in ("GET", "HEAD") else send)
