"""AI noise suppression (RNNoise in an AudioWorklet): a noisy speech file as the fake microphone,
and the noise energy in the speech pauses of the *received* audio, with suppression on versus off."""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.browser import launch, scripted_context

pytestmark = pytest.mark.e2e

PAGE = """<!doctype html><html><body><script type="module">
import { ShopCallClient, getLocalMedia } from "/static/sdk/shopcall.js";
window.send = async ({ token, room, suppress }) => {
  const { stream } = await getLocalMedia({ video: false, noiseSuppression: true });
  if (!stream.noiseSuppressor) throw new Error("noise suppressor did not load");
  stream.noiseSuppressor.setEnabled(suppress);
  const c = new ShopCallClient({ reconnect: false, qualityReportMs: 0 });
  window.c = c;
  await c.connect(token); await c.join(room); await c.publish(stream);
  return true;
};
window.listen = ({ token, room, seconds }) => new Promise(async (resolve, reject) => {
  const c = new ShopCallClient({ reconnect: false, qualityReportMs: 0 });
  window.c = c;
  c.on("track", ({ track }) => {
    if (track.kind !== "audio") return;
    const el = new Audio(); el.srcObject = new MediaStream([track]); el.muted = true; el.play().catch(() => {});
    const ctx = new AudioContext();
    const an = ctx.createAnalyser(); an.fftSize = 1024;
    ctx.createMediaStreamSource(new MediaStream([track])).connect(an);
    const buf = new Float32Array(an.fftSize), frames = [];
    setTimeout(() => {  // let the jitter buffer settle, then measure
      const timer = setInterval(() => {
        an.getFloatTimeDomainData(buf);
        let s = 0; for (const v of buf) s += v * v;
        frames.push(10 * Math.log10(Math.max(s / buf.length, 1e-12)));
        if (frames.length >= seconds * 50) { clearInterval(timer); resolve(frames); }
      }, 20);
    }, 1500);
  });
  try { await c.connect(token); await c.join(room); } catch (e) { reject(e); }
});
window.ready = true;
</script></body></html>"""


@pytest.fixture(scope="module")
def noisy_wav(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("audio")
    speech, noisy = d / "speech.wav", d / "noisy.wav"
    subprocess.run(["espeak-ng", "-w", str(speech), "Hello, I would like to know more about these headphones. "
                    "Do they fold flat? And how long does the battery last on a single charge?"], check=True)
    # speech with 1.5 s of silence before it and pauses in it, plus steady pink noise throughout
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(speech), "-f", "lavfi", "-i",
                    "anoisesrc=color=pink:amplitude=0.06:sample_rate=48000:duration=12", "-filter_complex",
                    "[0:a]aresample=48000,adelay=1500[s];[s][1:a]amix=inputs=2:duration=longest:normalize=0[m]",
                    "-map", "[m]", "-ac", "1", "-ar", "48000", "-t", "12", str(noisy)], check=True)
    return noisy


def _floor_and_speech(frames: list[float]) -> tuple[float, float]:
    s = sorted(frames)
    n = len(s)
    floor = statistics.mean(s[: int(n * 0.3)])  # the quietest 30 %: the pauses
    speech = statistics.mean(s[int(n * 0.9):])  # the loudest 10 %: speech
    return floor, speech


def test_rnnoise_lowers_the_noise_in_speech_pauses(server, noisy_wav: Path, artifacts) -> None:
    from playwright.sync_api import sync_playwright

    app = server.create_app("ns-test")
    results = {}
    with sync_playwright() as pw:
        browser = launch(pw, [f"--use-file-for-fake-audio-capture={noisy_wav}"])
        try:
            for suppress in (False, True):
                room = app.room(f"ns-{suppress}")
                tok = {r: app.token(room, f"{r}-{suppress}", r) for r in ("agent", "shopper")}
                pages = []
                for _ in range(2):
                    ctx = scripted_context(browser)
                    p = ctx.new_page()
                    p.goto(server.base + "/")
                    p.set_content(PAGE)
                    p.wait_for_function("window.ready === true")
                    pages.append((ctx, p))
                (sctx, sender), (rctx, receiver) = pages
                sender.evaluate("a => send(a)", {"token": tok["shopper"], "room": room, "suppress": suppress})
                frames = receiver.evaluate("a => listen(a)", {"token": tok["agent"], "room": room, "seconds": 10})
                results[suppress] = _floor_and_speech(frames)
                sctx.close()
                rctx.close()
                time.sleep(0.5)
        finally:
            browser.close()
            app.close()
    (off_floor, off_speech), (on_floor, on_speech) = results[False], results[True]
    reduction = off_floor - on_floor
    line = (f"noise in pauses: off {off_floor:.1f} dBFS, on {on_floor:.1f} dBFS -> {reduction:.1f} dB lower; "
            f"speech peaks: off {off_speech:.1f}, on {on_speech:.1f} dBFS")
    print(line)
    (artifacts / "noise_suppression.txt").write_text(line + "\n")
    assert reduction >= 10, line
    assert on_speech > on_floor + 15, line  # speech still comes through clearly above the floor
