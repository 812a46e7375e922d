import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecRangeError, mixPcm, PcmMixer } from '../../src/codecs/index.js';
import { rng } from './signals.js';

const frames = (count: number, n: number, amp: number, seed: number): Int16Array[] => {
  const r = rng(seed);
  return Array.from({ length: count }, () => Int16Array.from({ length: n }, () => Math.round((r() * 2 - 1) * amp)));
};

describe('PcmMixer', () => {
  it('N−1: each output is exactly the sum of the others when nothing clips (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 200 }), fc.integer(), (count, n, seed) => {
        const ins = frames(count, n, 2000, seed); // 12 × 2000 < 29204: the limiter stays idle
        const outs = ins.map(() => new Int16Array(n));
        new PcmMixer().mixMinusOne(ins, outs);
        for (let p = 0; p < count; p++) {
          for (let i = 0; i < n; i++) {
            let sum = 0;
            for (let q = 0; q < count; q++) if (q !== p) sum += ins[q]![i]!;
            expect(outs[p]![i]).toBe(sum);
          }
        }
      }),
      { seed: 5, numRuns: 200 },
    );
  });

  it('a participant never hears themselves, even when limiting', () => {
    // Only participant 0 talks (loudly); everyone else is silent: 0 hears exact silence.
    const n = 160;
    const loud = Int16Array.from({ length: n }, (_, i) => Math.round(32000 * Math.sin(i / 3)));
    const ins = [loud, new Int16Array(n), new Int16Array(n), new Int16Array(n)];
    const outs = ins.map(() => new Int16Array(n));
    const mixer = new PcmMixer();
    for (let k = 0; k < 5; k++) mixer.mixMinusOne(ins, outs);
    expect(outs[0]!.every((s) => s === 0)).toBe(true);
    // The others hear the talker, limited under the -1 dBFS threshold, with its waveform's sign.
    for (const o of outs.slice(1)) {
      expect(Math.max(...o.map(Math.abs))).toBeLessThanOrEqual(29204);
      for (let i = 0; i < n; i++) if (Math.abs(loud[i]!) > 100) expect(Math.sign(o[i]!)).toBe(Math.sign(loud[i]!));
    }
  });

  it('limits loud sums smoothly instead of wrapping, and recovers', () => {
    const n = 160;
    const tone = (amp: number, f: number): Int16Array => Int16Array.from({ length: n }, (_, i) => Math.round(amp * Math.sin((2 * Math.PI * f * i) / 8000)));
    const mixer = new PcmMixer();
    const out = new Int16Array(n);
    // Three near-full-scale talkers: a 16-bit wrap would flip signs; the limiter keeps shape.
    const loud = [tone(30000, 400), tone(30000, 400), tone(30000, 400)];
    for (let k = 0; k < 3; k++) mixer.mix(loud, out);
    const peak = Math.max(...out.map(Math.abs));
    expect(peak).toBeLessThanOrEqual(29204);
    expect(peak).toBeGreaterThan(27000);
    // Same sign as the true sum everywhere (no wrap-around).
    for (let i = 0; i < n; i++) if (Math.abs(loud[0]![i]!) > 100) expect(Math.sign(out[i]!)).toBe(Math.sign(loud[0]![i]!));
    // Quiet input afterwards: gain returns to unity within a few hundred ms (release 50 ms).
    const quiet = [tone(3000, 400), tone(3000, 400), tone(3000, 400)];
    for (let k = 0; k < 30; k++) mixer.mix(quiet, out);
    for (let i = 0; i < n; i++) expect(out[i]).toBe(3 * quiet[0]![i]!);
  });

  it('ramps gain across a frame: no step larger than the signal itself makes', () => {
    const n = 160;
    const mixer = new PcmMixer();
    const out = new Int16Array(n);
    const quietFrame = [Int16Array.from({ length: n }, (_, i) => Math.round(8000 * Math.sin(i / 4)))];
    mixer.mix(quietFrame, out);
    const loud = [Int16Array.from({ length: n }, (_, i) => Math.round(32767 * Math.sin(i / 4))), Int16Array.from({ length: n }, (_, i) => Math.round(32767 * Math.sin(i / 4)))];
    mixer.mix(loud, out);
    for (let i = 1; i < n; i++) expect(Math.abs(out[i]! - out[i - 1]!)).toBeLessThan(65536 * 0.25 + 1);
  });

  it('without the limiter it saturates', () => {
    const out = new Int16Array(2);
    new PcmMixer({ limiter: false }).mix([new Int16Array([30000, -30000]), new Int16Array([30000, -30000])], out);
    expect([...out]).toEqual([32767, -32768]);
    expect([...mixPcm([new Int16Array([1, 2, 3]), new Int16Array([10, 20])])]).toEqual([11, 22]);
  });

  it('works in place (each output is its own input array)', () => {
    for (const amp of [3000, 25000]) {
      // 3000: the exact fast path; 25000: the limiter path.
      const ins = frames(4, 160, amp, 77);
      const expected = ins.map(() => new Int16Array(160));
      new PcmMixer().mixMinusOne(ins, expected);
      const inPlace = ins.map((x) => x.slice());
      new PcmMixer().mixMinusOne(inPlace, inPlace);
      expect(inPlace.map((x) => [...x])).toEqual(expected.map((x) => [...x]));
    }
  });

  it('checks buffer sizes', () => {
    const mixer = new PcmMixer();
    expect(() => mixer.mix([new Int16Array(10)], new Int16Array(20))).toThrow(CodecRangeError);
    expect(() => mixer.mixMinusOne([new Int16Array(10)], [])).toThrow(CodecRangeError);
    expect(() => mixer.mixMinusOne([new Int16Array(10), new Int16Array(10)], [new Int16Array(10), new Int16Array(5)])).toThrow(CodecRangeError);
  });
});
