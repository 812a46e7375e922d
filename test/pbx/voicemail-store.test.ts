/**
 * VoicemailStore on a real temporary folder: the commit's order of durable steps (through a
 * logging fs layer), list/counts/move/remove, short messages dropped, maxMessages, PINs and
 * greetings, recover() after crashes at each step (a recording cut mid-way plays and is kept as
 * partial), and a full disk (ENOSPC injected at a chosen step) that leaves earlier messages as
 * they were.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WavStreamWriter, encodeWav, readWav } from '../../src/codecs/index.js';
import {
  MIN_MESSAGE_MS,
  VoicemailStore,
  VoicemailStoreError,
  nodeVoicemailFs,
  wavDurationMs,
  type VoicemailFs,
} from '../../src/pbx/features/voicemail-store.js';

const base = mkdtempSync(join(tmpdir(), 'switchboard-vm-store-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
function freshRoot(): string {
  return join(base, `root${n++}`);
}

/** `ms` of a 440 Hz tone as a µ-law WAV. */
function toneWav(ms: number, freq = 440): Uint8Array {
  const pcm = new Int16Array(Math.round(ms * 8));
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * freq * i) / 8000));
  return encodeWav(pcm, { format: 'mulaw', sampleRate: 8000 });
}

const fields = { callerId: '1002', callerName: 'Bob Baker', reason: 'unavailable' as const, time: new Date('2026-11-22T06:30:00Z') };

async function leave(store: VoicemailStore, ms: number, box = '1001', freq = 440) {
  const draft = await store.beginMessage('demo.local', box, { ...fields }, { maxMessages: 100 });
  writeFileSync(draft.wavPath, toneWav(ms, freq));
  return (await draft.commit(ms))!;
}

function enospc(): Error {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
}

/** The real file system with a log of the steps and a switch that makes writes fail. */
function loggingFs(root: string) {
  const log: string[] = [];
  const state = { full: false, failRenameTo: undefined as RegExp | undefined };
  const rel = (p: string): string => p.slice(root.length + 1);
  const fs: VoicemailFs = {
    ...nodeVoicemailFs,
    open: async (path, flags) => {
      if (flags === 'w' && state.full) throw enospc();
      const fh = await nodeVoicemailFs.open(path, flags);
      return {
        write: async (data) => {
          if (state.full) throw enospc();
          log.push(`write ${rel(path)}`);
          return fh.write(data);
        },
        sync: async () => {
          log.push(`sync ${rel(path)}`);
          await fh.sync();
        },
        close: () => fh.close(),
      };
    },
    rename: async (from, to) => {
      if (state.failRenameTo?.test(to)) throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
      log.push(`rename ${rel(from)} -> ${rel(to)}`);
      await nodeVoicemailFs.rename(from, to);
    },
  };
  return { fs, log, state };
}

describe('VoicemailStore', () => {
  it('commits atomically: WAV fsynced, envelope written and fsynced, both renamed, folder fsynced', async () => {
    const root = freshRoot();
    const { fs, log } = loggingFs(root);
    const store = new VoicemailStore(root, { fs });
    const draft = await store.beginMessage('demo.local', '1001', fields);
    expect(draft.wavPath.startsWith(join(root, 'demo.local', '1001', 'tmp'))).toBe(true);
    writeFileSync(draft.wavPath, toneWav(1500));
    log.length = 0;
    const msg = (await draft.commit(1500))!;
    expect(msg.name).toBe('msg0001');
    const u = draft.wavPath.slice(draft.wavPath.lastIndexOf('/') + 1, -4);
    const box = 'demo.local/1001';
    expect(log).toEqual([
      `sync ${box}/tmp/${u}.wav`,
      `write ${box}/tmp/${u}.json`,
      `sync ${box}/tmp/${u}.json`,
      `rename ${box}/tmp/${u}.wav -> ${box}/INBOX/msg0001.wav`,
      `rename ${box}/tmp/${u}.json -> ${box}/INBOX/msg0001.json`,
      `sync ${box}/INBOX`,
      `sync ${box}/tmp`,
    ]);
    expect(readdirSync(join(root, box, 'tmp'))).toEqual([]);
    const envelope = JSON.parse(readFileSync(join(root, box, 'INBOX', 'msg0001.json'), 'utf8'));
    expect(envelope).toEqual({
      id: u,
      callerId: '1002',
      callerName: 'Bob Baker',
      tenant: 'demo.local',
      mailbox: '1001',
      time: '2026-11-22T06:30:00.000Z',
      durationMs: 1500,
      folder: 'INBOX',
      reason: 'unavailable',
    });
    expect(wavDurationMs(readFileSync(msg.wavPath))).toBe(1500);
  });

  it('lists, counts, moves to Old and removes; numbers stay unique; changes are announced', async () => {
    const store = new VoicemailStore(freshRoot());
    const changed: string[] = [];
    store.on('changed', (t, b) => changed.push(`${b}@${t}`));
    const a = await leave(store, 1000);
    const b = await leave(store, 2000);
    const c = await leave(store, 3000);
    expect([a.name, b.name, c.name]).toEqual(['msg0001', 'msg0002', 'msg0003']);
    expect(await store.counts('demo.local', '1001')).toEqual({ new: 3, old: 0 });
    const saved = await store.move(b, 'Old');
    expect(saved.folder).toBe('Old');
    expect(JSON.parse(readFileSync(saved.wavPath.replace(/\.wav$/, '.json'), 'utf8')).folder).toBe('Old');
    expect(await store.counts('demo.local', '1001')).toEqual({ new: 2, old: 1 });
    expect((await store.list('demo.local', '1001')).map((m) => `${m.folder}/${m.name}/${m.durationMs}`)).toEqual(['INBOX/msg0001/1000', 'Old/msg0002/2000', 'INBOX/msg0003/3000']);
    await store.remove(c);
    expect((await store.list('demo.local', '1001', 'INBOX')).map((m) => m.name)).toEqual(['msg0001']);
    // The next message does not reuse a number still held in Old.
    expect((await leave(store, 1000)).name).toBe('msg0003');
    expect(changed.every((x) => x === '1001@demo.local')).toBe(true);
    expect(changed.length).toBe(6);
    // Another box of another tenant is separate.
    expect(await store.counts({ domain: 'other.example' }, '1001')).toEqual({ new: 0, old: 0 });
  });

  it(`drops a recording under ${MIN_MESSAGE_MS} ms and refuses a full mailbox`, async () => {
    const root = freshRoot();
    const store = new VoicemailStore(root);
    const draft = await store.beginMessage('demo.local', '1001', fields);
    writeFileSync(draft.wavPath, toneWav(300));
    expect(await draft.commit(300)).toBeUndefined();
    expect(readdirSync(join(root, 'demo.local', '1001', 'tmp'))).toEqual([]);
    await leave(store, 1000);
    await leave(store, 1000);
    const err = await store.beginMessage('demo.local', '1001', fields, { maxMessages: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VoicemailStoreError);
    expect((err as VoicemailStoreError).code).toBe('full');
    expect(await store.counts('demo.local', '1001')).toEqual({ new: 2, old: 0 });
  });

  it('cuts a recording to the duration committed (the silence that ended it)', async () => {
    const store = new VoicemailStore(freshRoot());
    const draft = await store.beginMessage('demo.local', '1001', fields);
    writeFileSync(draft.wavPath, toneWav(6000));
    const msg = (await draft.commit(1300))!;
    expect(msg.durationMs).toBe(1300);
    const wav = readWav(readFileSync(msg.wavPath));
    expect([wav.format, wav.frames]).toEqual(['mulaw', 10_400]);
    expect(Buffer.from(wav.data)).toEqual(Buffer.from(readWav(toneWav(6000)).data.subarray(0, 10_400)));
  });

  it('keeps PINs and greetings durably; refuses path tricks', async () => {
    const store = new VoicemailStore(freshRoot());
    expect(await store.pin('demo.local', '1001')).toBeUndefined();
    await store.setPin('demo.local', '1001', '9876');
    expect(await store.pin('demo.local', '1001')).toBe('9876');
    await expect(store.setPin('demo.local', '1001', '12')).rejects.toThrow(VoicemailStoreError);
    expect(await store.greeting('demo.local', '1001', 'busy')).toBeUndefined();
    const g = await store.beginGreeting('demo.local', '1001', 'busy');
    writeFileSync(g.wavPath, toneWav(800));
    await g.commit();
    expect(await store.greeting('demo.local', '1001', 'busy')).toBe(store.greetingPath('demo.local', '1001', 'busy'));
    expect(() => store.mailboxDir('demo.local', '..')).toThrow(VoicemailStoreError);
    expect(() => store.mailboxDir('demo.local', '../1002')).toThrow(VoicemailStoreError);
    expect(() => store.mailboxDir('a/b', '1001')).toThrow(VoicemailStoreError);
  });

  it('recover(): a recording cut by a crash is committed as partial and plays; empty ones go', async () => {
    const root = freshRoot();
    const before = new VoicemailStore(root);
    await leave(before, 1000);
    // Crash 1: mid-recording. The WAV is written by WavStreamWriter (as Call.record does): its header is current.
    const d1 = await before.beginMessage('demo.local', '1001', { ...fields, callerId: '1003', callerName: 'Carol' });
    const chunks: { data: Uint8Array; position: number }[] = [];
    const writer = new WavStreamWriter({ write: async (data, position) => void chunks.push({ data: data.slice(), position }) }, { format: 'mulaw', sampleRate: 8000 });
    for (let i = 0; i < 100; i++) writer.write(new Int16Array(160).fill(i % 2 ? 3000 : -3000)); // 2 s
    await writer.flush();
    const file = new Uint8Array(Math.max(...chunks.map((c) => c.position + c.data.length)));
    for (const c of chunks) file.set(c.data, c.position);
    writeFileSync(d1.wavPath, file);
    // Crash 2: the caller hung up at once: a header and nothing else.
    const d2 = await before.beginMessage('demo.local', '1001', fields);
    writeFileSync(d2.wavPath, encodeWav(new Int16Array(0), { format: 'mulaw', sampleRate: 8000 }));
    // Crash 3: a draft with no WAV at all (only its envelope fields).
    await before.beginMessage('demo.local', '1002', fields);

    const after = new VoicemailStore(root); // a new process
    const report = await after.recover();
    expect(report.committed.map((m) => [m.name, m.callerId, m.partial, m.durationMs])).toEqual([['msg0002', '1003', true, 2000]]);
    expect(report.deleted).toBe(1);
    const list = await after.list('demo.local', '1001');
    expect(list.map((m) => `${m.name}:${m.partial ?? false}`)).toEqual(['msg0001:false', 'msg0002:true']);
    expect(readWav(readFileSync(list[1]!.wavPath)).frames).toBe(16000);
    expect(readdirSync(join(root, 'demo.local', '1001', 'tmp'))).toEqual([]);
    expect(readdirSync(join(root, 'demo.local', '1002', 'tmp'))).toEqual([]);
    // Nothing more to do the second time.
    expect(await after.recover()).toEqual({ committed: [], deleted: 0, repaired: 0 });
  });

  it('recover(): finishes a commit, a move and a removal each cut between two renames', async () => {
    const root = freshRoot();
    const store = new VoicemailStore(root);
    const a = await leave(store, 1000);
    const b = await leave(store, 1000);
    const c = await leave(store, 1000);
    const box = join(root, 'demo.local', '1001');
    // Commit of msg0004 cut after the WAV rename: its envelope is still in tmp/.
    mkdirSync(join(box, 'tmp'), { recursive: true });
    writeFileSync(join(box, 'INBOX', 'msg0004.wav'), toneWav(1200));
    writeFileSync(join(box, 'tmp', 'abc.json'), JSON.stringify({ id: 'abc', callerId: '1005', callerName: 'Erin', tenant: 'demo.local', mailbox: '1001', time: fields.time.toISOString(), durationMs: 1200, folder: 'INBOX', reason: 'busy' }));
    writeFileSync(join(box, 'tmp', 'abc.meta.json'), '{}');
    // Move of msg0002 to Old cut after the WAV rename.
    rmSync(join(box, 'Old'), { recursive: true, force: true });
    mkdirSync(join(box, 'Old'));
    writeFileSync(join(box, 'Old', 'msg0002.wav'), readFileSync(b.wavPath));
    rmSync(b.wavPath);
    // Removal of msg0003 cut after the WAV went.
    rmSync(c.wavPath);
    const report = await new VoicemailStore(root).recover();
    expect(report.repaired).toBe(4); // the envelope given, the move finished (two steps), the removal finished
    const list = await store.list('demo.local', '1001');
    expect(list.map((m) => `${m.folder}/${m.name}/${m.callerId}/${m.reason}`)).toEqual(['INBOX/msg0001/1002/unavailable', 'Old/msg0002/1002/unavailable', 'INBOX/msg0004/1005/busy']);
    expect(existsSync(join(box, 'INBOX', 'msg0003.json'))).toBe(false);
    expect(existsSync(join(box, 'INBOX', 'msg0002.json'))).toBe(false);
    expect(a.name).toBe('msg0001');
  });

  it('recover() leaves alone a message being recorded by this process', async () => {
    const root = freshRoot();
    const store = new VoicemailStore(root);
    const draft = await store.beginMessage('demo.local', '1001', fields);
    writeFileSync(draft.wavPath, toneWav(1000));
    expect(await store.recover()).toEqual({ committed: [], deleted: 0, repaired: 0 });
    expect((await draft.commit(1000))?.name).toBe('msg0001');
  });

  it('a full disk (ENOSPC) while a message is stored leaves the earlier messages intact', async () => {
    const root = freshRoot();
    const { fs, state } = loggingFs(root);
    const store = new VoicemailStore(root, { fs });
    const first = await leave(store, 1000, '1001', 440);
    const second = await leave(store, 1500, '1001', 880);
    const bytes = [readFileSync(first.wavPath), readFileSync(second.wavPath), readFileSync(first.wavPath.replace('.wav', '.json'))];
    // The recording gets some audio on disk, then the disk fills up: the envelope cannot be written.
    const draft = await store.beginMessage('demo.local', '1001', fields);
    writeFileSync(draft.wavPath, toneWav(2000));
    state.full = true;
    const err = await draft.commit(2000).catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    state.full = false;
    const list = await store.list('demo.local', '1001');
    expect(list.map((m) => m.name)).toEqual(['msg0001', 'msg0002']);
    expect([readFileSync(first.wavPath), readFileSync(second.wavPath), readFileSync(first.wavPath.replace('.wav', '.json'))]).toEqual(bytes);
    expect(readdirSync(join(root, 'demo.local', '1001', 'tmp'))).toEqual([]);
    // A full disk at the very start: no draft at all, nothing left behind.
    state.full = true;
    await expect(store.beginMessage('demo.local', '1001', fields)).rejects.toMatchObject({ code: 'ENOSPC' });
    state.full = false;
    expect(readdirSync(join(root, 'demo.local', '1001', 'tmp'))).toEqual([]);
    // A failure after the WAV was already in INBOX takes it back out.
    const d3 = await store.beginMessage('demo.local', '1001', fields);
    writeFileSync(d3.wavPath, toneWav(1000));
    state.failRenameTo = /INBOX\/msg0003\.json$/;
    await expect(d3.commit(1000)).rejects.toMatchObject({ code: 'EIO' });
    state.failRenameTo = undefined;
    expect(readdirSync(join(root, 'demo.local', '1001', 'INBOX')).sort()).toEqual(['msg0001.json', 'msg0001.wav', 'msg0002.json', 'msg0002.wav']);
    expect((await leave(store, 1000)).name).toBe('msg0003');
  });
});
