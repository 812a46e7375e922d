import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig, type PbxConfig, type TenantConfig } from '../../src/pbx/config/index.js';
import { DeviceAuth } from '../../src/pbx/device-auth.js';
import { PbxRegistrar, type PbxRegistrarOptions } from '../../src/pbx/pbx-registrar.js';
import { TenantDirectory } from '../../src/pbx/tenant-directory.js';
import {
  DigestClient,
  LocationService,
  ManualClock,
  SipRequest,
  parseMessage,
  retryWithCredentials,
  serializeMessage,
  type Binding,
  type InboundMessage,
  type SipResponse,
  type TransportProtocol,
} from '../../src/sip/index.js';

function config(tenants?: unknown[]): PbxConfig {
  const doc = {
    security: { authFailureLimit: 3, authFailureWindowSeconds: 60, blockSeconds: 300 },
    tenants: tenants ?? [
      {
        domain: 'demo.local',
        name: 'Demo',
        default: true,
        extensions: [
          { number: '1001', name: 'Alice', password: 'secret-1001', maxDevices: 2 },
          { number: '1002', name: 'Bob', password: 'secret-1002' },
        ],
      },
      { domain: 'acme.test', name: 'Acme', extensions: [{ number: '1001', name: 'Ann', password: 'acme-1001-pw' }] },
    ],
  };
  return parseConfig(JSON.stringify(doc), '/tmp/pbx-registrar-test.json');
}

function setup(options: Partial<PbxRegistrarOptions> = {}, cfg = config()) {
  const clock = new ManualClock(1_000_000);
  const directory = new TenantDirectory(cfg);
  const auth = new DeviceAuth({ directory, clock, secret: new Uint8Array(32).fill(3) });
  const location = new LocationService({ clock });
  let changes = 0;
  const registrar = new PbxRegistrar({ directory, auth, location, clock, store: { changed: () => void changes++ }, ...options });
  const events: string[] = [];
  registrar.on('registered', (t, n, b) => events.push(`+${n}@${t.domain} ${String(b.contact.uri)}`));
  registrar.on('unregistered', (t, n, b) => events.push(`-${n}@${t.domain} ${String(b.contact.uri)}`));
  const tenant = (domain: string): TenantConfig => directory.tenant(domain)!;
  return { clock, directory, auth, location, registrar, events, tenant, changes: () => changes };
}

interface RegisterOptions {
  user?: string;
  password?: string;
  ruri?: string;
  to?: string;
  contacts?: string[];
  expires?: number;
  source?: { protocol?: TransportProtocol; address?: string; port?: number; connectionId?: string };
  callId?: string;
  cseq?: number;
}

let seq = 0;

function registerRequest(o: RegisterOptions): SipRequest {
  const user = o.user ?? '1001';
  const to = o.to ?? `sip:${user}@demo.local`;
  const headers: [string, string][] = [
    ['Via', `SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKr${++seq}`],
    ['Max-Forwards', '70'],
    ['From', `<${to}>;tag=f${seq}`],
    ['To', `<${to}>`],
    ['Call-ID', o.callId ?? `reg-${user}`],
    ['CSeq', `${o.cseq ?? seq * 2} REGISTER`],
  ];
  for (const c of o.contacts ?? ['<sip:1001@10.0.0.2:5060>']) headers.push(['Contact', c]);
  if (o.expires !== undefined) headers.push(['Expires', String(o.expires)]);
  return parseMessage(serializeMessage(new SipRequest('REGISTER', o.ruri ?? 'sip:demo.local', headers))) as SipRequest;
}

function inboundOf(o: RegisterOptions, request: SipRequest): InboundMessage {
  const s = o.source ?? {};
  const protocol = s.protocol ?? 'udp';
  return {
    message: request,
    source: { protocol, address: s.address ?? '203.0.113.5', port: s.port ?? 40000 },
    local: { protocol, address: '127.0.0.1', port: 5060 },
    ...(s.connectionId === undefined ? {} : { connectionId: s.connectionId }),
  };
}

/** REGISTER, 401, REGISTER with credentials: the final response. */
async function register(registrar: PbxRegistrar, o: RegisterOptions = {}): Promise<SipResponse> {
  const first = registerRequest(o);
  const r1 = (await registrar.process(first, inboundOf(o, first))).response;
  if (r1.status !== 401) return r1;
  const creds = new DigestClient({ credentials: { username: o.user ?? '1001', password: o.password ?? `secret-${o.user ?? '1001'}` } }).authorize(r1, first);
  if (creds === undefined) return r1;
  const second = parseMessage(serializeMessage(retryWithCredentials(first, creds))) as SipRequest;
  return (await registrar.process(second, inboundOf(o, second))).response;
}

const uris = (bs: { binding: Binding }[]) => bs.map((c) => String(c.binding.contact.uri));

describe('PbxRegistrar', () => {
  it('registers an extension under its tenant AoR, with the packet source as destination (NAT)', async () => {
    const { registrar, location, tenant, events, changes } = setup();
    const res = await register(registrar, { contacts: ['<sip:1001@10.0.0.2:5060;transport=udp>'], expires: 600 });
    expect(res.status).toBe(200);
    expect(res.contacts.map((c) => c.params.get('expires'))).toEqual(['600']);
    expect(location.addresses()).toEqual(['sip:1001@demo.local']);
    const [c] = registrar.contacts(tenant('demo.local'), '1001');
    expect(c!.uri).toBe('sip:1001@10.0.0.2:5060;transport=udp');
    expect(c!.destination).toEqual({ protocol: 'udp', address: '203.0.113.5', port: 40000 });
    expect(events).toEqual(['+1001@demo.local sip:1001@10.0.0.2:5060;transport=udp']);
    expect(changes()).toBe(1);
  });

  it('picks the tenant by the Request-URI host: the same number in two tenants is two AoRs', async () => {
    const { registrar, tenant } = setup();
    expect((await register(registrar, { ruri: 'sip:acme.test', to: 'sip:1001@acme.test', password: 'acme-1001-pw', contacts: ['<sip:1001@10.9.9.9>'] })).status).toBe(200);
    expect((await register(registrar, {})).status).toBe(200);
    expect(uris(registrar.contacts(tenant('acme.test'), '1001'))).toEqual(['sip:1001@10.9.9.9']);
    expect(uris(registrar.contacts(tenant('demo.local'), '1001'))).toEqual(['sip:1001@10.0.0.2:5060']);
    // Acme's password for the demo tenant: refused.
    expect((await register(registrar, { password: 'acme-1001-pw' })).status).toBe(401);
  });

  it('normalises a REGISTER addressed by IP to the default tenant AoR, and answers with the request To', async () => {
    const { registrar, location, tenant } = setup();
    const res = await register(registrar, { ruri: 'sip:127.0.0.1:5060', to: 'sip:1001@127.0.0.1:5060', contacts: ['<sip:1001@10.0.0.2:5062>'] });
    expect(res.status).toBe(200);
    expect(String(res.to.uri)).toBe('sip:1001@127.0.0.1:5060');
    expect(res.to.tag).toBeDefined();
    expect(location.addresses()).toEqual(['sip:1001@demo.local']);
    expect(uris(registrar.contacts(tenant('demo.local'), '1001'))).toEqual(['sip:1001@10.0.0.2:5062']);
  });

  it('refuses an unknown domain with 404 when there is no default tenant', async () => {
    const { registrar } = setup({}, config([{ domain: 'acme.test', name: 'Acme', extensions: [{ number: '1001', name: 'Ann', password: 'acme-1001-pw' }] }]));
    const res = await register(registrar, { ruri: 'sip:10.1.1.1', to: 'sip:1001@10.1.1.1' });
    expect([res.status, res.reason]).toEqual([404, 'Domain Not Served']);
  });

  it('403 when the To names another tenant than the Request-URI', async () => {
    const { registrar } = setup();
    const res = await register(registrar, { ruri: 'sip:demo.local', to: 'sip:1001@acme.test' });
    expect([res.status, res.reason]).toEqual([403, 'To Domain Is Not The Request-URI Domain']);
  });

  it('refuses blocked sources with 403, before anything else', async () => {
    const { registrar, auth } = setup();
    for (let i = 0; i < 2; i++) expect((await register(registrar, { password: 'nope' })).status).toBe(401);
    expect((await register(registrar, { password: 'nope' })).status).toBe(403);
    expect(auth.isBlocked('203.0.113.5')).toBe(true);
    expect((await register(registrar, {})).status).toBe(403);
    expect((await register(registrar, { source: { address: '203.0.113.6' } })).status).toBe(200);
  });

  it('enforces maxDevices: a new device beyond it gets 403 Too Many Devices; refreshes and replacements pass', async () => {
    const { registrar, tenant } = setup();
    expect((await register(registrar, { contacts: ['<sip:1001@10.0.0.2>'], callId: 'a' })).status).toBe(200);
    expect((await register(registrar, { contacts: ['<sip:1001@10.0.0.3>'], callId: 'b' })).status).toBe(200);
    const third = await register(registrar, { contacts: ['<sip:1001@10.0.0.4>'], callId: 'c' });
    expect([third.status, third.reason]).toEqual([403, 'Too Many Devices']);
    expect((await register(registrar, { contacts: ['<sip:1001@10.0.0.2>'], callId: 'a' })).status).toBe(200); // refresh
    // Removing one and adding another in the same request is fine.
    expect((await register(registrar, { contacts: ['<sip:1001@10.0.0.3>;expires=0', '<sip:1001@10.0.0.4>'], callId: 'b' })).status).toBe(200);
    expect(uris(registrar.contacts(tenant('demo.local'), '1001')).sort()).toEqual(['sip:1001@10.0.0.2', 'sip:1001@10.0.0.4']);
    // Two contacts at once beyond the limit.
    expect((await register(registrar, { user: '1001', contacts: ['<sip:1001@10.0.0.5>', '<sip:1001@10.0.0.6>', '<sip:1001@10.0.0.7>'], callId: 'd' })).status).toBe(403);
  });

  it('a device with the same +sip.instance from a new address replaces its old binding', async () => {
    const { registrar, tenant, events } = setup();
    const inst = ';+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"';
    expect((await register(registrar, { contacts: [`<sip:1001@10.0.0.2>${inst}`], callId: 'a' })).status).toBe(200);
    expect((await register(registrar, { contacts: ['<sip:1001@10.0.0.3>'], callId: 'b' })).status).toBe(200);
    expect((await register(registrar, { contacts: [`<sip:1001@10.0.0.9>${inst}`], callId: 'c' })).status).toBe(200);
    expect(uris(registrar.contacts(tenant('demo.local'), '1001')).sort()).toEqual(['sip:1001@10.0.0.3', 'sip:1001@10.0.0.9']);
    expect(events).toContain('-1001@demo.local sip:1001@10.0.0.2');
  });

  it("tooManyDevices: 'replace-oldest' drops the least recently refreshed device instead", async () => {
    const { registrar, tenant, clock } = setup({ tooManyDevices: 'replace-oldest' });
    await register(registrar, { contacts: ['<sip:1001@10.0.0.2>'], callId: 'a' });
    clock.advance(1000);
    await register(registrar, { contacts: ['<sip:1001@10.0.0.3>'], callId: 'b' });
    clock.advance(1000);
    expect((await register(registrar, { contacts: ['<sip:1001@10.0.0.4>'], callId: 'c' })).status).toBe(200);
    expect(uris(registrar.contacts(tenant('demo.local'), '1001'))).toEqual(['sip:1001@10.0.0.4', 'sip:1001@10.0.0.3']);
  });

  it('contacts(): newest first; TCP bindings go back on their connection', async () => {
    const { registrar, tenant, clock } = setup();
    await register(registrar, { user: '1002', contacts: ['<sip:1002@10.0.0.2;transport=tcp>'], source: { protocol: 'tcp', address: '10.0.0.2', port: 50123, connectionId: 'conn-7' }, callId: 'x' });
    clock.advance(500);
    await register(registrar, { user: '1002', contacts: ['<sip:1002@10.0.0.8:5070>'], source: { address: '198.51.100.1', port: 1024 }, callId: 'y' });
    const cs = registrar.contacts(tenant('demo.local'), '1002');
    expect(cs.map((c) => [c.uri, c.destination])).toEqual([
      ['sip:1002@10.0.0.8:5070', { protocol: 'udp', address: '198.51.100.1', port: 1024 }],
      ['sip:1002@10.0.0.2;transport=tcp', { protocol: 'tcp', address: '10.0.0.2', port: 50123, connectionId: 'conn-7' }],
    ]);
    expect(registrar.registrations().map((r) => [r.aor, r.number, r.tenant.domain, r.uri])).toEqual([
      ['sip:1002@demo.local', '1002', 'demo.local', 'sip:1002@10.0.0.8:5070'],
      ['sip:1002@demo.local', '1002', 'demo.local', 'sip:1002@10.0.0.2;transport=tcp'],
    ]);
  });

  it("reports 'registered' once (not on refresh), and 'unregistered' on removal and on expiry (sweep)", async () => {
    const { registrar, events, clock } = setup({ sweepSeconds: 10 });
    await register(registrar, { contacts: ['<sip:1001@10.0.0.2>'], expires: 120, callId: 'a' });
    await register(registrar, { contacts: ['<sip:1001@10.0.0.2>'], expires: 120, callId: 'a' });
    await register(registrar, { user: '1002', contacts: ['<sip:1002@10.0.0.5>'], expires: 60, callId: 'b' });
    await register(registrar, { contacts: ['<sip:1001@10.0.0.2>'], expires: 0, callId: 'a' });
    expect(events).toEqual(['+1001@demo.local sip:1001@10.0.0.2', '+1002@demo.local sip:1002@10.0.0.5', '-1001@demo.local sip:1001@10.0.0.2']);
    clock.advance(60_000);
    expect(events.at(-1)).toBe('-1002@demo.local sip:1002@10.0.0.5');
    expect(events).toHaveLength(4);
    registrar.close();
  });

  it('a listener that throws is reported to onError; the REGISTER is still answered 200 and other listeners run', async () => {
    const errors: string[] = [];
    const { registrar, events } = setup({ onError: (e, context) => errors.push(`${context}: ${(e as Error).message}`) });
    registrar.on('registered', () => {
      throw new Error('boom');
    });
    const after: string[] = [];
    registrar.on('registered', (_t, n) => after.push(n));
    expect((await register(registrar, {})).status).toBe(200);
    expect(errors).toEqual(['registered listener: boom']);
    expect(events).toHaveLength(1);
    expect(after).toEqual(['1001']);
  });

  it('remove() drops one binding and reports it', async () => {
    const { registrar, tenant, events } = setup();
    await register(registrar, {});
    const [c] = registrar.contacts(tenant('demo.local'), '1001');
    expect(registrar.remove(tenant('demo.local'), '1001', c!.binding)).toBe(true);
    expect(registrar.remove(tenant('demo.local'), '1001', c!.binding)).toBe(false);
    expect(events.at(-1)).toBe('-1001@demo.local sip:1001@10.0.0.2:5060');
  });

  it('setDirectory: bindings of removed extensions go (reported); the new passwords apply', async () => {
    const { registrar, auth, location, events } = setup();
    await register(registrar, { user: '1002' });
    await register(registrar, {});
    const next = new TenantDirectory(
      config([{ domain: 'demo.local', name: 'Demo', default: true, extensions: [{ number: '1001', name: 'Alice', password: 'changed-1001' }] }]),
    );
    auth.setDirectory(next);
    registrar.setDirectory(next);
    expect(location.addresses()).toEqual(['sip:1001@demo.local']);
    expect(events.at(-1)).toBe('-1002@demo.local sip:1001@10.0.0.2:5060');
    expect((await register(registrar, {})).status).toBe(401);
    expect((await register(registrar, { password: 'changed-1001' })).status).toBe(200);
  });

  it('the §10.3 checks still apply: 423 for a too short expiry, 400 for a bad Contact, 405 for other methods', async () => {
    const { registrar } = setup({ minExpires: 60 });
    const short = await register(registrar, { expires: 10 });
    expect([short.status, short.get('Min-Expires')]).toEqual([423, '60']);
    expect((await register(registrar, { contacts: ['<sip:1001@10.0.0.2>;q=7'] })).status).toBe(400);
    const options = parseMessage(serializeMessage(new SipRequest('OPTIONS', 'sip:demo.local', registerRequest({}).headers.map(([n, v]): [string, string] => (n === 'CSeq' ? [n, '1 OPTIONS'] : [n, v]))))) as SipRequest;
    expect((await registrar.process(options)).response.status).toBe(405);
  });

  it('handle() answers the transaction', async () => {
    const { registrar } = setup();
    const req = registerRequest({});
    const sent: number[] = [];
    await registrar.handle({ request: req, respond: (r: SipResponse) => sent.push(r.status) } as never, inboundOf({}, req));
    expect(sent).toEqual([401]);
  });
});

describe('PbxRegistrar robustness', () => {
  const hostile = fc.oneof(
    fc.constantFrom(
      '*',
      '<sip:1001@h1>;expires=0',
      '<sip:1001@h1>;expires=4294967296',
      '<sip:1001@h1>;q=2',
      '<sip:1001@h1>;+sip.instance="<urn:uuid:1>", <sip:1001@h2>;+sip.instance="<urn:uuid:1>"',
      '<sip:1001@h1>, <sip:1001@h2>, <sip:1001@h3>, <sip:1001@h4>',
      '<tel:+1555>',
      '<sip:@>',
      'sip:1001@127.0.0.1:5060',
      '<sip:1001@acme.test>',
      '"x" <sip:1001@[::1]:5060;transport=tcp>;reg-id=99999999999',
      '',
      ',,,',
    ),
    fc.string({ maxLength: 30 }),
  );
  const headerName = fc.constantFrom('Contact', 'Expires', 'Require', 'Path', 'Supported', 'To', 'Call-ID', 'CSeq');

  it('process() resolves with a response for any REGISTER, before and after authentication; bounds hold', async () => {
    const { registrar, location } = setup();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(headerName, hostile), { maxLength: 6 }), fc.constantFrom('sip:demo.local', 'sip:127.0.0.1', 'sip:acme.test', 'sip:nowhere.example'), async (headers, ruri) => {
        const lines = [`REGISTER ${ruri} SIP/2.0`, 'Via: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKprop', 'From: <sip:1001@demo.local>;tag=1', ...headers.map(([n, v]) => `${n}: ${v.replace(/[\r\n]/g, ' ')}`)];
        if (!headers.some(([n]) => n === 'To')) lines.push('To: <sip:1001@demo.local>');
        if (!headers.some(([n]) => n === 'Call-ID')) lines.push('Call-ID: prop');
        if (!headers.some(([n]) => n === 'CSeq')) lines.push('CSeq: 1 REGISTER');
        let req: SipRequest;
        try {
          req = parseMessage(Buffer.from(`${lines.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`), { validate: false }) as SipRequest;
        } catch {
          return;
        }
        const source = { address: `10.1.${++run >> 8}.${run & 255}` }; // a fresh address each time: throttling is tested elsewhere
        const inbound = inboundOf({ source }, req);
        const first = (await registrar.process(req, inbound)).response;
        expect(first.status).toBeGreaterThanOrEqual(200);
        expect(first.status).toBeLessThan(700);
        parseMessage(serializeMessage(first), { validate: false });
        if (first.status !== 401) return;
        let retry: SipRequest;
        try {
          const creds = new DigestClient({ credentials: { username: '1001', password: 'secret-1001' } }).authorize(first, req);
          if (creds === undefined) return;
          retry = parseMessage(serializeMessage(retryWithCredentials(req, creds)), { validate: false }) as SipRequest;
        } catch {
          return; // the client cannot build a retry of this request
        }
        const second = (await registrar.process(retry, inboundOf({ source }, retry))).response;
        expect(second.status).toBeGreaterThanOrEqual(200);
        expect(second.status).toBeLessThan(700);
        parseMessage(serializeMessage(second), { validate: false });
        expect(location.lookup('sip:1001@demo.local').length).toBeLessThanOrEqual(2); // maxDevices
      }),
      { numRuns: 300, seed: 20261122 },
    );
  });
});
