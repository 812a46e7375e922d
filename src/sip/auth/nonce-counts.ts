/**
 * The replay check of RFC 7616 §3.4 and §5.5 ("the server ... can keep track of the nc
 * values it has seen for each nonce and reject a request that repeats one"): per nonce, the
 * highest nonce count accepted so far, in a map whose size never exceeds a bound.
 *
 * Entries are kept in least-recently-used order. When the map is full, expired nonces go first
 * (they are refused as stale anyway); then the least recently used one is evicted, and the
 * issue stamp `(time, seq)` of every evicted nonce raises a floor: a nonce issued at or before the floor that
 * is no longer in the map is reported `forgotten` rather than accepted, so that eviction can
 * never let a replayed request through (the server answers it as stale and the client simply
 * fetches a new nonce).
 */

/** Outcome of {@link NonceCounts.accept}. */
export type NonceCountResult = 'accepted' | 'replay' | 'forgotten';

interface Entry {
  issuedAt: number;
  seq: number;
  nc: number;
}

/** Whether issue stamp (t1, s1) is at or before (t2, s2). */
function atOrBefore(t1: number, s1: number, t2: number, s2: number): boolean {
  return t1 < t2 || (t1 === t2 && s1 <= s2);
}

/** Highest accepted nonce count per nonce, bounded. */
export class NonceCounts {
  private readonly map = new Map<string, Entry>();
  private floorT = -Infinity;
  private floorS = 0;
  readonly max: number;

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('maxNonces must be a positive integer');
    this.max = max;
  }

  /** Number of nonces tracked (never more than {@link max}). */
  get size(): number {
    return this.map.size;
  }

  /**
   * Accepts `nc` for `nonce` when it is greater than every nc accepted for that nonce before,
   * and records it. `issuedAt` and `seq` are the nonce's issue stamp; `expiresBefore` is the
   * issue time below which a nonce has expired (used to drop entries that no longer matter
   * when room is needed).
   */
  accept(nonce: string, issuedAt: number, seq: number, nc: number, expiresBefore: number): NonceCountResult {
    const e = this.map.get(nonce);
    if (e !== undefined) {
      if (nc <= e.nc) return 'replay';
      e.nc = nc;
      this.map.delete(nonce);
      this.map.set(nonce, e);
      return 'accepted';
    }
    if (nc < 1) return 'replay';
    if (atOrBefore(issuedAt, seq, this.floorT, this.floorS)) return 'forgotten';
    if (this.map.size >= this.max) this.makeRoom(expiresBefore);
    this.map.set(nonce, { issuedAt, seq, nc });
    return 'accepted';
  }

  private makeRoom(expiresBefore: number): void {
    for (const [k, v] of this.map) {
      if (v.issuedAt < expiresBefore) this.map.delete(k);
    }
    while (this.map.size >= this.max) {
      const oldest = this.map.keys().next();
      if (oldest.done === true) break;
      const v = this.map.get(oldest.value)!;
      if (!atOrBefore(v.issuedAt, v.seq, this.floorT, this.floorS)) {
        this.floorT = v.issuedAt;
        this.floorS = v.seq;
      }
      this.map.delete(oldest.value);
    }
  }
}
