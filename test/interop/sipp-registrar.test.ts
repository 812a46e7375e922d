/**
 * The registrar on the wire against sipp (Debian `sip-tester`): sipp registers 100 times with
 * digest MD5 (`-au`/`-ap`, `[authentication]` in scenarios/register-digest.xml: REGISTER,
 * 401, REGISTER with credentials, 200) to a SipEndpoint + Registrar + DigestServer, over UDP
 * and over one TCP connection (`-t t1`). Every registration must succeed and the location
 * service must end up holding sipp's binding. Then sipp sends the same endpoint OPTIONS,
 * MESSAGE and requests it must refuse (scenarios/endpoint-requests.xml).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DigestServer, passwordLookup, systemClock } from '../../src/sip/index.js';
import { LocationService, Registrar, SipEndpoint } from '../../src/sip/ua/index.js';
import { hasCommand, startPeer, stopAll } from '../helpers/peer-process.js';
import { freeTcpPort, freeUdpPort, freeUdpPortRange } from '../helpers/ports.js';

const scenarios = join(__dirname, 'scenarios');

beforeAll(() => {
  if (!hasCommand('sipp')) throw new Error('sipp is not installed: apt-get install sip-tester (.ci/run does this)');
});

let endpoint: SipEndpoint | undefined;
afterEach(async () => {
  await stopAll();
  await endpoint?.close();
  endpoint = undefined;
});

async function runSipp(protocol: 'udp' | 'tcp', calls: number) {
  const location = new LocationService({ clock: systemClock });
  const outcomes: Record<number, number> = {};
  const auth = new DigestServer({
    realm: 'switchboard.test',
    algorithms: ['MD5'], // sipp computes MD5 only
    lookup: passwordLookup((user) => (user === 'sippuser' ? 'sipp-s3cret' : undefined)),
  });
  const registrar = new Registrar({ location, auth, domains: ['127.0.0.1'] });
  const original = registrar.process.bind(registrar);
  registrar.process = async (req, inbound) => {
    const outcome = await original(req, inbound);
    outcomes[outcome.response.status] = (outcomes[outcome.response.status] ?? 0) + 1;
    return outcome;
  };
  const errors: string[] = [];
  endpoint = await SipEndpoint.listen({
    listen: [{ protocol, address: '127.0.0.1', port: 0 }],
    registrar,
    onError: (e, ctx) => errors.push(`${ctx}: ${String(e)}`),
  });
  const port = endpoint.transports.endpoint(protocol)!.port;
  const localPort = protocol === 'udp' ? await freeUdpPort() : await freeTcpPort();
  const sipp = startPeer(
    'sipp',
    [
      `127.0.0.1:${port}`,
      '-sf', join(scenarios, 'register-digest.xml'),
      '-s', 'sippuser',
      '-au', 'sippuser',
      '-ap', 'sipp-s3cret',
      '-t', protocol === 'udp' ? 'u1' : 't1',
      '-m', String(calls),
      '-r', '50',
      '-p', String(localPort),
      '-mp', String(await freeUdpPortRange(4)),
      '-i', '127.0.0.1',
      '-bind_local',
      '-nostdin',
      '-timeout', '15s',
      '-timeout_error',
    ],
    { timeoutMs: 18_000, cwd: tmpdir() },
  );
  const r = await sipp.done;
  const summary = `${JSON.stringify({ outcomes, errors, stats: endpoint.transports.stats })}\n${r.stderr}${r.stdout.slice(-2500)}`;
  expect(r.code, summary).toBe(0);
  expect(r.stdout, summary).toMatch(new RegExp(`Successful call\\s+\\|\\s+\\d+\\s+\\|\\s+${calls}\\s`));
  expect(r.stdout, summary).toMatch(/Failed call\s+\|\s+\d+\s+\|\s+0\s/);
  expect(outcomes, summary).toEqual({ 200: calls, 401: calls });
  expect(errors).toEqual([]);
  // Each "call" has its own Call-ID but the same Contact: the binding is replaced each time.
  const bindings = location.lookup('sip:sippuser@127.0.0.1');
  expect(bindings.map((b) => String(b.contact.uri))).toEqual([`sip:sippuser@127.0.0.1:${localPort}`]);
  expect(bindings[0]!.source).toMatchObject({ protocol, address: '127.0.0.1' });
  expect(location.remaining(bindings[0]!)).toBeGreaterThan(290);
  expect(location.remaining(bindings[0]!)).toBeLessThanOrEqual(300);
  return { location, bindings };
}

describe('sipp registers with digest MD5 to SipEndpoint + Registrar', () => {
  it('100 registrations over UDP, 0 failures', async () => {
    await runSipp('udp', 100);
  });

  it('50 registrations over one TCP connection (-t t1), 0 failures', async () => {
    const { bindings } = await runSipp('tcp', 50);
    expect(bindings[0]!.connectionId).toBeDefined();
  });
});

describe('sipp against the same SipEndpoint: OPTIONS, MESSAGE and refused requests', () => {
  it('answers 200/200/415/501/405/420/400 as the scenario expects, 5 times', async () => {
    const messages: string[] = [];
    endpoint = await SipEndpoint.listen({
      listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }],
      registrar: new Registrar({ location: new LocationService({ clock: systemClock }) }),
      onMessage: (req) => messages.push(req.body.toString().trim()),
    });
    const port = endpoint.transports.endpoint('udp')!.port;
    const calls = 5;
    const sipp = startPeer(
      'sipp',
      [
        `127.0.0.1:${port}`,
        '-sf', join(scenarios, 'endpoint-requests.xml'),
        '-m', String(calls),
        '-r', '20',
        '-p', String(await freeUdpPort()),
        '-mp', String(await freeUdpPortRange(4)),
        '-i', '127.0.0.1',
        '-bind_local',
        '-nostdin',
        '-timeout', '15s',
        '-timeout_error',
      ],
      { timeoutMs: 18_000, cwd: tmpdir() },
    );
    const r = await sipp.done;
    const summary = `${JSON.stringify(endpoint.transports.stats)}\n${r.stderr}${r.stdout.slice(-2500)}`;
    expect(r.code, summary).toBe(0);
    expect(r.stdout, summary).toMatch(new RegExp(`Successful call\\s+\\|\\s+\\d+\\s+\\|\\s+${calls}\\s`));
    expect(messages.sort()).toEqual(['hello 1', 'hello 2', 'hello 3', 'hello 4', 'hello 5']);
    expect(endpoint.transports.stats.rejected).toBe(calls); // the Max-Forwards 300 ones, answered by the transport
  });
});
