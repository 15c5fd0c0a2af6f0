"""The .mjr header rewrite that tells janus-pp-rec an audio track holds RED packets."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from shopcall.recording import mjr
from shopcall.recording.pipeline import StepError, Track, mark_redundant_audio


def _write(path: Path, header: dict[str, object], n: int = 3) -> bytes:
    frames = b""
    for i in range(n):
        # RTP (PT 111) carrying RED: one redundant block (PT 63, 3 bytes) + the primary (PT 63)
        rtp = bytes([0x80, 111]) + struct.pack("!HII", i, 960 * i, 1234) + bytes([0x80 | 63, 0, 0, 3, 63])
        rtp += b"\xf8ab" + b"\xf8cd"
        frames += b"MEET" + struct.pack("!IH", 20 * i, len(rtp)) + rtp
    raw = json.dumps(header).encode()
    path.write_bytes(b"MJR00002" + struct.pack("!H", len(raw)) + raw + frames)
    return frames


def test_header_fields_are_merged_and_frames_kept(tmp_path: Path) -> None:
    f = tmp_path / "p1-audio.mjr"
    frames = _write(f, {"t": "a", "c": "opus", "s": 1, "u": 2})
    mjr.set_header_fields(f, **{"or": 111})
    info, start = mjr.read_header(f)
    assert info == {"t": "a", "c": "opus", "s": 1, "u": 2, "or": 111}
    assert f.read_bytes()[start:] == frames
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("content", [b"", b"MJR00001\x00\x02{}", b"MJR00002\x00\x09{}", b"MJR00002\x00\x02[]"])
def test_bad_files_are_refused(tmp_path: Path, content: bytes) -> None:
    f = tmp_path / "bad.mjr"
    f.write_bytes(content)
    with pytest.raises(mjr.MjrError):
        mjr.read_header(f)


def test_sidecar_marks_the_audio_track_for_janus_pp_rec(tmp_path: Path) -> None:
    f = tmp_path / "p1-audio.mjr"
    _write(f, {"t": "a", "c": "opus", "s": 1, "u": 2})
    track = Track(f, "audio", "opus", "p1", 2)
    mark_redundant_audio(track)  # no sidecar: untouched
    assert "or" not in mjr.read_header(f)[0]
    (tmp_path / "p1.media.json").write_text(json.dumps({"audio_red_pt": 111}))
    mark_redundant_audio(track)
    assert mjr.read_header(f)[0]["or"] == 111
    if shutil.which("janus-pp-rec"):
        out = subprocess.run(["janus-pp-rec", "-o", "-d", "4", str(f), str(tmp_path / "p1.opus")],
                             capture_output=True, text=True, timeout=30)
        assert "Enabling RED decapsulation (pt=111)" in out.stdout + out.stderr
    (tmp_path / "p1.media.json").write_text("{}")
    with pytest.raises(StepError, match="redundant audio"):
        mark_redundant_audio(Track(f, "audio", "opus", "p1", 2))
