/**
 * baresip (Debian `baresip-core` 1.0) registers as extension 1003 of config/demo.json to a
 * UserAgent whose registrar is a PbxRegistrar. baresip answers only the first challenge and
 * only MD5 (docs/sip-ua.md): the demo's default `security.digestAlgorithms` is `["MD5"]`, so
 * DeviceAuth offers MD5 alone. baresip is configured by IP (`sip:1003@127.0.0.1:PORT`): the
 * REGISTER reaches the default tenant, realm demo.local.
 *
 * Checked: the binding appears under sip:1003@demo.local with baresip's source; baresip
 * refreshes and stays registered; the keep-alive's OPTIONS get answered (nothing removed);
 * when baresip stops it unregisters and the registrar reports it.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadConfig } from '../../src/pbx/config/index.js';
import { DeviceAuth } from '../../src/pbx/device-auth.js';
import { DeviceKeepalive } from '../../src/pbx/device-keepalive.js';
import { PbxRegistrar } from '../../src/pbx/pbx-registrar.js';
import { TenantDirectory } from '../../src/pbx/tenant-directory.js';
import { LocationService, UserAgent, systemClock } from '../../src/sip/index.js';
import { startBaresip, waitFor, type Baresip } from '../helpers/baresip.js';
import { hasCommand, stopAll } from '../helpers/peer-process.js';

beforeAll(() => {
  if (!hasCommand('baresip')) throw new Error('baresip is not installed: apt-get install baresip-core (.ci/run does this)');
});

let ua: UserAgent | undefined;
let baresip: Baresip | undefined;
let keepalive: DeviceKeepalive | undefined;
afterEach(async () => {
  keepalive?.stop();
  keepalive = undefined;
  await baresip?.stop();
  baresip = undefined;
  await stopAll();
  await ua?.stop();
  ua = undefined;
});

describe('baresip registers to the PBX registrar built from config/demo.json', () => {
  it('as 1003 with MD5: registered with its source, refreshes, answers keep-alives, unregisters on stop', async () => {
    const config = await loadConfig(join(__dirname, '../../config/demo.json'));
    const directory = new TenantDirectory(config);
    const location = new LocationService({ clock: systemClock });
    const auth = new DeviceAuth({ directory });
    const registrar = new PbxRegistrar({ directory, auth, location, clock: systemClock, minExpires: 5 });
    const seen: string[] = [];
    const original = registrar.process.bind(registrar);
    registrar.process = async (req, inbound) => {
      const outcome = await original(req, inbound);
      seen.push(`${req.expires ?? req.contacts[0]?.params.get('expires')} -> ${outcome.response.status}`);
      return outcome;
    };
    const events: string[] = [];
    registrar.on('registered', (t, n) => events.push(`+${n}@${t.domain}`));
    registrar.on('unregistered', (t, n) => events.push(`-${n}@${t.domain}`));
    ua = await UserAgent.start({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }], registrar });
    const tenant = directory.tenant('demo.local')!;

    baresip = await startBaresip({ accounts: [`<sip:1003@127.0.0.1:${ua.port};transport=udp>;auth_pass=demo-1003-pass;regint=8`] });
    const bs = baresip;
    const context = () => `${JSON.stringify(seen)} ${JSON.stringify(events)}\n${bs.output().slice(-4000)}`;
    await waitFor(() => registrar.contacts(tenant, '1003').length > 0, 10_000, context);
    const [first] = registrar.contacts(tenant, '1003');
    const uri = first!.binding.contact.uri;
    expect(uri.kind === 'sip' && [uri.user?.startsWith('1003'), uri.host, uri.port], context()).toEqual([true, '127.0.0.1', bs.sipPort]);
    expect(first!.destination, context()).toEqual({ protocol: 'udp', address: '127.0.0.1', port: bs.sipPort });
    expect(location.addresses()).toEqual(['sip:1003@demo.local']);
    expect(seen.slice(0, 2), context()).toEqual(['8 -> 401', '8 -> 200']);

    keepalive = new DeviceKeepalive({ endpoint: ua.endpoint, location, clock: systemClock, registrar, intervalSeconds: 1 });
    keepalive.start();
    // A refresh (libre re-registers before the 8 s run out) and a few keep-alives.
    await waitFor(() => seen.filter((s) => s.endsWith('-> 200')).length >= 2 && keepalive!.stats.answered >= 3, 15_000, context);
    expect(seen.filter((s) => !s.endsWith('-> 200') && !s.endsWith('-> 401')), context()).toEqual([]);
    expect(keepalive.stats, context()).toMatchObject({ timedOut: 0, removed: 0 });
    const [again] = registrar.contacts(tenant, '1003');
    expect(again!.uri).toBe(first!.uri);
    expect(again!.destination).toEqual(first!.destination);
    expect(events, context()).toEqual(['+1003@demo.local']);

    keepalive.stop();
    await bs.stop();
    expect(registrar.contacts(tenant, '1003'), context()).toEqual([]);
    expect(events, context()).toEqual(['+1003@demo.local', '-1003@demo.local']);
    registrar.close();
  });
});
