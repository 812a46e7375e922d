/**
 * Call detail records: one JSON object per call, one per line (JSON Lines), appended to
 * `<dataDir>/cdr.jsonl` and made durable with `fdatasync` (docs/pbx-cdr.md).
 *
 * ```
 *  write(record) ──> queue (≤ maxQueued; full: the oldest is dropped and counted)
 *                      │  group commit: everything queued becomes one batch
 *                      v
 *            file.write(batch) ──> file.datasync() ──> written += n, flush() waiters resolve
 *                      │ error (ENOSPC, EIO…): onError, the batch stays queued, retried
 *                      v after retryDelayMs or on the next flush()
 * ```
 *
 * One batch is in flight at a time; records that arrive while it syncs form the next one, so
 * a busy PBX pays one `fdatasync` per batch, not per call. `write()` never throws and never
 * waits. A record counts as written once its batch is synced: a crash after that cannot lose
 * it. A crash in the middle of a write can leave a torn last line; opening the file appends a
 * newline first so the next record starts on a line of its own, and {@link readCdrs} skips
 * the torn line. After a failed `fdatasync` the batch is written again, so a record can
 * appear twice (same `id`) but is not lost: readers that bill should de-duplicate by `id`.
 */
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** One call, as written to the CDR file. */
export interface CallDetailRecord {
  /** Unique per call (the caller leg's Call-ID). */
  id: string;
  /** The tenant's domain. */
  tenant: string;
  /** Calling number or user, as presented. */
  from: string;
  fromName?: string;
  /** Called number or user, as dialled. */
  to: string;
  direction: 'internal' | 'inbound' | 'outbound';
  /** ISO 8601 UTC with milliseconds: the INVITE arrived. */
  start: string;
  /** When the call was answered; null when it was not. */
  answer: string | null;
  /** When the last leg ended. */
  end: string;
  disposition: 'answered' | 'no-answer' | 'busy' | 'failed' | 'cancelled' | 'rejected';
  /** Seconds from start to end (3 decimals). */
  duration: number;
  /** Seconds from answer to end; 0 when not answered. */
  billsec: number;
  /** The final status of the call (200 when answered). */
  sipStatus: number;
  hangupBy?: 'caller' | 'callee' | 'system';
  /** The trunk an outbound or inbound call used. */
  trunk?: string;
  /** The extension (or device) that answered. */
  answeredBy?: string;
  /** Path of the call recording, when there is one. */
  recording?: string;
}

/**
 * The file a {@link CdrWriter} appends to: a real file ({@link openCdrFile}), or a fake one
 * in tests (to fail writes with ENOSPC, say).
 */
export interface CdrFile {
  /** Appends all of `data` (rejects when it cannot: then part of it may be on disk). */
  write(data: Uint8Array): Promise<void>;
  /** Makes what was written durable (`fdatasync`). */
  datasync(): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link CdrWriter.open}. */
export interface CdrWriterOptions {
  /** Most records waiting for the disk (default 10,000); past it the oldest is dropped. */
  maxQueued?: number;
  /** Disk errors, queue overflow (once per episode), records that cannot be serialized. Default: ignored. */
  onError?: (error: Error) => void;
  /** How long after a failed write the batch is retried (default 1000 ms); a `flush()` retries at once. */
  retryDelayMs?: number;
  /** Opens the file (default {@link openCdrFile}); used by `open()` and `reopen()`. */
  openFile?: (path: string) => Promise<CdrFile>;
}

/** The queue was full: records are being dropped (reported once per overflow episode). */
export class CdrOverflowError extends Error {
  override readonly name = 'CdrOverflowError';
  constructor(readonly maxQueued: number) {
    super(`CDR queue full (${maxQueued} records waiting for the disk): dropping the oldest`);
  }
}

const NEWLINE = 0x0a;

/**
 * Opens (creating it and its directory) a CDR file for appending. When the file does not end
 * with a newline — a crash tore its last record — one is appended and synced first, so the
 * next record starts on its own line. The directory is synced too, so a new file's entry
 * survives a crash. Mode 0640: records hold phone numbers.
 */
export async function openCdrFile(path: string): Promise<CdrFile> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const fh = await open(path, 'a+', 0o640);
  try {
    const { size } = await fh.stat();
    if (size > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      if (last[0] !== NEWLINE) {
        await fh.write(Buffer.from('\n'));
        await fh.datasync();
      }
    }
    await syncDirectory(dir);
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw e;
  }
  return {
    async write(data: Uint8Array): Promise<void> {
      // A short write is possible (disk nearly full): write the rest, or fail trying.
      let off = 0;
      while (off < data.length) {
        const { bytesWritten } = await fh.write(data, off, data.length - off);
        if (bytesWritten <= 0) throw new Error(`CDR write made no progress (${off} of ${data.length} bytes)`);
        off += bytesWritten;
      }
    },
    datasync: () => fh.datasync(),
    close: () => fh.close(),
  };
}

async function syncDirectory(dir: string): Promise<void> {
  let d;
  try {
    d = await open(dir, 'r');
    await d.sync();
  } catch {
    // Some platforms (Windows) cannot open or sync a directory; the file itself is still synced.
  } finally {
    await d?.close().catch(() => undefined);
  }
}

interface Queued {
  seq: number;
  line: string;
}

interface FlushWaiter {
  /** Resolved once no record with seq ≤ this is queued. */
  upTo: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

const toError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/**
 * Appends call detail records to a JSON Lines file, durably and without ever blocking a call.
 *
 * @example
 * ```ts
 * const cdr = await CdrWriter.open(join(config.dataDir, 'cdr.jsonl'), { onError: (e) => log.error(`cdr: ${e.message}`) });
 * cdr.write(record);             // queued; on disk within one fdatasync
 * await cdr.flush();             // everything written so far is durable
 * await cdr.reopen();            // after logrotate renamed the file
 * await cdr.close();
 * ```
 */
export class CdrWriter {
  private queue: Queued[] = [];
  /** How many records at the head of `queue` the batch in flight is writing. */
  private inFlight = 0;
  private batch: Promise<void> | undefined;
  private seq = 0;
  private writtenCount = 0;
  private droppedCount = 0;
  private overflowing = false;
  /** A write failed: part of a batch may be on disk without its newline. */
  private needsNewline = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private waiters: FlushWaiter[] = [];
  private closing: Promise<void> | undefined;
  private readonly maxQueued: number;
  private readonly onError: (error: Error) => void;
  private readonly retryDelayMs: number;
  private readonly openFile: (path: string) => Promise<CdrFile>;

  private constructor(
    /** The file's path (reopened there by {@link reopen}). */
    readonly path: string,
    private file: CdrFile,
    options: CdrWriterOptions,
  ) {
    this.maxQueued = Math.max(1, Math.floor(options.maxQueued ?? 10_000));
    this.onError = options.onError ?? (() => undefined);
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.openFile = options.openFile ?? openCdrFile;
  }

  /** Opens (creating the directory and file) for appending. Rejects when the file cannot be opened. */
  static async open(path: string, options: CdrWriterOptions = {}): Promise<CdrWriter> {
    const file = await (options.openFile ?? openCdrFile)(path);
    return new CdrWriter(path, file, options);
  }

  /** Records synced to disk. */
  get written(): number {
    return this.writtenCount;
  }

  /** Records lost: queue overflow, written after close, not serializable, still queued when closed. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Records waiting for the disk (the batch in flight included). */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Queues a record (serialized now: later changes to the object are not seen). Never throws;
   * starts a batch unless one is in flight or a failed one is waiting for its retry.
   */
  write(record: CallDetailRecord): void {
    if (this.closing !== undefined) {
      this.droppedCount++;
      return;
    }
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch (e) {
      this.droppedCount++;
      this.report(new Error(`CDR ${String(record.id)} cannot be serialized: ${toError(e).message}`));
      return;
    }
    if (this.queue.length - this.inFlight >= this.maxQueued) {
      // Drop the oldest record not being written (the batch in flight cannot be taken back).
      this.queue.splice(this.inFlight, 1);
      this.droppedCount++;
      if (!this.overflowing) {
        this.overflowing = true;
        this.report(new CdrOverflowError(this.maxQueued));
      }
    }
    this.queue.push({ seq: ++this.seq, line });
    if (this.retryTimer === undefined) this.pump();
  }

  /**
   * Resolves when every record queued so far is synced (or was dropped); rejects with the
   * disk error when the attempt to write them fails (they stay queued for a retry). Retries a
   * failed batch at once.
   */
  flush(): Promise<void> {
    const upTo = this.seq;
    if (this.queue.length === 0 || this.queue[0]!.seq > upTo) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ upTo, resolve, reject }));
    this.retryNow();
    return done;
  }

  /**
   * Flushes, then closes the file. Later `write()` calls are counted as dropped. Never
   * rejects: a final write that fails is reported through `onError` and its records counted
   * as dropped.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    // Let the batch in flight finish, then make one more attempt for whatever is left.
    while (this.batch !== undefined) await this.batch;
    try {
      await this.flush();
    } catch {
      // reported through onError already
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    while (this.batch !== undefined) await this.batch;
    if (this.queue.length > 0) {
      this.droppedCount += this.queue.length;
      this.queue = [];
    }
    this.settleWaiters();
    try {
      await this.file.close();
    } catch (e) {
      this.report(toError(e));
    }
  }

  /**
   * Opens the path again and appends there from now on (logrotate: rename the file, then
   * reopen; records queued meanwhile go to the new file). Rejects, keeping the old file,
   * when the new one cannot be opened.
   */
  async reopen(): Promise<void> {
    if (this.closing !== undefined) throw new Error('The CDR writer is closed');
    const next = await this.openFile(this.path);
    while (this.batch !== undefined) await this.batch;
    if (this.closing !== undefined) {
      await next.close().catch(() => undefined);
      throw new Error('The CDR writer is closed');
    }
    const old = this.file;
    this.file = next;
    // The new file starts clean; a torn line, if any, was left in the old one.
    this.needsNewline = false;
    try {
      await old.close();
    } catch (e) {
      this.report(toError(e));
    }
    this.retryNow();
  }

  /** Cancels a pending retry and starts a batch now. */
  private retryNow(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.pump();
  }

  /** Starts a batch when none is in flight and records are waiting. */
  private pump(): void {
    if (this.batch !== undefined || this.queue.length === 0) return;
    const n = this.queue.length;
    this.inFlight = n;
    let text = this.needsNewline ? '\n' : '';
    for (let i = 0; i < n; i++) text += `${this.queue[i]!.line}\n`;
    const bytes = Buffer.from(text, 'utf8');
    const file = this.file;
    this.batch = (async () => {
      let error: Error | undefined;
      try {
        await file.write(bytes);
        await file.datasync();
      } catch (e) {
        error = toError(e);
      }
      this.batch = undefined;
      if (error !== undefined) {
        // The retry timer (or a flush) starts the next attempt.
        this.failed(error);
      } else {
        this.synced(n);
        // Records that arrived while this batch was syncing form the next one.
        this.pump();
      }
    })();
  }

  private synced(n: number): void {
    this.inFlight = 0;
    this.needsNewline = false;
    this.queue.splice(0, n);
    this.writtenCount += n;
    if (this.queue.length < this.maxQueued) this.overflowing = false;
    this.settleWaiters();
  }

  private failed(error: Error): void {
    this.inFlight = 0;
    // Part of the batch may be on disk without its newline: start the retry on a fresh line.
    this.needsNewline = true;
    this.report(error);
    // The batch is back among the waiting records: keep the bound.
    const excess = this.queue.length - this.maxQueued;
    if (excess > 0) {
      this.queue.splice(0, excess);
      this.droppedCount += excess;
      if (!this.overflowing) {
        this.overflowing = true;
        this.report(new CdrOverflowError(this.maxQueued));
      }
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(error);
    if (this.closing === undefined) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.pump();
      }, this.retryDelayMs);
      this.retryTimer.unref();
    }
  }

  /** Resolves the flush waiters whose records have all left the queue. */
  private settleWaiters(): void {
    if (this.waiters.length === 0) return;
    const oldest = this.queue.length === 0 ? Infinity : this.queue[0]!.seq;
    const still: FlushWaiter[] = [];
    for (const w of this.waiters) {
      if (w.upTo < oldest) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  private report(error: Error): void {
    try {
      this.onError(error);
    } catch {
      // a logger that throws must not break the writer
    }
  }
}

/** Options of {@link readCdrs}. */
export interface ReadCdrsOptions {
  /** A line that is not a JSON object (a torn write retried after a disk error); skipped. */
  onInvalid?: (lineNumber: number, text: string) => void;
}

/**
 * Reads a CDR file: every record, in file order. A torn last line (a crash in mid-write) is
 * skipped, as are empty lines; other lines that are not JSON objects are skipped and reported
 * through `onInvalid`. A missing file reads as no records.
 *
 * @example
 * ```ts
 * const calls = await readCdrs(join(dataDir, 'cdr.jsonl'));
 * ```
 */
export async function readCdrs(path: string, options: ReadCdrsOptions = {}): Promise<CallDetailRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const lines = text.split('\n');
  // After the final newline: '' for a whole file, a torn record otherwise.
  const tail = lines.pop() ?? '';
  const out: CallDetailRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const record = parseRecord(line);
    if (record !== undefined) out.push(record);
    else options.onInvalid?.(i + 1, line);
  });
  // A crash between a record and its newline leaves a complete record: keep it.
  const last = tail.trim() === '' ? undefined : parseRecord(tail);
  if (last !== undefined) out.push(last);
  return out;
}

function parseRecord(line: string): CallDetailRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof (value as { id?: unknown }).id !== 'string') return undefined;
  return value as CallDetailRecord;
}
