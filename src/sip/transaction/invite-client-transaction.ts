/**
 * The INVITE client transaction (RFC 3261 §17.1.1, Figure 5, with the Accepted state of
 * RFC 6026 §8.4):
 *
 * ```
 *                                |INVITE from TU
 *              Timer A fires     |INVITE sent      Timer B fires
 *              Reset A,          V                 or transport error:
 *              INVITE sent +-----------+           inform TU
 *                +---------|           |---------------------------+
 *                |         |  Calling  |                           |
 *                +-------->|           |------------+              |
 *   300-699                +-----------+ 2xx        |              |
 *   ACK sent                  |  |       2xx to TU  |              |
 *   resp. to TU               |  |1xx               |              |
 *   +-------------------------+  |1xx to TU         |              |
 *   |                            V                  |              |
 *   |               1xx to TU +-----------+         |              |
 *   |               +---------|Proceeding |-------->|              |
 *   |               +-------->|           | 2xx     |              |
 *   |                         +-----------+ 2xx to TU              |
 *   |         300-699            |                  V              |
 *   |         ACK sent,          |            +-----------+        |
 *   |         resp. to TU        |            | Accepted  |<-+ 2xx |
 *   |  +----------------------- -+            |           |--+ to TU
 *   |  |  300-699 ACK sent                    +-----------+        |
 *   |  |  +----+                                    |Timer M fires |
 *   V  V  |    V                                    |              |
 *  +-----------+                                    |              |
 *  | Completed |                                    |              |
 *  +-----------+                                    |              |
 *        | Timer D fires (0 s on a reliable transport)              |
 *        V                                          V              |
 *  +-----------+<-----------------------------------+--------------+
 *  | Terminated|
 *  +-----------+
 * ```
 *
 * Timer A (T1, doubling, unreliable transports only) retransmits the INVITE while Calling;
 * Timer B (64*T1) gives up; Timer D (32 s, 0 on reliable transports) absorbs retransmitted
 * non-2xx finals by re-sending the ACK; Timer M (64*T1) lets further 2xx reach the TU.
 */
import type { SipRequest, SipResponse } from '../message/index.js';
import type { Destination, TransportError } from '../transport/types.js';
import { createNon2xxAck } from './ack-request.js';
import { RETRANSMIT, TIMEOUT, Transaction, WAIT, type TransactionContext } from './transaction.js';
import type { ClientTransactionUser } from './transaction-user.js';

/**
 * States of Figure 5 plus RFC 6026's Accepted.
 *
 * @example
 * ```ts
 * if (inviteTx.state === 'proceeding') layer.sendRequest(layer.createCancel(inviteTx), inviteTx.destination);
 * ```
 */
export type InviteClientState = 'calling' | 'proceeding' | 'accepted' | 'completed' | 'terminated';

/**
 * An INVITE client transaction. Created by `TransactionLayer.sendRequest` for an INVITE; the
 * layer feeds it the responses that match it.
 *
 * @example
 * ```ts
 * const tx = layer.sendRequest(invite, { protocol: 'udp', address: '192.0.2.4', port: 5060 }, {
 *   onProvisional: (r) => console.log('ringing?', r.status),
 *   onFinal: (r) => (r.status < 300 ? sendAckFor2xx(r) : console.log('failed', r.status)),
 * }) as InviteClientTransaction;
 * ```
 */
export class InviteClientTransaction extends Transaction<InviteClientState> {
  readonly kind = 'invite-client' as const;
  /** The INVITE. */
  readonly request: SipRequest;
  /** Where the INVITE (and the ACK for a non-2xx) is sent. */
  readonly destination: Destination;
  /** The TU's callbacks; may be replaced at any time. */
  user: ClientTransactionUser;
  /** The ACK sent for a non-2xx final response, once there is one. */
  ack: SipRequest | undefined;
  private interval = 0;
  protected readonly terminatesOnTransportError = true;

  /** @internal Created by the transaction layer. */
  constructor(key: string, request: SipRequest, destination: Destination, user: ClientTransactionUser, reliable: boolean, ctx: TransactionContext) {
    super(key, 'calling', reliable, ctx);
    this.request = request;
    this.destination = destination;
    this.user = user;
  }

  /** @internal Sends the INVITE and starts Timers A and B (§17.1.1.2). */
  start(): void {
    const { T1 } = this.timers;
    if (!this.reliable) {
      this.interval = T1;
      this.startTimer(RETRANSMIT, T1, this.timerA);
    }
    this.startTimer(TIMEOUT, 64 * T1, this.timerB);
    this.transmit(this.request, this.destination);
  }

  private readonly timerA = (): void => {
    if (this.current !== 'calling') return;
    this.interval *= 2; // no T2 cap for INVITE (§17.1.1.2)
    this.startTimer(RETRANSMIT, this.interval, this.timerA);
    this.transmit(this.request, this.destination);
  };

  private readonly timerB = (): void => {
    if (this.current !== 'calling') return;
    this.enterTerminated();
    this.user.onTimeout?.(this);
    this.notifyTerminated();
  };

  /** @internal A response that matched this transaction (§17.1.3). */
  receiveResponse(response: SipResponse): void {
    const status = response.status;
    switch (this.current) {
      case 'calling':
      case 'proceeding':
        if (status < 200) {
          if (this.current === 'calling') {
            // Proceeding: no more retransmissions and no Timer B; the TU's Timer C governs (§17.1.1.2).
            this.stopTimer(RETRANSMIT);
            this.stopTimer(TIMEOUT);
            this.current = 'proceeding';
          }
          this.user.onProvisional?.(response, this);
        } else if (status < 300) {
          this.stopTimer(RETRANSMIT);
          this.stopTimer(TIMEOUT);
          this.current = 'accepted';
          this.startTimer(WAIT, 64 * this.timers.T1, this.timerM);
          this.user.onFinal?.(response, this);
        } else {
          this.stopTimer(RETRANSMIT);
          this.stopTimer(TIMEOUT);
          this.current = 'completed';
          this.ack = createNon2xxAck(this.request, response);
          this.transmit(this.ack, this.destination);
          if (!this.reliable) this.startTimer(WAIT, this.timers.D, this.timerD);
          this.user.onFinal?.(response, this);
          if (this.reliable) this.terminate(); // Timer D = 0 (§17.1.1.2)
        }
        return;
      case 'accepted':
        // RFC 6026 §8.4: every 2xx goes to the TU (which ACKs it); anything else is dropped.
        if (status >= 200 && status < 300) this.user.onFinal?.(response, this);
        return;
      case 'completed':
        // A retransmitted final response: absorbed, answered with the same ACK (§17.1.1.2).
        if (status >= 300 && this.ack !== undefined) this.transmit(this.ack, this.destination);
        return;
      case 'terminated':
        return;
    }
  }

  private readonly timerD = (): void => {
    if (this.current === 'completed') this.terminate();
  };

  private readonly timerM = (): void => {
    if (this.current === 'accepted') this.terminate();
  };

  protected notifyTransportError(error: TransportError): void {
    this.user.onTransportError?.(error, this);
  }

  protected notifyTerminated(): void {
    this.user.onTerminated?.(this);
  }
}
