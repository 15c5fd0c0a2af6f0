"""The widget's look per app (`PATCH /v1/settings` `widget`: theme, button labels per locale, position):
validated with clear 422s, stored next to the allowed origins, and handed to shop pages with the widget
session (without the allowed origins)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Tenant

SHOP = "https://shop.example.com"
THEME = {"accent": "#0c7c6f", "accent_text": "#ffffff", "background": "#fbfaf7", "text": "#17191c", "radius": 12,
         "font": "\"Source Sans 3\", system-ui, sans-serif", "logo_url": "https://cdn.example.com/logo.svg"}


def _patch(client: TestClient, tenant: Tenant, widget: dict[str, Any]):
    return client.patch("/v1/settings", auth=tenant.auth, json={"widget": widget})


def test_theme_labels_and_position_round_trip_and_reach_the_widget_session(client, tenant) -> None:
    r = _patch(client, tenant, {"allowed_origins": [SHOP], "theme": THEME, "position": "bottom-left",
                                "button_label": {"en": "Talk to a barista", "zh-CN": "视频咨询咖啡师"}})
    assert r.status_code == 200, r.text
    w = r.json()["widget"]
    assert w["theme"] == THEME and w["position"] == "bottom-left" and w["allowed_origins"] == [SHOP]
    assert w["button_label"] == {"en": "Talk to a barista", "zh-CN": "视频咨询咖啡师"}
    # a later PATCH of one key keeps the others (the theme is replaced as a whole when sent)
    r = _patch(client, tenant, {"position": "inline"})
    assert r.json()["widget"]["theme"] == THEME and r.json()["widget"]["position"] == "inline"
    r = _patch(client, tenant, {"theme": {"accent": "#112233"}})
    assert r.json()["widget"]["theme"] == {"accent": "#112233"}

    s = client.post(f"/v1/widget/session?app={tenant.id}", headers={"Origin": SHOP}, json={})
    assert s.status_code == 201, s.text
    assert s.json()["widget"] == {"theme": {"accent": "#112233"}, "position": "inline",
                                  "button_label": {"en": "Talk to a barista", "zh-CN": "视频咨询咖啡师"}}
    assert "allowed_origins" not in s.text  # a public page does not learn the shop's other origins


@pytest.mark.parametrize(("widget", "says"), [
    ({"theme": {"accent": "red"}}, "accent"),
    ({"theme": {"accent": "#12345"}}, "accent"),
    ({"theme": {"radius": 99}}, "radius"),
    ({"theme": {"radius": -1}}, "radius"),
    ({"theme": {"font": "x; background: url(https://evil.example)"}}, "font-family"),
    ({"theme": {"shadow": "none"}}, "shadow"),
    ({"theme": {"logo_url": "http://cdn.example.com/logo.png"}}, "https"),
    ({"theme": {"logo_url": "javascript:alert(1)"}}, "https"),
    ({"theme": {"logo_url": "//evil.example/logo.png"}}, "https"),
    ({"theme": {"logo_url": "https://127.0.0.1/logo.png"}}, "internal address"),
    ({"theme": {"logo_url": "https://10.0.0.7/logo.png"}}, "internal address"),
    ({"theme": {"logo_url": "https://[::1]/logo.png"}}, "internal address"),
    ({"theme": {"logo_url": "https://169.254.169.254/latest"}}, "internal address"),
    ({"theme": {"logo_url": "https://localhost/logo.png"}}, "internal host"),
    ({"theme": {"logo_url": "https://intranet/logo.png"}}, "internal host"),
    ({"theme": {"logo_url": "https://files.corp/logo.png"}}, "internal host"),
    ({"theme": {"logo_url": "https://user:pw@cdn.example.com/logo.png"}}, "user name"),
    ({"theme": {"logo_url": "https://cdn.example.com/a\"onerror=\"x.png"}}, "quotes"),
    ({"button_label": {"pt": "Chamada"}}, "unknown locale pt"),
    ({"button_label": {"en": ""}}, "button_label"),
    ({"button_label": {"en": "x" * 61}}, "button_label"),
    ({"position": "top-left"}, "position"),
])
def test_bad_theme_settings_get_a_clear_422(client, tenant, widget: dict[str, Any], says: str) -> None:
    r = _patch(client, tenant, widget)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"]["code"] and says in r.text, body
    assert client.get("/v1/settings", auth=tenant.auth).json()["widget"]["theme"] == {}  # nothing stored


def test_a_logo_on_this_server_is_allowed_and_the_server_never_fetches_it(client, tenant) -> None:
    r = _patch(client, tenant, {"theme": {"logo_url": "/static/demo/img/amp.svg"}})
    assert r.status_code == 200, r.text
    assert r.json()["widget"]["theme"]["logo_url"] == "/static/demo/img/amp.svg"


def test_theme_needs_the_apps_credentials_and_stays_per_tenant(client, tenant, other_tenant) -> None:
    assert client.patch("/v1/settings", json={"widget": {"position": "inline"}}).status_code == 401
    assert _patch(client, tenant, {"theme": THEME}).status_code == 200
    assert client.get("/v1/settings", auth=other_tenant.auth).json()["widget"]["theme"] == {}


def test_a_damaged_stored_theme_does_not_break_the_session(client, tenant) -> None:
    from shopcall.api.deps import services_of
    from shopcall.db.models import App

    with services_of(client.app).db.session() as s:
        s.get(App, tenant.id).widget = {"allowed_origins": [SHOP], "theme": {"accent": 7}, "position": "middle",
                                        "button_label": "oops"}
    r = client.post(f"/v1/widget/session?app={tenant.id}", headers={"Origin": SHOP}, json={})
    assert r.status_code == 201, r.text
    assert r.json()["widget"] == {"theme": {}, "button_label": {}, "position": "bottom-right"}
