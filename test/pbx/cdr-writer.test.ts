/**
 * The CDR writer: JSON Lines on a real file in a temp dir (directory creation, torn last
 * lines, rotation), and over a fake file for batching, disk errors and queue overflow.
 */
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CdrOverflowError, CdrWriter, readCdrs, type CallDetailRecord, type CdrFile } from '../../src/pbx/cdr-writer.js';

let seq = 0;
function record(extra: Partial<CallDetailRecord> = {}): CallDetailRecord {
  const n = ++seq;
  return {
    id: `call-${n}@192.0.2.1`,
    tenant: 'demo.local',
    from: '201',
    fromName: 'Alice Émile',
    to: '202',
    direction: 'internal',
    start: '2026-11-22T06:00:00.000Z',
    answer: '2026-11-22T06:00:03.250Z',
    end: '2026-11-22T06:01:03.250Z',
    disposition: 'answered',
    duration: 63.25,
    billsec: 60,
    sipStatus: 200,
    hangupBy: 'caller',
    answeredBy: '202',
    ...extra,
  };
}

const errno = (code: string): Error => Object.assign(new Error(`${code}: simulated`), { code });

/** A deferred promise. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

/**
 * A file in memory. `durable` is what an fdatasync covered: what a crash would leave.
 * Failures are queued per call; `hold` blocks writes until opened.
 */
class FakeFile implements CdrFile {
  data = '';
  durable = '';
  writes: string[] = [];
  syncs = 0;
  closed = false;
  failWrites: Array<{ error: Error; partial?: number }> = [];
  failSyncs: Error[] = [];
  hold: Promise<void> | undefined;

  async write(bytes: Uint8Array): Promise<void> {
    if (this.hold !== undefined) await this.hold;
    const text = Buffer.from(bytes).toString('utf8');
    const f = this.failWrites.shift();
    if (f !== undefined) {
      this.data += text.slice(0, f.partial ?? 0);
      throw f.error;
    }
    this.writes.push(text);
    this.data += text;
  }

  async datasync(): Promise<void> {
    this.syncs++;
    const e = this.failSyncs.shift();
    if (e !== undefined) throw e;
    this.durable = this.data;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

async function fakeWriter(options: { maxQueued?: number; retryDelayMs?: number } = {}): Promise<{ cdr: CdrWriter; file: FakeFile; errors: Error[] }> {
  const file = new FakeFile();
  const errors: Error[] = [];
  const cdr = await CdrWriter.open('/fake/cdr.jsonl', { ...options, openFile: async () => file, onError: (e) => errors.push(e) });
  return { cdr, file, errors };
}

const ids = (text: string): string[] =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as CallDetailRecord).id);

describe('CdrWriter on a real file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sb-cdr-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the directory and appends one JSON object per line; readCdrs reads them back', async () => {
    const path = join(dir, 'data', 'nested', 'cdr.jsonl');
    const cdr = await CdrWriter.open(path);
    const a = record();
    const b = record({ answer: null, disposition: 'busy', billsec: 0, sipStatus: 486, answeredBy: undefined, trunk: 'carrier', direction: 'outbound' });
    cdr.write(a);
    cdr.write(b);
    await cdr.flush();
    expect(cdr.written).toBe(2);
    expect(cdr.dropped).toBe(0);
    const text = readFileSync(path, 'utf8');
    expect(text.split('\n')).toHaveLength(3);
    expect(text.endsWith('\n')).toBe(true);
    expect(JSON.parse(text.split('\n')[0]!)).toEqual(a);
    expect(await readCdrs(path)).toEqual([a, JSON.parse(JSON.stringify(b))]);
    expect(statSync(path).mode & 0o777).toBe(0o640);
    await cdr.close();
    // Appending again after a restart keeps what was there.
    const again = await CdrWriter.open(path);
    const c = record();
    again.write(c);
    await again.close();
    expect((await readCdrs(path)).map((r) => r.id)).toEqual([a.id, b.id, c.id]);
  });

  it('serializes at write(): later changes to the object are not recorded; newlines in fields stay escaped', async () => {
    const path = join(dir, 'cdr.jsonl');
    const cdr = await CdrWriter.open(path);
    const r = record({ fromName: 'Mallory\n{"id":"forged"}' });
    cdr.write(r);
    r.to = 'changed';
    await cdr.close();
    const got = await readCdrs(path);
    expect(got).toHaveLength(1);
    expect(got[0]!.to).toBe('202');
    expect(got[0]!.fromName).toBe('Mallory\n{"id":"forged"}');
  });

  it('after a crash tore the last line: readCdrs skips it, and open starts the next record on a fresh line', async () => {
    const path = join(dir, 'cdr.jsonl');
    const a = record();
    writeFileSync(path, `${JSON.stringify(a)}\n{"id":"torn","tenant":"demo.lo`);
    expect(await readCdrs(path)).toEqual([a]);
    const cdr = await CdrWriter.open(path);
    expect(readFileSync(path, 'utf8').endsWith('demo.lo\n')).toBe(true);
    const b = record();
    cdr.write(b);
    await cdr.close();
    const invalid: number[] = [];
    expect(await readCdrs(path, { onInvalid: (n) => invalid.push(n) })).toEqual([a, b]);
    expect(invalid).toEqual([2]);
  });

  it('readCdrs keeps a complete last record that lost only its newline, skips blank lines, and reads a missing file as empty', async () => {
    const path = join(dir, 'cdr.jsonl');
    const a = record();
    const b = record();
    writeFileSync(path, `\n${JSON.stringify(a)}\n\n${JSON.stringify(b)}`);
    expect(await readCdrs(path)).toEqual([a, b]);
    writeFileSync(path, `${JSON.stringify(a)}\n[1,2]\n"x"\n{"no":"id"}\n`);
    const invalid: string[] = [];
    expect(await readCdrs(path, { onInvalid: (_, t) => invalid.push(t) })).toEqual([a]);
    expect(invalid).toEqual(['[1,2]', '"x"', '{"no":"id"}']);
    expect(await readCdrs(join(dir, 'none.jsonl'))).toEqual([]);
  });

  it('reopen() after a rename (logrotate): new records go to a new file at the path', async () => {
    const path = join(dir, 'cdr.jsonl');
    const cdr = await CdrWriter.open(path);
    const a = record();
    cdr.write(a);
    await cdr.flush();
    renameSync(path, `${path}.1`);
    const b = record();
    cdr.write(b); // may land in either file, but in exactly one
    await cdr.reopen();
    const c = record();
    cdr.write(c);
    await cdr.close();
    const old = (await readCdrs(`${path}.1`)).map((r) => r.id);
    const now = (await readCdrs(path)).map((r) => r.id);
    expect(old[0]).toBe(a.id);
    expect(now[now.length - 1]).toBe(c.id);
    expect([...old, ...now]).toEqual([a.id, b.id, c.id]);
    expect(cdr.written).toBe(3);
  });

  it('many records written in a burst are all on disk after flush, in order', async () => {
    const path = join(dir, 'cdr.jsonl');
    const cdr = await CdrWriter.open(path);
    const all = Array.from({ length: 2000 }, () => record());
    for (const r of all) cdr.write(r);
    await cdr.flush();
    expect(cdr.written).toBe(2000);
    expect((await readCdrs(path)).map((r) => r.id)).toEqual(all.map((r) => r.id));
    await cdr.close();
  });

  it('open() rejects when the file cannot be created', async () => {
    writeFileSync(join(dir, 'file'), 'x');
    await expect(CdrWriter.open(join(dir, 'file', 'cdr.jsonl'))).rejects.toThrow();
  });
});

describe('CdrWriter batching and failures (fake file)', () => {
  it('group commit: one write() and one fdatasync per batch; records arriving while a batch syncs form the next', async () => {
    const { cdr, file } = await fakeWriter();
    const g = gate();
    file.hold = g.promise;
    cdr.write(record()); // starts batch 1
    for (let i = 0; i < 99; i++) cdr.write(record());
    expect(cdr.queued).toBe(100);
    file.hold = undefined;
    g.open();
    await cdr.flush();
    expect(file.writes.map((w) => ids(w).length)).toEqual([1, 99]);
    expect(file.syncs).toBe(2);
    expect(cdr.written).toBe(100);
    expect(cdr.queued).toBe(0);
  });

  it('a flushed record is durable: what flush() resolved for is inside what the last fdatasync covered', async () => {
    const { cdr, file } = await fakeWriter();
    const flushed: string[] = [];
    for (let round = 0; round < 5; round++) {
      const batch = Array.from({ length: round + 1 }, () => record());
      for (const r of batch) cdr.write(r);
      await cdr.flush();
      flushed.push(...batch.map((r) => r.id));
      // A crash now would leave `durable`: every flushed record must be in it.
      expect(ids(file.durable)).toEqual(flushed);
    }
  });

  it('ENOSPC: write() does not throw, onError is told, the records stay queued and a flush retries them on a fresh line', async () => {
    const { cdr, file, errors } = await fakeWriter({ retryDelayMs: 60_000 });
    file.failWrites.push({ error: errno('ENOSPC'), partial: 25 });
    const a = record();
    const b = record();
    expect(() => cdr.write(a)).not.toThrow();
    const firstFlush = cdr.flush();
    cdr.write(b);
    await expect(firstFlush).rejects.toThrow('ENOSPC');
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['ENOSPC']);
    expect(cdr.written).toBe(0);
    expect(cdr.queued).toBe(2);
    // No automatic retry before retryDelayMs, even on new writes.
    const c = record();
    cdr.write(c);
    await new Promise((r) => setTimeout(r, 20));
    expect(file.writes).toHaveLength(0);
    await cdr.flush();
    expect(cdr.written).toBe(3);
    // The torn 25 bytes end with the newline the retry starts with; the records follow whole.
    expect(file.data.split('\n')[0]).toHaveLength(25);
    expect(file.writes[0]!.startsWith('\n')).toBe(true);
    expect(ids(file.data.split('\n').slice(1).join('\n'))).toEqual([a.id, b.id, c.id]);
  });

  it('EIO on fdatasync: the batch is written again (at least once: same ids may repeat, none is lost)', async () => {
    const { cdr, file, errors } = await fakeWriter({ retryDelayMs: 5 });
    file.failSyncs.push(errno('EIO'));
    const a = record();
    cdr.write(a);
    // The retry timer brings it to disk without a flush.
    const deadline = Date.now() + 2000;
    while (cdr.written === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(cdr.written).toBe(1);
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['EIO']);
    expect(ids(file.durable)).toEqual([a.id, a.id]);
    await cdr.close();
  });

  it('a full queue drops the oldest waiting record, counts it, and tells onError once per overflow episode', async () => {
    const { cdr, file, errors } = await fakeWriter({ maxQueued: 3 });
    let g = gate();
    file.hold = g.promise;
    const rs = Array.from({ length: 6 }, () => record());
    for (const r of rs) cdr.write(r); // r0 in flight; r1..r5 wait with room for 3: r1, r2 dropped
    expect(cdr.dropped).toBe(2);
    expect(cdr.queued).toBe(4);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(CdrOverflowError);
    file.hold = undefined;
    g.open();
    await cdr.flush();
    expect(ids(file.data)).toEqual([rs[0]!.id, rs[3]!.id, rs[4]!.id, rs[5]!.id]);
    expect(cdr.written).toBe(4);
    // A second episode is reported again.
    g = gate();
    file.hold = g.promise;
    for (let i = 0; i < 5; i++) cdr.write(record());
    expect(errors).toHaveLength(2);
    expect(cdr.dropped).toBe(3);
    file.hold = undefined;
    g.open();
    await cdr.flush();
    expect(cdr.written).toBe(8);
  });

  it('while the disk fails, the queue stays bounded by maxQueued (oldest dropped)', async () => {
    const { cdr, file, errors } = await fakeWriter({ maxQueued: 4, retryDelayMs: 60_000 });
    file.failWrites.push({ error: errno('ENOSPC') });
    const rs = Array.from({ length: 10 }, () => record());
    const g = gate();
    file.hold = g.promise;
    cdr.write(rs[0]!);
    for (const r of rs.slice(1)) cdr.write(r);
    file.hold = undefined;
    const f = cdr.flush();
    g.open();
    await expect(f).rejects.toThrow('ENOSPC');
    expect(cdr.queued).toBe(4);
    expect(cdr.dropped).toBe(6);
    expect(errors.filter((e) => e instanceof CdrOverflowError)).toHaveLength(1);
    await cdr.flush();
    expect(ids(file.data)).toEqual(rs.slice(6).map((r) => r.id));
  });

  it('close() flushes, closes the file, and counts later writes as dropped', async () => {
    const { cdr, file } = await fakeWriter();
    cdr.write(record());
    cdr.write(record());
    await cdr.close();
    expect(file.closed).toBe(true);
    expect(cdr.written).toBe(2);
    cdr.write(record());
    expect(cdr.dropped).toBe(1);
    await cdr.close(); // idempotent
  });

  it('close() on a failing disk makes one more attempt, then resolves, reporting and counting the lost records', async () => {
    const { cdr, file, errors } = await fakeWriter({ retryDelayMs: 60_000 });
    file.failWrites.push({ error: errno('EIO') }, { error: errno('EIO') });
    cdr.write(record());
    cdr.write(record());
    await expect(cdr.close()).resolves.toBeUndefined();
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['EIO', 'EIO']);
    expect(cdr.written).toBe(0);
    expect(cdr.dropped).toBe(2);
    expect(file.closed).toBe(true);
  });

  it('a record that cannot be serialized is dropped and reported, never thrown', async () => {
    const { cdr, errors } = await fakeWriter();
    const bad = record({ extra: 1n } as unknown as Partial<CallDetailRecord>);
    expect(() => cdr.write(bad)).not.toThrow();
    expect(cdr.dropped).toBe(1);
    expect(errors[0]!.message).toContain(bad.id);
  });

  it('reopen() that cannot open the new file rejects and keeps writing to the old one; records queued during a failed spell go to the new file', async () => {
    const files = [new FakeFile(), new FakeFile()];
    let opens = 0;
    let failOpen = false;
    const cdr = await CdrWriter.open('/fake/cdr.jsonl', {
      retryDelayMs: 60_000,
      openFile: async () => {
        if (failOpen) throw errno('EACCES');
        return files[opens++]!;
      },
    });
    failOpen = true;
    await expect(cdr.reopen()).rejects.toThrow('EACCES');
    const a = record();
    cdr.write(a);
    await cdr.flush();
    expect(ids(files[0]!.data)).toEqual([a.id]);
    // The old disk fails; the records wait, then land in the new file after a rotation.
    files[0]!.failWrites.push({ error: errno('EIO'), partial: 3 });
    const b = record();
    cdr.write(b);
    await expect(cdr.flush()).rejects.toThrow('EIO');
    failOpen = false;
    await cdr.reopen();
    await cdr.flush();
    expect(files[0]!.closed).toBe(true);
    expect(files[1]!.data).toBe(`${JSON.stringify(b)}\n`);
    await cdr.close();
  });
});
