/**
 * The RFC 4475 §3.3 semantic torture messages whose answer is the user agent's job (the
 * message tests only check that they parse), through the endpoint's request policy and the
 * registrar, from the byte-exact fixtures.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DigestServer, ManualClock, parseMessage, passwordLookup, type SipRequest } from '../../../src/sip/index.js';
import { LocationService, Registrar, checkRequest } from '../../../src/sip/ua/index.js';

const load = (name: string) => parseMessage(readFileSync(join(__dirname, '../../fixtures/rfc4475/semantic', `${name}.dat`))) as SipRequest;
const policy = { allowedMethods: ['OPTIONS', 'REGISTER', 'MESSAGE'], supportedExtensions: ['path'] };

function registrar(auth = false) {
  const location = new LocationService({ clock: new ManualClock() });
  const r = new Registrar({
    location,
    domains: ['example.com'],
    ...(auth ? { auth: new DigestServer({ realm: 'example.com', lookup: passwordLookup(() => 'pw') }) } : {}),
  });
  return { location, registrar: r };
}

describe('RFC 4475 §3.3 through the user agent', () => {
  it('3.3.2 unkscm and 3.3.3 novelsc: 416 Unsupported URI Scheme', () => {
    expect(checkRequest(load('unkscm'), policy)?.status).toBe(416);
    expect(checkRequest(load('novelsc'), policy)?.status).toBe(416);
  });

  it('3.3.4 unksm2: a REGISTER whose To is not a SIP URI gets 400', async () => {
    const req = load('unksm2');
    expect(checkRequest(req, policy)).toBeUndefined();
    const { registrar: r, location } = registrar();
    const res = (await r.process(req)).response;
    expect(res.status).toBe(400);
    expect(location.size).toBe(0);
  });

  it('3.3.5 bext01: 420 listing both unknown Require tags; Proxy-Require is not a UAS matter', () => {
    const res = checkRequest(load('bext01'), policy)!;
    expect(res.status).toBe(420);
    expect(res.unsupported).toEqual(['nothingSupportsThis', 'nothingSupportsThisEither']);
  });

  it('3.3.7 regaut01: an unknown Authorization scheme is challenged (401)', async () => {
    const { registrar: r } = registrar(true);
    const res = (await r.process(load('regaut01'))).response;
    expect(res.status).toBe(401);
    expect(res.wwwAuthenticate.length).toBeGreaterThan(0);
  });

  it('3.3.12 cparam01: a bare Contact parameter belongs to the binding, not the URI', async () => {
    const { registrar: r, location } = registrar();
    const res = (await r.process(load('cparam01'))).response;
    expect(res.status).toBe(200);
    const b = location.lookup('sip:watson@example.com')[0]!;
    expect(String(b.contact.uri)).toBe('sip:+19725552222@gw1.example.net');
    expect(b.contact.params.has('unknownparam')).toBe(true);
  });

  it('3.3.13 cparam02: a URI parameter inside <> stays in the URI', async () => {
    const { registrar: r, location } = registrar();
    expect((await r.process(load('cparam02'))).response.status).toBe(200);
    expect(String(location.lookup('sip:watson@example.com')[0]!.contact.uri)).toBe('sip:+19725552222@gw1.example.net;unknownparam');
  });

  it('3.3.14 regescrt: the escaped header of the Contact URI is stored and returned', async () => {
    const { registrar: r } = registrar();
    const res = (await r.process(load('regescrt'))).response;
    expect(res.status).toBe(200);
    const uri = res.contacts[0]!.uri;
    expect(uri.kind === 'sip' && uri.headers.get('Route')).toBe('<sip:sip.example.com>');
  });

  it('zeromf: an OPTIONS with Max-Forwards 0 is answered, not refused', () => {
    expect(checkRequest(load('zeromf'), policy)).toBeUndefined();
  });
});
