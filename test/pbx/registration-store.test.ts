import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RegistrationStore, RegistrationStoreError } from '../../src/pbx/registration-store.js';
import { LocationService, ManualClock, parseNameAddr } from '../../src/sip/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-regstore-'));
  dirs.push(dir);
  return join(dir, 'data', 'registrations.json');
}

/** A wall clock that tests move by hand. */
function wall(start: number) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

const WALL = Date.UTC(2026, 10, 22, 6, 0, 0);

function populated(clock: ManualClock): LocationService {
  const location = new LocationService({ clock });
  location.apply('sip:1001@demo.local', [
    {
      contact: parseNameAddr('<sip:1001@10.0.0.2:5060;transport=udp>;+sip.instance="<urn:uuid:1>";reg-id=1'),
      expires: 600,
      q: 0.8,
      callId: 'call-a',
      cseq: 12,
      path: ['<sip:edge.example;lr>'],
      source: { protocol: 'udp', address: '203.0.113.5', port: 40000 },
    },
  ]);
  location.apply('sip:1002@demo.local', [{ contact: parseNameAddr('<sip:1002@10.0.0.3;transport=tcp>'), expires: 60, callId: 'call-b', cseq: 3, source: { protocol: 'tcp', address: '10.0.0.3', port: 50000 }, connectionId: 'c1' }]);
  return location;
}

describe('RegistrationStore', () => {
  it('saves every binding with wall-clock times and restores them after a restart, dropping expired ones', async () => {
    const file = tempFile();
    const clock = new ManualClock(123_456);
    const w = wall(WALL);
    const store = new RegistrationStore(file, populated(clock), { clock, wallClock: w });
    await store.flush();
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved.version).toBe(1);
    expect(saved.bindings[0]).toEqual({
      aor: 'sip:1001@demo.local',
      contact: '<sip:1001@10.0.0.2:5060;transport=udp>;+sip.instance="<urn:uuid:1>";reg-id=1',
      expiresAt: WALL + 600_000,
      updatedAt: WALL,
      q: 0.8,
      callId: 'call-a',
      cseq: 12,
      path: ['<sip:edge.example;lr>'],
      source: { protocol: 'udp', address: '203.0.113.5', port: 40000 },
      transport: 'udp',
    });
    expect(readdirSync(join(file, '..'))).toEqual(['registrations.json']); // no temporary file left

    // "Restart" 120 s later: a new process, its monotonic clock starting elsewhere.
    w.advance(120_000);
    const clock2 = new ManualClock(7);
    const restored = new LocationService({ clock: clock2 });
    const store2 = new RegistrationStore(file, restored, { clock: clock2, wallClock: w });
    expect(await store2.load()).toBe(1);
    expect(store2.lastLoad).toEqual({ restored: 1, expired: 1, overLimit: 0 });
    const [b] = restored.lookup('sip:1001@demo.local');
    expect(b).toMatchObject({ expiresAt: 7 + 480_000, updatedAt: 7 - 120_000, q: 0.8, callId: 'call-a', cseq: 12, path: ['<sip:edge.example;lr>'], instanceId: '<urn:uuid:1>', regId: 1 });
    expect(b!.source).toEqual({ protocol: 'udp', address: '203.0.113.5', port: 40000 });
    expect(restored.lookup('sip:1002@demo.local')).toEqual([]);
  });

  it('a TCP binding comes back without its connection id (connections do not survive a restart)', async () => {
    const file = tempFile();
    const clock = new ManualClock();
    const store = new RegistrationStore(file, populated(clock), { clock, wallClock: wall(WALL) });
    await store.flush();
    const restored = new LocationService({ clock });
    await new RegistrationStore(file, restored, { clock, wallClock: wall(WALL) }).load();
    const [b] = restored.lookup('sip:1002@demo.local');
    expect(b!.source).toEqual({ protocol: 'tcp', address: '10.0.0.3', port: 50000 });
    expect(b!.connectionId).toBeUndefined();
  });

  it('debounces changes: one write about 1 s after the first change', async () => {
    const file = tempFile();
    const clock = new ManualClock();
    const location = populated(clock);
    const store = new RegistrationStore(file, location, { clock, wallClock: wall(WALL) });
    store.changed();
    store.changed();
    clock.advance(999);
    expect(existsSync(file)).toBe(false);
    clock.advance(1);
    await store.close(); // waits for the write under way, writes the final state
    expect(JSON.parse(readFileSync(file, 'utf8')).bindings).toHaveLength(2);
    location.removeAll('sip:1001@demo.local');
    store.changed(); // closed: ignored
    expect(clock.pending).toBe(0);
  });

  it('no file: nothing to restore', async () => {
    const clock = new ManualClock();
    expect(await new RegistrationStore(tempFile(), new LocationService({ clock }), { clock }).load()).toBe(0);
  });

  it.each([
    ['truncated', (good: string) => good.slice(0, Math.floor(good.length / 2))],
    ['garbage', () => '\u0000\u0001 not json'],
    ['wrong shape', () => '{"version":2,"bindings":[]}'],
    ['a bad record', (good: string) => good.replace('"callId": "call-a"', '"callId": 5')],
    ['a bad contact', (good: string) => good.replace('<sip:1001@10.0.0.2:5060;transport=udp>', '<mailto:x@y>')],
  ])('a %s file: RegistrationStoreError, nothing restored, the file kept aside', async (_name, spoil) => {
    const file = tempFile();
    const clock = new ManualClock();
    await new RegistrationStore(file, populated(clock), { clock, wallClock: wall(WALL) }).flush();
    writeFileSync(file, spoil(readFileSync(file, 'utf8')));
    const location = new LocationService({ clock });
    const store = new RegistrationStore(file, location, { clock, wallClock: wall(WALL) });
    const error = await store.load().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RegistrationStoreError);
    expect((error as RegistrationStoreError).file).toBe(file);
    expect((error as Error).message).toMatch(/corrupt/);
    expect(location.size).toBe(0);
    expect(existsSync(`${file}.corrupt`)).toBe(true);
    expect(existsSync(file)).toBe(false);
  });

  it('restoring is bounded by the location service limits', async () => {
    const file = tempFile();
    const clock = new ManualClock();
    await new RegistrationStore(file, populated(clock), { clock, wallClock: wall(WALL) }).flush();
    const small = new LocationService({ clock, maxAors: 1 });
    const store = new RegistrationStore(file, small, { clock, wallClock: wall(WALL) });
    expect(await store.load()).toBe(1);
    expect(store.lastLoad).toEqual({ restored: 1, expired: 0, overLimit: 1 });
  });

  it('a failed background write goes to onError as a RegistrationStoreError; flush() rejects with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-regstore-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'plain-file'), 'x');
    const file = join(dir, 'plain-file', 'registrations.json'); // its directory is a file
    const clock = new ManualClock();
    const errors: RegistrationStoreError[] = [];
    const store = new RegistrationStore(file, populated(clock), { clock, onError: (e) => errors.push(e) });
    await expect(store.flush()).rejects.toBeInstanceOf(RegistrationStoreError);
    store.changed();
    clock.advance(1000);
    await new Promise((r) => setTimeout(r, 50));
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/cannot save/);
  });
});
