"""The header of Janus's .mjr recordings: read it, and add what janus-pp-rec needs to know.

Layout (Janus's record.c): `MJR00002`, a 2-byte big-endian length, that many bytes of JSON
(`t` type, `c` codec, `s` created, `u` first frame, optional `or` = RED payload type), then
frames (`MEET`, 4-byte time offset, 2-byte length, one RTP packet).
"""

from __future__ import annotations

import json
import os
import re
import struct
from pathlib import Path
from typing import Any

MAGIC = b"MJR00002"


class MjrError(ValueError):
    """Not a .mjr file this code understands."""


def read_header(path: Path) -> tuple[dict[str, Any], int]:
    """The JSON header and the offset where the frames start."""
    with path.open("rb") as f:
        head = f.read(len(MAGIC) + 2)
        if len(head) < len(MAGIC) + 2 or head[: len(MAGIC)] != MAGIC:
            raise MjrError(f"{path.name}: not an MJR00002 recording")
        (n,) = struct.unpack("!H", head[len(MAGIC):])
        raw = f.read(n)
    if len(raw) != n:
        raise MjrError(f"{path.name}: truncated header")
    try:
        info = json.loads(raw)
    except ValueError as e:
        raise MjrError(f"{path.name}: header is not JSON") from e
    if not isinstance(info, dict):
        raise MjrError(f"{path.name}: header is not a JSON object")
    return info, len(MAGIC) + 2 + n


def set_header_fields(path: Path, **fields: Any) -> None:
    """Rewrite the header with `fields` merged in; the frames are copied unchanged (atomically)."""
    info, start = read_header(path)
    info.update(fields)
    raw = json.dumps(info, separators=(",", ":")).encode()
    if len(raw) > 0xFFFF:
        raise MjrError(f"{path.name}: header too long")
    tmp = path.with_name(path.name + ".tmp")
    with path.open("rb") as src, tmp.open("wb") as dst:
        dst.write(MAGIC + struct.pack("!H", len(raw)) + raw)
        src.seek(start)
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    os.replace(tmp, path)


def feed_name(path: Path) -> str:
    """The feed a Janus recording file belongs to: `<feed>-audio.mjr`, `<feed>-video-2.mjr` → `<feed>`."""
    return re.sub(r"-(audio|video)(-\d+)?$", "", path.stem)


def recorded_feeds(folder: Path) -> list[str]:
    """Feeds with media in a recording folder (a file of only a header means nothing was sent)."""
    if not folder.is_dir():
        return []
    return sorted({feed_name(f) for f in folder.glob("*.mjr") if f.stat().st_size >= 100})
