"""The keyring: a master key per server and, per app, versioned key-encryption keys (KEKs) wrapped by it.

- The master key (32 random bytes) comes from `SHOPCALL_MASTER_KEY` (base64; several processes must share
  it) or `<data_dir>/master.key`, created with mode 0600 on first start. It never enters the database.
- App keys live in `app_keys`, each wrapped with AES-256-GCM under the master key (the app id and version
  are the associated data, so a wrapped key cannot be moved to another app or version). A database dump
  alone therefore opens nothing.
- Rotation (`shopcall keys rotate --app ID`) adds a version that wraps everything new; older versions stay,
  so data wrapped by them (recordings' data keys) stays readable.
"""

from __future__ import annotations

import base64
import os
import secrets
import threading
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from shopcall.db.engine import Database
from shopcall.db.models import AppKey

KEY_BYTES = 32
NONCE_BYTES = 12


class KeyNotFound(LookupError):
    """No key of that version for that app (or the master key cannot unwrap it)."""


def load_master_key(data_dir: Path) -> bytes:
    """SHOPCALL_MASTER_KEY (base64 of 32 bytes), else `<data_dir>/master.key`, generated on first use."""
    env = os.environ.get("SHOPCALL_MASTER_KEY")
    if env:
        key = base64.b64decode(env)
        if len(key) != KEY_BYTES:
            raise ValueError("SHOPCALL_MASTER_KEY must be the base64 of 32 bytes")
        return key
    path = data_dir / "master.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode())
    key = base64.b64decode(path.read_text().strip())
    if len(key) != KEY_BYTES:
        raise ValueError(f"{path} does not hold a 32-byte key")
    return key


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM: nonce + ciphertext + tag."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def unseal(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    """Raises cryptography's InvalidTag if the key, the data or the associated data is not the one sealed."""
    return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)


class Keyring:
    def __init__(self, db: Database, master_key: bytes) -> None:
        if len(master_key) != KEY_BYTES:
            raise ValueError("the master key must be 32 bytes")
        self.db = db
        self._master = master_key
        self._cache: dict[tuple[str, int], bytes] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _aad(app_id: str, version: int) -> bytes:
        return f"shopcall app key|{app_id}|{version}".encode()

    def current(self, app_id: str) -> tuple[int, bytes]:
        """(version, key) of the app's newest key, made on first use."""
        with self.db.session() as s:
            version = s.scalar(select(func.max(AppKey.version)).where(AppKey.app_id == app_id))
        if version is None:
            return self.rotate(app_id, only_if_none=True)
        return version, self.get(app_id, version)

    def get(self, app_id: str, version: int) -> bytes:
        with self._lock:
            cached = self._cache.get((app_id, version))
        if cached is not None:
            return cached
        with self.db.session() as s:
            wrapped = s.scalar(select(AppKey.wrapped).where(AppKey.app_id == app_id, AppKey.version == version))
        if wrapped is None:
            raise KeyNotFound(f"no key version {version} for app {app_id}")
        try:
            key = unseal(self._master, base64.b64decode(wrapped), self._aad(app_id, version))
        except Exception:
            raise KeyNotFound(f"the master key cannot unwrap key version {version} of app {app_id}") from None
        with self._lock:
            self._cache[(app_id, version)] = key
        return key

    def rotate(self, app_id: str, *, only_if_none: bool = False) -> tuple[int, bytes]:
        """Add a new key version for the app and return it; older versions stay for reading."""
        for _ in range(5):  # two processes rotating at once: the unique (app, version) decides, retry
            with self.db.session() as s:
                latest = s.scalar(select(func.max(AppKey.version)).where(AppKey.app_id == app_id))
            if latest is not None and only_if_none:
                return latest, self.get(app_id, latest)
            version = (latest or 0) + 1
            key = secrets.token_bytes(KEY_BYTES)
            wrapped = base64.b64encode(seal(self._master, key, self._aad(app_id, version))).decode()
            try:
                with self.db.session() as s:
                    s.add(AppKey(app_id=app_id, version=version, wrapped=wrapped))
            except IntegrityError:
                continue
            with self._lock:
                self._cache[(app_id, version)] = key
            return version, key
        raise RuntimeError(f"could not add a key version for app {app_id}")

    def versions(self, app_id: str) -> list[int]:
        with self.db.session() as s:
            return list(s.scalars(select(AppKey.version).where(AppKey.app_id == app_id).order_by(AppKey.version)))
