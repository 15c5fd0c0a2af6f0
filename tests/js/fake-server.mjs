// A stand-in for the browser's WebSocket and the server behind it, so the SDK's signalling
// logic runs in Node: tests read what the client sent and push server frames to it.
import { ShopCallClient } from "../../src/shopcall/web/static/sdk/shopcall.js";

export class FakeWebSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 3;
  /** @type {FakeWebSocket[]} every socket opened, newest last */
  static opened = [];

  constructor(url) {
    this.url = url;
    this.readyState = FakeWebSocket.CONNECTING;
    /** @type {any[]} frames the client sent, parsed */
    this.sent = [];
    FakeWebSocket.opened.push(this);
  }

  send(text) {
    this.sent.push(JSON.parse(text));
  }

  close(code = 1000) {
    this.serverClose(code);
  }

  // ---- the server's side

  open() {
    this.readyState = FakeWebSocket.OPEN;
    this.onopen?.({});
  }

  push(msg) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }

  serverClose(code, reason = "") {
    if (this.readyState === FakeWebSocket.CLOSED) return;
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.({ code, reason });
  }

  /** The last frame the client sent of `type`. */
  last(type) {
    return this.sent.filter((m) => m.type === type).at(-1);
  }
}

globalThis.WebSocket = FakeWebSocket;

export const WELCOME = { identity: "anna", name: "Anna", role: "agent", app_id: "app_1", rooms: ["*"], expires_at: 0, ice_servers: [], heartbeat_s: 20 };

/**
 * A client that went through hello/welcome on a fake socket.
 * @param {object} [options] ShopCallClient options
 * @returns {Promise<{client: ShopCallClient, ws: FakeWebSocket, events: Array<{type: string, detail: any}>}>}
 */
export async function connectedClient(options = {}) {
  const client = new ShopCallClient({ url: "ws://test/v1/signal", qualityReportMs: 0, ...options });
  /** @type {Array<{type: string, detail: any}>} */
  const events = [];
  const record = client.dispatchEvent.bind(client);
  client.dispatchEvent = (ev) => {
    events.push({ type: ev.type, detail: ev.detail });
    return record(ev);
  };
  const connecting = client.connect("token-1");
  const ws = FakeWebSocket.opened.at(-1);
  ws.open();
  ws.push({ type: "welcome", re: ws.last("hello").id, ...WELCOME });
  await connecting;
  return { client, ws, events };
}

/** The events of one type, their details. */
export function details(events, type) {
  return events.filter((e) => e.type === type).map((e) => e.detail);
}
