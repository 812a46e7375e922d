/**
 * The retry delay after a 491 Request Pending (RFC 3261 §14.1; RFC 3311 §5.1 applies it to
 * UPDATE): when both sides of a dialog send a re-INVITE at once, each gets 491 and waits a
 * random time before trying again. The two ranges do not overlap, so the retries do not
 * collide again:
 *
 * ```
 * owner of the Call-ID (UAC of the dialog):  2.1 s .. 4.0 s, in units of 10 ms
 * the other side (UAS of the dialog):        0   s .. 2.0 s, in units of 10 ms
 * ```
 */

/**
 * A uniform integer in `[0, n)` from injected random bytes (4 bytes, modulo: the bias is below
 * n / 2^32).
 *
 * @example
 * ```ts
 * randomBelow(randomBytes, 201); // 0..200
 * ```
 */
export function randomBelow(random: (bytes: number) => Uint8Array, n: number): number {
  const b = random(4);
  const v = (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;
  return v % n;
}

/**
 * Milliseconds to wait before retrying a request that got 491 (§14.1).
 *
 * @example
 * ```ts
 * glareRetryDelay(true, randomBytes);  // e.g. 3170: in [2100, 4000], a multiple of 10
 * glareRetryDelay(false, randomBytes); // e.g. 640: in [0, 2000], a multiple of 10
 * ```
 */
export function glareRetryDelay(ownsCallId: boolean, random: (bytes: number) => Uint8Array): number {
  return ownsCallId ? 2100 + 10 * randomBelow(random, 191) : 10 * randomBelow(random, 201);
}
