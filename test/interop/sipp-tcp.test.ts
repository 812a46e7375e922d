/**
 * The transport set on the wire against sipp (Debian `sip-tester`) over TCP: sipp's built-in
 * uac scenario (INVITE, 100/180, 200, ACK, BYE, 200) places 50 calls over one TCP
 * connection (`-t t1`), then 50 calls with a connection each (`-t tn`), at a small UAS built
 * on TransactionLayer + SipTransportSet. Every call must complete; the responses go back on
 * the connection the requests came on.
 */
import { tmpdir } from 'node:os';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createResponse } from '../../src/sip/message/index.js';
import { TransactionLayer } from '../../src/sip/transaction/index.js';
import { SipTransportSet } from '../../src/sip/transport/index.js';
import { hasCommand, startPeer, stopAll } from '../helpers/peer-process.js';
import { freeTcpPort, freeUdpPort, freeUdpPortRange } from '../helpers/ports.js';

beforeAll(() => {
  if (!hasCommand('sipp')) throw new Error('sipp is not installed: apt-get install sip-tester (.ci/run does this)');
});

let transports: SipTransportSet | undefined;
let layer: TransactionLayer | undefined;
afterEach(async () => {
  await stopAll();
  layer?.close();
  layer = undefined;
  await transports?.close();
  transports = undefined;
});

/** A UAS on TransactionLayer + SipTransportSet over TCP; runs sipp's uac against it. */
async function runUac(mode: 't1' | 'tn', total: number) {
  const errors: string[] = [];
  const set = await SipTransportSet.listen({
    listen: [{ protocol: 'tcp', address: '127.0.0.1', port: 0 }],
    onError: (e, c) => errors.push(`${c}: ${e instanceof Error ? e.message : String(e)}`),
  });
  transports = set;
  const port = set.endpoints()[0]!.port;
  const stats = { invites: 0, acks: 0, byes: 0, other: 0 };
  const connectionIds = new Set<string>();
  const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
  let tags = 0;
  const l = new TransactionLayer({
    transport: set,
    user: {
      onRequest(tx, inbound) {
        if (inbound.connectionId !== undefined) connectionIds.add(inbound.connectionId);
        const req = tx.request;
        if (req.method === 'INVITE') {
          stats.invites++;
          const toTag = `uas${++tags}`;
          tx.respond(createResponse(req, 180, undefined, { toTag }));
          tx.respond(
            createResponse(req, 200, undefined, {
              toTag,
              headers: [
                ['Contact', `<sip:uas@127.0.0.1:${port};transport=tcp>`],
                ['Content-Type', 'application/sdp'],
              ],
              body: sdp,
            }),
          );
        } else if (req.method === 'BYE') {
          stats.byes++;
          tx.respond(createResponse(req, 200));
        } else {
          stats.other++;
          tx.respond(createResponse(req, 501));
        }
      },
      onStray(inbound) {
        if (inbound.message.isRequest && inbound.message.method === 'ACK') stats.acks++;
      },
    },
  });
  layer = l;
  set.onMessage = (inbound) => l.receive(inbound);

  const sipp = startPeer(
    'sipp',
    [
      `127.0.0.1:${port}`,
      '-sn',
      'uac',
      '-t',
      mode,
      '-m',
      String(total),
      '-r',
      '50',
      '-p',
      String(await freeTcpPort()),
      '-mp',
      String(await freeUdpPortRange(4)),
      '-i',
      '127.0.0.1',
      '-bind_local',
      '-nostdin',
      '-timeout',
      '15s',
      '-timeout_error',
      // -t tn opens a socket per call; sipp refuses to start while its default cap (50,000) exceeds the open-file limit.
      '-max_socket',
      '200',
    ],
    { timeoutMs: 18_000, cwd: tmpdir() },
  );
  const r = await sipp.done;
  const summary = `${JSON.stringify({ stats, transport: set.stats, errors })}\n${r.stderr}${r.stdout.slice(-3000)}`;
  expect(r.code, summary).toBe(0);
  expect(r.stdout, summary).toMatch(new RegExp(`Successful call\\s+\\|\\s+\\d+\\s+\\|\\s+${total}\\s`));
  expect(r.stdout, summary).toMatch(/Failed call\s+\|\s+\d+\s+\|\s+0\s/);
  expect(stats, summary).toEqual({ invites: total, acks: total, byes: total, other: 0 });
  expect(set.stats.malformed).toBe(0);
  expect(set.stats.received).toBe(3 * total);
  return { set, connectionIds, summary };
}

describe('sipp uac over TCP against a UAS on TransactionLayer + SipTransportSet', () => {
  it('completes 50 calls on one connection (-t t1)', async () => {
    const { set, connectionIds, summary } = await runUac('t1', 50);
    expect(connectionIds.size, summary).toBe(1); // -t t1: one connection for everything
    expect(set.stats.accepted).toBe(1);
  }, 20_000);

  it('completes 50 calls with one connection per call (-t tn), and forgets each closed connection', async () => {
    const { set, connectionIds, summary } = await runUac('tn', 50);
    expect(connectionIds.size, summary).toBe(50);
    expect(set.stats.accepted).toBe(50);
    // sipp closes each call's socket (at the latest when it exits): none is left behind.
    await new Promise<void>((resolve, reject) => {
      const end = Date.now() + 2000;
      const check = (): void => {
        if (set.connections().length === 0) resolve();
        else if (Date.now() > end) reject(new Error(`${set.connections().length} connections left\n${summary}`));
        else setTimeout(check, 10);
      };
      check();
    });
    expect(set.stats.closed).toBe(50);
  }, 20_000);
});
