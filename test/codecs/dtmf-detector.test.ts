/**
 * DTMF receiver against ITU-T Q.24 (as far as it can be tested on synthetic signals): frequency
 * deviation, duration, twist, noise, pauses, and talk-off on speech (espeak-ng corpus,
 * test/fixtures/speech, see scripts/make-talkoff-corpus) and music-like signals.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeWavSamples,
  detectDtmf,
  DTMF_DIGITS,
  DtmfDetector,
  dtmfFrequencies,
  generateDtmf,
  muLawDecode,
  muLawEncode,
  readWav,
  resample,
} from '../../src/codecs/index.js';
import { addNoise, concat, musicLike, noiseAtDbm0, rng, silence, tone } from './signals.js';

/** A digit's tone with per-group frequency deviation and levels, framed by silence. */
function digitTone(
  digit: string,
  { ms = 60, lowDev = 0, highDev = 0, lowDbm0 = -10, highDbm0 = -10, lead = 30, phase = 0 } = {},
): Int16Array {
  const [lo, hi] = dtmfFrequencies(digit);
  return concat(
    silence(lead),
    tone(ms, [
      { frequency: lo * (1 + lowDev), levelDbm0: lowDbm0 },
      { frequency: hi * (1 + highDev), levelDbm0: highDbm0 },
    ], 8000, phase),
    silence(60),
  );
}

describe('DTMF detection (Q.24)', () => {
  it('detects every digit, and a sequence, from the generator', () => {
    for (const d of DTMF_DIGITS) expect(detectDtmf(digitTone(d))).toBe(d);
    expect(detectDtmf(generateDtmf('0123456789*#ABCD'))).toBe('0123456789*#ABCD');
    expect(detectDtmf(generateDtmf('5', { toneMs: 40, pauseMs: 40 }))).toBe('5');
  });

  it('separates repeated digits with 40 ms tones and 40 ms pauses', () => {
    expect(detectDtmf(concat(silence(20), generateDtmf('11223399##', { toneMs: 40, pauseMs: 40 })))).toBe('11223399##');
  });

  it('accepts ±1.5 % frequency deviation on either or both tones', () => {
    for (const dev of [-0.015, 0.015]) {
      for (const d of DTMF_DIGITS) {
        expect(detectDtmf(digitTone(d, { lowDev: dev, highDev: dev })), `${d} at ${dev}`).toBe(d);
        expect(detectDtmf(digitTone(d, { lowDev: dev, highDev: -dev }))).toBe(d);
        expect(detectDtmf(digitTone(d, { lowDev: dev }))).toBe(d);
        expect(detectDtmf(digitTone(d, { highDev: dev }))).toBe(d);
      }
    }
  });

  it('measures tone offsets through a monotonic table (what the ±2.5 % decision relies on)', () => {
    expect(new DtmfDetector().offsetTablesAreMonotonic()).toBe(true);
    expect(new DtmfDetector({ sampleRate: 16000 }).offsetTablesAreMonotonic()).toBe(true);
  });

  it('rejects ±3.5 % deviation of either tone, and anything further off', () => {
    for (const dev of [-0.06, -0.05, 0.05, 0.06]) {
      for (const d of DTMF_DIGITS) expect(detectDtmf(digitTone(d, { lowDev: dev, highDev: dev }))).toBe('');
    }
    // ±10 % lands within tolerance of a neighbouring row or column: never the original digit.
    for (const dev of [-0.1, 0.1]) {
      for (const d of DTMF_DIGITS) expect(detectDtmf(digitTone(d, { lowDev: dev, highDev: dev }))).not.toContain(d);
    }
    for (const dev of [-0.035, 0.035]) {
      for (const d of DTMF_DIGITS) {
        expect(detectDtmf(digitTone(d, { lowDev: dev }))).toBe('');
        expect(detectDtmf(digitTone(d, { highDev: dev }))).toBe('');
      }
    }
  });

  it('accepts tones of 40 ms at any alignment and rejects tones shorter than 23 ms', () => {
    for (const d of DTMF_DIGITS) {
      for (let lead = 0; lead < 80; lead += 9) {
        expect(detectDtmf(digitTone(d, { ms: 40, lead: 10 + lead / 8 })), `${d} 40 ms`).toBe(d);
        expect(detectDtmf(digitTone(d, { ms: 22, lead: 10 + lead / 8 })), `${d} 22 ms`).toBe('');
      }
    }
  });

  it('accepts the worst case Q.24 allows at once: 40 ms, ±1.5 %, twist at the limits, any alignment', () => {
    for (const d of DTMF_DIGITS) {
      for (const [lowDev, highDev, twist] of [[0.015, -0.015, 4], [-0.015, 0.015, -8], [0.015, 0.015, -8], [-0.015, -0.015, 4]] as const) {
        for (let lead = 0; lead < 80; lead += 13) {
          const pcm = digitTone(d, { ms: 40, lead: 10 + lead / 8, lowDev, highDev, lowDbm0: -12, highDbm0: -12 + twist });
          expect(detectDtmf(pcm), `${d} ${lowDev} ${highDev} ${twist} +${lead}`).toBe(d);
        }
      }
    }
  });

  it('accepts twist from +4 dB to -8 dB (high group relative to low) and rejects +7 / -11', () => {
    for (const d of DTMF_DIGITS) {
      for (const twist of [4, 0, -4, -8]) {
        expect(detectDtmf(digitTone(d, { lowDbm0: -12, highDbm0: -12 + twist })), `${d} twist ${twist}`).toBe(d);
      }
      for (const twist of [7, -11]) expect(detectDtmf(digitTone(d, { lowDbm0: -12, highDbm0: -12 + twist }))).toBe('');
    }
  });

  it('works across levels from -28 to 0 dBm0 per tone and ignores very weak tones', () => {
    for (const level of [0, -10, -20, -28]) {
      expect(detectDtmf(digitTone('8', { lowDbm0: level, highDbm0: level }))).toBe('8');
    }
    expect(detectDtmf(digitTone('8', { lowDbm0: -40, highDbm0: -40 }))).toBe('');
  });

  it('stays robust at 15 dB SNR, with deviation and twist (property over seeds)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 15 }),
        fc.constantFrom(-0.015, 0, 0.015),
        fc.constantFrom(-6, 0, 3),
        fc.integer({ min: 0, max: 1e6 }),
        (digitIndex, dev, twist, seed) => {
          const d = DTMF_DIGITS[digitIndex]!;
          const [lo, hi] = dtmfFrequencies(d);
          const sig = tone(60, [
            { frequency: lo * (1 + dev), levelDbm0: -12 },
            { frequency: hi * (1 - dev), levelDbm0: -12 + twist },
          ]);
          // Noise 15 dB below the tone pair's power, over the whole signal including pauses.
          const pcm = concat(silence(40), sig, silence(60));
          let power = 0;
          for (const s of sig) power += s * s;
          const noiseDbm0 = 10 * Math.log10(power / sig.length / (22_720 ** 2 / 2)) - 15;
          const noise = noiseAtDbm0(pcm.length, noiseDbm0, seed);
          for (let i = 0; i < pcm.length; i++) pcm[i] = Math.max(-32768, Math.min(32767, pcm[i]! + noise[i]!));
          expect(detectDtmf(pcm)).toBe(d);
        },
      ),
      { seed: 24, numRuns: 200 },
    );
  });

  it('detects 40 ms tones at 15 dB SNR with deviation and twist (property over digits, alignment, seeds)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 0, max: 79 }),
        fc.constantFrom(-0.015, 0, 0.015),
        fc.constantFrom(-6, 0, 3),
        fc.integer({ min: 0, max: 1e6 }),
        (digitIndex, lead, dev, twist, seed) => {
          const d = DTMF_DIGITS[digitIndex]!;
          const pcm = digitTone(d, { ms: 40, lead: 10 + lead / 8, lowDev: dev, highDev: -dev, lowDbm0: -12, highDbm0: -12 + twist });
          // Noise 15 dB below the power of the tone pair.
          const pairDbm0 = 10 * Math.log10(10 ** (-12 / 10) + 10 ** ((-12 + twist) / 10));
          const noise = noiseAtDbm0(pcm.length, pairDbm0 - 15, seed);
          for (let i = 0; i < pcm.length; i++) pcm[i] = Math.max(-32768, Math.min(32767, pcm[i]! + noise[i]!));
          expect(detectDtmf(pcm)).toBe(d);
        },
      ),
      { seed: 40, numRuns: 400 },
    );
  });

  it('detects digits mixed into speech at a normal level', () => {
    const speech = loadSpeech()[0]!.subarray(0, 8000 * 2);
    const digits = generateDtmf('159#', { toneMs: 70, pauseMs: 430, lowLevelDbm0: -6, highLevelDbm0: -4 });
    const mixed = speech.slice(0, digits.length);
    for (let i = 0; i < digits.length; i++) mixed[i] = Math.max(-32768, Math.min(32767, Math.round(mixed[i]! * 0.1) + digits[i]!));
    expect(detectDtmf(mixed)).toBe('159#');
  });

  it('reports each digit once with callbacks, at the right time and duration', () => {
    const starts: [string, number][] = [];
    const ends: [string, number][] = [];
    const detector = new DtmfDetector({
      onDigit: (d, at) => starts.push([d, at]),
      onDigitEnd: (d, _at, ms) => ends.push([d, ms]),
    });
    const pcm = concat(silence(100), generateDtmf('42', { toneMs: 100, pauseMs: 100 }));
    // Feed in odd-sized chunks: the result must not depend on chunking.
    let got = '';
    for (let i = 0; i < pcm.length; i += 37) got += detector.process(pcm.subarray(i, i + 37));
    expect(got).toBe('42');
    // 100 ms tones: about 9 passing blocks each (the counter the talk-off tests rely on works).
    expect(detector.stats.toneBlocks).toBeGreaterThanOrEqual(14);
    expect(starts.map((s) => s[0])).toEqual(['4', '2']);
    // Recognised within 40 ms of the tone's start (100 ms and 300 ms).
    expect(starts[0]![1]).toBeGreaterThan(800);
    expect(starts[0]![1]).toBeLessThanOrEqual(800 + 320);
    expect(ends.map((e) => e[0])).toEqual(['4', '2']);
    for (const [, ms] of ends) expect(Math.abs(ms - 100)).toBeLessThanOrEqual(20);
  });

  it('works at 16 kHz too', () => {
    const pcm = resample(generateDtmf('7*'), 8000, 16000);
    expect(detectDtmf(pcm, { sampleRate: 16000 })).toBe('7*');
  });
});

function loadSpeech(): Int16Array[] {
  const dir = new URL('../fixtures/speech/', import.meta.url);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.wav'))
    .sort()
    .map((f) => decodeWavSamples(readWav(new Uint8Array(readFileSync(new URL(f, dir))))));
}

describe('DTMF talk-off (no false digits)', () => {
  const corpus = loadSpeech();

  it('has a speech corpus of several voices', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(6);
    expect(corpus.reduce((n, s) => n + s.length, 0) / 8000).toBeGreaterThan(30);
  });

  it('finds no digits in espeak-ng speech at three levels, clean, noisy and through µ-law', () => {
    // Stronger than "no digits": not one 20 ms block of speech passes the tone tests on its
    // own (a digit needs two in a row), so the margin against talk-off is the whole decision.
    for (const [i, speech] of corpus.entries()) {
      for (const gain of [0.3, 1, 3]) {
        const scaled = Int16Array.from(speech, (s) => Math.max(-32768, Math.min(32767, Math.round(s * gain))));
        for (const signal of [scaled, addNoise(scaled.slice(), 20, i), muLawDecode(muLawEncode(scaled))]) {
          const detector = new DtmfDetector();
          expect(detector.process(signal), `speech ${i} gain ${gain}`).toBe('');
          expect(detector.stats.blocks).toBeGreaterThan(100);
          expect(detector.stats.toneBlocks, `speech ${i} gain ${gain}`).toBe(0);
        }
      }
    }
  });

  it('finds no digits in music-like signals (chords with harmonics and vibrato)', () => {
    for (let seed = 1; seed <= 6; seed++) {
      const detector = new DtmfDetector();
      expect(detector.process(musicLike(8, seed)), `music ${seed}`).toBe('');
      expect(detector.stats.toneBlocks, `music ${seed}`).toBe(0);
    }
  });

  it('finds no digits in call-progress tones or white noise', () => {
    const r = rng(9);
    const noise = Int16Array.from({ length: 40000 }, () => Math.round((r() - 0.5) * 20000));
    expect(detectDtmf(noise)).toBe('');
    const dial = tone(1000, [{ frequency: 350, levelDbm0: -13 }, { frequency: 440, levelDbm0: -13 }]);
    const ringback = tone(1000, [{ frequency: 440, levelDbm0: -19 }, { frequency: 480, levelDbm0: -19 }]);
    expect(detectDtmf(concat(dial, ringback))).toBe('');
  });
});
