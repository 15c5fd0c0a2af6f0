"""The real server (+ its supervised Janus) in a subprocess, as browser tests, bot tests and the
benchmarks (bench/) start it, and a merchant's REST view of it (an app's rooms and tokens)."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

START_TIMEOUT_S = 90  # a demo start with Janus takes ~5 s, but much longer on a busy shared machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base: str
    data_dir: Path
    proc: subprocess.Popen[bytes]
    log: Path
    ca: Path | None = None  # `tls=True`: the server's self-signed certificate, to verify https/wss with

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """httpx's `verify` for this server."""
        return ssl.create_default_context(cafile=str(self.ca)) if self.ca else True

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.data_dir / 'shopcall.db'}"

    def sql(self, sql: str, **params: Any) -> list[Any]:
        """Run one statement on the server's database (committed); its rows, if it returns any."""
        eng = create_engine(self.db_url)
        try:
            with eng.begin() as c:
                res = c.execute(text(sql), params)
                return list(res) if res.returns_rows else []
        finally:
            eng.dispose()

    def janus_admin(self, request: str, **extra: object) -> dict[str, Any]:
        """Ask the server's Janus through its admin API (port and secret from the generated config)."""
        from shopcall.media.janus_config import read_admin_endpoint

        url, secret = read_admin_endpoint(self.data_dir / "janus")
        r = httpx.post(url, json={"janus": request, "transaction": "t", "admin_secret": secret, **extra}, timeout=5)
        reply: dict[str, Any] = r.json()
        return reply

    def janus_sessions(self) -> list[int]:
        return list(self.janus_admin("list_sessions").get("sessions", []))

    def create_app(self, name: str) -> AppClient:
        """A new app (tenant) in the server's database, with a REST client authenticated as it."""
        from shopcall.db.engine import Database
        from shopcall.rooms.apps import create_app

        db = Database(self.db_url)
        try:
            app, secret = create_app(db, name)
        finally:
            db.dispose()
        return AppClient(self.base, (app.id, secret), verify=self.verify)


class AppClient:
    """What a merchant's backend does over REST (HTTP Basic app id : secret): create rooms, mint tokens."""

    def __init__(self, base: str, auth: tuple[str, str], verify: ssl.SSLContext | bool = True) -> None:
        self.auth = auth
        self.http = httpx.Client(base_url=base, auth=auth, timeout=10, verify=verify)

    def room(self, name: str, **fields: Any) -> str:
        r = self.http.post("/v1/rooms", json={"name": name, **fields})
        r.raise_for_status()
        return str(r.json()["id"])

    def token(self, room: str, identity: str, role: str) -> str:
        r = self.http.post("/v1/tokens", json={"identity": identity, "role": role, "rooms": [room]})
        r.raise_for_status()
        return str(r.json()["token"])

    def close(self) -> None:
        self.http.close()


def start_server(tmp: Path, *, demo: bool = True, rtp_base: int | None = None, rtp_count: int = 100,
                 port: int | None = None, env: dict[str, str] | None = None, tls: bool = False) -> Server:
    """Start `shopcall demo` (or `serve`) on a free port; return once /healthz reports its Janus ready.
    With `tls` it serves https and wss (`--tls-self-signed`; the certificate is `Server.ca`).

    Janus gets `rtp_count` RTP ports from `rtp_base` (default: a range derived from this process's PID,
    so parallel runs do not collide).
    """
    port = port or free_port()
    rtp = rtp_base if rtp_base is not None else 30000 + (os.getpid() % 200) * 100
    data = tmp / "data"
    log = tmp / "server.log"
    e = {**os.environ, "SHOPCALL_RTP_PORT_MIN": str(rtp), "SHOPCALL_RTP_PORT_MAX": str(rtp + rtp_count - 1),
         "SHOPCALL_LOG_LEVEL": "info", **(env or {})}
    e.pop("SHOPCALL_CONFIG", None)
    cmd = [sys.executable, "-m", "shopcall.cli", "demo" if demo else "serve", "--port", str(port),
           "--data-dir", str(data), *(["--tls-self-signed"] if tls else [])]
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=e)
    base = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    ca = (data / "tls" / "self-signed-cert.pem").resolve() if tls else None
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if ca is None or ca.exists():
                verify = ssl.create_default_context(cafile=str(ca)) if ca else True
                if httpx.get(base + "/healthz", timeout=1, verify=verify).json().get("media") == "ok":
                    return Server(base, data, proc, log, ca)
        except (httpx.HTTPError, ValueError, OSError):
            pass
        time.sleep(0.2)
    stop_server(proc)
    raise RuntimeError(f"server not healthy within {START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextmanager
def running_server(tmp: Path, **kw: Any) -> Iterator[Server]:
    """`start_server(tmp, **kw)`, stopped on exit."""
    s = start_server(tmp, **kw)
    try:
        yield s
    finally:
        stop_server(s.proc)
