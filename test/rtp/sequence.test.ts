import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SequenceUnwrapper, TimestampUnwrapper, isSequenceNewer, sequenceDiff, timestampDiff } from '../../src/rtp/index.js';

describe('sequence arithmetic', () => {
  it('computes signed distances across the 16-bit wrap', () => {
    expect(sequenceDiff(0, 65535)).toBe(1);
    expect(sequenceDiff(65535, 0)).toBe(-1);
    expect(sequenceDiff(100, 50)).toBe(50);
    expect(isSequenceNewer(2, 65530)).toBe(true);
    expect(isSequenceNewer(65530, 2)).toBe(false);
  });

  it('computes signed timestamp distances across the 32-bit wrap', () => {
    expect(timestampDiff(80, 0xffffff60)).toBe(240);
    expect(timestampDiff(0xffffff60, 80)).toBe(-240);
  });

  it('extends sequence numbers across several wraps, placing reordered packets in the right cycle', () => {
    const u = new SequenceUnwrapper();
    expect(u.unwrap(65534)).toBe(65534);
    expect(u.unwrap(65535)).toBe(65535);
    expect(u.unwrap(1)).toBe(65537);
    expect(u.unwrap(0)).toBe(65536); // reordered, belongs to the new cycle
    expect(u.unwrap(65533)).toBe(65533); // late from the old cycle
    expect(u.highestExtended).toBe(65537);
    let ext = 65537;
    for (let i = 0; i < 3 * 65536; i += 100) {
      ext += 100;
      expect(u.unwrap(ext & 0xffff)).toBe(ext);
    }
  });

  it('extends timestamps across the 32-bit wrap', () => {
    const u = new TimestampUnwrapper();
    expect(u.unwrap(0xffffff00)).toBe(0xffffff00);
    expect(u.unwrap(0x60)).toBe(0x1_0000_0060);
    expect(u.unwrap(0xfffffff0)).toBe(0xfffffff0);
  });

  it('property: unwrapping any walk with steps below 2^15 reproduces the walk', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), fc.array(fc.integer({ min: -3000, max: 3000 }), { maxLength: 200 }), (start, steps) => {
        const u = new SequenceUnwrapper();
        let ext = start;
        expect(u.unwrap(start)).toBe(start);
        let highest = start;
        for (const s of steps) {
          // Stay within half the sequence space of the highest value seen.
          const next = ext + s;
          if (highest - next >= 32768) continue;
          ext = next;
          highest = Math.max(highest, ext);
          expect(u.unwrap(((ext % 65536) + 65536) % 65536)).toBe(ext);
        }
      }),
    );
  });
});
