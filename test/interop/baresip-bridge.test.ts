/**
 * Call.bridge() between two real phones (Debian `baresip-core` 1.0): baresip A calls a
 * CallAgent in this process, which dials baresip B (auto-answer), answers A once B answered,
 * and bridges the two calls. Each phone sends its own known speech and records what it
 * receives (`sndfile`); each must hear the other. tshark captures the agent's RTP port range
 * and counts packets per direction of each leg, and flags malformed ones. A second run has B
 * offer only PCMA while A speaks PCMU, so the bridge transcodes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CallAgent, type Call } from '../../src/call/index.js';
import { promptPath } from '../../src/call/prompts.js';
import { bestCorrelation, readWavPcm } from '../helpers/audio-compare.js';
import { startBaresip, waitFor, type Baresip } from '../helpers/baresip.js';
import { hasCommand, stopAll, type Peer } from '../helpers/peer-process.js';
import { startCapture } from '../helpers/tshark.js';
import { freeUdpPortRange } from '../helpers/ports.js';

const run = promisify(execFile);

beforeAll(() => {
  if (!hasCommand('baresip')) throw new Error('baresip is not installed: apt-get install baresip-core (.ci/run does this)');
  if (!hasCommand('tshark')) throw new Error('tshark is not installed: apt-get install tshark (.ci/run does this)');
});

const RATE = 8000;
/** Seconds of silence before each phone's speech: the bridge is up by then on both legs. */
const SPEAK_AT = 1;
/** How long A stays in the bridged call. */
const CALL_SECONDS = 4;
/** RTP ports of the agent: two calls need two even/odd pairs; the rest is slack. */
const PORTS = 8;

const started: Baresip[] = [];
const agents: CallAgent[] = [];
const captures: Peer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
  await Promise.all(started.splice(0).map((b) => b.stop()));
  for (const c of captures.splice(0)) {
    c.kill('SIGKILL');
    await c.done;
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
afterAll(async () => {
  await stopAll();
});

interface Leg {
  /** The agent's RTP port on this leg. */
  local: number;
  /** The phone's RTP port. */
  remote: number;
}

/** tshark fields of the packets matching `display`, RTP decoded on the agent's even ports and RTCP on the odd ones. */
async function decode(file: string, base: number, display: string, fields: string[]): Promise<string[]> {
  const args = ['-r', file, '-n'];
  for (let p = base; p < base + PORTS; p += 2) args.push('-d', `udp.port==${p},rtp`, '-d', `udp.port==${p + 1},rtcp`);
  args.push('-Y', display, '-T', 'fields');
  for (const f of fields) args.push('-e', f);
  const { stdout } = await run('tshark', args, { maxBuffer: 64 << 20 });
  return stdout.split('\n').filter((l) => l.trim() !== '');
}

async function bridgeCall(bCodecs: 'any' | 'PCMA'): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-bridge-'));
  dirs.push(dir);
  const base = await freeUdpPortRange(PORTS);
  const agent = await CallAgent.start({
    listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }],
    aor: 'sip:bridge@127.0.0.1',
    sessionTimer: false,
    media: { portMin: base, portMax: base + PORTS - 1 },
  });
  agents.push(agent);
  const pcap = join(dir, 'bridge.pcapng');
  const cap = await startCapture(`udp portrange ${base}-${base + PORTS - 1}`, pcap);
  captures.push(cap);

  // X from A, Y from B: two different prompts that the agent never plays.
  const xPath = promptPath('extension-unavailable');
  const yPath = promptPath('vm-invalid-pin');
  const b = await startBaresip({
    accounts: [`<sip:b@127.0.0.1>;regint=0;answermode=auto${bCodecs === 'PCMA' ? ';audio_codecs=PCMA' : ''}`],
    audioSource: yPath,
    audioSourceDelaySeconds: SPEAK_AT,
    record: true,
    control: true,
    timeoutMs: 25_000,
  });
  started.push(b);
  const a = await startBaresip({
    accounts: ['<sip:a@127.0.0.1>;regint=0'],
    audioSource: xPath,
    audioSourceDelaySeconds: SPEAK_AT,
    record: true,
    control: true,
    timeoutMs: 25_000,
  });
  started.push(a);
  const [ca, cb] = await Promise.all([a.control(), b.control()]);
  const context = () =>
    `A events ${JSON.stringify(ca.events)}\nB events ${JSON.stringify(cb.events)}\nA:\n${a.output().slice(-4000)}\nB:\n${b.output().slice(-4000)}\ntshark: ${cap.output().stderr}`;

  // The agent: A's call waits (ringing) while B is dialled; A is answered once B answers.
  const legs: { inbound?: Call; outbound?: Call; error?: unknown } = {};
  agent.on('call', (inbound) => {
    legs.inbound = inbound;
    void (async () => {
      inbound.ring();
      const outbound = await agent.call(`sip:b@127.0.0.1:${b.sipPort}`, { ringTimeoutMs: 10_000 });
      legs.outbound = outbound;
      await inbound.answer();
      inbound.bridge(outbound);
    })().catch((e: unknown) => {
      legs.error = e;
      void inbound.hangup();
    });
  });

  await ca.dial(`sip:bridge@127.0.0.1:${agent.port}`);
  await ca.waitForEvent('CALL_ESTABLISHED', 1, 10_000, () => `${String(legs.error)}\n${context()}`);
  await cb.waitForEvent('CALL_ESTABLISHED', 1, 10_000, context);
  await waitFor(() => legs.inbound?.bridged !== undefined || legs.error !== undefined, 5000, context);
  expect(legs.error, context()).toBeUndefined();
  const inbound = legs.inbound!;
  const outbound = legs.outbound!;
  expect(inbound.negotiated?.codec.encoding.toUpperCase(), context()).toBe('PCMU');
  expect(outbound.negotiated?.codec.encoding.toUpperCase(), context()).toBe(bCodecs === 'PCMA' ? 'PCMA' : 'PCMU');
  const legA: Leg = { local: inbound.media!.session.localPort, remote: inbound.negotiated!.remote.port };
  const legB: Leg = { local: outbound.media!.session.localPort, remote: outbound.negotiated!.remote.port };

  await new Promise((r) => setTimeout(r, CALL_SECONDS * 1000));
  // A hangs up; the bridge hangs up B.
  await ca.hangup();
  await ca.waitForEvent('CALL_CLOSED', 1, 10_000, context);
  await cb.waitForEvent('CALL_CLOSED', 1, 10_000, context);
  expect((await inbound.ended).reason).toBe('remote-hangup');
  expect((await outbound.ended).reason).toBe('hangup');
  await new Promise((r) => setTimeout(r, 300));
  cap.kill('SIGINT');
  await cap.done;

  // Audio both ways: each phone heard the other's speech, and not its own.
  const [aHeard] = a.recordings().decoded;
  const [bHeard] = b.recordings().decoded;
  expect(aHeard, context()).toBeDefined();
  expect(bHeard, context()).toBeDefined();
  const x = readWavPcm(xPath);
  const y = readWavPcm(yPath);
  const heardByA = readWavPcm(aHeard!);
  const heardByB = readWavPcm(bHeard!);
  const yAtA = bestCorrelation(y, heardByA, { maxLagSamples: heardByA.length });
  const xAtB = bestCorrelation(x, heardByB, { maxLagSamples: heardByB.length });
  const xAtA = bestCorrelation(x, heardByA, { maxLagSamples: heardByA.length });

  // Packets per direction of each leg (RTP only: telephone-events would count too, none are sent).
  const rtp = await decode(pcap, base, 'rtp', ['udp.srcport', 'udp.dstport', 'rtp.p_type']);
  const count = (src: number, dst: number): number => rtp.filter((l) => l.startsWith(`${src}\t${dst}\t`)).length;
  const packets = {
    aToAgent: count(legA.remote, legA.local),
    agentToA: count(legA.local, legA.remote),
    bToAgent: count(legB.remote, legB.local),
    agentToB: count(legB.local, legB.remote),
  };
  const types = [...new Set(rtp.map((l) => `${l.split('\t')[0]}>${l.split('\t')[1]}:${l.split('\t')[2]}`))].sort();
  const malformed = await decode(pcap, base, '_ws.malformed', ['frame.number', 'udp.srcport', 'udp.dstport']);
  const measured = { bCodecs, yAtA, xAtB, xAtA, packets, types, malformed: malformed.length, legA, legB };
  console.log('bridge', JSON.stringify(measured));
  const report = () => `${JSON.stringify(measured)}\n${context()}`;

  expect(yAtA.correlation, report()).toBeGreaterThanOrEqual(0.8);
  expect(xAtB.correlation, report()).toBeGreaterThanOrEqual(0.8);
  expect(xAtA.correlation, report()).toBeLessThan(0.5);
  for (const n of Object.values(packets)) expect(n, report()).toBeGreaterThanOrEqual(100);
  expect(malformed, report()).toEqual([]);
  // The transcoding run sends PCMA (8) to B and PCMU (0) to A.
  const bPt = bCodecs === 'PCMA' ? '8' : '0';
  expect(rtp.filter((l) => l.startsWith(`${legB.local}\t${legB.remote}\t`) && !l.endsWith(`\t${bPt}`)), report()).toEqual([]);
  expect(rtp.filter((l) => l.startsWith(`${legA.local}\t${legA.remote}\t`) && !l.endsWith('\t0')), report()).toEqual([]);

  for (const phone of [a, b]) {
    const pid = phone.peer.child.pid!;
    await phone.stop();
    expect(() => process.kill(pid, 0)).toThrow();
  }
  await waitFor(() => agent.calls.size === 0, 5000, context);
}

describe('Call.bridge() between two baresips', () => {
  it('carries audio both ways, every direction of both legs flowing, nothing malformed', async () => {
    await bridgeCall('any');
  }, 25_000);

  it('transcodes when B speaks only PCMA and A PCMU', async () => {
    await bridgeCall('PCMA');
  }, 25_000);
});
