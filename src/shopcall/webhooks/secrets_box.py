"""Secrets at rest (webhook signing secrets, CRM credentials): AES-256-GCM under a key derived from the
keyring's master key (`k1:` tokens); tokens of older versions (Fernet under a key derived from the server
signing key) are still opened, and re-sealed at start-up.

Unlike app secrets (stored as digests) these must be recoverable, because the server signs or logs in with
them. A database dump alone does not reveal them; the keys stay in the data folder / environment.
"""

from __future__ import annotations

import base64
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"shopcall webhook endpoint secrets v1"  # domain separation from the token-signing use of the key


CURRENT = "k1:"


class SecretBox:
    def __init__(self, signing_key: bytes, info: bytes = _INFO, *, master_key: bytes | None = None) -> None:
        """`info` separates uses: a box for one kind of secret cannot open another's. With `master_key` (the
        keyring's) new secrets are sealed under it; without, with the legacy signing-key-derived Fernet key."""
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(signing_key)
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))
        self._info = info
        self._aes = None if master_key is None else AESGCM(
            HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"keyring|" + info).derive(master_key))

    def encrypt(self, plaintext: str) -> str:
        if self._aes is None:
            return self._fernet.encrypt(plaintext.encode()).decode()
        nonce = secrets.token_bytes(12)
        return CURRENT + base64.urlsafe_b64encode(nonce + self._aes.encrypt(nonce, plaintext.encode(),
                                                                             self._info)).decode()

    def decrypt(self, token: str) -> str:
        """Raises ValueError if the token was made with another key (e.g. the master or signing key changed)."""
        if token.startswith(CURRENT):
            if self._aes is None:
                raise ValueError("this secret is sealed under the keyring's master key, which is not loaded")
            raw = base64.urlsafe_b64decode(token.removeprefix(CURRENT))
            try:
                return self._aes.decrypt(raw[:12], raw[12:], self._info).decode()
            except InvalidTag:
                raise ValueError("cannot decrypt the stored secret (was the master key changed?)") from None
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ValueError("cannot decrypt the stored secret (was the server signing key changed?)") from None

    def is_current(self, token: str) -> bool:
        """Whether the token is sealed the way this box seals now (else: re-seal it)."""
        return token.startswith(CURRENT) == (self._aes is not None)
