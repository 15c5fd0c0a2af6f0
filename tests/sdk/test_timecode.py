"""The picture timecode survives what the network does to video: VP8 at low bitrates, rescaling."""

from __future__ import annotations

import asyncio
import fractions
import random
import time

import av
import pytest

from shopcall.sdk.timecode import (
    COLUMNS,
    ROWS,
    TimecodeVideoTrack,
    ToneAudioTrack,
    decode_bits,
    encode_bits,
    read_timecode,
    read_timestamp,
)

NOW_MS = 1_767_225_600_123


def test_bits_round_trip_and_checksum_rejects_damage() -> None:
    rng = random.Random(7)
    for ms in [0, 1, NOW_MS, (1 << 48) - 1, *(rng.randrange(1 << 48) for _ in range(50))]:
        seq = rng.randrange(4096)
        bits = encode_bits(ms, seq)
        assert len(bits) == COLUMNS * ROWS
        tc = decode_bits(bits)
        assert tc is not None and (tc.ms, tc.seq) == (ms, seq)
        for i in rng.sample(range(4, len(bits)), 10):  # any single damaged data cell is caught
            damaged = list(bits)
            damaged[i] ^= 1
            assert decode_bits(damaged) is None
    assert decode_bits([0] * (COLUMNS * ROWS)) is None
    with pytest.raises(ValueError):
        encode_bits(1 << 48)


@pytest.mark.parametrize("size", [(640, 480), (320, 240), (1280, 720), (176, 144)])
def test_raw_frames_round_trip(size: tuple[int, int]) -> None:
    track = TimecodeVideoTrack(*size)
    for seq in range(0, 200, 13):
        frame = track.make_frame(NOW_MS + seq * 33, seq)
        tc = read_timecode(frame)
        assert tc is not None and (tc.ms, tc.seq) == (NOW_MS + seq * 33, seq)


def test_survives_rescaling_and_pixel_format_changes() -> None:
    frame = TimecodeVideoTrack().make_frame(NOW_MS, 5)
    for other in (frame.reformat(width=320, height=240), frame.reformat(width=1280, height=960),
                  frame.reformat(format="rgb24"), frame.reformat(format="nv12")):
        assert read_timestamp(other) == NOW_MS


def test_pictures_without_a_code_read_as_none() -> None:
    grey = av.VideoFrame(640, 480, "yuv420p")
    for p in grey.planes:
        memoryview(p)[:] = b"\x80" * p.buffer_size
    assert read_timestamp(grey) is None
    noise = av.VideoFrame(640, 480, "yuv420p")
    rng = random.Random(1)
    for p in noise.planes:
        memoryview(p)[:] = rng.randbytes(p.buffer_size)
    assert read_timestamp(noise) is None


def _vp8_round_trip(width: int, height: int, bitrate: int, frames: int) -> list[tuple[int, int | None]]:
    """Encode `frames` timecoded pictures with libvpx at `bitrate` (realtime, like aiortc) and decode them."""
    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt = width, height, "yuv420p"
    enc.bit_rate, enc.framerate = bitrate, fractions.Fraction(30, 1)
    enc.time_base = fractions.Fraction(1, 30)
    enc.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0", "error-resilient": "1",
                   "minrate": str(bitrate), "maxrate": str(bitrate), "bufsize": str(bitrate)}
    dec = av.CodecContext.create("vp8", "r")
    track = TimecodeVideoTrack(width, height)
    sent: dict[int, int] = {}
    out: list[tuple[int, int | None]] = []
    for i in range(frames + 1):
        if i < frames:
            ms = NOW_MS + i * 33
            frame = track.make_frame(ms, i)
            frame.pts, frame.time_base = i, enc.time_base
            sent[i] = ms
            packets = enc.encode(frame)
        else:
            packets = enc.encode(None)
        for packet in packets:
            for decoded in dec.decode(packet):
                out.append((sent[decoded.pts], read_timestamp(decoded)))
    return out


@pytest.mark.parametrize(("width", "height", "bitrate"), [(640, 480, 60_000), (320, 240, 30_000)])
def test_vp8_low_bitrate_round_trip(width: int, height: int, bitrate: int) -> None:
    out = _vp8_round_trip(width, height, bitrate, 90)
    assert len(out) == 90
    assert [decoded for _, decoded in out] == [sent for sent, _ in out]


async def test_video_track_paces_frames_and_stamps_wall_clock() -> None:
    track = TimecodeVideoTrack(320, 240, fps=30)
    t0 = time.monotonic()
    stamps = []
    for _ in range(10):
        frame = await track.recv()
        stamps.append(read_timestamp(frame))
        assert abs(stamps[-1] - time.time() * 1000) < 50  # type: ignore[operator]
    assert 0.25 < time.monotonic() - t0 < 0.6  # 9 intervals of 33 ms
    assert stamps == sorted(stamps) and frame.pts == 9 * 3000
    track.stop()


async def test_tone_track_frames_and_clicks() -> None:
    track = ToneAudioTrack(click_every_s=0.04)
    frames = [await track.recv() for _ in range(4)]
    assert all(f.samples == 960 and f.sample_rate == 48000 for f in frames)
    assert [f.pts for f in frames] == [0, 960, 1920, 2880]
    raw = [bytes(f.planes[0]) for f in frames]
    assert raw[0] == raw[2] != raw[1] == raw[3]  # a click every second frame (40 ms)
    track.stop()
    with pytest.raises(Exception):  # noqa: B017 - aiortc's MediaStreamError once stopped
        await asyncio.wait_for(track.recv(), 1)
