/**
 * Transfers through the PBX, end to end with CallAgents as phones on 127.0.0.1: blind REFER
 * from either party, attended (REFER with Replaces naming the consultation call), semi-attended
 * (the consultation still ringing), recall of a blind transfer nobody answers, and the in-call
 * codes `##` (blind) and `*2` (consult, then hang up). What is checked is what users notice:
 * who ends up talking to whom (in-band DTMF played by one phone, detected by the other), the
 * transferor's calls are gone, the NOTIFY outcome the transferor sees, nobody is left on
 * music on hold, and the calls and CDRs the PBX keeps.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Call, CallAgent } from '../../src/call/index.js';
import { CallError } from '../../src/call/index.js';
import { readCdrs } from '../../src/pbx/cdr-writer.js';
import { referToValue, type OutgoingSession, type SipResponse } from '../../src/sip/index.js';
import { demoTenant, startTestPbx, testConfig, type TestPbx } from '../helpers/pbx.js';
import { connectCalls, nextCall, until } from '../helpers/wait.js';
import { loudest, talking } from '../helpers/audio-checks.js';

let t: TestPbx | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const inband = { media: { inbandDtmf: 'always' as const } };

async function phones(t: TestPbx): Promise<{ alice: CallAgent; bob: CallAgent; carol: CallAgent }> {
  const alice = await t.phone('1001', 'password-1001', inband);
  const bob = await t.phone('1002', 'password-1002', inband);
  const carol = await t.phone('1003', 'password-1003', inband);
  return { alice, bob, carol };
}

/** The three phones, and 1001 (alice) talking to 1002 (bob) through the PBX. */
async function aliceCallsBob(t: TestPbx): Promise<{ alice: CallAgent; bob: CallAgent; carol: CallAgent; caller: Call; callee: Call }> {
  const p = await phones(t);
  return { ...p, ...(await connectCalls(p.alice, p.bob, t.uri('1002'))) };
}

async function cdrs(t: TestPbx): Promise<Record<string, unknown>[]> {
  await until(() => t.pbx.b2bua.calls.size === 0, 8000, 'the PBX to clear its calls');
  await t.pbx.cdr.flush();
  return (await readCdrs(join(t.pbx.dataDir, 'cdr.jsonl'))) as unknown as Record<string, unknown>[];
}

describe('blind transfer by REFER', () => {
  it('from the caller: 1001 transfers 1002 to 1003; 1002 and 1003 talk, 1001 is gone, NOTIFY 200', async () => {
    t = await startTestPbx();
    const { alice, bob, carol, caller, callee } = await aliceCallsBob(t);
    const carolRings = nextCall(carol);
    const transferred = caller.transfer(t.uri('1003'));
    const c = await carolRings;
    // The transferee is presented to the target.
    expect(c.remoteUser).toBe('1002');
    // Meanwhile the transferee hears ringback.
    expect(await loudest(callee, 500)).toBeGreaterThan(-40);
    await c.answer();
    const result = await transferred;
    expect(result.status).toBe(200);
    expect((await caller.ended).reason).toBe('transferred');
    await talking(callee, c);
    expect(await loudest(callee)).toBeLessThan(-50);
    expect(await loudest(c)).toBeLessThan(-50);
    expect(t.pbx.b2bua.calls.size).toBe(1);
    expect(t.pbx.b2bua.callsOf(t.pbx.directory.tenant('demo.test')!, '1001')).toBe(0);
    await c.hangup();
    expect((await callee.ended).reason).toBe('remote-hangup');
    const records = await cdrs(t);
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ from: '1001', to: '1002', disposition: 'answered', answeredBy: '1002', hangupBy: 'caller' });
    expect(records[1]).toMatchObject({ from: '1002', to: '1003', disposition: 'answered', answeredBy: '1003', hangupBy: 'callee' });
  });

  it('from the callee: 1002 transfers 1001 to 1003', async () => {
    t = await startTestPbx();
    const { alice, bob, carol, caller, callee } = await aliceCallsBob(t);
    await callee.hold();
    expect(await loudest(caller, 500)).toBeGreaterThan(-40); // music on hold
    const carolRings = nextCall(carol);
    // The REFER by hand, to see every NOTIFY: 100 Trying, 180 Ringing, 200 OK.
    const refer = callee.session.refer(t.uri('1003'));
    const statuses: number[] = [];
    refer.on('notify', (status) => statuses.push(status));
    const c = await carolRings;
    expect(c.remoteUser).toBe('1001');
    c.ring();
    await until(() => statuses.includes(180), 8000, '180 Ringing');
    await c.answer();
    expect(await refer.result).toMatchObject({ accepted: true, status: 200, reason: 'OK' });
    expect(statuses).toEqual([100, 180, 200]);
    await callee.hangup();
    await talking(caller, c);
    expect(await loudest(caller)).toBeLessThan(-50);
    await caller.hangup();
    expect((await c.ended).reason).toBe('remote-hangup');
    const records = await cdrs(t);
    expect(records.map((r) => [r.from, r.to, r.hangupBy])).toEqual([
      ['1001', '1002', 'callee'],
      ['1001', '1003', 'caller'],
    ]);
  });

  it('to a number that does not exist: NOTIFY 404, the two talk again', async () => {
    t = await startTestPbx();
    const { alice, bob, caller, callee } = await aliceCallsBob(t);
    const err = (await callee.transfer(t.uri('1999')).catch((e: unknown) => e)) as CallError;
    expect(err).toBeInstanceOf(CallError);
    expect(err.status).toBe(404);
    await talking(caller, callee);
    await caller.hangup();
  });

  it('nobody answers: NOTIFY 480 after the recall time and the transferor, still there, has the caller back', async () => {
    t = await startTestPbx();
    t.pbx.b2bua.transfers.recallSeconds = 1.5;
    const { alice, bob, carol, caller, callee } = await aliceCallsBob(t);
    const carolRings = nextCall(carol);
    const started = Date.now();
    const transferred = callee.transfer(t.uri('1003')).catch((e: unknown) => e);
    const c = await carolRings;
    const err = (await transferred) as CallError;
    expect(err.status).toBe(480);
    expect(Date.now() - started).toBeGreaterThan(1300);
    expect((await c.ended).reason).toBe('cancelled');
    await talking(caller, callee);
    await caller.hangup();
  });

  it('recall: the transferor hung up; nobody answers the target, so the transferor is called back', async () => {
    t = await startTestPbx();
    t.pbx.b2bua.transfers.recallSeconds = 1.5;
    const { alice, bob, carol, caller, callee } = await aliceCallsBob(t);
    const carolRings = nextCall(carol);
    // A phone that hangs up as soon as the REFER is accepted.
    const refer = callee.session.refer(t.uri('1003'));
    refer.on('accepted', () => void callee.hangup());
    const c = await carolRings;
    await callee.ended;
    const recall = nextCall(bob);
    expect((await c.ended).reason).toBe('cancelled');
    const back = await recall;
    expect(back.remoteUser).toBe('1001');
    await back.answer();
    await talking(caller, back);
    expect(await loudest(caller)).toBeLessThan(-50);
    await back.hangup();
    expect((await caller.ended).reason).toBe('remote-hangup');
  });
});

describe('recall time', () => {
  it('is the transferor\'s tenant\'s transferRecallSeconds: 5 s here, then NOTIFY 480 and the two talk again', async () => {
    const config = testConfig() as { tenants: Record<string, unknown>[] };
    config.tenants[0]!.transferRecallSeconds = 5;
    t = await startTestPbx(config);
    expect(t.pbx.b2bua.transfers.recallSeconds).toBe(undefined); // no override: the tenant decides
    const { alice, bob, carol, caller, callee } = await aliceCallsBob(t);
    const carolRings = nextCall(carol);
    const started = Date.now();
    const transferred = callee.transfer(t.uri('1003')).catch((e: unknown) => e);
    const c = await carolRings;
    c.ring(); // 1003's own noAnswerSeconds (3 s) does not cut a transfer short
    const err = (await transferred) as CallError;
    const elapsed = Date.now() - started;
    expect(err.status).toBe(480);
    expect(elapsed).toBeGreaterThan(4800);
    expect(elapsed).toBeLessThan(9000);
    expect((await c.ended).reason).toBe('cancelled');
    await talking(caller, callee);
    await caller.hangup();
  }, 20_000);
});

describe('attended transfer', () => {
  it('1002 holds 1001, consults 1003, transfers: 1001 and 1003 talk, nobody on hold music, 1002 is gone', async () => {
    t = await startTestPbx();
    const { alice, bob, carol, caller, callee } = await aliceCallsBob(t);
    await callee.hold();
    expect(await loudest(caller, 500)).toBeGreaterThan(-40); // music on hold while 1002 consults
    const consult = await connectCalls(bob, carol, t.uri('1003'));
    await talking(consult.caller, consult.callee);
    const result = await callee.attendedTransfer(consult.caller);
    expect(result.status).toBe(200);
    expect((await callee.ended).reason).toBe('transferred');
    await consult.caller.ended;
    await talking(caller, consult.callee);
    expect(await loudest(caller)).toBeLessThan(-50);
    expect(await loudest(consult.callee)).toBeLessThan(-50);
    const tenant = t.pbx.directory.tenant('demo.test')!;
    expect(t.pbx.b2bua.calls.size).toBe(1);
    expect(t.pbx.b2bua.callsOf(tenant, '1002')).toBe(0);
    expect(t.pbx.b2bua.callsOf(tenant, '1001')).toBe(1);
    expect(t.pbx.b2bua.callsOf(tenant, '1003')).toBe(1);
    await consult.callee.hangup();
    expect((await caller.ended).reason).toBe('remote-hangup');
    const records = await cdrs(t);
    expect(records.map((r) => [r.from, r.to, r.disposition])).toEqual([
      ['1001', '1002', 'answered'],
      ['1002', '1003', 'answered'],
      ['1001', '1003', 'answered'],
    ]);
  });

  it('semi-attended: the transfer while 1003 still rings; 1001 hears ringback, then talks to 1003', async () => {
    t = await startTestPbx();
    const { alice, bob, carol, caller, callee } = await aliceCallsBob(t);
    await callee.hold();
    const carolRings = nextCall(carol);
    const consult = await bob.dial(t.uri('1003'));
    let toTag: string | undefined;
    (consult.session as OutgoingSession).on('progress', (res: SipResponse) => (toTag ??= res.to.tag));
    const c = await carolRings;
    c.ring();
    await until(() => toTag !== undefined, 8000, 'the To tag');
    // REFER with Replaces naming the early dialog of the consultation call (RFC 5589 §7.1).
    const referTo = referToValue(t.uri('1003'), { callId: consult.id, toTag: toTag!, fromTag: consult.session.request.from.tag! });
    const result = await callee.session.refer(referTo).result;
    expect(result).toMatchObject({ accepted: true, status: 200 });
    await callee.hangup();
    expect((await consult.ended).status).toBe(487);
    expect(c.hasEnded).toBe(false); // still ringing, now for 1001
    expect(await loudest(caller, 500)).toBeGreaterThan(-40); // ringback
    await c.answer();
    await talking(caller, c);
    expect(await loudest(caller)).toBeLessThan(-50);
    await caller.hangup();
    await c.ended;
    const records = await cdrs(t);
    expect(records.at(-1)).toMatchObject({ from: '1001', to: '1003', disposition: 'answered', answeredBy: '1003' });
  });

  it('a Replaces naming no call of ours is refused (481) and the call goes on', async () => {
    t = await startTestPbx();
    const { alice, bob, caller, callee } = await aliceCallsBob(t);
    const referTo = referToValue(t.uri('1003'), { callId: 'nobody@nowhere', toTag: 'a', fromTag: 'b' });
    const result = await callee.session.refer(referTo).result;
    expect(result).toMatchObject({ accepted: false, status: 481 });
    await talking(caller, callee);
    await caller.hangup();
  });
});

describe('in-call DTMF codes', () => {
  it('## 1003 #: the other party is transferred; the transferor is hung up at once', async () => {
    t = await startTestPbx();
    const { alice, bob, carol, caller, callee } = await aliceCallsBob(t);
    const carolRings = nextCall(carol);
    await caller.sendDigits('##1003#', { method: 'rfc4733', durationMs: 60, gapMs: 60 });
    const c = await carolRings;
    expect(c.remoteUser).toBe('1002');
    expect((await caller.ended).reason).toBe('remote-hangup');
    await c.answer();
    await talking(callee, c);
    expect(await loudest(callee)).toBeLessThan(-50);
    await c.hangup();
    await callee.ended;
  });

  it('## with a target nobody answers: the transferor is called back (recall)', async () => {
    t = await startTestPbx();
    t.pbx.b2bua.transfers.recallSeconds = 1.5;
    const { alice, bob, carol, caller, callee } = await aliceCallsBob(t);
    const carolRings = nextCall(carol);
    await callee.sendDigits('##1003#', { durationMs: 60, gapMs: 60 });
    const c = await carolRings;
    await callee.ended;
    const recall = nextCall(bob);
    await c.ended;
    const back = await recall;
    await back.answer();
    await talking(caller, back);
    await caller.hangup();
  });

  it('*2 1003 #: consult while the other hears music, then hang up to join them; * goes back', async () => {
    t = await startTestPbx();
    const { alice, bob, carol, caller, callee } = await aliceCallsBob(t);
    // First a consultation abandoned with *.
    let carolRings = nextCall(carol);
    await callee.sendDigits('*21003#', { durationMs: 60, gapMs: 60 });
    let c = await carolRings;
    expect(await loudest(caller, 500)).toBeGreaterThan(-40); // music on hold
    await c.answer();
    await talking(callee, c);
    await callee.sendDigits('*', { durationMs: 60 });
    expect((await c.ended).reason).toBe('remote-hangup');
    await talking(caller, callee);
    // Then one completed by hanging up.
    carolRings = nextCall(carol);
    await callee.sendDigits('*21003#', { durationMs: 60, gapMs: 60 });
    c = await carolRings;
    await c.answer();
    await talking(callee, c);
    await callee.hangup();
    await talking(caller, c);
    expect(await loudest(caller)).toBeLessThan(-50);
    expect(t.pbx.b2bua.calls.size).toBe(1);
    await c.hangup();
    await caller.ended;
    await cdrs(t);
  });
});

describe('in-call DTMF codes, semi-attended', () => {
  it('*2 1003 # and hang up while 1003 rings: the other party hears ringback and gets 1003', async () => {
    t = await startTestPbx();
    const { alice, bob, carol, caller, callee } = await aliceCallsBob(t);
    const carolRings = nextCall(carol);
    await callee.sendDigits('*21003#', { durationMs: 60, gapMs: 60 });
    const c = await carolRings;
    await callee.hangup();
    expect(await loudest(caller, 500)).toBeGreaterThan(-40); // ringback now, for 1001
    expect(c.hasEnded).toBe(false);
    await c.answer();
    await talking(caller, c);
    expect(await loudest(caller)).toBeLessThan(-50);
    const tenant = t.pbx.directory.tenant('demo.test')!;
    expect(t.pbx.b2bua.callsOf(tenant, '1002')).toBe(0);
    await caller.hangup();
    await c.ended;
    const records = await cdrs(t);
    expect(records.at(-1)).toMatchObject({ from: '1001', to: '1003', disposition: 'answered', answeredBy: '1003' });
  });
});

describe('a party outside the PBX (a trunk call)', () => {
  it('may transfer to extensions but never back out through a trunk (403: no toll fraud)', async () => {
    t = await startTestPbx({
      tenants: [
        demoTenant(['1001', '1003'], {
          trunks: [
            {
              name: 'carrier',
              host: '127.0.0.2',
              port: 5999,
              acceptFrom: ['127.0.0.2'],
              dids: [{ number: '5550001', destination: { type: 'extension', number: '1001' } }],
            },
          ],
          outboundRoutes: [{ name: 'out', patterns: ['_9.'], strip: 1, trunks: ['carrier'] }],
        }),
      ],
    });
    const alice = await t.phone('1001', 'password-1001', inband);
    const carol = await t.phone('1003', 'password-1003', inband);
    const carrier = await t.phone('5550100', '', { register: false, credentials: [], listen: [{ protocol: 'udp', address: '127.0.0.2', port: 0 }] });
    const aliceRings = nextCall(alice);
    const outsideP = carrier.call(t.uri('5550001'));
    const a = await aliceRings;
    await a.answer();
    const outside = await outsideP;
    const err = (await outside.transfer(t.uri('95551234')).catch((e: unknown) => e)) as CallError;
    expect(err).toBeInstanceOf(CallError);
    expect(err.status).toBe(403);
    const carolRings = nextCall(carol);
    const transferred = outside.transfer(t.uri('1003'));
    const c = await carolRings;
    await c.answer();
    expect((await transferred).status).toBe(200);
    await talking(a, c);
    await c.hangup();
    await a.ended;
  });
});
