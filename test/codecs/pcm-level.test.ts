import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyGain,
  CodecRangeError,
  dbToGain,
  decodeWavSamples,
  levelDbov,
  peakDbfs,
  readWav,
  trimTrailingSilence,
  VoiceActivityDetector,
} from '../../src/codecs/index.js';
import { concat, noiseAtDbm0, silence } from './signals.js';

const sine = (n: number, amp: number): Int16Array => Int16Array.from({ length: n }, (_, i) => Math.round(amp * Math.sin((2 * Math.PI * 1000 * i) / 8000 + 0.3)));

describe('gain and level', () => {
  it('measures dBov per G.100.1: full-scale square 0, full-scale sine -3.01', () => {
    expect(levelDbov(new Int16Array(100).fill(-32768))).toBeCloseTo(0, 6);
    expect(levelDbov(sine(8000, 32767))).toBeCloseTo(-3.01, 2);
    expect(levelDbov(sine(8000, 32767 / 10))).toBeCloseTo(-23.01, 2);
    expect(levelDbov(new Int16Array(10))).toBe(Number.NEGATIVE_INFINITY);
    expect(levelDbov(new Int16Array(0))).toBe(Number.NEGATIVE_INFINITY);
    expect(peakDbfs(new Int16Array([16384]))).toBeCloseTo(-6.02, 2);
  });

  it('applies gain in dB, rounding, saturating, in place', () => {
    const x = new Int16Array([1000, -1000, 20000, -20000]);
    applyGain(x, x, 6.0206);
    expect([...x]).toEqual([2000, -2000, 32767, -32768]);
    const y = new Int16Array(1);
    applyGain(new Int16Array([10000]), y, -20);
    expect(y[0]).toBe(1000);
    expect(dbToGain(-6)).toBeCloseTo(0.501, 3);
    expect(() => applyGain(new Int16Array(3), new Int16Array(2), 0)).toThrow(CodecRangeError);
    expect(() => applyGain(new Int16Array(3), new Int16Array(3), Number.NaN)).toThrow(CodecRangeError);
  });

  it('gain changes the level by exactly that many dB when nothing clips (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: -30, max: 10, noNaN: true }), (db) => {
        const x = sine(800, 8000);
        const y = new Int16Array(x.length);
        applyGain(x, y, db);
        expect(levelDbov(y) - levelDbov(x)).toBeCloseTo(db, 1);
      }),
      { seed: 8, numRuns: 100 },
    );
  });
});

describe('VoiceActivityDetector', () => {
  const speech = decodeWavSamples(readWav(new Uint8Array(readFileSync(new URL('../fixtures/speech/en-m-slow.wav', import.meta.url)))));

  it('tracks speech, pauses and the silence that follows', () => {
    const vad = new VoiceActivityDetector({ hangoverMs: 200 });
    const signal = concat(speech, silence(3000));
    let voiced = 0;
    for (let i = 0; i + 160 <= speech.length; i += 160) if (vad.process(signal.subarray(i, i + 160))) voiced++;
    expect(voiced / (speech.length / 160)).toBeGreaterThan(0.5);
    for (let i = speech.length; i + 160 <= signal.length; i += 160) vad.process(signal.subarray(i, i + 160));
    expect(vad.silenceMs).toBeGreaterThanOrEqual(2900);
  });

  it('applies the hangover only after voice', () => {
    const vad = new VoiceActivityDetector({ hangoverMs: 100 });
    expect(vad.process(silence(20))).toBe(false);
    expect(vad.process(speech.subarray(8000, 8160))).toBe(true);
    for (let k = 0; k < 5; k++) expect(vad.process(silence(20))).toBe(true); // 100 ms of hangover
    expect(vad.process(silence(20))).toBe(false);
    expect(vad.silenceMs).toBe(120);
    vad.reset();
    expect(vad.silenceMs).toBe(0);
  });

  it('learns a steady noise floor and does not count it as voice', () => {
    const vad = new VoiceActivityDetector();
    const noise = noiseAtDbm0(8000 * 5, -40, 1); // loud line noise, above the absolute floor
    let lastVoice = 0;
    for (let i = 0; i + 160 <= noise.length; i += 160) if (vad.process(noise.subarray(i, i + 160))) lastVoice = i;
    expect(lastVoice).toBeLessThan(8000 * 2);
    // Speech over that noise is still voice.
    expect(vad.process(Int16Array.from(speech.subarray(8000, 8160), (s, i) => s + noise[i]!))).toBe(true);
  });

  it('trims trailing silence (and noise) from a voicemail, keeping a short tail', () => {
    const vm = concat(speech, silence(4000));
    const keep = trimTrailingSilence(vm);
    expect(keep).toBeGreaterThan(speech.length - 8000 * 0.5);
    expect(keep).toBeLessThanOrEqual(speech.length + 1600 + 160);
    expect(trimTrailingSilence(silence(2000))).toBe(0);
    expect(trimTrailingSilence(concat(speech, noiseAtDbm0(8000 * 4, -60, 2)))).toBeLessThanOrEqual(speech.length + 1600 + 160);
  });
});
