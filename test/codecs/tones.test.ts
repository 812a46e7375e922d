import { describe, expect, it } from 'vitest';
import {
  CodecRangeError,
  dbm0ToAmplitude,
  dtmfFrequencies,
  EUROPEAN_TONES,
  generateDtmf,
  NORTH_AMERICAN_TONES,
  ToneGenerator,
  type TonePlan,
} from '../../src/codecs/index.js';

/** Amplitude of frequency f in x (single-bin DFT over the whole buffer). */
function amplitudeAt(x: Int16Array, f: number, rate = 8000): number {
  let re = 0;
  let im = 0;
  for (let i = 0; i < x.length; i++) {
    re += x[i]! * Math.cos((2 * Math.PI * f * i) / rate);
    im += x[i]! * Math.sin((2 * Math.PI * f * i) / rate);
  }
  return (2 * Math.hypot(re, im)) / x.length;
}

const dbm0 = (amplitude: number): number => 20 * Math.log10(amplitude / dbm0ToAmplitude(0));

/** The steady middle of a burst (skips the 1 ms ramps at 8 kHz). */
const steady = (x: Int16Array): Int16Array => x.subarray(8, x.length - 8);

describe('DTMF generation (Q.23)', () => {
  it('maps digits to the Q.23 frequency pairs', () => {
    expect(dtmfFrequencies('1')).toEqual([697, 1209]);
    expect(dtmfFrequencies('0')).toEqual([941, 1336]);
    expect(dtmfFrequencies('#')).toEqual([941, 1477]);
    expect(dtmfFrequencies('d')).toEqual([941, 1633]);
    expect(() => dtmfFrequencies('E')).toThrow(CodecRangeError);
    expect(() => generateDtmf('12x')).toThrow(CodecRangeError);
  });

  it('generates both tones at the configured levels, with the configured timing', () => {
    const pcm = generateDtmf('5', { toneMs: 100, pauseMs: 50, lowLevelDbm0: -10, highLevelDbm0: -4 });
    expect(pcm.length).toBe(1200);
    const burst = steady(pcm.subarray(0, 800));
    expect(dbm0(amplitudeAt(burst, 770))).toBeCloseTo(-10, 0);
    expect(dbm0(amplitudeAt(burst, 1336))).toBeCloseTo(-4, 0);
    expect(amplitudeAt(burst, 697)).toBeLessThan(0.05 * amplitudeAt(burst, 770)); // leakage only
    expect(pcm.subarray(800).every((s) => s === 0)).toBe(true);
  });

  it('0 dBm0 is a sine 3.17 dB below µ-law full scale', () => {
    expect(dbm0ToAmplitude(3.17)).toBeCloseTo(32768, 0);
  });
});

describe('call-progress tones', () => {
  const plans: [string, TonePlan][] = [
    ['North American', NORTH_AMERICAN_TONES],
    ['European', EUROPEAN_TONES],
  ];

  for (const [name, plan] of plans) {
    it(`${name} ringback, busy and congestion follow their cadences`, () => {
      for (const spec of [plan.ringback, plan.busy, plan.congestion]) {
        const gen = new ToneGenerator(spec);
        const [on, off] = spec.cadence as [number, number];
        const period = ((on + off) * 8000) / 1000;
        const pcm = new Int16Array(2 * period);
        // Generate in 20 ms frames, as a call would.
        for (let i = 0; i < pcm.length; i += 160) gen.generate(pcm.subarray(i, i + 160));
        const onSamples = (on * 8000) / 1000;
        for (const start of [0, period]) {
          const burst = steady(pcm.subarray(start, start + onSamples));
          for (const f of spec.frequencies) expect(dbm0(amplitudeAt(burst, f)), `${spec.name} ${f}`).toBeCloseTo(spec.levelDbm0, 0);
          expect(pcm.subarray(start + onSamples, start + period).every((s) => s === 0)).toBe(true);
        }
      }
    });

    it(`${name} dial tone is continuous with seamless phase across frames`, () => {
      const gen = new ToneGenerator(plan.dial);
      const frames = new Int16Array(1600);
      for (let i = 0; i < frames.length; i += 160) gen.generate(frames.subarray(i, i + 160));
      const oneGo = new Int16Array(1600);
      new ToneGenerator(plan.dial).generate(oneGo);
      expect([...frames]).toEqual([...oneGo]);
    });

    it(`${name} confirmation tone plays once and reports done`, () => {
      const gen = new ToneGenerator(plan.confirmation);
      const buf = new Int16Array(8000);
      const written = gen.generate(buf);
      expect(gen.done).toBe(true);
      expect(written).toBe(4800);
      expect(buf.subarray(4800).every((s) => s === 0)).toBe(true);
      gen.reset();
      expect(gen.done).toBe(false);
    });
  }

  it('has the defining frequencies of each plan', () => {
    expect(NORTH_AMERICAN_TONES.ringback.frequencies).toEqual([440, 480]);
    expect(NORTH_AMERICAN_TONES.busy.frequencies).toEqual([480, 620]);
    expect(NORTH_AMERICAN_TONES.dial.frequencies).toEqual([350, 440]);
    for (const t of Object.values(EUROPEAN_TONES)) expect(t.frequencies).toEqual([425]);
  });

  it('ramps cadence edges (no full-scale step at on/off)', () => {
    const gen = new ToneGenerator({ name: 'x', frequencies: [1000], levelDbm0: 0, cadence: [50, 50], repeat: true });
    const pcm = new Int16Array(1600);
    gen.generate(pcm);
    const amp = dbm0ToAmplitude(0);
    for (let i = 1; i < pcm.length; i++) expect(Math.abs(pcm[i]! - pcm[i - 1]!)).toBeLessThan(amp * 0.8);
  });
});
