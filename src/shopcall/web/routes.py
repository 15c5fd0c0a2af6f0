"""Serves the pages and static assets (SDK, components, theme) and offline API docs.

Every page is sent with a Content-Security-Policy: scripts only from this origin (ES modules; no inline
script), `wasm-unsafe-eval` for the RNNoise WebAssembly, media and workers from blob:, and
`frame-ancestors 'none'` (no page is meant to be framed: shops embed the SDK, not a page).
Inline `style` attributes are still used by the pages, hence `style-src 'unsafe-inline'`."""

from __future__ import annotations

import os
from pathlib import Path

import swagger_ui_bundle
from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

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


@router.get("/")
def index() -> FileResponse:
    return _page("index.html")


@router.get("/demo/shop")
def shop() -> FileResponse:
    return _page("shop.html")


@router.get("/console")
def console() -> FileResponse:
    return _page("console.html")


@router.get("/join/{room_id}")
def join(room_id: str) -> FileResponse:
    """Group-session landing page (the invite code is checked when the guest joins)."""
    return _page("join.html")


@router.get("/console/recordings/{rec_id}")
def recording_page(rec_id: str) -> FileResponse:
    """Playback with the chat and drawings on a timeline (data comes from the console API)."""
    return _page("recording.html")


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
