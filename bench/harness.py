"""Plumbing the benchmark scripts share: the baseline Janus they compare ShopCall with, a static page
server for janus.js, an asyncio loop thread for a synchronous script, a TCP forwarder into a network
namespace, and result helpers.

The ShopCall server itself is started as the browser tests start it (tests/e2e/server.py), so importing
this module also makes the repository root importable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import sys
import threading
from collections.abc import Coroutine
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for `tests.e2e` and `shopcall` from a checkout

from rich.console import Console  # noqa: E402

from shopcall.config import Settings  # noqa: E402
from shopcall.media.janus_client import VIDEOROOM, JanusAdmin  # noqa: E402
from shopcall.media.janus_config import JanusConfig, choose_ports, write_config  # noqa: E402
from shopcall.media.janus_process import JanusProcess  # noqa: E402

JANUS_JS = Path("/usr/share/javascript/janus-gateway/janus.js")
PAGES = Path(__file__).resolve().parent / "pages"

# Members of each bench page's helper object: show a remote track and time its first presented frame.
FRAME_JS = """
  /** Show `track` in `video`; resolve with performance.now() at the first presented frame. */
  firstFrame(video, track) {
    return new Promise((resolve) => {
      video.srcObject = new MediaStream([track]);
      video.requestVideoFrameCallback(() => resolve(performance.now()));
      video.play().catch(() => {});
    });
  },
  withTimeout(promise, ms, what) {
    return Promise.race([promise, new Promise((_, reject) =>
      setTimeout(() => reject(new Error(what + " within " + ms + " ms")), ms))]);
  },
"""


def percentile(xs: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); NaN without samples."""
    s = sorted(xs)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def save_json(path: Path | None, data: Any, console: Console) -> None:
    """Write the results where `--json` asked (nothing without it)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    console.print(f"wrote {path}")


class LoopThread:
    """An asyncio loop in a daemon thread, for the asyncio parts (JanusProcess, TCP forwarding) of a sync bench."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class TcpForward:
    """`listen_host:port` → `127.0.0.1:target_port`, so the namespace reaches loopback-only services.

    ShopCall's server and both Janus APIs listen on loopback only; the namespace sees the host only at
    the veth address. HTTP and WebSocket signalling cross this forwarder (TCP, never impaired by the
    UDP loss rules; a rate cap does apply to it, as on a real link).
    """

    def __init__(self, loop: LoopThread, listen_host: str, target_port: int) -> None:
        self.target_port = target_port
        self.loop = loop
        self.server: asyncio.Server = loop.run(asyncio.start_server(self._handle, listen_host, 0))
        self.port = int(self.server.sockets[0].getsockname()[1])

    async def _handle(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            tr, tw = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            w.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.close()

        await asyncio.gather(pipe(r, tw), pipe(tr, w))

    def close(self) -> None:
        self.server.close()


class StaticServer:
    """janus.js and the raw-Janus bench page over HTTP on `host` (127.0.0.1 is a secure context for
    getUserMedia; another address must be declared secure to Chromium)."""

    def __init__(self, page: str, host: str = "127.0.0.1") -> None:
        files = {"/janus.js": JANUS_JS, f"/{page}": PAGES / page}

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                path = files.get(self.path.split("?")[0])
                if path is None:
                    self.send_error(404)
                    return
                data = path.read_bytes()
                self.send_response(200)
                ctype = "text/javascript" if path.suffix == ".js" else "text/html"
                self.send_header("Content-Type", f"{ctype}; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.base = f"http://{host}:{self.httpd.server_address[1]}"
        self.page_url = f"{self.base}/{page}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="bench-static", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class BaselineJanus:
    """A Janus of its own, configured by ShopCall's config module (minus ShopCall's media tuning) and run by its
    JanusProcess: what a default deployment driven by janus.js looks like. `loop` must outlive it: Janus gets
    SIGTERM (PDEATHSIG) when the thread that started it ends."""

    def __init__(self, folder: Path, rtp_min: int, rtp_max: int, loop: LoopThread, description: str) -> None:
        # nack_queue_ms=0: Janus's own retransmission buffer, as a default deployment has it
        self.settings = Settings(data_dir=folder, rtp_port_min=rtp_min, rtp_port_max=rtp_max, nack_queue_ms=0)
        self.config: JanusConfig = write_config(self.settings, folder / "janus", choose_ports(self.settings))
        self.admin = JanusAdmin(self.config.admin_url, self.config.admin_secret)
        self.loop = loop
        self.description = description
        self.process = JanusProcess(self.settings.janus_binary, self.config)
        loop.run(self.process.start())

    @property
    def ws_url(self) -> str:
        return self.config.ws_url

    def create_room(self) -> int:
        room = secrets.randbelow(2**53 - 1) + 1
        # Janus's VideoRoom defaults (bitrate unset = Janus default), but for publishers 6 and VP8.
        self.loop.run(self.admin.message_plugin(VIDEOROOM, {
            "request": "create", "admin_key": self.config.videoroom_admin_key, "room": room,
            "permanent": False, "publishers": 6, "videocodec": "vp8", "description": self.description,
        }))
        return room

    def destroy_room(self, room: int) -> None:
        self.loop.run(self.admin.message_plugin(VIDEOROOM, {"request": "destroy", "room": room, "permanent": False}))

    def sessions(self) -> list[int]:
        return list(self.loop.run(self.admin.list_sessions()))

    def stop(self) -> None:
        self.loop.run(self.process.stop())
