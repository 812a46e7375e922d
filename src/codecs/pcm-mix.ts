/**
 * Mixing of 16-bit PCM streams with 32-bit accumulation and a limiter, including the
 * conference "N−1" mix (every participant hears everyone but themselves).
 *
 * N−1 in one pass: the frame of every input is added once into a 32-bit total, and each
 * participant's output is `total − own input`, so the cost is O(N·L) instead of the O(N²·L) of
 * summing N−1 inputs for each of N outputs, and the subtraction is exact (integer arithmetic,
 * no rounding), so a participant never hears a residue of their own voice.
 *
 * The limiter: a sum of several loud talkers exceeds 16 bits. Hard clipping is harsh, so each
 * output has a gain that drops (at the frame where a peak would exceed the threshold) to exactly
 * what fits, ramped linearly across the frame, and recovers smoothly (release) afterwards.
 * Because a whole frame is in hand before it is written, the limiter sees its peak in advance
 * (one-frame look-ahead); saturation remains as a backstop for the start of an attack ramp.
 * When the inputs' peaks cannot add up past the threshold and no gain is pending, outputs are
 * written straight from the integers (the common case in a conference).
 *
 * Hot path: a mixer owns its 32-bit accumulator and limiter state and reuses them; nothing is
 * allocated per frame (only when the frame size or participant count first grows).
 */
import { CodecRangeError } from './errors.js';

/**
 * Options of a {@link PcmMixer}.
 *
 * @example
 * ```ts
 * new PcmMixer({ thresholdDbfs: -3, releaseMs: 100, sampleRate: 16000 });
 * ```
 */
export interface PcmMixerOptions {
  /** Peak level the limiter keeps outputs under, in dBFS (≤ 0); default −1. */
  thresholdDbfs?: number;
  /** Time for the limiter gain to recover by 1/e towards unity, in ms; default 50. */
  releaseMs?: number;
  /** Sample rate, used only to convert `releaseMs`; default 8000. */
  sampleRate?: number;
  /** Set false to disable the limiter and only saturate; default true. */
  limiter?: boolean;
}

/**
 * Mixes N streams into one, or into N "everyone but me" streams, with a limiter.
 *
 * @example
 * ```ts
 * const mixer = new PcmMixer();
 * const ins = [alice, bob, carol];                 // 20 ms frames, Int16Array(160) each
 * const outs = [toAlice, toBob, toCarol];          // reused every frame
 * mixer.mixMinusOne(ins, outs);                    // toAlice = bob + carol, …
 * mixer.mix(ins, recording);                       // everyone, for the conference recording
 * ```
 */
export class PcmMixer {
  private readonly threshold: number;
  private readonly limiter: boolean;
  private readonly releasePerSample: number;
  private total = new Int32Array(0);
  private peaks = new Int32Array(0);
  /** Current limiter gain per conference output (by participant index). */
  private gains = new Float64Array(0);
  /** Current limiter gain of {@link PcmMixer.mix}'s output. */
  private mixGain = 1;

  constructor(options: PcmMixerOptions = {}) {
    const dbfs = Math.min(0, options.thresholdDbfs ?? -1);
    this.threshold = Math.floor(32767 * 10 ** (dbfs / 20));
    this.limiter = options.limiter ?? true;
    const releaseSamples = ((options.releaseMs ?? 50) / 1000) * (options.sampleRate ?? 8000);
    this.releasePerSample = releaseSamples > 0 ? 1 / releaseSamples : 1;
  }

  /**
   * Mixes all `inputs` into `out` (`out.length` samples, each input at least that long).
   * `out` may be one of the inputs.
   *
   * @throws {CodecRangeError} if an input is shorter than `out`.
   */
  mix(inputs: readonly Int16Array[], out: Int16Array): void {
    const n = out.length;
    const peakSum = this.accumulate(inputs, n);
    this.mixGain = this.emit(this.total, null, out, n, peakSum, this.mixGain);
  }

  /**
   * Conference mix: `outputs[i]` gets the sum of every input except `inputs[i]`, limited.
   * All frames must have the length of `outputs[0]` (or longer). An output may be its own
   * participant's input array (in place): each input is read into the total, and its own
   * output is computed sample by sample before that sample is overwritten.
   *
   * @throws {CodecRangeError} if the counts differ or a buffer is too short.
   */
  mixMinusOne(inputs: readonly Int16Array[], outputs: readonly Int16Array[]): void {
    if (outputs.length !== inputs.length) {
      throw new CodecRangeError(`mixMinusOne: ${inputs.length} inputs but ${outputs.length} outputs`);
    }
    if (outputs.length === 0) return;
    const n = outputs[0]!.length;
    for (const o of outputs) {
      if (o.length < n) throw new CodecRangeError(`mixMinusOne: an output holds ${o.length} samples, needs ${n}`);
    }
    const peakSum = this.accumulate(inputs, n);
    this.ensureGains(inputs.length);
    const gains = this.gains;
    for (let p = 0; p < inputs.length; p++) {
      gains[p] = this.emit(this.total, inputs[p]!, outputs[p]!, n, peakSum - this.peaks[p]!, gains[p]!);
    }
  }

  /** Resets the limiter (e.g. when the conference's membership changes completely). */
  reset(): void {
    this.gains.fill(1);
    this.mixGain = 1;
  }

  /** Sums the first n samples of every input into `total`; returns the sum of input peaks. */
  private accumulate(inputs: readonly Int16Array[], n: number): number {
    if (this.total.length < n) this.total = new Int32Array(n);
    if (this.peaks.length < inputs.length) {
      const grown = new Int32Array(inputs.length);
      grown.set(this.peaks.subarray(0, Math.min(this.peaks.length, inputs.length)));
      this.peaks = grown;
    }
    const total = this.total;
    total.fill(0, 0, n);
    let peakSum = 0;
    for (let p = 0; p < inputs.length; p++) {
      const x = inputs[p]!;
      if (x.length < n) throw new CodecRangeError(`mix: input ${p} holds ${x.length} samples, needs ${n}`);
      let peak = 0;
      for (let i = 0; i < n; i++) {
        const s = x[i]!;
        total[i] = (total[i]! + s) | 0;
        // |s| without a branch the JIT cannot predict: max(s, -s).
        const a = s < 0 ? -s : s;
        if (a > peak) peak = a;
      }
      this.peaks[p] = peak;
      peakSum += peak;
    }
    return peakSum;
  }

  private ensureGains(count: number): void {
    if (this.gains.length < count) {
      const grown = new Float64Array(count).fill(1);
      grown.set(this.gains);
      this.gains = grown;
    }
  }

  /**
   * Writes `total − own` (or `total`) to `out` through a limiter whose gain was `gain`;
   * returns the gain at the end of the frame.
   */
  private emit(total: Int32Array, own: Int16Array | null, out: Int16Array, n: number, peakBound: number, gain: number): number {
    const threshold = this.threshold;
    // Fast path: no output sample can exceed the threshold and the limiter is at rest.
    if (gain === 1 && peakBound <= threshold) {
      if (own === null) for (let i = 0; i < n; i++) out[i] = total[i]!;
      else for (let i = 0; i < n; i++) out[i] = total[i]! - own[i]!;
      return 1;
    }
    // Actual peak of this output's frame.
    let peak = 0;
    if (own === null) {
      for (let i = 0; i < n; i++) {
        const v = total[i]!;
        const a = v < 0 ? -v : v;
        if (a > peak) peak = a;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const v = total[i]! - own[i]!;
        const a = v < 0 ? -v : v;
        if (a > peak) peak = a;
      }
    }
    // Release towards unity (exponential, per sample over the frame), then attack if needed.
    let target = 1 - (1 - gain) * Math.exp(-n * this.releasePerSample);
    if (this.limiter && peak * target > threshold) target = threshold / peak;
    if (!this.limiter) {
      gain = 1;
      target = 1;
    }
    const step = n > 0 ? (target - gain) / n : 0;
    for (let i = 0; i < n; i++) {
      gain += step;
      const v = own === null ? total[i]! : total[i]! - own[i]!;
      const y = Math.round(v * gain);
      out[i] = y > 32767 ? 32767 : y < -32768 ? -32768 : y;
    }
    // Within half an LSB of full scale of unity: back to the exact integer fast path.
    return target > 1 - 1 / 65536 ? 1 : target;
  }
}

/**
 * Allocating convenience: the saturated sum of `inputs` (no limiter), as long as the shortest.
 *
 * @example
 * ```ts
 * const both = mixPcm([prompt, musicOnHold]);
 * ```
 */
export function mixPcm(inputs: readonly Int16Array[]): Int16Array {
  const n = inputs.length === 0 ? 0 : Math.min(...inputs.map((x) => x.length));
  const out = new Int16Array(n);
  new PcmMixer({ limiter: false }).mix(inputs, out);
  return out;
}
