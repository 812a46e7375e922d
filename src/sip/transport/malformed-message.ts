/**
 * What a transport does with bytes that did not parse (RFC 3261 §16.3 / §8.2 spirit,
 * RFC 4475 §3.1.2): a request whose header section and top Via can be read is answered
 * statelessly with the parse error's status (400, or 505) and its reason phrase; anything
 * else — responses, ACKs (which are never answered, §17.2.1), requests without a readable
 * Via — is dropped.
 */
import { createResponse, type SipParseError, type SipResponse, type Via } from '../message/index.js';
import { stampReceived } from './received-rport.js';
import type { Destination, Endpoint } from './types.js';

/**
 * The stateless answer to a message that failed to parse, or undefined when it must be
 * dropped. The top Via of the partial request gets `received`/`rport` first (§18.2.1,
 * RFC 3581), so the response carries them like any other.
 *
 * @example
 * ```ts
 * try { msg = parseMessage(datagram); } catch (e) {
 *   const res = e instanceof SipParseError ? rejectionFor(e, source) : undefined;
 *   if (res) socket.send(res.toBuffer(), ...);
 * }
 * ```
 */
export function rejectionFor(error: SipParseError, source: Endpoint): SipResponse | undefined {
  const req = error.partial;
  if (req === undefined || !req.isRequest || req.method === 'ACK') return undefined;
  try {
    if (req.topVia === undefined) return undefined;
    stampReceived(req, source);
    // A reason phrase is one line of text: the parser's reasons are, but make sure.
    const reason = error.message.replace(/[\r\n]+/g, ' ').slice(0, 200) || 'Bad Request';
    return createResponse(req, error.status, reason);
  } catch {
    return undefined; // the Via (or another copied header) cannot be read: drop (§18.2.1)
  }
}

/**
 * Where a stateless response to a datagram goes (§18.2.2 with RFC 3581 §4): the packet's
 * source address; its source port when the Via has `rport`, else the sent-by port or the
 * default. `maddr` is ignored here: answering a broken request to an address it names would
 * let anyone aim our 400s at a third party.
 *
 * @example
 * ```ts
 * datagramResponseDestination(via, { protocol: 'udp', address: '192.0.2.9', port: 40000 });
 * ```
 */
export function datagramResponseDestination(via: Via | undefined, source: Endpoint): Destination {
  if (via === undefined || via.rport !== undefined) return { ...source };
  return { protocol: source.protocol, address: source.address, port: via.port ?? (source.protocol === 'tls' || source.protocol === 'wss' ? 5061 : 5060) };
}
