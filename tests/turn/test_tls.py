"""The development certificate for TURN over TLS."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

from cryptography import x509

from shopcall.turn.tls import ensure_dev_certificate, spki_sha256


def test_names_the_hosts_is_private_and_reused(tmp_path: Path) -> None:
    cert_path, key_path = ensure_dev_certificate(tmp_path, ["127.0.0.1", "turn.example", "fd00::2"])
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"localhost", "turn.example"}
    assert set(san.get_values_for_type(x509.IPAddress)) == {ipaddress.ip_address("127.0.0.1"),
                                                            ipaddress.ip_address("fd00::2")}
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    before = cert_path.read_bytes()
    assert ensure_dev_certificate(tmp_path, ["127.0.0.1"]) == (cert_path, key_path)
    assert cert_path.read_bytes() == before


def test_spki_pin_matches_openssl(tmp_path: Path) -> None:
    import base64
    import subprocess

    cert_path, _ = ensure_dev_certificate(tmp_path, [])
    pub = subprocess.run(["openssl", "x509", "-in", str(cert_path), "-pubkey", "-noout"], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub, check=True,
                         capture_output=True).stdout
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=der, check=True,
                            capture_output=True).stdout
    assert spki_sha256(cert_path) == base64.b64encode(digest).decode()
