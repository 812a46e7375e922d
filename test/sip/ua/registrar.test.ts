import { describe, expect, it } from 'vitest';
import {
  DigestClient,
  DigestServer,
  ManualClock,
  SipRequest,
  parseMessage,
  passwordLookup,
  retryWithCredentials,
  serializeMessage,
  type SipResponse,
} from '../../../src/sip/index.js';
import { LocationService, Registrar, type RegistrarOptions } from '../../../src/sip/ua/index.js';
import type { InboundMessage } from '../../../src/sip/transport/index.js';

const AOR = 'sip:alice@example.com';
const DATE = new Date(Date.UTC(2026, 10, 22, 4, 0, 0));

function register(headers: [string, string][], opts: { uri?: string; to?: string; cseq?: number; callId?: string; validate?: boolean } = {}): SipRequest {
  const req = new SipRequest('REGISTER', opts.uri ?? 'sip:example.com', [
    ['Via', 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKreg1'],
    ['Max-Forwards', '70'],
    ['From', `<${opts.to ?? AOR}>;tag=f1`],
    ['To', `<${opts.to ?? AOR}>`],
    ['Call-ID', opts.callId ?? 'call-1'],
    ['CSeq', `${opts.cseq ?? 1} REGISTER`],
    ...headers,
  ]);
  // Through the wire, as a peer would send it.
  return parseMessage(serializeMessage(req), { validate: opts.validate ?? true }) as SipRequest;
}

function setup(options: Partial<RegistrarOptions> = {}) {
  const clock = new ManualClock();
  const location = new LocationService({ clock, maxBindingsPerAor: options.location?.maxBindingsPerAor ?? 10 });
  const registrar = new Registrar({ location, domains: ['example.com'], now: () => DATE, ...options });
  const run = async (req: SipRequest, inbound?: InboundMessage): Promise<SipResponse> => (await registrar.process(req, inbound)).response;
  return { clock, location, registrar, run };
}

const contactsOf = (res: SipResponse) => res.contacts.map((c) => `${String(c.uri)};expires=${c.params.get('expires')}${c.params.has('q') ? `;q=${c.params.get('q')}` : ''}`);

describe('Registrar: adding, refreshing, removing (§10.3 steps 6–8)', () => {
  it('adds a binding; the 200 lists it with its expires and a Date', async () => {
    const { run, location } = setup();
    const res = await run(register([['Contact', '<sip:alice@192.0.2.1:5060>'], ['Expires', '300']]));
    expect(res.status).toBe(200);
    expect(contactsOf(res)).toEqual(['sip:alice@192.0.2.1:5060;expires=300']);
    expect(res.get('Date')).toBe('Sun, 22 Nov 2026 04:00:00 GMT');
    expect(res.to.tag).toBeDefined();
    expect(location.lookup(AOR)).toHaveLength(1);
  });

  it('records the source and connection of the REGISTER', async () => {
    const { run, location } = setup();
    const inbound = {
      message: undefined as never,
      source: { protocol: 'tcp', address: '198.51.100.9', port: 41000 },
      local: { protocol: 'tcp', address: '127.0.0.1', port: 5060 },
      connectionId: 'c7',
    } satisfies InboundMessage;
    await run(register([['Contact', '<sip:alice@10.0.0.5:5060;transport=tcp>']]), inbound);
    const b = location.lookup(AOR)[0]!;
    expect(b.source).toEqual({ protocol: 'tcp', address: '198.51.100.9', port: 41000 });
    expect(b.connectionId).toBe('c7');
  });

  it('takes expires from the Contact parameter, then Expires, then the default 3600', async () => {
    const { run } = setup();
    const res = await run(
      register([
        ['Contact', '<sip:a@h1>;expires=120, <sip:a@h2>'],
        ['Contact', '<sip:a@h3>'],
        ['Expires', '600'],
      ]),
    );
    expect(contactsOf(res).sort()).toEqual(['sip:a@h1;expires=120', 'sip:a@h2;expires=600', 'sip:a@h3;expires=600']);
    const { run: run2 } = setup();
    expect(contactsOf(await run2(register([['Contact', '<sip:a@h1>']])))).toEqual(['sip:a@h1;expires=3600']);
  });

  it('lowers expiries above maxExpires', async () => {
    const { run } = setup({ maxExpires: 7200 });
    expect(contactsOf(await run(register([['Contact', '<sip:a@h1>;expires=100000']])))).toEqual(['sip:a@h1;expires=7200']);
  });

  it('lists every current binding, highest q first, with q', async () => {
    const { run, clock } = setup();
    await run(register([['Contact', '<sip:a@h1>;q=0.1;expires=100']], { callId: 'x' }));
    clock.advance(40_000);
    const res = await run(register([['Contact', '<sip:a@h2>;q=0.9;expires=200']], { callId: 'y' }));
    expect(contactsOf(res)).toEqual(['sip:a@h2;expires=200;q=0.9', 'sip:a@h1;expires=60;q=0.1']);
  });

  it('refreshes with a higher CSeq, removes with expires 0 or Expires: 0', async () => {
    const { run, clock, location } = setup();
    await run(register([['Contact', '<sip:a@h1>, <sip:a@h2>'], ['Expires', '100']], { cseq: 1 }));
    clock.advance(50_000);
    let res = await run(register([['Contact', '<sip:a@h1>'], ['Expires', '100']], { cseq: 2 }));
    expect(contactsOf(res).sort()).toEqual(['sip:a@h1;expires=100', 'sip:a@h2;expires=50']);
    res = await run(register([['Contact', '<sip:a@h1>;expires=0']], { cseq: 3 }));
    expect(contactsOf(res)).toEqual(['sip:a@h2;expires=50']);
    res = await run(register([['Contact', '<sip:a@h2>'], ['Expires', '0']], { cseq: 4 }));
    expect(res.status).toBe(200);
    expect(res.contacts).toEqual([]);
    expect(location.size).toBe(0);
  });

  it('a REGISTER without Contact queries the bindings (§10.2.3)', async () => {
    const { run } = setup();
    await run(register([['Contact', '<sip:a@h1>'], ['Expires', '100']], { callId: 'x' }));
    const res = await run(register([], { callId: 'y' }));
    expect(contactsOf(res)).toEqual(['sip:a@h1;expires=100']);
  });

  it('a different Call-ID replaces a binding whatever its CSeq (a rebooted UA)', async () => {
    const { run, location } = setup();
    await run(register([['Contact', '<sip:a@h1>']], { callId: 'old', cseq: 50 }));
    expect((await run(register([['Contact', '<sip:a@h1>'], ['Expires', '60']], { callId: 'new', cseq: 1 }))).status).toBe(200);
    expect(location.lookup(AOR)[0]!.callId).toBe('new');
  });

  it('same Call-ID with a CSeq not higher: 500 and nothing changes', async () => {
    const { run, location } = setup();
    await run(register([['Contact', '<sip:a@h1>'], ['Expires', '100']], { cseq: 5 }));
    for (const cseq of [5, 4]) {
      const res = await run(register([['Contact', '<sip:a@h1>, <sip:a@h9>'], ['Expires', '0']], { cseq }));
      expect(res.status).toBe(500);
    }
    expect(location.lookup(AOR)).toHaveLength(1);
    const res = await run(register([['Contact', '*'], ['Expires', '0']], { cseq: 5 }));
    expect(res.status).toBe(500);
    expect(location.lookup(AOR)).toHaveLength(1);
  });

  it('Contact: * with Expires: 0 removes all', async () => {
    const { run, location } = setup();
    await run(register([['Contact', '<sip:a@h1>, <sip:a@h2>']], { cseq: 1 }));
    const res = await run(register([['Contact', '*'], ['Expires', '0']], { cseq: 2 }));
    expect(res.status).toBe(200);
    expect(res.contacts).toEqual([]);
    expect(location.size).toBe(0);
  });

  it('Contact: * without Expires: 0 is 400', async () => {
    const { run } = setup();
    expect((await run(register([['Contact', '*']]))).status).toBe(400);
    const res = await run(register([['Contact', '*'], ['Expires', '10']]));
    expect([res.status, res.reason]).toEqual([400, 'Wildcard Contact Needs Expires: 0']);
  });

  it('423 with Min-Expires for a short non-zero expiry; 0 is always fine', async () => {
    const { run, location } = setup({ minExpires: 120 });
    const res = await run(register([['Contact', '<sip:a@h1>;expires=3600, <sip:a@h2>;expires=60']]));
    expect(res.status).toBe(423);
    expect(res.get('Min-Expires')).toBe('120');
    expect(location.size).toBe(0);
    expect((await run(register([['Contact', '<sip:a@h1>'], ['Expires', '0']], { cseq: 2 }))).status).toBe(200);
  });

  it('stores Path always and echoes it only with Supported: path (RFC 3327 §5.3)', async () => {
    const { run, location } = setup();
    const path: [string, string][] = [['Path', '<sip:p1.example.com;lr>'], ['Path', '<sip:p2.example.com;lr>']];
    let res = await run(register([['Contact', '<sip:a@h1>'], ...path, ['Supported', 'path']], { cseq: 1 }));
    expect(res.getAll('Path')).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    expect(location.lookup(AOR)[0]!.path).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    res = await run(register([['Contact', '<sip:a@h1>'], ...path], { cseq: 2 }));
    expect(res.status).toBe(200);
    expect(res.has('Path')).toBe(false);
    expect(location.lookup(AOR)[0]!.path).toHaveLength(2);
  });

  it('503 when a bound of the location service is hit', async () => {
    const clock = new ManualClock();
    const location = new LocationService({ clock, maxBindingsPerAor: 2 });
    const registrar = new Registrar({ location });
    const res = (await registrar.process(register([['Contact', '<sip:a@h1>, <sip:a@h2>, <sip:a@h3>']]))).response;
    expect([res.status, res.reason]).toEqual([503, 'Too Many Registered Contacts']);
  });

  it('400 for a bad q-value, a bad expires parameter or a malformed Contact URI', async () => {
    const { run } = setup();
    expect((await run(register([['Contact', '<sip:a@h1>;q=1.5']]))).status).toBe(400);
    const res = await run(register([['Contact', '<sip:a@h1>;expires=soon']], { validate: false }));
    expect([res.status, res.reason]).toEqual([400, 'Invalid Contact header: Invalid expires parameter']);
    expect((await run(register([['Contact', '<sip:a@h1 >']], { validate: false }))).status).toBe(400);
  });
});

describe('Registrar: request checks (§10.3 steps 1–5)', () => {
  it('404 for a Request-URI domain or a To domain it does not serve', async () => {
    const { run } = setup();
    expect((await run(register([['Contact', '<sip:a@h1>']], { uri: 'sip:other.example' }))).status).toBe(404);
    expect((await run(register([['Contact', '<sip:a@h1>']], { to: 'sip:alice@other.example' }))).status).toBe(404);
    expect((await run(register([['Contact', '<sip:a@h1>']], { uri: 'sip:EXAMPLE.com:5060' }))).status).toBe(200);
  });

  it('accepts any domain when none is configured', async () => {
    const location = new LocationService({ clock: new ManualClock() });
    const registrar = new Registrar({ location });
    const res = (await registrar.process(register([['Contact', '<sip:a@h1>']], { uri: 'sip:127.0.0.1:5060', to: 'sip:1001@127.0.0.1:5060' }))).response;
    expect(res.status).toBe(200);
    expect(location.lookup('sip:1001@127.0.0.1')).toHaveLength(1);
  });

  it('420 with Unsupported for Require tags other than path', async () => {
    const { run } = setup();
    const res = await run(register([['Contact', '<sip:a@h1>'], ['Require', 'path, foo, Bar']]));
    expect(res.status).toBe(420);
    expect(res.unsupported).toEqual(['foo', 'Bar']);
  });

  it('400 when To is not a SIP or SIPS URI (RFC 4475 unksm2), or has no user', async () => {
    const { run } = setup();
    const res = await run(register([['Contact', '<sip:a@h1>']], { to: 'isbn:2983792873' }));
    expect(res.status).toBe(400);
    expect((await run(register([['Contact', '<sip:a@h1>']], { to: 'sip:example.com' }))).status).toBe(400);
  });

  it('416 for a non-SIP Request-URI, 405 for another method', async () => {
    const { registrar } = setup();
    expect((await registrar.process(register([], { uri: 'tel:+15551234' }))).response.status).toBe(416);
    const opts = parseMessage(serializeMessage(register([]))) as SipRequest;
    opts.method = 'OPTIONS';
    opts.set('CSeq', '1 OPTIONS');
    const res = (await registrar.process(opts)).response;
    expect(res.status).toBe(405);
    expect(res.get('Allow')).toBe('REGISTER');
  });
});

describe('Registrar: digest authentication (§10.3 steps 3–4)', () => {
  let t = 1_700_000_000_000;
  const auth = () =>
    new DigestServer({
      realm: 'example.com',
      algorithms: ['SHA-256', 'MD5'],
      lookup: passwordLookup((u) => (u === 'alice' || u === 'bob' ? `${u}-pw` : undefined)),
      clock: { now: () => t },
      nonceTtlMs: 60_000,
    });

  it('challenges, then accepts the credentials and binds', async () => {
    const { run, location } = setup({ auth: auth() });
    const req = register([['Contact', '<sip:alice@h1>']]);
    const challenge = await run(req);
    expect(challenge.status).toBe(401);
    expect(challenge.wwwAuthenticate.map((h) => h.algorithm)).toEqual(['SHA-256', 'MD5']);
    const client = new DigestClient({ credentials: { username: 'alice', password: 'alice-pw' } });
    const retry = retryWithCredentials(req, client.authorize(challenge, req)!);
    const res = await run(parseMessage(serializeMessage(retry)) as SipRequest);
    expect(res.status).toBe(200);
    expect(location.lookup(AOR)).toHaveLength(1);
  });

  it('a wrong password is challenged again; malformed credentials get 400', async () => {
    const { run, location } = setup({ auth: auth() });
    const req = register([['Contact', '<sip:alice@h1>']]);
    const challenge = await run(req);
    const client = new DigestClient({ credentials: { username: 'alice', password: 'nope' } });
    const retry = retryWithCredentials(req, client.authorize(challenge, req)!);
    expect((await run(retry)).status).toBe(401);
    const bad = register([['Contact', '<sip:alice@h1>'], ['Authorization', 'Digest username="alice", realm="example.com"']], { cseq: 3 });
    expect((await run(bad)).status).toBe(400);
    expect(location.size).toBe(0);
  });

  it('an expired nonce with the right password is challenged with stale=true', async () => {
    const { run } = setup({ auth: auth() });
    const req = register([['Contact', '<sip:alice@h1>']]);
    const challenge = await run(req);
    const client = new DigestClient({ credentials: { username: 'alice', password: 'alice-pw' } });
    const retry = retryWithCredentials(req, client.authorize(challenge, req)!);
    t += 120_000;
    const res = await run(retry);
    expect(res.status).toBe(401);
    expect(res.wwwAuthenticate[0]!.stale).toBe(true);
  });

  it('403 when the authenticated user may not register the AoR', async () => {
    const { run, location } = setup({ auth: auth() });
    const req = register([['Contact', '<sip:bob@h1>']]);
    const challenge = await run(req);
    const client = new DigestClient({ credentials: { username: 'bob', password: 'bob-pw' } });
    const res = await run(retryWithCredentials(req, client.authorize(challenge, req)!));
    expect(res.status).toBe(403);
    expect(location.size).toBe(0);
  });

  it('mayRegister can widen the rule', async () => {
    const { run } = setup({ auth: auth(), mayRegister: (user) => user === 'bob' });
    const req = register([['Contact', '<sip:bob@h1>']]);
    const challenge = await run(req);
    const client = new DigestClient({ credentials: { username: 'bob', password: 'bob-pw' } });
    expect((await run(retryWithCredentials(req, client.authorize(challenge, req)!))).status).toBe(200);
  });

  it('handle() answers 500 when the credential store fails', async () => {
    const failing = new DigestServer({ realm: 'example.com', lookup: () => Promise.reject(new Error('db down')) });
    const { registrar } = setup({ auth: failing });
    const req = register([['Contact', '<sip:alice@h1>']]);
    const challenge = (await registrar.process(req)).response;
    const client = new DigestClient({ credentials: { username: 'alice', password: 'x' } });
    const retry = retryWithCredentials(req, client.authorize(challenge, req)!);
    const sent: SipResponse[] = [];
    await registrar.handle({ request: retry, respond: (r: SipResponse) => (sent.push(r), true) } as never);
    expect(sent.map((r) => r.status)).toEqual([500]);
  });
});
