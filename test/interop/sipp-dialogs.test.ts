/**
 * The dialog layer on the wire against sipp (Debian `sip-tester`), with a tiny UAS built on
 * TransactionLayer + DialogManager over a real UDP socket on 127.0.0.1:
 *
 * 1. sipp's built-in uac scenario, 50 calls with 10% packet loss (`-lost 10`): lost 2xx are
 *    retransmitted by the dialog layer until the ACK (§13.3.1.4), sipp's retransmitted
 *    INVITEs and BYEs are absorbed by the transactions, and every call completes.
 * 2. `scenarios/uac-prack.xml`: sipp requires 100rel; our 180 goes out reliably with an RSeq,
 *    sipp PRACKs it with the matching RAck, and only then do we answer 200.
 */
import { createSocket, type Socket } from 'node:dgram';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TransactionLayer } from '../../src/sip/transaction/index.js';
import { DialogManager, type TerminationReason } from '../../src/sip/dialog/index.js';
import { hasCommand, startPeer, stopAll } from '../helpers/peer-process.js';
import { UdpSocketTransport, receiveParsed } from '../helpers/udp-socket-transport.js';
import { sippLocalArgs } from '../helpers/sipp.js';

beforeAll(() => {
  if (!hasCommand('sipp')) throw new Error('sipp is not installed: apt-get install sip-tester (.ci/run does this)');
});

let socket: Socket | undefined;
let layer: TransactionLayer | undefined;
let manager: DialogManager | undefined;
const timers = new Set<NodeJS.Timeout>();
afterEach(async () => {
  await stopAll();
  for (const t of timers) clearTimeout(t);
  timers.clear();
  manager?.close();
  manager = undefined;
  layer?.close();
  layer = undefined;
  socket?.close();
  socket = undefined;
});

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

interface Uas {
  port: number;
  manager: DialogManager;
  stats: { invites: number; acks: number; pracks: number; malformed: number; ended: Map<TerminationReason, number> };
}

/** A UAS: 180 (reliable when asked for), then 200 with SDP — at once, or after the PRACK. */
async function startUas(answerAfterPrack: boolean): Promise<Uas> {
  const s = createSocket('udp4');
  socket = s;
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  const stats: Uas['stats'] = { invites: 0, acks: 0, pracks: 0, malformed: 0, ended: new Map() };
  const l = new TransactionLayer({ transport: new UdpSocketTransport(s), timers: { T1: 500, T2: 4000 }, user: { onRequest: () => undefined } });
  layer = l;
  const m: DialogManager = new DialogManager({
    layer: l,
    contact: `<sip:uas@127.0.0.1:${port}>`,
    events: {
      onIncomingRequest(tx) {
        if (tx.request.method !== 'INVITE') {
          m.respond(tx, 405);
          return;
        }
        stats.invites++;
        m.respond(tx, 180, { reliable: answerAfterPrack });
        if (!answerAfterPrack) m.respond(tx, 200, { headers: [['Content-Type', 'application/sdp']], body: SDP });
        else pendingAnswers.set(tx.request.callId, () => m.respond(tx, 200, { headers: [['Content-Type', 'application/sdp']], body: SDP }));
      },
      onPrack(dialog) {
        stats.pracks++;
        const answer = pendingAnswers.get(dialog.id.callId);
        pendingAnswers.delete(dialog.id.callId);
        if (answer !== undefined) {
          const t = setTimeout(() => {
            timers.delete(t);
            answer();
          }, 50);
          timers.add(t);
        }
      },
      onAck: () => {
        stats.acks++;
      },
      onTerminated: (_d, reason) => stats.ended.set(reason, (stats.ended.get(reason) ?? 0) + 1),
    },
  });
  manager = m;
  const pendingAnswers = new Map<string, () => void>();
  receiveParsed(s, port, (inbound) => l.receive(inbound), () => stats.malformed++);
  return { port, manager: m, stats };
}

async function sippArgs(port: number, extra: string[]): Promise<string[]> {
  return [
    `127.0.0.1:${port}`,
    ...extra,
    ...(await sippLocalArgs('30s')),
  ];
}

const summaryOf = (uas: Uas, r: { stderr: string; stdout: string }) =>
  `${JSON.stringify({ ...uas.stats, ended: [...uas.stats.ended] })}\n${r.stderr}${r.stdout.slice(-3000)}`;

describe('sipp against a UAS on TransactionLayer + DialogManager', () => {
  it('completes 50 calls of the built-in uac scenario with 10% packet loss (-lost 10)', async () => {
    const uas = await startUas(false);
    const total = 50;
    const sipp = startPeer('sipp', await sippArgs(uas.port, ['-sn', 'uac', '-m', String(total), '-r', '25', '-lost', '10']), { timeoutMs: 34_000, cwd: tmpdir() });
    const r = await sipp.done;
    const summary = summaryOf(uas, r);
    expect(r.code, summary).toBe(0);
    expect(r.stdout, summary).toMatch(new RegExp(`Successful call\\s+\\|\\s+\\d+\\s+\\|\\s+${total}\\s`));
    expect(r.stdout, summary).toMatch(/Failed call\s+\|\s+\d+\s+\|\s+0\s/);
    expect(uas.stats.invites, summary).toBe(total); // retransmitted INVITEs were absorbed
    expect(uas.stats.malformed).toBe(0);
    // Every dialog ended with sipp's BYE, except those whose BYE sipp never sent because it took
    // our retransmitted 2xx to the INVITE for the answer to its lost BYE (the built-in scenario
    // does not check the CSeq method); those are still waiting for their ACK or BYE.
    const byes = uas.stats.ended.get('remote-bye') ?? 0;
    expect(byes + uas.manager.size, summary).toBe(total);
    expect(byes, summary).toBeGreaterThanOrEqual(total - 15);
    if (process.env.SIPP_STATS) console.log(JSON.stringify({ ...uas.stats, ended: [...uas.stats.ended], open: uas.manager.size }));
  }, 36_000);

  it('acknowledges a reliable 180 with PRACK (scenarios/uac-prack.xml, Require: 100rel)', async () => {
    const uas = await startUas(true);
    const total = 5;
    const scenario = join(import.meta.dirname, 'scenarios', 'uac-prack.xml');
    const sipp = startPeer('sipp', await sippArgs(uas.port, ['-sf', scenario, '-m', String(total), '-r', '10']), { timeoutMs: 20_000, cwd: tmpdir() });
    const r = await sipp.done;
    const summary = summaryOf(uas, r);
    expect(r.code, summary).toBe(0);
    expect(r.stdout, summary).toMatch(new RegExp(`Successful call\\s+\\|\\s+\\d+\\s+\\|\\s+${total}\\s`));
    expect(uas.stats.pracks, summary).toBe(total);
    expect(uas.stats.acks, summary).toBe(total);
    expect(uas.stats.ended.get('remote-bye'), summary).toBe(total);
    expect(uas.manager.size).toBe(0);
  }, 22_000);
});
