/**
 * The non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6):
 *
 * ```
 *                                    |Request from TU
 *                                    |send request
 *                Timer E             V
 *                send request  +-----------+
 *                    +---------|           |-------------------+
 *                    |         |  Trying   |  Timer F          |
 *                    +-------->|           |  or Transport Err.|
 *                              +-----------+  inform TU        |
 *                 200-699         |  |                         |
 *                 resp. to TU     |  |1xx                      |
 *                 +---------------+  |resp. to TU              |
 *                 |                  |                         |
 *                 |   Timer E        V       Timer F           |
 *                 |   send req +-----------+ or Transport Err. |
 *                 |  +---------|           | inform TU         |
 *                 |  |         |Proceeding |------------------>|
 *                 |  +-------->|           |-----+             |
 *                 |            +-----------+     |1xx          |
 *                 |              |      ^        |resp to TU   |
 *                 | 200-699      |      +--------+             |
 *                 | resp. to TU  |                             |
 *                 |              |                             |
 *                 |              V                             |
 *                 |            +-----------+                   |
 *                 |            |           |                   |
 *                 |            | Completed |                   |
 *                 |            |           |                   |
 *                 |            +-----------+                   |
 *                 |              ^   |                         |
 *                 |              |   | Timer K                 |
 *                 +--------------+   | -                       |
 *                                    |                         |
 *                                    V                         |
 *              NOTE:           +-----------+                   |
 *                              |           |                   |
 *          transitions         | Terminated|<------------------+
 *          labeled with        |           |
 *          the event           +-----------+
 *          over the action
 *          to take
 * ```
 *
 * Timer E retransmits on unreliable transports: T1, doubling up to T2 while Trying, T2 once
 * Proceeding; Timer F (64*T1) gives up; Timer K (T4, 0 on reliable transports) absorbs
 * retransmitted responses.
 */
import type { SipRequest, SipResponse } from '../message/index.js';
import type { Destination, TransportError } from '../transport/types.js';
import { RETRANSMIT, TIMEOUT, Transaction, WAIT, type TransactionContext } from './transaction.js';
import type { ClientTransactionUser } from './transaction-user.js';

/**
 * States of Figure 6.
 *
 * @example
 * ```ts
 * const waiting = (s: NonInviteClientState): boolean => s === 'trying' || s === 'proceeding';
 * ```
 */
export type NonInviteClientState = 'trying' | 'proceeding' | 'completed' | 'terminated';

/**
 * A non-INVITE client transaction (OPTIONS, BYE, REGISTER, CANCEL, …), created by
 * `TransactionLayer.sendRequest`.
 *
 * @example
 * ```ts
 * const tx = layer.sendRequest(bye, dest, { onFinal: (r) => console.log('BYE', r.status) });
 * tx.state; // 'trying'
 * ```
 */
export class NonInviteClientTransaction extends Transaction<NonInviteClientState> {
  readonly kind = 'non-invite-client' as const;
  /** The request. */
  readonly request: SipRequest;
  /** Where it is sent. */
  readonly destination: Destination;
  /** The TU's callbacks; may be replaced at any time. */
  user: ClientTransactionUser;
  private interval = 0;
  protected readonly terminatesOnTransportError = true;

  /** @internal Created by the transaction layer. */
  constructor(key: string, request: SipRequest, destination: Destination, user: ClientTransactionUser, reliable: boolean, ctx: TransactionContext) {
    super(key, 'trying', reliable, ctx);
    this.request = request;
    this.destination = destination;
    this.user = user;
  }

  /** @internal Sends the request and starts Timers E and F (§17.1.2.2). */
  start(): void {
    const { T1 } = this.timers;
    if (!this.reliable) {
      this.interval = T1;
      this.startTimer(RETRANSMIT, T1, this.timerE);
    }
    this.startTimer(TIMEOUT, 64 * T1, this.timerF);
    this.transmit(this.request, this.destination);
  }

  private readonly timerE = (): void => {
    if (this.current === 'trying') this.interval = Math.min(2 * this.interval, this.timers.T2);
    else if (this.current === 'proceeding') this.interval = this.timers.T2;
    else return;
    this.startTimer(RETRANSMIT, this.interval, this.timerE);
    this.transmit(this.request, this.destination);
  };

  private readonly timerF = (): void => {
    if (this.current !== 'trying' && this.current !== 'proceeding') return;
    this.enterTerminated();
    this.user.onTimeout?.(this);
    this.notifyTerminated();
  };

  /** @internal A response that matched this transaction (§17.1.3). */
  receiveResponse(response: SipResponse): void {
    if (this.current !== 'trying' && this.current !== 'proceeding') return; // Completed absorbs
    if (response.status < 200) {
      // Timer E keeps running; when it next fires it is reset to T2 (§17.1.2.2).
      this.current = 'proceeding';
      this.user.onProvisional?.(response, this);
      return;
    }
    this.stopTimer(RETRANSMIT);
    this.stopTimer(TIMEOUT);
    this.current = 'completed';
    if (!this.reliable) this.startTimer(WAIT, this.timers.T4, this.timerK);
    this.user.onFinal?.(response, this);
    if (this.reliable) this.terminate(); // Timer K = 0
  }

  private readonly timerK = (): void => {
    if (this.current === 'completed') this.terminate();
  };

  protected notifyTransportError(error: TransportError): void {
    this.user.onTransportError?.(error, this);
  }

  protected notifyTerminated(): void {
    this.user.onTerminated?.(this);
  }
}
