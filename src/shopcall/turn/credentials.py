"""TURN REST API credentials (coturn `use-auth-secret`): nothing is stored per client.

The user name carries its own expiry (`expiry:identity`) and the password is an HMAC of the user name
under a secret shared with the TURN server, so any TURN server holding the secret can check them, and
they stop working when the client's token does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass


@dataclass(frozen=True)
class TurnCredential:
    username: str
    password: str
    expires_at: int

    def __repr__(self) -> str:  # keep the password out of logs and tracebacks
        return f"TurnCredential(username={self.username!r}, expires_at={self.expires_at})"


def mint(secret: str, identity: str, expires_at: int) -> TurnCredential:
    """Credentials for `identity` valid until `expires_at` (Unix seconds)."""
    if not secret:
        raise ValueError("the TURN secret is empty")
    if expires_at <= 0:
        raise ValueError(f"expires_at must be a Unix time in seconds, got {expires_at}")
    username = f"{int(expires_at)}:{identity}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredential(username=username, password=base64.b64encode(digest).decode(), expires_at=int(expires_at))
