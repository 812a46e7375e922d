/**
 * Comparing what a peer received with what was sent, for interop tests that carry real audio
 * (baresip records a call with its `sndfile` module; see baresip.ts). The received copy starts
 * later (call set-up, jitter buffer), may have frames concealed or lost, and went through G.711,
 * so a byte comparison is useless: {@link bestCorrelation} finds the delay and reports how alike
 * the two are as a Pearson correlation (1 = the same waveform up to gain, 0 = unrelated).
 *
 * The lag search is an FFT cross-correlation: one product gives Σ ref[i]·rx[lag+i] for every
 * lag at once, and prefix sums give each window's mean and energy, so the Pearson coefficient
 * for all lags costs O(N log N) (10 s against a 3 s search: a few tens of milliseconds).
 *
 * @example
 * ```ts
 * const sent = readWavPcm(promptPath('welcome'));
 * const got = readWavPcm(join(dir, 'dump-…-dec.wav'));
 * const { lag, correlation } = bestCorrelation(sent, got, { maxLagSamples: 3 * 8000 });
 * expect(correlation).toBeGreaterThan(0.7);
 * ```
 */
import { readFileSync } from 'node:fs';
import { wavToPcm8k } from '../../src/call/index.js';
import { decodeWavSamples, readWav, resample } from '../../src/codecs/index.js';

export interface CorrelationOptions {
  /** Largest delay of `received` behind `reference` to try, in samples (default 3 s at 8 kHz: 24,000). */
  maxLagSamples?: number;
  /** Compare only the first `windowSamples` of `reference` (default: all of it). */
  windowSamples?: number;
}

export interface CorrelationResult {
  /** Samples by which `received` lags `reference` at the best match (0..maxLagSamples). */
  lag: number;
  /** |Pearson coefficient| at that lag, 0..1 (0 when nothing could be compared). */
  correlation: number;
}

/**
 * The delay at which `received` looks most like `reference`, and how much: for each lag L in
 * 0..maxLagSamples, the Pearson correlation of `reference[0..W)` with `received[L..L+W)` (W =
 * window). Near the end of `received` the overlap gets shorter; lags that leave less than half
 * the window are not considered. The magnitude is reported, so an inverted copy also matches.
 *
 * @example
 * ```ts
 * bestCorrelation(tone, delayedTone); // { lag: 1234, correlation: 0.99… }
 * ```
 */
export function bestCorrelation(reference: Int16Array, received: Int16Array, options: CorrelationOptions = {}): CorrelationResult {
  const w = Math.min(reference.length, options.windowSamples ?? reference.length);
  const maxLag = Math.min(options.maxLagSamples ?? 24_000, received.length - Math.ceil(w / 2));
  const none = { lag: 0, correlation: 0 };
  if (w < 2 || maxLag < 0) return none;

  // Cross-correlation for lags 0..maxLag by FFT: c[L] = Σ_i ref[i]·rx[L+i]. With both sequences
  // zero-padded to size ≥ w + maxLag + w, circular wrap-around never reaches the lags we read.
  const rxLength = Math.min(received.length, maxLag + w);
  let size = 1;
  while (size < rxLength + w) size <<= 1;
  const aRe = new Float64Array(size);
  const aIm = new Float64Array(size);
  const bRe = new Float64Array(size);
  const bIm = new Float64Array(size);
  for (let i = 0; i < w; i++) aRe[i] = reference[i]!;
  for (let i = 0; i < rxLength; i++) bRe[i] = received[i]!;
  fft(aRe, aIm, false);
  fft(bRe, bIm, false);
  // conj(A)·B, whose inverse transform is the correlation Σ a[i]·b[L+i].
  for (let k = 0; k < size; k++) {
    const re = aRe[k]! * bRe[k]! + aIm[k]! * bIm[k]!;
    const im = aRe[k]! * bIm[k]! - aIm[k]! * bRe[k]!;
    aRe[k] = re;
    aIm[k] = im;
  }
  fft(aRe, aIm, true);

  // Prefix sums (exact in float64 for 16-bit samples up to ~2^23 samples).
  const refSum = prefixSums(reference, w, false);
  const refSq = prefixSums(reference, w, true);
  const rxSum = prefixSums(received, rxLength, false);
  const rxSq = prefixSums(received, rxLength, true);

  let best = none;
  for (let lag = 0; lag <= maxLag; lag++) {
    const n = Math.min(w, rxLength - lag);
    if (n < w / 2 || n < 2) break;
    const sr = refSum[n]!;
    const srr = refSq[n]!;
    const sx = rxSum[lag + n]! - rxSum[lag]!;
    const sxx = rxSq[lag + n]! - rxSq[lag]!;
    const varR = srr - (sr * sr) / n;
    const varX = sxx - (sx * sx) / n;
    if (varR <= 0 || varX <= 0) continue;
    const cov = aRe[lag]! / size - (sr * sx) / n;
    const r = Math.min(1, Math.abs(cov) / Math.sqrt(varR * varX));
    if (r > best.correlation) best = { lag, correlation: r };
  }
  return best;
}

/** Options of {@link segmentedCorrelation}. */
export interface SegmentedCorrelationOptions extends CorrelationOptions {
  /** Length of each compared piece of `reference`, in samples (default 0.5 s at 8 kHz: 4000). */
  segmentSamples?: number;
  /** How far each piece may sit from where the whole-signal match puts it, in samples (default 800: 100 ms). */
  slackSamples?: number;
}

/** What {@link segmentedCorrelation} found: the energy-weighted mean and each piece's result. */
export interface SegmentedCorrelationResult {
  /** Energy-weighted mean of the pieces' correlations, 0..1. */
  correlation: number;
  /** The whole-signal match the pieces were searched around. */
  whole: CorrelationResult;
  /** Per piece of `reference` (offset in samples): where it was found in `received` and how well. */
  segments: { offset: number; lag: number; correlation: number }[];
}

/**
 * How well `received` holds `reference` when the receiver's adaptive jitter buffer may have
 * removed or inserted a frame here and there (each slip shifts everything after it by 20 ms,
 * which halves a single whole-signal correlation): {@link bestCorrelation} finds the overall
 * lag, then each `segmentSamples` piece of `reference` is matched on its own within
 * `slackSamples` of that lag. Silent pieces weigh nothing; loud ones the most.
 *
 * @example
 * ```ts
 * const { correlation, whole } = segmentedCorrelation(sent, recorded, { maxLagSamples: recorded.length });
 * ```
 */
export function segmentedCorrelation(reference: Int16Array, received: Int16Array, options: SegmentedCorrelationOptions = {}): SegmentedCorrelationResult {
  const whole = bestCorrelation(reference, received, options);
  const seg = options.segmentSamples ?? 4000;
  const slack = options.slackSamples ?? 800;
  const segments: SegmentedCorrelationResult['segments'] = [];
  let weighted = 0;
  let weights = 0;
  for (let offset = 0; offset + seg / 2 <= reference.length; offset += seg) {
    const piece = reference.subarray(offset, Math.min(reference.length, offset + seg));
    let energy = 0;
    for (let i = 0; i < piece.length; i++) energy += piece[i]! * piece[i]!;
    if (energy === 0) continue;
    const from = Math.max(0, whole.lag + offset - slack);
    const window = received.subarray(from, Math.min(received.length, from + piece.length + 2 * slack));
    const r = bestCorrelation(piece, window, { maxLagSamples: 2 * slack });
    segments.push({ offset, lag: from + r.lag, correlation: r.correlation });
    weighted += energy * r.correlation;
    weights += energy;
  }
  return { correlation: weights === 0 ? 0 : weighted / weights, whole, segments };
}

function prefixSums(pcm: Int16Array, length: number, squared: boolean): Float64Array {
  const out = new Float64Array(length + 1);
  let acc = 0;
  for (let i = 0; i < length; i++) {
    const s = pcm[i]!;
    acc += squared ? s * s : s;
    out[i + 1] = acc;
  }
  return out;
}

/** In-place iterative radix-2 FFT (size a power of two); `inverse` leaves the 1/N to the caller. */
function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const tr = re[i]!;
      re[i] = re[j]!;
      re[j] = tr;
      const ti = im[i]!;
      im[i] = im[j]!;
      im[j] = ti;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const angle = ((inverse ? 2 : -2) * Math.PI) / len;
    const wRe = Math.cos(angle);
    const wIm = Math.sin(angle);
    const half = len >> 1;
    for (let start = 0; start < n; start += len) {
      let cRe = 1;
      let cIm = 0;
      for (let k = 0; k < half; k++) {
        const a = start + k;
        const b = a + half;
        const xRe = re[b]! * cRe - im[b]! * cIm;
        const xIm = re[b]! * cIm + im[b]! * cRe;
        re[b] = re[a]! - xRe;
        im[b] = im[a]! - xIm;
        re[a] = re[a]! + xRe;
        im[a] = im[a]! + xIm;
        const nRe = cRe * wRe - cIm * wIm;
        cIm = cRe * wIm + cIm * wRe;
        cRe = nRe;
      }
    }
  }
}

/**
 * A WAV file as mono 16-bit PCM at `rate` (8 kHz unless asked for 16 kHz), whatever it holds:
 * µ-law and A-law are decoded and several channels are averaged. 8 and 16 kHz files are read as
 * the call layer plays them ({@link wavToPcm8k}: the codec layer's half-band resampler), and
 * brought up to 16 kHz by the same resampler on request; other whole multiples of the target
 * rate (24, 32, 48 kHz…) go through a windowed-sinc low-pass and decimation.
 *
 * @throws {Error} for a rate that is not a multiple of the target (e.g. 44.1 kHz), or an unreadable file.
 * @example
 * ```ts
 * const pcm = readWavPcm(promptPath('goodbye')); // Int16Array at 8000 Hz
 * ```
 */
export function readWavPcm(path: string, rate: 8000 | 16000 = 8000): Int16Array {
  const bytes = new Uint8Array(readFileSync(path));
  const wav = readWav(bytes);
  if (wav.sampleRate === 8000 || (wav.sampleRate === 16000 && rate === 8000)) {
    const narrow = wavToPcm8k(bytes);
    return rate === 8000 ? narrow : resample(narrow, 8000, 16000);
  }
  // 16 kHz kept as it is, or a higher rate: wavToPcm8k's resampler does not take it.
  let pcm = decodeWavSamples(wav);
  if (wav.channels > 1) {
    const mono = new Int16Array(wav.frames);
    for (let f = 0; f < wav.frames; f++) {
      let sum = 0;
      for (let c = 0; c < wav.channels; c++) sum += pcm[f * wav.channels + c]!;
      mono[f] = Math.round(sum / wav.channels);
    }
    pcm = mono;
  }
  if (wav.sampleRate === rate) return pcm;
  if (wav.sampleRate % rate !== 0) {
    throw new Error(`${path}: ${wav.sampleRate} Hz is not a multiple of ${rate} Hz; cannot bring it to ${rate / 1000} kHz`);
  }
  return decimate(pcm, wav.sampleRate / rate);
}

/**
 * Keeps every `factor`-th sample after a linear-phase low-pass at 45% of the output rate (3.6
 * kHz for 8 kHz out) — a Hann-windowed sinc reaching 16 output periods each side — so nothing
 * above the new Nyquist folds back. The output is aligned with the input (no added delay).
 */
function decimate(pcm: Int16Array, factor: number): Int16Array {
  const cutoff = 0.45 / factor; // cycles per input sample
  const half = 16 * factor;
  const taps = new Float64Array(2 * half + 1);
  let gain = 0;
  for (let k = -half; k <= half; k++) {
    const x = 2 * Math.PI * cutoff * k;
    const sinc = k === 0 ? 2 * cutoff : Math.sin(x) / (Math.PI * k);
    const window = 0.5 + 0.5 * Math.cos((Math.PI * k) / (half + 1));
    taps[k + half] = sinc * window;
    gain += sinc * window;
  }
  const out = new Int16Array(Math.floor(pcm.length / factor));
  for (let o = 0; o < out.length; o++) {
    const centre = o * factor;
    let acc = 0;
    for (let k = -half; k <= half; k++) {
      const i = centre + k;
      if (i >= 0 && i < pcm.length) acc += pcm[i]! * taps[k + half]!;
    }
    const v = Math.round(acc / gain);
    out[o] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}
