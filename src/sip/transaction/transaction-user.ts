/**
 * The callbacks a transaction user (TU: a UA core, a dialog, a proxy core) gives a
 * transaction. Typed per role instead of string events; every callback is optional and runs
 * synchronously, after the transaction has moved to its new state.
 */
import type { SipResponse } from '../message/index.js';
import type { InviteClientTransaction } from './invite-client-transaction.js';
import type { InviteServerTransaction } from './invite-server-transaction.js';
import type { NonInviteClientTransaction } from './non-invite-client-transaction.js';
import type { NonInviteServerTransaction } from './non-invite-server-transaction.js';
import type { TransactionUserBase } from './transaction.js';

export type { TransactionUserBase } from './transaction.js';

/**
 * A client transaction of either kind; `kind` tells them apart.
 *
 * @example
 * ```ts
 * const tx: ClientTransaction = layer.sendRequest(request, dest);
 * if (tx.kind === 'invite-client') console.log('INVITE', tx.state);
 * ```
 */
export type ClientTransaction = InviteClientTransaction | NonInviteClientTransaction;
/**
 * A server transaction of either kind; `kind` tells them apart.
 *
 * @example
 * ```ts
 * onRequest(tx: ServerTransaction) {
 *   if (tx.kind === 'invite-server') tx.respond(createResponse(tx.request, 180, undefined, { toTag: 'x' }));
 * }
 * ```
 */
export type ServerTransaction = InviteServerTransaction | NonInviteServerTransaction;

/**
 * What a client transaction tells the TU that sent the request.
 *
 * @example
 * ```ts
 * layer.sendRequest(options, dest, {
 *   onFinal: (res) => console.log('OPTIONS answered', res.status),
 *   onTimeout: () => console.log('no answer (Timer F)'),
 *   onTransportError: (e) => console.log('could not send', e.message),
 * });
 * ```
 */
export interface ClientTransactionUser extends TransactionUserBase<ClientTransaction> {
  /** A 1xx response (every one that arrives in Calling/Trying or Proceeding). */
  onProvisional?(response: SipResponse, tx: ClientTransaction): void;
  /**
   * A final response. Called once for the first final response; for an INVITE, every further
   * 2xx that arrives in the Accepted state (retransmissions and other forks, RFC 6026 §8.4)
   * is passed on too, so the TU can ACK each of them. Retransmitted non-2xx finals are
   * absorbed (the INVITE transaction re-sends its ACK).
   */
  onFinal?(response: SipResponse, tx: ClientTransaction): void;
  /** No final response in time: Timer B (INVITE) or Timer F (non-INVITE) fired (§17.1.1.2, §17.1.2.2). */
  onTimeout?(tx: ClientTransaction): void;
}

/**
 * What a server transaction tells the TU answering the request. ACKs for 2xx and CANCELs
 * are delivered by the layer (see `TransactionLayerUser`), since they are separate requests.
 *
 * @example
 * ```ts
 * tx.user = { onTimeout: () => console.log('no ACK for our final response (Timer H)') };
 * ```
 */
export interface ServerTransactionUser extends TransactionUserBase<ServerTransaction> {
  /** An INVITE server transaction never got the ACK for its 300–699 response: Timer H fired (§17.2.1). */
  onTimeout?(tx: ServerTransaction): void;
}
