"""The shop-page widget's look, per app (`PATCH /v1/settings` `widget`): theme colours, corner radius,
font, logo, the launcher's label per locale and its position. Validated here; stored in `apps.widget`
next to the allowed origins; the public part goes to the widget with its session.

The server never fetches the logo: the shopper's browser loads it, so a URL is only checked for its form
(https, or a path on this server) and refused if it names an internal host, so the setting cannot aim
shoppers' browsers at addresses inside the shop's network.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

LOCALES = ("en", "zh-CN", "de", "fr", "es", "ja")
POSITIONS = ("bottom-right", "bottom-left", "inline")
_FONT = re.compile(r"[\w \-,.'\"]+")
_INTERNAL_SUFFIXES = (".local", ".localhost", ".internal", ".lan", ".home.arpa", ".corp")


def _logo_url(url: str) -> str:
    if any(c in url for c in "\\\"'<> ") or any(ord(c) < 32 for c in url):
        raise ValueError("logo_url may not contain spaces, quotes, angle brackets, backslashes or control characters")
    if url.startswith("/") and not url.startswith("//"):
        return url  # a file on this server (same origin as the widget's own assets)
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError("logo_url must be an https:// URL or a path on this server (/static/...)")
    if parts.username or parts.password:
        raise ValueError("logo_url may not carry a user name or password")
    host = parts.hostname.lower()
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None and not ip.is_global:
        raise ValueError(f"logo_url names an internal address ({host}); use a public https URL")
    if host == "localhost" or host.endswith(_INTERNAL_SUFFIXES) or (ip is None and "." not in host):
        raise ValueError(f"logo_url names an internal host ({host}); use a public https URL")
    return url


def _font(value: str) -> str:
    if not _FONT.fullmatch(value):
        raise ValueError("font is a CSS font-family list: letters, digits, spaces, commas, hyphens and quotes")
    return value


def _labels(value: dict[str, str]) -> dict[str, str]:
    unknown = sorted(set(value) - set(LOCALES))
    if unknown:
        raise ValueError(f"button_label: unknown locale {', '.join(unknown)} (one of {', '.join(LOCALES)})")
    out = {}
    for locale, text in value.items():
        text = text.strip()
        if not text or any(ord(c) < 32 for c in text):
            raise ValueError(f"button_label[{locale}] must be 1-60 printable characters")
        out[locale] = text
    return out


Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$", description="#rrggbb")]
Label = Annotated[str, Field(min_length=1, max_length=60)]


class ThemeIn(BaseModel):
    """Colours as #rrggbb; sent as a whole (a PATCH replaces the stored theme)."""

    model_config = ConfigDict(extra="forbid")
    accent: Colour | None = Field(None, description="buttons and highlights")
    accent_text: Colour | None = Field(None, description="text on the accent colour")
    background: Colour | None = Field(None, description="the panel's background")
    text: Colour | None = Field(None, description="the panel's text")
    radius: int | None = Field(None, ge=0, le=32, description="corner radius in px")
    font: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_font)] | None = Field(
        None, description="CSS font-family list, e.g. \"Inter, system-ui, sans-serif\" (no web font is loaded)")
    logo_url: Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_logo_url)] | None = Field(
        None, description="https URL or a path on this server; shown in the call panel's header")


ButtonLabels = Annotated[dict[str, Label], Field(max_length=len(LOCALES)), AfterValidator(_labels)]
Position = Literal["bottom-right", "bottom-left", "inline"]


def public_widget(stored: dict[str, Any]) -> dict[str, Any]:
    """What a shop page's widget gets with its session (never the allowed origins); damaged stored values
    fall back to the defaults rather than breaking the widget."""
    out: dict[str, Any] = {"theme": {}, "button_label": {}, "position": "bottom-right"}
    try:
        out["theme"] = ThemeIn.model_validate(stored.get("theme") or {}).model_dump(exclude_none=True)
    except ValueError:
        pass
    labels = stored.get("button_label")
    if isinstance(labels, dict):
        out["button_label"] = {k: v for k, v in labels.items() if k in LOCALES and isinstance(v, str)}
    if stored.get("position") in POSITIONS:
        out["position"] = stored["position"]
    return out
