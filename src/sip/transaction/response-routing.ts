/**
 * Where a server sends its responses (RFC 3261 §18.2.2, with RFC 3581 symmetric response
 * routing). A pure function of the request as it arrived, worked out once per server
 * transaction.
 */
import type { Via } from '../message/index.js';
import type { Destination, InboundMessage, TransportProtocol } from '../transport/types.js';

function defaultPort(protocol: TransportProtocol): number {
  return protocol === 'tls' || protocol === 'wss' ? 5061 : 5060;
}

function topViaOf(inbound: InboundMessage): Via | undefined {
  try {
    return inbound.message.topVia;
  } catch {
    return undefined; // a malformed Via: answer the packet's source
  }
}

/**
 * The destination for responses to `request` (§18.2.2):
 *
 * 1. a request that came on a connection (TCP, TLS, WebSocket) is answered on it: the
 *    connection id, and the packet's source as the address should it have closed;
 * 2. else a `maddr` in the top Via: that address, the sent-by port (or the default);
 * 3. else the `received` address (the packet's source: §18.2.1 adds `received` whenever
 *    sent-by differs from it, so it is used whether the transport wrote the parameter or
 *    not), with the source port when the Via has `rport` (RFC 3581 §4), else the sent-by
 *    port or the default (5060, 5061 for TLS).
 *
 * @example
 * ```ts
 * responseDestination(inbound);
 * // Via: SIP/2.0/UDP 10.0.0.7:5060;rport;branch=z9hG4bK1, from 203.0.113.9:40112
 * // → { protocol: 'udp', address: '203.0.113.9', port: 40112 }
 * ```
 */
export function responseDestination(request: InboundMessage): Destination {
  const source = request.source;
  const protocol = source.protocol;
  if (request.connectionId !== undefined) {
    return { protocol, address: source.address, port: source.port, connectionId: request.connectionId };
  }
  const via = topViaOf(request);
  if (via === undefined) return { protocol, address: source.address, port: source.port };
  const maddr = via.maddr;
  if (maddr !== undefined) return { protocol, address: maddr, port: via.port ?? defaultPort(protocol) };
  const address = via.received ?? source.address;
  const rport = via.rport;
  let port: number;
  if (rport === null) port = source.port; // asked for, not yet filled in by the transport
  else if (rport !== undefined) port = rport;
  else port = via.port ?? defaultPort(protocol);
  return { protocol, address, port };
}
