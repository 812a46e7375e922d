/** Errors the dialog layer throws at its user (never at a peer: see dialog-manager.ts). */

/**
 * A request the dialog layer cannot send as asked: in a terminated dialog, a re-INVITE while
 * another INVITE transaction is in progress in the dialog (§14.1), or to a target that cannot
 * be resolved to a destination.
 *
 * @example
 * ```ts
 * try { manager.request(dialog, 'INVITE'); } catch (e) { if (e instanceof DialogError) console.log(e.message); }
 * ```
 */
export class DialogError extends Error {
  override readonly name = 'DialogError';
}
