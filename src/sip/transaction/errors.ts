/** Errors the transaction layer throws at its user (never at a peer: see transaction-layer.ts). */

/**
 * A request the transaction layer cannot send as asked: an ACK (sent without a transaction,
 * §17.1.1.3), a request without a Via, or a branch that a live client transaction already uses.
 *
 * @example
 * ```ts
 * try { layer.sendRequest(ack, dest); } catch (e) { if (e instanceof TransactionError) console.log(e.message); }
 * ```
 */
export class TransactionError extends Error {
  override readonly name = 'TransactionError';
}
