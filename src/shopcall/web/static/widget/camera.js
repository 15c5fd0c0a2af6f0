/**
 * Phones: switch between front and rear camera while sending (the shopper shows the product they own),
 * and bring media back after the tab was in the background (a suspended camera track or a paused video
 * element would otherwise stay dead).
 * @module shopcall/widget/camera
 */

/** The cameras the browser reports (labels may be empty before permission). */
export async function cameras() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return [];
  try {
    return (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
  } catch {
    return [];
  }
}

/** The camera after the one `stream` uses now. */
async function nextCamera(stream) {
  const list = await cameras();
  if (list.length < 2) return null;
  const track = stream && stream.getVideoTracks()[0];
  const current = track && track.getSettings ? track.getSettings().deviceId : null;
  const at = list.findIndex((d) => d.deviceId === current);
  return list[(at + 1) % list.length];
}

/**
 * Replace the camera track of `stream` in place, and in the publisher's sender, with `deviceId`'s
 * (or the next camera's). Returns the new track, or null if there is no other camera.
 * @param {{publisherPc?: RTCPeerConnection|null}} client
 * @param {MediaStream} stream
 */
export async function switchCamera(client, stream, deviceId = null) {
  const target = deviceId || ((await nextCamera(stream)) || {}).deviceId;
  if (!target) return null;
  const old = stream.getVideoTracks()[0] || null;
  if (old) old.stop(); // phones cannot open both cameras at once
  const got = await navigator.mediaDevices.getUserMedia({ video: { deviceId: { exact: target } } });
  const track = got.getVideoTracks()[0];
  if (old) {
    track.enabled = old.enabled;
    stream.removeTrack(old);
  }
  stream.addTrack(track);
  const pc = client && client.publisherPc;
  const sender = pc && pc.getSenders().find((s) => s.track && s.track.kind === "video");
  if (sender) await sender.replaceTrack(track);
  return track;
}

/**
 * When the page is visible again: restart an ended camera, replay paused videos in `roots`.
 * @param {() => {client: any, stream: MediaStream|null}|null} current the live call, if any
 * @param {() => Iterable<ParentNode>} roots where the call's video elements are
 * @returns {() => void} stop watching
 */
export function watchVisibility(current, roots) {
  const onVisible = async () => {
    if (document.visibilityState !== "visible") return;
    for (const root of roots()) {
      for (const v of root.querySelectorAll("video")) {
        if (v.srcObject && v.paused) v.play().catch(() => {});
      }
    }
    const live = current();
    const track = live && live.stream && live.stream.getVideoTracks()[0];
    if (track && track.readyState === "ended") {
      const id = track.getSettings ? track.getSettings().deviceId : null;
      await switchCamera(live.client, live.stream, id || null).catch((err) => console.warn("camera not restarted", err));
    }
  };
  document.addEventListener("visibilitychange", onVisible);
  window.addEventListener("pageshow", onVisible);
  return () => {
    document.removeEventListener("visibilitychange", onVisible);
    window.removeEventListener("pageshow", onVisible);
  };
}
