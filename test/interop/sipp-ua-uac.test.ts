/**
 * Our UserAgent as the caller against sipp's built-in uas scenario (INVITE → 180, 200; ACK;
 * BYE → 200): ten calls one after the other, each answered, confirmed and hung up by us;
 * sipp stops after the tenth (`-m 10`) and must exit 0 with ten successful calls.
 */
import { tmpdir } from 'node:os';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UserAgent } from '../../src/sip/ua/session-index.js';
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

const offer = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

describe('our UserAgent calls sipp uas', () => {
  it('10 calls: 180, 200, ACK, BYE 200 each; sipp exits 0', async () => {
    const port = await freeUdpPort();
    const sipp = startPeer(
      'sipp',
      ['-sn', 'uas', '-p', String(port), '-mp', String(await freeUdpPortRange(4)), '-i', '127.0.0.1', '-bind_local', '-nostdin', '-m', '10', '-timeout', '15s', '-timeout_error'],
      { timeoutMs: 18_000, cwd: tmpdir() },
    );
    const agent = await UserAgent.start({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }], aor: 'sip:caller@127.0.0.1', stopTimeoutMs: 200 });
    ua = agent;
    const log: string[] = [];
    // sipp needs a moment to bind its socket; an INVITE sent before it listens is retransmitted anyway.
    for (let i = 0; i < 10; i++) {
      const call = agent.invite(`sip:service@127.0.0.1:${port}`, { body: offer });
      call.on('progress', (res) => log.push(`${i}:${res.status}`));
      call.on('established', (res) => log.push(`${i}:${res.status}`));
      await call.answered;
      const byeRes = await call.bye();
      log.push(`${i}:bye ${byeRes?.status}`);
      expect((await call.ended).reason).toBe('local-bye');
    }
    const r = await sipp.done;
    const summary = `${log.join(' ')}\n${r.stderr}${r.stdout.slice(-2500)}`;
    expect(r.code, summary).toBe(0);
    expect(r.stdout, summary).toMatch(/Successful call\s+\|\s+\d+\s+\|\s+10\s/);
    expect(log.filter((l) => l.endsWith(':180'))).toHaveLength(10);
    expect(log.filter((l) => l.endsWith(':200'))).toHaveLength(10);
    expect(log.filter((l) => l.endsWith('bye 200'))).toHaveLength(10);
    expect(agent.dialogs.size).toBe(0);
  });
});
