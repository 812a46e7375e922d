/**
 * The non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8):
 *
 * ```
 *                                   |Request received
 *                                   |pass to TU
 *                                   V
 *                             +-----------+
 *                             |           |
 *                             | Trying    |-------------+
 *                             |           |             |
 *                             +-----------+             |200-699 from TU
 *                                   |                   |send response
 *                                   |1xx from TU        |
 *                                   |send response      |
 *                                   |                   |
 *                Request            V      1xx from TU  |
 *                send response+-----------+send response|
 *                    +--------|           |--------+    |
 *                    |        | Proceeding|        |    |
 *                    +------->|           |<-------+    |
 *                             +-----------+             |
 *                                   |                   |
 *                                   |200-699 from TU    |
 *                                   |send response      |
 *                Request            V                   |
 *                send response+-----------+             |
 *                    +--------|           |             |
 *                    |        | Completed |<------------+
 *                    +------->|           |
 *                             +-----------+
 *                                   |
 *                                   |Timer J fires
 *                                   |-
 *                                   V
 *                             +-----------+
 *                             | Terminated|
 *                             +-----------+
 *
 *  Transport error in any state: inform TU, stay (RFC 6026 §8.8 replaces the
 *  "Trnsprt Err" arrows to Terminated of RFC 3261's figure).
 * ```
 *
 * Timer J (64*T1 on unreliable transports, 0 on reliable ones) keeps the final response for
 * request retransmissions.
 */
import type { SipRequest, SipResponse } from '../message/index.js';
import type { Destination, InboundMessage, TransportError } from '../transport/types.js';
import { Transaction, WAIT, type TransactionContext } from './transaction.js';
import type { ServerTransactionUser } from './transaction-user.js';

/**
 * States of Figure 8.
 *
 * @example
 * ```ts
 * const answered = (s: NonInviteServerState): boolean => s === 'completed' || s === 'terminated';
 * ```
 */
export type NonInviteServerState = 'trying' | 'proceeding' | 'completed' | 'terminated';

/**
 * A non-INVITE server transaction, created by the transaction layer for each new non-INVITE
 * request (CANCEL included) and handed to the TU in `TransactionLayerUser.onRequest`.
 *
 * @example
 * ```ts
 * onRequest(tx) {
 *   if (tx.request.method === 'OPTIONS') tx.respond(createResponse(tx.request, 200));
 * }
 * ```
 */
export class NonInviteServerTransaction extends Transaction<NonInviteServerState> {
  readonly kind = 'non-invite-server' as const;
  /** The request. */
  readonly request: SipRequest;
  /** The request as it arrived. */
  readonly inbound: InboundMessage;
  /** Where responses go (§18.2.2, RFC 3581). */
  readonly destination: Destination;
  /** The TU's callbacks; may be replaced at any time. */
  user: ServerTransactionUser = {};
  /** The last response sent (re-sent when the request is retransmitted). */
  lastResponse: SipResponse | undefined;
  protected readonly terminatesOnTransportError = false;

  /** @internal Created by the transaction layer. */
  constructor(key: string, inbound: InboundMessage, destination: Destination, reliable: boolean, ctx: TransactionContext) {
    super(key, 'trying', reliable, ctx);
    this.inbound = inbound;
    this.request = inbound.message as SipRequest;
    this.destination = destination;
  }

  /**
   * Sends a response from the TU: 1xx moves to Proceeding, 200–699 to Completed. Returns false
   * when it was discarded because a final response was already sent (§17.2.2).
   */
  respond(response: SipResponse): boolean {
    const status = response.status;
    if (!Number.isInteger(status) || status < 100 || status > 699) throw new RangeError(`Invalid response status ${status}`);
    if (this.current !== 'trying' && this.current !== 'proceeding') return false;
    this.lastResponse = response;
    if (status < 200) {
      this.current = 'proceeding';
      this.transmit(response, this.destination);
      return true;
    }
    this.current = 'completed';
    this.transmit(response, this.destination);
    if (this.reliable) this.terminate(); // Timer J = 0
    else this.startTimer(WAIT, 64 * this.timers.T1, this.timerJ);
    return true;
  }

  /** @internal A retransmission of the request: absorbed while Trying, else answered with the last response. */
  receiveRequest(): void {
    if ((this.current === 'proceeding' || this.current === 'completed') && this.lastResponse !== undefined) {
      this.transmit(this.lastResponse, this.destination);
    }
  }

  private readonly timerJ = (): void => {
    if (this.current === 'completed') this.terminate();
  };

  protected notifyTransportError(error: TransportError): void {
    this.user.onTransportError?.(error, this);
  }

  protected notifyTerminated(): void {
    this.user.onTerminated?.(this);
  }
}
