/**
 * An INVITE we sent (RFC 3261 §13.2): its transaction, the early dialogs its forks created,
 * the dialog its first 2xx confirmed, and CANCEL (§9.1). The dialog manager fills it in.
 */
import type { SipRequest } from '../message/index.js';
import type { InviteClientTransaction, TransactionLayer } from '../transaction/index.js';
import type { Dialog } from './dialog.js';
import type { ReliableProvisionalReceiver } from './reliable-provisional.js';

/**
 * An INVITE we sent and what came of it.
 *
 * @example
 * ```ts
 * const call = manager.invite(opts, handlers);
 * setTimeout(() => call.cancel(), 30_000); // no answer in 30 s
 * ```
 */
export class OutgoingInvite {
  /** The INVITE in flight (a new one after a 422 retry). */
  request: SipRequest;
  /** Its transaction. */
  tx: InviteClientTransaction;
  /** Early dialogs by remote tag (one per fork that sent a 1xx with a tag). */
  readonly earlyDialogs = new Map<string, Dialog>();
  /** The dialog the first 2xx confirmed. */
  dialog: Dialog | undefined;
  /** @internal ACKs sent to 2xx of extra forks (by To tag), re-sent for their retransmissions. */
  readonly forkAcks = new Map<string, SipRequest>();
  /** @internal Reliable provisional ordering per fork. */
  readonly rseq = new Map<string, ReliableProvisionalReceiver>();
  /** @internal */
  sessionRetries = 0;
  /** @internal */
  done = false;
  /** The transaction a CANCEL was sent for. */
  private cancelledTx: InviteClientTransaction | undefined;

  /** @internal */
  constructor(
    request: SipRequest,
    tx: InviteClientTransaction,
    private readonly layer: TransactionLayer,
  ) {
    this.request = request;
    this.tx = tx;
  }

  /**
   * Sends a CANCEL (§9.1) when the INVITE has had a provisional response and no final one,
   * once. Returns whether it was sent (false when one was already). `headers` go on the
   * CANCEL — a forking proxy or B2BUA adds `Reason: SIP;cause=200;text="Call completed
   * elsewhere"` (RFC 3326) so the losing phones do not log a missed call.
   */
  cancel(headers?: Iterable<[string, string]>): boolean {
    // Once per INVITE transaction: its retransmissions are the CANCEL transaction's job, and a
    // second one (a pickup's Replaces ending a leg the B2BUA cancelled) would reuse its branch.
    if (this.tx.state !== 'proceeding' || this.cancelledTx === this.tx) return false;
    this.cancelledTx = this.tx;
    const cancel = this.layer.createCancel(this.tx);
    for (const [name, value] of headers ?? []) cancel.append(name, value);
    this.layer.sendRequest(cancel, this.tx.destination);
    return true;
  }
}
