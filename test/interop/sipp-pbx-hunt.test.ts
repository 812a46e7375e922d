/**
 * Hunt groups on a real PBX with sipp phones (Debian `sip-tester`). Each member is one sipp
 * process that REGISTERs with digest (hunt-register.xml) and then handles the PBX's INVITEs
 * with an out-of-call scenario: it answers (hunt-answer.xml), rings until cancelled
 * (hunt-ring.xml) or is busy (hunt-busy.xml). The caller is a CallAgent registered as 2001.
 * sipp's message trace (-trace_msg) tells what each phone saw: which INVITEs arrived, when,
 * with which caller ID, and the CANCELs with their Reason header. What is checked is what users
 * notice: who rang in which order and for how long, who got the call, that busy and
 * unanswered members are passed over, that losers hear "completed elsewhere", and failover.
 *
 * Confirm call needs a member that presses 1: sipp sends no DTMF without raw sockets, so those
 * members are CallAgents (RFC 4733).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CallError, type Call, type CallAgent } from '../../src/call/index.js';
import { levelDbov } from '../../src/codecs/index.js';
import { readCdrs } from '../../src/pbx/cdr-writer.js';
import { HuntGroups } from '../../src/pbx/features/hunt-group.js';
import { startTestPbx, type TestPbx } from '../helpers/pbx.js';
import { freeUdpPort, freeUdpPortRange } from '../helpers/ports.js';
import { hasCommand, startPeer, stopAll, type Peer } from '../helpers/peer-process.js';
import { parseSippTrace, readSippTrace, sippTraceArgs, type SippTracedMessage } from '../helpers/sipp.js';
import { nextCall, until } from '../helpers/wait.js';

const scenarios = join(__dirname, 'scenarios');
const DOMAIN = 'hunt.test';
const password = (n: string): string => `secret-${n}-pw`;
const COMPLETED_ELSEWHERE = 'SIP;cause=200;text="Call completed elsewhere"';

beforeAll(() => {
  if (!hasCommand('sipp')) throw new Error('sipp is not installed: apt-get install sip-tester (.ci/run does this)');
});

/** Extensions 2001–2004 (no call waiting: a member on a call is busy) and the given groups. */
function huntConfig(groups: Record<string, unknown>[]): Record<string, unknown> {
  return {
    tenants: [
      {
        domain: DOMAIN,
        name: 'Hunt',
        default: true,
        extensions: ['2001', '2002', '2003', '2004'].map((n) => ({ number: n, name: `Phone ${n}`, password: password(n), callWaiting: false })),
        groups,
      },
    ],
  };
}

let t: TestPbx | undefined;
let dir: string | undefined;
afterEach(async () => {
  await stopAll();
  await t?.stop();
  t = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Starts the PBX with `HuntGroups` as its group feature. */
async function startPbx(groups: Record<string, unknown>[]): Promise<{ t: TestPbx; hunt: HuntGroups }> {
  const hunt = new HuntGroups();
  t = await startTestPbx(huntConfig(groups), { features: () => ({ group: (b2bua, pc, tenant, number) => hunt.ring(b2bua, pc, tenant, number) }) });
  dir = mkdtempSync(join(tmpdir(), 'sipp-hunt-'));
  return { t, hunt };
}

type Behaviour = 'answer' | 'ring' | 'busy';

interface Member {
  number: string;
  peer: Peer;
  messagesFile: string;
  /** Everything sipp logged so far. */
  messages(): SippTracedMessage[];
  /** Requests it received, by method. */
  received(method: string): SippTracedMessage[];
}

/** A request's method or a response's status (as a string): what a member sent or got. */
function methodOrStatus(m: SippTracedMessage): string {
  return m.status !== undefined ? String(m.status) : (m.startLine.split(' ')[0] ?? '');
}

const scenarioOf: Record<Behaviour, string> = { answer: 'hunt-answer.xml', ring: 'hunt-ring.xml', busy: 'hunt-busy.xml' };

/** A sipp phone registered as `number` that answers, rings out or is busy on every INVITE. */
async function startMember(pbx: TestPbx, number: string, behaviour: Behaviour): Promise<Member> {
  const messagesFile = join(dir!, `${number}-messages.log`);
  const peer = startPeer(
    'sipp',
    [
      `127.0.0.1:${pbx.pbx.port}`,
      '-sf', join(scenarios, 'hunt-register.xml'),
      '-oocsf', join(scenarios, scenarioOf[behaviour]),
      '-s', number,
      '-au', number,
      '-ap', password(number),
      // The digest uri must be the Request-URI (sip:hunt.test); sipp's default is remote_ip:port.
      '-auth_uri', DOMAIN,
      '-key', 'domain', DOMAIN,
      '-m', '1',
      '-p', String(await freeUdpPort()),
      '-mp', String(await freeUdpPortRange(4)),
      '-i', '127.0.0.1',
      '-bind_local',
      '-nostdin',
      ...sippTraceArgs(messagesFile),
      '-trace_err',
      '-error_file', join(dir!, `${number}-errors.log`),
    ],
    { timeoutMs: 90_000, cwd: dir! },
  );
  const messages = (): SippTracedMessage[] => parseSippTrace(readSippTrace(messagesFile, 'latin1'));
  const member: Member = {
    number,
    peer,
    messagesFile,
    messages,
    received: (method) => messages().filter((m) => m.direction === 'received' && methodOrStatus(m) === method),
  };
  const tenant = pbx.pbx.directory.tenant(DOMAIN)!;
  await until(
    () => pbx.pbx.registrar.contacts(tenant, number).length > 0 || peer.child.exitCode !== null,
    10_000,
    () => `${number} to register: ${peer.output().stdout.slice(-1500)} ${peer.output().stderr}`,
    20,
  );
  expect(peer.child.exitCode, `${peer.output().stderr}\n${member.messages().map((x) => x.text).join('\n')}`).toBeNull();
  return member;
}

async function startMembers(pbx: TestPbx, spec: Record<string, Behaviour>): Promise<Record<string, Member>> {
  const entries = await Promise.all(Object.entries(spec).map(async ([n, b]) => [n, await startMember(pbx, n, b)] as const));
  return Object.fromEntries(entries);
}

/** The caller: a CallAgent registered as 2001. Any call it is offered is recorded (it must not ring). */
async function startCaller(pbx: TestPbx): Promise<{ agent: CallAgent; offered: Call[] }> {
  const agent = await pbx.phone('2001', password('2001'));
  const offered: Call[] = [];
  agent.on('call', (c) => {
    offered.push(c);
    c.reject(486);
  });
  return { agent, offered };
}

async function hangUpAndSettle(pbx: TestPbx, call: Call): Promise<void> {
  await call.hangup();
  await until(() => pbx.pbx.b2bua.calls.size === 0, 5000, 'the PBX to clear its calls', 20);
}

describe('hunt groups with sipp phones', () => {
  it('ringall: every member rings at once with the caller ID prefix; the first to answer gets the call; the others get CANCEL "Call completed elsewhere"', async () => {
    const { t } = await startPbx([
      { number: '600', name: 'Sales', strategy: 'ringall', members: [{ extension: '2002' }, { extension: '2003' }, { extension: '2004' }], ringSeconds: 20, callerIdNamePrefix: 'Sales: ' },
    ]);
    const m = await startMembers(t, { '2002': 'ring', '2003': 'ring', '2004': 'answer' });
    const { agent } = await startCaller(t);
    const call = await agent.call(t.uri('600'));
    expect(call.state).toBe('answered');
    await until(() => m['2002']!.received('CANCEL').length === 1 && m['2003']!.received('CANCEL').length === 1, 5000, 'the losers to be cancelled', 20);
    for (const n of ['2002', '2003', '2004']) {
      const invites = m[n]!.received('INVITE');
      expect(invites, n).toHaveLength(1);
      expect(invites[0]!.header('From')).toMatch(/^"Sales: Phone 2001" <sip:2001@hunt\.test>/);
    }
    // All three rang at once (within 200 ms of each other).
    const at = ['2002', '2003', '2004'].map((n) => m[n]!.received('INVITE')[0]!.at);
    expect(Math.max(...at) - Math.min(...at)).toBeLessThan(200);
    for (const n of ['2002', '2003']) expect(m[n]!.received('CANCEL')[0]!.header('Reason'), n).toBe(COMPLETED_ELSEWHERE);
    expect(m['2004']!.received('CANCEL')).toHaveLength(0);
    await hangUpAndSettle(t, call);
    await until(() => m['2004']!.received('BYE').length === 1, 5000, 'a BYE at 2004', 20);
    await t.pbx.cdr.flush();
    const cdrs = await readCdrs(join(t.pbx.dataDir, 'cdr.jsonl'));
    expect(cdrs.map((c) => [c.to, c.answeredBy, c.disposition])).toEqual([['600', '2004', 'answered']]);
  });

  it('linear: the busy caller is skipped, 2002 rings its 2 s and is cancelled, busy 2003 (486) passes at once, 2004 answers', async () => {
    const { t } = await startPbx([
      {
        number: '601',
        name: 'Support',
        strategy: 'linear',
        members: [
          { extension: '2001', ringSeconds: 2 },
          { extension: '2002', ringSeconds: 2 },
          { extension: '2003', ringSeconds: 2 },
          { extension: '2004', ringSeconds: 2 },
        ],
        ringSeconds: 20,
      },
    ]);
    const m = await startMembers(t, { '2002': 'ring', '2003': 'busy', '2004': 'answer' });
    const { agent, offered } = await startCaller(t);
    const started = Date.now();
    const call = await agent.call(t.uri('601'));
    const answeredAfter = Date.now() - started;
    expect(call.state).toBe('answered');
    // 2001 is the caller: on a call, no call waiting — busy, so never offered the call.
    expect(offered).toHaveLength(0);
    const inv2002 = m['2002']!.received('INVITE');
    const inv2003 = m['2003']!.received('INVITE');
    const inv2004 = m['2004']!.received('INVITE');
    expect([inv2002.length, inv2003.length, inv2004.length]).toEqual([1, 1, 1]);
    // In order: 2002 for its 2 s, then 2003 (486 at once), then 2004.
    const gap = inv2003[0]!.at - inv2002[0]!.at;
    expect(gap).toBeGreaterThan(1800);
    expect(gap).toBeLessThan(3000);
    expect(inv2004[0]!.at - inv2003[0]!.at).toBeLessThan(500);
    expect(answeredAfter).toBeGreaterThan(2000);
    expect(answeredAfter).toBeLessThan(4500);
    // 2002's time ran out: a plain CANCEL (no "completed elsewhere": nobody had answered).
    const cancel = m['2002']!.received('CANCEL');
    expect(cancel).toHaveLength(1);
    expect(cancel[0]!.at - inv2002[0]!.at).toBeGreaterThan(1800);
    expect(cancel[0]!.header('Reason')).toBeUndefined();
    const sent2003 = m['2003']!.messages().filter((x) => x.direction === 'sent').map(methodOrStatus);
    expect(sent2003).toEqual(['REGISTER', 'REGISTER', '486']);
    await hangUpAndSettle(t, call);
  });

  it('roundrobin: four calls are answered by 2002, 2003, 2004, then 2002 again', async () => {
    const { t } = await startPbx([
      { number: '602', name: 'Rotation', strategy: 'roundrobin', members: [{ extension: '2002', ringSeconds: 5 }, { extension: '2003', ringSeconds: 5 }, { extension: '2004', ringSeconds: 5 }], ringSeconds: 15 },
    ]);
    const m = await startMembers(t, { '2002': 'answer', '2003': 'answer', '2004': 'answer' });
    const { agent } = await startCaller(t);
    for (let i = 0; i < 4; i++) {
      const call = await agent.call(t.uri('602'));
      await hangUpAndSettle(t, call);
    }
    await t.pbx.cdr.flush();
    const cdrs = await readCdrs(join(t.pbx.dataDir, 'cdr.jsonl'));
    expect(cdrs.map((c) => c.answeredBy)).toEqual(['2002', '2003', '2004', '2002']);
    // Each phone saw only the calls it answered: nobody was rung in vain.
    await until(() => m['2002']!.received('BYE').length === 2 && m['2004']!.received('BYE').length === 1, 5000, 'the BYEs at 2002 and 2004', 20);
    expect(['2002', '2003', '2004'].map((n) => m[n]!.received('INVITE').length)).toEqual([2, 1, 1]);
  });

  it('failover: nobody answers within the group time (2 s), the call goes to extension 2004', async () => {
    const { t } = await startPbx([
      { number: '603', name: 'Nobody', strategy: 'ringall', members: [{ extension: '2002' }, { extension: '2003' }], ringSeconds: 2, failover: { type: 'extension', number: '2004' } },
    ]);
    const m = await startMembers(t, { '2002': 'ring', '2003': 'ring', '2004': 'answer' });
    const { agent } = await startCaller(t);
    const call = await agent.call(t.uri('603'));
    expect(call.state).toBe('answered');
    const inv2004 = m['2004']!.received('INVITE');
    expect(inv2004).toHaveLength(1);
    for (const n of ['2002', '2003']) {
      const invite = m[n]!.received('INVITE')[0]!;
      const cancel = m[n]!.received('CANCEL')[0]!;
      expect(cancel.at - invite.at, n).toBeGreaterThan(1800);
      expect(cancel.at - invite.at, n).toBeLessThan(3000);
      expect(cancel.header('Reason'), n).toBeUndefined();
      expect(inv2004[0]!.at).toBeGreaterThanOrEqual(cancel.at - 50);
    }
    await hangUpAndSettle(t, call);
    await t.pbx.cdr.flush();
    const cdrs = await readCdrs(join(t.pbx.dataDir, 'cdr.jsonl'));
    expect(cdrs.map((c) => [c.to, c.answeredBy])).toEqual([['603', '2004']]);
  });

  it('every member busy: the failover runs at once, nobody is rung', async () => {
    const { t } = await startPbx([
      { number: '604', name: 'Busy', strategy: 'linear', members: [{ extension: '2001' }, { extension: '2002' }], ringSeconds: 20, failover: { type: 'extension', number: '2004' } },
    ]);
    const m = await startMembers(t, { '2003': 'answer', '2004': 'answer' });
    // 2002 is on a call to 2003 (no call waiting): busy.
    const other = await t.phone('2002', password('2002'));
    const busyCall = await other.call(t.uri('2003'));
    const { agent, offered } = await startCaller(t);
    const started = Date.now();
    const call = await agent.call(t.uri('604'));
    expect(Date.now() - started).toBeLessThan(1500);
    expect(offered).toHaveLength(0);
    expect(m['2004']!.received('INVITE')).toHaveLength(1);
    await call.hangup();
    await hangUpAndSettle(t, busyCall);
  });

  it('a member on a group call is busy: the next call to the group passes it over', async () => {
    const { t } = await startPbx([
      { number: '608', name: 'Desk', strategy: 'linear', members: [{ extension: '2002', ringSeconds: 5 }, { extension: '2003', ringSeconds: 5 }], ringSeconds: 20 },
    ]);
    const m = await startMembers(t, { '2002': 'answer', '2003': 'answer' });
    const { agent } = await startCaller(t);
    const second = await t.phone('2004', password('2004'));
    const first = await agent.call(t.uri('608'));
    const next = await second.call(t.uri('608'));
    expect(['2002', '2003'].map((n) => m[n]!.received('INVITE').length)).toEqual([1, 1]);
    await first.hangup();
    await hangUpAndSettle(t, next);
    // Free again: the next call goes to 2002 first.
    const third = await agent.call(t.uri('608'));
    await hangUpAndSettle(t, third);
    await t.pbx.cdr.flush();
    const cdrs = await readCdrs(join(t.pbx.dataDir, 'cdr.jsonl'));
    expect(cdrs.map((c) => c.answeredBy).sort()).toEqual(['2002', '2002', '2003']);
    expect(m['2002']!.received('INVITE')).toHaveLength(2);
  });

  it('all members busy and the failover hangs up: the caller gets 480', async () => {
    const { t } = await startPbx([{ number: '605', name: 'Alone', strategy: 'ringall', members: [{ extension: '2001' }], ringSeconds: 20 }]);
    const { agent } = await startCaller(t);
    const err = (await agent.call(t.uri('605')).catch((e: unknown) => e)) as CallError;
    expect(err).toBeInstanceOf(CallError);
    expect(err.status).toBe(480);
  });
});

describe('confirm call (CallAgent members: they press keys by RFC 4733)', () => {
  it('the member who answers hears the prompt; pressing 1 puts the caller through and the other member stops ringing', async () => {
    const { t } = await startPbx([{ number: '606', name: 'Mobiles', strategy: 'ringall', members: [{ extension: '2002' }, { extension: '2003' }], ringSeconds: 20, confirmCalls: true }]);
    const { agent } = await startCaller(t);
    const p2 = await t.phone('2002', password('2002'));
    const p3 = await t.phone('2003', password('2003'));
    const rings2 = nextCall(p2);
    const rings3 = nextCall(p3);
    let answered = false;
    const callerP = agent.call(t.uri('606')).then((c) => {
      answered = true;
      return c;
    });
    const [leg2, leg3] = await Promise.all([rings2, rings3]);
    const heard: number[] = [];
    leg2.on('audio', (pcm) => heard.push(levelDbov(pcm)));
    await leg2.answer();
    // The prompt plays to 2002; until 1 is pressed the caller still hears ringing and 2003 still rings.
    await new Promise((r) => setTimeout(r, 800));
    expect(heard.filter((l) => l > -40).length).toBeGreaterThan(10);
    expect(answered).toBe(false);
    expect(leg3.state).toBe('ringing');
    await leg2.sendDigits('1');
    const caller = await callerP;
    expect(caller.state).toBe('answered');
    expect((await leg3.ended).reason).toBe('cancelled');
    await hangUpAndSettle(t, caller);
  });

  it('a member who presses another key twice declines: the PBX hangs up on that member and rings the next one', async () => {
    const { t } = await startPbx([
      { number: '607', name: 'Mobiles', strategy: 'linear', members: [{ extension: '2002', ringSeconds: 10 }, { extension: '2003', ringSeconds: 10 }], ringSeconds: 20, confirmCalls: true },
    ]);
    const { agent } = await startCaller(t);
    const p2 = await t.phone('2002', password('2002'));
    const p3 = await t.phone('2003', password('2003'));
    const rings2 = nextCall(p2);
    const rings3 = nextCall(p3);
    const callerP = agent.call(t.uri('607'));
    const leg2 = await rings2;
    await leg2.answer();
    await leg2.sendDigits('9');
    await new Promise((r) => setTimeout(r, 300));
    await leg2.sendDigits('9');
    expect((await leg2.ended).reason).toBe('remote-hangup');
    // The next member rings; pressing 1 there connects.
    const leg3 = await rings3;
    await leg3.answer();
    await leg3.sendDigits('1');
    const caller = await callerP;
    expect(caller.state).toBe('answered');
    await hangUpAndSettle(t, caller);
    await t.pbx.cdr.flush();
    const cdrs = await readCdrs(join(t.pbx.dataDir, 'cdr.jsonl'));
    expect(cdrs.map((c) => c.answeredBy)).toEqual(['2003']);
  });
});
