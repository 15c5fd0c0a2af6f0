// SDP munging for redundant audio (red.js), on a real Chromium offer.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { JANUS_OPUS_PT, payloadTypeOf, redPayloadType, swapOpusAndRed } from "../../src/shopcall/web/static/sdk/red.js";

const OFFER = readFileSync(new URL("../integration/data/chromium156_offer.sdp", import.meta.url), "utf8");
const sections = (sdp) => sdp.split(/(?=^m=)/m);
const audio = (sdp) => sections(sdp).find((s) => s.startsWith("m=audio"));
const video = (sdp) => sections(sdp).find((s) => s.startsWith("m=video"));
const lines = (sec) => sec.split("\r\n").filter(Boolean);

test("the fixture is what Chromium offers: Opus on Janus's payload type, RED next to it", () => {
  assert.equal(payloadTypeOf(audio(OFFER), "opus"), JANUS_OPUS_PT);
  assert.equal(payloadTypeOf(audio(OFFER), "red"), "63");
  assert.match(OFFER, /\r\n/);
});

test("Opus and RED swap payload types in rtpmap, fmtp, rtcp-fb and the m= line", () => {
  const out = audio(swapOpusAndRed(OFFER));
  assert.equal(payloadTypeOf(out, "opus"), "63");
  assert.equal(payloadTypeOf(out, "red"), "111");
  assert.equal(lines(out)[0], "m=audio 9 UDP/TLS/RTP/SAVPF 63 111 9 0 8 13 110 126");
  assert.ok(lines(out).includes("a=rtcp-fb:63 transport-cc"));
  assert.ok(lines(out).includes("a=fmtp:63 minptime=10;useinbandfec=1"));
  assert.ok(!lines(out).some((l) => l.startsWith("a=rtcp-fb:111")), "Opus's feedback moved with it");
});

test("RED's fmtp names the new Opus payload type for each redundant block", () => {
  const out = audio(swapOpusAndRed(OFFER));
  assert.ok(lines(out).includes("a=fmtp:111 63/63"), out);
});

test("only payload-type fields change: same lines otherwise, CRLF kept, video untouched", () => {
  const out = swapOpusAndRed(OFFER);
  assert.equal(video(out), video(OFFER));
  assert.equal(lines(out).length, lines(OFFER).length);
  assert.ok(!/[^\r]\n/.test(out), "no bare LF");
  const changed = lines(out).filter((l, i) => l !== lines(OFFER)[i]);
  assert.deepEqual(changed, [
    "m=audio 9 UDP/TLS/RTP/SAVPF 63 111 9 0 8 13 110 126",
    "a=rtpmap:63 opus/48000/2",
    "a=rtcp-fb:63 transport-cc",
    "a=fmtp:63 minptime=10;useinbandfec=1",
    "a=rtpmap:111 red/48000/2",
    "a=fmtp:111 63/63",
  ]);
});

test("a swapped offer is left alone by a second swap", () => {
  // the second swap finds Opus on 63, not Janus's 111
  const once = swapOpusAndRed(OFFER);
  assert.equal(swapOpusAndRed(once), once);
});

test("offers without RED, with Opus elsewhere, or without audio are returned unchanged", () => {
  const noRed = OFFER.replace(/^a=(rtpmap|fmtp):63 [^\r\n]*\r\n/gm, "").replace("SAVPF 111 63 ", "SAVPF 111 ");
  assert.equal(payloadTypeOf(audio(noRed), "red"), null);
  assert.equal(swapOpusAndRed(noRed), noRed);
  const opusElsewhere = OFFER.replaceAll("111", "109");
  assert.equal(swapOpusAndRed(opusElsewhere), opusElsewhere);
  const videoOnly = sections(OFFER).filter((s) => !s.startsWith("m=audio")).join("");
  assert.equal(swapOpusAndRed(videoOnly), videoOnly);
});

test("redPayloadType reads RED from an answer's audio section only", () => {
  assert.equal(redPayloadType(swapOpusAndRed(OFFER)), 111);
  assert.equal(redPayloadType(OFFER), 63);
  const noRed = OFFER.replace(/^a=rtpmap:63 red\/48000\/2\r\n/m, "");
  assert.equal(redPayloadType(noRed), null);
  // a "red" codec line in the video section does not count
  assert.equal(redPayloadType(video(OFFER).replace("a=rtpmap:96 VP8/90000", "a=rtpmap:96 red/48000")), null);
});

test("payloadTypeOf matches 48 kHz codecs by name, case-insensitively", () => {
  assert.equal(payloadTypeOf(audio(OFFER), "OPUS"), "111");
  assert.equal(payloadTypeOf(audio(OFFER), "telephone-event"), "110"); // the 48 kHz one, not 126 at 8 kHz
  assert.equal(payloadTypeOf(audio(OFFER), "G722"), null);
});
