/**
 * Gain and level of 16-bit PCM.
 *
 * Levels are in dBov (ITU-T G.100.1): decibels relative to the overload point of the digital
 * system, where a full-scale square wave is 0 dBov and a full-scale sine is −3.01 dBov. This is
 * the unit RFC 6464 audio-level headers and most VAD thresholds use. For G.711 signals, dBm0 is
 * about dBov + 3.17 (a full-scale µ-law sine is +3.17 dBm0, G.711 §A.2/Table 5).
 */
import { CodecRangeError } from './errors.js';

/** The overload point (full scale) of 16-bit PCM, as a mean-square reference. */
const FULL_SCALE_SQUARED = 32768 * 32768;

/**
 * Converts decibels to a linear amplitude factor.
 *
 * @example
 * ```ts
 * dbToGain(-6); // ≈ 0.501
 * ```
 */
export function dbToGain(db: number): number {
  return 10 ** (db / 20);
}

/**
 * Multiplies samples by a gain given in dB, rounding to nearest and saturating at the 16-bit
 * limits (no wrap-around). Writes `pcm.length` samples into `out`, which may be `pcm` itself.
 * Allocates nothing.
 *
 * @throws {CodecRangeError} if `out` is shorter than `pcm` or `db` is not finite.
 * @example
 * ```ts
 * applyGain(prompt, prompt, -6);   // in place, half amplitude
 * ```
 */
export function applyGain(pcm: Int16Array, out: Int16Array, db: number): void {
  if (out.length < pcm.length) throw new CodecRangeError(`applyGain: output holds ${out.length}, input has ${pcm.length}`);
  if (!Number.isFinite(db)) throw new CodecRangeError(`applyGain: gain must be finite, got ${db} dB`);
  const g = dbToGain(db);
  const n = pcm.length;
  for (let i = 0; i < n; i++) {
    const y = Math.round(pcm[i]! * g);
    out[i] = y > 32767 ? 32767 : y < -32768 ? -32768 : y;
  }
}

/**
 * RMS level of `pcm[start..end)` in dBov; `-Infinity` for digital silence or an empty range.
 *
 * @example
 * ```ts
 * levelDbov(frame);              // e.g. -23.5 for speech at a normal level
 * ```
 */
export function levelDbov(pcm: Int16Array, start = 0, end = pcm.length): number {
  const from = Math.max(0, start);
  const to = Math.min(pcm.length, end);
  if (to <= from) return Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (let i = from; i < to; i++) {
    const s = pcm[i]!;
    sum += s * s;
  }
  if (sum === 0) return Number.NEGATIVE_INFINITY;
  return 10 * Math.log10(sum / (to - from) / FULL_SCALE_SQUARED);
}

/**
 * Peak level of `pcm` in dBFS relative to 32768 (0 for a full-scale sample).
 *
 * @example
 * ```ts
 * peakDbfs(new Int16Array([16384])); // ≈ -6.02
 * ```
 */
export function peakDbfs(pcm: Int16Array): number {
  let peak = 0;
  for (let i = 0; i < pcm.length; i++) {
    const s = pcm[i]!;
    const a = s < 0 ? -s : s;
    if (a > peak) peak = a;
  }
  return peak === 0 ? Number.NEGATIVE_INFINITY : 20 * Math.log10(peak / 32768);
}
