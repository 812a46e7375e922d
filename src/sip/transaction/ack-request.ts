/**
 * The ACK an INVITE client transaction sends for a 300–699 final response (RFC 3261
 * §17.1.1.3). The ACK for a 2xx is not built here: it is a new transaction-less request of the
 * dialog (§13.2.2.4).
 */
import { SipRequest, type SipResponse } from '../message/index.js';

/**
 * The top Via of `request` as it was written: the first Via line when it holds one value (the
 * usual case, so the ACK's Via is byte-identical), else the first value re-serialized.
 * @internal
 */
export function topViaText(request: SipRequest): string {
  const first = request.get('Via');
  if (first !== undefined && first.indexOf(',') < 0) return first;
  const top = request.topVia;
  if (top === undefined) throw new TypeError('The request has no Via');
  return top.toString();
}

/**
 * Builds the ACK for a non-2xx final response to `invite` (§17.1.1.3): the same Request-URI,
 * Call-ID, From and CSeq number as the INVITE with method ACK, a single Via equal to the
 * INVITE's top Via (so it matches the server transaction), the To of the response (with its
 * tag), the INVITE's Route headers and Max-Forwards, and no body.
 *
 * @example
 * ```ts
 * const ack = createNon2xxAck(invite, busyHere); // what InviteClientTransaction sends itself
 * ```
 */
export function createNon2xxAck(invite: SipRequest, response: SipResponse): SipRequest {
  const ack = new SipRequest('ACK', invite.uriString);
  ack.append('Via', topViaText(invite));
  ack.append('Max-Forwards', invite.get('Max-Forwards') ?? '70');
  ack.append('From', invite.get('From') ?? '');
  ack.append('To', response.get('To') ?? invite.get('To') ?? '');
  ack.append('Call-ID', invite.callId);
  ack.append('CSeq', `${invite.cseq.seq} ACK`);
  for (const route of invite.getAll('Route')) ack.append('Route', route);
  return ack;
}
