/** The nonce minter and the bounded nonce-count map, on their own. */
import { describe, expect, it } from 'vitest';
import { NonceCounts } from '../../../src/sip/auth/nonce-counts.js';
import { NonceMinter } from '../../../src/sip/auth/nonce.js';
import { SECRET, counterRandom } from './wire.js';

function minter(now: () => number, realm = 'example.com'): NonceMinter {
  return new NonceMinter({ secret: SECRET, realm, ttlMs: 1000, now, random: counterRandom() });
}

function stamp(m: NonceMinter, nonce: string): [number, number] {
  const c = m.check(nonce);
  if (!c.valid) throw new Error('invalid');
  return [c.issuedAt, c.seq];
}

describe('NonceMinter', () => {
  it('stamps strictly increase while the clock stands still, steps back, or 65,536 nonces share a millisecond', () => {
    let t = 5000;
    const m = minter(() => t);
    let prev: [number, number] = [-1, 0];
    const later = (a: [number, number], b: [number, number]): boolean => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
    for (let i = 0; i < 70_000; i++) {
      if (i === 100) t = 4000; // clock steps back
      const s = stamp(m, m.issue());
      expect(later(s, prev)).toBe(true);
      prev = s;
    }
    expect(prev[0]).toBe(5001); // rolled into the next millisecond after seq 0xffff
  });

  it('rejects anything that is not exactly one of its nonces', () => {
    const m = minter(() => 1000);
    const n = m.issue();
    expect(m.check(n).valid).toBe(true);
    for (const bad of ['', n.slice(1), n + 'A', n.slice(0, -1) + '=', n.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), '!'.repeat(43)]) {
      expect(m.check(bad).valid).toBe(false);
    }
    expect(minter(() => 1000, 'other.example.com').check(n).valid).toBe(false);
  });

  it('reports expiry after the TTL, either way in time', () => {
    let t = 10_000;
    const m = minter(() => t);
    const n = m.issue();
    t += 1000;
    expect(m.check(n)).toMatchObject({ valid: true, expired: false });
    t += 1;
    expect(m.check(n)).toMatchObject({ valid: true, expired: true });
    t = 10_000 - 1001;
    expect(m.check(n)).toMatchObject({ valid: true, expired: true });
  });
});

describe('NonceCounts', () => {
  it('never holds more than max, and what it evicted (or anything issued before) is forgotten, not accepted', () => {
    const c = new NonceCounts(3);
    for (let i = 0; i < 10; i++) {
      expect(c.accept(`n${i}`, 100, i, 1, 0)).toBe('accepted');
      expect(c.size).toBeLessThanOrEqual(3);
    }
    expect(c.accept('n0', 100, 0, 2, 0)).toBe('forgotten');
    expect(c.accept('never-used-old', 100, 5, 1, 0)).toBe('forgotten');
    expect(c.accept('n9', 100, 9, 2, 0)).toBe('accepted');
    expect(c.accept('n9', 100, 9, 2, 0)).toBe('replay');
    expect(c.accept('new', 100, 10, 1, 0)).toBe('accepted');
  });

  it('drops expired entries before evicting live ones', () => {
    const c = new NonceCounts(2);
    c.accept('old1', 10, 0, 1, 0);
    c.accept('old2', 11, 0, 1, 0);
    expect(c.accept('live', 500, 0, 1, 100)).toBe('accepted');
    expect(c.size).toBe(1);
    // Nothing live was evicted, so an unused nonce issued before is still accepted.
    expect(c.accept('unused', 400, 0, 1, 100)).toBe('accepted');
  });

  it('refuses a bound below 1', () => {
    expect(() => new NonceCounts(0)).toThrow(RangeError);
  });
});
