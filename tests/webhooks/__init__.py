"""A real webhook receiver for the tests: an HTTP server on a free 127.0.0.1 port that checks every
delivery with the SDK helper, like a merchant's server would."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from shopcall.sdk import WebhookVerificationError, verify_webhook


@dataclass
class Hit:
    event_id: str | None
    event_type: str | None
    answered: int
    error: str | None
    event: dict[str, Any] | None
    headers: dict[str, str]


@dataclass
class Receiver:
    """`mode`: "fail_first" answers 500 to the first attempt of each event and 200 afterwards;
    "ok" always 200; "fail" always 500. With `hold`, requests wait (up to 5 s) for `release`."""

    secret: str = ""
    mode: Literal["fail_first", "ok", "fail"] = "fail_first"
    hold: bool = False
    hits: list[Hit] = field(default_factory=list)
    arrived: int = 0  # requests received, answered or not
    release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = dict(self.headers.items())
                with receiver._lock:
                    receiver.arrived += 1
                if receiver.hold:
                    receiver.release.wait(5)
                try:
                    event: dict[str, Any] | None = verify_webhook(body, self.headers, receiver.secret)
                    error = None
                except WebhookVerificationError as e:
                    event, error = None, e.reason
                with receiver._lock:
                    seen = sum(1 for h in receiver.hits if event and h.event_id == event["id"])
                    if event is None:
                        code = 400
                    elif receiver.mode == "fail" or (receiver.mode == "fail_first" and seen == 0):
                        code = 500
                    else:
                        code = 200
                    receiver.hits.append(Hit(event and event["id"], event and event["type"], code, error, event,
                                             headers))
                payload = json.dumps({"ok": code == 200}).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128  # the default 5 drops bursts of concurrent deliveries

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the dispatcher hung up (stop() or its timeout): expected in some tests

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def close(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # ---- what was received ---------------------------------------------------------------------------------------

    def snapshot(self) -> list[Hit]:
        with self._lock:
            return list(self.hits)

    def accepted(self) -> Counter[str]:
        """Event id -> how many times it was answered 200 (i.e. delivered)."""
        return Counter(h.event_id for h in self.snapshot() if h.answered == 200 and h.event_id)

    def answers(self, event_id: str) -> list[int]:
        return [h.answered for h in self.snapshot() if h.event_id == event_id]

    def rejected(self) -> list[str]:
        return [h.error or "" for h in self.snapshot() if h.answered == 400]
