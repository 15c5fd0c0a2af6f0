"""App secrets and the server's token-signing key.

App secrets are 256-bit random strings, so a plain SHA-256 digest is as strong as a slow
password hash and cheap enough to check on every API call. The secret is shown once.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path


def new_app_secret() -> str:
    return "sk_" + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def verify_secret(secret: str, digest: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), digest)


def load_signing_key(data_dir: Path) -> bytes:
    """The HS256 key for client tokens: SHOPCALL_SIGNING_KEY, else a file made on first use.

    Several control-plane processes must share it, hence the environment override.
    """
    env = os.environ.get("SHOPCALL_SIGNING_KEY")
    if env:
        if len(env) < 32:
            raise ValueError("SHOPCALL_SIGNING_KEY must be at least 32 characters")
        return env.encode()
    path = data_dir / "signing.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()
