/**
 * VoicemailApp end to end between two CallAgents over loopback UDP: the "PBX" agent runs the
 * app on its incoming Call, the "phone" agent plays speech and sends RFC 4733 digits, and what
 * the phone hears is checked by cross-correlation with the prompts and messages
 * (test/helpers/audio-compare.ts). Leaving a message (greeting skipped with #, recorded until #,
 * envelope and audio stored), a hang-up during the recording, a full mailbox; the menu: wrong
 * PIN, the count announcement, 1 plays the first message, 7 deletes, 9 saves, # exits, three
 * wrong PINs hang up, *98 with the mailbox number and a PIN change that persists; the hooks.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CallAgent, promptPath, wavToPcm8k, type Call } from '../../src/call/index.js';
import { encodeWav } from '../../src/codecs/index.js';
import type { Caller, PbxCall } from '../../src/pbx/b2bua.js';
import { parseConfig, type TenantConfig } from '../../src/pbx/config/index.js';
import { VoicemailApp, voicemailHooks } from '../../src/pbx/features/voicemail-app.js';
import { VoicemailStore, wavDurationMs } from '../../src/pbx/features/voicemail-store.js';
import { TenantDirectory } from '../../src/pbx/tenant-directory.js';
import { readWavPcm, segmentedCorrelation } from '../helpers/audio-compare.js';
import { until } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'switchboard-vm-app-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const agents: CallAgent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
});

const config = parseConfig(
  JSON.stringify({
    tenants: [
      {
        domain: 'demo.local',
        name: 'Demo',
        default: true,
        extensions: [
          { number: '1001', name: 'Alice', password: 'secret-1001', voicemail: { pin: '1234', maxMessages: 5, maxMessageSeconds: 30 } },
          { number: '1002', name: 'Bob', password: 'secret-1002' },
          { number: '1003', name: 'Carol', password: 'secret-1003', voicemail: { pin: '4321', maxMessages: 1 } },
        ],
      },
    ],
  }),
  join(dir, 'pbx.json'),
);
const directory = new TenantDirectory(config);
const tenant = directory.tenant('demo.local')!;

/** The first `seconds` of a speech fixture, 8 kHz. */
function speech(name: string, seconds: number, from = 0): Int16Array {
  return readWavPcm(join(import.meta.dirname, '..', 'fixtures', 'speech', `${name}.wav`)).slice(from * 8000, (from + seconds) * 8000);
}

/** Prompts as the call plays them: one after another, each padded to whole 20 ms frames. */
function prompts(...names: string[]): Int16Array {
  const parts = names.map((n) => wavToPcm8k(readFileSync(promptPath(n))));
  const out = new Int16Array(parts.reduce((s, p) => s + Math.ceil(p.length / 160) * 160, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += Math.ceil(p.length / 160) * 160;
  }
  return out;
}

async function agent(name: string): Promise<CallAgent> {
  const a = await CallAgent.start({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }], aor: `sip:${name}@127.0.0.1`, sessionTimer: false });
  agents.push(a);
  return a;
}

/** A phone's call to the PBX agent, with everything the phone heard. */
class Phone {
  readonly heard: Int16Array[] = [];
  private samples = 0;
  constructor(readonly call: Call) {
    call.on('audio', (pcm) => {
      this.heard.push(pcm.slice());
      this.samples += pcm.length;
    });
  }
  /** A position in what was heard, to look for something after it. */
  mark(): number {
    return this.samples;
  }
  private since(mark: number): Int16Array {
    const out = new Int16Array(this.samples - mark);
    let at = 0;
    let skip = mark;
    for (const f of this.heard) {
      if (skip >= f.length) {
        skip -= f.length;
        continue;
      }
      out.set(f.subarray(skip), at);
      at += f.length - skip;
      skip = 0;
    }
    return out;
  }
  /**
   * Resolves once `reference` has been heard after `mark`, with the correlation (≥ 0.7, by
   * pieces: the phone's jitter buffer may slip a frame). `part` < 1 compares only the start of
   * it (a prompt followed by a hang-up: the last frames in the phone's jitter buffer are lost).
   */
  async hears(reference: Int16Array, mark: number, part = 1, timeoutMs = 20_000): Promise<number> {
    const start = Date.now();
    const ref = reference.subarray(0, Math.round(reference.length * part));
    for (;;) {
      const got = this.since(mark);
      if (got.length >= ref.length) {
        const { correlation } = segmentedCorrelation(ref, got, { maxLagSamples: got.length - ref.length });
        if (correlation >= 0.7) return correlation;
      }
      if (Date.now() - start > timeoutMs) throw new Error(`not heard within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function setup(store: VoicemailStore, run: (call: Call) => Promise<unknown>): Promise<{ phone: Phone; done: Promise<unknown> }> {
  const pbx = await agent('pbx');
  const handset = await agent('phone');
  let done!: Promise<unknown>;
  pbx.on('call', (call) => {
    done = run(call);
  });
  const call = await handset.call(`sip:1001@127.0.0.1:${pbx.port}`, { from: { uri: 'sip:1002@demo.local', displayName: 'Bob' } });
  const phone = new Phone(call);
  await until(() => done !== undefined, 10_000, 'the app to finish', 20);
  return { phone, done };
}

async function storeMessage(store: VoicemailStore, box: string, pcm: Int16Array, callerId: string): Promise<void> {
  const draft = await store.beginMessage('demo.local', box, { callerId, callerName: 'Test', reason: 'unavailable', time: new Date() });
  writeFileSync(draft.wavPath, encodeWav(pcm, { format: 'mulaw', sampleRate: 8000 }));
  await draft.commit((pcm.length / 8000) * 1000);
}

const ownCaller = (ext = '1001'): Caller => ({ tenant, number: ext, name: 'Alice', extension: directory.extension(tenant, ext)!, kind: 'device' });

describe('VoicemailApp', () => {
  it('leaves a message: other keys do not stop the greeting, # skips it, beep, speech recorded until #, envelope and audio stored', async () => {
    const store = new VoicemailStore(join(dir, 'leave'));
    const app = new VoicemailApp({ store, directory: () => directory });
    const changed: string[] = [];
    store.on('changed', (t, b) => changed.push(`${b}@${t}`));
    const { phone, done } = await setup(store, (call) => app.leaveMessage(call, tenant, '1001', 'busy', { number: '1002', name: 'Bob Baker' }));
    let mark = phone.mark();
    await phone.call.sendDigits('5', { durationMs: 60 }); // not a greeting key: the greeting goes on
    await phone.hears(prompts('digits/1', 'digits/0', 'digits/0', 'digits/1', 'vm-is-busy'), mark);
    mark = phone.mark();
    await phone.call.sendDigits('#', { durationMs: 60 });
    await phone.hears(prompts('beep'), mark);
    const said = speech('en-us-m-fast', 2.5);
    await phone.call.play([{ silenceMs: 400 }, said, { silenceMs: 300 }]); // people start a moment after the beep
    await phone.call.sendDigits('#', { durationMs: 60 });
    expect(await done).toBe(true);
    await phone.call.ended;
    const [msg, ...rest] = await store.list('demo.local', '1001');
    expect(rest).toEqual([]);
    expect(msg).toMatchObject({ callerId: '1002', callerName: 'Bob Baker', tenant: 'demo.local', mailbox: '1001', folder: 'INBOX', reason: 'busy', name: 'msg0001' });
    expect(msg!.partial).toBeUndefined();
    expect(msg!.durationMs).toBeGreaterThan(2400);
    expect(msg!.durationMs).toBeLessThan(4500);
    const stored = wavToPcm8k(readFileSync(msg!.wavPath));
    expect(segmentedCorrelation(said, stored, { maxLagSamples: Math.max(0, stored.length - said.length) }).correlation).toBeGreaterThanOrEqual(0.7);
    expect(changed).toEqual(['1001@demo.local']);
  }, 30_000);

  it('a message ended by silence is kept without the silence', async () => {
    const store = new VoicemailStore(join(dir, 'silence'));
    const app = new VoicemailApp({ store, directory: () => directory, silenceSeconds: 1 });
    const { phone, done } = await setup(store, (call) => app.leaveMessage(call, tenant, '1001', 'unavailable'));
    const mark = phone.mark();
    await phone.call.sendDigits('#', { durationMs: 60 });
    await phone.hears(prompts('beep'), mark);
    const said = speech('en-f-numbers', 2);
    await phone.call.play([{ silenceMs: 400 }, said]); // then silence until the PBX stops recording
    expect(await done).toBe(true);
    const [msg] = await store.list('demo.local', '1001');
    // About 0.4 s before the speech, 2 s of it, 0.3 s of the silence after: not the full second.
    expect(msg!.durationMs).toBeGreaterThan(2000);
    expect(msg!.durationMs).toBeLessThan(3200);
    expect(wavDurationMs(readFileSync(msg!.wavPath))).toBe(msg!.durationMs);
    const stored = wavToPcm8k(readFileSync(msg!.wavPath));
    expect(segmentedCorrelation(said, stored, { maxLagSamples: Math.max(0, stored.length - said.length) }).correlation).toBeGreaterThanOrEqual(0.7);
  }, 30_000);

  it('keeps what was said when the caller hangs up during the recording; a full mailbox records nothing', async () => {
    const store = new VoicemailStore(join(dir, 'hangup'));
    const app = new VoicemailApp({ store, directory: () => directory });
    {
      const { phone, done } = await setup(store, (call) => app.leaveMessage(call, tenant, '1003', 'unavailable'));
      const mark = phone.mark();
      await phone.call.sendDigits('#', { durationMs: 60 });
      await phone.hears(prompts('beep'), mark);
      await phone.call.play(speech('en-f-fast', 1.5));
      await phone.call.hangup();
      expect(await done).toBe(true);
      const list = await store.list('demo.local', '1003');
      expect(list.map((m) => [m.callerId, m.durationMs > 1000])).toEqual([['1002', true]]);
    }
    {
      // 1003 holds one message, its maximum.
      const { phone, done } = await setup(store, (call) => app.leaveMessage(call, tenant, '1003', 'unavailable'));
      await phone.hears(prompts('vm-mailbox-full'), 0);
      expect(await done).toBe(true);
      expect((await phone.call.ended).reason).toBe('remote-hangup');
      expect(await store.counts('demo.local', '1003')).toEqual({ new: 1, old: 0 });
    }
  }, 30_000);

  it('menu: wrong PIN, right PIN, "you have 2 new messages", 1 plays, 7 deletes, 9 saves, # exits', async () => {
    const store = new VoicemailStore(join(dir, 'menu'));
    const app = new VoicemailApp({ store, directory: () => directory });
    const first = speech('en-m-low', 2);
    const second = speech('en-f-numbers', 2);
    await storeMessage(store, '1001', first, '1005');
    await storeMessage(store, '1001', second, '1006');
    const { phone, done } = await setup(store, (call) => app.menu(call, ownCaller(), false));
    let mark = phone.mark();
    await phone.call.sendDigits('1111#', { durationMs: 60, gapMs: 60 });
    await phone.hears(prompts('vm-invalid-pin'), mark);
    mark = phone.mark();
    await phone.call.sendDigits('1234#', { durationMs: 60, gapMs: 60 });
    await phone.hears(prompts('vm-you-have', 'numbers/2', 'vm-new', 'vm-messages'), mark);
    mark = phone.mark();
    await phone.call.sendDigits('1', { durationMs: 60 });
    await phone.hears(first, mark); // "First message", then the message itself
    mark = phone.mark();
    await phone.call.sendDigits('7', { durationMs: 60 });
    await phone.hears(prompts('vm-deleted'), mark);
    await phone.hears(second, mark); // on to the next (and last) one
    mark = phone.mark();
    await phone.call.sendDigits('9', { durationMs: 60 });
    await phone.hears(prompts('vm-saved'), mark);
    mark = phone.mark();
    await phone.call.sendDigits('#', { durationMs: 60 });
    await done;
    await phone.call.ended;
    const left = await store.list('demo.local', '1001');
    expect(left.map((m) => `${m.folder}/${m.callerId}`)).toEqual(['Old/1006']);
    expect(await store.counts('demo.local', '1001')).toEqual({ new: 0, old: 1 });
  }, 60_000);

  it('while a message plays * goes back 3 s and # skips to the menu; 3 3 says the envelope; a played message is Old afterwards', async () => {
    const store = new VoicemailStore(join(dir, 'controls'));
    const app = new VoicemailApp({ store, directory: () => directory });
    const message = speech('en-f-slow', 5);
    await storeMessage(store, '1001', message, '1005');
    const { phone, done } = await setup(store, (call) => app.menu(call, ownCaller(), false));
    let mark = phone.mark();
    await phone.call.sendDigits('1234#', { durationMs: 50, gapMs: 50 });
    await phone.hears(prompts('vm-you-have', 'numbers/1', 'vm-new', 'vm-message'), mark);
    mark = phone.mark();
    await phone.call.sendDigits('1', { durationMs: 50 });
    await phone.hears(message.subarray(0, 12_000), mark); // 1.5 s into the message
    mark = phone.mark();
    await phone.call.sendDigits('*', { durationMs: 50 }); // about 2 s in: back to the start
    await phone.hears(message.subarray(0, 8000), mark);
    mark = phone.mark();
    await phone.call.sendDigits('#', { durationMs: 50 });
    await phone.hears(prompts('vm-message-menu').subarray(0, 16_000), mark, 1, 3000); // well before the message's end
    mark = phone.mark();
    await phone.call.sendDigits('3', { durationMs: 50 });
    await phone.hears(prompts('vm-advanced-menu').subarray(0, 8000), mark);
    mark = phone.mark();
    await phone.call.sendDigits('3', { durationMs: 50 });
    await phone.hears(prompts('vm-received-from', 'digits/1', 'digits/0', 'digits/0', 'digits/5'), mark);
    await phone.call.sendDigits('#', { durationMs: 50 });
    await done;
    expect((await store.list('demo.local', '1001')).map((m) => `${m.folder}/${m.callerId}`)).toEqual(['Old/1005']);
  }, 60_000);

  it('options 1 records the unavailable greeting, which callers then hear', async () => {
    const store = new VoicemailStore(join(dir, 'greeting'));
    const app = new VoicemailApp({ store, directory: () => directory });
    const greeting = speech('en-m-slow', 2.5);
    {
      const { phone, done } = await setup(store, (call) => app.menu(call, ownCaller(), false));
      let mark = phone.mark();
      await phone.call.sendDigits('1234#01', { durationMs: 50, gapMs: 50 });
      await phone.hears(prompts('beep'), mark);
      await phone.call.play([{ silenceMs: 400 }, greeting, { silenceMs: 300 }]); // people start a moment after the beep
      mark = phone.mark();
      await phone.call.sendDigits('#', { durationMs: 50 });
      await phone.hears(prompts('vm-recording-saved'), mark);
      await phone.call.hangup();
      await done;
    }
    const recorded = wavToPcm8k(readFileSync((await store.greeting('demo.local', '1001', 'unavailable'))!));
    expect(segmentedCorrelation(greeting, recorded, { maxLagSamples: Math.max(0, recorded.length - greeting.length) }).correlation).toBeGreaterThanOrEqual(0.7);
    {
      const { phone, done } = await setup(store, (call) => app.leaveMessage(call, tenant, '1001', 'unavailable'));
      await phone.hears(recorded.subarray(0, 16_000), 0);
      await phone.call.hangup();
      expect(await done).toBe(true);
    }
  }, 60_000);

  it('three wrong PINs: goodbye and hang up', async () => {
    const store = new VoicemailStore(join(dir, 'wrong'));
    const app = new VoicemailApp({ store, directory: () => directory });
    const { phone, done } = await setup(store, (call) => app.menu(call, ownCaller(), false));
    const mark = phone.mark();
    await phone.call.sendDigits('0000#0000#0000#', { durationMs: 50, gapMs: 50 });
    await phone.hears(prompts('goodbye'), mark, 0.7); // the hang-up follows: the phone's jitter buffer keeps the last frames
    await done;
    expect((await phone.call.ended).reason).toBe('remote-hangup');
  }, 30_000);

  it('*98: mailbox number and PIN; 0 4 changes the PIN, which persists in the mailbox', async () => {
    const store = new VoicemailStore(join(dir, 'pin'));
    const app = new VoicemailApp({ store, directory: () => directory });
    {
      const { phone, done } = await setup(store, (call) => app.menu(call, ownCaller('1003'), true));
      let mark = phone.mark();
      await phone.call.sendDigits('1001#1234#', { durationMs: 50, gapMs: 50 });
      await phone.hears(prompts('vm-you-have', 'vm-no-messages'), mark);
      mark = phone.mark();
      await phone.call.sendDigits('04', { durationMs: 50, gapMs: 50 });
      await phone.hears(prompts('vm-enter-new-pin'), mark);
      mark = phone.mark();
      await phone.call.sendDigits('5555#5555#', { durationMs: 50, gapMs: 50 });
      await phone.hears(prompts('vm-pin-changed'), mark);
      await phone.call.sendDigits('#', { durationMs: 50 });
      await done;
    }
    expect(await store.pin('demo.local', '1001')).toBe('5555');
    const reopened = new VoicemailApp({ store: new VoicemailStore(join(dir, 'pin')), directory: () => directory });
    {
      const { phone, done } = await setup(store, (call) => reopened.menu(call, ownCaller(), false));
      const mark = phone.mark();
      await phone.call.sendDigits('1234#', { durationMs: 50, gapMs: 50 }); // the configured PIN no longer works
      await phone.hears(prompts('vm-invalid-pin'), mark);
      const mark2 = phone.mark();
      await phone.call.sendDigits('5555#', { durationMs: 50, gapMs: 50 });
      await phone.hears(prompts('vm-you-have', 'vm-no-messages'), mark2);
      await phone.call.hangup();
      await done;
    }
  }, 60_000);

  it('hooks: *97 and *98 are taken, other numbers not; no mailbox means not taken (480)', async () => {
    const calls: string[] = [];
    const fake = {
      menu: async (_call: Call, caller: Caller, any: boolean) => void calls.push(`menu ${caller.number} any=${any}`),
      leaveMessage: async (_call: Call, _t: TenantConfig, box: string, reason: string, from?: { number: string }) => (calls.push(`leave ${box} ${reason} from ${from?.number}`), true),
    } as unknown as VoicemailApp;
    const hooks = voicemailHooks(fake, () => directory);
    const call = {} as Call;
    const pc = { caller: { number: '1002', name: 'Bob' } } as unknown as PbxCall;
    expect(await hooks.featureCode!(call, ownCaller(), '*97', pc)).toBe(true);
    expect(await hooks.featureCode!(call, ownCaller(), '*98', pc)).toBe(true);
    expect(await hooks.featureCode!(call, { ...ownCaller(), extension: directory.extension(tenant, '1002')!, number: '1002' }, '*97', pc)).toBe(true);
    expect(await hooks.featureCode!(call, ownCaller(), '*43', pc)).toBe(false);
    expect(await hooks.featureCode!(call, { ...ownCaller(), kind: 'trunk' }, '*97', pc)).toBe(false);
    expect(await hooks.voicemail!(call, tenant, '1001', 'busy', pc)).toBe(true);
    expect(await hooks.voicemail!(call, tenant, '1002', 'busy', pc)).toBe(false);
    expect(await hooks.voicemail!(call, tenant, '9999', 'unavailable', pc)).toBe(false);
    expect(calls).toEqual(['menu 1001 any=false', 'menu 1001 any=true', 'menu 1002 any=true', 'leave 1001 busy from 1002']);
  });
});
