// Deeper audio redundancy for the publisher's RED stream (RFC 2198), as an RTCRtpScriptTransform.
//
// Chrome's RED carries one earlier frame per packet, so at 70 % random loss both copies of a
// frame are gone 49 % of the time. This transform rewrites each outgoing RED payload to carry
// the last `distance` frames instead (the server raises it when a subscriber reports loss):
// a frame is then lost only when distance + 1 packets in a row are (70 %: 24 % at distance 3).
// The receiving browser's RED splitter uses every block, so nothing changes on that side.
// Anything it cannot parse goes out untouched.

const MAX_PAYLOAD = 1000; // larger encoded audio frames stop Chrome's audio sender (crbug 1248479)
const MAX_OFFSET = 1 << 14; // RED's 14-bit timestamp offset
let distance = 1;
const history = []; // [{ts, data}] recent primary Opus frames, oldest first

let redPt = null; // RED's payload type once the answer is in
self.onmessage = (ev) => {
  const m = ev.data || {};
  if (Number.isInteger(m.distance)) distance = Math.max(1, Math.min(3, m.distance));
  if ("redPt" in m) redPt = Number.isInteger(m.redPt) ? m.redPt : null;
};

/** The primary block of a RED payload and its payload type, or null if it is not well formed. */
function primaryOf(bytes) {
  let i = 0;
  let skip = 0;
  while (i < bytes.length && bytes[i] & 0x80) {
    if (i + 4 > bytes.length) return null;
    skip += ((bytes[i + 2] & 0x03) << 8) | bytes[i + 3];
    i += 4;
  }
  if (i >= bytes.length) return null;
  const pt = bytes[i] & 0x7f;
  const start = i + 1 + skip;
  if (start > bytes.length) return null;
  return { pt, data: bytes.slice(start) };
}

function encode(pt, blocks, primary) {
  let n = blocks.length * 4 + 1 + primary.length;
  for (const b of blocks) n += b.data.length;
  const out = new Uint8Array(n);
  let i = 0;
  for (const b of blocks) {
    out[i] = 0x80 | pt;
    out[i + 1] = b.offset >> 6;
    out[i + 2] = ((b.offset & 0x3f) << 2) | (b.data.length >> 8);
    out[i + 3] = b.data.length & 0xff;
    i += 4;
  }
  out[i++] = pt;
  for (const b of blocks) {
    out.set(b.data, i);
    i += b.data.length;
  }
  out.set(primary, i);
  return out;
}

function rewrite(frame) {
  const meta = frame.getMetadata ? frame.getMetadata() : {};
  if (meta.payloadType !== redPt) return;
  const ts = meta.rtpTimestamp ?? frame.timestamp;
  if (!Number.isInteger(ts)) return;
  const primary = primaryOf(new Uint8Array(frame.data));
  if (!primary || primary.data.length < 3) return; // DTX/comfort noise: nothing worth repeating
  const older = history.filter((h) => {
    const d = (ts - h.ts) >>> 0;
    return d > 0 && d < MAX_OFFSET;
  });
  history.push({ ts, data: primary.data });
  if (history.length > 6) history.shift();
  if (distance <= 1) return; // Chrome's own single copy is already there
  const blocks = [];
  let size = 1 + primary.data.length;
  for (const h of older.slice(-distance).reverse()) { // newest first, so the nearest survive the size cap
    if (size + 4 + h.data.length > MAX_PAYLOAD) break;
    size += 4 + h.data.length;
    blocks.unshift({ offset: (ts - h.ts) >>> 0, data: h.data });
  }
  frame.data = encode(primary.pt, blocks, primary.data).buffer;
}

self.onrtctransform = (ev) => {
  const { readable, writable } = ev.transformer;
  readable
    .pipeThrough(new TransformStream({
      transform(frame, controller) {
        try {
          rewrite(frame);
        } catch (_) {
          /* leave the frame as Chrome made it */
        }
        controller.enqueue(frame);
      },
    }))
    .pipeTo(writable)
    .catch(() => {});
};
