"""CRM credentials at rest: the secret fields of a stored CRM configuration are encrypted like webhook secrets.

A stored value is `enc:v1:<token>` (`k1:` tokens under the keyring's master key; older Fernet tokens under a
key derived from the signing key); a plain value is a row from before encryption. Plain and older values
are still accepted on read and re-sealed on the next read or at start-up (`CrmConnectors`). A database dump
alone reveals nothing.
"""

from __future__ import annotations

from typing import Any

from shopcall.webhooks.secrets_box import SecretBox

SECRET_FIELDS = ("access_token", "consumer_key", "consumer_secret", "token")
PREFIX = "enc:v1:"
_INFO = b"shopcall crm credentials v1"


class CrmCredentials:
    def __init__(self, signing_key: bytes, master_key: bytes | None = None) -> None:
        self._box = SecretBox(signing_key, info=_INFO, master_key=master_key)

    def seal(self, config: dict[str, Any]) -> dict[str, Any]:
        """A copy with every secret field encrypted (already encrypted ones unchanged)."""
        out = dict(config)
        for key in SECRET_FIELDS:
            value = out.get(key)
            if isinstance(value, str) and not value.startswith(PREFIX):
                out[key] = PREFIX + self._box.encrypt(value)
        return out

    def open(self, config: dict[str, Any]) -> dict[str, Any]:
        """A copy with the secrets in clear, for building a connector. Raises ValueError on a wrong key."""
        out = dict(config)
        for key in SECRET_FIELDS:
            value = out.get(key)
            if isinstance(value, str) and value.startswith(PREFIX):
                out[key] = self._box.decrypt(value.removeprefix(PREFIX))
        return out

    @staticmethod
    def has_plaintext(config: dict[str, Any]) -> bool:
        return any(isinstance(v := config.get(k), str) and not v.startswith(PREFIX) for k in SECRET_FIELDS)

    def needs_reseal(self, config: dict[str, Any]) -> bool:
        """A secret in clear, or sealed under an older key."""
        return self.has_plaintext(config) or any(
            isinstance(v := config.get(k), str) and not self._box.is_current(v.removeprefix(PREFIX))
            for k in SECRET_FIELDS)

    def reseal(self, config: dict[str, Any]) -> dict[str, Any]:
        opened = self.open(config)
        return self.seal(opened)
