"""Post-processing of a recording: Janus's per-track .mjr files → playable per-track files →
one composite (grid layout, screen share included, audio mixed) → verified with ffprobe.

Each step is a plain function that raises `StepError` with a readable reason, so the worker can
record progress, retry and report. Tracks are placed on the recording's timeline by the time
their first packet was written (from the .mjr header), so a participant who consented late
appears late rather than out of sync.
"""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shopcall.recording import mjr as mjr_file

PP_REC = "janus-pp-rec"
FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"
WIDTH, HEIGHT, FPS = 1280, 720, 25
DURATION_TOLERANCE_S = 1.0


class StepError(Exception):
    """A pipeline step failed; the message says which and why (shown in the console)."""


@dataclass
class Track:
    mjr: Path
    kind: str  # "audio" | "video"
    codec: str
    feed: str  # "<pid>" or "<pid>-screen"
    first_us: int  # wall clock of the first packet, µs
    media: Path | None = None  # the converted file


def _run(args: list[str], what: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    try:
        res = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise StepError(f"{what}: {args[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise StepError(f"{what}: timed out after {timeout:.0f} s") from None
    if res.returncode != 0:
        tail = (res.stderr or res.stdout).strip().splitlines()[-3:]
        raise StepError(f"{what}: exit {res.returncode}: {' / '.join(tail)}")
    return res


def scan(folder: Path) -> list[Track]:
    """Read the header of every .mjr in the recording folder (skipping empty ones)."""
    tracks = []
    for mjr in sorted(folder.glob("*.mjr")):
        if mjr.stat().st_size < 100:
            continue  # header only: the publisher never sent media while recorded
        res = _run([PP_REC, "-j", str(mjr)], f"reading {mjr.name}", timeout=60)
        try:
            info = json.loads(res.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise StepError(f"reading {mjr.name}: no JSON header") from None
        kind = {"a": "audio", "v": "video"}.get(str(info.get("t")))
        if kind is None:
            continue  # data channels
        feed = mjr_file.feed_name(mjr)
        tracks.append(Track(mjr, kind, str(info.get("c", "")), feed, int(info.get("u") or info.get("s") or 0)))
    return tracks


def mark_redundant_audio(track: Track) -> None:
    """Tell janus-pp-rec that an audio track holds RED packets (the media layer leaves a
    `<feed>.media.json` beside the recording when the publisher sent redundant audio)."""
    meta_file = track.mjr.parent / f"{track.feed}.media.json"
    if track.kind != "audio" or not meta_file.exists():
        return
    try:
        red_pt = int(json.loads(meta_file.read_text())["audio_red_pt"])
        info, _ = mjr_file.read_header(track.mjr)
        if info.get("or") != red_pt:
            mjr_file.set_header_fields(track.mjr, **{"or": red_pt})
    except (ValueError, KeyError, TypeError, OSError) as e:
        raise StepError(f"marking {track.mjr.name} as redundant audio: {e}") from None


def convert(track: Track, out_dir: Path) -> Path:
    """One .mjr → .opus (audio), .webm (VP8/VP9) or .mp4 (H.264)."""
    mark_redundant_audio(track)
    ext = "opus" if track.kind == "audio" else ("mp4" if track.codec.lower() == "h264" else "webm")
    out = out_dir / f"{track.mjr.stem}.{ext}"
    _run([PP_REC, "-o", "-d", "2", str(track.mjr), str(out)], f"converting {track.mjr.name}")
    if not out.exists() or out.stat().st_size == 0:
        raise StepError(f"converting {track.mjr.name}: no output")
    track.media = out
    return out


def grid(n: int) -> list[tuple[int, int, int, int]]:
    """Cells (x, y, w, h) for n videos on the canvas, rows filled left to right."""
    if n == 0:
        return []
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    w, h = WIDTH // cols, HEIGHT // rows
    return [((i % cols) * w, (i // cols) * h, w - w % 2, h - h % 2) for i in range(n)]


def composite(tracks: list[Track], out: Path, *, duration_s: float, start_us: int,
              progress: Callable[[float], None] | None = None) -> Path:
    """All videos on a grid (screen shares first, largest), all audio mixed, exactly `duration_s` long."""
    videos = sorted((t for t in tracks if t.kind == "video" and t.media),
                    key=lambda t: (not t.feed.endswith("-screen"), t.first_us))
    audios = [t for t in tracks if t.kind == "audio" and t.media]
    if not videos and not audios:
        raise StepError("composite: no media to put together")
    dur = f"{duration_s:.3f}"
    args = [FFMPEG, "-y", "-hide_banner", "-loglevel", "error", "-progress", "pipe:1", "-nostats",
            "-f", "lavfi", "-i", f"color=c=0x111418:s={WIDTH}x{HEIGHT}:r={FPS}:d={dur}",
            "-f", "lavfi", "-i", f"anullsrc=r=48000:cl=stereo:d={dur}"]
    filters: list[str] = []
    last = "[0:v]"
    for i, (t, (x, y, w, h)) in enumerate(zip(videos, grid(len(videos)), strict=True)):
        idx = 2 + i
        offset = max(0.0, (t.first_us - start_us) / 1e6)
        args += ["-i", str(t.media)]
        filters.append(f"[{idx}:v]scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,"
                       f"setpts=PTS-STARTPTS+{offset:.3f}/TB[v{i}]")
        filters.append(f"{last}[v{i}]overlay={x}:{y}:eof_action=pass[o{i}]")
        last = f"[o{i}]"
    mix = ["[1:a]"]
    for j, t in enumerate(audios):
        idx = 2 + len(videos) + j
        delay = max(0, round((t.first_us - start_us) / 1000))
        args += ["-i", str(t.media)]
        filters.append(f"[{idx}:a]aresample=48000,adelay={delay}:all=1[a{j}]")
        mix.append(f"[a{j}]")
    filters.append(f"{''.join(mix)}amix=inputs={len(mix)}:duration=first:dropout_transition=0:normalize=0[aout]")
    video_out = last if videos else "0:v"  # audio only: the plain background is the picture
    args += ["-filter_complex", ";".join(filters), "-map", video_out, "-map", "[aout]", "-t", dur,
             "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-r", str(FPS),
             "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", str(out)]
    total_us = max(1.0, duration_s * 1e6)
    # stderr goes to a file: a pipe nobody reads while the progress lines are read fills up (64 KiB of
    # decoder complaints about a damaged packet) and blocks ffmpeg for good
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:  # -progress: key=value lines
            if line.startswith("out_time_us=") and progress is not None:
                try:
                    progress(min(1.0, int(line.split("=", 1)[1]) / total_us))
                except ValueError:
                    pass
        code = proc.wait(timeout=1800)
        errors.seek(0)
        err = errors.read()
    if code != 0 or not out.exists():
        raise StepError(f"composite: ffmpeg failed: {' / '.join(err.strip().splitlines()[-3:])}")
    return out


def verify(path: Path, *, duration_s: float) -> dict[str, float | bool]:
    """ffprobe: a video and an audio stream, and the duration within 1 s of the recorded time."""
    res = _run([FFPROBE, "-v", "error", "-show_entries", "format=duration:stream=codec_type", "-of", "json", str(path)],
               "verifying the composite", timeout=60)
    info = json.loads(res.stdout)
    kinds = {s.get("codec_type") for s in info.get("streams", [])}
    got = float(info.get("format", {}).get("duration") or 0)
    if "video" not in kinds or "audio" not in kinds:
        raise StepError(f"verifying the composite: streams {sorted(k for k in kinds if k)}, need video and audio")
    if abs(got - duration_s) > DURATION_TOLERANCE_S:
        raise StepError(f"verifying the composite: {got:.2f} s long, the recording ran {duration_s:.2f} s")
    return {"duration_s": round(got, 2), "video": True, "audio": True}
