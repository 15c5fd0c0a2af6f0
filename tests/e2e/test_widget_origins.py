"""Real Chromium on a second local origin (a shop page on another port) calls the widget API the way the
widget will: the demo app's page gets an anonymous token and reads availability; a page on an origin the
app does not allow cannot read anything (the preflight is refused), until the shop allows the origin."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.e2e.server import Server

pytestmark = pytest.mark.e2e

SHOP_PAGE = b"<!doctype html><html lang='en'><head><title>Another shop</title></head><body>shop</body></html>"

# What widget.js will do: the app in every widget URL (for the preflight), the token as Bearer.
WIDGET_CALLS = """
async ({base, app}) => {
  const out = {};
  try {
    const r = await fetch(`${base}/v1/widget/session?app=${app}`, {method: "POST",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify({name: "Mia"})});
    out.session = {status: r.status, body: await r.json(), retryAfter: r.headers.get("Retry-After")};
    const token = out.session.body.token;
    const a = await fetch(`${base}/v1/widget/availability?app=${app}`, {headers: {Authorization: `Bearer ${token}`}});
    out.availability = {status: a.status, body: await a.json()};
  } catch (e) {
    out.error = `${e.name}: ${e.message}`;
  }
  return out;
}
"""


class _Shop(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(SHOP_PAGE)))
        self.end_headers()
        self.wfile.write(SHOP_PAGE)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture(scope="module")
def shop_origin() -> Iterator[str]:
    """A plain page on 127.0.0.1 and a free port: another origin than the ShopCall server's."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Shop)
    thread = threading.Thread(target=httpd.serve_forever, name="shop-page", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _from_page(browser: Any, page_url: str, base: str, app: str) -> tuple[dict[str, Any], list[str]]:
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text))
        page.goto(page_url)
        return page.evaluate(WIDGET_CALLS, {"base": base, "app": app}), console
    finally:
        ctx.close()


def test_demo_app_page_on_another_port_gets_a_token_and_availability(server: Server, browser: Any,
                                                                      shop_origin: str) -> None:
    out, _ = _from_page(browser, shop_origin + "/product", server.base, "app_demo")
    assert "error" not in out, out
    assert out["session"]["status"] == 201 and out["session"]["body"]["identity"].startswith("anon_")
    assert out["session"]["body"]["name"] == "Mia"
    assert out["availability"]["status"] == 200 and "agents_online" in out["availability"]["body"]


def test_a_page_on_an_origin_the_app_does_not_allow_reads_nothing(server: Server, browser: Any,
                                                                  shop_origin: str) -> None:
    merchant = server.create_app("Only localhost")
    try:
        r = merchant.http.patch("/v1/settings", json={"widget": {"allowed_origins": ["http://localhost:*"]}})
        assert r.status_code == 200, r.text
        app_id = merchant.auth[0]
        out, console = _from_page(browser, shop_origin + "/", server.base, app_id)
        assert out.get("error", "").startswith("TypeError"), out  # CORS: the browser withheld the answer
        assert "session" not in out and any("CORS" in line or "access control" in line for line in console), console
        # the shop allows its origin: the same page now gets its token
        r = merchant.http.patch("/v1/settings", json={"widget": {"allowed_origins": [
            "http://localhost:*", "http://127.0.0.1:*"]}})
        assert r.status_code == 200, r.text
        out, _ = _from_page(browser, shop_origin + "/", server.base, app_id)
        assert "error" not in out and out["session"]["status"] == 201, out
        assert out["availability"]["status"] == 200
    finally:
        merchant.close()
