/**
 * The audio comparison the interop tests rely on (test/helpers/audio-compare.ts): the best lag
 * and Pearson correlation of a reference against a delayed, damaged or unrelated copy, and
 * reading any WAV back as 8 kHz mono PCM.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeWav } from '../../src/codecs/index.js';
import { promptPath } from '../../src/call/prompts.js';
import { bestCorrelation, readWavPcm } from '../helpers/audio-compare.js';

/** A deterministic xorshift32 source of samples in [-amplitude, amplitude]. */
function noise(length: number, seed: number, amplitude = 8000): Int16Array {
  let x = seed >>> 0 || 1;
  const out = new Int16Array(length);
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = Math.round(((x / 0xffffffff) * 2 - 1) * amplitude);
  }
  return out;
}

/** `signal` preceded by `lag` samples of low noise and followed by `tail` more. */
function delayed(signal: Int16Array, lag: number, tail = 800): Int16Array {
  const out = noise(lag + signal.length + tail, 99, 30);
  for (let i = 0; i < signal.length; i++) out[lag + i] = signal[i]!;
  return out;
}

const speech = readWavPcm(promptPath('please-leave-a-message'));

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('bestCorrelation', () => {
  it('an identical signal matches at lag 0 with correlation ~1', () => {
    const r = bestCorrelation(speech, speech);
    expect(r.lag).toBe(0);
    expect(r.correlation).toBeGreaterThan(0.9999);
  });

  it('finds a delay of 1234 samples', () => {
    const r = bestCorrelation(speech, delayed(speech, 1234));
    expect(r.lag).toBe(1234);
    expect(r.correlation).toBeGreaterThan(0.999);
  });

  it('ignores gain and polarity', () => {
    const quiet = speech.map((s) => -Math.round(s / 4));
    const r = bestCorrelation(speech, delayed(quiet, 500));
    expect(r.lag).toBe(500);
    expect(r.correlation).toBeGreaterThan(0.99);
  });

  it('unrelated noise stays below 0.2', () => {
    const r = bestCorrelation(noise(40_000, 1), noise(64_000, 2));
    expect(r.correlation).toBeLessThan(0.2);
    expect(bestCorrelation(speech, noise(60_000, 3)).correlation).toBeLessThan(0.2);
  });

  it('a copy with 5% of its 20 ms frames zeroed stays above 0.8', () => {
    const damaged = speech.slice();
    let zeroed = 0;
    for (let f = 0; f * 160 < damaged.length; f++) {
      if (f % 20 === 7) {
        damaged.fill(0, f * 160, (f + 1) * 160);
        zeroed++;
      }
    }
    expect(zeroed).toBeGreaterThan(5);
    const r = bestCorrelation(speech, delayed(damaged, 4000));
    expect(r.lag).toBe(4000);
    expect(r.correlation).toBeGreaterThan(0.8);
  });

  it('searches only up to maxLagSamples, and compares only windowSamples', () => {
    const late = delayed(speech, 6000);
    expect(bestCorrelation(speech, late, { maxLagSamples: 3000 }).correlation).toBeLessThan(0.5);
    const r = bestCorrelation(speech, late, { maxLagSamples: 8000, windowSamples: 4000 });
    expect(r.lag).toBe(6000);
    expect(r.correlation).toBeGreaterThan(0.999);
  });

  it('returns correlation 0 when there is nothing to compare', () => {
    expect(bestCorrelation(speech, new Int16Array(0))).toEqual({ lag: 0, correlation: 0 });
    expect(bestCorrelation(speech, new Int16Array(speech.length + 100)).correlation).toBe(0);
  });

  it('handles 10 s of 8 kHz audio with a 3 s lag search quickly', () => {
    const reference = noise(80_000, 5);
    const received = delayed(reference, 17_777, 8000);
    const start = performance.now();
    const r = bestCorrelation(reference, received, { maxLagSamples: 24_000 });
    const ms = performance.now() - start;
    expect(r).toEqual({ lag: 17_777, correlation: expect.closeTo(1, 3) as number });
    expect(ms).toBeLessThan(2000);
  });
});

describe('readWavPcm', () => {
  it('reads µ-law, 16 kHz and 48 kHz stereo files back as 8 kHz mono that matches the original', () => {
    dir = mkdtempSync(join(tmpdir(), 'audio-compare-'));
    // A 600 Hz tone (well inside the telephone band) survives every conversion.
    const tone = (rate: number, seconds: number) => Int16Array.from({ length: rate * seconds }, (_, i) => Math.round(10000 * Math.sin((2 * Math.PI * 600 * i) / rate)));
    const narrow = tone(8000, 1);
    writeFileSync(join(dir, 'mulaw.wav'), encodeWav(narrow, { format: 'mulaw', sampleRate: 8000 }));
    writeFileSync(join(dir, 'alaw.wav'), encodeWav(narrow, { format: 'alaw', sampleRate: 8000 }));
    writeFileSync(join(dir, 'wide.wav'), encodeWav(tone(16000, 1), { sampleRate: 16000 }));
    const fullband = tone(48000, 1);
    const stereo = new Int16Array(fullband.length * 2);
    for (let i = 0; i < fullband.length; i++) stereo[2 * i] = stereo[2 * i + 1] = fullband[i]!;
    writeFileSync(join(dir, 'stereo48.wav'), encodeWav(stereo, { sampleRate: 48000, channels: 2 }));
    for (const name of ['mulaw', 'alaw', 'wide', 'stereo48']) {
      const pcm = readWavPcm(join(dir, `${name}.wav`));
      expect(pcm.length, name).toBe(8000);
      const r = bestCorrelation(narrow.subarray(200, 7600), pcm.subarray(200), { maxLagSamples: 5 });
      expect(r.lag, name).toBe(0);
      expect(r.correlation, name).toBeGreaterThan(0.99);
    }
  });

  it('brings 8 and 48 kHz files to 16 kHz on request', () => {
    dir = mkdtempSync(join(tmpdir(), 'audio-compare-'));
    const tone = (rate: number) => Int16Array.from({ length: rate }, (_, i) => Math.round(10000 * Math.sin((2 * Math.PI * 600 * i) / rate)));
    writeFileSync(join(dir, 'narrow.wav'), encodeWav(tone(8000), { format: 'mulaw', sampleRate: 8000 }));
    writeFileSync(join(dir, 'full.wav'), encodeWav(tone(48000), { sampleRate: 48000 }));
    const wide = tone(16000);
    for (const name of ['narrow', 'full']) {
      const pcm = readWavPcm(join(dir, `${name}.wav`), 16000);
      expect(pcm.length, name).toBe(16000);
      const r = bestCorrelation(wide.subarray(400, 15200), pcm.subarray(400), { maxLagSamples: 5 });
      expect([r.lag, r.correlation > 0.99], name).toEqual([0, true]);
    }
  });

  it('refuses a rate that is not a multiple of 8 kHz', () => {
    dir = mkdtempSync(join(tmpdir(), 'audio-compare-'));
    writeFileSync(join(dir, 'cd.wav'), encodeWav(new Int16Array(441), { sampleRate: 44100 }));
    expect(() => readWavPcm(join(dir!, 'cd.wav'))).toThrow(/44100 Hz is not a multiple of 8000 Hz/);
  });
});
