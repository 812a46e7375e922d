/**
 * The RFC 3261 timer base values (§17.1.1.1, table 4 in Appendix A) from which every
 * transaction timer A–M is derived.
 *
 * ```
 * T1  500 ms  RTT estimate          A, E, G start at T1; B, F, H, J, L, M are 64*T1
 * T2    4 s   longest retransmit    E (non-INVITE) and G (INVITE server) are capped at T2
 * T4    5 s   network lifetime      I and K wait T4 on unreliable transports
 * D    32 s   (RFC: "> 32 s")       how long an INVITE client absorbs non-2xx retransmissions
 * ```
 */

/**
 * Timer base values in milliseconds.
 *
 * @example
 * ```ts
 * const timers: Partial<TransactionTimers> = { T1: 250, T2: 2000 }; // given to TransactionLayer
 * ```
 */
export interface TransactionTimers {
  /** RTT estimate (default 500 ms). */
  T1: number;
  /** Maximum retransmission interval for non-INVITE requests and INVITE responses (default 4 s). */
  T2: number;
  /** Maximum time a message stays in the network (default 5 s). */
  T4: number;
  /**
   * Timer D, the INVITE client's wait in Completed on an unreliable transport (default 32 s;
   * RFC 3261 says "at least 32 s", so it does not scale with T1).
   */
  D: number;
}

/**
 * The RFC 3261 defaults.
 *
 * @example
 * ```ts
 * const fast = { ...DEFAULT_TIMERS, T1: 50 }; // a LAN with a short RTT
 * ```
 */
export const DEFAULT_TIMERS: Readonly<TransactionTimers> = Object.freeze({ T1: 500, T2: 4000, T4: 5000, D: 32000 });

/** @internal Fills in defaults and checks that the values make sense. */
export function resolveTimers(t: Partial<TransactionTimers> | undefined): Readonly<TransactionTimers> {
  if (t === undefined) return DEFAULT_TIMERS;
  const r = { ...DEFAULT_TIMERS, ...t };
  for (const k of ['T1', 'T2', 'T4', 'D'] as const) {
    if (!Number.isFinite(r[k]) || r[k] < 0) throw new RangeError(`Timer ${k} must be a finite number of milliseconds >= 0, got ${r[k]}`);
  }
  if (r.T1 <= 0) throw new RangeError('Timer T1 must be greater than 0');
  return Object.freeze(r);
}
