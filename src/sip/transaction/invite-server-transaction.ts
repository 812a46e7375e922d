/**
 * The INVITE server transaction (RFC 3261 §17.2.1, Figure 7, with the Accepted state of
 * RFC 6026 §7.1):
 *
 * ```
 *                                |INVITE
 *                                |pass INV to TU
 *             INVITE             V send 100 if TU won't in 200 ms
 *             send response+-----------+
 *                 +--------|           |--------+ 101-199 from TU
 *                 |        |           |        | send response
 *                 +------->|           |<-------+
 *                          | Proceeding|
 *                          |           |--------+ Transport Err.
 *                          |           |        | Inform TU
 *                          |           |<-------+
 *                          +-----------+
 *             300-699 from TU |     |2xx from TU
 *             send response   |     |send response
 *              +--------------+     +------------+
 *              |                                 |
 * INVITE       V          Timer G fires          |
 * send response+-----------+ send response       |
 *     +--------|           |--------+            |
 *     |        | Completed |        |            |
 *     +------->|           |<-------+            |         INVITE
 *              +-----------+                     |         -
 *                 |    |ACK                      |  +--------+
 *   Timer H fires |    |-                        V  |        V
 *   inform TU     |    |                    +-----------+    |
 *                 |    V                    | Accepted  |----+
 *                 |  +-----------+          |           |<---+ 2xx from TU
 *                 |  | Confirmed |--+ ACK   +-----------+----+ send response
 *                 |  |           |<-+ -       |   |  ^ ACK
 *                 |  +-----------+            |   +--+ to TU
 *                 |         | Timer I fires   | Timer L fires
 *                 |         | (0 s reliable)  |
 *                 V         V                 V
 *             +-------------------------------------+
 *             |              Terminated             |
 *             +-------------------------------------+
 *
 *  Transport error in any state: inform TU, stay (RFC 6026 §8.8).
 * ```
 *
 * Timer G (T1, doubling, capped at T2; unreliable transports only) retransmits a 300–699
 * response until the ACK; Timer H (64*T1) gives up waiting for it; Timer I (T4, 0 on
 * reliable transports) absorbs ACK retransmissions; Timer L (64*T1) absorbs INVITE
 * retransmissions after a 2xx, whose own retransmission is the TU's job (§13.3.1.4).
 */
import { createResponse, type SipRequest, type SipResponse } from '../message/index.js';
import type { Destination, InboundMessage, TransportError } from '../transport/types.js';
import { RETRANSMIT, TIMEOUT, TRYING, Transaction, WAIT, type TransactionContext } from './transaction.js';
import type { ServerTransactionUser } from './transaction-user.js';

/**
 * States of Figure 7 plus RFC 6026's Accepted.
 *
 * @example
 * ```ts
 * const canAnswer = (s: InviteServerState): boolean => s === 'proceeding';
 * ```
 */
export type InviteServerState = 'proceeding' | 'accepted' | 'completed' | 'confirmed' | 'terminated';

/**
 * An INVITE server transaction, created by the transaction layer for each new INVITE and
 * handed to the TU in `TransactionLayerUser.onRequest`.
 *
 * @example
 * ```ts
 * onRequest(tx) {
 *   if (tx.kind !== 'invite-server') return;
 *   const tag = 'a1b2';
 *   tx.respond(createResponse(tx.request, 180, undefined, { toTag: tag }));
 *   tx.respond(createResponse(tx.request, 486, undefined, { toTag: tag })); // Completed; Timer G/H run
 * }
 * ```
 */
export class InviteServerTransaction extends Transaction<InviteServerState> {
  readonly kind = 'invite-server' as const;
  /** The INVITE. */
  readonly request: SipRequest;
  /** The INVITE as it arrived (source, local address, connection). */
  readonly inbound: InboundMessage;
  /** Where responses go (§18.2.2, RFC 3581), worked out once from the INVITE. */
  readonly destination: Destination;
  /** The TU's callbacks; may be replaced at any time. */
  user: ServerTransactionUser = {};
  /** The last provisional response sent (re-sent when the INVITE is retransmitted). */
  lastProvisional: SipResponse | undefined;
  /** The final response sent, once there is one. */
  finalResponse: SipResponse | undefined;
  private interval = 0;
  protected readonly terminatesOnTransportError = false;

  /** @internal Created by the transaction layer. */
  constructor(key: string, inbound: InboundMessage, destination: Destination, reliable: boolean, ctx: TransactionContext) {
    super(key, 'proceeding', reliable, ctx);
    this.inbound = inbound;
    this.request = inbound.message as SipRequest;
    this.destination = destination;
  }

  /**
   * @internal Starts the 100 Trying timer: `tryingDelay` ms (200 by §17.2.1), 0 to send it at
   * once, `null` never to send it (a TU that always answers within 200 ms).
   */
  start(tryingDelay: number | null): void {
    if (tryingDelay === 0) this.sendTrying();
    else if (tryingDelay !== null) this.startTimer(TRYING, tryingDelay, this.sendTrying);
  }

  private readonly sendTrying = (): void => {
    if (this.current !== 'proceeding' || this.lastProvisional !== undefined) return;
    // §8.2.6.1: a Timestamp in the request is copied into the 100.
    const ts = this.request.get('Timestamp');
    const trying = createResponse(this.request, 100, undefined, ts === undefined ? {} : { headers: [['Timestamp', ts]] });
    this.lastProvisional = trying;
    this.transmit(trying, this.destination);
  };

  /**
   * Sends a response from the TU and moves the state machine: 1xx stays in Proceeding; 2xx
   * goes to Accepted (further 2xx, the TU's retransmissions, are sent too); 300–699 goes to
   * Completed. Returns false when the response was discarded because the transaction already
   * sent a final response (or is over).
   */
  respond(response: SipResponse): boolean {
    const status = response.status;
    if (!Number.isInteger(status) || status < 100 || status > 699) throw new RangeError(`Invalid response status ${status}`);
    switch (this.current) {
      case 'proceeding':
        this.stopTimer(TRYING);
        if (status < 200) {
          this.lastProvisional = response;
          this.transmit(response, this.destination);
        } else if (status < 300) {
          this.finalResponse = response;
          this.current = 'accepted';
          this.startTimer(WAIT, 64 * this.timers.T1, this.timerL);
          this.transmit(response, this.destination);
        } else {
          this.finalResponse = response;
          this.current = 'completed';
          if (!this.reliable) {
            this.interval = this.timers.T1;
            this.startTimer(RETRANSMIT, this.interval, this.timerG);
          }
          this.startTimer(TIMEOUT, 64 * this.timers.T1, this.timerH);
          this.transmit(response, this.destination);
        }
        return true;
      case 'accepted':
        // RFC 6026 §7.1: 2xx from the TU (its §13.3.1.4 retransmissions, or another 2xx) are sent.
        if (status >= 200 && status < 300) {
          this.transmit(response, this.destination);
          return true;
        }
        return false;
      default:
        return false; // §17.2.1: other responses after a final one are discarded
    }
  }

  /** @internal A retransmission of the INVITE (§17.2.1). */
  receiveInvite(): void {
    if (this.current === 'proceeding') {
      if (this.lastProvisional !== undefined) this.transmit(this.lastProvisional, this.destination);
    } else if (this.current === 'completed') {
      this.transmit(this.finalResponse!, this.destination);
    }
    // Accepted (RFC 6026 §7.1) and Confirmed absorb it.
  }

  /**
   * @internal An ACK that matched this transaction. Returns true when it is for the TU (an ACK
   * for a 2xx that arrived in Accepted, RFC 6026 §7.1); false when absorbed.
   */
  receiveAck(): boolean {
    switch (this.current) {
      case 'completed':
        this.stopTimer(RETRANSMIT);
        this.stopTimer(TIMEOUT);
        this.current = 'confirmed';
        if (this.reliable) this.terminate(); // Timer I = 0
        else this.startTimer(WAIT, this.timers.T4, this.timerI);
        return false;
      case 'accepted':
        return true;
      default:
        return false;
    }
  }

  /** @internal The To tag of the final response, which an RFC 2543 ACK must carry (§17.2.3). */
  finalToTag(): string | undefined {
    try {
      return this.finalResponse?.to.tag;
    } catch {
      return undefined; // a final response with a malformed To: no ACK can match it
    }
  }

  private readonly timerG = (): void => {
    if (this.current !== 'completed') return;
    this.interval = Math.min(2 * this.interval, this.timers.T2);
    this.startTimer(RETRANSMIT, this.interval, this.timerG);
    this.transmit(this.finalResponse!, this.destination);
  };

  private readonly timerH = (): void => {
    if (this.current !== 'completed') return;
    this.enterTerminated();
    this.user.onTimeout?.(this);
    this.notifyTerminated();
  };

  private readonly timerI = (): void => {
    if (this.current === 'confirmed') this.terminate();
  };

  private readonly timerL = (): void => {
    if (this.current === 'accepted') this.terminate();
  };

  protected notifyTransportError(error: TransportError): void {
    this.user.onTransportError?.(error, this);
  }

  protected notifyTerminated(): void {
    this.user.onTerminated?.(this);
  }
}
