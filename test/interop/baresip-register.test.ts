/**
 * baresip (Debian `baresip-core` 1.0) registers to our registrar: SipEndpoint + Registrar +
 * DigestServer offering MD5 (libre's digest client in baresip 1.0 computes MD5 only) over UDP.
 * The binding must appear in the location service, and go when baresip shuts down (it
 * unregisters on SIGTERM).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DigestServer, passwordLookup, systemClock, type SipRequest } from '../../src/sip/index.js';
import { LocationService, Registrar, SipEndpoint } from '../../src/sip/ua/index.js';
import { startBaresip, waitFor, type Baresip } from '../helpers/baresip.js';
import { hasCommand, stopAll } from '../helpers/peer-process.js';

beforeAll(() => {
  if (!hasCommand('baresip')) throw new Error('baresip is not installed: apt-get install baresip-core (.ci/run does this)');
});

let endpoint: SipEndpoint | undefined;
let baresip: Baresip | undefined;
afterEach(async () => {
  await baresip?.stop();
  baresip = undefined;
  await stopAll();
  await endpoint?.close();
  endpoint = undefined;
});

describe('baresip registers to SipEndpoint + Registrar', () => {
  it('with MD5 digest: the binding appears, then goes when baresip stops', async () => {
    const location = new LocationService({ clock: systemClock });
    const auth = new DigestServer({
      realm: 'switchboard.test',
      algorithms: ['MD5'],
      lookup: passwordLookup((u) => (u === '1001' ? 'secret' : undefined)),
    });
    const registrar = new Registrar({ location, auth, domains: ['127.0.0.1'] });
    const seen: string[] = [];
    const original = registrar.process.bind(registrar);
    registrar.process = async (req: SipRequest, inbound) => {
      const outcome = await original(req, inbound);
      seen.push(`${req.expires ?? req.contacts[0]?.params.get('expires')} -> ${outcome.response.status}`);
      return outcome;
    };
    endpoint = await SipEndpoint.listen({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }], registrar });
    const port = endpoint.transports.endpoint('udp')!.port;
    baresip = await startBaresip({ accounts: [`<sip:1001@127.0.0.1:${port};transport=udp>;auth_pass=secret;regint=60`] });
    const bs = baresip;
    const context = () => `${JSON.stringify(seen)}\n${bs.output().slice(-4000)}`;
    await waitFor(() => location.lookup('sip:1001@127.0.0.1').length > 0, 10_000, context);
    const [binding] = location.lookup('sip:1001@127.0.0.1');
    const uri = binding!.contact.uri;
    expect(uri.kind === 'sip' && [uri.user?.startsWith('1001'), uri.host, uri.port], context()).toEqual([true, '127.0.0.1', bs.sipPort]);
    expect(binding!.source).toMatchObject({ protocol: 'udp', address: '127.0.0.1', port: bs.sipPort });
    expect(location.remaining(binding!)).toBeGreaterThan(50);
    expect(seen.slice(0, 2), context()).toEqual(['60 -> 401', '60 -> 200']);
    await bs.stop();
    expect(location.size, context()).toBe(0);
  });
});
