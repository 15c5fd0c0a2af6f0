"""Real server (+ its supervised Janus) in a subprocess, and headless Debian Chromium."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    base: str
    data_dir: Path
    proc: subprocess.Popen[bytes]
    log: Path

    def janus_admin(self, request: str, **extra: object) -> dict:
        """Ask the server's Janus through its admin API (port and secret from the generated config)."""
        from shopcall.media.janus_config import read_admin_endpoint

        url, secret = read_admin_endpoint(self.data_dir / "janus")
        r = httpx.post(url, json={"janus": request, "transaction": "t", "admin_secret": secret, **extra}, timeout=5)
        return r.json()


def start_server(tmp: Path, *, demo: bool = True, env: dict[str, str] | None = None) -> Server:
    port = free_port()
    rtp = 30000 + (os.getpid() % 200) * 100
    data = tmp / "data"
    log = tmp / "server.log"
    e = {**os.environ, "SHOPCALL_RTP_PORT_MIN": str(rtp), "SHOPCALL_RTP_PORT_MAX": str(rtp + 99),
         "SHOPCALL_LOG_LEVEL": "info", **(env or {})}
    e.pop("SHOPCALL_CONFIG", None)
    cmd = [sys.executable, "-m", "shopcall.cli", "demo" if demo else "serve", "--port", str(port),
           "--data-dir", str(data)]
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=e)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(base + "/healthz", timeout=1).json().get("media") == "ok":
                return Server(base, data, proc, log)
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    stop_server(proc)
    raise RuntimeError(f"server not healthy within 40 s:\n{log.read_text()[-3000:]}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = start_server(tmp_path_factory.mktemp("server"))
    try:
        yield s
    finally:
        stop_server(s.proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
