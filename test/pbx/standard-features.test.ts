/**
 * The feature set the binary runs (`standardFeatures()`), wired into a real PBX: an
 * unanswered extension goes to its voicemail and the caller's message is stored; `*8` picks up
 * a ringing call (pickup runs before voicemail's feature codes); a ring group still rings.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Call } from '../../src/call/index.js';
import { standardFeatures } from '../../src/pbx/features/index.js';
import { startTestPbx, testConfig, type TestPbx } from '../helpers/pbx.js';
import { nextCall, until } from '../helpers/wait.js';

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
