import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecRangeError, Downsampler, levelDbov, resample, Upsampler } from '../../src/codecs/index.js';

const sine = (n: number, f: number, rate: number, amp = 10000): Int16Array =>
  Int16Array.from({ length: n }, (_, i) => Math.round(amp * Math.sin((2 * Math.PI * f * i) / rate)));

/** Level change in dB through a conversion, measured away from the edges. */
function gainDb(x: Int16Array, y: Int16Array, xEdge: number, yEdge: number): number {
  return levelDbov(y, yEdge, y.length - yEdge) - levelDbov(x, xEdge, x.length - xEdge);
}

describe('8 <-> 16 kHz resampling', () => {
  it('passes the telephone band flat (±0.1 dB up to 3.4 kHz)', () => {
    for (const f of [300, 1000, 2000, 3000, 3400]) {
      const x8 = sine(1600, f, 8000);
      expect(Math.abs(gainDb(x8, resample(x8, 8000, 16000), 100, 200)), `up ${f}`).toBeLessThan(0.1);
      const x16 = sine(3200, f, 16000);
      expect(Math.abs(gainDb(x16, resample(x16, 16000, 8000), 200, 100)), `down ${f}`).toBeLessThan(0.1);
    }
  });

  it('removes what would alias when downsampling (≥ 60 dB at 4.6 kHz and above)', () => {
    for (const f of [4600, 5000, 6000, 7000]) {
      const x = sine(3200, f, 16000, 20000);
      expect(gainDb(x, resample(x, 16000, 8000), 200, 100), `${f} Hz`).toBeLessThan(-60);
    }
  });

  it('does not create images when upsampling (no energy above 4.6 kHz)', () => {
    // A 1 kHz tone upsampled: the image would be at 7 kHz. Measure it with a 7 kHz correlator.
    const y = resample(sine(1600, 1000, 8000), 8000, 16000);
    let re = 0;
    let im = 0;
    for (let i = 200; i < y.length - 200; i++) {
      re += y[i]! * Math.cos((2 * Math.PI * 7000 * i) / 16000);
      im += y[i]! * Math.sin((2 * Math.PI * 7000 * i) / 16000);
    }
    const image = (2 * Math.hypot(re, im)) / (y.length - 400);
    expect(20 * Math.log10(image / 10000)).toBeLessThan(-60);
  });

  it('is delay-compensated: upsampling keeps the input samples at even positions', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 300 }), (v) => {
        const x = Int16Array.from(v);
        const y = resample(x, 8000, 16000);
        expect(y.length).toBe(2 * x.length);
        for (let i = 0; i < x.length; i++) expect(y[2 * i]).toBe(x[i]);
        expect(resample(y, 16000, 8000).length).toBe(x.length);
      }),
      { seed: 16, numRuns: 200 },
    );
  });

  it('round trip 8 -> 16 -> 8 of band-limited audio is close to the original', () => {
    const x = Int16Array.from({ length: 4000 }, (_, i) => Math.round(6000 * Math.sin(i / 5) + 4000 * Math.sin(i / 2.3) + 3000 * Math.sin(i / 13)));
    const back = resample(resample(x, 8000, 16000), 16000, 8000);
    let err = 0;
    let sig = 0;
    for (let i = 100; i < x.length - 100; i++) {
      err += (x[i]! - back[i]!) ** 2;
      sig += x[i]! ** 2;
    }
    expect(10 * Math.log10(sig / err)).toBeGreaterThan(50);
  });

  it('streaming in frames equals one-shot (seamless across frames)', () => {
    const x = sine(1600, 1234, 8000);
    const up = new Upsampler();
    const streamed = new Int16Array(2 * x.length);
    for (let i = 0; i < x.length; i += 160) up.process(x.subarray(i, i + 160), streamed.subarray(2 * i));
    const oneShot = resample(x, 8000, 16000);
    expect([...streamed.subarray(up.delay)]).toEqual([...oneShot.subarray(0, oneShot.length - up.delay)]);

    const w = sine(3200, 1234, 16000);
    const down = new Downsampler();
    const d = new Int16Array(w.length / 2);
    for (let i = 0; i < w.length; i += 320) down.process(w.subarray(i, i + 320), d.subarray(i / 2));
    const d1 = resample(w, 16000, 8000);
    expect([...d.subarray(down.delay)]).toEqual([...d1.subarray(0, d1.length - down.delay)]);
  });

  it('saturates instead of wrapping on full-scale square waves (Gibbs overshoot)', () => {
    const sq = Int16Array.from({ length: 400 }, (_, i) => (Math.floor(i / 10) % 2 ? 32767 : -32768));
    const sameSignAround = (c: number): boolean => {
      for (let k = c - 3; k <= c + 3; k++) if (k < 0 || k >= sq.length || Math.sign(sq[k]!) !== Math.sign(sq[c]!)) return false;
      return true;
    };
    const up = resample(sq, 8000, 16000);
    const down = resample(sq, 16000, 8000);
    let checked = 0;
    for (let i = 0; i < sq.length; i++) {
      if (!sameSignAround(i)) continue;
      // A 16-bit wrap of the overshoot would flip these signs.
      expect(Math.sign(up[2 * i + 1]!)).toBe(Math.sign(sq[i]!));
      if (i % 2 === 0) expect(Math.sign(down[i / 2]!)).toBe(Math.sign(sq[i]!));
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
    expect(Math.max(...up)).toBe(32767);
    expect(Math.min(...down)).toBe(-32768);
  });

  it('rejects unsupported rates and bad buffers', () => {
    expect(() => resample(new Int16Array(4), 8000, 44100)).toThrow(CodecRangeError);
    expect(() => new Downsampler().process(new Int16Array(3), new Int16Array(2))).toThrow(CodecRangeError);
    expect(() => new Upsampler().process(new Int16Array(3), new Int16Array(5))).toThrow(CodecRangeError);
    expect([...resample(new Int16Array([1, 2]), 8000, 8000)]).toEqual([1, 2]);
  });
});
