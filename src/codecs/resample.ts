/**
 * 8 kHz ↔ 16 kHz resampling (narrowband G.711 ↔ wideband prompts and recordings) with a proper
 * low-pass FIR, not sample doubling or dropping.
 *
 * The filter is a 63-tap half-band FIR at 16 kHz (windowed sinc, Kaiser β = 7): cut-off 4 kHz,
 * pass band flat to about 3.4 kHz (the telephone band), stop band from about 4.6 kHz at
 * −70 dB. Half-band means every second tap is zero and the centre tap is ½, so:
 *   - upsampling: even outputs are the input samples themselves (delayed); odd outputs are a
 *     16-pair symmetric sum — 16 multiplies per input sample;
 *   - downsampling: each output is ½·centre + a 16-pair symmetric sum over the odd neighbours.
 * Images above 4 kHz (upsampling) and aliases folding into the band (downsampling) are
 * suppressed by the stop band.
 *
 * The streaming classes keep the filter history between frames so that a call's audio can be
 * converted 20 ms at a time with no seams; they allocate nothing per frame once their work
 * buffer has grown to the frame size. {@link resample} is the one-shot, delay-compensated form.
 */
import { CodecRangeError } from './errors.js';

/** Half-band half-length: taps run from −31 to +31. */
const HALF = 31;
/** Number of non-zero odd-tap pairs (±1, ±3, … ±31). */
const PAIRS = 16;

/** `ODD_TAPS[j]` = h[2j+1] = h[−(2j+1)], for the 16 kHz half-band filter h (DC gain 1). */
const ODD_TAPS = new Float64Array(PAIRS);

function besselI0(x: number): number {
  // Power series of the modified Bessel function of order 0 (for the Kaiser window).
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) * (x / (2 * k));
    sum += term;
    if (term < 1e-12 * sum) break;
  }
  return sum;
}

{
  const beta = 7;
  const norm = besselI0(beta);
  let sum = 0;
  for (let j = 0; j < PAIRS; j++) {
    const k = 2 * j + 1;
    const sinc = Math.sin((Math.PI * k) / 2) / ((Math.PI * k) / 2);
    const r = k / HALF;
    const w = besselI0(beta * Math.sqrt(1 - r * r)) / norm;
    ODD_TAPS[j] = 0.5 * sinc * w;
    sum += 2 * ODD_TAPS[j]!;
  }
  // Exact DC gain: the centre tap is ½, so the odd taps must add up to ½.
  for (let j = 0; j < PAIRS; j++) ODD_TAPS[j] = (ODD_TAPS[j]! * 0.5) / sum;
}

function clamp16(v: number): number {
  const r = Math.round(v);
  return r > 32767 ? 32767 : r < -32768 ? -32768 : r;
}

/**
 * Streaming 2× upsampler (8 kHz → 16 kHz). Output is delayed by {@link Upsampler.delay}
 * samples (at the output rate) because the filter needs 16 input samples of look-ahead.
 *
 * @example
 * ```ts
 * const up = new Upsampler();
 * const wide = new Int16Array(320);
 * up.process(narrowFrame160, wide);   // every 20 ms
 * ```
 */
export class Upsampler {
  /** Output samples of delay (2 ms at 16 kHz). */
  readonly delay = 2 * PAIRS;
  /** [history of 2·PAIRS − 1 inputs | current input]. */
  private work = new Int16Array(2 * PAIRS - 1);

  /**
   * Converts `input` (any length) into `2 * input.length` samples at the start of `out`.
   *
   * @returns the number of samples written.
   * @throws {CodecRangeError} if `out` is shorter than twice the input.
   */
  process(input: Int16Array, out: Int16Array): number {
    const n = input.length;
    if (out.length < 2 * n) throw new CodecRangeError(`Upsampler: output holds ${out.length}, needs ${2 * n}`);
    const hist = 2 * PAIRS - 1;
    if (this.work.length < hist + n) {
      const grown = new Int16Array(hist + n);
      grown.set(this.work.subarray(0, hist));
      this.work = grown;
    }
    const w = this.work;
    w.set(input, hist);
    const t = ODD_TAPS;
    // Output pair i is centred on w[c], c = PAIRS - 1 + i: even = the sample, odd = the
    // interpolated point between w[c] and w[c + 1].
    for (let i = 0, c = PAIRS - 1; i < n; i++, c++) {
      out[2 * i] = w[c]!;
      let acc = 0;
      for (let j = 0; j < PAIRS; j++) acc += t[j]! * (w[c - j]! + w[c + 1 + j]!);
      out[2 * i + 1] = clamp16(2 * acc);
    }
    w.copyWithin(0, n, n + hist);
    return 2 * n;
  }

  /** Clears the filter history (start of a new, unrelated stream). */
  reset(): void {
    this.work.fill(0);
  }
}

/**
 * Streaming 2× downsampler (16 kHz → 8 kHz) with the anti-alias half-band filter. Input frames
 * must have an even length (20 ms at 16 kHz is 320). Output is delayed by
 * {@link Downsampler.delay} samples at the output rate.
 *
 * @example
 * ```ts
 * const down = new Downsampler();
 * const narrow = new Int16Array(160);
 * down.process(wideFrame320, narrow);
 * ```
 */
export class Downsampler {
  /** Output samples of delay (15 samples, 1.875 ms at 8 kHz). */
  readonly delay = (HALF - 1) / 2;
  private work = new Int16Array(2 * HALF);

  /**
   * Converts `input` into `input.length / 2` samples at the start of `out`.
   *
   * @returns the number of samples written.
   * @throws {CodecRangeError} on an odd input length or a short output.
   */
  process(input: Int16Array, out: Int16Array): number {
    const n = input.length;
    if (n & 1) throw new CodecRangeError(`Downsampler: input length must be even, got ${n}`);
    const m = n >>> 1;
    if (out.length < m) throw new CodecRangeError(`Downsampler: output holds ${out.length}, needs ${m}`);
    const hist = 2 * HALF;
    if (this.work.length < hist + n) {
      const grown = new Int16Array(hist + n);
      grown.set(this.work.subarray(0, hist));
      this.work = grown;
    }
    const w = this.work;
    w.set(input, hist);
    const t = ODD_TAPS;
    // Output i is centred on w[c], c = HALF + 1 + 2i (even absolute input positions).
    for (let i = 0, c = HALF + 1; i < m; i++, c += 2) {
      let acc = 0.5 * w[c]!;
      for (let j = 0; j < PAIRS; j++) acc += t[j]! * (w[c - 1 - 2 * j]! + w[c + 1 + 2 * j]!);
      out[i] = clamp16(acc);
    }
    w.copyWithin(0, n, n + hist);
    return m;
  }

  /** Clears the filter history. */
  reset(): void {
    this.work.fill(0);
  }
}

/**
 * One-shot resampling between 8000 and 16000 Hz (or a copy when the rates are equal), with the
 * filter delay compensated so output sample `2i` (up) or `i` (down) lines up with input sample
 * `i` (up) or `2i` (down). Allocates the result.
 *
 * @throws {CodecRangeError} for any other pair of rates.
 * @example
 * ```ts
 * const narrow = resample(wideband16k, 16000, 8000);
 * ```
 */
export function resample(pcm: Int16Array, fromRate: number, toRate: number): Int16Array {
  if (fromRate === toRate) return pcm.slice();
  if (fromRate === 8000 && toRate === 16000) {
    const up = new Upsampler();
    const padded = new Int16Array(pcm.length + PAIRS);
    padded.set(pcm);
    const out = new Int16Array(2 * padded.length);
    up.process(padded, out);
    return out.slice(up.delay, up.delay + 2 * pcm.length);
  }
  if (fromRate === 16000 && toRate === 8000) {
    const down = new Downsampler();
    const even = pcm.length + (pcm.length & 1);
    const padded = new Int16Array(even + 2 * down.delay);
    padded.set(pcm);
    const out = new Int16Array(padded.length >>> 1);
    down.process(padded, out);
    return out.slice(down.delay, down.delay + even / 2);
  }
  throw new CodecRangeError(`resample: only 8000 <-> 16000 Hz is supported, not ${fromRate} -> ${toRate}`);
}
