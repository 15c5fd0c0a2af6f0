"""Server-side languages: Accept-Language negotiation, Babel formats, pages rendered in the visitor's language,
translated API error messages with stable codes, and the agent's console language (PATCH /v1/console/me)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from shopcall.api.deps import services_of
from shopcall.console.accounts import upsert_agent
from shopcall.i18n import negotiate, parse_accept_language, pick_locale, translator


def test_negotiation_honours_q_values_languages_and_an_explicit_choice() -> None:
    assert parse_accept_language("fr;q=0.4, de-AT, en;q=0.8, *;q=0.1, x;q=abc") == ["de-AT", "en", "fr"]
    assert negotiate("de-AT,de;q=0.9,en;q=0.5") == "de"
    assert negotiate("zh-Hans-CN,zh;q=0.9") == "zh-CN"
    assert negotiate("zh-TW") == "zh-CN"  # the only Chinese there is
    assert negotiate("pt-BR, es;q=0.5") == "es"
    assert negotiate("ko, pt") == "en"
    assert negotiate(None) == negotiate("") == negotiate(";;;,,q=") == "en"
    assert negotiate("de", "ja") == "ja" and negotiate("de", "xx") == "de"
    assert pick_locale(["JA_jp"]) == "ja"
    assert negotiate("a" * 5000) == "en"


def test_babel_formats_prices_numbers_dates_and_durations_by_locale() -> None:
    assert translator("de").price(1299.5, "EUR") == "1.299,50\xa0€"
    assert translator("zh-CN").price(1299, "CNY") == "¥1,299.00"
    assert translator("ja").price(1299, "JPY") == "￥1,299"
    assert translator("fr").number(12345.5) == "12\u202f345,5"
    assert translator("en").price(5, "NOPE") == "5 NOPE"
    assert translator("en").duration(125) == "2 min 5 sec"
    assert translator("zh-CN").duration(125) == "2分钟5秒"
    assert translator("de").date(datetime(2026, 3, 4, 10, 0, tzinfo=UTC), "short").startswith("04.03.26")
    assert translator("es").t("join.liveTitle", title="Sala") == "Sala · en directo"
    assert translator("es").t("no.such.key") == "no.such.key"


def test_pages_are_rendered_in_the_visitors_language(client) -> None:
    r = client.get("/join/r_1", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert r.status_code == 200 and r.headers["vary"] == "Accept-Language"
    assert '<html lang="zh-CN">' in r.text
    assert "<title data-i18n=\"join.pageTitle\">加入直播会话 · ShopCall</title>" in r.text
    assert ">加入会话</button>" in r.text and "Content-Security-Policy" in r.headers
    de = client.get("/join/r_1?lang=de", headers={"Accept-Language": "ja"}).text  # ?lang= wins
    assert '<html lang="de">' in de and "Sitzung beitreten" in de
    console = client.get("/console", headers={"Accept-Language": "fr"}).text
    assert 'placeholder="Notes privées sur cet appel…"' in console and 'aria-label="Notes"' in console
    assert re.search(r'data-testid="logout"[^>]*aria-label="Se déconnecter"[^>]*title="Se déconnecter"', console)
    index = client.get("/", headers={"Accept-Language": "ja"}).text
    assert re.search(r'<section class="steps" aria-label="しくみ"', index)
    en = client.get("/console/recordings/rec_x").text
    assert '<html lang="en">' in en and ">Timeline</h2>" in en
    # text from a catalog is escaped like any other text
    assert "<script>" not in client.get("/?lang=<script>").text.split("<body>")[1].split("<script type")[0]


def test_api_errors_keep_their_code_and_translate_the_message(client) -> None:
    plain = client.post("/v1/join/r_missing", json={"invite": "x" * 12, "name": "A"})
    assert plain.status_code == 404 and plain.json()["error"]["code"] == "invite_invalid"
    zh = client.post("/v1/join/r_missing", json={"invite": "x" * 12, "name": "A"}, headers={"Accept-Language": "zh-CN"})
    assert zh.json()["error"] == {"code": "invite_invalid", "message": "此邀请链接无效。"}
    en = client.post("/v1/join/r_missing", json={"invite": "x" * 12, "name": "A"}, headers={"Accept-Language": "en-GB"})
    assert en.json() == plain.json()  # English keeps the specific message
    bad = client.post("/v1/console/login", content=b"{", headers={"Accept-Language": "de",
                                                                   "Content-Type": "application/json"})
    assert bad.status_code in (400, 422) and bad.json()["error"]["message"] in (
        "Die Anfrage konnte nicht gelesen werden.", "Einige Angaben sind ungültig.")
    assert client.get("/v1/nope", headers={"Accept-Language": "ja"}).json()["error"] == {
        "code": "not_found", "message": "見つかりません。"}


def test_agent_sets_their_console_language(client, tenant, other_tenant) -> None:
    db = services_of(client.app).db
    upsert_agent(db, tenant.id, "anna", name="Anna", password="s3cret-pw-long", role="admin")
    upsert_agent(db, other_tenant.id, "anna", name="Other Anna", password="s3cret-pw-long")
    assert client.patch("/v1/console/me", json={"locale": "de"}).status_code == 401
    assert client.post("/v1/console/login", json={"app_id": tenant.id, "login": "anna",
                                                   "password": "s3cret-pw-long"}).status_code == 200
    assert client.get("/v1/console/me").json()["agent"]["locale"] is None
    r = client.patch("/v1/console/me", json={"locale": "zh-CN"})
    assert r.status_code == 200 and r.json()["agent"]["locale"] == "zh-CN"
    assert client.get("/v1/console/me").json()["agent"]["locale"] == "zh-CN"
    for bad in ({"locale": "xx"}, {"locale": "de-DE"}, {"locale": 5}, {"locale": "a" * 100}):
        r = client.patch("/v1/console/me", json=bad)
        assert r.status_code == 422 and r.json()["error"]["code"] in ("unsupported_locale", "validation_error")
    assert client.patch("/v1/console/me", content=b"[", headers={"Content-Type": "application/json"}).status_code in (
        400, 422)
    assert client.patch("/v1/console/me", json={"locale": None}).json()["agent"]["locale"] is None
    # the other tenant's agent of the same identity is untouched
    client.patch("/v1/console/me", json={"locale": "ja"})
    client.post("/v1/console/logout")
    assert client.post("/v1/console/login", json={"app_id": other_tenant.id, "login": "anna",
                                                   "password": "s3cret-pw-long"}).status_code == 200
    assert client.get("/v1/console/me").json()["agent"]["locale"] is None
