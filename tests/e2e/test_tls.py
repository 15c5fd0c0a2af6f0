"""Built-in TLS end to end: the real server process started with `--tls-self-signed` answers https (with HSTS)
and wss, and a shopper's call answered in the console completes over it in Chromium, which trusts exactly this
certificate (an SPKI pin, not `--ignore-certificate-errors`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shopcall.tls import spki_sha256
from tests.e2e.browser import launch, new_page
from tests.e2e.journeys import answer_call, end_call, sign_in_agent, start_call
from tests.e2e.server import Server, running_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("tls-server"), tls=True) as s:
        yield s


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert server.ca is not None
    with sync_playwright() as pw:
        b = launch(pw, [f"--ignore-certificate-errors-spki-list={spki_sha256(server.ca)}"])
        try:
            yield b
        finally:
            b.close()


def test_https_with_hsts_and_a_wss_hello(server: Server) -> None:
    assert server.base.startswith("https://") and server.ca is not None
    r = httpx.get(server.base + "/healthz", verify=server.verify)
    assert r.status_code == 200 and r.json()["media"] == "ok"
    assert r.headers["strict-transport-security"] == "max-age=31536000"
    with pytest.raises(httpx.ConnectError):  # not trusted without the certificate
        httpx.get(server.base + "/healthz")
    assert "https://localhost:" in server.log.read_text()  # the banner prints the https URL

    token = httpx.post(server.base + "/demo/api/shopper-token", json={"name": "T"},
                       verify=server.verify).json()["token"]

    async def hello() -> dict[str, Any]:
        import websockets

        url = "wss://" + server.base.removeprefix("https://") + "/v1/signal"
        async with websockets.connect(url, ssl=server.verify, open_timeout=10) as ws:
            await ws.send(json.dumps({"type": "hello", "id": "hello", "token": token}))
            reply: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
            return reply

    assert asyncio.run(hello())["type"] == "welcome"


def test_a_call_completes_over_https(server: Server, browser: Any, shots: Path) -> None:
    actx, agent = new_page(browser)
    sctx, shopper = new_page(browser)
    try:
        sign_in_agent(agent, server.base, "anna")
        assert agent.evaluate("window.isSecureContext") is True
        cookie = next(c for c in actx.cookies() if c["httpOnly"])
        assert cookie["secure"], cookie
        start_call(shopper, server.base, name="Tess")
        answer_call(agent, shopper)  # waits until both pages decode the other's video and audio
        assert shopper.evaluate("location.protocol") == "https:"
        shopper.screenshot(path=shots / "shop_in_call_over_https.png")
        end_call(agent, shopper)
    finally:
        actx.close()
        sctx.close()
