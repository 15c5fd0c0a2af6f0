/**
 * Inline SVG icons (24×24, stroke = currentColor) shared by the ShopCall components and pages.
 * @module shopcall/icons
 */

const wrap = (body, extra = "") =>
  `<svg viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" stroke-width="1.9" ` +
  `stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false" ${extra}>${body}</svg>`;

const MIC_BODY =
  '<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5.5 11a6.5 6.5 0 0 0 13 0"/><path d="M12 17.5V21"/><path d="M8.5 21h7"/>';
const CAM_BODY = '<rect x="2.5" y="6.5" width="13" height="11" rx="2.5"/><path d="M15.5 10.5 21.5 7v10l-6-3.5z"/>';
const SLASH = '<path d="M3.5 3.5l17 17"/>';

export const icons = {
  mic: wrap(MIC_BODY),
  micOff: wrap(
    '<path d="M15 9.3V6a3 3 0 0 0-5.8-1.1"/><path d="M9 9v2a3 3 0 0 0 5.1 2.1"/><path d="M18.5 11a6.5 6.5 0 0 1-1.1 3.6"/>' +
      '<path d="M5.5 11a6.5 6.5 0 0 0 10.4 5.2"/><path d="M12 17.5V21"/><path d="M8.5 21h7"/>' +
      SLASH,
  ),
  camera: wrap(CAM_BODY),
  cameraOff: wrap(
    '<path d="M10 6.5h3a2.5 2.5 0 0 1 2.5 2.5v2.5"/><path d="M15.5 15v.1A2.4 2.4 0 0 1 13 17.5H5A2.5 2.5 0 0 1 2.5 15V9A2.5 2.5 0 0 1 5 6.5"/>' +
      '<path d="M17.5 12.2 21.5 10v7l-3-1.7"/>' +
      SLASH,
  ),
  hangup: wrap(
    '<path d="M2.6 14.9c5.2-5 13.6-5 18.8 0 .5.5.5 1.3 0 1.8l-1.7 1.7c-.5.5-1.2.5-1.7.1l-2.2-1.7c-.4-.3-.6-.8-.5-1.3l.3-1.7a11.6 11.6 0 0 0-7.2 0l.3 1.7c.1.5-.1 1-.5 1.3l-2.2 1.7c-.5.4-1.2.4-1.7-.1l-1.7-1.7c-.5-.5-.5-1.3 0-1.8z" fill="currentColor" stroke="none"/>',
  ),
  phone: wrap(
    '<path d="M5 3.5h3.2l1.6 4.2-2.2 1.5a11 11 0 0 0 5.2 5.2l1.5-2.2 4.2 1.6V17a2.5 2.5 0 0 1-2.5 2.5A15 15 0 0 1 2.5 6 2.5 2.5 0 0 1 5 3.5z"/>',
  ),
  video: wrap(CAM_BODY),
  volume: wrap('<path d="M4 9.5h3.5L12 5.5v13l-4.5-4H4z"/><path d="M15.5 9a4 4 0 0 1 0 6"/><path d="M18.5 6.5a7.5 7.5 0 0 1 0 11"/>'),
  expand: wrap('<path d="M14 4h6v6"/><path d="M10 20H4v-6"/><path d="M20 4l-6.5 6.5"/><path d="M4 20l6.5-6.5"/>'),
  collapse: wrap('<path d="M20 10h-6V4"/><path d="M4 14h6v6"/><path d="M14 10l6.5-6.5"/><path d="M10 14l-6.5 6.5"/>'),
  close: wrap('<path d="M6 6l12 12"/><path d="M18 6 6 18"/>'),
  alert: wrap('<path d="M12 3.5 2.5 20h19z"/><path d="M12 10v4.5"/><path d="M12 17.3v.2"/>'),
  wifiOff: wrap(
    '<path d="M2.5 8.8a14 14 0 0 1 4.6-2.9"/><path d="M10.5 5.1a14 14 0 0 1 11 3.7"/><path d="M5.5 12.3a9 9 0 0 1 3.5-2.1"/>' +
      '<path d="M14.6 10.4a9 9 0 0 1 3.9 1.9"/><path d="M8.8 15.6a4.5 4.5 0 0 1 6.4 0"/><path d="M12 19.5v.1"/>' +
      SLASH,
  ),
  user: wrap('<circle cx="12" cy="8" r="4"/><path d="M4 20.5a8 8 0 0 1 16 0"/>'),
  cart: wrap(
    '<path d="M3 4h2.2l2.2 11h10.4l2.2-8H6.4"/><circle cx="9" cy="19.5" r="1.3"/><circle cx="17" cy="19.5" r="1.3"/>',
  ),
  check: wrap('<path d="M4.5 12.5 9.5 17.5 19.5 7"/>'),
  logout: wrap('<path d="M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4"/><path d="M16 17l5-5-5-5"/><path d="M21 12H9"/>'),
  screen: wrap('<rect x="2.5" y="4" width="19" height="13" rx="2"/><path d="M8 21h8"/><path d="M12 17v4"/><path d="M9.5 10.5 12 8l2.5 2.5"/><path d="M12 8v5.5"/>'),
  record: wrap('<circle cx="12" cy="12" r="8.5"/><circle cx="12" cy="12" r="4" fill="currentColor"/>'),
  star: wrap('<path d="M12 3.5l2.6 5.3 5.9.9-4.3 4.1 1 5.8-5.2-2.7-5.2 2.7 1-5.8-4.3-4.1 5.9-.9z"/>'),
  pen: wrap('<path d="M4 20l1.2-4.6L15.6 5a2.1 2.1 0 0 1 3 0l.4.4a2.1 2.1 0 0 1 0 3L8.6 18.8z"/><path d="M13.5 7l3.5 3.5"/>'),
  chat: wrap('<path d="M4 5.5h16v10H9l-4.5 4v-4H4z"/><path d="M8 9.5h8"/><path d="M8 12.5h5"/>'),
  undo: wrap('<path d="M9 7 4.5 11.5 9 16"/><path d="M5 11.5h9.5a5 5 0 0 1 0 10H12"/>'),
  trash: wrap('<path d="M4.5 7h15"/><path d="M9.5 7V4.5h5V7"/><path d="M6.5 7l1 13h9l1-13"/>'),
  clock: wrap('<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>'),
  link: wrap(
    '<path d="M10 14a4.5 4.5 0 0 0 6.4 0l3-3a4.5 4.5 0 0 0-6.4-6.4l-1 1"/><path d="M14 10a4.5 4.5 0 0 0-6.4 0l-3 3a4.5 4.5 0 0 0 6.4 6.4l1-1"/>',
  ),
};

/**
 * Two-letter initials for an avatar.
 * @param {string} name
 */
export function initials(name) {
  const parts = String(name || "?")
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  if (!parts.length) return "?";
  const first = parts[0][0] || "";
  const last = parts.length > 1 ? parts[parts.length - 1][0] : "";
  return (first + last).toUpperCase();
}

/**
 * Escape text for HTML.
 * @param {any} s
 */
export function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
