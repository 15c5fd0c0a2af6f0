"""A self-signed certificate for TURN over TLS when the operator gives none (development, tests).

coturn needs some certificate to open its TLS listener; whether a client accepts this one is the
client's choice (the test clients do not verify it). In production the operator gives a real one
(turn_tls_cert / turn_tls_key) for the host in the `turns:` URL. The generated one is reused across
restarts and renewed a week before it expires (shopcall.tls makes it, as it makes the HTTPS server's).
"""

from __future__ import annotations

from pathlib import Path

from shopcall.tls import VALID_DAYS, ensure_self_signed, spki_sha256

__all__ = ["VALID_DAYS", "ensure_dev_certificate", "spki_sha256"]


def ensure_dev_certificate(folder: Path, hosts: list[str]) -> tuple[Path, Path]:
    """(cert, key) in `folder`, made once; names `hosts` (names or addresses) as subject alternative names."""
    return ensure_self_signed(folder, hosts, stem="turn-dev", common_name="ShopCall TURN (development)")
