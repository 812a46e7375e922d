/**
 * RTP sequence-number and timestamp arithmetic across wrap-around (RFC 3550 §A.1).
 *
 * The 16-bit sequence number wraps every 21 minutes at 50 packets/s, and the 32-bit
 * timestamp every 6.2 days at 8 kHz (or after a random start near 2^32 much sooner), so every
 * comparison is done modulo 2^16 / 2^32 and extended to a plain integer for bookkeeping.
 *
 * @example
 * ```ts
 * const ext = new SequenceUnwrapper();
 * ext.unwrap(65535); // 65535
 * ext.unwrap(0);     // 65536 — the next cycle
 * ```
 */

/** Signed distance `a - b` between two 16-bit sequence numbers, in [-32768, 32767]. */
export function sequenceDiff(a: number, b: number): number {
  return (((a - b) & 0xffff) << 16) >> 16;
}

/** True if sequence number `a` comes after `b` (modulo 2^16). */
export function isSequenceNewer(a: number, b: number): boolean {
  return sequenceDiff(a, b) > 0;
}

/** Signed distance `a - b` between two 32-bit RTP timestamps, in [-2^31, 2^31). */
export function timestampDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/**
 * Extends 16-bit sequence numbers to a monotone-ish integer line: each value is placed in the
 * cycle that puts it nearest to the highest value seen so far, so reordered packets from just
 * before a wrap land in the previous cycle. Allocation-free.
 */
export class SequenceUnwrapper {
  private highest = -1;

  /** Returns the extended sequence number of `seq` (0..65535); the first call returns `seq`. */
  unwrap(seq: number): number {
    if (this.highest < 0) {
      this.highest = seq;
      return seq;
    }
    const ext = this.highest + sequenceDiff(seq, this.highest & 0xffff);
    if (ext > this.highest) this.highest = ext;
    return ext;
  }

  /** The highest extended sequence number seen, or -1 before the first packet. */
  get highestExtended(): number {
    return this.highest;
  }

  /** Forgets the history (new SSRC). */
  reset(): void {
    this.highest = -1;
  }
}

/**
 * Extends 32-bit RTP timestamps to a float64 integer line (exact up to 2^53) the same way
 * as {@link SequenceUnwrapper}: nearest to the last value seen.
 */
export class TimestampUnwrapper {
  private last = Number.NaN;

  /** Returns the extended timestamp of `ts` (0..2^32-1). */
  unwrap(ts: number): number {
    if (Number.isNaN(this.last)) {
      this.last = ts >>> 0;
      return this.last;
    }
    const ext = this.last + timestampDiff(ts >>> 0, this.last >>> 0);
    this.last = ext;
    return ext;
  }

  /** Forgets the history (new SSRC). */
  reset(): void {
    this.last = Number.NaN;
  }
}
