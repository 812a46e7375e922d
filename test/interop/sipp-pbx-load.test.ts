/**
 * The PBX under load from sipp (Debian `sip-tester`), both phones played by sipp over UDP on
 * 127.0.0.1:
 *
 * 1. sipp registers as 1002 with digest (register-digest.xml, one REGISTER → 401 → REGISTER
 *    with credentials → 200) from port P, exits, and a sipp UAS starts on the same port P —
 *    the binding `sip:1002@127.0.0.1:P` now reaches it. It answers every INVITE (180, 200
 *    with PCMU SDP) and echoes the RTP it receives (`-rtp_echo`).
 * 2. sipp registers as 1001 with digest, then places 1,000 calls as 1001 to 1002 at 50 calls/s
 *    (pbx-uac.xml): INVITE → 407 → INVITE with credentials → 180 → 200 → ACK → 1 s of PCMU
 *    from a pcap (20 ms packets, played on a raw socket: root only) → BYE → 200.
 *
 * Every call is two legs in the PBX with media anchored and relayed. sipp must report 1,000
 * successful calls and 0 failed on both sides and exit 0; the PBX must write 1,000 CDRs with
 * disposition `answered`; the callee leg of (almost) every call must have received RTP from
 * the UAS (the echo of what the PBX relayed to it), so media went caller → PBX → callee →
 * PBX and back.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Call } from '../../src/call/index.js';
import { encodeMuLaw } from '../../src/codecs/index.js';
import { readCdrs } from '../../src/pbx/cdr-writer.js';
import { serializeRtp } from '../../src/rtp/index.js';
import { hasCommand, startPeer, stopAll } from '../helpers/peer-process.js';
import { startTestPbx, testConfig, type TestPbx } from '../helpers/pbx.js';
import { freeUdpPort, freeUdpPortRange } from '../helpers/ports.js';

const scenarios = join(__dirname, 'scenarios');
const work = mkdtempSync(join(tmpdir(), 'sb-sipp-pbx-load-'));
const CALLS = Number(process.env.SIPP_PBX_CALLS ?? 1000);
const RATE = 50;

/**
 * A classic pcap (Ethernet, IPv4, UDP) of `packets` RTP packets of PCMU, 20 ms apart: a 440 Hz
 * tone. sipp's play_pcap_audio keeps the payloads and timing and rewrites addresses and ports.
 */
function g711Pcap(packets: number): Buffer {
  const rtpLen = 12 + 160;
  const udpLen = 8 + rtpLen;
  const ipLen = 20 + udpLen;
  const frameLen = 14 + ipLen;
  const out = Buffer.alloc(24 + packets * (16 + frameLen));
  out.writeUInt32LE(0xa1b2c3d4, 0); // magic, microsecond timestamps
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(65535, 16); // snaplen
  out.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const pcm = new Int16Array(160);
  const payload = new Uint8Array(160);
  let o = 24;
  for (let i = 0; i < packets; i++) {
    const usec = i * 20_000;
    out.writeUInt32LE(1_700_000_000 + Math.floor(usec / 1e6), o);
    out.writeUInt32LE(usec % 1e6, o + 4);
    out.writeUInt32LE(frameLen, o + 8);
    out.writeUInt32LE(frameLen, o + 12);
    o += 16;
    // Ethernet: locally administered MACs, type IPv4.
    out.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], o);
    out.writeUInt16BE(0x0800, o + 12);
    const ip = o + 14;
    out.writeUInt8(0x45, ip);
    out.writeUInt16BE(ipLen, ip + 2);
    out.writeUInt16BE(i & 0xffff, ip + 4);
    out.writeUInt8(64, ip + 8); // TTL
    out.writeUInt8(17, ip + 9); // UDP
    out.set([127, 0, 0, 1, 127, 0, 0, 1], ip + 12);
    let sum = 0;
    for (let k = 0; k < 20; k += 2) sum += out.readUInt16BE(ip + k);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    out.writeUInt16BE(~sum & 0xffff, ip + 10);
    const udp = ip + 20;
    out.writeUInt16BE(6000, udp);
    out.writeUInt16BE(6002, udp + 2);
    out.writeUInt16BE(udpLen, udp + 4); // checksum 0: none (sipp recomputes it)
    for (let n = 0; n < 160; n++) pcm[n] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (i * 160 + n)) / 8000));
    encodeMuLaw(pcm, payload);
    serializeRtp({ payloadType: 0, marker: i === 0, sequenceNumber: 1000 + i, timestamp: 160_000 + i * 160, ssrc: 0x5b1d_0001 }, payload, out, udp + 8);
    o += frameLen;
  }
  return out;
}

let t: TestPbx | undefined;

beforeAll(() => {
  if (!hasCommand('sipp')) throw new Error('sipp is not installed: apt-get install sip-tester (.ci/run does this)');
  if (process.getuid?.() !== 0) throw new Error('sipp plays pcap audio on a raw socket: run this test as root (CI does)');
  writeFileSync(join(work, 'g711-1s.pcap'), g711Pcap(50));
});

afterEach(async () => {
  await stopAll();
  await t?.stop();
  t = undefined;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function sippArgs(pbxPort: number, scenario: string, localPort: number, mediaPort: number, timeoutS: number, extra: string[]): string[] {
  return [
    `127.0.0.1:${pbxPort}`,
    '-sf', join(scenarios, scenario),
    '-p', String(localPort),
    '-mp', String(mediaPort),
    '-i', '127.0.0.1',
    '-bind_local',
    '-nostdin',
    '-timeout', `${timeoutS}s`,
    '-timeout_error',
    ...extra,
  ];
}

/** One digest REGISTER of `user` from `localPort` (register-digest.xml); throws unless sipp exits 0. */
async function register(pbxPort: number, user: string, password: string, localPort: number): Promise<void> {
  const peer = startPeer('sipp', sippArgs(pbxPort, 'register-digest.xml', localPort, await freeUdpPortRange(4), 8, ['-s', user, '-au', user, '-ap', password, '-m', '1']), { timeoutMs: 10_000, cwd: work });
  const r = await peer.done;
  if (r.code !== 0) throw new Error(`sipp REGISTER of ${user} failed (exit ${r.code}):\n${r.stderr}${r.stdout.slice(-2000)}`);
}

/** The cumulative columns of the last row of a `-trace_stat` CSV file. */
function lastStats(file: string): Record<string, string> {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const names = lines[0]!.split(';');
  const values = lines[lines.length - 1]!.split(';');
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? '']));
}

describe('sipp load through the PBX', () => {
  it(`1001 calls 1002 ${CALLS} times at ${RATE} calls/s with RTP both ways through the PBX: 0 failures, ${CALLS} answered CDRs`, async () => {
    const config = testConfig();
    // About 60 calls at once (1.1 s each at 50/s), two legs each: 240 RTP+RTCP ports; room for 4x that.
    const rtpBase = await freeUdpPortRange(2);
    t = await startTestPbx({ ...config, rtp: { address: '127.0.0.1', portMin: rtpBase, portMax: Math.min(65534, rtpBase + 1000) - 1 } });
    const pbx = t.pbx;

    // Callee legs seen while their calls are up (polled): afterwards, how much RTP each received.
    const calleeLegs = new Map<string, Call>();
    const poll = setInterval(() => {
      for (const pc of pbx.b2bua.calls) if (pc.outbound !== undefined) calleeLegs.set(pc.id, pc.outbound);
    }, 50);

    try {
      const uasPort = await freeUdpPort();
      await register(pbx.port, '1002', 'password-1002', uasPort);
      const uas = startPeer(
        'sipp',
        sippArgs(pbx.port, 'pbx-uas.xml', uasPort, await freeUdpPortRange(4), 45, ['-m', String(CALLS), '-rtp_echo', '-trace_stat', '-stf', join(work, 'uas-stat.csv'), '-trace_err', '-error_file', join(work, 'uas-err.log')]),
        { timeoutMs: 50_000, cwd: work },
      );
      await register(pbx.port, '1001', 'password-1001', await freeUdpPort());

      const uac = startPeer(
        'sipp',
        sippArgs(pbx.port, 'pbx-uac.xml', await freeUdpPort(), await freeUdpPortRange(4), 40, [
          '-s', '1002',
          '-au', '1001',
          '-ap', 'password-1001',
          // The digest uri must be the Request-URI (sipp's default is sip:remote_ip:remote_port).
          '-auth_uri', `1002@127.0.0.1:${pbx.port}`,
          '-m', String(CALLS),
          '-r', String(RATE),
          '-l', '400',
          '-trace_stat', '-stf', join(work, 'uac-stat.csv'),
          '-trace_err', '-error_file', join(work, 'uac-err.log'),
        ]),
        { timeoutMs: 45_000, cwd: work },
      );
      const r = await uac.done;
      const readErr = (f: string): string => {
        try {
          return readFileSync(join(work, f), 'utf8').slice(0, 3000);
        } catch {
          return '';
        }
      };
      const summary = `uac exit ${r.code}\n${r.stderr}${r.stdout.slice(-3000)}\n${readErr('uac-err.log')}`;
      expect(r.code, summary).toBe(0);
      expect(r.stdout, summary).toMatch(new RegExp(`Successful call\\s+\\|\\s+\\d+\\s+\\|\\s+${CALLS}\\s`));
      expect(r.stdout, summary).toMatch(/Failed call\s+\|\s+\d+\s+\|\s+0\s/);
      const stats = lastStats(join(work, 'uac-stat.csv'));
      expect([stats['SuccessfulCall(C)'], stats['FailedCall(C)']], summary).toEqual([String(CALLS), '0']);

      const u = await uas.done;
      const uasSummary = `uas exit ${u.code}\n${u.stderr}${u.stdout.slice(-3000)}\n${readErr('uas-err.log')}`;
      expect(u.code, uasSummary).toBe(0);
      const uasStats = lastStats(join(work, 'uas-stat.csv'));
      expect([uasStats['SuccessfulCall(C)'], uasStats['FailedCall(C)']], uasSummary).toEqual([String(CALLS), '0']);

      const deadline = Date.now() + 5000;
      while (pbx.b2bua.calls.size > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
      expect(pbx.b2bua.calls.size).toBe(0);
      await pbx.cdr.flush();
      const cdrs = await readCdrs(join(pbx.dataDir, 'cdr.jsonl'));
      expect(cdrs).toHaveLength(CALLS);
      const dispositions = new Map<string, number>();
      for (const c of cdrs) dispositions.set(c.disposition, (dispositions.get(c.disposition) ?? 0) + 1);
      expect(Object.fromEntries(dispositions)).toEqual({ answered: CALLS });
      expect(cdrs.every((c) => c.from === '1001' && c.to === '1002' && c.answeredBy === '1002' && c.hangupBy === 'caller')).toBe(true);

      // Media: 50 packets per call went out from the caller; the callee echoed what the PBX relayed.
      expect(calleeLegs.size).toBe(CALLS);
      const received = [...calleeLegs.values()].map((leg) => leg.media?.session.receptionStats?.received ?? 0);
      const withMedia = received.filter((n) => n >= 25).length;
      const total = received.reduce((a, b) => a + b, 0);
      const mediaSummary = `callee legs with ≥ 25 echoed packets: ${withMedia}/${CALLS}; packets echoed in all: ${total}`;
      expect(withMedia, mediaSummary).toBeGreaterThanOrEqual(CALLS * 0.99);
      expect(total, mediaSummary).toBeGreaterThan(CALLS * 40);
    } finally {
      clearInterval(poll);
    }
  }, 60_000);
});
