import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PacketLossConcealer } from '../../src/codecs/index.js';
import { rng } from './signals.js';

/** A voiced-speech-like signal: harmonics of `f0` with a 1/k spectrum and slow amplitude drift. */
function voiced(n: number, f0 = 125, rate = 8000): Int16Array {
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let k = 1; k * f0 < 3400; k++) v += Math.sin((2 * Math.PI * k * f0 * i) / rate + k) / k;
    out[i] = Math.round(6000 * v * (1 + 0.1 * Math.sin(i / 700)));
  }
  return out;
}

/** Runs frames through a concealer; `lost[i]` marks frame i as lost. Returns the output. */
function run(signal: Int16Array, frame: number, lost: (i: number) => boolean, plc = new PacketLossConcealer()): Int16Array {
  const out = new Int16Array(signal.length);
  for (let f = 0; f * frame < signal.length; f++) {
    const o = out.subarray(f * frame, (f + 1) * frame);
    if (lost(f)) plc.conceal(o);
    else plc.receive(signal.subarray(f * frame, (f + 1) * frame), o);
  }
  return out;
}

/** SNR in dB of `y` against reference `x` over [from, to). */
function snr(x: Int16Array, y: Int16Array, from: number, to: number): number {
  let s = 0;
  let e = 0;
  for (let i = from; i < to; i++) {
    s += x[i]! ** 2;
    e += (x[i]! - y[i]!) ** 2;
  }
  return 10 * Math.log10(s / Math.max(e, 1e-9));
}

const delayed = (x: Int16Array, d: number): Int16Array => {
  const out = new Int16Array(x.length);
  out.set(x.subarray(0, x.length - d), d);
  return out;
};

describe('PacketLossConcealer (G.711 Appendix I style)', () => {
  it('passes good frames through exactly, delayed by 3.75 ms', () => {
    const plc = new PacketLossConcealer();
    expect(plc.delay).toBe(30);
    const x = voiced(1600);
    expect([...run(x, 160, () => false, plc)]).toEqual([...delayed(x, 30)]);
    // Frame size does not matter, nor does processing in place.
    const y = x.slice();
    const p2 = new PacketLossConcealer();
    for (let i = 0; i < y.length; i += 110) p2.receive(y.subarray(i, i + 110), y.subarray(i, i + 110));
    expect([...y]).toEqual([...delayed(x, 30)]);
  });

  it('finds the pitch period of a voiced signal', () => {
    for (const [f0, period] of [[125, 64], [200, 40], [80, 100]] as const) {
      const plc = new PacketLossConcealer();
      run(voiced(1600, f0), 160, (i) => i === 9, plc);
      expect(Math.abs(plc.pitchPeriod - period)).toBeLessThanOrEqual(1);
    }
  });

  it('conceals a lost 20 ms frame of voiced speech far better than silence or repetition', () => {
    const x = voiced(3200);
    const ref = delayed(x, 30);
    const lostFrame = 10;
    const from = lostFrame * 160 + 30;
    const to = from + 160;
    const concealed = snr(ref, run(x, 160, (i) => i === lostFrame), from, to);
    // Silence substitution is 0 dB by definition; plain repetition of the previous frame:
    const repeated = x.slice();
    repeated.set(x.subarray((lostFrame - 1) * 160, lostFrame * 160), lostFrame * 160);
    const repetition = snr(x, repeated, lostFrame * 160, (lostFrame + 1) * 160);
    expect(concealed).toBeGreaterThan(8);
    expect(concealed).toBeGreaterThan(repetition + 5);
    // The first 10 ms (unattenuated repetition of a steady period) is nearly perfect.
    expect(snr(ref, run(x, 160, (i) => i === lostFrame), from, from + 80)).toBeGreaterThan(15);
  });

  it('has no clicks: sample-to-sample steps stay within the signal\'s own', () => {
    const x = voiced(4000);
    let maxStep = 0;
    for (let i = 1; i < x.length; i++) maxStep = Math.max(maxStep, Math.abs(x[i]! - x[i - 1]!));
    for (const pattern of [[10], [10, 11], [10, 11, 12, 13], [7, 9, 11]]) {
      const y = run(x, 80, (i) => pattern.includes(i));
      for (let i = 1; i < y.length; i++) expect(Math.abs(y[i]! - y[i - 1]!)).toBeLessThanOrEqual(maxStep * 1.3);
    }
  });

  it('attenuates by 20 % per 10 ms after the first 10 ms, and is silent from 60 ms', () => {
    const x = voiced(4000);
    const lostFrom = 10; // 10 ms frames
    const y = run(x, 80, (i) => i >= lostFrom && i < lostFrom + 10);
    const start = lostFrom * 80 + 30;
    const rms = (z: Int16Array, a: number, b: number): number => {
      let s = 0;
      for (let i = a; i < b; i++) s += z[i]! ** 2;
      return Math.sqrt(s / (b - a));
    };
    // The repeated signal is periodic like the original, so output RMS / original RMS over the
    // same 10 ms is the mean gain there: 1, then 0.9, 0.7, 0.5, 0.3, 0.1 (ramps), then 0.
    const ref = delayed(x, 30);
    const gains = Array.from({ length: 8 }, (_, k) => rms(y, start + k * 80, start + (k + 1) * 80) / rms(ref, start + k * 80, start + (k + 1) * 80));
    [1, 0.9, 0.7, 0.5, 0.3, 0.1].forEach((g, k) => expect(Math.abs(gains[k]! - g), `10 ms block ${k}`).toBeLessThan(0.08));
    const levels = gains;
    expect(levels[7]).toBe(0);
  });

  it('cross-fades back into the real signal and is exact again afterwards', () => {
    const x = voiced(4000);
    const ref = delayed(x, 30);
    for (const lostFrames of [1, 2, 3, 8]) {
      const y = run(x, 80, (i) => i >= 10 && i < 10 + lostFrames);
      const resume = (10 + lostFrames) * 80 + 30;
      const fade = Math.min(80, 32 * lostFrames);
      for (let i = resume + fade; i < x.length; i++) expect(y[i]).toBe(ref[i]);
    }
  });

  it('works at 16 kHz', () => {
    const x = voiced(6400, 125, 16000);
    const plc = new PacketLossConcealer({ sampleRate: 16000 });
    expect(plc.delay).toBe(60);
    const y = run(x, 320, (i) => i === 10, plc);
    expect(plc.pitchPeriod).toBe(128);
    expect(snr(delayed(x, 60), y, 3200 + 60, 3200 + 60 + 160)).toBeGreaterThan(15);
  });

  it('never throws and stays in range for any pattern of losses and frame sizes (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 400 })), { maxLength: 40 }),
        fc.integer(),
        (events, seed) => {
          const r = rng(seed);
          const plc = new PacketLossConcealer();
          for (const [lost, len] of events) {
            const out = new Int16Array(len);
            if (lost) plc.conceal(out);
            else plc.receive(Int16Array.from({ length: len }, () => Math.round((r() - 0.5) * 65535)), out);
          }
        },
      ),
      { seed: 11, numRuns: 200 },
    );
  });
});
