/**
 * Peer-connection plumbing shared by the publisher, the screen share and the subscriptions.
 * @module shopcall/peer
 */

/**
 * Trickle a peer connection's ICE candidates to the server for `target`, held back until the
 * server's session exists (its answer came) and then flushed in order. `null` = end of candidates.
 * @param {{_send: (msg: any) => boolean}} client
 * @param {string} target "publisher", "screen" or a subscription id
 */
export function candidateQueue(client, target) {
  /** @type {Array<RTCIceCandidateInit|null>} */
  let held = [];
  let ready = false;
  const send = (candidate) => client._send({ type: "trickle", target, candidate });
  return {
    /** @param {RTCIceCandidateInit|null} candidate */
    add(candidate) {
      if (ready) send(candidate);
      else held.push(candidate);
    },
    flush() {
      ready = true;
      const queued = held;
      held = [];
      for (const c of queued) send(c);
    },
  };
}

/** ShopCallClient methods (mixed into its prototype). */
export const methods = {
  /** A peer connection with the ICE servers from the welcome. */
  _newPeerConnection() {
    return new RTCPeerConnection({ iceServers: (this.welcome && this.welcome.ice_servers) || [] });
  },
};
