/**
 * The PBX's trunk against sipp (Debian `sip-tester`) as the carrier. The carrier lives on its
 * own loopback address, 127.0.0.2, which is the trunk's `host` and its only `acceptFrom`;
 * the PBX and the phones are on 127.0.0.1, so no phone can pass for the carrier.
 *
 * One PBX for the file (tenant demo.test: extension 1001, trunk "carrier" with `register:
 * true`, DID +15551230000 → 1001, outbound route `_9.` strip 1 → carrier), and in order:
 * 1. registration (scenarios/trunk-carrier-register.xml): the PBX REGISTERs, sipp challenges
 *    with 401, checks the Authorization (verifyauth), answers 200: the trunk is registered;
 * 2. an inbound call (trunk-carrier-inbound.xml): sipp, from 127.0.0.2, sends INVITE
 *    sip:+15551230000@<pbx> without credentials; 1001 (a CallAgent registered to the PBX)
 *    rings with the carrier's caller ID, answers, and sipp hangs up; the CDR is inbound;
 * 3. an outbound call (trunk-carrier-outbound.xml): 1001 dials 95551234567; sipp on the
 *    trunk's port gets INVITE sip:5551234567@127.0.0.2, challenges with 407, gets the
 *    INVITE again with Proxy-Authorization, answers 200; 1001 hangs up (BYE at sipp); the
 *    digest answer is recomputed here from sipp's message trace with the trunk's password
 *    (sipp's verifyauth reads only Authorization, not Proxy-Authorization); the CDR is
 *    outbound through the trunk.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallAgent } from '../../src/call/index.js';
import { readCdrs } from '../../src/pbx/cdr-writer.js';
import { waitFor } from '../helpers/baresip.js';
import { demoTenant, startTestPbx, type TestPbx } from '../helpers/pbx.js';
import { hasCommand, startPeer, stopAll, type PeerResult } from '../helpers/peer-process.js';
import { freeUdpPort, waitForUdpListener } from '../helpers/ports.js';
import { readSippTrace, sippLocalArgs, sippTraceArgs } from '../helpers/sipp.js';
import { nextCall } from '../helpers/wait.js';

const scenarios = join(__dirname, 'scenarios');
const CARRIER = '127.0.0.2';

let t: TestPbx | undefined;
let trunkPort = 0;
let registration: Promise<PeerResult> | undefined;
const traces: string[] = [];

function config(port: number): Record<string, unknown> {
  return {
    logLevel: 'debug',
    security: { digestAlgorithms: ['MD5'] },
    tenants: [
      demoTenant(['1001'], {
        trunks: [
          {
            name: 'carrier',
            host: CARRIER,
            port,
            username: 'acct1234',
            password: 's3cret-trunk',
            register: true,
            registerExpires: 600,
            fromDomain: 'provider.example',
            acceptFrom: [CARRIER],
            dids: [{ number: '+15551230000', destination: { type: 'extension', number: '1001' } }],
          },
        ],
        outboundRoutes: [{ name: 'national', patterns: ['_9.'], strip: 1, trunks: ['carrier'] }],
      }),
    ],
  };
}

/** sipp on the carrier's address with a scenario; `-trace_msg` into a temp file read by `trace()`. */
async function carrier(scenario: string, port: number, extra: string[] = []): Promise<{ done: Promise<PeerResult>; trace: () => string }> {
  const messages = join(tmpdir(), `sipp-pbx-trunk-${process.pid}-${port}-${scenario}.log`);
  traces.push(messages);
  const peer = startPeer(
    'sipp',
    [
      ...extra,
      '-sf', join(scenarios, scenario),
      '-m', '1',
      ...(await sippLocalArgs('15s', { address: CARRIER, port })),
      ...sippTraceArgs(messages),
    ],
    { timeoutMs: 18_000, cwd: tmpdir() },
  );
  return {
    done: peer.done,
    trace: () => readSippTrace(messages),
  };
}

function summary(r: PeerResult, trace: string): string {
  return `exit ${r.code}\n${r.stderr}${r.stdout.slice(-2500)}\n${trace}`;
}

function expectOneSuccessfulCall(r: PeerResult, trace: string): void {
  expect(r.code, summary(r, trace)).toBe(0);
  expect(r.stdout, summary(r, trace)).toMatch(/Successful call\s+\|\s+\d+\s+\|\s+1\s/);
}

/** Extension 1001's phone, registered once for the file. */
let phone: CallAgent | undefined;
async function alicePhone(): Promise<CallAgent> {
  phone ??= await t!.phone('1001', 'password-1001');
  return phone;
}

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

/** `name="value"` and `name=token` pairs of a Digest credentials header. */
function digestParams(value: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const m of value.matchAll(/([A-Za-z-]+)=(?:"([^"]*)"|([^,\s]+))/g)) params[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  return params;
}

beforeAll(async () => {
  if (!hasCommand('sipp')) throw new Error('sipp is not installed: apt-get install sip-tester (.ci/run does this)');
  // The registrar must listen before the PBX starts: its first REGISTER goes out at once.
  trunkPort = await freeUdpPort(false, CARRIER);
  const registrar = await carrier('trunk-carrier-register.xml', trunkPort);
  registration = registrar.done.then((r) => ({ ...r, stdout: `${r.stdout}\n${registrar.trace()}` }));
  await waitForUdpListener(trunkPort, CARRIER);
  t = await startTestPbx(config(trunkPort));
});

afterAll(async () => {
  await t?.stop();
  t = undefined;
  await stopAll();
  for (const f of traces) rmSync(f, { force: true });
});

describe('the PBX trunk against sipp as the carrier on 127.0.0.2', () => {
  it('registers: REGISTER, 401, REGISTER with MD5 credentials, 200 — the trunk is registered', async () => {
    const pbx = t!.pbx;
    const tenant = pbx.directory.tenant('demo.test')!;
    const r = await registration!;
    expectOneSuccessfulCall(r, '');
    expect(r.stdout).toContain(`REGISTER sip:${CARRIER}:${trunkPort};transport=udp SIP/2.0`);
    expect(r.stdout).toContain(`Contact: <sip:acct1234@127.0.0.1:${pbx.port}>;expires=600`);
    expect(r.stdout).toMatch(/Authorization: Digest [^\r\n]*username="acct1234"[^\r\n]*realm="provider\.example"|Authorization: Digest [^\r\n]*realm="provider\.example"[^\r\n]*username="acct1234"/);
    await waitFor(() => pbx.trunks.state(tenant, 'carrier') === 'registered', 5000, () => JSON.stringify(pbx.trunks.list()));
  });

  it('a call from the carrier to the DID rings extension 1001 with the caller ID; answered, carrier hangs up; CDR inbound', async () => {
    const pbx = t!.pbx;
    const alice = await alicePhone();
    const ringing = nextCall(alice);
    // From the carrier's address (a port of its own: the trunk is recognised by address).
    const sipp = await carrier('trunk-carrier-inbound.xml', await freeUdpPort(false, CARRIER), [`127.0.0.1:${pbx.port}`, '-s', '+15551230000']);
    const call = await Promise.race([ringing, sipp.done.then((r) => Promise.reject(new Error(`sipp ended first: ${summary(r, sipp.trace())}`)))]);
    expect(call.remoteUser).toBe('+12125550100');
    expect(call.remoteName).toBe('Carrier Caller');
    call.ring();
    await new Promise((r) => setTimeout(r, 200));
    await call.answer();
    const r = await sipp.done;
    expectOneSuccessfulCall(r, sipp.trace());
    expect((await call.ended).reason).toBe('remote-hangup');
    await waitFor(() => pbx.b2bua.calls.size === 0, 5000);
    await pbx.cdr.flush();
    const cdrs = await readCdrs(join(pbx.dataDir, 'cdr.jsonl'));
    expect(cdrs.at(-1), JSON.stringify(cdrs)).toMatchObject({
      tenant: 'demo.test',
      from: '+12125550100',
      to: '+15551230000',
      direction: 'inbound',
      trunk: 'carrier',
      disposition: 'answered',
      answeredBy: '1001',
      hangupBy: 'caller',
    });
  });

  it('1001 dials 95551234567: the carrier gets INVITE for 5551234567, challenges 407, the PBX answers with the trunk credentials; 200, BYE; CDR outbound', async () => {
    const pbx = t!.pbx;
    const alice = await alicePhone();
    const sipp = await carrier('trunk-carrier-outbound.xml', trunkPort);
    await waitForUdpListener(trunkPort, CARRIER);
    const call = await alice.call(t!.uri('95551234567')).catch(async (e: unknown) => {
      const r = await sipp.done;
      throw new Error(`${(e as Error).message}\n${summary(r, sipp.trace())}`);
    });
    expect(call.state).toBe('answered');
    await new Promise((r) => setTimeout(r, 500));
    await call.hangup();
    const r = await sipp.done;
    const trace = sipp.trace();
    expectOneSuccessfulCall(r, trace);
    const invites = trace.split(/\n(?=-{5,})/).filter((block) => /received[\s\S]*?\n\s*INVITE sip:/.test(block));
    expect(invites, summary(r, trace)).toHaveLength(2);
    expect(invites[0]).toContain(`INVITE sip:5551234567@${CARRIER}:${trunkPort};transport=udp SIP/2.0`);
    expect(invites[0]).not.toMatch(/Proxy-Authorization:/i);
    // The digest answer, recomputed (RFC 7616 §3.4.1, qop=auth) with the trunk's password.
    const auth = digestParams(/Proxy-Authorization: Digest ([^\r\n]*)/.exec(invites[1]!)?.[1] ?? '');
    expect(auth, summary(r, trace)).toMatchObject({ username: 'acct1234', realm: 'provider.example', nonce: '0a9b8c7d6e5f40312a3b4c5d6e7f8091', uri: `sip:5551234567@${CARRIER}:${trunkPort};transport=udp`, qop: 'auth' });
    const ha1 = md5(`acct1234:provider.example:s3cret-trunk`);
    const ha2 = md5(`INVITE:${auth.uri}`);
    expect(auth.response).toBe(md5(`${ha1}:${auth.nonce}:${auth.nc}:${auth.cnonce}:auth:${ha2}`));
    // The extension's own credentials never reach the carrier.
    expect(trace).not.toContain('password-1001');
    await waitFor(() => pbx.b2bua.calls.size === 0, 5000);
    await pbx.cdr.flush();
    const cdrs = await readCdrs(join(pbx.dataDir, 'cdr.jsonl'));
    expect(cdrs.at(-1), JSON.stringify(cdrs)).toMatchObject({
      tenant: 'demo.test',
      from: '1001',
      to: '95551234567',
      direction: 'outbound',
      trunk: 'carrier',
      disposition: 'answered',
      answeredBy: 'trunk:carrier',
      hangupBy: 'caller',
    });
  });
});
