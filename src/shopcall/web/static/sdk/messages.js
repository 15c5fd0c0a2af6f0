/**
 * Server events (frames without a pending request) are routed through a table built from the
 * feature modules: message type → handler `(client, msg) => void`, or → an SDK event made with
 * {@link emit} (optionally reshaping the message into the event's detail).
 * @module shopcall/messages
 */

/**
 * @typedef {(client: any, msg: any) => any} Handler
 * @typedef {{event: string, detail: ((msg: any) => any)|null}} Forward
 * @typedef {Object<string, Handler|Forward>} MessageTable
 */

/**
 * A table entry that re-emits the message as the SDK event `event`.
 * @param {string} event
 * @param {(msg: any) => any} [detail] the event's detail from the message (default: the message)
 * @returns {Forward}
 */
export function emit(event, detail) {
  return { event, detail: detail || null };
}

/**
 * One table from the features' tables; a type claimed twice is a programming error.
 * @param {...MessageTable} tables
 * @returns {MessageTable}
 */
export function mergeTables(...tables) {
  /** @type {MessageTable} */
  const out = Object.create(null);
  for (const t of tables) {
    for (const [type, entry] of Object.entries(t)) {
      if (type in out) throw new Error(`message type ${type} handled twice`);
      out[type] = entry;
    }
  }
  return out;
}

/**
 * Handle one server event. Types the table does not know (a newer server) are logged and ignored.
 * @param {MessageTable} table
 * @param {{_emit: (type: string, detail: any) => void, _log: (...a: any[]) => void}} client
 * @param {{type: string}} msg
 * @returns {boolean} whether the table knew the type
 */
export function dispatch(table, client, msg) {
  const entry = Object.prototype.hasOwnProperty.call(table, msg.type) ? table[msg.type] : null;
  if (!entry) {
    client._log("ignored server message", msg.type);
    return false;
  }
  if (typeof entry === "function") entry(client, msg);
  else client._emit(entry.event, entry.detail ? entry.detail(msg) : msg);
  return true;
}
