"""The secret coturn and ShopCall share to mint and check TURN credentials.

Set `turn_secret` when several control-plane processes (or an external TURN service) must agree on it;
otherwise one is generated on first use and kept in <data_dir>/turn.secret (mode 0600), like the
token-signing key.
"""

from __future__ import annotations

import os
import secrets

from shopcall.config import Settings

MIN_LENGTH = 16


def load_turn_secret(settings: Settings) -> str:
    if settings.turn_secret is not None:
        value = settings.turn_secret.get_secret_value()
        if len(value) < MIN_LENGTH:
            raise ValueError(f"turn_secret must be at least {MIN_LENGTH} characters")
        return value
    path = settings.data_dir / "turn.secret"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it a moment ago
            return path.read_text().strip()
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    return path.read_text().strip()
