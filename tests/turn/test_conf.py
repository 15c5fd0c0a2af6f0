"""turnserver.conf generation: what it enforces, where it goes, and port checks."""

from __future__ import annotations

import ipaddress
import socket
import stat
from pathlib import Path

import pytest

from shopcall.config import Settings
from shopcall.turn.conf import (
    TurnConfig,
    TurnPortBusy,
    check_ports_free,
    choose_ports,
    port_is_free,
    read_ports,
    render,
    write_config,
)


def _config(tmp_path: Path, **kw: object) -> TurnConfig:
    values: dict[str, object] = {"folder": tmp_path / "turn", "port": 3478, "tls_port": 5349, "listen_ips": (),
                                 "peers": (ipaddress.ip_network("192.0.2.2"), ipaddress.ip_network("10.88.0.0/24")),
                                 "relay_ips": ("192.0.2.2",), "secret": "s3cret-s3cret-s3cret", **kw}
    return TurnConfig(**values)  # type: ignore[arg-type]


def _lines(tmp_path: Path, config: TurnConfig) -> list[str]:
    return render(config, Settings(data_dir=tmp_path), Path("/c.pem"), Path("/k.pem")).splitlines()


def test_not_an_open_relay(tmp_path: Path) -> None:
    lines = _lines(tmp_path, _config(tmp_path))
    assert "denied-peer-ip=0.0.0.0-255.255.255.255" in lines
    assert "denied-peer-ip=::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" in lines
    assert [ln for ln in lines if ln.startswith("allowed-peer-ip")] == [
        "allowed-peer-ip=192.0.2.2", "allowed-peer-ip=10.88.0.0-10.88.0.255"]
    for flag in ("no-tcp-relay", "no-multicast-peers", "use-auth-secret", "no-cli", "fingerprint"):
        assert flag in lines
    assert not any("loopback" in ln for ln in lines)  # coturn refuses loopback peers unless allow-loopback-peers


def test_ports_relay_range_listeners_and_secret(tmp_path: Path) -> None:
    config = _config(tmp_path, listen_ips=("10.77.0.1", "127.0.0.1"))
    lines = _lines(tmp_path, config)
    assert {"listening-port=3478", "tls-listening-port=5349", "min-port=50000", "max-port=51999",
            "listening-ip=10.77.0.1", "listening-ip=127.0.0.1", "relay-ip=192.0.2.2",
            "static-auth-secret=s3cret-s3cret-s3cret", "cert=/c.pem", "pkey=/k.pem"} <= set(lines)
    assert "s3cret" not in repr(config)
    assert config.probe_host == "127.0.0.1"
    assert _config(tmp_path, listen_ips=("10.77.0.1",)).probe_host == "10.77.0.1"


def test_written_privately_under_the_data_dir(tmp_path: Path) -> None:
    config = _config(tmp_path)
    write_config(config, Settings(data_dir=tmp_path), Path("/c.pem"), Path("/k.pem"))
    assert config.conf_file == tmp_path / "turn" / "turnserver.conf"
    assert stat.S_IMODE(config.conf_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.folder.stat().st_mode) == 0o700
    text = config.conf_file.read_text()
    assert f"log-file={config.log_file}" in text and f"userdb={config.folder / 'turndb'}" in text
    assert read_ports(config.folder) == (3478, 5349)


def test_zero_picks_two_distinct_free_ports(tmp_path: Path) -> None:
    port, tls = choose_ports(Settings(data_dir=tmp_path, turn_port=0, turn_tls_port=0))
    assert port != tls and port_is_free(port) and port_is_free(tls)
    assert choose_ports(Settings(data_dir=tmp_path)) == (3478, 5349)


@pytest.mark.parametrize("kind", [socket.SOCK_DGRAM, socket.SOCK_STREAM])
def test_a_busy_port_is_reported_not_shared(tmp_path: Path, kind: int) -> None:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        if kind == socket.SOCK_STREAM:
            s.listen()
        busy = s.getsockname()[1]
        with pytest.raises(TurnPortBusy, match=f"TURN port {busy} on 0.0.0.0 is in use"):
            check_ports_free(_config(tmp_path, port=busy))
