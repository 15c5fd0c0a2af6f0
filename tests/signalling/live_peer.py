"""A signalling client on a real server that keeps the heartbeat: it answers the server's pings while
a test waits for a frame, remembers the newest resume token, and can close cleanly or just go silent."""

from __future__ import annotations

import time
from typing import Any

from tests.signalling.server import LiveServer, RawClient


class Peer:
    def __init__(self, srv: LiveServer, *, token: str | None = None, resume: str | None = None,
                 heartbeat: bool = True) -> None:
        self.raw = RawClient(srv.url, rcvbuf=65536)
        self.seen: list[dict[str, Any]] = []
        self.resume_token: str | None = None
        hello: dict[str, Any] = {"type": "hello", "id": "h", "heartbeat": heartbeat}
        if token is not None:
            hello["token"] = token
        if resume is not None:
            hello["resume"] = resume
        self.raw.send(hello)
        reply = self.wait_for("welcome", "error", timeout=10)
        assert reply is not None, "no reply to hello"
        self.welcome = reply

    def send(self, msg: dict[str, Any]) -> None:
        self.raw.send(msg)

    def wait_for(self, *types: str, timeout: float = 10, re: str | None = None) -> dict[str, Any] | None:
        """The first frame of one of `types` (with `re` if given) within `timeout`, answering pings meanwhile."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                m = self.raw.recv(timeout=left)
            except (TimeoutError, ConnectionError):
                return None
            self.seen.append(m)
            if m["type"] == "ping":
                self.raw.send({"type": "pong"})
            elif m["type"] == "resume_token":
                self.resume_token = m["token"]
            if m["type"] in types and (re is None or m.get("re") == re):
                return m
        return None

    def request(self, msg: dict[str, Any], reply: str, timeout: float = 10) -> dict[str, Any]:
        msg = {"id": f"r{len(self.seen)}", **msg}
        self.raw.send(msg)
        m = self.wait_for(reply, "error", timeout=timeout, re=msg["id"])
        assert m is not None, f"no reply to {msg['type']}"
        return m

    def keep_alive(self, seconds: float) -> None:
        """Answer pings (and collect frames) for a while."""
        self.wait_for("never", timeout=seconds)

    def types(self) -> list[str]:
        return [m["type"] for m in self.seen]

    def close_cleanly(self, code: int = 1000) -> None:
        self.raw.proto.send_close(code)
        self.raw._flush()
        time.sleep(0.1)
        self.raw.close()

    def drop(self) -> None:
        """The network goes: no close frame."""
        self.raw.close()

