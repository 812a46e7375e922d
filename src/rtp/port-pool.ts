import { RtpSessionError } from './errors.js';

/**
 * An allocator of even/odd port pairs over a configured range: RTP on the even port, RTCP on
 * the next odd one (RFC 3550 §11). It only does bookkeeping — the session binds the sockets
 * and gives a port back with {@link PortPool.release}; when the OS says another process holds
 * a port (EADDRINUSE) the session keeps it while it tries others, then releases it. Allocation starts at a random even port and walks the
 * range, so restarts and neighbouring processes do not all fight over the lowest ports.
 * Memory is bounded by the range (one bit per pair).
 *
 * @example
 * ```ts
 * const pool = new PortPool({ min: 20000, max: 29999 });
 * const rtpPort = pool.acquire(); // e.g. 23456; RTCP is 23457
 * pool.release(rtpPort);
 * ```
 */
export interface PortPoolOptions {
  /** Lowest port (rounded up to even). */
  min: number;
  /** Highest port (the last pair's RTCP port must be ≤ max). */
  max: number;
  /** Randomness for the starting point; Math.random by default. */
  random?: () => number;
}

export class PortPool {
  readonly min: number;
  readonly max: number;
  private readonly inUse: Uint8Array;
  private readonly random: () => number;
  private used = 0;

  constructor(options: PortPoolOptions) {
    const min = options.min + (options.min & 1);
    if (!Number.isInteger(options.min) || !Number.isInteger(options.max) || min < 1024 || options.max > 65535 || min + 1 > options.max) {
      throw new RtpSessionError('bad-option', `port range ${options.min}-${options.max} must be within 1024-65535 and hold at least one even/odd pair`);
    }
    this.min = min;
    this.max = options.max;
    this.inUse = new Uint8Array(Math.floor((this.max - this.min + 1) / 2));
    this.random = options.random ?? Math.random;
  }

  /** Number of pairs in the range. */
  get size(): number {
    return this.inUse.length;
  }

  /** Pairs currently handed out. */
  get allocated(): number {
    return this.used;
  }

  /** Returns a free even port (its RTCP port is +1), or undefined when the range is exhausted. */
  acquire(): number | undefined {
    const n = this.inUse.length;
    if (this.used >= n) return undefined;
    const start = Math.floor(this.random() * n) % n;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      if (this.inUse[i] === 0) {
        this.inUse[i] = 1;
        this.used++;
        return this.min + 2 * i;
      }
    }
    return undefined;
  }

  /** Gives a port back. Unknown or free ports are ignored. */
  release(port: number): void {
    const i = (port - this.min) / 2;
    if (Number.isInteger(i) && i >= 0 && i < this.inUse.length && this.inUse[i] === 1) {
      this.inUse[i] = 0;
      this.used--;
    }
  }

  /** True if `port` (even) is handed out. */
  isAllocated(port: number): boolean {
    const i = (port - this.min) / 2;
    return Number.isInteger(i) && i >= 0 && i < this.inUse.length && this.inUse[i] === 1;
  }
}
