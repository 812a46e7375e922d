/**
 * Voicemail on disk: one folder per mailbox, one WAV and one JSON envelope per message, written
 * so that a crash, a hang-up or a full disk never loses or corrupts a message already stored.
 *
 * ```
 *  <root>/<tenant domain>/<box>/
 *      INBOX/msg0001.wav + msg0001.json     new messages
 *      Old/msg0002.wav   + msg0002.json     saved (listened to and kept)
 *      greetings/unavailable.wav busy.wav name.wav
 *      pin.json                             a PIN the owner changed (overrides the configuration)
 *      tmp/<unique>.wav + <unique>.meta.json   a recording in progress
 * ```
 *
 * A message exists when both of its files are in a folder; `list()` shows nothing else.
 * Commit, under a per-mailbox lock so two callers never get the same number:
 *
 * ```
 *  fsync tmp/u.wav ─► write tmp/u.json + fsync ─► rename u.wav → INBOX/msgN.wav
 *     ─► rename u.json → INBOX/msgN.json ─► fsync INBOX/ and tmp/ ─► unlink u.meta.json
 * ```
 *
 * {@link VoicemailStore.recover} (at start-up, before calls are taken) finishes what a crash
 * interrupted: a recording left in tmp/ with at least {@link MIN_MESSAGE_MS} of audio is
 * committed with `partial: true` (the WAV header is kept current while recording, so the file
 * plays), shorter ones are deleted; a WAV renamed into a folder whose envelope was not yet is
 * given it; a half-done move is completed; a half-done removal (the WAV goes first) is finished.
 *
 * All file access goes through a {@link VoicemailFs}, so tests can make the disk fail (ENOSPC)
 * at a chosen step.
 *
 * @example
 * ```ts
 * const store = new VoicemailStore(join(dataDir, 'voicemail'));
 * await store.recover();
 * const draft = await store.beginMessage('demo.local', '1001', { callerId: '1002', callerName: 'Bob', reason: 'unavailable' }, { maxMessages: 100 });
 * const { durationMs } = await call.record(draft.wavPath, { maxSeconds: 180, stopOnSilence: 5 });
 * await draft.commit(durationMs);
 * await store.counts('demo.local', '1001'); // { new: 1, old: 0 }
 * ```
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { encodeWavData, readWav } from '../../codecs/index.js';

/** `INBOX`: new messages; `Old`: saved ones (the names app_voicemail uses). */
export type VoicemailFolder = 'INBOX' | 'Old';

/** The greetings a mailbox owner can record. */
export type GreetingKind = 'unavailable' | 'busy' | 'name';

/** Why the caller reached the mailbox. */
export type VoicemailReason = 'busy' | 'unavailable';

/** Messages shorter than this are not kept (a caller who hung up at the beep). */
export const MIN_MESSAGE_MS = 500;

const FOLDERS: readonly VoicemailFolder[] = ['INBOX', 'Old'];
const MESSAGE_FILE = /^msg(\d{4,})\.(wav|json)$/;
/** Mailbox names and tenant domains become path segments: no separators, no dot-only names. */
const SAFE_SEGMENT = /^(?!\.{1,2}$)[A-Za-z0-9._+-]{1,128}$/;

/**
 * The JSON envelope beside each message's WAV.
 *
 * @example
 * ```ts
 * const env: VoicemailEnvelope = { id: '5f0c…', callerId: '1002', callerName: 'Bob', tenant: 'demo.local', mailbox: '1001',
 *   time: '2026-11-22T06:30:00.000Z', durationMs: 4200, folder: 'INBOX', reason: 'busy' };
 * ```
 */
export interface VoicemailEnvelope {
  /** Unique and stable (the file name may be another message's after a deletion). */
  id: string;
  callerId: string;
  callerName: string;
  tenant: string;
  mailbox: string;
  /** When the caller started leaving it (ISO 8601, UTC). */
  time: string;
  durationMs: number;
  folder: VoicemailFolder;
  reason: VoicemailReason;
  /** Cut short by a crash (recovered at start-up) or a write error. */
  partial?: boolean;
}

/** A stored message: its envelope and where it is. */
export interface VoicemailMessage extends VoicemailEnvelope {
  /** `msg0003`: the file name without extension, unique within the mailbox. */
  name: string;
  wavPath: string;
}

/** What the caller of {@link VoicemailStore.beginMessage} knows before recording. */
export interface EnvelopeFields {
  callerId: string;
  callerName: string;
  reason: VoicemailReason;
  /** Default: now. */
  time?: Date;
}

/**
 * A recording in progress: record into `wavPath`, then {@link commit} or {@link abort}.
 *
 * @example
 * ```ts
 * const draft = await store.beginMessage('demo.local', '1001', fields);
 * const r = await call.record(draft.wavPath, { stopOnSilence: 5 });
 * const msg = await draft.commit(r.durationMs, r.reason === 'error'); // undefined when under 0.5 s
 * ```
 */
export interface MessageDraft {
  readonly wavPath: string;
  /**
   * Stores the recording as a new message in INBOX; resolves with it, or undefined when it is
   * shorter than {@link MIN_MESSAGE_MS} (then it is deleted). A WAV holding more than
   * `durationMs` is cut to it (the trailing silence that ended a recording). Rejects with the
   * file system's error (ENOSPC…) after removing the draft: messages stored before are
   * untouched.
   */
  commit(durationMs: number, partial?: boolean): Promise<VoicemailMessage | undefined>;
  /** Deletes the recording. */
  abort(): Promise<void>;
}

/** What can go wrong, by code: `full` (maxMessages reached), `bad-name`, `not-found`. */
export class VoicemailStoreError extends Error {
  override readonly name = 'VoicemailStoreError';
  constructor(
    readonly code: 'full' | 'bad-name' | 'not-found',
    message: string,
  ) {
    super(message);
  }
}

/** An open file, as much of `FileHandle` as the store needs. */
export interface VoicemailFileHandle {
  write(data: Uint8Array): Promise<unknown>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The file operations the store uses (node:fs/promises by default). Tests inject failures.
 *
 * @example
 * ```ts
 * const full: VoicemailFs = { ...nodeVoicemailFs, open: async () => { throw Object.assign(new Error('no space'), { code: 'ENOSPC' }); } };
 * ```
 */
export interface VoicemailFs {
  mkdir(path: string): Promise<void>;
  /** Entry names; [] when the folder does not exist. */
  readdir(path: string): Promise<string[]>;
  readFile(path: string): Promise<Uint8Array>;
  /** flags: 'w' (create/truncate) or 'r' (to fsync a file or a folder). */
  open(path: string, flags: 'w' | 'r'): Promise<VoicemailFileHandle>;
  rename(from: string, to: string): Promise<void>;
  /** No error when the file is already gone. */
  unlink(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
}

/** {@link VoicemailFs} on the real file system. */
export const nodeVoicemailFs: VoicemailFs = {
  mkdir: async (path) => void (await fsp.mkdir(path, { recursive: true })),
  readdir: async (path) => {
    try {
      return await fsp.readdir(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  },
  readFile: async (path) => new Uint8Array(await fsp.readFile(path)),
  open: async (path, flags) => {
    const fh = await fsp.open(path, flags);
    return { write: (data) => fh.write(data), sync: () => fh.sync(), close: () => fh.close() };
  },
  rename: (from, to) => fsp.rename(from, to),
  unlink: async (path) => {
    try {
      await fsp.unlink(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  },
  exists: async (path) => {
    try {
      await fsp.stat(path);
      return true;
    } catch {
      return false;
    }
  },
};

/** Options of {@link VoicemailStore}. */
export interface VoicemailStoreOptions {
  fs?: VoicemailFs;
  /** Wall-clock time for envelopes (default `new Date()`). */
  now?: () => Date;
  /** Randomness for draft names and ids (default `crypto.randomBytes`). */
  random?: (bytes: number) => Uint8Array;
}

/** What {@link VoicemailStore.recover} did. */
export interface RecoveryReport {
  /** Recordings committed from tmp/ (partial). */
  committed: VoicemailMessage[];
  /** Leftovers deleted (no audio, or under the minimum). */
  deleted: number;
  /** Half-done commits, moves and removals finished. */
  repaired: number;
}

type StoreEvents = {
  /** A mailbox's messages changed (new, moved, removed): its MWI state may differ. */
  changed: [tenant: string, box: string];
};

/** A tenant by domain, or anything with one (a TenantConfig). */
export type TenantRef = string | { readonly domain: string };

function domainOf(tenant: TenantRef): string {
  return typeof tenant === 'string' ? tenant : tenant.domain;
}

function checkSegment(kind: string, value: string): string {
  if (!SAFE_SEGMENT.test(value)) throw new VoicemailStoreError('bad-name', `invalid ${kind} ${JSON.stringify(value)} for a mailbox path`);
  return value;
}

function messageNumber(name: string): number {
  const m = MESSAGE_FILE.exec(name);
  return m === null ? -1 : Number(m[1]);
}

/** Duration of the audio in a WAV file's bytes, 0 when unreadable. */
export function wavDurationMs(bytes: Uint8Array): number {
  try {
    const wav = readWav(bytes);
    return Math.floor((wav.frames * 1000) / wav.sampleRate);
  } catch {
    return 0;
  }
}

/**
 * The voicemail store (see the file comment). Emits `changed(tenant, box)` after every change
 * to a mailbox's messages, for message waiting indication.
 */
export class VoicemailStore extends EventEmitter<StoreEvents> {
  readonly root: string;
  private readonly fs: VoicemailFs;
  private readonly now: () => Date;
  private readonly random: (bytes: number) => Uint8Array;
  /** Per-mailbox queue: commits, moves and removals run one at a time. */
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Drafts being recorded by this process: recover() leaves them alone. */
  private readonly active = new Set<string>();

  constructor(root: string, options: VoicemailStoreOptions = {}) {
    super();
    this.root = root;
    this.fs = options.fs ?? nodeVoicemailFs;
    this.now = options.now ?? (() => new Date());
    this.random = options.random ?? ((n) => randomBytes(n));
  }

  /** The folder of a mailbox. */
  mailboxDir(tenant: TenantRef, box: string): string {
    return join(this.root, checkSegment('tenant', domainOf(tenant).toLowerCase()), checkSegment('mailbox', box));
  }

  /** Where a greeting is (whether or not it has been recorded). */
  greetingPath(tenant: TenantRef, box: string, kind: GreetingKind): string {
    return join(this.mailboxDir(tenant, box), 'greetings', `${kind}.wav`);
  }

  /** The recorded greeting's path, or undefined when the owner has not recorded one. */
  async greeting(tenant: TenantRef, box: string, kind: GreetingKind): Promise<string | undefined> {
    const path = this.greetingPath(tenant, box, kind);
    return (await this.fs.exists(path)) ? path : undefined;
  }

  /**
   * Starts recording a greeting: record into `wavPath`, then `commit(durationMs?)` replaces
   * the greeting atomically (cut to `durationMs` when given, fsync, rename, fsync the folder),
   * or `abort()`.
   */
  async beginGreeting(tenant: TenantRef, box: string, kind: GreetingKind): Promise<{ wavPath: string; commit(durationMs?: number): Promise<void>; abort(): Promise<void> }> {
    const dir = join(this.mailboxDir(tenant, box), 'greetings');
    await this.fs.mkdir(dir);
    const wavPath = join(dir, `.${kind}-${this.unique()}.wav`);
    const final = this.greetingPath(tenant, box, kind);
    return {
      wavPath,
      commit: async (durationMs) => {
        try {
          if (durationMs !== undefined) await this.trimWav(wavPath, durationMs);
          await this.syncFile(wavPath);
          await this.fs.rename(wavPath, final);
          await this.syncDir(dir);
        } catch (e) {
          await this.fs.unlink(wavPath);
          throw e;
        }
      },
      abort: () => this.fs.unlink(wavPath),
    };
  }

  /** A PIN the owner set (pin.json), which overrides the configured one. */
  async pin(tenant: TenantRef, box: string): Promise<string | undefined> {
    try {
      const data = JSON.parse(Buffer.from(await this.fs.readFile(join(this.mailboxDir(tenant, box), 'pin.json'))).toString('utf8')) as { pin?: unknown };
      return typeof data.pin === 'string' && /^[0-9]{4,12}$/.test(data.pin) ? data.pin : undefined;
    } catch (e) {
      if (e instanceof VoicemailStoreError) throw e;
      return undefined;
    }
  }

  /** Stores a new PIN durably (temp file, fsync, rename, fsync the folder). */
  async setPin(tenant: TenantRef, box: string, pin: string): Promise<void> {
    if (!/^[0-9]{4,12}$/.test(pin)) throw new VoicemailStoreError('bad-name', 'a PIN is 4 to 12 digits');
    const dir = this.mailboxDir(tenant, box);
    await this.fs.mkdir(dir);
    const tmp = join(dir, `.pin-${this.unique()}.json`);
    try {
      await this.writeDurably(tmp, JSON.stringify({ pin, changed: this.now().toISOString() }) + '\n');
      await this.fs.rename(tmp, join(dir, 'pin.json'));
      await this.syncDir(dir);
    } catch (e) {
      await this.fs.unlink(tmp);
      throw e;
    }
  }

  /**
   * Starts a new message: a draft WAV path in the mailbox's tmp/ and, beside it, the envelope
   * fields (so {@link recover} can commit it after a crash). Throws {@link VoicemailStoreError}
   * `full` when the mailbox holds `maxMessages` already.
   */
  async beginMessage(tenant: TenantRef, box: string, fields: EnvelopeFields, options: { maxMessages?: number } = {}): Promise<MessageDraft> {
    const domain = domainOf(tenant).toLowerCase();
    const dir = this.mailboxDir(domain, box);
    if (options.maxMessages !== undefined) {
      const c = await this.counts(domain, box);
      if (c.new + c.old >= options.maxMessages) throw new VoicemailStoreError('full', `mailbox ${box}@${domain} is full (${options.maxMessages} messages)`);
    }
    const tmpDir = join(dir, 'tmp');
    await this.fs.mkdir(tmpDir);
    for (const f of FOLDERS) await this.fs.mkdir(join(dir, f));
    const unique = this.unique();
    const wavPath = join(tmpDir, `${unique}.wav`);
    const metaPath = join(tmpDir, `${unique}.meta.json`);
    const envelope: VoicemailEnvelope = {
      id: unique,
      callerId: fields.callerId,
      callerName: fields.callerName,
      tenant: domain,
      mailbox: box,
      time: (fields.time ?? this.now()).toISOString(),
      durationMs: 0,
      folder: 'INBOX',
      reason: fields.reason,
    };
    this.active.add(unique);
    try {
      await this.writeDurably(metaPath, JSON.stringify(envelope) + '\n');
    } catch (e) {
      this.active.delete(unique);
      await this.fs.unlink(metaPath);
      throw e;
    }
    let done = false;
    const abort = async (): Promise<void> => {
      done = true;
      this.active.delete(unique);
      await this.fs.unlink(wavPath);
      await this.fs.unlink(join(tmpDir, `${unique}.json`));
      await this.fs.unlink(metaPath);
    };
    return {
      wavPath,
      abort,
      commit: async (durationMs, partial) => {
        if (done) throw new Error('this message was already committed or aborted');
        done = true;
        if (durationMs < MIN_MESSAGE_MS) {
          await abort();
          return undefined;
        }
        const final: VoicemailEnvelope = { ...envelope, durationMs: Math.round(durationMs), ...(partial ? { partial: true } : {}) };
        try {
          const msg = await this.locked(domain, box, () => this.commitDraft(dir, unique, final, true));
          this.active.delete(unique);
          return msg;
        } catch (e) {
          await abort();
          throw e;
        }
      },
    };
  }

  /** The messages of a folder (both folders when omitted), oldest first. */
  async list(tenant: TenantRef, box: string, folder?: VoicemailFolder): Promise<VoicemailMessage[]> {
    const dir = this.mailboxDir(tenant, box);
    const out: VoicemailMessage[] = [];
    for (const f of folder === undefined ? FOLDERS : [folder]) {
      const names = await this.fs.readdir(join(dir, f));
      const wavs = new Set(names.filter((n) => n.endsWith('.wav')));
      for (const n of names) {
        if (!n.endsWith('.json') || messageNumber(n) < 0) continue;
        const name = n.slice(0, -5);
        if (!wavs.has(`${name}.wav`)) continue; // half-removed: not a message any more
        const envelope = await this.readEnvelope(join(dir, f, n));
        if (envelope === undefined) continue;
        out.push({ ...envelope, folder: f, name, wavPath: join(dir, f, `${name}.wav`) });
      }
    }
    return out.sort((a, b) => messageNumber(a.name + '.wav') - messageNumber(b.name + '.wav'));
  }

  /** New (INBOX) and saved (Old) message counts. */
  async counts(tenant: TenantRef, box: string): Promise<{ new: number; old: number }> {
    const [inbox, old] = await Promise.all([this.list(tenant, box, 'INBOX'), this.list(tenant, box, 'Old')]);
    return { new: inbox.length, old: old.length };
  }

  /** Moves a message to another folder (9: save → Old); resolves with it as it now is. */
  async move(msg: VoicemailMessage, folder: VoicemailFolder): Promise<VoicemailMessage> {
    if (msg.folder === folder) return msg;
    const dir = this.mailboxDir(msg.tenant, msg.mailbox);
    const moved = await this.locked(msg.tenant, msg.mailbox, async () => {
      const from = join(dir, msg.folder);
      const to = join(dir, folder);
      if (!(await this.fs.exists(join(from, `${msg.name}.wav`)))) throw new VoicemailStoreError('not-found', `message ${msg.name} is no longer in ${msg.folder}`);
      await this.fs.mkdir(to);
      const { name: _n, wavPath: _w, ...envelope } = msg;
      const updated: VoicemailEnvelope = { ...envelope, folder };
      // WAV first: an interrupted move leaves the envelope behind, which recover() carries over.
      await this.fs.rename(join(from, `${msg.name}.wav`), join(to, `${msg.name}.wav`));
      const tmp = join(dir, 'tmp', `${this.unique()}.move.json`);
      await this.fs.mkdir(join(dir, 'tmp'));
      await this.writeDurably(tmp, JSON.stringify(updated) + '\n');
      await this.fs.rename(tmp, join(to, `${msg.name}.json`));
      await this.fs.unlink(join(from, `${msg.name}.json`));
      await this.syncDir(to);
      await this.syncDir(from);
      return { ...updated, name: msg.name, wavPath: join(to, `${msg.name}.wav`) };
    });
    this.emit('changed', msg.tenant, msg.mailbox);
    return moved;
  }

  /** Deletes a message for good (the WAV first: a message without its WAV is not listed). */
  async remove(msg: VoicemailMessage): Promise<void> {
    const dir = join(this.mailboxDir(msg.tenant, msg.mailbox), msg.folder);
    await this.locked(msg.tenant, msg.mailbox, async () => {
      await this.fs.unlink(join(dir, `${msg.name}.wav`));
      await this.fs.unlink(join(dir, `${msg.name}.json`));
      await this.syncDir(dir);
    });
    this.emit('changed', msg.tenant, msg.mailbox);
  }

  /** Every mailbox folder present on disk, as tenant domain and box. */
  async mailboxes(): Promise<{ tenant: string; box: string }[]> {
    const out: { tenant: string; box: string }[] = [];
    for (const tenant of await this.fs.readdir(this.root)) {
      if (!SAFE_SEGMENT.test(tenant)) continue;
      for (const box of await this.fs.readdir(join(this.root, tenant))) if (SAFE_SEGMENT.test(box)) out.push({ tenant, box });
    }
    return out;
  }

  /**
   * Finishes what a crash interrupted, in every mailbox (see the file comment). Run it at
   * start-up, before any call can record.
   */
  async recover(): Promise<RecoveryReport> {
    const report: RecoveryReport = { committed: [], deleted: 0, repaired: 0 };
    for (const { tenant, box } of await this.mailboxes()) {
      const changed = await this.locked(tenant, box, () => this.recoverMailbox(tenant, box, report));
      if (changed) this.emit('changed', tenant, box);
    }
    return report;
  }

  // ------------------------------------------------------------------ internals

  private async recoverMailbox(tenant: string, box: string, report: RecoveryReport): Promise<boolean> {
    const dir = this.mailboxDir(tenant, box);
    const tmpDir = join(dir, 'tmp');
    const before = report.committed.length + report.deleted + report.repaired;
    const tmpNames = await this.fs.readdir(tmpDir);
    const tmpSet = new Set(tmpNames);
    // Envelopes written by a commit whose WAV was already renamed into INBOX (at most one: commits are serialized).
    const stranded: string[] = [];
    for (const n of tmpNames) {
      if (!n.endsWith('.json') || n.endsWith('.meta.json') || n.endsWith('.move.json')) continue;
      const unique = n.slice(0, -5);
      if (!tmpSet.has(`${unique}.wav`) && !this.active.has(unique)) stranded.push(unique);
    }
    // Folders: WAVs without envelopes and envelopes without WAVs.
    const listing = new Map<VoicemailFolder, Set<string>>();
    for (const f of FOLDERS) listing.set(f, new Set(await this.fs.readdir(join(dir, f))));
    for (const f of FOLDERS) {
      const names = listing.get(f)!;
      const other = listing.get(f === 'INBOX' ? 'Old' : 'INBOX')!;
      for (const n of [...names]) {
        if (!n.endsWith('.wav') || messageNumber(n) < 0) continue;
        const name = n.slice(0, -4);
        if (names.has(`${name}.json`)) continue;
        let envelope: VoicemailEnvelope | undefined;
        if (other.has(`${name}.json`) && !other.has(n)) {
          // An interrupted move: the envelope is still in the other folder.
          envelope = await this.readEnvelope(join(dir, f === 'INBOX' ? 'Old' : 'INBOX', `${name}.json`));
        } else if (f === 'INBOX' && stranded.length === 1) {
          envelope = await this.readEnvelope(join(tmpDir, `${stranded[0]}.json`));
        }
        const bytes = await this.fs.readFile(join(dir, f, n));
        envelope ??= {
          id: this.unique(),
          callerId: '',
          callerName: '',
          tenant,
          mailbox: box,
          time: this.now().toISOString(),
          durationMs: wavDurationMs(bytes),
          folder: f,
          reason: 'unavailable',
          partial: true,
        };
        await this.placeEnvelope(dir, f, name, { ...envelope, folder: f });
        names.add(`${name}.json`);
        report.repaired++;
      }
    }
    for (const f of FOLDERS) {
      const names = listing.get(f)!;
      for (const n of names) {
        if (!n.endsWith('.json') || messageNumber(n) < 0) continue;
        if (names.has(`${n.slice(0, -5)}.wav`)) continue;
        await this.fs.unlink(join(dir, f, n)); // a removal or a move that got half-way
        report.repaired++;
      }
    }
    // Recordings left in tmp/.
    for (const n of tmpNames) {
      if (!n.endsWith('.wav')) continue;
      const unique = n.slice(0, -4);
      if (this.active.has(unique)) continue; // being recorded now
      const wavPath = join(tmpDir, n);
      const durationMs = wavDurationMs(await this.fs.readFile(wavPath));
      const envelope = (await this.readEnvelope(join(tmpDir, `${unique}.json`))) ?? (await this.readEnvelope(join(tmpDir, `${unique}.meta.json`)));
      if (durationMs < MIN_MESSAGE_MS || envelope === undefined) {
        await this.fs.unlink(wavPath);
        report.deleted++;
      } else {
        const finished = tmpSet.has(`${unique}.json`); // the commit had written its envelope
        const final: VoicemailEnvelope = finished ? envelope : { ...envelope, durationMs, partial: true };
        report.committed.push(await this.commitDraft(dir, unique, final));
      }
    }
    for (const n of await this.fs.readdir(tmpDir)) if (!this.active.has(n.split('.')[0]!)) await this.fs.unlink(join(tmpDir, n));
    return report.committed.length + report.deleted + report.repaired > before;
  }

  /** Commit steps (see the file comment); the caller holds the mailbox lock. */
  private async commitDraft(dir: string, unique: string, envelope: VoicemailEnvelope, trim = false): Promise<VoicemailMessage> {
    const tmpDir = join(dir, 'tmp');
    const wavTmp = join(tmpDir, `${unique}.wav`);
    const jsonTmp = join(tmpDir, `${unique}.json`);
    const inbox = join(dir, 'INBOX');
    await this.fs.mkdir(inbox);
    if (trim) await this.trimWav(wavTmp, envelope.durationMs);
    await this.syncFile(wavTmp);
    const name = `msg${String((await this.highestNumber(dir)) + 1).padStart(4, '0')}`;
    const final: VoicemailEnvelope = { ...envelope, folder: 'INBOX' };
    await this.writeDurably(jsonTmp, JSON.stringify(final) + '\n');
    await this.fs.rename(wavTmp, join(inbox, `${name}.wav`));
    try {
      await this.fs.rename(jsonTmp, join(inbox, `${name}.json`));
    } catch (e) {
      // Not a message without its envelope: take the WAV back out so nothing half-made is left.
      await this.fs.unlink(join(inbox, `${name}.wav`)).catch(() => undefined);
      throw e;
    }
    await this.syncDir(inbox);
    await this.syncDir(tmpDir);
    await this.fs.unlink(join(tmpDir, `${unique}.meta.json`));
    this.emit('changed', envelope.tenant, envelope.mailbox);
    return { ...final, name, wavPath: join(inbox, `${name}.wav`) };
  }

  /** Cuts a draft WAV to `durationMs` when it holds more (by a frame or more): a copy, fsynced, renamed over it. */
  private async trimWav(path: string, durationMs: number): Promise<void> {
    let wav;
    try {
      wav = readWav(await this.fs.readFile(path));
    } catch {
      return; // not readable as a WAV: stored as it is
    }
    const keep = Math.round((durationMs * wav.sampleRate) / 1000);
    if (wav.frames <= keep + wav.sampleRate / 50) return;
    const cut = `${path}.cut`;
    try {
      const fh = await this.fs.open(cut, 'w');
      try {
        await fh.write(encodeWavData(wav.data.subarray(0, keep * wav.blockAlign), { format: wav.format, sampleRate: wav.sampleRate, channels: wav.channels }));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await this.fs.rename(cut, path);
    } catch (e) {
      await this.fs.unlink(cut);
      throw e;
    }
  }

  private async placeEnvelope(dir: string, folder: VoicemailFolder, name: string, envelope: VoicemailEnvelope): Promise<void> {
    await this.fs.mkdir(join(dir, 'tmp'));
    const tmp = join(dir, 'tmp', `${this.unique()}.move.json`);
    await this.writeDurably(tmp, JSON.stringify(envelope) + '\n');
    await this.fs.rename(tmp, join(dir, folder, `${name}.json`));
    await this.syncDir(join(dir, folder));
  }

  private async highestNumber(dir: string): Promise<number> {
    let max = 0;
    for (const f of FOLDERS) for (const n of await this.fs.readdir(join(dir, f))) max = Math.max(max, messageNumber(n));
    return max;
  }

  private async readEnvelope(path: string): Promise<VoicemailEnvelope | undefined> {
    try {
      const e = JSON.parse(Buffer.from(await this.fs.readFile(path)).toString('utf8')) as Partial<VoicemailEnvelope>;
      if (typeof e.id !== 'string' || typeof e.time !== 'string' || typeof e.tenant !== 'string' || typeof e.mailbox !== 'string') return undefined;
      return {
        id: e.id,
        callerId: typeof e.callerId === 'string' ? e.callerId : '',
        callerName: typeof e.callerName === 'string' ? e.callerName : '',
        tenant: e.tenant,
        mailbox: e.mailbox,
        time: e.time,
        durationMs: typeof e.durationMs === 'number' ? e.durationMs : 0,
        folder: e.folder === 'Old' ? 'Old' : 'INBOX',
        reason: e.reason === 'busy' ? 'busy' : 'unavailable',
        ...(e.partial === true ? { partial: true } : {}),
      };
    } catch {
      return undefined;
    }
  }

  private async writeDurably(path: string, text: string): Promise<void> {
    const fh = await this.fs.open(path, 'w');
    try {
      await fh.write(Buffer.from(text, 'utf8'));
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  private async syncFile(path: string): Promise<void> {
    const fh = await this.fs.open(path, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /** fsync a folder so the renames in it survive a power loss (ignored where folders cannot be opened). */
  private async syncDir(path: string): Promise<void> {
    let fh: VoicemailFileHandle;
    try {
      fh = await this.fs.open(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EISDIR' || code === 'EPERM' || code === 'EACCES') return;
      throw e;
    }
    try {
      await fh.sync();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EINVAL' && code !== 'EBADF') throw e;
    } finally {
      await fh.close();
    }
  }

  private unique(): string {
    return Buffer.from(this.random(12)).toString('hex');
  }

  private async locked<T>(tenant: string, box: string, fn: () => Promise<T>): Promise<T> {
    const key = `${box}@${tenant.toLowerCase()}`;
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return run;
  }
}
