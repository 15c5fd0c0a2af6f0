"""Recordings encrypted at rest: AES-256-GCM envelope encryption in independent chunks, behind the
`RecordingStorage` interface, so the worker, playback, export and retention need no change.

Stored object = MAGIC, header length (2 bytes), JSON header, then the chunks:
- header: app id, app key version (`kv`), the recording's data key wrapped by that app key (`dk`), a random
  nonce prefix (`np`), the chunk size and the plaintext size. The wrapped data key's associated data binds
  every header field, so a changed header fails to open;
- chunk i = AES-GCM(data key, nonce = np + i (4 bytes), plaintext[i*cs:(i+1)*cs], aad = "i/n") + 16-byte tag,
  so chunks cannot be reordered, dropped or the object truncated.

A Range request decrypts only the chunks it touches. A fresh data key per recording means a leaked data key
opens one recording; rotating the app key leaves older recordings readable (the header names its version).
Objects without the magic (stored before encryption was on) are served as they are.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shopcall.keys.keyring import Keyring, seal, unseal
from shopcall.recording.storage import RangeNotSatisfiable, RecordingNotFound, RecordingStorage, _range_bounds

MAGIC = b"SCENC\x01"
CHUNK = 64 * 1024
TAG = 16
HEAD_MAX = 4096


class Header:
    def __init__(self, raw: bytes, fields: dict[str, object]) -> None:
        self.raw, self.fields = raw, fields
        self.app_id = str(fields["app"])
        self.kv = int(str(fields["kv"]))
        self.size = int(str(fields["size"]))
        self.cs = int(str(fields["cs"]))
        self.np = base64.b64decode(str(fields["np"]))
        self.dk = base64.b64decode(str(fields["dk"]))
        self.offset = len(MAGIC) + 2 + len(raw)  # where chunk 0 starts

    @property
    def chunks(self) -> int:
        return max(1, -(-self.size // self.cs))

    def aad(self) -> bytes:
        return b"shopcall recording|" + json.dumps({k: v for k, v in self.fields.items() if k != "dk"},
                                                   sort_keys=True).encode()


def _make_header(app_id: str, kv: int, app_key: bytes, size: int) -> tuple[bytes, bytes]:
    """(header bytes including MAGIC and length, data key)."""
    dk = AESGCM.generate_key(bit_length=256)
    fields: dict[str, object] = {"app": app_id, "kv": kv, "np": base64.b64encode(secrets.token_bytes(8)).decode(),
                                 "cs": CHUNK, "size": size, "alg": "AES-256-GCM"}
    probe = Header(b"", {**fields, "dk": ""})
    fields["dk"] = base64.b64encode(seal(app_key, dk, probe.aad())).decode()
    raw = json.dumps(fields, sort_keys=True).encode()
    return MAGIC + struct.pack(">H", len(raw)) + raw, dk


def _nonce(h: Header, i: int) -> bytes:
    return h.np + struct.pack(">I", i)


def _chunk_aad(i: int, n: int) -> bytes:
    return f"{i}/{n}".encode()


def encrypt_file(src: Path, dst: Path, app_id: str, kv: int, app_key: bytes) -> None:
    size = src.stat().st_size
    head, dk = _make_header(app_id, kv, app_key, size)
    h = parse_header(head)
    assert h is not None
    aes = AESGCM(dk)
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        fo.write(head)
        for i in range(h.chunks):
            fo.write(aes.encrypt(_nonce(h, i), fi.read(h.cs), _chunk_aad(i, h.chunks)))
        fo.flush()
        os.fsync(fo.fileno())


def parse_header(data: bytes) -> Header | None:
    """The header at the start of `data`, or None if the object is not encrypted."""
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 2:
        return None
    (n,) = struct.unpack(">H", data[len(MAGIC):len(MAGIC) + 2])
    raw = data[len(MAGIC) + 2:len(MAGIC) + 2 + n]
    if len(raw) != n:
        raise ValueError("truncated encryption header")
    return Header(raw, json.loads(raw))


def app_of(key: str) -> str:
    """The app id in a recording key: its second segment (`<region>/<app_id>/<recording_id>/<file>`)."""
    parts = key.split("/")
    if len(parts) < 3:
        raise ValueError(f"not a recording key: {key!r}")
    return parts[1]


class EncryptedStorage:
    """A `RecordingStorage` that encrypts what it stores and decrypts what it serves (see the module doc)."""

    def __init__(self, inner: RecordingStorage, keyring: Keyring) -> None:
        self.inner, self.keyring = inner, keyring
        self.name = f"{inner.name}+aes-gcm"

    def _header(self, key: str) -> Header | None:
        try:
            chunks, _total = self.inner.open_range(key, 0, HEAD_MAX - 1)
        except RangeNotSatisfiable:
            return None  # empty object
        return parse_header(b"".join(chunks))

    def _data_key(self, h: Header) -> bytes:
        return unseal(self.keyring.get(h.app_id, h.kv), h.dk, h.aad())

    def put_file(self, key: str, path: Path, content_type: str = "video/webm") -> int:
        app_id = app_of(key)
        kv, app_key = self.keyring.current(app_id)
        fd, tmp = tempfile.mkstemp(dir=Path(path).parent, prefix=".enc-", suffix=".part")
        os.close(fd)
        try:
            encrypt_file(Path(path), Path(tmp), app_id, kv, app_key)
            self.inner.put_file(key, Path(tmp), "application/octet-stream")
        finally:
            Path(tmp).unlink(missing_ok=True)
        return Path(path).stat().st_size

    def open_range(self, key: str, start: int = 0, end: int | None = None) -> tuple[Iterator[bytes], int]:
        h = self._header(key)
        if h is None:
            return self.inner.open_range(key, start, end)
        first, last = _range_bounds(key, start, end, h.size)
        if last < first:
            return iter(()), h.size
        dk = self._data_key(h)
        i0, i1 = first // h.cs, last // h.cs
        c0 = h.offset + i0 * (h.cs + TAG)
        c1 = h.offset + (i1 + 1) * (h.cs + TAG) - 1
        raw, _ = self.inner.open_range(key, c0, c1)
        return _decrypt(raw, h, dk, i0, i1, first - i0 * h.cs, last - i0 * h.cs), h.size

    def size(self, key: str) -> int | None:
        total = self.inner.size(key)
        if total is None:
            return None
        h = self._header(key)
        return total if h is None else h.size

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def delete(self, key: str) -> bool:
        return self.inner.delete(key)

    def presigned_url(self, key: str, expires_s: int = 3600) -> str | None:
        return None  # the bytes in the bucket are ciphertext: the server decrypts and streams


def _decrypt(raw: Iterator[bytes], h: Header, dk: bytes, i0: int, i1: int, skip: int, last: int) -> Iterator[bytes]:
    """Decrypt chunks i0..i1 from the ciphertext stream; yield plaintext bytes skip..last (relative to chunk i0)."""
    aes = AESGCM(dk)
    buf = bytearray()
    pos = 0  # plaintext offset of the next decrypted chunk, relative to chunk i0
    i = i0
    try:
        for piece in raw:
            buf += piece
            while i <= i1:
                need = min(h.cs, h.size - i * h.cs) + TAG
                if len(buf) < need:
                    break
                plain = aes.decrypt(_nonce(h, i), bytes(buf[:need]), _chunk_aad(i, h.chunks))
                del buf[:need]
                lo, hi = max(skip - pos, 0), min(last - pos + 1, len(plain))
                if lo < hi:
                    yield plain[lo:hi]
                pos += len(plain)
                i += 1
        if i <= i1:
            raise RecordingNotFound("the encrypted recording is truncated")
    finally:
        close = getattr(raw, "close", None)
        if close is not None:
            close()


# ---- raw per-track files ----------------------------------------------------------------------------
# Janus writes `.mjr` files in clear while it records (it cannot encrypt). The worker seals them
# (`<name>.mjr.enc`, same format) before it processes them, processes decrypted copies in a temporary
# folder, and removes everything once the composite is stored; a failed recording keeps only sealed files.

SEALED = ".enc"


def seal_folder(folder: Path, app_id: str, keyring: Keyring) -> int:
    """Encrypt every clear `.mjr` of a raw recording folder in place; returns how many were sealed."""
    kv, app_key = keyring.current(app_id)
    n = 0
    for f in sorted(folder.glob("*.mjr")):
        target = f.with_name(f.name + SEALED)
        tmp = f.with_name(f".{f.name}{SEALED}.part")
        encrypt_file(f, tmp, app_id, kv, app_key)
        os.replace(tmp, target)
        f.unlink()
        n += 1
    return n


def open_folder(folder: Path, dest: Path, keyring: Keyring) -> int:
    """Decrypt the sealed `.mjr.enc` files of `folder` into `dest` (for processing), with the folder's
    clear side files (`<feed>.media.json`: which tracks carry RED audio — without it the audio converts to
    noise); returns how many were decrypted."""
    for side in sorted(folder.glob("*.json")):
        shutil.copy2(side, dest / side.name)
    n = 0
    for f in sorted(folder.glob("*.mjr" + SEALED)):
        data = f.read_bytes()
        h = parse_header(data[:HEAD_MAX])
        if h is None:
            raise ValueError(f"{f.name} is not sealed")
        aes = AESGCM(unseal(keyring.get(h.app_id, h.kv), h.dk, h.aad()))
        with open(dest / f.name.removesuffix(SEALED), "wb") as out:
            pos = h.offset
            for i in range(h.chunks):
                size = min(h.cs, h.size - i * h.cs) + TAG
                out.write(aes.decrypt(_nonce(h, i), data[pos:pos + size], _chunk_aad(i, h.chunks)))
                pos += size
        n += 1
    return n
