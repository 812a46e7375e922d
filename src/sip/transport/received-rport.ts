/**
 * What a server transport writes into the top Via of every request it receives
 * (RFC 3261 §18.2.1, RFC 3581 §4):
 *
 * - `received=<source address>` when the Via's sent-by host differs from the address the
 *   packet came from, and always when the Via carries `rport`;
 * - `rport=<source port>` when the Via carries an empty `rport` (the client asked for it).
 *
 * The transaction layer then answers to `received` and, with `rport`, to the source port
 * (§18.2.2), which is what gets responses through NATs.
 */
import type { SipRequest, Via } from '../message/index.js';
import type { Endpoint } from './types.js';

/**
 * The top Via as it should read after receipt from `source`, or undefined when it needs no
 * change. Pure: the request is not touched.
 *
 * @example
 * ```ts
 * const via = parseVia('SIP/2.0/UDP 10.0.0.7:5060;rport;branch=z9hG4bK1');
 * receivedVia(via, { protocol: 'udp', address: '203.0.113.9', port: 40112 })?.toString();
 * // 'SIP/2.0/UDP 10.0.0.7:5060;rport=40112;branch=z9hG4bK1;received=203.0.113.9'
 * ```
 */
export function receivedVia(via: Via, source: Endpoint): Via | undefined {
  const rport = via.rport;
  const hostDiffers = !sameAddress(via.host, source.address);
  const wantsRport = rport === null;
  // RFC 3581 §4: with rport the server MUST add received, even when sent-by matches.
  if (!hostDiffers && rport === undefined) return undefined;
  const v = via.clone();
  if (wantsRport) v.params.set('rport', String(source.port));
  v.params.set('received', source.address);
  if (v.toString() === via.toString()) return undefined;
  return v;
}

/**
 * Applies {@link receivedVia} to a request's top Via in place. Returns whether it changed.
 * A request whose top Via cannot be read is left alone (the caller answers it 400).
 *
 * @example
 * ```ts
 * stampReceived(request, inbound.source); // before handing the request to the transaction layer
 * ```
 */
export function stampReceived(request: SipRequest, source: Endpoint): boolean {
  let via: Via | undefined;
  try {
    via = request.topVia;
  } catch {
    return false;
  }
  if (via === undefined) return false;
  const updated = receivedVia(via, source);
  if (updated === undefined) return false;
  request.removeFirstValue('Via');
  request.prepend('Via', updated);
  return true;
}

function sameAddress(viaHost: string, address: string): boolean {
  if (viaHost.length === address.length && viaHost.toLowerCase() === address.toLowerCase()) return true;
  // An IPv4-mapped IPv6 source (::ffff:192.0.2.1) is the same host as 192.0.2.1.
  return address.toLowerCase().startsWith('::ffff:') && address.slice(7) === viaHost;
}

/**
 * The client side of RFC 3581 (§3): a request sent over UDP asks for `rport` in its top Via,
 * so the server answers to the port it came from (we send from the port we listen on, so
 * responses come back through NATs). Adds an empty `rport` in place when the top Via has
 * none; returns whether it changed.
 *
 * @example
 * ```ts
 * requestRport(invite); // Via: SIP/2.0/UDP 10.0.0.7:5060;branch=z9hG4bK1;rport
 * ```
 */
export function requestRport(request: SipRequest): boolean {
  let via: Via | undefined;
  try {
    via = request.topVia;
  } catch {
    return false;
  }
  if (via === undefined || via.params.has('rport')) return false;
  const v = via.clone();
  v.params.set('rport', null);
  request.removeFirstValue('Via');
  request.prepend('Via', v);
  return true;
}
