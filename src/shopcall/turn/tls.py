"""A self-signed certificate for TURN over TLS when the operator gives none (development, tests).

coturn needs some certificate to open its TLS listener; whether a client accepts this one is the
client's choice (the test clients do not verify it). In production the operator gives a real one
(turn_tls_cert / turn_tls_key) for the host in the `turns:` URL. The generated one is reused across
restarts and renewed a week before it expires.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

VALID_DAYS = 365


def ensure_dev_certificate(folder: Path, hosts: list[str]) -> tuple[Path, Path]:
    """(cert, key) in `folder`, made once; names `hosts` (names or addresses) as subject alternative names."""
    cert_path, key_path = folder / "turn-dev-cert.pem", folder / "turn-dev-key.pem"
    if cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if cert.not_valid_after_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=7):
            return cert_path, key_path
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for h in dict.fromkeys(["localhost", *hosts]):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h.strip("[]"))))
        except ValueError:
            names.append(x509.DNSName(h))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ShopCall TURN (development)")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def spki_sha256(cert_path: Path) -> str:
    """Base64 SHA-256 of the certificate's public key: what Chromium's `--ignore-certificate-errors-spki-list`
    takes, so a test browser trusts exactly the development certificate and nothing else."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()
