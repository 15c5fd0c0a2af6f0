"""A real 1:1 call: demo server + managed Janus + two headless Chromium pages with fake devices."""

from __future__ import annotations

import time

import httpx
import pytest

from shopcall.auth import tokens
from shopcall.demo.seed import DEMO_APP_ID
from tests.e2e.browser import inbound, new_page, wait_for_media
from tests.e2e.journeys import sign_in_agent

pytestmark = pytest.mark.e2e


def test_shopper_calls_agent_answers_media_both_ways(server, browser, shots) -> None:
    actx, agent = new_page(browser)
    sctx, shopper = new_page(browser, 390, 844)  # a phone-sized shopper
    try:
        agent.goto(server.base + "/console")
        agent.screenshot(path=shots / "01_console_login.png")
        agent.get_by_test_id("login-anna").click()
        agent.get_by_test_id("agent-status").wait_for()
        agent.screenshot(path=shots / "02_console_waiting.png")

        shopper.goto(server.base + "/demo/shop")
        shopper.get_by_test_id("product-title").wait_for()
        shopper.screenshot(path=shots / "03_shop_product.png", full_page=True)
        shopper.get_by_test_id("call-button").first.click()
        shopper.get_by_test_id("name-dialog").wait_for()
        shopper.get_by_test_id("shopper-name").fill("Maja")
        shopper.screenshot(path=shots / "04_shop_name_dialog.png")
        shopper.get_by_test_id("start-call").click()

        answer = agent.get_by_test_id("answer-call").first
        answer.wait_for(timeout=15000)
        assert "Maja" in agent.get_by_test_id("incoming-shopper").first.inner_text()
        shopper.screenshot(path=shots / "05_shop_ringing.png")
        agent.screenshot(path=shots / "06_console_incoming.png")
        answer.click()

        agent_stats = wait_for_media(agent)
        shopper_stats = wait_for_media(shopper)
        time.sleep(1)
        agent.screenshot(path=shots / "07_console_in_call.png")
        shopper.screenshot(path=shots / "08_shop_in_call.png")
        for who, st in (("agent", agent_stats), ("shopper", shopper_stats)):
            assert max(v["framesDecoded"] for v in st["video"]) > 30, (who, st)
            assert max(v["frameWidth"] for v in st["video"]) > 0, (who, st)
            assert max(a["totalSamplesReceived"] for a in st["audio"]) > 0, (who, st)
        assert shopper.get_by_test_id("remote-video").count() >= 1
        assert agent.get_by_test_id("remote-video").count() >= 1
        assert len(server.janus_sessions()) == 2

        # the agent ends the call: everyone is disconnected, Janus is left with nothing
        agent.get_by_test_id("end-call").click()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and server.janus_sessions():
            time.sleep(0.2)
        assert server.janus_sessions() == []
        shopper.get_by_test_id("call-again").wait_for(timeout=10000)
        shopper.screenshot(path=shots / "09_shop_call_ended.png")
        agent.screenshot(path=shots / "10_console_after_call.png")
        assert inbound(shopper)["open"] == 0
    finally:
        actx.close()
        sctx.close()


def test_forged_and_expired_tokens_cannot_join(server, browser) -> None:
    """The browser SDK itself gets the refusal, with the stable error code."""
    ctx, page = new_page(browser)
    try:
        page.goto(server.base + "/")
        forged = tokens.mint(b"f" * 48, app_id=DEMO_APP_ID, identity="eve", role="agent", rooms=["*"])[0]
        expired = tokens.mint(b"f" * 48, app_id=DEMO_APP_ID, identity="eve", role="agent", rooms=["*"],
                              ttl_s=5, now=time.time() - 60)[0]
        script = """async (token) => {
          const {ShopCallClient} = await import('/static/sdk/shopcall.js');
          const c = new ShopCallClient({reconnect: false});
          try { await c.connect(token); return 'connected'; } catch (e) { return e.code || String(e); }
        }"""
        assert page.evaluate(script, forged) == "token_invalid"
        assert page.evaluate(script, expired) == "token_invalid"  # forged key: signature checked first
        real = httpx.post(server.base + "/demo/api/shopper-token", json={"name": "X"}).json()["token"]
        assert page.evaluate(script, real) == "connected"
    finally:
        ctx.close()


def _janus_pid(server) -> int | None:
    from pathlib import Path

    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().split()
        except OSError:
            continue
        if fields[1] == "(janus)" and int(fields[3]) == server.proc.pid:
            return int(fields[0])
    return None


def _open_call(server, browser):
    """Agent logs in, shopper (name given in the URL) calls, agent answers."""
    actx, agent = new_page(browser)
    sctx, shopper = new_page(browser)
    sign_in_agent(agent, server.base, "ben")
    shopper.goto(server.base + "/demo/shop")
    shopper.get_by_test_id("call-button").first.click()
    shopper.get_by_test_id("shopper-name").fill("Lea")
    shopper.get_by_test_id("start-call").click()
    agent.get_by_test_id("answer-call").first.click(timeout=15000)
    return actx, agent, sctx, shopper


def test_janus_crash_is_recovered_and_clients_republish(server, browser, shots) -> None:
    actx, agent, sctx, shopper = _open_call(server, browser)
    try:
        for page in (agent, shopper):
            st = wait_for_media(page)
            assert max(v["framesDecoded"] for v in st["video"]) > 30
        before = {"agent": inbound(agent)["pcs"], "shopper": inbound(shopper)["pcs"]}
        old = _janus_pid(server)
        assert old is not None
        import os
        import signal

        os.kill(old, signal.SIGKILL)
        deadline = time.monotonic() + 20
        new = None
        while time.monotonic() < deadline:
            new = _janus_pid(server)
            if new and new != old and httpx.get(server.base + "/healthz").json()["media"] == "ok":
                break
            time.sleep(0.2)
        assert new and new != old, "Janus was not restarted"
        # both clients were told, re-published and re-subscribed on fresh peer connections
        for who, page in (("agent", agent), ("shopper", shopper)):
            st = wait_for_media(page, timeout_s=30, since=before[who])
            assert st["pcs"] > before[who], (who, st)  # new peer connections, not the old ones
            assert max((v["framesDecoded"] for v in st["video"]), default=0) > 30, (who, st)
            assert max((a["totalSamplesReceived"] for a in st["audio"]), default=0) > 0, (who, st)
        agent.screenshot(path=shots / "11_console_after_janus_restart.png")
        assert len(server.janus_sessions()) == 2
        # the agent ends the call: nothing is left on the new Janus (closing the pages alone would be a
        # drop, whose media the server keeps for the resume grace period)
        agent.get_by_test_id("end-call").click()
    finally:
        actx.close()
        sctx.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and server.janus_sessions():
        time.sleep(0.2)
    assert server.janus_sessions() == []
