"""Recording with consent: a real call recorded ~10 s, stored encrypted, composite verified with ffprobe after
download through the API, played in the console;
a shopper who refuses is not recorded at all."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest

from tests.e2e.browser import new_page
from tests.e2e.journeys import answer_call, sign_in_agent, start_call
from tests.e2e.polling import wait_until

pytestmark = pytest.mark.e2e


def _call(browser, server, agent_id: str):
    actx, agent = new_page(browser, 1366, 860)
    sctx, shopper = new_page(browser, 1280, 800)
    sign_in_agent(agent, server.base, agent_id)
    start_call(shopper, server.base, customer="cus_1002")
    answer_call(agent, shopper)
    return actx, sctx, agent, shopper


def _latest_recording(server) -> tuple:
    rows = server.sql("select id, status, duration_s, storage_key, steps, error from recordings "
                      "order by started_at desc limit 1")
    return rows[0] if rows else None


def _wait_processed(server, what: str) -> tuple:
    """The latest recording once its worker is done with it (ready or failed)."""
    return wait_until(lambda: (r := _latest_recording(server)) and r[1] in ("ready", "failed") and r, 120, what,
                      every=0.5)


def test_recorded_call_is_composited_verified_and_played_back(server, browser, shots) -> None:
    actx, sctx, agent, shopper = _call(browser, server, "anna")
    try:
        t_start = time.monotonic()
        agent.get_by_test_id("toggle-record").click()
        shopper.get_by_test_id("consent-prompt").wait_for(timeout=10000)
        shopper.screenshot(path=shots / "01_shop_consent.png")
        shopper.get_by_test_id("consent-allow").click()
        for p in (agent, shopper):
            p.get_by_test_id("recording-indicator").wait_for(timeout=5000)
        shopper.get_by_test_id("toggle-chat").click()
        shopper.get_by_test_id("chat-input").fill("Can you show the back panel?")
        shopper.get_by_test_id("chat-send").click()
        agent.screenshot(path=shots / "02_console_recording.png")
        time.sleep(10)
        agent.get_by_test_id("toggle-record").click()
        clicked_s = time.monotonic() - t_start  # what the agent recorded, as seen from here
        wait_until(lambda: not shopper.get_by_test_id("recording-indicator").is_visible(), 10, "indicator off")
        rec = _wait_processed(server, "the composite")
        rec_id, status, duration, key, steps, error = rec
        assert status == "ready", (error, steps)
        assert duration >= 10 and abs(duration - clicked_s) <= 1.5, (duration, clicked_s)
        feeds = json.loads(steps)["record"]["feeds"]
        assert len(feeds) == 2  # agent and shopper cameras
        stored = server.data_dir / "recordings" / key
        # encrypted at rest (docs/security.md): the stored object is no media; the API serves the MP4
        assert subprocess.run(["ffprobe", "-v", "error", str(stored)], capture_output=True).returncode != 0
        played = agent.request.get(f"{server.base}/v1/console/recordings/{rec_id}/media?download=true")
        assert played.status == 200
        path = server.data_dir / f"played-{rec_id}.mp4"
        path.write_bytes(played.body())
        probe = json.loads(subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_type,width", "-of", "json",
             str(path)], capture_output=True, text=True, check=True).stdout)
        kinds = [s["codec_type"] for s in probe["streams"]]
        assert "video" in kinds and "audio" in kinds
        assert abs(float(probe["format"]["duration"]) - duration) <= 1.0
        # Chromium sends redundant audio (RED) through Janus: the mixed track must be the fake
        # microphone's beeps, not the silence or noise of RED packets decoded as plain Opus.
        vol = subprocess.run(["ffmpeg", "-nostats", "-i", str(path), "-map", "0:a", "-af", "volumedetect",
                              "-f", "null", "-"], capture_output=True, text=True, check=True).stderr
        max_db = float(re.search(r"max_volume: (-?[\d.]+) dB", vol).group(1))
        mean_db = float(re.search(r"mean_volume: (-?[\d.]+) dB", vol).group(1))
        print(f"recorded audio: max {max_db} dB, mean {mean_db} dB")
        assert max_db > -20 and mean_db > -50, (max_db, mean_db)
        assert not (server.data_dir / "recordings-raw" / rec_id).exists()  # originals gone after verification
        consent = server.sql("select identity, decision from consent_decisions where recording_id = :r", r=rec_id)
        assert consent == [("cus_1002", "granted")]

        agent.get_by_test_id("end-call").click()
        agent.goto(f"{server.base}/console/recordings/{rec_id}")
        agent.wait_for_function("() => { const v = document.querySelector('[data-testid=playback]');"
                                " return v && v.readyState >= 1 && v.duration > 9; }", timeout=20000)
        assert agent.get_by_test_id("timeline-item").filter(has_text="back panel").count() == 1
        agent.evaluate("() => { const v = document.querySelector('[data-testid=playback]'); v.currentTime = 4; }")
        time.sleep(1)
        agent.screenshot(path=shots / "03_console_playback.png")
    finally:
        actx.close()
        sctx.close()


def test_a_refusing_shopper_is_not_recorded(server, browser) -> None:
    actx, sctx, agent, shopper = _call(browser, server, "ben")
    try:
        shopper_pid = shopper.evaluate("window.ShopCall.client.pid")
        agent_pid = agent.evaluate("window.shopcall.client.pid")
        agent.get_by_test_id("toggle-record").click()
        shopper.get_by_test_id("consent-prompt").wait_for(timeout=10000)
        shopper.get_by_test_id("consent-refuse").click()
        agent.get_by_test_id("call-error").filter(has_text="not recorded").wait_for(timeout=5000)
        time.sleep(4)
        agent.get_by_test_id("toggle-record").click()
        rec = _wait_processed(server, "processing")
        rec_id, status, _duration, _key, steps, error = rec
        assert status == "ready", (error, steps)
        feeds = json.loads(steps)["record"]["feeds"]
        assert feeds == [agent_pid] and shopper_pid not in feeds
        assert server.sql("select decision from consent_decisions where recording_id = :r", r=rec_id) == \
            [("refused",)]
        agent.get_by_test_id("end-call").click()
    finally:
        actx.close()
        sctx.close()
