/**
 * Trunk registration on the wire against sipp (Debian `sip-tester`) acting as the carrier's
 * registrar (scenarios/trunk-registrar.xml): TrunkRegistrations registers the tenant's trunk
 * through a real SipEndpoint; sipp challenges with 401 (fixed nonce, realm
 * "provider.example", MD5, qop=auth), checks the answer with `verifyauth` (user
 * auth-acct1234, the trunk's authUsername), answers 200; the trunk must reach 'registered'.
 * Then stop() must send the un-REGISTER (Expires: 0, the Contact's expires=0, authorized),
 * which sipp answers 200 and the scenario ends: sipp exits 0 with one successful call.
 * The same over TCP (`-t t1`: one connection for the three REGISTERs), and with a wrong
 * password (verifyauth fails, sipp answers 403: the trunk is 'failed', a retry scheduled).
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/pbx/config/index.js';
import { TrunkRegistrations, type TrunkRegistrationState } from '../../src/pbx/trunk-registrations.js';
import { SipEndpoint } from '../../src/sip/ua/index.js';
import { hasCommand, startPeer, stopAll } from '../helpers/peer-process.js';
import { freeTcpPort, freeUdpPort, waitForTcpListener, waitForUdpListener } from '../helpers/ports.js';
import { readSippTrace, sippLocalArgs, sippTraceArgs } from '../helpers/sipp.js';

const scenarios = join(__dirname, 'scenarios');

beforeAll(() => {
  if (!hasCommand('sipp')) throw new Error('sipp is not installed: apt-get install sip-tester (.ci/run does this)');
});

let endpoint: SipEndpoint | undefined;
let registrations: TrunkRegistrations | undefined;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  await registrations?.stop(200);
  registrations = undefined;
  await stopAll();
  await endpoint?.close();
  endpoint = undefined;
  for (const c of cleanups.splice(0)) c();
});

function tenants(port: number, password = 's3cret-trunk', transport: 'udp' | 'tcp' = 'udp') {
  const json = {
    tenants: [
      {
        domain: 'pbx.test',
        name: 'Trunk test',
        default: true,
        extensions: [{ number: '2001', name: 'Ann', password: 'secret-2001-x' }],
        trunks: [
          {
            name: 'carrier',
            host: '127.0.0.1',
            port,
            transport,
            username: 'acct1234',
            authUsername: 'auth-acct1234',
            password,
            register: true,
            registerExpires: 600,
            fromDomain: 'provider.example',
            dids: [{ number: '+15551230000', destination: { type: 'extension', number: '2001' } }],
          },
        ],
      },
    ],
  };
  return parseConfig(JSON.stringify(json), join(tmpdir(), 'sipp-trunk.json')).tenants;
}

describe('TrunkRegistrations against sipp as the carrier registrar', () => {
  it('401 → digest (verifyauth) → 200: registered; stop() un-REGISTERs; sipp exits 0', async () => {
    const port = await freeUdpPort();
    const messages = join(tmpdir(), `sipp-trunk-${process.pid}-${port}-messages.log`);
    cleanups.push(() => rmSync(messages, { force: true }));
    const sipp = startPeer(
      'sipp',
      [
        '-sf', join(scenarios, 'trunk-registrar.xml'),
        '-m', '1',
        ...(await sippLocalArgs('15s', { port })),
        ...sippTraceArgs(messages),
      ],
      { timeoutMs: 18_000, cwd: tmpdir() },
    );
    await waitForUdpListener(port);

    endpoint = await SipEndpoint.listen({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }] });
    const ourPort = endpoint.transports.endpoint('udp')!.port;
    registrations = new TrunkRegistrations({ endpoint, retrySeconds: 30 });
    const seen: string[] = [];
    const registered = new Promise<void>((resolve, reject) => {
      registrations!.on('state', (tenant, trunk, state: TrunkRegistrationState, detail) => {
        seen.push(`${tenant.domain}/${trunk.name}: ${state} (${detail})`);
        if (state === 'registered') resolve();
        if (state === 'failed') reject(new Error(`registration failed: ${detail}`));
      });
    });
    const config = tenants(port);
    registrations.start(config);
    expect(registrations.state(config[0]!, 'carrier')).toBe('registering');
    await registered;
    expect(registrations.state(config[0]!, 'carrier')).toBe('registered');

    await registrations.stop();
    expect(registrations.state(config[0]!, 'carrier')).toBeUndefined();
    expect(seen).toEqual(['pbx.test/carrier: registering (starting)', 'pbx.test/carrier: registered (expires 600 s)', 'pbx.test/carrier: stopped (stopped)']);

    const r = await sipp.done;
    const trace = readSippTrace(messages);
    const summary = `${seen.join('\n')}\n${r.stderr}${r.stdout.slice(-2000)}\n${trace}`;
    expect(r.code, summary).toBe(0);
    expect(r.stdout, summary).toMatch(/Successful call\s+\|\s+\d+\s+\|\s+1\s/);
    // What sipp received: three REGISTERs of one Call-ID, our Contact with the account as user.
    const registers = trace.split(/\n(?=-{5,})/).filter((block) => /received[\s\S]*?\n\s*REGISTER sip:/.test(block));
    expect(registers, summary).toHaveLength(3);
    expect(trace).toContain(`Contact: <sip:acct1234@127.0.0.1:${ourPort}>;expires=600`);
    expect(trace).toContain(`Contact: <sip:acct1234@127.0.0.1:${ourPort}>;expires=0`);
    expect(trace).toMatch(/Authorization: Digest [^\r\n]*username="auth-acct1234"/);
    expect(trace).toContain(`REGISTER sip:127.0.0.1:${port};transport=udp SIP/2.0`);
    if (process.env.SHOW_SIPP_TRACE !== undefined) console.log(trace);
  });

  it('over TCP: the same exchange on one connection, Contact with transport=tcp', async () => {
    const port = await freeTcpPort();
    const sipp = startPeer(
      'sipp',
      ['-sf', join(scenarios, 'trunk-registrar.xml'), '-t', 't1', '-m', '1', ...(await sippLocalArgs('15s', { port }))],
      { timeoutMs: 18_000, cwd: tmpdir() },
    );
    await waitForTcpListener(port);
    endpoint = await SipEndpoint.listen({
      listen: [
        { protocol: 'udp', address: '127.0.0.1', port: 0 },
        { protocol: 'tcp', address: '127.0.0.1', port: 0 },
      ],
    });
    registrations = new TrunkRegistrations({ endpoint, retrySeconds: 30 });
    const registered = new Promise<void>((resolve, reject) => {
      registrations!.on('state', (_tenant, _trunk, state, detail) => {
        if (state === 'registered') resolve();
        if (state === 'failed') reject(new Error(`registration failed: ${detail}`));
      });
    });
    const config = tenants(port, 's3cret-trunk', 'tcp');
    registrations.start(config);
    await registered;
    await registrations.stop();
    const r = await sipp.done;
    expect(r.code, r.stderr + r.stdout.slice(-2000)).toBe(0);
    expect(r.stdout).toMatch(/Successful call\s+\|\s+\d+\s+\|\s+1\s/);
    expect(endpoint.transports.stats.opened).toBe(1);
  });

  it('a wrong password: verifyauth refuses, sipp answers 403, the trunk is failed with a retry scheduled', async () => {
    const port = await freeUdpPort();
    const sipp = startPeer(
      'sipp',
      ['-sf', join(scenarios, 'trunk-registrar.xml'), '-m', '1', ...(await sippLocalArgs('15s', { port }))],
      { timeoutMs: 18_000, cwd: tmpdir() },
    );
    await waitForUdpListener(port);
    endpoint = await SipEndpoint.listen({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }] });
    registrations = new TrunkRegistrations({ endpoint, retrySeconds: 30, random: (n) => new Uint8Array(n) });
    const failed = new Promise<string>((resolve) => {
      registrations!.on('state', (_tenant, _trunk, state, detail) => {
        if (state === 'failed') resolve(detail);
      });
    });
    const config = tenants(port, 'not-the-password');
    registrations.start(config);
    expect(await failed).toBe('403 Wrong Credentials; retry in 30 s');
    expect(registrations.state(config[0]!, 'carrier')).toBe('failed');
    const r = await sipp.done;
    // The scenario's refused branch fails the call.
    expect(r.code, r.stdout.slice(-2000)).not.toBe(0);
    expect(r.stdout).toMatch(/Failed call\s+\|\s+\d+\s+\|\s+1\s/);
    await registrations.stop(200);
  });
});
