/**
 * Tone generation: DTMF digits (ITU-T Q.23 frequencies) and call-progress tones described as
 * data (frequencies, level, cadence) for North America and Europe.
 *
 * Levels are in dBm0 per frequency component. 0 dBm0 is taken as a sine of amplitude
 * 32768 · 10^(−3.17/20) ≈ 22,7xx, because a full-scale µ-law sine is +3.17 dBm0 (G.711); the
 * A-law figure (+3.14) differs by 0.03 dB, which no tone receiver can tell.
 */
import { CodecRangeError } from './errors.js';

/** Amplitude (16-bit scale) of a 0 dBm0 sine. */
const DBM0_AMPLITUDE = 32768 * 10 ** (-3.17 / 20);

/**
 * Sine amplitude (16-bit scale) of a tone component at `levelDbm0`.
 *
 * @example
 * ```ts
 * dbm0ToAmplitude(-10); // ≈ 7,180
 * ```
 */
export function dbm0ToAmplitude(levelDbm0: number): number {
  return DBM0_AMPLITUDE * 10 ** (levelDbm0 / 20);
}

/**
 * The 16 DTMF digits in keypad order (Q.23 Figure 1: rows 697…941 Hz, columns 1209…1633 Hz).
 *
 * @example
 * ```ts
 * DTMF_DIGITS.indexOf('5') >> 2; // row 1 (770 Hz)
 * ```
 */
export const DTMF_DIGITS = '123A456B789C*0#D';
/**
 * Q.23 low-group (row) frequencies, Hz.
 *
 * @example
 * ```ts
 * DTMF_ROW_FREQUENCIES[0]; // 697
 * ```
 */
export const DTMF_ROW_FREQUENCIES: readonly number[] = [697, 770, 852, 941];
/**
 * Q.23 high-group (column) frequencies, Hz.
 *
 * @example
 * ```ts
 * DTMF_COLUMN_FREQUENCIES[3]; // 1633 (the A–D column)
 * ```
 */
export const DTMF_COLUMN_FREQUENCIES: readonly number[] = [1209, 1336, 1477, 1633];

/**
 * The Q.23 frequency pair of a digit (`0-9`, `*`, `#`, `A-D`; lower-case `a-d` accepted).
 *
 * @throws {CodecRangeError} for any other character.
 * @example
 * ```ts
 * dtmfFrequencies('5'); // [770, 1336]
 * ```
 */
export function dtmfFrequencies(digit: string): [low: number, high: number] {
  const i = digit.length === 1 ? DTMF_DIGITS.indexOf(digit.toUpperCase()) : -1;
  if (i < 0) throw new CodecRangeError(`not a DTMF digit: ${JSON.stringify(digit)}`);
  return [DTMF_ROW_FREQUENCIES[i >> 2]!, DTMF_COLUMN_FREQUENCIES[i & 3]!];
}

/**
 * One sine component of a tone.
 *
 * @example
 * ```ts
 * const c: ToneComponent = { frequency: 1004, levelDbm0: -10 }; // a test tone
 * ```
 */
export interface ToneComponent {
  /** Frequency in Hz. */
  frequency: number;
  /** Level in dBm0. */
  levelDbm0: number;
}

/**
 * Adds (mixes, saturating) a steady multi-frequency tone into `out[start..end)`, with a short
 * linear ramp of `rampSamples` at each end to avoid clicks. `phase` is the sample index the
 * oscillators start at, so consecutive calls can continue a tone seamlessly.
 *
 * @example
 * ```ts
 * const buf = new Int16Array(800);
 * addTone(buf, [{ frequency: 1004, levelDbm0: -10 }], 8000); // a 100 ms test tone
 * ```
 */
export function addTone(
  out: Int16Array,
  components: readonly ToneComponent[],
  sampleRate: number,
  start = 0,
  end = out.length,
  rampSamples = 0,
  phase = 0,
): void {
  const len = end - start;
  for (const c of components) {
    const amp = dbm0ToAmplitude(c.levelDbm0);
    const w = (2 * Math.PI * c.frequency) / sampleRate;
    for (let i = 0; i < len; i++) {
      let env = 1;
      if (rampSamples > 0) env = Math.min(1, (i + 1) / rampSamples, (len - i) / rampSamples);
      const y = Math.round(out[start + i]! + amp * env * Math.sin(w * (phase + i)));
      out[start + i] = y > 32767 ? 32767 : y < -32768 ? -32768 : y;
    }
  }
}

/**
 * Options of {@link generateDtmf}.
 *
 * @example
 * ```ts
 * generateDtmf('5', { toneMs: 50, pauseMs: 50, lowLevelDbm0: -10, highLevelDbm0: -8 });
 * ```
 */
export interface DtmfToneOptions {
  /** Sample rate; default 8000. */
  sampleRate?: number;
  /** Tone duration per digit, ms; default 100 (Q.24 receivers need ≥ 40). */
  toneMs?: number;
  /** Silence after each digit, ms; default 100 (Q.24 receivers need ≥ 40). */
  pauseMs?: number;
  /** Low-group level, dBm0; default −8. */
  lowLevelDbm0?: number;
  /** High-group level, dBm0; default −6 (a small positive twist, as telephones send). */
  highLevelDbm0?: number;
}

/**
 * Generates in-band DTMF for a string of digits: each digit's tone then a pause.
 *
 * @throws {CodecRangeError} for a character that is not a DTMF digit.
 * @example
 * ```ts
 * const pcm = generateDtmf('123#', { toneMs: 80, pauseMs: 80 });
 * ```
 */
export function generateDtmf(digits: string, options: DtmfToneOptions = {}): Int16Array {
  const sampleRate = options.sampleRate ?? 8000;
  const tone = Math.round(((options.toneMs ?? 100) * sampleRate) / 1000);
  const pause = Math.round(((options.pauseMs ?? 100) * sampleRate) / 1000);
  const out = new Int16Array(digits.length * (tone + pause));
  let at = 0;
  for (const d of digits) {
    const [low, high] = dtmfFrequencies(d);
    addTone(
      out,
      [
        { frequency: low, levelDbm0: options.lowLevelDbm0 ?? -8 },
        { frequency: high, levelDbm0: options.highLevelDbm0 ?? -6 },
      ],
      sampleRate,
      at,
      at + tone,
      Math.round(sampleRate / 1000),
    );
    at += tone + pause;
  }
  return out;
}

/**
 * A call-progress tone as data.
 *
 * @example
 * ```ts
 * const uk: ToneSpec = { name: 'ringback', frequencies: [400, 450], levelDbm0: -10, cadence: [400, 200, 400, 2000], repeat: true };
 * ```
 */
export interface ToneSpec {
  /** Human name, e.g. `'ringback'`. */
  name: string;
  /** Frequencies mixed together, Hz. */
  frequencies: readonly number[];
  /** Level of each frequency, dBm0. */
  levelDbm0: number;
  /** Alternating on/off durations in ms, starting with "on"; empty means continuous. */
  cadence: readonly number[];
  /** Whether the cadence repeats (true) or plays once (false). */
  repeat: boolean;
}

/**
 * The call-progress tones every tone plan defines.
 *
 * @example
 * ```ts
 * const plan: TonePlan = country === 'US' ? NORTH_AMERICAN_TONES : EUROPEAN_TONES;
 * ```
 */
export interface TonePlan {
  dial: ToneSpec;
  ringback: ToneSpec;
  busy: ToneSpec;
  congestion: ToneSpec;
  callWaiting: ToneSpec;
  confirmation: ToneSpec;
}

/**
 * North American tones (the AT&T "Precise Tone Plan", ANSI T1.401 / Telcordia GR-506).
 *
 * @example
 * ```ts
 * const gen = new ToneGenerator(NORTH_AMERICAN_TONES.ringback);
 * ```
 */
export const NORTH_AMERICAN_TONES: TonePlan = {
  dial: { name: 'dial', frequencies: [350, 440], levelDbm0: -13, cadence: [], repeat: true },
  ringback: { name: 'ringback', frequencies: [440, 480], levelDbm0: -19, cadence: [2000, 4000], repeat: true },
  busy: { name: 'busy', frequencies: [480, 620], levelDbm0: -24, cadence: [500, 500], repeat: true },
  congestion: { name: 'congestion', frequencies: [480, 620], levelDbm0: -24, cadence: [250, 250], repeat: true },
  callWaiting: { name: 'call waiting', frequencies: [440], levelDbm0: -13, cadence: [300, 9700], repeat: true },
  confirmation: {
    name: 'confirmation',
    frequencies: [350, 440],
    levelDbm0: -13,
    cadence: [100, 100, 100, 100, 100, 100],
    repeat: false,
  },
};

/**
 * European tones on 425 Hz (CEPT recommendation T/CS 20-15, ETSI TR 101 041; the cadences most
 * EU networks use).
 *
 * @example
 * ```ts
 * const gen = new ToneGenerator(EUROPEAN_TONES.busy);
 * ```
 */
export const EUROPEAN_TONES: TonePlan = {
  dial: { name: 'dial', frequencies: [425], levelDbm0: -10, cadence: [], repeat: true },
  ringback: { name: 'ringback', frequencies: [425], levelDbm0: -10, cadence: [1000, 4000], repeat: true },
  busy: { name: 'busy', frequencies: [425], levelDbm0: -10, cadence: [500, 500], repeat: true },
  congestion: { name: 'congestion', frequencies: [425], levelDbm0: -10, cadence: [250, 250], repeat: true },
  callWaiting: { name: 'call waiting', frequencies: [425], levelDbm0: -10, cadence: [200, 200, 200, 5000], repeat: true },
  confirmation: {
    name: 'confirmation',
    frequencies: [425],
    levelDbm0: -10,
    cadence: [100, 100, 100, 100, 100, 100],
    repeat: false,
  },
};

/**
 * Plays a {@link ToneSpec} frame by frame with continuous phase, e.g. 20 ms at a time into an
 * RTP stream. Each "on" segment has a 1 ms ramp at each end so cadence edges do not click.
 *
 * @example
 * ```ts
 * const gen = new ToneGenerator(EUROPEAN_TONES.ringback);
 * const frame = new Int16Array(160);
 * gen.generate(frame);    // every 20 ms until the callee answers
 * ```
 */
export class ToneGenerator {
  private readonly segments: number[];
  private readonly components: ToneComponent[];
  private readonly ramp: number;
  private segment = 0;
  private position = 0;
  private finished = false;

  constructor(
    private readonly spec: ToneSpec,
    private readonly sampleRate = 8000,
  ) {
    this.segments = spec.cadence.map((ms) => Math.round((ms * sampleRate) / 1000));
    this.components = spec.frequencies.map((frequency) => ({ frequency, levelDbm0: spec.levelDbm0 }));
    this.ramp = Math.max(1, Math.round(sampleRate / 1000));
  }

  /** True once a non-repeating tone has played its whole cadence. */
  get done(): boolean {
    return this.finished;
  }

  /**
   * Fills `out` with the next `out.length` samples (silence once done).
   *
   * @returns how many samples belong to the tone (less than `out.length` only at the end of a
   * non-repeating tone).
   */
  generate(out: Int16Array): number {
    out.fill(0);
    const comps = this.components;
    if (this.segments.length === 0) {
      addTone(out, comps, this.sampleRate, 0, out.length, 0, this.position);
      this.position += out.length;
      return out.length;
    }
    let at = 0;
    while (at < out.length && !this.finished) {
      const segLen = this.segments[this.segment]!;
      const take = Math.min(out.length - at, segLen - this.position);
      if (this.segment % 2 === 0 && take > 0) {
        this.addOnPart(out, comps, at, take, segLen);
      }
      at += take;
      this.position += take;
      if (this.position >= segLen) {
        this.position = 0;
        this.segment++;
        if (this.segment >= this.segments.length) {
          if (this.spec.repeat) this.segment = 0;
          else this.finished = true;
        }
      }
    }
    return at;
  }

  /** Restarts the cadence from its beginning. */
  reset(): void {
    this.segment = 0;
    this.position = 0;
    this.finished = false;
  }

  private addOnPart(out: Int16Array, comps: ToneComponent[], at: number, take: number, segLen: number): void {
    for (const c of comps) {
      const amp = dbm0ToAmplitude(c.levelDbm0);
      const w = (2 * Math.PI * c.frequency) / this.sampleRate;
      for (let i = 0; i < take; i++) {
        const p = this.position + i;
        const env = Math.min(1, (p + 1) / this.ramp, (segLen - p) / this.ramp);
        const y = Math.round(out[at + i]! + amp * env * Math.sin(w * p));
        out[at + i] = y > 32767 ? 32767 : y < -32768 ? -32768 : y;
      }
    }
  }
}
