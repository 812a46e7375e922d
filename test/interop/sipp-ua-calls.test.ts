/**
 * sipp's built-in uac scenario (INVITE, 100/180, 200, ACK, BYE, 200) against our UserAgent
 * auto-answering with an SDP answer: 500 calls at 50 calls/s over UDP; 100 calls with sipp
 * dropping 10% of what it sends and receives (`-lost 10`), which only retransmissions
 * recover; 200 calls over one TCP connection (`-t t1`). sipp must report every call
 * successful and exit 0.
 */
import { tmpdir } from 'node:os';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UserAgent, type IncomingSession } from '../../src/sip/ua/session-index.js';
import { freeUdpPort, freeUdpPortRange } from '../helpers/ports.js';
import { hasCommand, startPeer, stopAll } from '../helpers/peer-process.js';

beforeAll(() => {
  if (!hasCommand('sipp')) throw new Error('sipp is not installed: apt-get install sip-tester (.ci/run does this)');
});

let ua: UserAgent | undefined;
afterEach(async () => {
  await stopAll();
  await ua?.stop();
  ua = undefined;
});

const answer = 'v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

interface Tally {
  invites: number;
  confirmed: number;
  remoteBye: number;
  ends: Map<string, string>;
}

/** A UserAgent that rings and answers every call; counts what happens. */
async function answeringAgent(protocol: 'udp' | 'tcp'): Promise<{ ua: UserAgent; tally: Tally }> {
  const tally: Tally = { invites: 0, confirmed: 0, remoteBye: 0, ends: new Map() };
  const agent = await UserAgent.start({ listen: [{ protocol, address: '127.0.0.1', port: 0 }], aor: 'sip:service@127.0.0.1', stopTimeoutMs: 200 });
  agent.on('invite', (call: IncomingSession) => {
    tally.invites++;
    call.ringing();
    call.accept({ body: answer }).then(
      () => tally.confirmed++,
      () => undefined,
    );
    call.on('terminated', (end) => {
      tally.ends.set(call.callId, end.reason);
      if (end.reason === 'remote-bye') tally.remoteBye++;
    });
  });
  ua = agent;
  return { ua: agent, tally };
}

async function runSipp(port: number, extra: string[], timeoutMs: number) {
  const sipp = startPeer(
    'sipp',
    [
      `127.0.0.1:${port}`,
      '-sn', 'uac',
      '-p', String(await freeUdpPort()),
      '-mp', String(await freeUdpPortRange(4)),
      '-i', '127.0.0.1',
      '-bind_local',
      '-nostdin',
      '-timeout', `${Math.floor(timeoutMs / 1000) - 2}s`,
      '-timeout_error',
      ...extra,
    ],
    { timeoutMs, cwd: tmpdir() },
  );
  return sipp.done;
}

function expectAllSuccessful(r: { code: number | null; stdout: string; stderr: string }, total: number, summary: string): void {
  expect(r.code, summary).toBe(0);
  expect(r.stdout, summary).toMatch(new RegExp(`Successful call\\s+\\|\\s+\\d+\\s+\\|\\s+${total}\\s`));
  expect(r.stdout, summary).toMatch(/Failed call\s+\|\s+\d+\s+\|\s+0\s/);
}

describe('sipp uac calls our UserAgent', () => {
  it('500 calls at 50 calls/s over UDP, none failed', async () => {
    const { ua: agent, tally } = await answeringAgent('udp');
    const total = 500;
    const r = await runSipp(agent.port, ['-m', String(total), '-r', '50', '-l', '100'], 25_000);
    const summary = `${JSON.stringify({ ...tally, ends: tally.ends.size })}\n${r.stderr}${r.stdout.slice(-2500)}`;
    expectAllSuccessful(r, total, summary);
    expect(tally.invites).toBe(total);
    expect(tally.remoteBye).toBe(total);
    expect(agent.sessions.size).toBe(0);
    expect(agent.dialogs.size).toBe(0);
  }, 30_000);

  it('100 calls with 10% of the messages lost (-lost 10): retransmissions complete every call', async () => {
    const { ua: agent, tally } = await answeringAgent('udp');
    const total = 100;
    const r = await runSipp(agent.port, ['-m', String(total), '-r', '50', '-l', '100', '-lost', '10'], 34_000);
    const summary = `${JSON.stringify({ ...tally, ends: tally.ends.size })}\n${r.stderr}${r.stdout.slice(-2500)}`;
    expectAllSuccessful(r, total, summary);
    // Retransmitted INVITEs were absorbed by the transactions, not taken for new calls.
    expect(tally.invites).toBe(total);
    // sipp's built-in uac takes any 200 as the answer to its BYE (it does not check the CSeq
    // method, see sipp-transactions.test.ts): when its ACK and BYE are both lost, our
    // retransmitted 2xx "completes" the call for sipp and the BYE never reaches us. Those
    // calls are still up here (or ended by the no-ACK rule); every other call ended by BYE.
    expect(tally.remoteBye, summary).toBeGreaterThanOrEqual(total - 10);
    for (const reason of tally.ends.values()) expect(['remote-bye', 'no-ack']).toContain(reason);
  }, 40_000);

  it('200 calls over one TCP connection (-t t1)', async () => {
    const { ua: agent, tally } = await answeringAgent('tcp');
    const total = 200;
    const r = await runSipp(agent.port, ['-t', 't1', '-m', String(total), '-r', '100', '-l', '100'], 20_000);
    const summary = `${JSON.stringify({ ...tally, ends: tally.ends.size })}\n${r.stderr}${r.stdout.slice(-2500)}`;
    expectAllSuccessful(r, total, summary);
    expect(tally.invites).toBe(total);
    expect(tally.remoteBye).toBe(total);
    expect(agent.sessions.size).toBe(0);
  }, 25_000);
});
