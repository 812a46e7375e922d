/**
 * The PBX registrar on the wire against sipp (Debian `sip-tester`): a UserAgent on an
 * ephemeral port whose `registrar` is a PbxRegistrar built from config/demo.json (tenant
 * demo.local, the default tenant, security defaults: MD5, 10 failures in 60 s block for
 * 300 s). sipp registers by IP address (`sip:127.0.0.1:PORT`), so the REGISTERs go to the
 * default tenant and the bindings are stored under `sip:100N@demo.local`.
 *
 * 1. 1001 and 1002 register 20 times each with their demo passwords (REGISTER, 401, REGISTER
 *    with MD5 credentials, 200): no failures; contacts() gives sipp's Contact and source port;
 *    the registration store saves both.
 * 2. A wrong password, 10 times from 127.0.0.1: nine 401s after the credentials, then 403 —
 *    the source is blocked.
 * 3. From the blocked address even 1002 with the right password gets 403 at once.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/pbx/config/index.js';
import { DeviceAuth } from '../../src/pbx/device-auth.js';
import { PbxRegistrar } from '../../src/pbx/pbx-registrar.js';
import { RegistrationStore } from '../../src/pbx/registration-store.js';
import { TenantDirectory } from '../../src/pbx/tenant-directory.js';
import { LocationService, UserAgent, systemClock } from '../../src/sip/index.js';
import { hasCommand, startPeer, stopAll } from '../helpers/peer-process.js';
import { freeUdpPort } from '../helpers/ports.js';
import { sippLocalArgs } from '../helpers/sipp.js';

const scenarios = join(__dirname, 'scenarios');
const work = mkdtempSync(join(tmpdir(), 'sb-sipp-pbx-'));

beforeAll(() => {
  if (!hasCommand('sipp')) throw new Error('sipp is not installed: apt-get install sip-tester (.ci/run does this)');
});

let ua: UserAgent | undefined;
afterEach(async () => {
  await stopAll();
  await ua?.stop();
  ua = undefined;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function sipp(port: number, scenario: string, user: string, password: string, calls: number, localPort: number) {
  const peer = startPeer(
    'sipp',
    [
      `127.0.0.1:${port}`,
      '-sf', scenario,
      '-s', user,
      '-au', user,
      '-ap', password,
      '-m', String(calls),
      '-l', '1', // one at a time: the order of failures is the test's
      '-r', '50',
      ...(await sippLocalArgs('20s', { port: localPort })),
    ],
    { timeoutMs: 25_000, cwd: work },
  );
  return peer.done;
}

describe('sipp registers to the PBX registrar built from config/demo.json', () => {
  it('1001 and 1002 register with their demo passwords; a wrong password repeated blocks the source (403)', async () => {
    const config = await loadConfig(join(__dirname, '../../config/demo.json'));
    expect(config.security).toMatchObject({ authFailureLimit: 10, digestAlgorithms: ['MD5'] });
    const directory = new TenantDirectory(config);
    const location = new LocationService({ clock: systemClock });
    const store = new RegistrationStore(join(work, 'registrations.json'), location);
    const auth = new DeviceAuth({ directory });
    const registrar = new PbxRegistrar({ directory, auth, location, clock: systemClock, store });
    const statuses: number[] = [];
    const original = registrar.process.bind(registrar);
    registrar.process = async (req, inbound) => {
      const outcome = await original(req, inbound);
      statuses.push(outcome.response.status);
      return outcome;
    };
    const registered: string[] = [];
    registrar.on('registered', (t, n) => registered.push(`${n}@${t.domain}`));
    ua = await UserAgent.start({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }], registrar });
    const tenant = directory.tenant('demo.local')!;
    const count = (s: number) => statuses.filter((x) => x === s).length;

    for (const user of ['1001', '1002']) {
      statuses.length = 0;
      const localPort = await freeUdpPort();
      const r = await sipp(ua.port, join(scenarios, 'register-digest.xml'), user, `demo-${user}-pass`, 20, localPort);
      const context = `${user}: ${JSON.stringify(statuses)}\n${r.stderr}${r.stdout.slice(-2000)}`;
      expect(r.code, context).toBe(0);
      expect([count(401), count(200), statuses.length], context).toEqual([20, 20, 40]);
      const contacts = registrar.contacts(tenant, user);
      expect(contacts.map((c) => [c.uri, c.destination]), context).toEqual([[`sip:${user}@127.0.0.1:${localPort}`, { protocol: 'udp', address: '127.0.0.1', port: localPort }]]);
    }
    expect(location.addresses().sort()).toEqual(['sip:1001@demo.local', 'sip:1002@demo.local']);
    expect(registered).toEqual(['1001@demo.local', '1002@demo.local']);
    await store.flush();
    const saved = JSON.parse(readFileSync(join(work, 'registrations.json'), 'utf8')) as { bindings: { aor: string }[] };
    expect(saved.bindings.map((b) => b.aor).sort()).toEqual(['sip:1001@demo.local', 'sip:1002@demo.local']);

    statuses.length = 0;
    const wrong = await sipp(ua.port, join(scenarios, 'pbx-register-wrong-password.xml'), '1001', 'not-the-password', 10, await freeUdpPort());
    const context = `${JSON.stringify(statuses)}\n${wrong.stderr}${wrong.stdout.slice(-2000)}`;
    expect(wrong.code, context).toBe(0);
    // Per attempt: the challenge (not a failure), then the wrong credentials (a failure): the 10th failure blocks.
    expect(statuses, context).toEqual([...Array.from({ length: 9 }, () => [401, 401]).flat(), 401, 403]);
    expect(auth.isBlocked('127.0.0.1')).toBe(true);

    statuses.length = 0;
    const blocked = await sipp(ua.port, join(scenarios, 'pbx-register-blocked.xml'), '1002', 'demo-1002-pass', 1, await freeUdpPort());
    expect(blocked.code, `${JSON.stringify(statuses)}\n${blocked.stdout.slice(-2000)}`).toBe(0);
    expect(statuses).toEqual([403]);
    registrar.close();
    await store.close();
  });
});
