/** Deterministic test signals for the codecs tests (seeded; no Math.random). */
import { addTone, dbm0ToAmplitude, type ToneComponent } from '../../src/codecs/index.js';

/** A small seeded PRNG (mulberry32), shared with the benchmarks' trace generator. */
import { seededRandom as rng } from '../../bench/network-trace.js';
export { rng };

/** Gaussian noise (Box–Muller) from a seeded PRNG. */
export function gaussian(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Silence of `ms` at 8 kHz. */
export const silence = (ms: number, rate = 8000): Int16Array => new Int16Array(Math.round((ms * rate) / 1000));

/** A steady multi-tone of `ms` with the given components, starting at oscillator phase `phase` samples. */
export function tone(ms: number, comps: ToneComponent[], rate = 8000, phase = 0): Int16Array {
  const out = new Int16Array(Math.round((ms * rate) / 1000));
  addTone(out, comps, rate, 0, out.length, 8, phase);
  return out;
}

export function concat(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Adds white Gaussian noise at `snrDb` below the signal's own mean power (in place). */
export function addNoise(pcm: Int16Array, snrDb: number, seed: number): Int16Array {
  let power = 0;
  for (const s of pcm) power += s * s;
  power /= pcm.length;
  const sigma = Math.sqrt(power / 10 ** (snrDb / 10));
  const g = gaussian(rng(seed));
  for (let i = 0; i < pcm.length; i++) {
    const y = Math.round(pcm[i]! + sigma * g());
    pcm[i] = y > 32767 ? 32767 : y < -32768 ? -32768 : y;
  }
  return pcm;
}

/** Noise with a fixed RMS level in dBm0 (for adding to a tone whose power is known). */
export function noiseAtDbm0(n: number, levelDbm0: number, seed: number): Int16Array {
  const sigma = dbm0ToAmplitude(levelDbm0) / Math.SQRT2;
  const g = gaussian(rng(seed));
  return Int16Array.from({ length: n }, () => Math.round(sigma * g()));
}

/**
 * Music-like signal: chords of 3–4 notes of the equal-tempered scale with harmonics
 * (sawtooth-like 1/k spectrum), vibrato, and note changes every 120–400 ms, seeded.
 */
export function musicLike(seconds: number, seed: number, rate = 8000): Int16Array {
  const random = rng(seed);
  const out = new Float64Array(Math.round(seconds * rate));
  let at = 0;
  while (at < out.length) {
    const len = Math.min(out.length - at, Math.round((0.12 + 0.28 * random()) * rate));
    const notes = 3 + Math.floor(random() * 2);
    const root = 45 + Math.floor(random() * 30); // MIDI note, ~110 Hz to ~620 Hz
    const chord = [0, 4, 7, 11, 12, 16].sort(() => random() - 0.5).slice(0, notes);
    for (const interval of chord) {
      const f0 = 440 * 2 ** ((root + interval - 69) / 12);
      const vibRate = 4 + 3 * random();
      const phase0 = random() * 2 * Math.PI;
      for (let h = 1; h <= 8 && f0 * h < 3800; h++) {
        const amp = 3000 / h;
        let ph = phase0 * h;
        for (let i = 0; i < len; i++) {
          const f = f0 * h * (1 + 0.004 * Math.sin((2 * Math.PI * vibRate * (at + i)) / rate));
          ph += (2 * Math.PI * f) / rate;
          const env = Math.min(1, i / 80, (len - i) / 80);
          out[at + i]! += amp * env * Math.sin(ph);
        }
      }
    }
    at += len;
  }
  return Int16Array.from(out, (v) => Math.max(-32768, Math.min(32767, Math.round(v))));
}
