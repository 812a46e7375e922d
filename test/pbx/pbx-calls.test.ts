/**
 * The PBX end to end in one process, with CallAgents as phones registering over real UDP on
 * 127.0.0.1: authenticated calls between extensions with anchored media (audio checked both
 * ways by in-band DTMF detection at the far phone), music on hold, CDRs, a ring group, and the
 * refusals a user would notice (407, 404, 480, cross-tenant 403).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CallError } from '../../src/call/index.js';
import { generateDtmf, levelDbov } from '../../src/codecs/index.js';
import { readCdrs } from '../../src/pbx/cdr-writer.js';
import { startTestPbx, type TestPbx } from '../helpers/pbx.js';
import { join } from 'node:path';
import { connectCalls, nextCall, until } from '../helpers/wait.js';

let t: TestPbx | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

describe('PBX calls between extensions', () => {
  it('1001 calls 1002: caller ID, audio both ways through the anchored media, CDR', async () => {
    t = await startTestPbx();
    const alice = await t.phone('1001', 'password-1001', { media: { inbandDtmf: 'always' } });
    const bob = await t.phone('1002', 'password-1002', { media: { inbandDtmf: 'always' } });
    const { caller, callee } = await connectCalls(alice, bob, t.uri('1002'), { ring: true });
    expect(callee.remoteUser).toBe('1001');
    expect(callee.remoteName).toBe('Alice');
    // The PBX anchors media: each phone's SDP peer is the PBX's RTP address, not the other phone.
    expect(callee.negotiated?.remote.port).not.toBe(caller.media?.session.localPort);
    const atBob: string[] = [];
    const atAlice: string[] = [];
    callee.on('dtmf', (d) => atBob.push(d));
    caller.on('dtmf', (d) => atAlice.push(d));
    await caller.play(generateDtmf('14', { toneMs: 80, pauseMs: 80 }));
    await callee.play(generateDtmf('7', { toneMs: 80, pauseMs: 80 }));
    await until(() => atBob.length >= 2 && atAlice.length >= 1);
    expect(atBob.slice(0, 2)).toEqual(['1', '4']);
    expect(atAlice[0]).toBe('7');
    await caller.hangup();
    expect((await callee.ended).reason).toBe('remote-hangup');
    await until(() => t!.pbx.b2bua.calls.size === 0);
    await t.pbx.cdr.flush();
    const cdrs = await readCdrs(join(t.pbx.dataDir, 'cdr.jsonl'));
    expect(cdrs).toHaveLength(1);
    expect(cdrs[0]).toMatchObject({ tenant: 'demo.test', from: '1001', to: '1002', direction: 'internal', disposition: 'answered', sipStatus: 200, answeredBy: '1002', hangupBy: 'caller' });
    expect(cdrs[0]!.billsec).toBeGreaterThan(0);
  });

  it('a callee that rings (180), sends early media (183) and then answers: the caller hears it and gets the call', async () => {
    t = await startTestPbx();
    const alice = await t.phone('1001', 'password-1001', { media: { inbandDtmf: 'always' } });
    const bob = await t.phone('1002', 'password-1002');
    const statuses: number[] = [];
    const incoming = nextCall(bob);
    const dialled = alice.dial(t.uri('1002'));
    const callee = await incoming;
    const caller = await dialled;
    caller.on('progress', (s) => statuses.push(s));
    const early: string[] = [];
    caller.on('dtmf', (d) => early.push(d));
    callee.ring();
    await until(() => statuses.includes(180));
    await callee.progress();
    await until(() => caller.state === 'early' && caller.negotiated !== undefined);
    await new Promise((r) => setTimeout(r, 100));
    await callee.play(generateDtmf('5', { toneMs: 80, pauseMs: 80 }));
    await until(() => early.includes('5')); // early media reached the caller through the PBX
    await callee.answer();
    await until(() => caller.state === 'answered');
    expect(statuses).toContain(183);
    await caller.hangup();
    expect((await callee.ended).reason).toBe('remote-hangup');
  });

  it('a callee that rings, then answers: the caller sees 180 and no 183 (the 200 is not early media)', async () => {
    t = await startTestPbx();
    const alice = await t.phone('1001', 'password-1001');
    const bob = await t.phone('1002', 'password-1002');
    const incoming = nextCall(bob);
    const caller = await alice.dial(t.uri('1002'));
    const statuses: number[] = [];
    caller.on('progress', (s) => statuses.push(s));
    const callee = await incoming;
    callee.ring();
    await until(() => statuses.includes(180));
    await callee.answer();
    await until(() => caller.state === 'answered');
    expect(statuses.filter((s) => s > 100)).toEqual([180]);
    await caller.hangup();
  });

  it('hold: the held party hears music on hold; unhold restores the media path', async () => {
    t = await startTestPbx();
    const alice = await t.phone('1001', 'password-1001', { media: { inbandDtmf: 'always' } });
    const bob = await t.phone('1002', 'password-1002');
    const { caller, callee } = await connectCalls(alice, bob, t.uri('1002'), { ring: true });
    const levels: number[] = [];
    caller.on('audio', (pcm) => levels.push(levelDbov(pcm)));
    await callee.hold();
    levels.length = 0;
    await new Promise((r) => setTimeout(r, 1500));
    const loud = levels.filter((l) => l > -40).length;
    expect(loud).toBeGreaterThan(levels.length / 3); // music, not silence
    await callee.unhold();
    await new Promise((r) => setTimeout(r, 200));
    const atAlice: string[] = [];
    caller.on('dtmf', (d) => atAlice.push(d));
    await callee.play(generateDtmf('9', { toneMs: 80, pauseMs: 80 }));
    await until(() => atAlice.includes('9'));
    await caller.hangup();
  });

  it('a ring group (ringall): the member who answers gets the call; the other stops ringing', async () => {
    t = await startTestPbx();
    const alice = await t.phone('1001', 'password-1001');
    const bob = await t.phone('1002', 'password-1002');
    const carol = await t.phone('1003', 'password-1003');
    const bobRings = nextCall(bob);
    const carolRings = nextCall(carol);
    const callerP = alice.call(t.uri('600'));
    const [b, c] = await Promise.all([bobRings, carolRings]);
    expect(c.remoteName).toBe('Alice');
    await b.answer();
    const caller = await callerP;
    expect((await c.ended).reason).toBe('cancelled');
    expect(caller.state).toBe('answered');
    await caller.hangup();
  });

  it('refuses what it should: 407 without credentials, 404 unknown number, 480 not registered, 403 across tenants', async () => {
    t = await startTestPbx();
    const alice = await t.phone('1001', 'password-1001');
    const stranger = await t.phone('1001', 'wrong', { register: false, credentials: [] });
    const err407 = (await stranger.call(t.uri('1002')).catch((e: unknown) => e)) as CallError;
    expect(err407).toBeInstanceOf(CallError);
    expect(err407.status).toBe(407);
    const err404 = (await alice.call(t.uri('1999')).catch((e: unknown) => e)) as CallError;
    expect(err404.status).toBe(404);
    const err480 = (await alice.call(t.uri('1003')).catch((e: unknown) => e)) as CallError;
    expect(err480.status).toBe(480);
    const zed = await t.phone('2001', 'password-2001', { domain: 'other.test' });
    const err403 = (await zed.call(t.uri('1001')).catch((e: unknown) => e)) as CallError;
    expect(err403.status).toBe(403);
  });
});
