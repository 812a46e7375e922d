/**
 * Two real phones through the PBX (Debian `baresip-core` 1.0): baresip A registers as 1001
 * and baresip B as 1002 (digest MD5 — baresip 1.0 answers only MD5 and only the first
 * challenge, so the config says `security.digestAlgorithms: ["MD5"]`, which is also the
 * default), both by IP (`sip:100N@127.0.0.1:<pbx port>`: the default tenant). A dials
 * `sip:1002@127.0.0.1:<pbx port>`; the PBX authenticates the INVITE (407), rings B at the
 * contact it registered, B auto-answers, and the B2BUA bridges the two legs on its own RTP
 * ports.
 *
 * Audio: A sends known speech X, B sends a continuous run of other prompts (1 s of silence
 * first); each records what it receives (`sndfile`). tshark captures the PBX's RTP range and
 * counts packets per direction of each leg (A↔PBX, PBX↔B) by phase. Then B puts the call on
 * hold (baresip's `hold` command: re-INVITE with `a=sendonly`): A must hear the tenant's
 * music on hold (moh/default.wav found in A's recording by correlation) while B stops sending;
 * then B resumes (`resume`) and A hears B's speech again (the part of A's recording after the
 * music is found in B's source).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { promptPath } from '../../src/call/prompts.js';
import { encodeWav } from '../../src/codecs/index.js';
import { parseConfig } from '../../src/pbx/config/index.js';
import type { PbxCall } from '../../src/pbx/b2bua.js';
import { readCdrs } from '../../src/pbx/cdr-writer.js';
import { bestCorrelation, readWavPcm, segmentedCorrelation } from '../helpers/audio-compare.js';
import { startBaresip, waitFor, type Baresip, type BaresipControl } from '../helpers/baresip.js';
import { demoTenant, startTestPbx, type TestPbx } from '../helpers/pbx.js';
import { hasCommand, stopAll, type Peer } from '../helpers/peer-process.js';
import { startCapture } from '../helpers/tshark.js';

const run = promisify(execFile);
const RATE = 8000;
/** Seconds the call stays bridged before the hold (packets counted over them). */
const BRIDGED_SECONDS = 4.2;
/** Seconds on hold. */
const HOLD_SECONDS = 3;
/** Seconds after the resume before A hangs up. */
const RESUMED_SECONDS = 3;

beforeAll(() => {
  if (!hasCommand('baresip')) throw new Error('baresip is not installed: apt-get install baresip-core (.ci/run does this)');
  if (!hasCommand('tshark')) throw new Error('tshark is not installed: apt-get install tshark (.ci/run does this)');
});

let t: TestPbx | undefined;
const phones: Baresip[] = [];
const captures: Peer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(phones.splice(0).map((p) => p.stop()));
  for (const c of captures.splice(0)) {
    c.kill('SIGKILL');
    await c.done;
  }
  await t?.stop();
  t = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
afterAll(async () => {
  await stopAll();
});

function config(): Record<string, unknown> {
  return {
    logLevel: 'debug',
    // baresip 1.0 computes MD5 only and reads only the first challenge.
    security: { digestAlgorithms: ['MD5'] },
    tenants: [demoTenant(['1001', '1002'])],
  };
}

/** Speech without long gaps: the prompts one after another, after `leadSeconds` of silence. */
function speechRun(file: string, names: string[], leadSeconds: number): Int16Array {
  const parts = names.map((n) => readWavPcm(promptPath(n)));
  const lead = Math.round(leadSeconds * RATE);
  const pcm = new Int16Array(lead + parts.reduce((n, p) => n + p.length, 0));
  let at = lead;
  for (const p of parts) {
    pcm.set(p, at);
    at += p.length;
  }
  writeFileSync(file, encodeWav(pcm, { format: 'pcm16', sampleRate: RATE }));
  return pcm;
}

describe('baresip A calls baresip B through the PBX', () => {
  it('registered with MD5; audio both ways on both legs; hold gives A music on hold; resume restores B', async () => {
    // The default of security.digestAlgorithms is MD5 alone (baresip 1.0 needs it so).
    const defaults = parseConfig(JSON.stringify({ tenants: [{ domain: 'x.test', name: 'X' }] }), join(tmpdir(), 'defaults.json'));
    expect(defaults.security.digestAlgorithms).toEqual(['MD5']);

    t = await startTestPbx(config());
    const pbx = t.pbx;
    expect(pbx.config.security.digestAlgorithms).toEqual(['MD5']);
    const dir = mkdtempSync(join(tmpdir(), 'sb-baresip-pbx-'));
    dirs.push(dir);
    const { portMin, portMax } = pbx.config.rtp;
    const pcap = join(dir, 'pbx.pcapng');
    const cap = await startCapture(`udp portrange ${portMin}-${portMax}`, pcap);
    captures.push(cap);

    const xPath = promptPath('extension-unavailable');
    const bSourcePath = join(dir, 'b-source.wav');
    const bSource = speechRun(bSourcePath, ['vm-invalid-pin', 'number-not-in-service', 'please-hold', 'all-lines-busy', 'invalid-choice', 'incoming-call-for-group', 'goodbye'], 1);
    const account = (n: string) => `<sip:${n}@127.0.0.1:${pbx.port};transport=udp>;auth_pass=password-${n};regint=60`;
    const b = await startBaresip({ accounts: [`${account('1002')};answermode=auto`], audioSource: bSourcePath, record: true, control: true, timeoutMs: 25_000 });
    phones.push(b);
    const a = await startBaresip({ accounts: [account('1001')], audioSource: xPath, audioSourceDelaySeconds: 1, record: true, control: true, timeoutMs: 25_000 });
    phones.push(a);
    const [ca, cb] = await Promise.all([a.control(), b.control()]);
    const context = () =>
      `A events ${JSON.stringify(ca.events)}\nB events ${JSON.stringify(cb.events)}\nA:\n${a.output().slice(-3000)}\nB:\n${b.output().slice(-3000)}\ntshark: ${cap.output().stderr}`;
    const tenant = pbx.directory.tenant('demo.test')!;
    await waitFor(() => pbx.registrar.contacts(tenant, '1001').length > 0 && pbx.registrar.contacts(tenant, '1002').length > 0, 10_000, context);

    await ca.dial(`sip:1002@127.0.0.1:${pbx.port}`);
    await ca.waitForEvent('CALL_ESTABLISHED', 1, 10_000, context);
    await cb.waitForEvent('CALL_ESTABLISHED', 1, 10_000, context);
    await waitFor(() => [...pbx.b2bua.calls].some((c) => c.outbound !== undefined && c.inbound.bridged !== undefined), 5000, context);
    const pc: PbxCall = [...pbx.b2bua.calls][0]!;
    const inbound = pc.inbound;
    const outbound = pc.outbound!;
    const legA = { pbx: inbound.media!.session.localPort, phone: inbound.negotiated!.remote.port };
    const legB = { pbx: outbound.media!.session.localPort, phone: outbound.negotiated!.remote.port };
    const marks: Record<string, number> = { bridged: Date.now() };
    outbound.on('hold', () => (marks.held = Date.now()));
    outbound.on('unhold', () => (marks.resumed = Date.now()));

    await new Promise((r) => setTimeout(r, BRIDGED_SECONDS * 1000));
    const hold = await cb.command('hold');
    expect(hold.ok, `hold: ${hold.data}\n${context()}`).toBe(true);
    await waitFor(() => marks.held !== undefined, 5000, context);
    await new Promise((r) => setTimeout(r, HOLD_SECONDS * 1000));
    const resume = await cb.command('resume');
    expect(resume.ok, `resume: ${resume.data}\n${context()}`).toBe(true);
    await waitFor(() => marks.resumed !== undefined, 5000, context);
    await new Promise((r) => setTimeout(r, RESUMED_SECONDS * 1000));
    marks.hangup = Date.now();
    await ca.hangup();
    await ca.waitForEvent('CALL_CLOSED', 1, 10_000, context);
    await cb.waitForEvent('CALL_CLOSED', 1, 10_000, context);
    await waitFor(() => pbx.b2bua.calls.size === 0, 5000, context);
    await new Promise((r) => setTimeout(r, 300));
    cap.kill('SIGINT');
    await cap.done;

    // --- Audio. ---
    const [aHeard] = a.recordings().decoded;
    const [bHeard] = b.recordings().decoded;
    expect(aHeard, context()).toBeDefined();
    expect(bHeard, context()).toBeDefined();
    const x = readWavPcm(xPath);
    const atA = readWavPcm(aHeard!);
    const atB = readWavPcm(bHeard!);
    const moh = readWavPcm(pbx.config.tenants[0]!.musicOnHold.classes.default!);
    // B heard A's speech.
    const xAtB = segmentedCorrelation(x, atB, { maxLagSamples: atB.length });
    // A heard music on hold: its first two seconds are somewhere in A's recording.
    const mohAtA = segmentedCorrelation(moh.subarray(0, 2 * RATE), atA, { maxLagSamples: atA.length });
    const mohStart = mohAtA.whole.lag;
    const heldSamples = Math.round(((marks.resumed! - marks.held!) / 1000) * RATE);
    // Before the hold, A heard the start of B's speech; after the resume, a later part of it.
    const before = atA.subarray(0, Math.max(0, mohStart - RATE / 4));
    const after = atA.subarray(Math.min(atA.length, mohStart + heldSamples + RATE / 2), Math.max(0, atA.length - RATE / 4));
    const bBeforeAtA = segmentedCorrelation(bSource.subarray(RATE, RATE + 2.5 * RATE), before, { maxLagSamples: before.length });
    const bAfterAtA = segmentedCorrelation(after, bSource, { maxLagSamples: bSource.length });
    // Music stopped at the resume: none of it after.
    const mohAfter = bestCorrelation(after, moh, { maxLagSamples: moh.length });

    // --- Packets per direction of each leg, by phase. ---
    const args = ['-r', pcap, '-n'];
    for (const p of [legA.pbx, legB.pbx]) args.push('-d', `udp.port==${p},rtp`);
    args.push('-Y', 'rtp', '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'udp.srcport', '-e', 'udp.dstport', '-e', 'rtp.p_type');
    const { stdout } = await run('tshark', args, { maxBuffer: 64 << 20 });
    const packets = stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        const [time, src, dst, pt] = l.split('\t');
        return { time: Number(time) * 1000, src: Number(src), dst: Number(dst), pt: Number(pt) };
      });
    const count = (src: number, dst: number, from: number, to: number) => packets.filter((p) => p.src === src && p.dst === dst && p.time >= from && p.time < to).length;
    const phase = (from: number, to: number) => ({
      aToPbx: count(legA.phone, legA.pbx, from, to),
      pbxToA: count(legA.pbx, legA.phone, from, to),
      bToPbx: count(legB.phone, legB.pbx, from, to),
      pbxToB: count(legB.pbx, legB.phone, from, to),
    });
    const bridged = phase(marks.bridged!, marks.bridged! + 4000);
    // Skip the first 300 ms of each phase: the re-INVITE exchange and the switch-over.
    const held = phase(marks.held! + 300, marks.resumed!);
    const resumed = phase(marks.resumed! + 300, marks.hangup!);

    await pbx.cdr.flush();
    const cdrs = await readCdrs(join(pbx.dataDir, 'cdr.jsonl'));
    const measured = {
      xAtB: xAtB.correlation,
      bBeforeAtA: bBeforeAtA.correlation,
      mohAtA: mohAtA.correlation,
      mohStart,
      bAfterAtA: bAfterAtA.correlation,
      mohAfter: mohAfter.correlation,
      recorded: { atA: atA.length, atB: atB.length },
      packets: { bridged, held, resumed },
      heldMs: marks.resumed! - marks.held!,
      legA,
      legB,
    };
    console.log('baresip-pbx', JSON.stringify(measured));
    const report = () => `${JSON.stringify(measured)}\n${context()}`;

    expect(xAtB.correlation, report()).toBeGreaterThanOrEqual(0.8);
    expect(bBeforeAtA.correlation, report()).toBeGreaterThanOrEqual(0.8);
    expect(mohAtA.correlation, report()).toBeGreaterThanOrEqual(0.8);
    expect(bAfterAtA.correlation, report()).toBeGreaterThanOrEqual(0.8);
    expect(mohAfter.correlation, report()).toBeLessThan(0.5);
    for (const n of Object.values(bridged)) expect(n, report()).toBeGreaterThanOrEqual(100);
    const heldFor = (marks.resumed! - marks.held! - 300) / 20;
    // On hold: the music flows to A at the packet rate; B (sendonly) sends nothing, and A's
    // packets go nowhere (they are not relayed to B).
    expect(held.pbxToA, report()).toBeGreaterThanOrEqual(0.8 * heldFor);
    expect(held.bToPbx, report()).toBeLessThanOrEqual(5);
    expect(held.pbxToB, report()).toBeLessThanOrEqual(5);
    // Resumed: the bridge relays both ways again.
    const resumedFor = (marks.hangup! - marks.resumed! - 300) / 20;
    for (const n of Object.values(resumed)) expect(n, report()).toBeGreaterThanOrEqual(0.8 * resumedFor);
    expect(new Set(packets.map((p) => p.pt)), report()).toEqual(new Set([0]));

    expect(cdrs, report()).toHaveLength(1);
    expect(cdrs[0], report()).toMatchObject({ tenant: 'demo.test', from: '1001', to: '1002', direction: 'internal', disposition: 'answered', answeredBy: '1002', hangupBy: 'caller' });
  }, 25_000);
});
