/**
 * In-band DTMF detection with the Goertzel algorithm, designed against ITU-T Q.24's receiver
 * requirements (the Q.23 frequencies, ±1.5 % accepted, ±3.5 % rejected, ≥ 40 ms tones accepted,
 * < 23 ms rejected, twist +4/−8 dB, robustness to noise and talk-off).
 *
 * How each requirement is met:
 *
 * - **Analysis**: a 20 ms Hann-windowed block, re-analysed every 10 ms (50 % overlap). The
 *   Goertzel filters at the 8 Q.23 frequencies pick the strongest row and column.
 * - **Frequency deviation**: a Goertzel bin alone cannot tell 1.5 % from 3.5 % (at 697 Hz that
 *   is 10 vs 24 Hz, inside one 50 Hz bin). So for the chosen row and column two more Goertzel
 *   filters ("probes") run at ±2.4 % of nominal. For a pure tone their power ratio depends only
 *   on the tone's offset, through the window's known frequency response, and is monotonic
 *   over ±3.6 % (the probes stay inside the window's main lobe even at 1633 Hz); a table of that ratio, computed at construction from the actual window, turns
 *   the measured ratio into the offset. The tone is accepted within ±2.5 % of nominal —
 *   halfway between Q.24's two limits — and the offset also gives the tone's true level
 *   (the nominal filter's loss at that offset is known) for the twist and energy tests.
 * - **Duration**: a block counts only if the tone fills it: the energies of its four 5 ms
 *   quarters must agree within a factor `QUARTER_RATIO`, so a block the tone only partly covers
 *   fails (a block may miss at most ~2.75 ms of tone at either end). A digit needs two
 *   consecutive passing blocks (10 ms apart): a 40 ms tone always contains two blocks that lie
 *   wholly inside it, while a tone shorter than 24.5 ms cannot cover two. Measured over all
 *   digits and alignments: nothing detected at 25 ms, everything at 40 ms.
 * - **Twist**: high-group level minus low-group level must lie in [−8, +4] dB (Q.24 / AT&T
 *   limits), with 1.5 dB allowance for estimation error in noise (so the cut-offs are
 *   −9.5/+5.5 dB).
 * - **Noise and talk-off**: the two tones must carry at least `MIN_TONE_SHARE` of the block's
 *   energy, so speech and music (energy spread over harmonics and formants) do not qualify even
 *   when a harmonic falls on a DTMF frequency; each tone must be above `minLevelDbm0`.
 * - **Pauses**: a digit ends after 4 consecutive non-matching blocks (40 ms), so Q.24's 40 ms
 *   inter-digit pause separates repeated digits, while a drop-out of up to 10 ms inside a tone
 *   does not split it in two.
 *
 * Hot path: coefficient and offset tables are built once per sample rate and shared; each
 * detector owns two 20 ms buffers; `process()` allocates nothing but the (usually empty)
 * string it returns.
 */
import { CodecRangeError } from './errors.js';
import { dbm0ToAmplitude, DTMF_COLUMN_FREQUENCIES, DTMF_DIGITS, DTMF_ROW_FREQUENCIES } from './tones.js';

/** Relative offset of the two extra Goertzel filters ("probes") that measure a tone's offset. */
const PROBE_OFFSET = 0.024;
/**
 * The offset table covers ±OFFSET_RANGE in OFFSET_STEPS steps (0.1 % resolution). A tone further
 * off can alias into the table through the window's side lobes, but then its level estimate is
 * far too low and the energy-share test rejects it.
 */
const OFFSET_RANGE = 0.036;
const OFFSET_STEPS = 72;
/** Accepted frequency deviation (between Q.24's 1.5 % must-accept and 3.5 % must-reject). */
const MAX_DEVIATION = 0.025;
/**
 * Twist limits (high − low, dB): the Q.24 (AT&T) +4/−8 dB plus 1.5 dB for level-estimation error,
 * so that tones exactly at the limits are still accepted at 15 dB SNR.
 */
const MAX_FORWARD_TWIST_DB = 5.5;
const MAX_REVERSE_TWIST_DB = -9.5;
/** Minimum share of the block's energy that the two tones must carry. */
const MIN_TONE_SHARE = 0.7;
/** Minimum ratio between the weakest and strongest quarter-block energies. */
const QUARTER_RATIO = 0.45;
/** Consecutive passing blocks to accept a digit, and failing blocks to end it. */
const BLOCKS_TO_START = 2;
const BLOCKS_TO_END = 4;

/** Read-only tables that depend only on the sample rate, shared by every detector. */
interface DetectorTables {
  block: number;
  window: Float64Array;
  windowSquareSum: number;
  coeffs: Float64Array;
  probeLo: Float64Array;
  probeHi: Float64Array;
  probeLogRatio: Float64Array;
  nominalLogGain: Float64Array;
}

const tableCache = new Map<number, DetectorTables>();

/**
 * Builds (once per sample rate) the Hann window, the Goertzel coefficients and the offset
 * tables, so constructing a detector per call costs two small buffers, not a DTFT.
 */
function tablesFor(sampleRate: number): DetectorTables {
  const cached = tableCache.get(sampleRate);
  if (cached !== undefined) return cached;
  const block = Math.round(sampleRate / 50) & ~3; // 20 ms, divisible into quarters
  const window = new Float64Array(block);
  let windowSquareSum = 0;
  for (let i = 0; i < block; i++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / block);
    window[i] = w;
    windowSquareSum += w * w;
  }
  const freqs = [...DTMF_ROW_FREQUENCIES, ...DTMF_COLUMN_FREQUENCIES];
  const coeff = (f: number): number => 2 * Math.cos((2 * Math.PI * f) / sampleRate);
  // Offset tables from the window's discrete-time Fourier transform.
  const windowLogPower = (dOmega: number): number => {
    let re = 0;
    let im = 0;
    for (let i = 0; i < block; i++) {
      re += window[i]! * Math.cos(dOmega * i);
      im -= window[i]! * Math.sin(dOmega * i);
    }
    return Math.log(re * re + im * im);
  };
  const points = OFFSET_STEPS + 1;
  const probeLogRatio = new Float64Array(8 * points);
  const nominalLogGain = new Float64Array(8 * points);
  freqs.forEach((f, k) => {
    const omega = (2 * Math.PI * f) / sampleRate;
    for (let j = 0; j < points; j++) {
      const delta = -OFFSET_RANGE + (2 * OFFSET_RANGE * j) / OFFSET_STEPS;
      probeLogRatio[k * points + j] =
        windowLogPower(omega * (PROBE_OFFSET - delta)) - windowLogPower(omega * (PROBE_OFFSET + delta));
      nominalLogGain[k * points + j] = windowLogPower(omega * delta);
    }
  });
  const tables: DetectorTables = {
    block,
    window,
    windowSquareSum,
    coeffs: Float64Array.from(freqs, coeff),
    probeLo: Float64Array.from(freqs, (f) => coeff(f * (1 - PROBE_OFFSET))),
    probeHi: Float64Array.from(freqs, (f) => coeff(f * (1 + PROBE_OFFSET))),
    probeLogRatio,
    nominalLogGain,
  };
  tableCache.set(sampleRate, tables);
  return tables;
}

/**
 * Options of a {@link DtmfDetector}.
 *
 * @example
 * ```ts
 * new DtmfDetector({ sampleRate: 8000, minLevelDbm0: -30, onDigit: (d) => digits.push(d) });
 * ```
 */
export interface DtmfDetectorOptions {
  /** Sample rate of the input; default 8000. */
  sampleRate?: number;
  /** Minimum level of each tone, dBm0; default −32. */
  minLevelDbm0?: number;
  /** Called when a digit is recognised; `atSample` counts input samples since construction. */
  onDigit?: (digit: string, atSample: number) => void;
  /** Called when a recognised digit ends, with its approximate duration. */
  onDigitEnd?: (digit: string, atSample: number, durationMs: number) => void;
}

/** Per-block analysis result, reused (no allocation). */
interface BlockResult {
  digit: number; // index into DTMF_DIGITS, or -1
}

/**
 * Streaming DTMF receiver. Feed it audio in chunks of any size; it reports each digit once,
 * when recognised.
 *
 * @example
 * ```ts
 * const detector = new DtmfDetector({ onDigit: (d) => console.log('pressed', d) });
 * detector.process(frame);              // or: const digits = detector.process(frame);
 * ```
 */
export class DtmfDetector {
  private readonly sampleRate: number;
  private readonly block: number;
  private readonly hop: number;
  private readonly window: Float64Array;
  private readonly windowSquareSum: number;
  private readonly buf: Float64Array;
  private readonly windowed: Float64Array;
  private readonly coeffs: Float64Array; // 8 nominal Goertzel coefficients (rows, then columns)
  private readonly probeLo: Float64Array; // coefficients at f·(1 − PROBE_OFFSET)
  private readonly probeHi: Float64Array; // and f·(1 + PROBE_OFFSET)
  /** Per filter k, at offsets −3.6 %…+3.6 %: ln(P(probe+)/P(probe−)) for a pure tone. */
  private readonly probeLogRatio: Float64Array;
  /** Per filter k, at the same offsets: ln |W(offset)|², the nominal filter's response. */
  private readonly nominalLogGain: Float64Array;
  private readonly minAmplitude: number;
  private readonly onDigit: DtmfDetectorOptions['onDigit'];
  private readonly onDigitEnd: DtmfDetectorOptions['onDigitEnd'];
  private readonly result: BlockResult = { digit: -1 };
  private fill = 0;
  private samples = 0;
  private candidate = -1;
  private candidateCount = 0;
  private current = -1;
  private currentStart = 0;
  private misses = 0;
  private blocksAnalysed = 0;
  private blocksWithTone = 0;

  constructor(options: DtmfDetectorOptions = {}) {
    this.sampleRate = options.sampleRate ?? 8000;
    if (this.sampleRate < 4000 || this.sampleRate > 192000) {
      throw new CodecRangeError(`DtmfDetector: unsupported sample rate ${this.sampleRate}`);
    }
    const t = tablesFor(this.sampleRate);
    this.block = t.block;
    this.hop = t.block / 2;
    this.window = t.window;
    this.windowSquareSum = t.windowSquareSum;
    this.coeffs = t.coeffs;
    this.probeLo = t.probeLo;
    this.probeHi = t.probeHi;
    this.probeLogRatio = t.probeLogRatio;
    this.nominalLogGain = t.nominalLogGain;
    this.buf = new Float64Array(this.block);
    this.windowed = new Float64Array(this.block);
    this.minAmplitude = dbm0ToAmplitude(options.minLevelDbm0 ?? -32);
    this.onDigit = options.onDigit;
    this.onDigitEnd = options.onDigitEnd;
  }

  /**
   * Feeds samples. Returns the digits recognised in this call (usually `''`), in order; the
   * `onDigit` callback, if given, is called for each as well.
   */
  process(pcm: Int16Array): string {
    let found = '';
    const buf = this.buf;
    for (let i = 0; i < pcm.length; i++) {
      buf[this.fill++] = pcm[i]!;
      this.samples++;
      if (this.fill === this.block) {
        this.analyse();
        this.blocksAnalysed++;
        if (this.result.digit >= 0) this.blocksWithTone++;
        const d = this.decide(this.result.digit);
        if (d !== '') found += d;
        buf.copyWithin(0, this.hop, this.block);
        this.fill = this.block - this.hop;
      }
    }
    return found;
  }

  /**
   * Diagnostics: 20 ms blocks analysed, and how many of them passed every tone test on their
   * own (a digit needs two in a row). On speech or music `toneBlocks` should stay 0; a
   * non-zero count shows how close a signal came to talk-off.
   */
  get stats(): { blocks: number; toneBlocks: number } {
    return { blocks: this.blocksAnalysed, toneBlocks: this.blocksWithTone };
  }

  /** Forgets all state (e.g. at the start of a new call). */
  reset(): void {
    this.fill = 0;
    this.candidate = -1;
    this.candidateCount = 0;
    this.current = -1;
    this.misses = 0;
  }

  /** Debounce: turns per-block results into digit start/end events. */
  private decide(digit: number): string {
    if (digit >= 0 && digit === this.candidate) this.candidateCount++;
    else {
      this.candidate = digit;
      this.candidateCount = digit >= 0 ? 1 : 0;
    }
    if (this.current >= 0) {
      if (digit === this.current) this.misses = 0;
      else if (++this.misses >= BLOCKS_TO_END) this.endDigit();
    }
    if (this.candidate >= 0 && this.candidate !== this.current && this.candidateCount >= BLOCKS_TO_START) {
      if (this.current >= 0) this.endDigit();
      this.current = this.candidate;
      this.misses = 0;
      // The tone began about where the first of the passing blocks began.
      this.currentStart = this.samples - this.block - (BLOCKS_TO_START - 1) * this.hop;
      const ch = DTMF_DIGITS[this.current]!;
      this.onDigit?.(ch, this.samples);
      return ch;
    }
    return '';
  }

  private endDigit(): void {
    const ch = DTMF_DIGITS[this.current]!;
    const end = this.samples - this.block - (BLOCKS_TO_END - 1) * this.hop + this.block;
    this.onDigitEnd?.(ch, end, ((end - this.currentStart) * 1000) / this.sampleRate);
    this.current = -1;
    this.misses = 0;
  }

  /** Analyses the current block into `this.result`. */
  private analyse(): void {
    const res = this.result;
    res.digit = -1;
    const n = this.block;
    const buf = this.buf;
    // Duration test first (cheap): the tone must fill all four quarters of the block.
    const q = n >> 2;
    let qMin = Number.POSITIVE_INFINITY;
    let qMax = 0;
    for (let k = 0; k < 4; k++) {
      let e = 0;
      for (let i = k * q, end = i + q; i < end; i++) e += buf[i]! * buf[i]!;
      if (e < qMin) qMin = e;
      if (e > qMax) qMax = e;
    }
    if (qMax === 0 || qMin < QUARTER_RATIO * qMax) return;

    const xw = this.windowed;
    const win = this.window;
    let energy = 0;
    for (let i = 0; i < n; i++) {
      const v = buf[i]! * win[i]!;
      xw[i] = v;
      energy += v * v;
    }
    const blockPower = energy / this.windowSquareSum; // mean square of the signal

    let row = 0;
    let rowPower = -1;
    for (let k = 0; k < 4; k++) {
      const p = goertzel(xw, this.coeffs[k]!);
      if (p > rowPower) {
        rowPower = p;
        row = k;
      }
    }
    let col = 4;
    let colPower = -1;
    for (let k = 4; k < 8; k++) {
      const p = goertzel(xw, this.coeffs[k]!);
      if (p > colPower) {
        colPower = p;
        col = k;
      }
    }
    const rowAmp = this.refine(row, rowPower);
    if (rowAmp < 0) return;
    const colAmp = this.refine(col, colPower);
    if (colAmp < 0) return;
    if (rowAmp < this.minAmplitude || colAmp < this.minAmplitude) return;
    const twist = 20 * Math.log10(colAmp / rowAmp);
    if (twist > MAX_FORWARD_TWIST_DB || twist < MAX_REVERSE_TWIST_DB) return;
    const tonePower = (rowAmp * rowAmp + colAmp * colAmp) / 2;
    if (tonePower < MIN_TONE_SHARE * blockPower) return;
    res.digit = row * 4 + (col - 4);
  }

  /**
   * Measures the offset of the tone in filter `k` from its two probes; returns the tone's
   * amplitude, or −1 when the offset is beyond ±MAX_DEVIATION.
   */
  private refine(k: number, p0: number): number {
    const xw = this.windowed;
    const pLo = goertzel(xw, this.probeLo[k]!);
    const pHi = goertzel(xw, this.probeHi[k]!);
    if (p0 <= 0 || pLo <= 0 || pHi <= 0) return -1;
    const r = Math.log(pHi) - Math.log(pLo);
    const points = OFFSET_STEPS + 1;
    const table = this.probeLogRatio;
    const base = k * points;
    // The ratio rises monotonically with the offset: find the bracketing table entries.
    if (r < table[base]! || r > table[base + points - 1]!) return -1;
    let j = 0;
    while (j < points - 2 && table[base + j + 1]! < r) j++;
    const lo = table[base + j]!;
    const hi = table[base + j + 1]!;
    const frac = hi > lo ? (r - lo) / (hi - lo) : 0;
    const step = (2 * OFFSET_RANGE) / OFFSET_STEPS;
    const delta = -OFFSET_RANGE + (j + frac) * step;
    if (Math.abs(delta) > MAX_DEVIATION) return -1;
    const logGain = this.nominalLogGain[base + j]! * (1 - frac) + this.nominalLogGain[base + j + 1]! * frac;
    // |X|² = (A/2)² · |W(offset)|² for a sine of amplitude A.
    return 2 * Math.sqrt(p0 / Math.exp(logGain));
  }

  /** Whether the offset tables are monotonic (what `refine` relies on); for tests. */
  offsetTablesAreMonotonic(): boolean {
    const points = OFFSET_STEPS + 1;
    for (let k = 0; k < 8; k++) {
      for (let j = 1; j < points; j++) {
        if (!(this.probeLogRatio[k * points + j]! > this.probeLogRatio[k * points + j - 1]!)) return false;
      }
    }
    return true;
  }
}

/** Goertzel power |X(f)|² of `x` for the coefficient 2·cos(2πf/fs). */
function goertzel(x: Float64Array, coeff: number): number {
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < x.length; i++) {
    const s = x[i]! + coeff * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

/**
 * Allocating convenience: the digits found in a whole recording.
 *
 * @example
 * ```ts
 * detectDtmf(decodeWavSamples(readWav(bytes))); // e.g. '1234#'
 * ```
 */
export function detectDtmf(pcm: Int16Array, options: Omit<DtmfDetectorOptions, 'onDigit' | 'onDigitEnd'> = {}): string {
  return new DtmfDetector(options).process(pcm);
}
