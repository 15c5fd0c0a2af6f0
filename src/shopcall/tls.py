"""TLS certificates: checking the operator's certificate and key before the server starts, and generating a
self-signed one (the HTTPS server's for a LAN proof of concept, coturn's for TURN over TLS in development).

`shopcall serve --tls-cert PATH --tls-key PATH` serves https and wss with the operator's certificate;
`--tls-self-signed` makes one under `<data_dir>/tls/` naming localhost, this host's name and addresses (and
the public_url's host), reused across restarts. Browsers warn about a self-signed certificate until it is
accepted (or trusted); that is for trying ShopCall on a LAN, not for shoppers.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import os
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

if TYPE_CHECKING:
    from shopcall.config import Settings

VALID_DAYS = 365
RENEW_BEFORE = dt.timedelta(days=7)
SERVER_FOLDER = "tls"
SERVER_STEM = "self-signed"


class TlsError(Exception):
    """A certificate or key the server cannot use; the message is one line for the operator."""


@dataclass(frozen=True)
class ServerTls:
    cert: Path
    key: Path
    self_signed: bool
    not_after: dt.datetime
    fingerprint: str  # SHA-256 of the certificate, hex with colons (as browsers show it)


def _san(cert: x509.Certificate) -> set[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return set(san.get_values_for_type(x509.DNSName)) | {str(a) for a in san.get_values_for_type(x509.IPAddress)}


def _name(host: str) -> tuple[str, x509.GeneralName]:
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
        return str(ip), x509.IPAddress(ip)
    except ValueError:
        return host.lower(), x509.DNSName(host.lower())


def ensure_self_signed(folder: Path, hosts: list[str], *, stem: str, common_name: str,
                       cover_hosts: bool = False) -> tuple[Path, Path]:
    """(`<stem>-cert.pem`, `<stem>-key.pem`) in `folder`, made once and renewed a week before expiry; names
    localhost and `hosts` (names or addresses) as subject alternative names. With `cover_hosts` it is also made
    again when it does not name every one of `hosts` (this host got a new address)."""
    cert_path, key_path = folder / f"{stem}-cert.pem", folder / f"{stem}-key.pem"
    names = dict(_name(h) for h in ["localhost", *hosts] if h.strip("[]"))
    if cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        fresh = cert.not_valid_after_utc > dt.datetime.now(dt.UTC) + RENEW_BEFORE
        if fresh and (not cover_hosts or set(names) <= _san(cert)):
            return cert_path, key_path
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(list(names.values())), critical=False)
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
    takes, so a test browser trusts exactly that certificate and nothing else."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def _read(path: Path, what: str) -> bytes:
    if not path.exists():
        raise TlsError(f"TLS {what} file {path} does not exist")
    if not path.is_file():
        raise TlsError(f"TLS {what} file {path} is not a file")
    try:
        return path.read_bytes()
    except OSError as e:
        raise TlsError(f"TLS {what} file {path} cannot be read: {e.strerror or e}") from None


def check_pair(cert_path: Path, key_path: Path) -> x509.Certificate:
    """The leaf certificate of `cert_path` (PEM, a chain allowed) after checking that both files are readable
    PEM, the key is not password-protected and belongs to the certificate; raises TlsError otherwise."""
    cert_pem, key_pem = _read(cert_path, "certificate"), _read(key_path, "key")
    try:
        chain = x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        raise TlsError(f"TLS certificate file {cert_path} holds no PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        raise TlsError(f"TLS key file {key_path} is password-protected; give an unencrypted key "
                       "(e.g. `openssl pkey -in KEY -out KEY.plain`), readable only by the server's user") from None
    except Exception as e:  # noqa: BLE001 - any parse failure is the operator's file
        raise TlsError(f"TLS key file {key_path} holds no PEM private key ({type(e).__name__})") from None
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, pub) != chain[0].public_key().public_bytes(der, pub):
        raise TlsError(f"TLS key {key_path} does not match the certificate {cert_path} (the first certificate "
                       "in the file must be the server's own)")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:  # what uvicorn will do with them
        ctx.load_cert_chain(str(cert_path), str(key_path), password=lambda: b"")
    except (ssl.SSLError, OSError) as e:
        raise TlsError(f"TLS certificate {cert_path} with key {key_path} is refused by OpenSSL: {e}") from None
    return chain[0]


def local_hosts(settings: Settings, addresses: Iterable[str] = ()) -> list[str]:
    """What a self-signed server certificate should name: this host's name and `addresses` (the caller lists the
    interfaces), the bind address and public_url's host (localhost is always named)."""
    hosts = ["127.0.0.1", "::1", socket.gethostname(), *addresses]
    if settings.host not in ("", "0.0.0.0", "::"):
        hosts.append(settings.host)
    if settings.public_url:
        hosts.append(urlsplit(settings.public_url).hostname or "")
    return [h for h in dict.fromkeys(hosts) if h]


def server_tls(settings: Settings, addresses: Iterable[str] = ()) -> ServerTls | None:
    """The HTTPS server's certificate and key per settings (tls_cert/tls_key, or tls_self_signed: naming
    local_hosts(settings, addresses)), checked; None without TLS. Raises TlsError with a one-line message."""
    if settings.tls_self_signed and (settings.tls_cert or settings.tls_key):
        raise TlsError("give either --tls-cert/--tls-key or --tls-self-signed, not both")
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise TlsError("--tls-cert and --tls-key go together (SHOPCALL_TLS_CERT / SHOPCALL_TLS_KEY): give both")
    if settings.tls_cert is not None and settings.tls_key is not None:
        cert_path, key_path, self_signed = settings.tls_cert.resolve(), settings.tls_key.resolve(), False
    elif settings.tls_self_signed:
        try:
            cert_path, key_path = ensure_self_signed(settings.data_dir.resolve() / SERVER_FOLDER,
                                                     local_hosts(settings, addresses), stem=SERVER_STEM,
                                                     common_name="ShopCall (self-signed)", cover_hosts=True)
        except (OSError, ValueError) as e:
            raise TlsError(f"cannot make a self-signed certificate in {settings.data_dir / SERVER_FOLDER}: {e}") \
                from None
        self_signed = True
    else:
        return None
    cert = check_pair(cert_path, key_path)
    fingerprint = cert.fingerprint(hashes.SHA256()).hex(":").upper()
    return ServerTls(cert_path, key_path, self_signed, cert.not_valid_after_utc, fingerprint)
