"""Redundant audio (RFC 2198 RED around Opus) through a VideoRoom that does not negotiate it.

With RED every audio packet also carries the previous Opus frame, so one lost packet costs no
audio at all: at 30 % random loss concealment drops from ~30 % to single digits. Browsers offer
`red/48000/2`, but Debian's Janus (1.1.2) VideoRoom answers Opus only, and it relays a
publisher's audio to every subscriber under its own Opus payload type (111) whatever the
publisher used. RED still crosses it, untouched, if the SDP on both sides says so:

- the publisher (ShopCall's web SDK) swaps the payload types of Opus and RED in its own offer,
  so its Opus is not 111 (RED blocks name the inner codec by the publisher's payload type);
- `publisher_answer` adds RED, first, to Janus's answer: the browser then sends RED;
- `subscriber_offer` declares Janus's outgoing audio payload type (111) as RED whose blocks
  are Opus under the publisher's Opus payload type.

Nothing changes for a publisher that did not offer RED, or whose Opus is still 111.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

JANUS_OPUS_PT = 111  # the payload type Janus's VideoRoom gives Opus in every subscriber offer


@dataclass(frozen=True)
class RedAudio:
    """How a publisher sends redundant audio: RED under `red_pt`, its blocks Opus under `opus_pt`."""

    red_pt: int
    opus_pt: int


def _sections(sdp: str) -> list[str]:
    """The session part, then one string per m= section (each keeps its own line endings)."""
    return re.split(r"(?=^m=)", sdp, flags=re.M)


def _eol(sdp: str) -> str:
    return "\r\n" if "\r\n" in sdp else "\n"


def _pt(section: str, codec: str) -> int | None:
    m = re.search(rf"^a=rtpmap:(\d+) {codec}/48000(/2)?\s*$", section, flags=re.M | re.I)
    return int(m.group(1)) if m else None


def _audio_index(parts: list[str]) -> int | None:
    for i, p in enumerate(parts):
        if p.startswith("m=audio"):
            return i
    return None


def offered_red(offer_sdp: str) -> RedAudio | None:
    """The RED + Opus pair a publisher's offer can send through Janus, if any."""
    parts = _sections(offer_sdp)
    i = _audio_index(parts)
    if i is None:
        return None
    red, opus = _pt(parts[i], "red"), _pt(parts[i], "opus")
    if red is None or opus is None or opus == JANUS_OPUS_PT:
        return None  # no RED, or its blocks would be indistinguishable from Janus's own Opus
    return RedAudio(red, opus)


def publisher_answer(offer_sdp: str, answer_sdp: str) -> tuple[str, RedAudio | None]:
    """Janus's answer with RED added as the preferred audio format, when the offer allows it."""
    red = offered_red(offer_sdp)
    if red is None:
        return answer_sdp, None
    parts = _sections(answer_sdp)
    i = _audio_index(parts)
    if i is None:
        return answer_sdp, None
    sec = parts[i]
    if _pt(sec, "opus") != red.opus_pt or _pt(sec, "red") is not None:
        return answer_sdp, None  # Janus chose another codec (or knows RED itself): leave it alone
    m_line = re.match(r"^m=audio (\S+) \S+ ([^\r\n]*)", sec)
    if m_line is None or m_line.group(1) == "0":
        return answer_sdp, None  # audio rejected
    eol = _eol(answer_sdp)
    sec = sec[:m_line.start(2)] + f"{red.red_pt} " + sec[m_line.start(2):]
    sec = re.sub(rf"^(a=rtpmap:{red.opus_pt} )", f"a=rtpmap:{red.red_pt} red/48000/2{eol}"
                 f"a=fmtp:{red.red_pt} {red.opus_pt}/{red.opus_pt}{eol}\\1", sec, count=1, flags=re.M)
    parts[i] = sec
    return "".join(parts), red


def subscriber_offer(offer_sdp: str, red: RedAudio) -> str:
    """Janus's subscriber offer, its audio payload type re-declared as RED around the publisher's Opus."""
    parts = _sections(offer_sdp)
    i = _audio_index(parts)
    if i is None:
        return offer_sdp
    sec = parts[i]
    out_pt = _pt(sec, "opus")
    if out_pt is None or out_pt == red.opus_pt or re.search(rf"^a=rtpmap:{red.opus_pt} ", sec, flags=re.M):
        return offer_sdp  # nothing to rename, or the inner payload type is taken
    eol = _eol(offer_sdp)
    # Opus moves to the publisher's payload type (with its fmtp and feedback); Janus's one becomes RED.
    sec = re.sub(rf"^a=(rtpmap|fmtp|rtcp-fb):{out_pt} ", rf"a=\1:{red.opus_pt} ", sec, flags=re.M)
    sec = re.sub(r"^(m=audio \S+ \S+ )([^\r\n]*)",
                 lambda m: m.group(1) + " ".join([str(out_pt), str(red.opus_pt)]
                                                 + [p for p in m.group(2).split() if p != str(out_pt)]),
                 sec, count=1, flags=re.M)
    sec = re.sub(rf"^(a=rtpmap:{red.opus_pt} )", f"a=rtpmap:{out_pt} red/48000/2{eol}"
                 f"a=fmtp:{out_pt} {red.opus_pt}/{red.opus_pt}{eol}\\1", sec, count=1, flags=re.M)
    parts[i] = sec
    return "".join(parts)


def answer_accepts_red(answer_sdp: str) -> bool:
    """Whether a subscriber's answer kept RED (a browser without RED support drops it)."""
    parts = _sections(answer_sdp)
    i = _audio_index(parts)
    return i is not None and _pt(parts[i], "red") is not None
