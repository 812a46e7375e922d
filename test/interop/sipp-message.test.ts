/**
 * The message layer on the wire against sipp (Debian `sip-tester`): sipp's parser reads what
 * we serialize, and ours reads what sipp sends, over real UDP sockets on 127.0.0.1.
 */
import { createSocket, type Socket } from 'node:dgram';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStatelessUas, type StatelessUas } from '../../examples/stateless-uas.js';
import { SipRequest, parseMessage, serializeMessage, type SipResponse } from '../../src/sip/index.js';
import { freeUdpPort, freeUdpPortRange } from '../helpers/ports.js';
import { hasCommand, startPeer, stopAll } from '../helpers/peer-process.js';

const scenarios = join(__dirname, 'scenarios');

beforeAll(() => {
  if (!hasCommand('sipp')) throw new Error('sipp is not installed: apt-get install sip-tester (.ci/run does this)');
});

let uas: StatelessUas | undefined;
let socket: Socket | undefined;
afterEach(async () => {
  await stopAll();
  await uas?.close();
  uas = undefined;
  socket?.close();
  socket = undefined;
});

async function sippArgs(): Promise<string[]> {
  const port = await freeUdpPort();
  const media = await freeUdpPortRange(4); // sipp binds mp..mp+3 (audio and video)
  return ['-p', String(port), '-mp', String(media), '-i', '127.0.0.1', '-bind_local', '-nostdin', '-trace_err', '-timeout', '20s', '-timeout_error'];
}

describe('sipp as client, the message layer as a stateless UAS', () => {
  it('completes sipp uac calls (INVITE, 200, ACK, BYE, 200)', async () => {
    uas = await startStatelessUas();
    const calls = 20;
    const sipp = startPeer('sipp', [`127.0.0.1:${uas.port}`, '-sn', 'uac', '-m', String(calls), '-r', '40', '-l', '10', ...(await sippArgs())], {
      timeoutMs: 30_000,
      cwd: await import('node:os').then((os) => os.tmpdir()),
    });
    const r = await sipp.done;
    expect(r.code, r.stderr + r.stdout.slice(-2000)).toBe(0);
    expect(uas.stats.requests).toMatchObject({ INVITE: calls, ACK: calls, BYE: calls });
    expect(uas.stats.malformed).toBe(0);
  });

  it('answers compact-form OPTIONS with 200 and malformed requests with 400 and a reason', async () => {
    uas = await startStatelessUas();
    const sipp = startPeer(
      'sipp',
      [`127.0.0.1:${uas.port}`, '-sf', join(scenarios, 'options-and-bad-requests.xml'), '-m', '5', '-r', '20', ...(await sippArgs())],
      { timeoutMs: 30_000, cwd: await import('node:os').then((os) => os.tmpdir()) },
    );
    const r = await sipp.done;
    expect(r.code, r.stderr + r.stdout.slice(-2000)).toBe(0);
    expect(uas.stats.requests.OPTIONS).toBe(5);
    expect(uas.stats.malformed).toBe(10);
  });
});

describe('the message layer as client, sipp as UAS', () => {
  it('a call built with SipRequest completes against sipp -sn uas', async () => {
    const sippPort = await freeUdpPort();
    const args = await sippArgs();
    args[1] = String(sippPort);
    const sipp = startPeer('sipp', ['-sn', 'uas', '-m', '1', ...args], { timeoutMs: 30_000, cwd: (await import('node:os')).tmpdir() });
    // Wait for sipp to bind its port.
    await new Promise((r) => setTimeout(r, 400));

    const s = createSocket('udp4');
    socket = s;
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const local = `127.0.0.1:${s.address().port}`;
    const responses: SipResponse[] = [];
    let wake: (() => void) | undefined;
    s.on('message', (data) => {
      const m = parseMessage(data);
      if (!m.isRequest) responses.push(m);
      wake?.();
    });
    const waitFor = async (pred: () => boolean): Promise<void> => {
      const deadline = Date.now() + 5000;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`timed out; got ${responses.map((x) => x.status).join(',')}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 200);
        });
      }
    };
    const send = (m: SipRequest): void => {
      s.send(serializeMessage(m), sippPort, '127.0.0.1');
    };
    const callId = `switchboard-${Date.now()}@127.0.0.1`;
    const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
    const invite = new SipRequest(`INVITE`, `sip:service@127.0.0.1:${sippPort}`, [
      ['Via', `SIP/2.0/UDP ${local};branch=z9hG4bK-inv1;rport`],
      ['Max-Forwards', 70],
      ['From', `"Switchboard Test" <sip:tester@${local}>;tag=abc123`],
      ['To', `<sip:service@127.0.0.1:${sippPort}>`],
      ['Call-ID', callId],
      ['CSeq', '1 INVITE'],
      ['Contact', `<sip:tester@${local}>`],
      ['Content-Type', 'application/sdp'],
    ], sdp);
    send(invite);
    await waitFor(() => responses.some((r) => r.status === 200));
    const ok = responses.find((r) => r.status === 200)!;
    expect(responses.some((r) => r.status === 180)).toBe(true);
    expect(ok.cseq).toEqual({ seq: 1, method: 'INVITE' });
    expect(ok.callId).toBe(callId);
    expect(ok.from.tag).toBe('abc123');
    const toTag = ok.to.tag;
    expect(toTag).toBeTruthy();
    expect(ok.topVia!.branch).toBe('z9hG4bK-inv1');
    expect(ok.contentType?.essence).toBe('application/sdp');
    const dialogHeaders = (method: string, seq: number, branch: string): [string, string | number][] => [
      ['Via', `SIP/2.0/UDP ${local};branch=${branch};rport`],
      ['Max-Forwards', 70],
      ['From', `"Switchboard Test" <sip:tester@${local}>;tag=abc123`],
      ['To', String(ok.to)],
      ['Call-ID', callId],
      ['CSeq', `${seq} ${method}`],
    ];
    const target = ok.contacts[0] ? String(ok.contacts[0].uri) : `sip:service@127.0.0.1:${sippPort}`;
    send(new SipRequest('ACK', target, dialogHeaders('ACK', 1, 'z9hG4bK-ack1')));
    responses.length = 0;
    send(new SipRequest('BYE', target, dialogHeaders('BYE', 2, 'z9hG4bK-bye1')));
    await waitFor(() => responses.some((r) => r.cseq.method === 'BYE' && r.status === 200));
    const r = await sipp.done;
    expect(r.code, r.stderr + r.stdout.slice(-2000)).toBe(0);
  });
});
