"""Generate a private Janus configuration folder from ShopCall's Settings.

ShopCall owns its Janus: it writes a fresh configuration on every start (never touching
/etc/janus), keeps every API on loopback, loads only the VideoRoom plugin and protects
the admin API and room creation with secrets that exist only in this process and that
folder (mode 0700).
"""

from __future__ import annotations

import glob
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from shopcall.config import Settings

VIDEOROOM_PLUGIN = "libjanus_videoroom.so"
KEPT_TRANSPORTS = ("libjanus_http.so", "libjanus_websockets.so")
DISABLED_TRANSPORTS = (
    "libjanus_mqtt.so",
    "libjanus_nanomsg.so",
    "libjanus_pfunix.so",
    "libjanus_rabbitmq.so",
)
DISABLED_LOGGERS = ("libjanus_jsonlog.so",)
LOOPBACK = "127.0.0.1"

JcfgValue = str | int | bool


@dataclass(frozen=True)
class JanusPorts:
    http: int
    ws: int
    admin: int


@dataclass(frozen=True)
class JanusConfig:
    """Where the generated configuration lives and how to reach the Janus it configures."""

    folder: Path
    ports: JanusPorts
    admin_secret: str
    videoroom_admin_key: str
    log_file: Path

    @property
    def main_file(self) -> Path:
        return self.folder / "janus.jcfg"

    @property
    def http_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports.http}/janus"

    @property
    def ws_url(self) -> str:
        return f"ws://{LOOPBACK}:{self.ports.ws}"

    @property
    def admin_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports.admin}/admin"

    def __repr__(self) -> str:  # keep secrets out of logs and tracebacks
        return f"JanusConfig(folder={self.folder!s}, ports={self.ports})"


def free_tcp_port(host: str = LOOPBACK) -> int:
    """A TCP port that was free a moment ago (the OS picks it; a race is possible but rare)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def choose_ports(settings: Settings) -> JanusPorts:
    """Configured ports, with 0 replaced by distinct free ones."""
    taken: set[int] = set()

    def pick(configured: int) -> int:
        if configured:
            port = configured
        else:
            port = free_tcp_port()
            while port in taken:
                port = free_tcp_port()
        taken.add(port)
        return port

    return JanusPorts(
        http=pick(settings.janus_http_port),
        ws=pick(settings.janus_ws_port),
        admin=pick(settings.janus_admin_port),
    )


def find_janus_lib_dir(binary: str) -> Path:
    """The folder holding Janus's plugins/, transports/, loggers/ and events/ subfolders."""
    candidates: list[Path] = []
    real = Path(binary).resolve()
    prefix = real.parent.parent  # /usr/bin/janus -> /usr, /opt/janus/bin/janus -> /opt/janus
    candidates += [Path(p) for p in sorted(glob.glob(str(prefix / "lib" / "*" / "janus")))]
    candidates += [prefix / "lib" / "janus", prefix / "lib64" / "janus"]
    # The binary may be a wrapper script elsewhere: fall back to the usual install places.
    for base in ("/usr", "/usr/local", "/opt/janus"):
        candidates += [Path(p) for p in sorted(glob.glob(f"{base}/lib/*/janus"))]
        candidates.append(Path(base) / "lib" / "janus")
    for c in candidates:
        if (c / "plugins" / VIDEOROOM_PLUGIN).exists():
            return c
    raise FileNotFoundError(
        f"no Janus plugin folder with {VIDEOROOM_PLUGIN} found near {real} (looked in "
        + ", ".join(str(c) for c in candidates)
        + ")"
    )


def _shared_objects(folder: Path) -> list[str]:
    # Janus loads only files whose name ends in ".so" (not the versioned .so.1 links).
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".so"))


def default_ice_interfaces(settings: Settings) -> str | None:
    """The `ice_enforce_list` to write; None leaves it unset.

    Unset means Janus gathers host candidates on every non-loopback interface that is up
    (libnice skips loopback): on a single host that is the default-route interface, whose
    address a browser on the same machine reaches directly, so loopback browser tests work,
    and interfaces that appear later (a test's veth pair) are picked up too. Setting
    `ice_interfaces` narrows this on multi-homed servers.
    """
    return settings.ice_interfaces or None


def _split_host_port(value: str, default_port: int) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if sep and port.isdigit() and host:
        return host.strip("[]"), int(port)
    return value, default_port


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_jcfg(sections: dict[str, dict[str, JcfgValue]]) -> str:
    """Janus's libconfig syntax: `section: { key = value }`."""
    out: list[str] = ["# Generated by ShopCall; rewritten on every start.\n"]
    for name, items in sections.items():
        out.append(f"{name}: {{\n")
        for key, value in items.items():
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, int):
                text = str(value)
            else:
                text = _quote(value)
            out.append(f"\t{key} = {text}\n")
        out.append("}\n")
    return "".join(out)


def write_config(
    settings: Settings,
    folder: Path,
    ports: JanusPorts,
    *,
    lib_dir: Path | None = None,
    admin_secret: str | None = None,
    log_file: Path | None = None,
    debug_level: int = 4,
) -> JanusConfig:
    """Write janus.jcfg and the VideoRoom/HTTP/WebSocket files into `folder`."""
    lib = lib_dir or find_janus_lib_dir(settings.janus_binary)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    for stale in folder.glob("*.jcfg"):
        stale.unlink()
    secret = admin_secret or secrets.token_urlsafe(24)
    room_key = secrets.token_urlsafe(24)
    log = log_file or (folder / "janus.log")

    plugins_disabled = [p for p in _shared_objects(lib / "plugins") if p != VIDEOROOM_PLUGIN]
    transports_disabled = sorted(
        set(DISABLED_TRANSPORTS)
        | {t for t in _shared_objects(lib / "transports") if t not in KEPT_TRANSPORTS}
    )
    loggers_disabled = sorted(set(DISABLED_LOGGERS) | set(_shared_objects(lib / "loggers")))

    general: dict[str, JcfgValue] = {
        "configs_folder": str(folder.resolve()),
        "plugins_folder": str(lib / "plugins"),
        "transports_folder": str(lib / "transports"),
        "events_folder": str(lib / "events"),
        "loggers_folder": str(lib / "loggers"),
        "debug_level": debug_level,
        "debug_timestamps": True,
        "admin_secret": secret,
        "server_name": "ShopCall",
        # A session is dropped after 60 s without traffic; the client pings every 25 s.
        "session_timeout": 60,
    }
    media: dict[str, JcfgValue] = {
        "rtp_port_range": f"{settings.rtp_port_min}-{settings.rtp_port_max}",
        # Report lost packets (per second, per direction) as slowlink events.
        "slowlink_threshold": 4,
    }
    if settings.nack_queue_ms:
        media["min_nack_queue"] = settings.nack_queue_ms
    nat: dict[str, JcfgValue] = {
        "nice_debug": False,
        # Browsers hide host candidates behind mDNS names Janus would try to resolve.
        "ignore_mdns": True,
        # Half-trickle: Janus puts its own candidates in its SDP, so the signalling layer
        # never needs to relay candidates from Janus to the browser.
        "full_trickle": False,
    }
    enforce = default_ice_interfaces(settings)
    if enforce:
        nat["ice_enforce_list"] = enforce
    if settings.public_ip:
        nat["nat_1_1_mapping"] = settings.public_ip
    if settings.stun_server:
        host, port = _split_host_port(settings.stun_server, 3478)
        nat["stun_server"] = host
        nat["stun_port"] = port

    main: dict[str, dict[str, JcfgValue]] = {
        "general": general,
        "certificates": {},  # a DTLS certificate is generated at start
        "media": media,
        "nat": nat,
        "plugins": {"disable": ",".join(plugins_disabled)} if plugins_disabled else {},
        "transports": {"disable": ",".join(transports_disabled)},
        "loggers": {"disable": ",".join(loggers_disabled)},
        "events": {"broadcast": False},
    }
    videoroom: dict[str, dict[str, JcfgValue]] = {
        # No static rooms: ShopCall creates them on demand. Room creation and RTP
        # forwarding need the admin key, so nothing else on this host can misuse them.
        "general": {"admin_key": room_key, "lock_rtp_forward": True},
    }
    http: dict[str, dict[str, JcfgValue]] = {
        "general": {
            "json": "compact",
            "base_path": "/janus",
            "http": True,
            "port": ports.http,
            "ip": LOOPBACK,
            "https": False,
        },
        "admin": {
            "admin_base_path": "/admin",
            "admin_http": True,
            "admin_port": ports.admin,
            "admin_ip": LOOPBACK,
            "admin_https": False,
        },
        "cors": {},
    }
    websockets: dict[str, dict[str, JcfgValue]] = {
        "general": {"json": "compact", "ws": True, "ws_port": ports.ws, "ws_ip": LOOPBACK, "wss": False},
        "admin": {"admin_ws": False, "admin_wss": False},
        "cors": {},
    }
    files = {
        "janus.jcfg": main,
        "janus.plugin.videoroom.jcfg": videoroom,
        "janus.transport.http.jcfg": http,
        "janus.transport.websockets.jcfg": websockets,
    }
    for name, sections in files.items():
        path = folder / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(render_jcfg(sections))
    return JanusConfig(
        folder=folder, ports=ports, admin_secret=secret, videoroom_admin_key=room_key, log_file=log
    )


def read_admin_endpoint(folder: Path) -> tuple[str, str]:
    """(admin URL, admin secret) of a running generated config: for operators' tools and tests."""
    import re

    http = (folder / "janus.transport.http.jcfg").read_text()
    main = (folder / "janus.jcfg").read_text()
    port = re.search(r"admin_port = (\d+)", http)
    secret = re.search(r'admin_secret = "([^"]*)"', main)
    if not port or not secret:
        raise ValueError(f"no admin endpoint in the Janus config at {folder}")
    return f"http://{LOOPBACK}:{port.group(1)}/admin", secret.group(1)
