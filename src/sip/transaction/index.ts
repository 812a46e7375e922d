/**
 * `switchboard/sip` transaction layer (RFC 3261 §17, RFC 6026): the four transaction state
 * machines, matching, CANCEL and response routing.
 */
export { TransactionLayer, type TransactionLayerOptions, type TransactionLayerUser } from './transaction-layer.js';
export { InviteClientTransaction, type InviteClientState } from './invite-client-transaction.js';
export { NonInviteClientTransaction, type NonInviteClientState } from './non-invite-client-transaction.js';
export { InviteServerTransaction, type InviteServerState } from './invite-server-transaction.js';
export { NonInviteServerTransaction, type NonInviteServerState } from './non-invite-server-transaction.js';
export type { ClientTransaction, ServerTransaction, ClientTransactionUser, ServerTransactionUser, TransactionUserBase } from './transaction-user.js';
export { Transaction } from './transaction.js';
export { DEFAULT_TIMERS, type TransactionTimers } from './transaction-timers.js';
export { TransactionError } from './errors.js';
export { responseDestination } from './response-routing.js';
export { createNon2xxAck } from './ack-request.js';
export { createCancel } from './cancel-request.js';
export { createBranch, clientTransactionKey, serverTransactionKey, transactionMethod } from './transaction-matching.js';
