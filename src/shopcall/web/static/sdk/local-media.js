/**
 * Local camera and microphone: getUserMedia that degrades gracefully, with readable errors,
 * and optional AI noise suppression (RNNoise) on the microphone.
 * @module shopcall/local-media
 */

import { ERROR_TEXT, ShopCallError } from "./errors.js";

/**
 * Map a getUserMedia failure to a ShopCallError with a helpful code.
 * @param {any} err
 * @param {{audio?: boolean, video?: boolean}} wanted
 */
export function mediaError(err, wanted) {
  const name = err && err.name;
  let code = "internal";
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
    code = wanted.video && wanted.audio ? "media_blocked" : wanted.video ? "camera_blocked" : "microphone_blocked";
  } else if (name === "NotFoundError" || name === "DevicesNotFoundError" || name === "OverconstrainedError") {
    code = wanted.video ? "no_camera" : "no_microphone";
  } else if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") {
    code = "device_busy";
  } else if (name === "TypeError" && typeof isSecureContext !== "undefined" && !isSecureContext) {
    code = "media_insecure";
  }
  return new ShopCallError(code, ERROR_TEXT[code] || (err && err.message) || "Media error", { cause: err });
}

/**
 * AI noise suppression (RNNoise, WebAssembly, in an AudioWorklet) for a microphone track.
 * Returns the processed track (publish this one) and a switch; stopping the processed track
 * also stops the microphone. Needs the server's `/vendor/noise-suppressor` files.
 * @param {MediaStreamTrack} track
 * @param {{base?: string, enabled?: boolean}} [opts]
 * @returns {Promise<{track: MediaStreamTrack, enabled: boolean, setEnabled: (on: boolean) => void, close: () => void}>}
 */
export async function createNoiseSuppressor(track, opts = {}) {
  const base = opts.base || "/vendor/noise-suppressor";
  const { RnnoiseWorkletNode, loadRnnoise } = await import(`${base}/index.js`);
  const ctx = new AudioContext({ sampleRate: 48000 }); // RNNoise works on 48 kHz frames
  const [wasmBinary] = await Promise.all([
    loadRnnoise({ url: `${base}/rnnoise.wasm`, simdUrl: `${base}/rnnoise_simd.wasm` }),
    ctx.audioWorklet.addModule(`${base}/rnnoise/workletProcessor.js`),
  ]);
  const src = ctx.createMediaStreamSource(new MediaStream([track]));
  const node = new RnnoiseWorkletNode(ctx, { wasmBinary, maxChannels: 1 });
  const dest = ctx.createMediaStreamDestination();
  node.connect(dest);
  const out = dest.stream.getAudioTracks()[0];
  const ns = {
    track: out,
    enabled: false,
    /** @param {boolean} on */
    setEnabled(on) {
      src.disconnect();
      src.connect(on ? node : dest);
      ns.enabled = !!on;
    },
    close() {
      try {
        node.port.postMessage("destroy");
      } catch (_) {
        /* already gone */
      }
      track.stop();
      ctx.close().catch(() => {});
    },
  };
  ns.setEnabled(opts.enabled !== false);
  ctx.resume().catch(() => {});
  const stop = out.stop.bind(out);
  out.stop = () => {
    stop();
    ns.close();
  };
  return ns;
}

/**
 * Open the camera and microphone, degrading gracefully: if both cannot be had, try each
 * alone so that a shopper with a blocked camera can still talk. With `noiseSuppression: true`,
 * RNNoise runs on the microphone (falling back to the raw microphone if the suppressor cannot
 * load); `stream.noiseSuppressor` is then its switch.
 *
 * @param {{audio?: boolean|MediaTrackConstraints, video?: boolean|MediaTrackConstraints, noiseSuppression?: boolean}} [want]
 * @returns {Promise<{stream: MediaStream, problems: ShopCallError[]}>} `problems` lists what
 *   could not be opened (e.g. `camera_blocked`); rejects only when nothing could be opened.
 */
export async function getLocalMedia(want = {}) {
  const got = await openDevices(want);
  if (!want.noiseSuppression) return got;
  const mic = got.stream.getAudioTracks()[0];
  if (!mic) return got;
  try {
    const ns = await createNoiseSuppressor(mic, { enabled: true });
    const stream = new MediaStream([...got.stream.getVideoTracks(), ns.track]);
    /** @type {any} */ (stream).noiseSuppressor = ns;
    return { stream, problems: got.problems };
  } catch (err) {
    console.warn("noise suppression unavailable", err);
    return got;
  }
}

/** getUserMedia for both, else each alone. @param {any} want */
async function openDevices(want) {
  // echo cancellation and auto gain on; the browser's own noise suppression only when RNNoise is not used
  const voice = { echoCancellation: true, autoGainControl: true, noiseSuppression: !want.noiseSuppression };
  const audio = want.audio === undefined ? voice : want.audio && typeof want.audio === "object" ? { ...voice, ...want.audio } : want.audio;
  const video =
    want.video === undefined ? { width: { ideal: 1280 }, height: { ideal: 720 }, facingMode: "user" } : want.video;
  if (typeof navigator === "undefined" || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    const insecure = typeof isSecureContext !== "undefined" && !isSecureContext;
    const code = insecure ? "media_insecure" : "webrtc_unsupported";
    throw new ShopCallError(code, ERROR_TEXT[code]);
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio, video });
    return { stream, problems: [] };
  } catch (bothErr) {
    if (!audio || !video) throw mediaError(bothErr, { audio: !!audio, video: !!video });
    /** @type {ShopCallError[]} */
    const problems = [];
    const tracks = [];
    try {
      const s = await navigator.mediaDevices.getUserMedia({ audio });
      tracks.push(...s.getTracks());
    } catch (e) {
      problems.push(mediaError(e, { audio: true }));
    }
    try {
      const s = await navigator.mediaDevices.getUserMedia({ video });
      tracks.push(...s.getTracks());
    } catch (e) {
      problems.push(mediaError(e, { video: true }));
    }
    if (!tracks.length) throw mediaError(bothErr, { audio: true, video: true });
    return { stream: new MediaStream(tracks), problems };
  }
}
