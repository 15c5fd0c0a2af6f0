"""Serves the pages and static assets (SDK, components, theme) and offline API docs."""

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


def _page(name: str) -> FileResponse:
    return FileResponse(PAGES / name, media_type="text/html", headers={"Cache-Control": "no-cache"})


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
    return get_swagger_ui_html(openapi_url="/openapi.json", title="ShopCall API",
                               swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                               swagger_css_url="/docs-assets/swagger-ui.css",
                               swagger_favicon_url="/docs-assets/favicon-32x32.png")


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
