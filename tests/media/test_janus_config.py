"""The Janus configuration ShopCall generates: loopback-only APIs, VideoRoom only, secrets kept out of repr.

Needs Debian's Janus installed (its plugin folder decides what is disabled), but does not run it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shopcall.config import Settings
from shopcall.media.janus_config import JanusPorts, find_janus_lib_dir, read_admin_endpoint, write_config


def test_generated_config(janus_settings: Settings, tmp_path: Path) -> None:
    cfg = write_config(
        janus_settings.model_copy(
            update={"public_ip": "203.0.113.7", "stun_server": "stun.example.org:3479"}
        ),
        tmp_path / "cfg",
        JanusPorts(http=18088, ws=18188, admin=17088),
    )
    main = (cfg.folder / "janus.jcfg").read_text()
    plugins = sorted(p.name for p in (find_janus_lib_dir(janus_settings.janus_binary) / "plugins").glob("*.so"))
    assert "libjanus_videoroom.so" in plugins and len(plugins) > 1
    disable_line = next(line for line in main.splitlines() if "disable" in line and "audiobridge" in line)
    for p in plugins:
        assert (p in disable_line) == (p != "libjanus_videoroom.so")
    for t in ("mqtt", "nanomsg", "pfunix", "rabbitmq"):
        assert f"libjanus_{t}.so" in main
    assert 'rtp_port_range = "41000-41999"' in main
    assert 'nat_1_1_mapping = "203.0.113.7"' in main
    assert 'stun_server = "stun.example.org"' in main and "stun_port = 3479" in main
    assert "ignore_mdns = true" in main and "broadcast = false" in main
    assert "ice_enforce_list" not in main  # default: every non-loopback interface
    assert "min_nack_queue = 1000" in main  # lost retransmissions can be repaired (Janus's default: 200 ms)
    plain = write_config(janus_settings.model_copy(update={"nack_queue_ms": 0}), tmp_path / "plain",
                         JanusPorts(http=18089, ws=18189, admin=17089))
    assert "min_nack_queue" not in plain.main_file.read_text()
    http = (cfg.folder / "janus.transport.http.jcfg").read_text()
    assert 'ip = "127.0.0.1"' in http and 'admin_ip = "127.0.0.1"' in http and "admin_http = true" in http
    ws = (cfg.folder / "janus.transport.websockets.jcfg").read_text()
    assert 'ws_ip = "127.0.0.1"' in ws and "admin_ws = false" in ws
    assert "room-" not in (cfg.folder / "janus.plugin.videoroom.jcfg").read_text()
    assert cfg.admin_secret in main and cfg.admin_secret not in repr(cfg)
    assert oct(cfg.folder.stat().st_mode & 0o777) == "0o700"


def test_admin_endpoint_is_read_back_from_the_config(janus_settings: Settings, tmp_path: Path) -> None:
    cfg = write_config(janus_settings, tmp_path / "cfg", JanusPorts(http=18090, ws=18190, admin=17090))
    assert read_admin_endpoint(cfg.folder) == ("http://127.0.0.1:17090/admin", cfg.admin_secret)
    (cfg.folder / "janus.jcfg").write_text("general: {}\n")
    with pytest.raises(ValueError, match="no admin endpoint"):
        read_admin_endpoint(cfg.folder)
