"""Synthetic media for bots: video frames that carry their send time in the picture, and a tone.

The video track draws, in the top of every frame, a grid of big black/white cells holding a
48-bit wall-clock millisecond timestamp, a 12-bit frame counter and a CRC-16; the rest of the
picture is a gradient with a moving square, so the encoder sees real motion. Cells are 1/20 of
the width by 1/15 of the height (32x32 px at 640x480: two VP8 macroblocks each way), which
survives VP8 at a few hundred kbit/s and any rescaling, because the reader locates cells in
fractions of the picture and thresholds each cell's centre against reference cells.

Latency measured with it (receive wall time minus the timestamp in the picture) is only
meaningful when sender and receiver share a clock, i.e. run on the same host.

The pixel work uses plain `bytes`/`memoryview` slicing on the frame planes (no numpy needed).
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from dataclasses import dataclass

import av
from aiortc.mediastreams import AUDIO_PTIME, MediaStreamError, MediaStreamTrack, VideoStreamTrack

COLUMNS = 20  # cells per code row
ROWS = 4  # code rows; the code band is the top ROWS/15 of the picture
CELL_ROWS_IN_PICTURE = 15
MARKER = (1, 0, 1, 0)  # start marker; also the white/black references for the threshold
TS_BITS = 48
SEQ_BITS = 12
CRC_BITS = 16
assert len(MARKER) + TS_BITS + SEQ_BITS + CRC_BITS == COLUMNS * ROWS
MIN_CONTRAST = 64  # luma difference the white and black references must show
WHITE, BLACK = 255, 0


@dataclass(frozen=True)
class Timecode:
    """What one frame carries: its send time (ms since the epoch) and a wrapping frame counter."""

    ms: int
    seq: int


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: a flipped cell is caught, so a damaged frame reads as None, not a bad time."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def _payload(ms: int, seq: int) -> bytes:
    return ms.to_bytes(6, "big") + seq.to_bytes(2, "big")


def encode_bits(ms: int, seq: int = 0) -> list[int]:
    """The cell values (1 = white), row-major from the top-left cell."""
    if not 0 <= ms < 1 << TS_BITS:
        raise ValueError(f"timestamp {ms} does not fit in {TS_BITS} bits")
    seq &= (1 << SEQ_BITS) - 1
    crc = crc16(_payload(ms, seq))
    word = (ms << (SEQ_BITS + CRC_BITS)) | (seq << CRC_BITS) | crc
    n = TS_BITS + SEQ_BITS + CRC_BITS
    return list(MARKER) + [(word >> (n - 1 - i)) & 1 for i in range(n)]


def decode_bits(bits: list[int]) -> Timecode | None:
    """Inverse of `encode_bits`; None when the marker or the checksum does not match."""
    if len(bits) != COLUMNS * ROWS or tuple(bits[: len(MARKER)]) != MARKER:
        return None
    word = 0
    for b in bits[len(MARKER):]:
        word = (word << 1) | b
    crc = word & 0xFFFF
    seq = (word >> CRC_BITS) & ((1 << SEQ_BITS) - 1)
    ms = word >> (SEQ_BITS + CRC_BITS)
    if crc16(_payload(ms, seq)) != crc:
        return None
    return Timecode(ms, seq)


def _cell_edges(size: int, count: int) -> list[int]:
    """Pixel boundaries of `count` cells over `size` pixels (the last cell absorbs rounding)."""
    return [size * i // count for i in range(count + 1)]


def _geometry(width: int, height: int) -> tuple[list[int], list[int]]:
    xs = _cell_edges(width, COLUMNS)
    ys = [height * r // CELL_ROWS_IN_PICTURE for r in range(ROWS + 1)]
    return xs, ys


def draw_timecode(frame: av.VideoFrame, ms: int, seq: int = 0) -> None:
    """Paint the code cells into the luma plane of a yuv420p frame (in place)."""
    plane = frame.planes[0]
    stride = plane.line_size
    buf = memoryview(plane)
    xs, ys = _geometry(frame.width, frame.height)
    bits = encode_bits(ms, seq)
    for r in range(ROWS):
        line = b"".join(
            bytes([WHITE if bits[r * COLUMNS + c] else BLACK]) * (xs[c + 1] - xs[c]) for c in range(COLUMNS)
        )
        for y in range(ys[r], ys[r + 1]):
            buf[y * stride : y * stride + frame.width] = line


def _luma_plane(frame: av.VideoFrame) -> tuple[memoryview, int]:
    if frame.format.name not in ("yuv420p", "yuvj420p", "yuv422p", "yuv444p", "nv12", "gray"):
        frame = frame.reformat(format="gray")
    plane = frame.planes[0]
    return memoryview(plane), plane.line_size


def read_timecode(frame: av.VideoFrame) -> Timecode | None:
    """Decode the code cells: average luma of each cell's central quarter, thresholded midway
    between the marker's white and black references (so brightness/contrast drift is harmless)."""
    buf, stride = _luma_plane(frame)
    xs, ys = _geometry(frame.width, frame.height)
    levels: list[float] = []
    for r in range(ROWS):
        y0, y1 = ys[r], ys[r + 1]
        cy0, cy1 = y0 + (y1 - y0) // 4, y1 - (y1 - y0) // 4
        rows = range(cy0, max(cy1, cy0 + 1), 2)
        for c in range(COLUMNS):
            x0, x1 = xs[c], xs[c + 1]
            cx0, cx1 = x0 + (x1 - x0) // 4, max(x1 - (x1 - x0) // 4, x0 + (x1 - x0) // 4 + 1)
            total = sum(sum(buf[y * stride + cx0 : y * stride + cx1]) for y in rows)
            levels.append(total / (len(rows) * (cx1 - cx0)))
    white = [v for v, m in zip(levels, MARKER, strict=False) if m]
    black = [v for v, m in zip(levels, MARKER, strict=False) if not m]
    lo, hi = max(black), min(white)
    if hi - lo < MIN_CONTRAST:
        return None
    threshold = (hi + lo) / 2
    return decode_bits([1 if v > threshold else 0 for v in levels])


def read_timestamp(frame: av.VideoFrame) -> int | None:
    """The send time (ms since the epoch, `time.time()` clock) drawn into `frame`, or None."""
    tc = read_timecode(frame)
    return tc.ms if tc is not None else None


class TimecodeVideoTrack(VideoStreamTrack):
    """A 30 fps (by default) synthetic camera whose frames carry their send time.

    The timestamp is taken right after the frame's pacing wait, i.e. when aiortc pulls the frame
    for encoding: it stands for the moment "light hits the glass" of a real camera.
    """

    def __init__(self, width: int = 640, height: int = 480, fps: int = 30) -> None:
        super().__init__()
        if width % 2 or height % 2:
            raise ValueError("width and height must be even (yuv420p)")
        self.width, self.height, self.fps = width, height, fps
        self.frames_sent = 0
        self._clock_start: float | None = None
        self._background = self._gradient()

    def _gradient(self) -> bytes:
        # A static horizontal gradient (mid-grey range) below the code band.
        row = bytes(64 + (128 * x) // max(self.width - 1, 1) for x in range(self.width))
        return row * self.height

    async def next_timestamp(self) -> tuple[int, fractions.Fraction]:
        """Like aiortc's, but with the frame rate of this track (aiortc's is fixed at 30)."""
        if self.readyState != "live":
            raise MediaStreamError
        clock = 90000
        if self._clock_start is None:
            self._clock_start = time.time()
            return 0, fractions.Fraction(1, clock)
        n = self.frames_sent
        wait = self._clock_start + n / self.fps - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        return int(n * clock / self.fps), fractions.Fraction(1, clock)

    def make_frame(self, ms: int, seq: int) -> av.VideoFrame:
        """The picture for time `ms` (also used by tests and by non-aiortc pipelines)."""
        w, h = self.width, self.height
        frame = av.VideoFrame(w, h, "yuv420p")
        y_plane = frame.planes[0]
        buf = memoryview(y_plane)
        if y_plane.line_size == w:
            buf[: w * h] = self._background
        else:
            for y in range(h):
                buf[y * y_plane.line_size : y * y_plane.line_size + w] = self._background[y * w : (y + 1) * w]
        for p in frame.planes[1:]:
            memoryview(p)[:] = b"\x80" * p.buffer_size
        # Moving element: a white square bouncing left-right below the code band.
        side = max(h // 8, 2)
        span = max(w - side, 1)
        phase = (seq * 8) % (2 * span)
        x0 = phase if phase < span else 2 * span - phase
        y0 = (ROWS + 2) * h // CELL_ROWS_IN_PICTURE
        square = b"\xeb" * side
        for y in range(y0, min(y0 + side, h)):
            buf[y * y_plane.line_size + x0 : y * y_plane.line_size + x0 + side] = square
        draw_timecode(frame, ms, seq)
        return frame

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        ms = int(time.time() * 1000)
        frame = self.make_frame(ms, self.frames_sent)
        frame.pts, frame.time_base = pts, time_base
        self.frames_sent += 1
        return frame


class ToneAudioTrack(MediaStreamTrack):
    """48 kHz mono sine (400 Hz: exactly 8 periods per 20 ms frame, so one frame is precomputed),
    with an optional click (a 2 ms full-scale burst) every `click_every_s` seconds."""

    kind = "audio"
    SAMPLE_RATE = 48000

    def __init__(self, frequency_hz: int = 400, amplitude: float = 0.2, click_every_s: float | None = None) -> None:
        super().__init__()
        self.samples = int(AUDIO_PTIME * self.SAMPLE_RATE)
        self.frames_sent = 0
        self._clock_start: float | None = None
        self._click_every = round(click_every_s / AUDIO_PTIME) if click_every_s else 0
        peak = int(32767 * amplitude)
        tone = [int(peak * math.sin(2 * math.pi * frequency_hz * i / self.SAMPLE_RATE)) for i in range(self.samples)]
        self._tone = b"".join(v.to_bytes(2, "little", signed=True) for v in tone)
        burst = self.SAMPLE_RATE // 500
        click = [32767 if (i // 12) % 2 == 0 else -32767 for i in range(burst)] + tone[burst:]
        self._click = b"".join(v.to_bytes(2, "little", signed=True) for v in click)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._clock_start is None:
            self._clock_start = time.time()
        pts = self.frames_sent * self.samples
        wait = self._clock_start + pts / self.SAMPLE_RATE - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        click = self._click_every and self.frames_sent % self._click_every == 0
        frame = av.AudioFrame(format="s16", layout="mono", samples=self.samples)
        frame.planes[0].update(self._click if click else self._tone)
        frame.pts, frame.sample_rate = pts, self.SAMPLE_RATE
        frame.time_base = fractions.Fraction(1, self.SAMPLE_RATE)
        self.frames_sent += 1
        return frame
