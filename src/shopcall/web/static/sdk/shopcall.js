/**
 * ShopCall browser SDK.
 *
 * Speaks the ShopCall signalling protocol v1 (docs/signalling.md) over one WebSocket
 * (`ws(s)://<host>/v1/signal`) and manages the WebRTC peer connections to the media server:
 * one send-only "publisher" connection for the local camera/microphone and one receive-only
 * connection per subscription to a remote participant.
 *
 * Plain ES modules, no dependencies, no build step. This file is the public entry point; the
 * parts live next to it:
 * - client.js — ShopCallClient: state, events, the glue between the parts below
 * - transport.js — socket, hello, requests/replies, heartbeat, reconnect policy and backoff
 * - messages.js — the server-message table (type → handler or forwarded event)
 * - room.js — join/leave, participants, track and media-server events
 * - publisher.js, subscriptions.js, peer.js — the peer connections that send and receive
 * - screen.js — screen sharing; red.js — redundant audio (SDP munging, red-worker.js)
 * - local-media.js — camera/microphone with readable errors, noise suppression
 * - errors.js — ShopCallError and sentences for people
 * - features/ — calls and queue, in-call chat/cards/annotation, moderation, recording,
 *   visitors, quality: each one's requests and its part of the message table
 *
 * @example
 *   import { ShopCallClient } from "/static/sdk/shopcall.js";
 *   const client = new ShopCallClient();
 *   client.addEventListener("track", (e) => { video.srcObject = e.detail.stream; });
 *   await client.connect(token);
 *   const { call, room } = await client.startCall({ product: "sku-1", page: location.href });
 *   const { agent } = await client.waitForAnswer(call);
 *   await client.join(room);
 *   await client.publish(await navigator.mediaDevices.getUserMedia({ audio: true, video: true }));
 *
 * @module shopcall
 */

export const PROTOCOL_VERSION = 1;
export const SDK_VERSION = "0.1.0";

/**
 * @typedef {Object} Participant
 * @property {string} pid
 * @property {string} identity
 * @property {string} name
 * @property {"shopper"|"agent"|"admin"|string} role
 * @property {boolean} publishing
 * @property {boolean} audio_muted
 * @property {boolean} video_muted
 * @property {boolean} [reconnecting] their connection dropped; the server keeps their place
 */

/**
 * @typedef {Object} Welcome
 * @property {string} identity
 * @property {string} name
 * @property {string} role
 * @property {string} app_id
 * @property {string[]} rooms
 * @property {number} expires_at
 * @property {RTCIceServer[]} ice_servers
 * @property {number} heartbeat_s the server pings this often (and the SDK pings it)
 * @property {number} [liveness_timeout_s] no frame for this long: the socket is dead
 * @property {{room: string|null, call: string|null, pid: string|null}} [resume] where a resumed
 *   participant was (hello with a resume token; see `client.resume()`)
 */

/**
 * @typedef {Object} IncomingCall
 * @property {string} call
 * @property {string} room
 * @property {{identity: string, name: string}} shopper
 * @property {Object<string, any>} context
 * @property {number} [created_at]
 */

/**
 * @typedef {"idle"|"connecting"|"connected"|"reconnecting"|"closed"} ConnectionState
 */

/**
 * @typedef {Object} ClientOptions
 * @property {string} [url] WebSocket URL; default `ws(s)://<location.host>/v1/signal`.
 * @property {number} [requestTimeoutMs=15000] how long a request waits for its reply.
 * @property {boolean} [reconnect=true] reconnect automatically when the socket drops.
 * @property {number} [maxReconnectAttempts=8]
 * @property {() => Promise<string>|string} [tokenProvider] returns a fresh token; used on
 *   `token_expiring` (sends `refresh`) and when reconnecting.
 * @property {boolean} [simulcast=true] send three video layers when the camera is ≥ 640 wide.
 * @property {boolean} [autoSubscribe=true] subscribe to every publishing participant.
 * @property {boolean} [audioRedundancy=true] send redundant audio (RED) when the browser offers it:
 *   each packet also carries the previous one, so random loss costs far less audio.
 * @property {number} [qualityReportMs=5000] how often to send the quality summary (0: never).
 * @property {boolean} [relayOnly=false] only relayed (TURN) paths (`iceTransportPolicy: "relay"`), so the
 *   media server never sees this device's addresses; needs TURN in `welcome.ice_servers`, else peer
 *   connections fail with `relay_unavailable`.
 * @property {Storage|null} [resumeStorage] where the resume token for the next page of this tab is
 *   kept; default the tab's `sessionStorage`, `null` for nowhere (no resume after a reload).
 * @property {boolean} [debug=false] log protocol traffic to the console.
 */

export { ShopCallClient } from "./client.js";
export { ERROR_TEXT, ShopCallError, describeError } from "./errors.js";
export { createNoiseSuppressor, getLocalMedia } from "./local-media.js";
export { swapOpusAndRed } from "./red.js";
export { ShopCallClient as default } from "./client.js";
