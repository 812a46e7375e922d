/**
 * A streaming WAV writer for recordings (voicemail, call recording) that keeps the header
 * current as it goes: after each batch of samples reaches the sink, the RIFF, `fact` and `data`
 * sizes are rewritten to match. A recording cut off by a crash or a full disk is therefore still
 * a valid, playable file of everything that was written, not a 0-length or "corrupt" one.
 *
 * Why a sink interface instead of a file: this layer is pure (no `fs`, no sockets, no timers),
 * and keeping the header current needs positional writes (the header at offset 0, samples at the
 * end), which is exactly what {@link WavSink} asks for. The caller adapts a file handle (see
 * docs/codecs.md for the ten-line `fs/promises` sink), an object store, or a test double.
 *
 * Errors (ENOSPC, EIO, a closed handle) are never thrown into the void: the first one stops
 * the writer, is handed to `onError`, is kept in {@link WavStreamWriter.error}, and rejects
 * {@link WavStreamWriter.flush} and {@link WavStreamWriter.close}. Later writes are dropped.
 */
import { CodecRangeError } from './errors.js';
import type { WavEncodeOptions, WavEncoding } from './wav.js';
import { encodeWavBody, wavHeader, wavHeaderLength } from './wav.js';

/**
 * Where a {@link WavStreamWriter} puts its bytes: positional writes, plus optional durability
 * and release hooks. A file-handle implementation is a few lines (docs/codecs.md).
 *
 * @example
 * ```ts
 * const memory: WavSink = { write: async (data, position) => void chunks.push([position, data.slice()]) };
 * ```
 */
export interface WavSink {
  /** Writes all of `data` at byte `position`; resolves when done, rejects on failure. */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Makes written bytes durable (e.g. `FileHandle.sync()`); called by flush() and close(). */
  sync?(): Promise<void>;
  /** Releases the sink; called once by close(), also after an error. */
  close?(): Promise<void>;
}

/**
 * Options of a {@link WavStreamWriter}.
 *
 * @example
 * ```ts
 * new WavStreamWriter(sink, { format: 'alaw', sampleRate: 8000, onError: (e) => log.error(e) });
 * ```
 */
export interface WavStreamWriterOptions extends WavEncodeOptions {
  /** Called once with the first error; the writer stops after it. */
  onError?: (error: Error) => void;
}

type State = 'open' | 'closing' | 'closed' | 'failed';

/**
 * Streams 16-bit samples into a WAV file through a {@link WavSink}, in PCM, µ-law or A-law,
 * keeping the header sizes current after every write so the file is always playable.
 *
 * `write()` queues and returns at once (it copies the samples, so the caller may reuse its
 * buffer); writes reach the sink in order. `flush()` waits for the queue and rejects with the
 * writer's error if there was one; `close()` adds the pad byte an odd data size needs, writes
 * the final header, syncs and closes the sink.
 *
 * @example
 * ```ts
 * const fh = await open('vm-1001.wav', 'w');
 * const writer = new WavStreamWriter(
 *   { write: async (d, pos) => void (await fh.write(d, 0, d.length, pos)), sync: () => fh.sync(), close: () => fh.close() },
 *   { format: 'mulaw', sampleRate: 8000, onError: (e) => log.warn('recording failed', e) },
 * );
 * writer.write(frame);           // every 20 ms
 * await writer.close();
 * ```
 */
export class WavStreamWriter {
  /** The first error the sink reported, if any. */
  error: Error | undefined;
  private readonly format: WavEncoding;
  private readonly options: WavEncodeOptions;
  private readonly headerLength: number;
  private readonly blockAlign: number;
  private readonly onError: ((error: Error) => void) | undefined;
  private state: State = 'open';
  private closeRequested = false;
  /** Set when a write would pass the 4 GiB limit: later writes are refused. */
  private full = false;
  /** Bytes accepted by write() so far (queued or written). */
  private queuedBytes = 0;
  /** Data bytes known to be on the sink. */
  private writtenBytes = 0;
  /** Writes queued but not yet on the sink; the header is rewritten when this reaches 0. */
  private pending = 0;
  /** The queue: a promise chain that never rejects (failures go to fail()). */
  private tail: Promise<void>;

  constructor(
    private readonly sink: WavSink,
    options: WavStreamWriterOptions,
  ) {
    this.format = options.format ?? 'pcm16';
    this.options = { format: this.format, sampleRate: options.sampleRate, channels: options.channels ?? 1 };
    this.headerLength = wavHeaderLength(this.format);
    this.blockAlign = ((options.channels ?? 1) * (this.format === 'pcm16' ? 16 : 8)) >>> 3;
    this.onError = options.onError;
    const header = wavHeader(this.options, 0); // validates the options synchronously
    this.tail = this.run(() => this.sink.write(header, 0));
  }

  /** Sample frames accepted so far (queued or written). */
  get frames(): number {
    return Math.floor(this.queuedBytes / this.blockAlign);
  }

  /** Data bytes that have reached the sink (the header is rewritten to cover them next). */
  get bytesWritten(): number {
    return this.writtenBytes;
  }

  /**
   * Queues samples (interleaved if stereo) for writing in the file's format. Returns false,
   * writing nothing, once the writer has failed or is closing.
   *
   * @throws {CodecRangeError} if `samples` is not a whole number of frames.
   */
  write(samples: Int16Array): boolean {
    if (samples.length % (this.options.channels ?? 1) !== 0) {
      throw new CodecRangeError(`${samples.length} samples is not a whole number of frames`);
    }
    if (this.state !== 'open' || this.full) return false;
    const bytes = new Uint8Array(this.format === 'pcm16' ? samples.length * 2 : samples.length);
    encodeWavBody(samples, this.format, bytes);
    return this.enqueue(bytes);
  }

  /**
   * Queues bytes already in the file's encoding (e.g. a PCMU RTP payload into a µ-law file).
   * The bytes are copied. Returns false once the writer has failed or is closing.
   *
   * @throws {CodecRangeError} if `data` is not a whole number of frames.
   */
  writeEncoded(data: Uint8Array): boolean {
    if (data.length % this.blockAlign !== 0) {
      throw new CodecRangeError(`${data.length} bytes is not a whole number of ${this.blockAlign}-byte frames`);
    }
    if (this.state !== 'open' || this.full) return false;
    return this.enqueue(data.slice());
  }

  /** Resolves when everything queued is on the sink with a current header (and synced). */
  async flush(): Promise<void> {
    await this.tail;
    // After close() the sink is released (and close() already synced): nothing to do.
    if (this.error === undefined && this.sink.sync !== undefined && this.state !== 'closed') {
      await this.run(() => this.sink.sync!());
    }
    if (this.error !== undefined) throw this.error;
  }

  /**
   * Finishes the file: pad byte if needed, final header, sync, sink close. Idempotent. Rejects
   * with the writer's error if any write failed (the sink is closed anyway).
   */
  async close(): Promise<void> {
    if (!this.closeRequested) {
      this.closeRequested = true;
      if (this.state === 'open') this.state = 'closing';
      this.tail = this.tail.then(async () => {
        // Skipped by run() if a write already failed; the sink is closed regardless.
        await this.run(async () => {
          if (this.writtenBytes & 1) await this.sink.write(new Uint8Array(1), this.headerLength + this.writtenBytes);
          await this.sink.write(wavHeader(this.options, this.writtenBytes), 0);
          if (this.sink.sync !== undefined) await this.sink.sync();
        });
        if (this.sink.close !== undefined) {
          try {
            await this.sink.close();
          } catch (e) {
            this.fail(e);
          }
        }
        if (this.state === 'closing') this.state = 'closed';
      });
    }
    await this.tail;
    if (this.error !== undefined) throw this.error;
  }

  private enqueue(bytes: Uint8Array): boolean {
    if (this.queuedBytes + bytes.length + this.headerLength + 1 > 0xffffffff) {
      // Refuse this and later writes, but let what is already queued reach the file first.
      this.full = true;
      const error = new CodecRangeError('recording would exceed the 4 GiB WAV limit');
      this.tail = this.tail.then(() => this.fail(error));
      return false;
    }
    const position = this.headerLength + this.queuedBytes;
    this.queuedBytes += bytes.length;
    this.pending++;
    this.tail = this.tail.then(() =>
      this.run(async () => {
        this.pending--;
        await this.sink.write(bytes, position);
        this.writtenBytes += bytes.length;
        // Samples first, then the header that covers them: a crash in between leaves a header
        // that describes slightly less than the file holds, which every reader accepts.
        if (this.pending === 0) await this.sink.write(wavHeader(this.options, this.writtenBytes), 0);
      }),
    );
    return true;
  }

  /** Runs one sink operation unless the writer has already failed; routes failures to fail(). */
  private run(op: () => Promise<void>): Promise<void> {
    if (this.state === 'failed') return Promise.resolve();
    // Promise.resolve().then(op) also catches a sink that throws synchronously or returns a
    // non-promise, so nothing can escape the queue as an unhandled rejection.
    return Promise.resolve()
      .then(op)
      .catch((e: unknown) => this.fail(e));
  }

  private fail(e: unknown): void {
    if (this.error !== undefined) return;
    this.error = e instanceof Error ? e : new Error(String(e));
    this.state = 'failed';
    if (this.onError !== undefined) {
      try {
        this.onError(this.error);
      } catch {
        // A throwing listener must not turn into an unhandled rejection of the queue.
      }
    }
  }
}
