/**
 * The PBX's refusals on the wire, with sipp (Debian `sip-tester`) as the attacker or the
 * device: each test starts its own PBX (tenant demo.test: 1001, 1002, trunk "carrier" at
 * 127.0.0.2 with `acceptFrom: ["127.0.0.2"]`, DID +15551230000 → 1001, route `_9.` → carrier;
 * tenant other.test: 2001; `security.authFailureLimit: 3`). The carrier is a UDP socket on
 * 127.0.0.2 that counts every datagram it gets: nothing may reach it.
 *
 * - An INVITE without credentials gets 407 with an MD5 challenge for the tenant's realm.
 * - Wrong credentials from 127.0.0.3: 407 again until the limit; the limit-th failure gets
 *   403, and from then on that address gets 403 at once, even with the right password; other
 *   addresses (127.0.0.1) still authenticate.
 * - An authenticated device calling an unknown extension gets 404.
 * - A device of tenant other.test, authenticated, calling demo.test's 1001 gets 403.
 * - An INVITE to the DID from an address that is not the trunk's must authenticate (407):
 *   1001's phone never rings.
 * - Nothing goes out through the trunk without authentication: unauthenticated and wrongly
 *   authenticated devices dialling 9…, and a call from the carrier's own address to an
 *   outside number (404: a trunk never reaches a trunk): the carrier gets no packet at all.
 */
import { createSocket, type Socket } from 'node:dgram';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CallAgent } from '../../src/call/index.js';
import { demoTenant, otherTenant, startTestPbx, type TestPbx } from '../helpers/pbx.js';
import { hasCommand, startPeer, stopAll, type PeerResult } from '../helpers/peer-process.js';
import { freeUdpPort } from '../helpers/ports.js';
import { parseSippTrace, readSippTrace, sippLocalArgs, sippTraceArgs, type SippTracedMessage } from '../helpers/sipp.js';

const scenarios = join(__dirname, 'scenarios');
const CARRIER = '127.0.0.2';
const ATTACKER = '127.0.0.3';
const LIMIT = 3;

beforeAll(() => {
  if (!hasCommand('sipp')) throw new Error('sipp is not installed: apt-get install sip-tester (.ci/run does this)');
});

let t: TestPbx | undefined;
let carrier: Socket | undefined;
/** Datagrams that reached the carrier. */
let atCarrier: string[] = [];
const traces: string[] = [];
afterEach(async () => {
  await stopAll();
  await t?.stop();
  t = undefined;
  carrier?.close();
  carrier = undefined;
  if (process.env.KEEP_SIPP_TRACES === undefined) for (const f of traces.splice(0)) rmSync(f, { force: true });
});
afterAll(async () => {
  await stopAll();
});

/** The carrier's socket on 127.0.0.2 and a PBX whose trunk points at it. */
async function start(): Promise<TestPbx> {
  atCarrier = [];
  const socket = createSocket('udp4');
  carrier = socket;
  socket.on('message', (msg) => atCarrier.push(msg.toString('utf8').split('\r\n', 1)[0]!));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, CARRIER, () => resolve());
  });
  t = await startTestPbx({
    logLevel: 'debug',
    security: { digestAlgorithms: ['MD5'], authFailureLimit: LIMIT, authFailureWindowSeconds: 60, blockSeconds: 300 },
    tenants: [
      demoTenant(['1001', '1002'], {
        trunks: [
          {
            name: 'carrier',
            host: CARRIER,
            port: socket.address().port,
            username: 'acct1234',
            password: 's3cret-trunk',
            acceptFrom: [CARRIER],
            dids: [{ number: '+15551230000', destination: { type: 'extension', number: '1001' } }],
          },
        ],
        outboundRoutes: [{ name: 'national', patterns: ['_9.'], strip: 1, trunks: ['carrier'] }],
      }),
      otherTenant(),
    ],
  });
  return t;
}

interface DeviceRun {
  result: PeerResult;
  messages: SippTracedMessage[];
  /** Final statuses to INVITEs received, per call (Call-ID) in order. */
  finals: number[][];
  summary: string;
}

/**
 * Runs sipp as a device (or an attacker) from `address` against the PBX: `scenario` with the
 * Request-URI `sip:<dialled>@<ruriHost>` (default: the PBX's address), From
 * `fromUser@fromDomain`, To domain `toDomain`, `calls` calls one after another, digest
 * credentials when given.
 */
async function device(
  scenario: 'pbx-sec-invite-unauthenticated.xml' | 'pbx-sec-invite-authenticated.xml',
  opts: { dialled: string; ruriHost?: string; fromUser: string; fromDomain?: string; toDomain?: string; address?: string; user?: string; password?: string; calls?: number },
): Promise<DeviceRun> {
  const address = opts.address ?? '127.0.0.1';
  const ruriHost = opts.ruriHost ?? `127.0.0.1:${t!.pbx.port}`;
  const port = await freeUdpPort(false, address);
  const messages = join(tmpdir(), `sipp-pbx-sec-${process.pid}-${port}.log`);
  traces.push(messages);
  const args = [
    `127.0.0.1:${t!.pbx.port}`,
    '-sf', join(scenarios, scenario),
    '-s', opts.dialled,
    '-key', 'ruri_host', ruriHost,
    '-key', 'from_user', opts.fromUser,
    '-key', 'from_domain', opts.fromDomain ?? 'demo.test',
    '-key', 'to_domain', opts.toDomain ?? 'demo.test',
    '-m', String(opts.calls ?? 1),
    '-l', '1', // one at a time: the order of failures is the test's
    '-r', '20',
    ...(await sippLocalArgs('10s', { address, port })),
    ...sippTraceArgs(messages),
  ];
  // sipp's digest uri is sip:<remote_ip>:<remote_port> unless told: the PBX wants the Request-URI.
  if (opts.user !== undefined) args.push('-au', opts.user, '-ap', opts.password ?? '', '-auth_uri', `${opts.dialled}@${ruriHost}`);
  const result = await startPeer('sipp', args, { timeoutMs: 12_000, cwd: tmpdir() }).done;
  const trace = readSippTrace(messages);
  const parsed = parseSippTrace(trace);
  const byCall = new Map<string, number[]>();
  for (const m of parsed) {
    if (m.direction !== 'received' || m.status === undefined || m.status < 200 || !/INVITE/.test(m.header('CSeq') ?? '')) continue;
    const id = m.header('Call-ID') ?? '';
    byCall.set(id, [...(byCall.get(id) ?? []), m.status]);
  }
  const finals = [...byCall.values()];
  const summary = `finals ${JSON.stringify(finals)}; carrier got ${JSON.stringify(atCarrier)}\nexit ${result.code}\n${result.stderr}${result.stdout.slice(-2000)}\n${trace.slice(-6000)}`;
  return { result, messages: parsed, finals, summary };
}

function expectAllSuccessful(run: DeviceRun, calls = 1): void {
  expect(run.result.code, run.summary).toBe(0);
  expect(run.result.stdout, run.summary).toMatch(new RegExp(`Successful call\\s+\\|\\s+\\d+\\s+\\|\\s+${calls}\\s`));
}

/** Counts the calls offered to a phone. */
function countCalls(phone: CallAgent): () => number {
  let n = 0;
  phone.on('call', (call) => {
    n++;
    call.reject(486);
  });
  return () => n;
}

describe('PBX security against sipp', () => {
  it('an INVITE without credentials gets 407 with an MD5 challenge for the tenant realm; the callee never rings', async () => {
    const pbx = await start();
    const bob = countCalls(await pbx.phone('1002', 'password-1002'));
    const run = await device('pbx-sec-invite-unauthenticated.xml', { dialled: '1002', fromUser: '1001' });
    expectAllSuccessful(run);
    expect(run.finals, run.summary).toEqual([[407]]);
    const challenge = run.messages.find((m) => m.status === 407)!.header('Proxy-Authenticate') ?? '';
    expect(challenge, run.summary).toMatch(/^Digest /);
    expect(challenge).toMatch(/realm="demo\.test"/);
    expect(challenge).toMatch(/algorithm=MD5/);
    expect(bob()).toBe(0);
    expect(pbx.pbx.b2bua.calls.size).toBe(0);
  });

  it(`wrong credentials from ${ATTACKER}: 407 until failure number ${LIMIT} (the limit), then 403; the address stays blocked even with the right password; others are not`, async () => {
    const pbx = await start();
    const bob = countCalls(await pbx.phone('1002', 'password-1002'));
    const wrong = await device('pbx-sec-invite-authenticated.xml', { dialled: '1002', fromUser: '1001', user: '1001', password: 'not-the-password', address: ATTACKER, calls: LIMIT });
    expectAllSuccessful(wrong, LIMIT);
    // Each attempt: the challenge (not a failure), then the wrong answer (a failure).
    expect(wrong.finals, wrong.summary).toEqual([...Array.from({ length: LIMIT - 1 }, () => [407, 407]), [407, 403]]);
    expect(pbx.pbx.auth.isBlocked(ATTACKER)).toBe(true);
    const blocked = await device('pbx-sec-invite-authenticated.xml', { dialled: '1002', fromUser: '1001', user: '1001', password: 'password-1001', address: ATTACKER });
    expectAllSuccessful(blocked);
    expect(blocked.finals, blocked.summary).toEqual([[403]]);
    // 127.0.0.1 is not blocked: 1001 authenticates and reaches routing (an unknown number: 404).
    const other = await device('pbx-sec-invite-authenticated.xml', { dialled: '1999', fromUser: '1001', user: '1001', password: 'password-1001' });
    expectAllSuccessful(other);
    expect(other.finals, other.summary).toEqual([[407, 404]]);
    expect(pbx.pbx.auth.isBlocked('127.0.0.1')).toBe(false);
    expect(bob()).toBe(0);
  });

  it('an authenticated device calling an unknown extension gets 404', async () => {
    await start();
    const run = await device('pbx-sec-invite-authenticated.xml', { dialled: '1999', fromUser: '1001', user: '1001', password: 'password-1001' });
    expectAllSuccessful(run);
    expect(run.finals, run.summary).toEqual([[407, 404]]);
  });

  it("a device of tenant other.test, authenticated, calling demo.test's 1001 gets 403", async () => {
    const pbx = await start();
    const alice = countCalls(await pbx.phone('1001', 'password-1001'));
    const run = await device('pbx-sec-invite-authenticated.xml', { dialled: '1001', ruriHost: 'demo.test', fromUser: '2001', fromDomain: 'other.test', toDomain: 'demo.test', user: '2001', password: 'password-2001' });
    expectAllSuccessful(run);
    expect(run.finals, run.summary).toEqual([[407, 403]]);
    // The challenge was other.test's own realm: the device authenticated as itself.
    expect(run.messages.find((m) => m.status === 407)!.header('Proxy-Authenticate')).toMatch(/realm="other\.test"/);
    expect(alice()).toBe(0);
  });

  it("a call to the DID from an address that is not the trunk's must authenticate (407): nobody rings", async () => {
    const pbx = await start();
    const alice = countCalls(await pbx.phone('1001', 'password-1001'));
    const run = await device('pbx-sec-invite-unauthenticated.xml', { dialled: '+15551230000', fromUser: '+12125550100', fromDomain: 'provider.example', toDomain: 'provider.example' });
    expectAllSuccessful(run);
    expect(run.finals, run.summary).toEqual([[407]]);
    await new Promise((r) => setTimeout(r, 200));
    expect(alice()).toBe(0);
    expect(pbx.pbx.b2bua.calls.size).toBe(0);
  });

  it('nothing goes out through the trunk without authentication: the carrier gets no packet', async () => {
    await start();
    const noCredentials = await device('pbx-sec-invite-unauthenticated.xml', { dialled: '95551234567', fromUser: '1001' });
    expectAllSuccessful(noCredentials);
    expect(noCredentials.finals, noCredentials.summary).toEqual([[407]]);
    const wrongPassword = await device('pbx-sec-invite-authenticated.xml', { dialled: '95551234567', fromUser: '1001', user: '1001', password: 'not-the-password' });
    expectAllSuccessful(wrongPassword);
    expect(wrongPassword.finals, wrongPassword.summary).toEqual([[407, 407]]);
    // From the carrier's own address (a trunk call) to an outside number: not a DID, 404; a
    // trunk call never leaves through a trunk.
    const relay = await device('pbx-sec-invite-authenticated.xml', { dialled: '95551234567', fromUser: '+12125550100', fromDomain: 'provider.example', toDomain: 'provider.example', address: CARRIER });
    expectAllSuccessful(relay);
    expect(relay.finals, relay.summary).toEqual([[404]]);
    await new Promise((r) => setTimeout(r, 300));
    expect(atCarrier, relay.summary).toEqual([]);
  });
});
