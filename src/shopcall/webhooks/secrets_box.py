"""Secrets at rest (webhook signing secrets, CRM credentials): Fernet with a key derived from the server key.

Unlike app secrets (stored as digests) these must be recoverable, because the server signs or logs in with
them. A database dump alone does not reveal them; the key stays in the data folder / environment.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"shopcall webhook endpoint secrets v1"  # domain separation from the token-signing use of the key


class SecretBox:
    def __init__(self, signing_key: bytes, info: bytes = _INFO) -> None:
        """`info` separates uses: a box for one kind of secret cannot open another's."""
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(signing_key)
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Raises ValueError if the token was made with another key (e.g. SHOPCALL_SIGNING_KEY changed)."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ValueError("cannot decrypt the stored secret (was the server signing key changed?)") from None
