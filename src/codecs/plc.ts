/**
 * Packet loss concealment for G.711 (and any narrowband PCM) in the style of ITU-T G.711
 * Appendix I: pitch-period waveform repetition with overlap-add. Written from the Appendix's
 * description of the method (its reference code's licence does not allow porting it); the
 * parameters below are the ones the Appendix describes.
 *
 * - A history of the last 48.75 ms (3 longest pitch periods + ¼ period) is kept, and the
 *   output is delayed by 3.75 ms (¼ of the longest pitch period) so that the start of an
 *   erasure can be smoothed *before* it is played.
 * - At the first lost sample, the pitch period is estimated by normalised cross-correlation of
 *   the last 20 ms against lags of 5–15 ms (66–200 Hz), first on a 2:1 decimated grid, then
 *   refined at full resolution.
 * - The lost signal is synthesised by repeating the last pitch period. Its last ¼ period is
 *   first overlap-added with the ¼ period one period earlier, so the repetition joins the real
 *   signal without a click.
 * - A single repeated period sounds buzzy over long erasures, so at 10 ms into the erasure the
 *   repeated segment grows to two periods, and at 20 ms to three (each change overlap-added
 *   over ¼ period).
 * - From 10 ms into the erasure the output is attenuated linearly by 20 % per 10 ms, reaching
 *   silence at 60 ms.
 * - At the first good frame after an erasure, the synthetic signal is continued and cross-faded
 *   into the real one over 4 ms, plus 4 ms per further 10 ms of erasure (at most 10 ms).
 *
 * All timing constants are in milliseconds and scale with the sample rate (8 kHz is the
 * Appendix's; 16 kHz works the same way). Hot path: buffers are allocated at construction; the
 * `(frame, out)` methods allocate nothing.
 */
import { CodecRangeError } from './errors.js';

/**
 * Options of a {@link PacketLossConcealer}.
 *
 * @example
 * ```ts
 * new PacketLossConcealer({ sampleRate: 16000 });
 * ```
 */
export interface PacketLossConcealerOptions {
  /** Sample rate; default 8000. */
  sampleRate?: number;
}

/**
 * Conceals lost frames in a stream of PCM frames. Call {@link PacketLossConcealer.receive} for
 * every frame that arrived and {@link PacketLossConcealer.conceal} for every frame that did
 * not (e.g. when the jitter buffer reports "lost"); both write the same number of samples to
 * `out`, delayed by {@link PacketLossConcealer.delay} samples.
 *
 * @example
 * ```ts
 * const plc = new PacketLossConcealer();
 * const out = new Int16Array(160);
 * for (const frame of jitterBuffer.frames()) {
 *   if (frame.lost) plc.conceal(out); else plc.receive(frame.pcm, out);
 *   play(out);
 * }
 * ```
 */
export class PacketLossConcealer {
  /** Output delay in samples (3.75 ms): the room needed to smooth the start of an erasure. */
  readonly delay: number;
  private readonly pitchMin: number;
  private readonly pitchMax: number;
  private readonly corrLen: number;
  /** 10 ms: the unit of the Appendix's erasure schedule. */
  private readonly step: number;
  /** 4 ms: the end-of-erasure cross-fade per 10 ms erased. */
  private readonly endOverlapStep: number;
  private readonly historyLen: number;
  /** The (concealed) signal up to now; output lags its end by `delay`. */
  private readonly history: Float64Array;
  /** A snapshot of the history taken when the erasure started (the repeated material). */
  private readonly pitchBuf: Float64Array;
  private readonly fade: Float64Array;
  /** Samples erased so far in the current erasure (0 = not in an erasure). */
  private erased = 0;
  private pitch = 0;
  private overlap = 0;
  private segLen = 0;
  private offset = 0;
  /** During a segment-length change: the old segment, cross-faded out over `overlap`. */
  private oldSegLen = 0;
  private oldOffset = 0;
  private crossfadeLeft = 0;

  constructor(options: PacketLossConcealerOptions = {}) {
    const rate = options.sampleRate ?? 8000;
    if (!Number.isInteger(rate) || rate < 4000 || rate > 96000) {
      throw new CodecRangeError(`PacketLossConcealer: unsupported sample rate ${rate}`);
    }
    const ms = (x: number): number => Math.round((x * rate) / 1000);
    this.pitchMin = ms(5);
    this.pitchMax = ms(15);
    this.delay = this.pitchMax >> 2;
    this.corrLen = ms(20);
    this.step = ms(10);
    this.endOverlapStep = ms(4);
    this.historyLen = 3 * this.pitchMax + this.delay;
    this.history = new Float64Array(this.historyLen);
    this.pitchBuf = new Float64Array(this.historyLen);
    this.fade = new Float64Array(this.step);
  }

  /** True while concealing (between a lost frame and the next good one). */
  get concealing(): boolean {
    return this.erased > 0;
  }

  /** The pitch period (in samples) used for the current or last erasure; 0 before any. */
  get pitchPeriod(): number {
    return this.pitch;
  }

  /**
   * A frame arrived: writes `frame.length` samples of output (delayed) to `out`, cross-fading
   * out of a concealment if one was in progress. `out` may be `frame` (in place).
   *
   * @throws {CodecRangeError} if `out` is shorter than `frame`.
   */
  receive(frame: Int16Array, out: Int16Array): void {
    const n = frame.length;
    if (out.length < n) throw new CodecRangeError(`PacketLossConcealer: output holds ${out.length}, needs ${n}`);
    let fadeLen = 0;
    if (this.erased > 0) {
      fadeLen = Math.min(n, this.step, this.endOverlapStep * Math.ceil(this.erased / this.step));
      for (let i = 0; i < fadeLen; i++) this.fade[i] = this.nextSynthetic();
      this.erased = 0;
      this.crossfadeLeft = 0;
    }
    for (let start = 0; start < n; start += this.step) {
      const len = Math.min(this.step, n - start);
      const h = this.shiftHistory(len);
      for (let i = 0; i < len; i++) {
        const k = start + i;
        let v = frame[k]!;
        if (k < fadeLen) {
          const w = (k + 1) / (fadeLen + 1);
          v = this.fade[k]! * (1 - w) + v * w;
        }
        h[this.historyLen - len + i] = v;
      }
      this.emit(out, start, len);
    }
  }

  /**
   * A frame was lost: writes `out.length` samples of concealment (delayed) to `out`.
   */
  conceal(out: Int16Array): void {
    const n = out.length;
    let start = 0;
    while (start < n) {
      if (this.erased === 0) this.startErasure();
      else if (this.erased % this.step === 0) this.growSegment();
      // Chunks never cross a 10 ms boundary of the erasure, where the schedule changes.
      const len = Math.min(n - start, this.step - (this.erased % this.step));
      const h = this.shiftHistory(len);
      for (let i = 0; i < len; i++) h[this.historyLen - len + i] = this.nextSynthetic();
      this.emit(out, start, len);
      start += len;
    }
  }

  /** Forgets all history (a new, unrelated stream). */
  reset(): void {
    this.history.fill(0);
    this.erased = 0;
    this.crossfadeLeft = 0;
    this.pitch = 0;
  }

  /** Makes room for `len` new samples at the end of the history; returns the history. */
  private shiftHistory(len: number): Float64Array {
    const h = this.history;
    h.copyWithin(0, len, this.historyLen);
    return h;
  }

  /** Writes the `len` samples that are now `delay` old into `out[start..]`. */
  private emit(out: Int16Array, start: number, len: number): void {
    const h = this.history;
    const from = this.historyLen - this.delay - len;
    for (let i = 0; i < len; i++) {
      const r = Math.round(h[from + i]!);
      out[start + i] = r > 32767 ? 32767 : r < -32768 ? -32768 : r;
    }
  }

  private startErasure(): void {
    const h = this.history;
    const end = this.historyLen;
    const p = this.estimatePitch();
    this.pitch = p;
    this.overlap = p >> 2;
    // Blend the last ¼ period towards the ¼ period one period earlier, so that repeating the
    // last period from its start continues smoothly from the (not yet played) history end.
    const ov = this.overlap;
    for (let i = 0; i < ov; i++) {
      const w = (i + 1) / (ov + 1);
      const at = end - ov + i;
      h[at] = h[at]! * (1 - w) + h[at - p]! * w;
    }
    this.pitchBuf.set(h);
    this.segLen = p;
    this.offset = 0;
    this.crossfadeLeft = 0;
  }

  /** At 10 and 20 ms into an erasure: repeat 2, then 3 pitch periods, cross-faded in. */
  private growSegment(): void {
    const periods = this.erased / this.step + 1;
    if (periods > 3 || this.segLen >= periods * this.pitch) return;
    this.oldSegLen = this.segLen;
    this.oldOffset = this.offset;
    this.segLen = periods * this.pitch;
    // The same phase, one period further back: the same offset from the new segment start.
    this.crossfadeLeft = this.overlap;
  }

  /** The next concealment sample, with the attenuation schedule applied. */
  private nextSynthetic(): number {
    const buf = this.pitchBuf;
    const end = this.historyLen;
    let v = buf[end - this.segLen + this.offset]!;
    this.offset = (this.offset + 1) % this.segLen;
    if (this.crossfadeLeft > 0) {
      const old = buf[end - this.oldSegLen + this.oldOffset]!;
      this.oldOffset = (this.oldOffset + 1) % this.oldSegLen;
      const w = (this.overlap - this.crossfadeLeft + 1) / (this.overlap + 1);
      v = old * (1 - w) + v * w;
      this.crossfadeLeft--;
    }
    this.erased++;
    // 20 % per 10 ms after the first 10 ms: silence from 60 ms.
    if (this.erased > this.step) {
      const gain = 1 - (0.2 * (this.erased - this.step)) / this.step;
      v = gain > 0 ? v * gain : 0;
    }
    return v;
  }

  /**
   * Pitch period of the history's end: the lag (5–15 ms) maximising the normalised
   * cross-correlation of the last 20 ms with the signal that lag earlier. Coarse search on
   * every second lag with 2:1 decimated sums, then a full-resolution search around the best.
   */
  private estimatePitch(): number {
    let best = this.pitchMax;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let lag = this.pitchMin; lag <= this.pitchMax; lag += 2) {
      const s = this.correlation(lag, 2);
      if (s > bestScore) {
        bestScore = s;
        best = lag;
      }
    }
    const coarse = best;
    bestScore = Number.NEGATIVE_INFINITY;
    for (let lag = Math.max(this.pitchMin, coarse - 1); lag <= Math.min(this.pitchMax, coarse + 1); lag++) {
      const s = this.correlation(lag, 1);
      if (s > bestScore) {
        bestScore = s;
        best = lag;
      }
    }
    return best;
  }

  /** Normalised cross-correlation of the last 20 ms with the signal `lag` earlier. */
  private correlation(lag: number, stride: number): number {
    const h = this.history;
    const start = this.historyLen - this.corrLen;
    let num = 0;
    let energy = 0;
    for (let i = 0; i < this.corrLen; i += stride) {
      const past = h[start + i - lag]!;
      num += h[start + i]! * past;
      energy += past * past;
    }
    // A floor on the energy keeps near-silent stretches from producing huge scores.
    return num / Math.sqrt(Math.max(energy, 250 * (this.corrLen / stride)));
  }
}
