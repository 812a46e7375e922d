/**
 * "Our UAC authenticates to a registrar that challenges with SHA-256": a RegistrationClient on
 * one SipEndpoint registers to a Registrar + DigestServer({ algorithms: ['SHA-256'] }) on
 * another, over real sockets on 127.0.0.1 (UDP and TCP), with the system clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DigestServer, passwordLookup, systemClock, type SipRequest } from '../../../src/sip/index.js';
import type { TransportProtocol } from '../../../src/sip/transport/index.js';
import { LocationService, Registrar, RegistrationClient, SipEndpoint } from '../../../src/sip/ua/index.js';

const endpoints: SipEndpoint[] = [];
afterEach(async () => {
  await Promise.all(endpoints.splice(0).map((e) => e.close()));
});

describe.each<TransportProtocol>(['udp', 'tcp'])('RegistrationClient → Registrar with SHA-256 digest over %s', (protocol) => {
  it('registers, is listed, and unregisters on stop', async () => {
    const location = new LocationService({ clock: systemClock });
    const seen: SipRequest[] = [];
    const auth = new DigestServer({
      realm: 'switchboard.test',
      algorithms: ['SHA-256'],
      lookup: passwordLookup((u) => (u === '1001' ? 'correct horse' : undefined)),
    });
    const registrar = new Registrar({ location, auth, domains: ['127.0.0.1'] });
    const original = registrar.process.bind(registrar);
    registrar.process = (req, inbound) => (seen.push(req), original(req, inbound));
    const server = await SipEndpoint.listen({ listen: [{ protocol, address: '127.0.0.1', port: 0 }], registrar });
    const ua = await SipEndpoint.listen({ listen: [{ protocol, address: '127.0.0.1', port: 0 }] });
    endpoints.push(server, ua);
    const port = server.transports.endpoint(protocol)!.port;
    const client = new RegistrationClient({
      layer: ua.layer,
      destination: { protocol, address: '127.0.0.1', port },
      registrar: `sip:127.0.0.1:${port}`,
      aor: 'sip:1001@127.0.0.1',
      contact: ua.contact(protocol, '1001'),
      sentBy: ua.sentBy(protocol),
      credentials: { username: '1001', password: 'correct horse' },
      expires: 300,
    });
    const result = await client.register();
    expect(result.ok && result.expires).toBe(300);
    expect(seen.map((r) => r.authorization[0]?.algorithm)).toEqual([undefined, 'SHA-256']);
    const bindings = location.lookup('sip:1001@127.0.0.1');
    expect(bindings.map((b) => String(b.contact.uri))).toEqual([String(ua.contact(protocol, '1001').uri)]);
    expect(bindings[0]!.source?.protocol).toBe(protocol);
    await client.stop();
    expect(location.size).toBe(0);
    expect(client.state).toBe('stopped');
  });
});
