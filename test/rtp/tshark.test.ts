/**
 * Interop with Wireshark's dissectors (tshark, Debian package `tshark`): capture our RTP,
 * RTCP (SR/RR, SDES, BYE, APP, XR VoIP metrics) and RFC 4733 telephone-events on loopback,
 * then decode the capture and require no malformed-packet flags.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { RtpSession } from '../../src/rtp/index.js';
import type { VoipMetrics } from '../../src/rtp/index.js';
import { paced, testPortPool, waitFor } from './helpers.js';

const run = promisify(execFile);
const haveTshark = spawnSync('sh', ['-c', 'command -v tshark'], { encoding: 'utf8' }).status === 0;
if (!haveTshark && process.env.CI) {
  throw new Error('tshark is required in CI (Debian package tshark; .ci/run installs it)');
}
if (!haveTshark) console.warn('tshark not installed: skipping the tshark interop test (apt-get install tshark)');

const sessions: RtpSession[] = [];
const procs: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
  await Promise.all(sessions.splice(0).map((s) => s.close()));
  for (const d of dirs.splice(0)) if (!process.env.KEEP_CAPTURE) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(!haveTshark)('tshark decodes our RTP, RTCP and telephone-events', () => {
  it('with no malformed packets', async () => {
    const pool = testPortPool('tshark');
    const a = await RtpSession.open({ address: '127.0.0.1', portPool: pool, mediaTimeoutMs: 0, rtcpMinIntervalMs: 100, cname: 'a@switchboard' });
    sessions.push(a);
    const b = await RtpSession.open({ address: '127.0.0.1', portPool: pool, mediaTimeoutMs: 0, rtcpMinIntervalMs: 100, cname: 'b@switchboard' });
    sessions.push(b);
    a.setRemote({ address: '127.0.0.1', port: b.localPort });
    b.setRemote({ address: '127.0.0.1', port: a.localPort });

    const dir = mkdtempSync(join(tmpdir(), 'sb-tshark-'));
    dirs.push(dir);
    const file = join(dir, 'rtp.pcapng');
    const filter = `udp portrange ${a.localPort}-${a.localPort + 1} or udp portrange ${b.localPort}-${b.localPort + 1}`;
    const cap = spawn('tshark', ['-i', 'lo', '-f', filter, '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    procs.push(cap);
    let stderr = '';
    cap.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(() => stderr.includes('Capturing on') || cap.exitCode !== null, 15000, 'tshark to start capturing');
    expect(cap.exitCode, stderr).toBeNull();
    // "Capturing on" comes a moment before the kernel filter is attached: give it time.
    await new Promise((r) => setTimeout(r, 1000));

    // 25 frames each way, two digits, and a report with APP and an XR VoIP-metrics block.
    const frame = new Uint8Array(160).fill(0xff);
    await paced(25, () => {
      a.sendFrame(frame);
      b.sendFrame(frame);
    });
    await a.sendDigit('1', 80);
    await a.sendDigit('#', 60);
    const metrics: VoipMetrics = {
      ssrc: b.ssrc, lossRate: 0, discardRate: 1, burstDensity: 0, gapDensity: 0, burstDuration: 0, gapDuration: 0,
      roundTripDelay: 1, endSystemDelay: 40, signalLevel: 127, noiseLevel: 127, rerl: 127, gmin: 16, rFactor: 93,
      extRFactor: 127, mosLq: 41, mosCq: 41, rxConfig: 0xa0, jbNominal: 20, jbMaximum: 60, jbAbsMax: 2560,
    };
    a.sendReport([
      { type: 'app', subtype: 1, ssrc: a.ssrc, name: 'SBTS', data: Uint8Array.of(1, 2, 3, 4) },
      { type: 'xr', ssrc: a.ssrc, blocks: [{ blockType: 7, metrics }] },
    ]);
    // A control: one truncated SR (claims 28 bytes, carries 8) from a raw socket, which
    // tshark must flag — proving the malformed check below can fail.
    const probe = createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    const probePort = probe.address().port;
    await new Promise<void>((r) => probe.send(Uint8Array.of(0x80, 0xc8, 0x00, 0x06, 0x11, 0x22, 0x33, 0x44), b.localPort + 1, '127.0.0.1', () => r()));
    probe.close();
    await new Promise((r) => setTimeout(r, 300));
    await a.close('test over');
    await new Promise((r) => setTimeout(r, 300));
    cap.kill('SIGINT');
    await new Promise<void>((r) => (cap.exitCode !== null ? r() : cap.once('exit', () => r())));

    const decode = async (display: string, fields: string[] = ['frame.number']): Promise<string[]> => {
      const args = ['-r', file, '-n'];
      for (const port of [a.localPort, b.localPort]) args.push('-d', `udp.port==${port},rtp`, '-d', `udp.port==${port + 1},rtcp`);
      args.push('-d', 'rtp.pt==101,rtpevent', '-Y', display, '-T', 'fields');
      for (const f of fields) args.push('-e', f);
      const { stdout } = await run('tshark', args, { maxBuffer: 16 << 20 });
      return stdout.split('\n').filter((l) => l.trim() !== '');
    };

    const flagged = await decode('_ws.malformed || _ws.expert.severity >= "Warning"', ['udp.srcport']);
    expect(flagged).toEqual([String(probePort)]);
    expect(b.malformedPackets).toBe(1);
    // Audio: 25 frames each way (allow for a packet the capture start may still miss).
    const audio = await decode('rtp && !rtpevent', ['rtp.p_type', 'rtp.ssrc']);
    expect(audio.length).toBeGreaterThanOrEqual(40);
    expect(audio.length).toBeLessThanOrEqual(50);
    expect(new Set(audio)).toEqual(new Set([`0\t0x${a.ssrc.toString(16).padStart(8, '0')}`, `0\t0x${b.ssrc.toString(16).padStart(8, '0')}`]));
    // '1' for 80 ms: 3 updates + 3 end packets; '#' for 60 ms: 2 updates + 3 end packets.
    const events = await decode('rtpevent', ['rtpevent.event_id', 'rtpevent.end_of_event', 'rtp.marker']);
    expect(events.filter((l) => l.startsWith('1\t'))).toEqual(['1\t0\t1', '1\t0\t0', '1\t0\t0', '1\t1\t0', '1\t1\t0', '1\t1\t0']);
    expect(events.filter((l) => l.startsWith('11\t'))).toHaveLength(5);
    expect((await decode('rtcp.pt == 200')).length).toBeGreaterThan(0); // SR
    expect(await decode('rtcp.sdes.text == "a@switchboard"')).not.toEqual([]);
    expect(await decode('rtcp.app.name == "SBTS"')).toHaveLength(1);
    expect(await decode('rtcp.xr.voipmetrics.jbabsmax == 2560')).toHaveLength(1);
    expect(await decode('rtcp.pt == 203')).not.toEqual([]); // BYE on close
  }, 40000);
});
