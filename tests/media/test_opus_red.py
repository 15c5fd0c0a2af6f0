"""SDP rewriting that lets RED audio cross Janus 1.1's VideoRoom (checked end to end by the weaknet bench)."""

from __future__ import annotations

from shopcall.media.opus_red import (
    RedAudio,
    answer_accepts_red,
    offered_red,
    publisher_answer,
    subscriber_offer,
)

SESSION = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
VIDEO = "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\n"
# What ShopCall's SDK offers after swapping Chrome's Opus (111) and RED (63) payload types.
SWAPPED_OFFER = SESSION + (
    "m=audio 9 UDP/TLS/RTP/SAVPF 63 111 9 0\r\na=mid:0\r\na=sendonly\r\n"
    "a=rtpmap:63 opus/48000/2\r\na=rtcp-fb:63 transport-cc\r\na=fmtp:63 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:111 red/48000/2\r\na=fmtp:111 63/63\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\n") + VIDEO
PLAIN_OFFER = SWAPPED_OFFER.replace("a=rtpmap:63 opus", "a=rtpmap:X opus").replace(
    "a=rtpmap:111 red", "a=rtpmap:63 red").replace("a=rtpmap:X opus", "a=rtpmap:111 opus")
JANUS_ANSWER = SESSION + (
    "m=audio 9 UDP/TLS/RTP/SAVPF 63\r\na=mid:0\r\na=recvonly\r\na=rtpmap:63 opus/48000/2\r\n"
    "a=fmtp:63 useinbandfec=1\r\na=rtcp-fb:63 transport-cc\r\n") + VIDEO
JANUS_SUB_OFFER = SESSION + (
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\n"
    "a=fmtp:111 useinbandfec=1\r\na=rtcp-fb:111 transport-cc\r\n") + VIDEO


def _audio(sdp: str) -> list[str]:
    sec = sdp.split("m=audio")[1].split("m=video")[0]
    return ("m=audio" + sec).strip().split("\r\n")


def test_offer_detection() -> None:
    assert offered_red(SWAPPED_OFFER) == RedAudio(red_pt=111, opus_pt=63)
    assert offered_red(PLAIN_OFFER) is None  # Opus still on Janus's 111: blocks would be ambiguous
    assert offered_red(SESSION + VIDEO) is None
    no_red = SWAPPED_OFFER.replace("a=rtpmap:111 red/48000/2\r\n", "")
    assert offered_red(no_red) is None


def test_publisher_answer_prefers_red() -> None:
    answer, red = publisher_answer(SWAPPED_OFFER, JANUS_ANSWER)
    assert red == RedAudio(111, 63)
    assert _audio(answer)[:4] == ["m=audio 9 UDP/TLS/RTP/SAVPF 111 63", "a=mid:0", "a=recvonly",
                                  "a=rtpmap:111 red/48000/2"]
    assert "a=fmtp:111 63/63" in _audio(answer) and "a=rtpmap:63 opus/48000/2" in _audio(answer)
    assert answer.endswith(VIDEO)  # the video section is untouched
    assert publisher_answer(PLAIN_OFFER, JANUS_ANSWER) == (JANUS_ANSWER, None)
    rejected = JANUS_ANSWER.replace("m=audio 9 ", "m=audio 0 ")
    assert publisher_answer(SWAPPED_OFFER, rejected) == (rejected, None)
    other_codec = JANUS_ANSWER.replace("opus/48000/2", "PCMU/8000")
    assert publisher_answer(SWAPPED_OFFER, other_codec)[1] is None


def test_subscriber_offer_declares_janus_audio_as_red() -> None:
    offer = subscriber_offer(JANUS_SUB_OFFER, RedAudio(111, 63))
    audio = _audio(offer)
    assert audio[0] == "m=audio 9 UDP/TLS/RTP/SAVPF 111 63"
    assert "a=rtpmap:111 red/48000/2" in audio and "a=fmtp:111 63/63" in audio
    assert "a=rtpmap:63 opus/48000/2" in audio and "a=fmtp:63 useinbandfec=1" in audio
    assert "a=rtcp-fb:63 transport-cc" in audio and not any(x.startswith("a=rtcp-fb:111") for x in audio)
    assert offer.endswith(VIDEO)
    assert answer_accepts_red(offer) and not answer_accepts_red(JANUS_SUB_OFFER)
    # an inner payload type equal to Janus's own, or already taken, cannot be expressed: unchanged
    assert subscriber_offer(JANUS_SUB_OFFER, RedAudio(63, 111)) == JANUS_SUB_OFFER
    taken = JANUS_SUB_OFFER.replace("a=mid:0\r\n", "a=mid:0\r\na=rtpmap:63 G722/8000\r\n")
    assert subscriber_offer(taken, RedAudio(111, 63)) == taken
