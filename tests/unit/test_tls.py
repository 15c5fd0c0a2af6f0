"""Built-in TLS: the CLI refuses unusable certificate/key files with one clear line (exit 2), a self-signed
certificate is made under the data dir, HSTS is sent only over https, and the console cookie is Secure there."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shopcall.app import create_app
from shopcall.cli import app as cli
from shopcall.config import Settings
from shopcall.media.null import NullMediaBackend
from shopcall.tls import TlsError, check_pair, ensure_self_signed, server_tls

runner = CliRunner()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SHOPCALL_CONFIG", "SHOPCALL_TLS_CERT", "SHOPCALL_TLS_KEY", "SHOPCALL_TLS_SELF_SIGNED",
                 "SHOPCALL_PUBLIC_URL", "SHOPCALL_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def _pair(folder: Path, stem: str = "op") -> tuple[Path, Path]:
    return ensure_self_signed(folder, ["shop.example"], stem=stem, common_name="test")


def _serve(tmp_path: Path, *args: str) -> tuple[int, str]:
    r = runner.invoke(cli, ["serve", "--data-dir", str(tmp_path / "data"), *args])
    return r.exit_code, r.output


def test_cli_refuses_bad_tls_files_with_one_line(tmp_path: Path) -> None:
    cert, key = _pair(tmp_path / "a", "a")
    other_cert, other_key = _pair(tmp_path / "b", "b")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    encrypted = tmp_path / "encrypted.pem"
    k = ec.generate_private_key(ec.SECP256R1())
    encrypted.write_bytes(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.BestAvailableEncryption(b"pw")))
    cases = [
        (["--tls-cert", str(tmp_path / "missing.pem"), "--tls-key", str(key)], "does not exist"),
        (["--tls-cert", str(cert), "--tls-key", str(tmp_path / "missing.pem")], "does not exist"),
        (["--tls-cert", str(tmp_path), "--tls-key", str(key)], "is not a file"),
        (["--tls-cert", str(garbage), "--tls-key", str(key)], "holds no PEM certificate"),
        (["--tls-cert", str(cert), "--tls-key", str(garbage)], "holds no PEM private key"),
        (["--tls-cert", str(cert), "--tls-key", str(encrypted)], "password-protected"),
        (["--tls-cert", str(cert), "--tls-key", str(other_key)], "does not match the certificate"),
        (["--tls-cert", str(other_cert)], "go together"),
        (["--tls-self-signed", "--tls-cert", str(cert), "--tls-key", str(key)], "not both"),
    ]
    for args, expected in cases:
        code, out = _serve(tmp_path, *args)
        assert code == 2, (args, out)
        lines = out.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and expected in lines[0], (args, out)
        assert "Traceback" not in out


def test_unreadable_key_is_a_clear_error(tmp_path: Path) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    cert, key = _pair(tmp_path)
    key.chmod(0)
    with pytest.raises(TlsError, match="cannot be read"):
        check_pair(cert, key)


def test_self_signed_is_made_under_the_data_dir_and_reused(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, tls_self_signed=True, host="0.0.0.0", public_url="https://poc.lan:8443")
    tls = server_tls(s)
    assert tls is not None and tls.self_signed and tls.cert.parent == (tmp_path / "tls").resolve()
    assert stat.S_IMODE(tls.key.stat().st_mode) == 0o600
    san = x509.load_pem_x509_certificate(tls.cert.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert {"localhost", "poc.lan"} <= set(san.get_values_for_type(x509.DNSName))
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    before = tls.cert.read_bytes()
    again = server_tls(s)
    assert again is not None and again.cert.read_bytes() == before and again.fingerprint == tls.fingerprint
    # a new name (public_url changed): made again so that it names it
    renamed = server_tls(Settings(data_dir=tmp_path, tls_self_signed=True, public_url="https://other.lan"))
    assert renamed is not None and renamed.cert.read_bytes() != before
    assert Settings(data_dir=tmp_path, tls_self_signed=True, port=8443).base_url == "https://localhost:8443"
    assert Settings(data_dir=tmp_path).base_url.startswith("http://")
    assert server_tls(Settings(data_dir=tmp_path)) is None


def _client(tmp_path: Path, scheme: str, *, demo: bool = False, client: tuple[str, int] = ("testclient", 50000),
            **kw: object) -> TestClient:
    settings = Settings(data_dir=tmp_path, media_backend="none", turn_mode="off", **kw)  # type: ignore[arg-type]
    return TestClient(create_app(settings, media=NullMediaBackend(), demo=demo), base_url=f"{scheme}://testserver",
                      client=client)


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_hsts_only_over_https(tmp_path: Path, scheme: str) -> None:
    with _client(tmp_path, scheme) as c:
        for path in ("/healthz", "/console", "/static/sdk/shopcall.js", "/v1/rooms"):
            r = c.get(path)
            if scheme == "https":
                assert r.headers["strict-transport-security"] == "max-age=31536000", path
            else:
                assert "strict-transport-security" not in r.headers, path


def test_hsts_behind_a_trusted_proxy_only_and_can_be_turned_off(tmp_path: Path) -> None:
    forwarded = {"x-forwarded-proto": "https"}
    with _client(tmp_path / "a", "http", trusted_proxies=["10.0.0.0/8"], client=("10.0.0.5", 4000)) as c:
        assert c.get("/healthz", headers=forwarded).headers["strict-transport-security"] == "max-age=31536000"
        assert "strict-transport-security" not in c.get("/healthz").headers
    with _client(tmp_path / "b", "http", trusted_proxies=["10.0.0.0/8"], client=("192.0.2.7", 4000)) as c:
        assert "strict-transport-security" not in c.get("/healthz", headers=forwarded).headers  # not a proxy
    with _client(tmp_path / "c", "https", hsts_max_age_s=0) as c:
        assert "strict-transport-security" not in c.get("/healthz").headers


def test_console_cookie_is_secure_over_a_direct_https_connection(tmp_path: Path) -> None:
    from shopcall.demo.seed import DEMO_APP_ID, DEMO_PASSWORD

    for scheme, secure in (("http", False), ("https", True)):
        with _client(tmp_path / scheme, scheme, demo=True) as c:
            r = c.post("/v1/console/login", json={"app_id": DEMO_APP_ID, "login": "anna", "password": DEMO_PASSWORD})
            assert r.status_code == 200, r.text
            cookie = r.headers["set-cookie"]
            assert ("secure" in cookie.lower().split("; ")) == secure, cookie
