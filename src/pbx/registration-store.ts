/**
 * Registrations that survive a restart: every binding of the {@link LocationService} saved
 * to `<dataDir>/registrations.json`, and put back on start (expired ones dropped), so phones
 * keep receiving calls without re-registering after the PBX restarts.
 *
 * ```
 *  registrar ── changed() ──► (debounce, 1 s) ──► snapshot ──► registrations.json.tmp-PID
 *                                                              write, fsync, rename over
 *                                                              registrations.json, fsync dir
 *  start ── load() ──► parse + check every record ──► LocationService.restore (bounded)
 *                      corrupt/truncated: moved to registrations.json.corrupt, start empty,
 *                      RegistrationStoreError thrown for the log
 * ```
 *
 * File format (version 1): `{ "version": 1, "savedAt": <epoch ms>, "bindings": [ { "aor",
 * "contact", "expiresAt" (epoch ms), "updatedAt" (epoch ms), "q", "callId", "cseq", "path",
 * "source": { "protocol", "address", "port" } | null, "transport" } ] }`. Times are wall-clock
 * epoch milliseconds: the location service's clock is monotonic and restarts with the
 * process. Connection ids are not saved (a connection does not survive a restart): a TCP or
 * TLS binding comes back without one and is reached at its Contact URI.
 *
 * A write replaces the file atomically (temporary file, fsync, rename, fsync of the
 * directory): a crash leaves the old file or the new one, never half of one. Writes are
 * serialised; a change during a write schedules another.
 *
 * @example
 * ```ts
 * const store = new RegistrationStore(join(dataDir, 'registrations.json'), location);
 * try { log.info(`restored ${await store.load()} registrations`); } catch (e) { log.error(String(e)); }
 * const registrar = new PbxRegistrar({ directory, auth, location, clock, store });
 * // …
 * await store.close(); // last write
 * ```
 */
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseNameAddr, systemClock, type LocationService, type TimerClock, type TimerHandle, type TransportProtocol } from '../sip/index.js';

/** A registrations file that cannot be read or written, with the file and the reason. */
export class RegistrationStoreError extends Error {
  override readonly name = 'RegistrationStoreError';
  constructor(
    message: string,
    readonly file: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
  }
}

/** Options of {@link RegistrationStore}. */
export interface RegistrationStoreOptions {
  /** Timers for the debounce (default the system clock). */
  clock?: TimerClock;
  /** Wall-clock epoch milliseconds for the file (default `Date.now`). */
  wallClock?: { now(): number };
  /** Delay between a change and the write (default 1000 ms). */
  debounceMs?: number;
  /** Errors of background writes (a write asked for by `flush()` rejects instead). */
  onError?: (error: RegistrationStoreError) => void;
}

/** One binding in the file. */
export interface SavedBinding {
  aor: string;
  contact: string;
  /** Wall-clock epoch ms. */
  expiresAt: number;
  /** Wall-clock epoch ms. */
  updatedAt: number;
  q: number;
  callId: string;
  cseq: number;
  path: string[];
  source: { protocol: TransportProtocol; address: string; port: number } | null;
  transport: TransportProtocol | null;
}

interface SavedFile {
  version: 1;
  savedAt: number;
  bindings: SavedBinding[];
}

const PROTOCOLS: readonly string[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];

/**
 * Saves and restores the bindings of a location service (see the file comment).
 */
export class RegistrationStore {
  readonly file: string;
  private readonly location: LocationService;
  private readonly clock: TimerClock;
  private readonly wall: { now(): number };
  private readonly debounceMs: number;
  private readonly onError: (error: RegistrationStoreError) => void;
  private timer: TimerHandle | undefined;
  private dirty = false;
  private writing: Promise<void> | undefined;
  private closed = false;
  /** How the last `load()` went: restored, dropped as expired, refused by the location service's bounds. */
  lastLoad = { restored: 0, expired: 0, overLimit: 0 };

  constructor(file: string, location: LocationService, options: RegistrationStoreOptions = {}) {
    this.file = file;
    this.location = location;
    this.clock = options.clock ?? systemClock;
    this.wall = options.wallClock ?? { now: Date.now };
    this.debounceMs = options.debounceMs ?? 1000;
    this.onError = options.onError ?? (() => undefined);
  }

  /**
   * Restores the saved bindings into the location service and returns how many. No file:
   * 0. A file that cannot be parsed or has a malformed record: nothing is restored, the file
   * is moved aside to `<file>.corrupt` (so the next save does not destroy the evidence) and
   * a {@link RegistrationStoreError} is thrown — the caller logs it and runs on, empty.
   */
  async load(): Promise<number> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw new RegistrationStoreError(`cannot read: ${(e as Error).message}`, this.file, { cause: e });
    }
    let saved: SavedFile;
    try {
      saved = parseSaved(text);
    } catch (e) {
      await rename(this.file, `${this.file}.corrupt`).catch(() => undefined);
      throw new RegistrationStoreError(`corrupt, starting without saved registrations (moved to ${this.file}.corrupt): ${(e as Error).message}`, this.file, { cause: e });
    }
    const offset = this.location.clock.now() - this.wall.now();
    const report = { restored: 0, expired: 0, overLimit: 0 };
    for (const b of saved.bindings) {
      const result = this.location.restore(b.aor, {
        contact: parseNameAddr(b.contact),
        expiresAt: b.expiresAt + offset,
        updatedAt: b.updatedAt + offset,
        q: b.q,
        callId: b.callId,
        cseq: b.cseq,
        path: b.path,
        ...(b.source === null ? {} : { source: b.source }),
      });
      if (result === 'ok') report.restored++;
      else if (result === 'expired') report.expired++;
      else report.overLimit++;
    }
    this.lastLoad = report;
    return report.restored;
  }

  /** Something changed: save within `debounceMs`. */
  changed(): void {
    if (this.closed) return;
    this.dirty = true;
    if (this.timer !== undefined || this.writing !== undefined) return;
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      this.flush().catch((e: unknown) => this.onError(e as RegistrationStoreError));
    }, this.debounceMs);
  }

  /** Saves now (waits for a write in progress, then writes the current state). */
  async flush(): Promise<void> {
    if (this.timer !== undefined) {
      this.clock.clearTimer(this.timer);
      this.timer = undefined;
    }
    while (this.writing !== undefined) await this.writing.catch(() => undefined);
    this.dirty = false;
    const write = this.write(this.snapshot());
    this.writing = write;
    try {
      await write;
    } catch (e) {
      this.dirty = true;
      throw e;
    } finally {
      this.writing = undefined;
    }
    if (this.dirty && !this.closed) this.changed();
  }

  /** The last save; later changes are ignored. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
  }

  /** Every live binding, times converted to wall-clock epoch ms. */
  snapshot(): SavedFile {
    const offset = this.wall.now() - this.location.clock.now();
    const bindings: SavedBinding[] = [];
    for (const aor of this.location.addresses()) {
      for (const b of this.location.lookup(aor)) {
        bindings.push({
          aor,
          contact: b.contact.toString(),
          expiresAt: Math.round(b.expiresAt + offset),
          updatedAt: Math.round(b.updatedAt + offset),
          q: b.q,
          callId: b.callId,
          cseq: b.cseq,
          path: [...b.path],
          source: b.source === undefined ? null : { protocol: b.source.protocol, address: b.source.address, port: b.source.port },
          transport: b.source?.protocol ?? null,
        });
      }
    }
    return { version: 1, savedAt: this.wall.now(), bindings };
  }

  /** Writes atomically: temporary file, fsync, rename, fsync of the directory. */
  private async write(data: SavedFile): Promise<void> {
    const dir = dirname(this.file);
    const tmp = `${this.file}.tmp-${process.pid}`;
    try {
      await mkdir(dir, { recursive: true });
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(`${JSON.stringify(data, null, 1)}\n`, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.file);
      const dh = await open(dir, 'r');
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw new RegistrationStoreError(`cannot save: ${(e as Error).message}`, this.file, { cause: e });
    }
  }
}

/** Parses and checks the whole file; throws an Error saying what is wrong. */
function parseSaved(text: string): SavedFile {
  const doc: unknown = JSON.parse(text);
  if (!isObject(doc) || doc['version'] !== 1 || !Array.isArray(doc['bindings'])) throw new Error('not a version 1 registrations file');
  const bindings = (doc['bindings'] as unknown[]).map((raw, i) => {
    const problem = recordProblem(raw);
    if (problem !== undefined) throw new Error(`binding ${i}: ${problem}`);
    return raw as SavedBinding;
  });
  return { version: 1, savedAt: typeof doc['savedAt'] === 'number' ? doc['savedAt'] : 0, bindings };
}

function recordProblem(raw: unknown): string | undefined {
  if (!isObject(raw)) return 'not an object';
  if (typeof raw['aor'] !== 'string' || !/^sips?:[^@\s]+@\S+$/.test(raw['aor'])) return 'bad aor';
  if (typeof raw['contact'] !== 'string') return 'bad contact';
  try {
    if (parseNameAddr(raw['contact']).uri.kind !== 'sip') return 'contact is not a SIP URI';
  } catch {
    return 'bad contact';
  }
  for (const k of ['expiresAt', 'updatedAt', 'q', 'cseq']) if (typeof raw[k] !== 'number' || !Number.isFinite(raw[k])) return `bad ${k}`;
  if (typeof raw['callId'] !== 'string' || raw['callId'] === '') return 'bad callId';
  if (!Array.isArray(raw['path']) || !raw['path'].every((p) => typeof p === 'string')) return 'bad path';
  const source = raw['source'];
  if (source !== null) {
    if (!isObject(source) || typeof source['protocol'] !== 'string' || !PROTOCOLS.includes(source['protocol'])) return 'bad source';
    if (typeof source['address'] !== 'string' || typeof source['port'] !== 'number' || !Number.isInteger(source['port'])) return 'bad source';
  }
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
