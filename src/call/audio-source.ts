/**
 * What a call can play: a WAV file, PCM samples, a call-progress tone, DTMF tones, silence, a
 * stream of frames, or a list of these one after another. Each becomes a {@link FrameSource}
 * that fills one 20 ms frame of 8 kHz PCM per tick.
 *
 * WAV files are decoded once and kept in a {@link WavCache} bounded by bytes, because a PBX
 * plays the same few prompts to many callers. Files at other sample rates are resampled to
 * 8 kHz; stereo is mixed down.
 *
 * @example
 * ```ts
 * await call.play('prompts/en/welcome.wav');
 * await call.play([{ tone: 'ringback', durationMs: 4000 }, { silenceMs: 500 }, greeting]);
 * ```
 */
import { readFile } from 'node:fs/promises';
import {
  NORTH_AMERICAN_TONES,
  ToneGenerator,
  decodeWavMono,
  generateDtmf,
  readWav,
  resample,
  type ToneSpec,
  type TonePlan,
} from '../codecs/index.js';
import { CallError } from './call-error.js';

/** The call-progress tones by name (from the tone plan in use). */
export type ToneName = 'dial' | 'ringback' | 'busy' | 'congestion' | 'callWaiting' | 'confirmation';

/**
 * Something to play. A string or URL is a WAV file (PCM, µ-law or A-law, any rate, mono or
 * stereo); an `Int16Array` is 8 kHz PCM; an array plays its items in order.
 *
 * @example
 * ```ts
 * const source: PlaySource = ['prompts/en/you-pressed.wav', 'prompts/en/digits/5.wav'];
 * ```
 */
export type PlaySource =
  | string
  | URL
  | Int16Array
  | { tone: ToneName | ToneSpec; durationMs?: number }
  | { dtmf: string; toneMs?: number; gapMs?: number }
  | { silenceMs: number }
  | AsyncIterable<Int16Array>
  | readonly PlaySource[];

/**
 * One frame at a time of 8 kHz PCM.
 *
 * @example
 * ```ts
 * const frame = new Int16Array(160);
 * while (source.read(frame)) send(frame);
 * ```
 */
export interface FrameSource {
  /** Fills `out` (zeros after the end); false once nothing of the source was left for this frame. */
  read(out: Int16Array): boolean;
  /** Releases what the source holds (a stream's iterator). */
  close(): void;
}

/** Samples from a PCM array. */
export class PcmSource implements FrameSource {
  private position = 0;
  /** @param loop start over at the end (music on hold) */
  constructor(
    private readonly pcm: Int16Array,
    private readonly loop = false,
  ) {}
  read(out: Int16Array): boolean {
    if (this.loop && this.pcm.length > 0) {
      for (let filled = 0; filled < out.length; ) {
        if (this.position >= this.pcm.length) this.position = 0;
        const n = Math.min(out.length - filled, this.pcm.length - this.position);
        out.set(this.pcm.subarray(this.position, this.position + n), filled);
        filled += n;
        this.position += n;
      }
      return true;
    }
    const left = this.pcm.length - this.position;
    if (left <= 0) {
      out.fill(0);
      return false;
    }
    const n = Math.min(left, out.length);
    out.set(this.pcm.subarray(this.position, this.position + n));
    if (n < out.length) out.fill(0, n);
    this.position += n;
    return true;
  }
  close(): void {}
}

/** A tone for a duration (or forever when it repeats and no duration is given). */
export class ToneSource implements FrameSource {
  private readonly generator: ToneGenerator;
  private left: number;
  constructor(spec: ToneSpec, durationMs: number | undefined, sampleRate = 8000) {
    this.generator = new ToneGenerator(spec, sampleRate);
    this.left = durationMs === undefined ? Infinity : Math.round((durationMs * sampleRate) / 1000);
  }
  read(out: Int16Array): boolean {
    if (this.left <= 0 || this.generator.done) {
      out.fill(0);
      return false;
    }
    this.generator.generate(out);
    if (this.left < out.length) out.fill(0, this.left);
    this.left -= out.length;
    return true;
  }
  close(): void {}
}

/**
 * Frames from an async stream: a pump reads ahead into a bounded queue (one second), the tick
 * takes from it; an empty queue plays silence until the stream ends.
 */
export class StreamSource implements FrameSource {
  private readonly queue: Int16Array[] = [];
  private queued = 0;
  private head = 0;
  private ended = false;
  private closed = false;
  private wake: (() => void) | undefined;
  /** The stream's error, if it failed (playback then ends). */
  error: unknown;

  constructor(
    stream: AsyncIterable<Int16Array>,
    private readonly maxQueued = 8000,
  ) {
    void this.pump(stream);
  }

  private async pump(stream: AsyncIterable<Int16Array>): Promise<void> {
    const it = stream[Symbol.asyncIterator]();
    try {
      while (!this.closed) {
        if (this.queued >= this.maxQueued) {
          await new Promise<void>((r) => (this.wake = r));
          continue;
        }
        const r = await it.next();
        if (r.done) break;
        this.queue.push(r.value);
        this.queued += r.value.length;
      }
    } catch (e) {
      this.error = e;
    } finally {
      this.ended = true;
      if (this.closed) await it.return?.();
    }
  }

  read(out: Int16Array): boolean {
    let filled = 0;
    while (filled < out.length && this.queue.length > 0) {
      const chunk = this.queue[0]!;
      const n = Math.min(out.length - filled, chunk.length - this.head);
      out.set(chunk.subarray(this.head, this.head + n), filled);
      filled += n;
      this.head += n;
      this.queued -= n;
      if (this.head === chunk.length) {
        this.queue.shift();
        this.head = 0;
      }
    }
    if (filled < out.length) out.fill(0, filled);
    if (this.wake !== undefined && this.queued < this.maxQueued) {
      const w = this.wake;
      this.wake = undefined;
      w();
    }
    return filled > 0 || !(this.ended && this.queue.length === 0);
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }
}

/** Several sources in a row. */
export class SequenceSource implements FrameSource {
  private index = 0;
  constructor(private readonly sources: FrameSource[]) {}
  read(out: Int16Array): boolean {
    // Sources are played frame-aligned: the tail of one source's last frame is silence.
    while (this.index < this.sources.length) {
      const s = this.sources[this.index]!;
      if (s.read(out)) return true;
      s.close();
      this.index++;
    }
    out.fill(0);
    return false;
  }
  close(): void {
    for (let i = this.index; i < this.sources.length; i++) this.sources[i]!.close();
    this.index = this.sources.length;
  }
}

/**
 * Decoded WAV files by path, bounded by total samples (least recently used out first).
 *
 * @example
 * ```ts
 * const cache = new WavCache(16 * 1024 * 1024);
 * const pcm = await cache.load('prompts/en/goodbye.wav');
 * ```
 */
export class WavCache {
  private readonly entries = new Map<string, Int16Array>();
  private samples = 0;

  /** @param maxSamples most samples kept (default 8 M = 16 MB, about 17 minutes of audio) */
  constructor(private readonly maxSamples = 8 * 1024 * 1024) {}

  /** The file as 8 kHz mono PCM; throws {@link CallError} `bad-source` when unreadable. */
  async load(path: string): Promise<Int16Array> {
    const hit = this.entries.get(path);
    if (hit !== undefined) {
      this.entries.delete(path);
      this.entries.set(path, hit);
      return hit;
    }
    let pcm: Int16Array;
    try {
      pcm = wavToPcm8k(await readFile(path));
    } catch (e) {
      throw new CallError('bad-source', `cannot play ${path}: ${(e as Error).message}`, { cause: e });
    }
    if (pcm.length <= this.maxSamples) {
      this.entries.set(path, pcm);
      this.samples += pcm.length;
      for (const [k, v] of this.entries) {
        if (this.samples <= this.maxSamples) break;
        this.entries.delete(k);
        this.samples -= v.length;
      }
    }
    return pcm;
  }
}

/**
 * Decodes a WAV file's bytes to 8 kHz mono PCM (mixing channels down, resampling).
 *
 * @example
 * ```ts
 * const pcm = wavToPcm8k(readFileSync('hello.wav'));
 * ```
 */
export function wavToPcm8k(bytes: Uint8Array): Int16Array {
  const wav = readWav(bytes);
  const pcm = decodeWavMono(wav);
  return wav.sampleRate === 8000 ? pcm : resample(pcm, wav.sampleRate, 8000);
}

/**
 * Turns a {@link PlaySource} into a {@link FrameSource} (reading files through the cache).
 *
 * @example
 * ```ts
 * const source = await openSource({ tone: 'busy', durationMs: 3000 }, cache);
 * ```
 */
export async function openSource(source: PlaySource, cache: WavCache, plan: TonePlan = NORTH_AMERICAN_TONES, loop = false): Promise<FrameSource> {
  if (typeof source === 'string') return new PcmSource(await cache.load(source), loop);
  if (source instanceof URL) return new PcmSource(await cache.load(source.pathname), loop);
  if (source instanceof Int16Array) return new PcmSource(source, loop);
  if (typeof source === 'object' && source !== null && 'tone' in source) {
    const spec = typeof source.tone === 'string' ? plan[source.tone] : source.tone;
    if (spec === undefined) throw new CallError('bad-source', `unknown tone ${String(source.tone)}`);
    // A repeating tone without a duration plays until stopped anyway.
    return new ToneSource(loop ? { ...spec, repeat: true } : spec, loop ? undefined : source.durationMs);
  }
  if (loop) throw new CallError('bad-source', 'loop needs a WAV file, PCM samples or a tone');
  if (Array.isArray(source)) {
    const parts: FrameSource[] = [];
    for (const s of source as readonly PlaySource[]) parts.push(await openSource(s, cache, plan));
    return new SequenceSource(parts);
  }
  if (typeof source === 'object' && source !== null) {
    if ('dtmf' in source) return new PcmSource(generateDtmf(source.dtmf, { ...(source.toneMs !== undefined ? { toneMs: source.toneMs } : {}), ...(source.gapMs !== undefined ? { pauseMs: source.gapMs } : {}) }));
    if ('silenceMs' in source) return new PcmSource(new Int16Array(Math.round(source.silenceMs * 8)));
    if (Symbol.asyncIterator in source) return new StreamSource(source);
  }
  throw new CallError('bad-source', 'play() takes a WAV path, PCM samples, a tone, DTMF, silence, a stream of frames or a list of these');
}
