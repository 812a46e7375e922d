/** Building a CANCEL for a pending INVITE (RFC 3261 §9.1). */
import { SipRequest } from '../message/index.js';
import { topViaText } from './ack-request.js';

/**
 * Builds the CANCEL for `invite` (§9.1): the same Request-URI, Call-ID, To, From (tags
 * included) and CSeq number, method CANCEL; a single Via equal to the INVITE's top Via (same
 * branch, so the server matches it to the INVITE transaction, §9.2); the INVITE's Route
 * headers and Max-Forwards. Send it with `TransactionLayer.sendRequest` to the INVITE's
 * destination, and only once a provisional response has arrived (§9.1).
 *
 * @example
 * ```ts
 * const cancel = createCancel(inviteTx.request);
 * layer.sendRequest(cancel, inviteTx.destination, { onFinal: (r) => console.log('CANCEL got', r.status) });
 * ```
 */
export function createCancel(invite: SipRequest): SipRequest {
  if (invite.method !== 'INVITE') throw new TypeError(`Only an INVITE can be cancelled (§9.1), not ${invite.method}`);
  const cancel = new SipRequest('CANCEL', invite.uriString);
  cancel.append('Via', topViaText(invite));
  cancel.append('Max-Forwards', invite.get('Max-Forwards') ?? '70');
  cancel.append('From', invite.get('From') ?? '');
  cancel.append('To', invite.get('To') ?? '');
  cancel.append('Call-ID', invite.callId);
  cancel.append('CSeq', `${invite.cseq.seq} CANCEL`);
  for (const route of invite.getAll('Route')) cancel.append('Route', route);
  return cancel;
}
