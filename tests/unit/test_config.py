from pathlib import Path

import pytest
from pydantic import ValidationError

from shopcall.config import Settings, load_settings


def test_defaults(monkeypatch) -> None:
    for k in ("SHOPCALL_CONFIG", "SHOPCALL_PORT", "SHOPCALL_DATA_DIR", "SHOPCALL_DATABASE_URL"):
        monkeypatch.delenv(k, raising=False)
    s = load_settings()
    assert s.port == 8080 and s.host == "127.0.0.1"
    assert s.db_url.startswith("sqlite:///") and s.db_url.endswith("data/shopcall.db")
    assert s.base_url == "http://localhost:8080"
    assert (s.rtp_port_min, s.rtp_port_max) == (20000, 20999)


def test_env_overrides_toml_and_toml_overrides_defaults(tmp_path: Path, monkeypatch) -> None:
    cfg = tmp_path / "shopcall.toml"
    cfg.write_text('[shopcall]\nport = 9000\npublic_ip = "203.0.113.7"\nrtp_port_min = 30000\n'
                   'rtp_port_max = 30100\n')
    monkeypatch.setenv("SHOPCALL_CONFIG", str(cfg))
    s = load_settings()
    assert (s.port, s.public_ip, s.rtp_port_min) == (9000, "203.0.113.7", 30000)
    monkeypatch.setenv("SHOPCALL_PORT", "9100")
    assert load_settings().port == 9100
    assert load_settings(port=9200).port == 9200


def test_invalid_values_are_explained(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("SHOPCALL_PORT", "99999")
    with pytest.raises(ValidationError, match="port"):
        load_settings()
    monkeypatch.delenv("SHOPCALL_PORT")
    with pytest.raises(ValidationError, match="rtp_port_max"):
        Settings(rtp_port_min=30000, rtp_port_max=29000)
    monkeypatch.setenv("SHOPCALL_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(FileNotFoundError):
        load_settings()


def test_unknown_toml_key_rejected(tmp_path: Path, monkeypatch) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("prot = 1\n")
    monkeypatch.setenv("SHOPCALL_CONFIG", str(cfg))
    with pytest.raises(ValidationError, match="prot"):
        load_settings()
