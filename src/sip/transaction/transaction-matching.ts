/**
 * Transaction identity: the strings that tie a message to its transaction (RFC 3261 §17.1.3,
 * §17.2.3), and the RFC 3261 branch that makes them unique (§8.1.1.7). A key is built once
 * when a transaction is created and once per arriving message for the map look-up; nothing
 * else is compared.
 */
import { BRANCH_MAGIC_COOKIE, type SipRequest, type Via } from '../message/index.js';

const SEP = '\u0000'; // cannot occur in a header value, so keys of different shapes never collide

/**
 * A new RFC 3261 branch: the magic cookie and 64 random bits in hex (§8.1.1.7: unique across
 * space and time).
 *
 * @example
 * ```ts
 * createBranch((n) => crypto.getRandomValues(new Uint8Array(n))); // 'z9hG4bK3f9a0c1e5b7d2a64'
 * ```
 */
export function createBranch(random: (bytes: number) => Uint8Array): string {
  return BRANCH_MAGIC_COOKIE + Buffer.from(random(8)).toString('hex');
}

/**
 * The key of a client transaction (§17.1.3): the branch of the request's top Via and the
 * CSeq method, so a CANCEL (same branch as its INVITE) has its own transaction.
 *
 * @example
 * ```ts
 * clientTransactionKey('z9hG4bK776asdhds', 'INVITE');
 * ```
 */
export function clientTransactionKey(branch: string, method: string): string {
  return branch + SEP + method;
}

/**
 * The method a server transaction is known by: an ACK belongs to its INVITE (§17.2.3).
 *
 * @example
 * ```ts
 * transactionMethod('ACK'); // 'INVITE'
 * transactionMethod('BYE'); // 'BYE'
 * ```
 */
export function transactionMethod(method: string): string {
  return method === 'ACK' ? 'INVITE' : method;
}

/**
 * The key of a server transaction (§17.2.3) for `request`, as if its method were `method`
 * (pass `'INVITE'` to find the INVITE a CANCEL or an ACK belongs to).
 *
 * With an RFC 3261 branch: branch, sent-by (host case-insensitive) and method. Without the
 * magic cookie (an RFC 2543 peer): Request-URI, `toTag`, From tag, Call-ID, CSeq number,
 * top Via and method. `toTag` is the request's own To tag, except when looking up the INVITE
 * of an RFC 2543 ACK, whose To tag is the one of the response (the layer tries both).
 *
 * Throws `SipParseError` when a header it reads is malformed (the caller drops the message).
 *
 * @example
 * ```ts
 * const key = serverTransactionKey(bye, bye.topVia!, 'BYE', bye.to.tag);
 * ```
 */
export function serverTransactionKey(request: SipRequest, via: Via, method: string, toTag: string | undefined): string {
  if (via.hasRfc3261Branch) {
    const host = via.host.toLowerCase();
    return via.branch! + SEP + host + SEP + (via.port === undefined ? '' : String(via.port)) + SEP + method;
  }
  return (
    SEP + '2543' + SEP + request.uriString + SEP + (toTag ?? '') + SEP + (request.from.tag ?? '') + SEP + request.callId + SEP + String(request.cseq.seq) + SEP + via.toString() + SEP + method
  );
}
