import { describe, expect, it } from 'vitest';
import { PortPool, RtpSessionError } from '../../src/rtp/index.js';
import { seededRandom } from '../../bench/network-trace.js';

describe('PortPool', () => {
  it('hands out distinct even ports within the range until exhausted, and takes them back', () => {
    const pool = new PortPool({ min: 30001, max: 30020, random: seededRandom(1) });
    expect(pool.min).toBe(30002);
    expect(pool.size).toBe(9); // 30002..30018 (+1 ≤ 30020)
    const ports = new Set<number>();
    for (let i = 0; i < 9; i++) {
      const p = pool.acquire()!;
      expect(p % 2).toBe(0);
      expect(p).toBeGreaterThanOrEqual(30002);
      expect(p + 1).toBeLessThanOrEqual(30020);
      ports.add(p);
    }
    expect(ports.size).toBe(9);
    expect(pool.acquire()).toBeUndefined();
    pool.release(30010);
    pool.release(30010); // idempotent
    pool.release(12345); // unknown: ignored
    expect(pool.allocated).toBe(8);
    expect(pool.acquire()).toBe(30010);
  });

  it('starts at a random pair so neighbours do not collide', () => {
    const a = new PortPool({ min: 40000, max: 49999, random: seededRandom(1) }).acquire();
    const b = new PortPool({ min: 40000, max: 49999, random: seededRandom(2) }).acquire();
    expect(a).not.toBe(b);
  });

  it('rejects impossible ranges', () => {
    expect(() => new PortPool({ min: 100, max: 2000 })).toThrow(RtpSessionError);
    expect(() => new PortPool({ min: 5000, max: 5000 })).toThrow(RtpSessionError);
    expect(() => new PortPool({ min: 60000, max: 70000 })).toThrow(RtpSessionError);
  });
});
