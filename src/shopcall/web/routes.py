"""Serves the pages and static assets (SDK, components, theme) and offline API docs.

Every page is sent with a Content-Security-Policy: scripts only from this origin (ES modules; no inline
script), `wasm-unsafe-eval` for the RNNoise WebAssembly, media and workers from blob:, and
`frame-ancestors 'none'` (no page is meant to be framed: shops embed the SDK, not a page).
Inline `style` attributes are still used by the pages, hence `style-src 'unsafe-inline'`."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import swagger_ui_bundle
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from shopcall.i18n import Translator, negotiate, translator

WEB = Path(__file__).parent
PAGES = WEB / "pages"

router = APIRouter(include_in_schema=False)


CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob: https:",  # product images come from the merchant's shop
    "media-src 'self' blob: mediastream:",
    "connect-src 'self'",  # REST and the signalling WebSocket, same origin
    "worker-src 'self' blob:",
    "font-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
# Swagger UI starts itself with an inline script.
DOCS_CSP = CSP.replace("script-src 'self' 'wasm-unsafe-eval'", "script-src 'self' 'unsafe-inline'")


def security_headers(csp: str = CSP) -> dict[str, str]:
    return {"Content-Security-Policy": csp, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin"}


def _page(name: str) -> FileResponse:
    return FileResponse(PAGES / name, media_type="text/html",
                        headers={"Cache-Control": "no-cache", **security_headers()})


# An element whose whole content is one catalog message: <h1 data-i18n="join.heading">English</h1>.
_I18N_TEXT = re.compile(r'(<[a-z][a-z0-9]*\b[^<>]*\sdata-i18n="([\w.\-]+)"[^<>]*>)([^<]*)(</)')


_I18N_ATTR_TAG = re.compile(r'<[a-z][a-z0-9]*\b[^<>]*\sdata-i18n-attr="([^"]*)"[^<>]*>')


def _fill_attrs(tag: re.Match[str], tr: Translator) -> str:
    """`data-i18n-attr="aria-label:key;placeholder:key2"`: each named attribute set (or added) in that tag."""
    out = tag.group(0)
    for pair in tag.group(1).split(";"):
        attr, _, key = (x.strip() for x in pair.partition(":"))
        if not re.fullmatch(r"[a-z-]+", attr) or not key:
            continue
        value = html.escape(tr.t(key), quote=True)
        existing = re.search(rf'\s{attr}="[^"]*"', out)
        if existing:
            out = f'{out[:existing.start()]} {attr}="{value}"{out[existing.end():]}'
        else:
            closing = "/>" if out.endswith("/>") else ">"
            out = f'{out[:-len(closing)].rstrip()} {attr}="{value}"{closing}'
    return out


def _localized_page(name: str, request: Request) -> HTMLResponse:
    """A page in the visitor's language (`?lang=`, else Accept-Language): <html lang> and every `data-i18n`
    element filled on the server, so the first paint is already translated; the page's script takes over."""
    tr = translator(negotiate(request.headers.get("accept-language"), request.query_params.get("lang")))
    page = (PAGES / name).read_text(encoding="utf-8").replace('<html lang="en">', f'<html lang="{tr.locale}">', 1)
    page = _I18N_TEXT.sub(lambda m: f"{m.group(1)}{html.escape(tr.t(m.group(2)), quote=False)}{m.group(4)}", page)
    page = _I18N_ATTR_TAG.sub(lambda m: _fill_attrs(m, tr), page)
    return HTMLResponse(page, headers={"Cache-Control": "no-cache", "Vary": "Accept-Language", **security_headers()})


@router.get("/")
def index(request: Request) -> HTMLResponse:
    return _localized_page("index.html", request)


@router.get("/demo/shop")
def shop() -> FileResponse:
    return _page("shop.html")


@router.get("/console")
def console(request: Request) -> HTMLResponse:
    return _localized_page("console.html", request)


@router.get("/join/{room_id}")
def join(room_id: str, request: Request) -> HTMLResponse:
    """Group-session landing page (the invite code is checked when the guest joins)."""
    return _localized_page("join.html", request)


@router.get("/console/recordings/{rec_id}")
def recording_page(rec_id: str, request: Request) -> HTMLResponse:
    """Playback with the chat and drawings on a timeline (data comes from the console API)."""
    return _localized_page("recording.html", request)


@router.get("/widget.js")
def widget_loader() -> FileResponse:
    """The shop-page widget's loader (a classic script for `<script src=".../widget.js" data-app=...>`);
    it imports the widget's modules from /static/widget/ (public assets, see api.cors)."""
    return FileResponse(WEB / "static" / "widget" / "loader.js", media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"})


@router.get("/docs")
def docs() -> HTMLResponse:
    """Swagger UI from the locally installed bundle: works with no internet."""
    page = get_swagger_ui_html(openapi_url="/openapi.json", title="ShopCall API",
                               swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                               swagger_css_url="/docs-assets/swagger-ui.css",
                               swagger_favicon_url="/docs-assets/favicon-32x32.png")
    page.headers.update(security_headers(DOCS_CSP))
    return page


def vendor_dir() -> Path | None:
    """npm packages served as-is (RNNoise): `$SHOPCALL_VENDOR_DIR` or the repository's node_modules."""
    env = os.environ.get("SHOPCALL_VENDOR_DIR")
    candidates = [Path(env)] if env else [WEB.parents[2] / "node_modules", Path.cwd() / "node_modules"]
    for base in candidates:
        dist = base / "@sapphi-red" / "web-noise-suppressor" / "dist"
        if dist.is_dir():
            return dist
    return None


def install(app: FastAPI) -> None:
    app.include_router(router)
    dist = vendor_dir()
    if dist is not None:
        app.mount("/vendor/noise-suppressor", StaticFiles(directory=dist), name="vendor-noise-suppressor")
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")
