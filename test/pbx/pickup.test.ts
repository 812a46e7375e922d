/**
 * Call pickup against a real PBX with CallAgent phones: 1001 calls 1002, which rings and does
 * not answer; 1003 takes the call with `*8` (group pickup), `**1002` (directed pickup), or an
 * INVITE with Replaces built from the dialog-info NOTIFY it got for 1002 (BLF pickup, both tag
 * orders). 1003 and 1001 then hear each other (in-band DTMF through the anchored media) and
 * 1002's phone stops ringing (its call ends `cancelled`). The refusals: 404 with nothing to
 * pick up, 403 for a Replaces from another tenant.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Call, CallAgent } from '../../src/call/index.js';
import { CallError } from '../../src/call/index.js';
import { generateDtmf } from '../../src/codecs/index.js';
import { readCdrs } from '../../src/pbx/cdr-writer.js';
import { DialogEventPackage } from '../../src/pbx/features/dialog-events.js';
import { pickupHooks } from '../../src/pbx/features/pickup.js';
import { startTestPbx, testConfig, type TestPbx } from '../helpers/pbx.js';
import { nextCall, until } from '../helpers/wait.js';

let t: TestPbx | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

/** The test configuration with 1002 and 1003 in pickup group `office` (1001 in none). */
function pickupConfig(): Record<string, unknown> {
  const config = testConfig() as { tenants: { extensions: Record<string, unknown>[] }[] };
  const demo = config.tenants[0]!;
  demo.extensions = demo.extensions.map((e) => (e.number === '1001' ? e : { ...e, pickupGroup: 'office' }));
  return config as unknown as Record<string, unknown>;
}

async function start(): Promise<{ t: TestPbx; blf: DialogEventPackage }> {
  const blf = new DialogEventPackage();
  const started = await startTestPbx(pickupConfig(), { eventPackages: { dialog: blf }, features: (pbx) => pickupHooks(pbx) });
  blf.attach(started.pbx);
  return { t: started, blf };
}

/** The `<dialog>` attributes and state of a dialog-info body (what a BLF phone reads to pick up). */
interface SeenDialog {
  callId?: string;
  localTag?: string;
  remoteTag?: string;
  state: string;
}

function dialogsIn(body: string): SeenDialog[] {
  const out: SeenDialog[] = [];
  for (const m of body.matchAll(/<dialog ([^>]*)><state[^>]*>(\w+)<\/state>/g)) {
    const attrs = Object.fromEntries([...m[1]!.matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!]));
    const d: SeenDialog = { state: m[2]! };
    if (attrs['call-id'] !== undefined) d.callId = attrs['call-id'];
    if (attrs['local-tag'] !== undefined) d.localTag = attrs['local-tag'];
    if (attrs['remote-tag'] !== undefined) d.remoteTag = attrs['remote-tag'];
    out.push(d);
  }
  return out;
}

/** Alice (1001) calls 1002; Bob's phone rings (180) and is left ringing. */
async function ringingAtBob(t: TestPbx): Promise<{ alice: CallAgent; bob: CallAgent; carol: CallAgent; callerP: Promise<Call>; atBob: Call }> {
  const alice = await t.phone('1001', 'password-1001', { media: { inbandDtmf: 'always' } });
  const bob = await t.phone('1002', 'password-1002');
  const carol = await t.phone('1003', 'password-1003', { media: { inbandDtmf: 'always' } });
  const rings = nextCall(bob);
  const callerP = alice.call(t.uri('1002'));
  const atBob = await rings;
  atBob.ring();
  await until(() => [...t.pbx.b2bua.calls].some((pc) => pc.ringing.size > 0));
  return { alice, bob, carol, callerP, atBob };
}

/** Audio both ways between the two ends of a call (in-band DTMF detected at the far end). */
async function hearEachOther(a: Call, b: Call): Promise<void> {
  const atA: string[] = [];
  const atB: string[] = [];
  a.on('dtmf', (d) => atA.push(d));
  b.on('dtmf', (d) => atB.push(d));
  await a.play(generateDtmf('14', { toneMs: 80, pauseMs: 80 }));
  await b.play(generateDtmf('7', { toneMs: 80, pauseMs: 80 }));
  await until(() => atB.length >= 2 && atA.length >= 1);
  expect(atB.slice(0, 2)).toEqual(['1', '4']);
  expect(atA[0]).toBe('7');
}

async function pickedUp(t: TestPbx, picker: Call, callerP: Promise<Call>, atBob: Call): Promise<void> {
  const caller = await callerP;
  expect(caller.state).toBe('answered');
  expect((await atBob.ended).reason).toBe('cancelled');
  await hearEachOther(caller, picker);
  await picker.hangup();
  expect((await caller.ended).reason).toBe('remote-hangup');
  await until(() => t.pbx.b2bua.calls.size === 0);
}

describe('call pickup', () => {
  it('*8: 1003 takes the call ringing 1002 in its pickup group; 1002 stops ringing; CDR answeredBy pickup:1003', async () => {
    const started = await start();
    t = started.t;
    const { carol, callerP, atBob } = await ringingAtBob(t);
    const picker = await carol.call(t.uri('*8'));
    await pickedUp(t, picker, callerP, atBob);
    await t.pbx.cdr.flush();
    const cdrs = await readCdrs(join(t.pbx.dataDir, 'cdr.jsonl'));
    expect(cdrs.find((c) => c.to === '1002')).toMatchObject({ from: '1001', disposition: 'answered', answeredBy: 'pickup:1003' });
  });

  it('**1002: directed pickup of the call ringing 1002', async () => {
    const started = await start();
    t = started.t;
    const { carol, callerP, atBob } = await ringingAtBob(t);
    const picker = await carol.call(t.uri('**1002'));
    await pickedUp(t, picker, callerP, atBob);
  });

  for (const order of ['as RFC 3891 wants it (to-tag = remote-tag)', 'swapped (to-tag = local-tag)'] as const) {
    it(`BLF pickup: an INVITE with Replaces from the dialog-info NOTIFY, tags ${order}`, async () => {
      const started = await start();
      t = started.t;
      const carol = await t.phone('1003', 'password-1003', { media: { inbandDtmf: 'always' } });
      const blf = carol.ua.subscribe(t.uri('1002'), { event: 'dialog', accept: ['application/dialog-info+xml'] });
      const seen: SeenDialog[] = [];
      blf.on('notify', (n) => {
        if (n.body.length > 0) seen.push(...dialogsIn(n.body.toString()));
      });
      const { callerP, atBob } = await ringingAtBob(t);
      await until(() => seen.some((d) => d.state === 'early' && d.remoteTag !== undefined && d.localTag !== undefined));
      const early = seen.find((d) => d.state === 'early')!;
      expect(early.callId).toBe(atBob.id);
      const [toTag, fromTag] = order.startsWith('as RFC') ? [early.remoteTag, early.localTag] : [early.localTag, early.remoteTag];
      const picker = await carol.call(t.uri('1002'), { headers: [['Replaces', `${early.callId};to-tag=${toTag};from-tag=${fromTag};early-only`]] });
      await pickedUp(t, picker, callerP, atBob);
      blf.unsubscribe();
    });
  }

  it('404 when nothing rings where the picker asks; group pickup leaves calls outside the group alone', async () => {
    const started = await start();
    t = started.t;
    const alice = await t.phone('1001', 'password-1001');
    const bob = await t.phone('1002', 'password-1002');
    const carol = await t.phone('1003', 'password-1003');
    const status = async (agent: CallAgent, number: string): Promise<number | undefined> => ((await agent.call(t!.uri(number)).catch((e: unknown) => e)) as CallError).status;
    expect(await status(carol, '*8')).toBe(404);
    expect(await status(alice, '*8')).toBe(404); // 1001 has no pickup group
    expect(await status(carol, '**1002')).toBe(404);
    expect(await status(carol, '**1999')).toBe(404);
    // Bob calls Alice (not in the group): Carol's *8 finds nothing, **1001 takes it.
    const rings = nextCall(alice);
    const callerP = bob.call(t.uri('1001'));
    const atAlice = await rings;
    await until(() => [...t!.pbx.b2bua.calls].some((pc) => pc.ringing.size > 0));
    expect(await status(carol, '*8')).toBe(404);
    expect(atAlice.state).toBe('ringing');
    const picker = await carol.call(t.uri('**1001'));
    expect((await atAlice.ended).reason).toBe('cancelled');
    expect((await callerP).state).toBe('answered');
    await picker.hangup();
  });

  it('a Replaces naming a call ringing in another tenant gets 403 and the call keeps ringing', async () => {
    const started = await start();
    t = started.t;
    const { callerP, atBob } = await ringingAtBob(t);
    const demo = t.pbx.directory.tenant('demo.test')!;
    await until(() => started.blf.dialogs(demo, '1002').some((d) => d.state === 'early'));
    const d = started.blf.dialogs(demo, '1002')[0]!;
    const zed = await t.phone('2001', 'password-2001', { domain: 'other.test' });
    const err = (await zed.call(t.uri('1002', 'other.test'), { headers: [['Replaces', `${d.callId};to-tag=${d.remoteTag};from-tag=${d.localTag};early-only`]] }).catch((e: unknown) => e)) as CallError;
    expect(err).toBeInstanceOf(CallError);
    expect(err.status).toBe(403);
    expect(atBob.state).toBe('ringing');
    await atBob.reject(486);
    await expect(callerP).rejects.toBeInstanceOf(CallError);
  });
});
