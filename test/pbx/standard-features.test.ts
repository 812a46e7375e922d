/**
 * The feature set the binary runs (`standardFeatures()`), wired into a real PBX: an
 * unanswered extension goes to its voicemail and the caller's message is stored; `0` during
 * the greeting reaches the tenant's operator (who then talks to the caller), or, when the
 * operator does not answer, brings the caller back to the beep; `*8` picks up a ringing call
 * (pickup runs before voicemail's feature codes); a ring group still rings.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Call } from '../../src/call/index.js';
import { generateDtmf, levelDbov } from '../../src/codecs/index.js';
import { readCdrs } from '../../src/pbx/cdr-writer.js';
import { standardFeatures } from '../../src/pbx/features/index.js';
import { startTestPbx, testConfig, type TestPbx } from '../helpers/pbx.js';
import { nextCall, until } from '../helpers/wait.js';
import { loudest, talking } from '../helpers/audio-checks.js';

let t: TestPbx | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

function config(): Record<string, unknown> {
  const c = testConfig() as { tenants: { extensions: Record<string, unknown>[] }[] };
  for (const e of c.tenants[0]!.extensions) {
    e.voicemail = { pin: '4321' };
    e.pickupGroup = 'office';
    e.noAnswerSeconds = 2;
  }
  return c;
}

/** {@link config} with 1003 (Carol) as the operator of demo.test. */
function withOperator(): Record<string, unknown> {
  const c = config() as { tenants: Record<string, unknown>[] };
  c.tenants[0]!.operator = { type: 'extension', number: '1003' };
  return c;
}

const inband = { media: { inbandDtmf: 'always' as const } };

describe('standard features in a running PBX', () => {
  it('no answer → voicemail: the caller leaves a message and it is in the mailbox', async () => {
    const features = standardFeatures();
    t = await startTestPbx(config(), features.pbxOptions);
    const alice = await t.phone('1001', 'password-1001');
    const bob = await t.phone('1002', 'password-1002');
    bob.on('call', (c: Call) => c.ring()); // rings, never answers
    const call = await alice.call(t.uri('1002')); // answered by the voicemail after 2 s
    await call.sendDigits('#', { durationMs: 60 }); // skip the greeting
    await new Promise((r) => setTimeout(r, 800)); // the beep
    await call.play({ tone: 'busy', durationMs: 1500 });
    await call.sendDigits('#', { durationMs: 60 });
    await until(async () => (await features.voicemail!.store.counts('demo.test', '1002')).new === 1, 10_000, 'a new message in 1002’s mailbox', 25);
    if (!call.hasEnded) await call.hangup();
    const [message] = await features.voicemail!.store.list('demo.test', '1002');
    expect(message?.callerId).toBe('1001');
    expect(message?.durationMs).toBeGreaterThan(1000);
  }, 30_000);

  it('0 during the greeting: the operator (1003) rings, answers and talks to the caller', async () => {
    const features = standardFeatures();
    t = await startTestPbx(withOperator(), features.pbxOptions);
    const alice = await t.phone('1001', 'password-1001', inband);
    const bob = await t.phone('1002', 'password-1002', inband);
    const carol = await t.phone('1003', 'password-1003', inband);
    bob.on('call', (c: Call) => c.ring()); // rings, never answers
    const call = await alice.call(t.uri('1002')); // answered by 1002's voicemail after 2 s
    await new Promise((r) => setTimeout(r, 500)); // into the greeting
    const carolRings = nextCall(carol);
    await call.sendDigits('0', { durationMs: 60 });
    const operator = await carolRings;
    // The operator sees who is calling; the caller hears ringback meanwhile.
    expect(operator.remoteUser).toBe('1001');
    operator.ring();
    expect(await loudest(call, 500)).toBeGreaterThan(-40);
    await operator.answer();
    await talking(call, operator);
    expect(call.state).toBe('answered');
    await operator.hangup();
    expect((await call.ended).reason).toBe('remote-hangup');
    await until(() => t!.pbx.b2bua.calls.size === 0, 8000, 'the PBX to clear its calls');
    // No message was left, and the call is the operator's in the records.
    expect((await features.voicemail!.store.counts('demo.test', '1002')).new).toBe(0);
    await t.pbx.cdr.flush();
    const records = (await readCdrs(join(t.pbx.dataDir, 'cdr.jsonl'))) as unknown as Record<string, unknown>[];
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ from: '1001', to: '1002', disposition: 'answered', answeredBy: '1003', hangupBy: 'callee' });
  }, 30_000);

  it('0 during the greeting, the operator does not answer: back to the beep, and the message is left (not in the operator\'s mailbox)', async () => {
    const features = standardFeatures();
    t = await startTestPbx(withOperator(), features.pbxOptions);
    const alice = await t.phone('1001', 'password-1001');
    const bob = await t.phone('1002', 'password-1002');
    const carol = await t.phone('1003', 'password-1003');
    bob.on('call', (c: Call) => c.ring());
    const call = await alice.call(t.uri('1002'));
    await new Promise((r) => setTimeout(r, 500));
    const carolRings = nextCall(carol);
    await call.sendDigits('0', { durationMs: 60 });
    const operator = await carolRings;
    operator.ring(); // never answers: 1003's noAnswerSeconds (2 s), and its mailbox does not take the call
    expect((await operator.ended).reason).toBe('cancelled');
    expect(call.state).toBe('answered');
    await new Promise((r) => setTimeout(r, 800)); // the beep
    await call.play({ tone: 'busy', durationMs: 1500 });
    await call.sendDigits('#', { durationMs: 60 });
    await until(async () => (await features.voicemail!.store.counts('demo.test', '1002')).new === 1, 10_000, 'a new message in 1002’s mailbox', 25);
    expect((await call.ended).reason).toBe('remote-hangup');
    const [message] = await features.voicemail!.store.list('demo.test', '1002');
    expect(message?.callerId).toBe('1001');
    expect(message?.durationMs).toBeGreaterThan(1000);
    expect((await features.voicemail!.store.counts('demo.test', '1003')).new).toBe(0);
  }, 30_000);

  it('0 during the greeting without an operator does nothing: the greeting plays on to the beep', async () => {
    const features = standardFeatures();
    t = await startTestPbx(config(), features.pbxOptions);
    const alice = await t.phone('1001', 'password-1001');
    const bob = await t.phone('1002', 'password-1002');
    const carol = await t.phone('1003', 'password-1003');
    let carolRang = false;
    carol.on('call', () => void (carolRang = true));
    bob.on('call', (c: Call) => c.ring());
    const call = await alice.call(t.uri('1002'));
    await call.sendDigits('0', { durationMs: 60 });
    await call.sendDigits('#', { durationMs: 60 }); // skip to the beep
    await new Promise((r) => setTimeout(r, 800));
    await call.play({ tone: 'busy', durationMs: 1500 });
    await call.sendDigits('#', { durationMs: 60 });
    await until(async () => (await features.voicemail!.store.counts('demo.test', '1002')).new === 1, 10_000, 'a new message in 1002’s mailbox', 25);
    expect(carolRang).toBe(false);
    if (!call.hasEnded) await call.hangup();
  }, 30_000);

  it('*8 picks up the call ringing another member of the pickup group', async () => {
    t = await startTestPbx(config(), standardFeatures().pbxOptions);
    const alice = await t.phone('1001', 'password-1001');
    const bob = await t.phone('1002', 'password-1002');
    const carol = await t.phone('1003', 'password-1003');
    const bobRings = nextCall(bob);
    const dialled = alice.dial(t.uri('1002'));
    const ringing = await bobRings;
    ringing.ring();
    const caller = await dialled;
    const picked = await carol.call(t.uri('*8'));
    expect(picked.state).toBe('answered');
    await until(() => caller.state === 'answered', 10_000, 'the picked-up call to be answered', 25);
    expect((await ringing.ended).reason).toBe('cancelled');
    await caller.hangup();
  }, 30_000);
});
