"""TURN as the rest of ShopCall sees it: a mode, a health state, and `ice_servers` for each client.

`create_app` builds one `TurnService`, starts and stops it with the app, hands `ice_servers` to the
signalling hub (which does not import this package) and `state` to /healthz.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
from pathlib import Path
from typing import Any, Literal

from shopcall.config import Settings
from shopcall.turn.conf import TurnConfig, choose_ports, write_config
from shopcall.turn.credentials import mint
from shopcall.turn.peers import allowed_peers, list_interfaces, media_addresses
from shopcall.turn.process import TurnProcess
from shopcall.turn.secret import load_turn_secret
from shopcall.turn.tls import ensure_dev_certificate
from shopcall.turn.urls import choose_host, host_from_header, ice_server_entry, managed_urls

log = logging.getLogger(__name__)

Mode = Literal["managed", "external", "off"]
State = Literal["ok", "down", "off", "external"]


def resolve_mode(settings: Settings) -> Mode:
    """'auto' is managed where it can work (coturn installed, real media), else off."""
    if settings.turn_mode != "auto":
        return settings.turn_mode
    if settings.media_backend == "janus" and os.access(settings.turn_binary, os.X_OK):
        return "managed"
    return "off"


class TurnService:
    def __init__(self, settings: Settings, *, folder: Path | None = None) -> None:
        self.settings = settings
        self.mode: Mode = resolve_mode(settings)
        self.folder = folder or settings.data_dir / "turn"
        self._secret = load_turn_secret(settings) if self.mode != "off" else ""
        self.process: TurnProcess | None = None
        self.config: TurnConfig | None = None
        self._fallback_host = settings.host

    def _prepare(self) -> TurnConfig:
        """Ports, peers, certificate and turnserver.conf (blocking: run in a thread)."""
        s = self.settings
        interfaces = list_interfaces()
        media = media_addresses(s, interfaces)
        if self._fallback_host in ("", "0.0.0.0", "::") and media:
            self._fallback_host = str(media[0])
        port, tls_port = choose_ports(s)
        listen = tuple(str(ipaddress.ip_address(ip.strip("[]"))) for ip in s.turn_listen_ips)
        local = {a for i in interfaces for a in i.addresses}
        relay = tuple(str(a) for a in media if a in local)
        config = TurnConfig(folder=self.folder, port=port, tls_port=tls_port, listen_ips=listen,
                            peers=tuple(allowed_peers(s, interfaces)), relay_ips=relay, secret=self._secret)
        if s.turn_tls_cert is not None and s.turn_tls_key is not None:
            cert, key = s.turn_tls_cert.resolve(), s.turn_tls_key.resolve()
            for p in (cert, key):
                if not p.is_file():
                    raise FileNotFoundError(f"TURN TLS file {p} does not exist")
        else:
            hosts = ["127.0.0.1", *listen, *(str(a) for a in media)]
            if s.turn_public_host:
                hosts.insert(0, s.turn_public_host)
            cert, key = ensure_dev_certificate(self.folder, hosts)
        write_config(config, s, cert, key)
        return config

    async def start(self) -> None:
        if self.mode != "managed":
            log.info("turn mode %s", self.mode)
            return
        self.config = await asyncio.to_thread(self._prepare)
        if self.config.peers:
            log.info("turn peers allowed: %s", ", ".join(str(n) for n in self.config.peers))
        else:  # e.g. ice_interfaces = lo: a browser on this host reaches such candidates directly, not via TURN
            log.warning("turn has no media address to relay to (loopback is never relayed); set ice_interfaces, "
                        "public_ip or turn_peer_ips")
        self.process = TurnProcess(self.settings.turn_binary, self.config)
        await self.process.start()

    async def stop(self) -> None:
        if self.process is not None:
            await self.process.stop()

    async def state(self) -> State:
        if self.mode == "off":
            return "off"
        if self.mode == "external":
            return "external"
        return "ok" if self.process is not None and await self.process.healthy() else "down"

    def urls(self, host_header: str | None) -> list[str]:
        if self.mode == "external":
            return list(self.settings.turn_urls)
        if self.mode == "off" or self.config is None:
            return []
        host = choose_host(self.settings.turn_public_host, host_from_header(host_header), self._fallback_host)
        return managed_urls(host, self.config.port, self.config.tls_port)

    def ice_servers(self, identity: str, expires_at: int, host: str | None) -> list[dict[str, Any]]:
        """The `ice_servers` for one client: credentials that expire with its token."""
        urls = self.urls(host)
        if not urls:
            return []
        return [ice_server_entry(urls, mint(self._secret, identity, expires_at))]
