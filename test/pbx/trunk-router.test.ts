import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig, type PbxConfig, type TenantConfig } from '../../src/pbx/config/index.js';
import { escapeSipUser, ipInCidr, shouldFailOver, sipUriHost, TrunkRouter } from '../../src/pbx/trunk-router.js';

const root = join(__dirname, '..', '..');

/** config/example-trunk.json as loadConfig gives it. */
function exampleConfig(): PbxConfig {
  const file = join(root, 'config', 'example-trunk.json');
  return parseConfig(readFileSync(file, 'utf8'), file);
}

/** A two-tenant configuration built for these tests. */
function testConfig(): PbxConfig {
  const json = {
    tenants: [
      {
        domain: 'acme.example',
        name: 'Acme',
        default: true,
        extensions: [{ number: '2001', name: 'Ann', password: 'secret-2001-x' }],
        trunks: [
          {
            name: 'primary',
            host: 'sip.carrier.example',
            port: 5070,
            transport: 'tcp',
            username: 'acct1',
            password: 'pw1',
            authUsername: 'auth-acct1',
            register: true,
            acceptFrom: ['203.0.113.0/24', '2001:db8:5::/48'],
            dids: [
              { number: '+15551230000', destination: { type: 'extension', number: '2001' } },
              { number: '15551230009', destination: { type: 'hangup' } },
            ],
          },
          { name: 'backup', host: '198.51.100.20', dids: [] },
          { name: 'branded', host: 'trunk.other.example', username: 'acct3', password: 'pw3', fromUser: 'main-line', fromDomain: 'brand.example', dids: [] },
          { name: 'v6', host: '[2001:db8::7]', transport: 'udp', dids: [] },
        ],
        outboundRoutes: [
          { name: 'emergency', patterns: ['911'], trunks: ['primary', 'backup'] },
          { name: 'local', patterns: ['_NXXNXXXXXX'], prepend: '+1', trunks: ['backup', 'primary'], callerId: { number: '+15551230000', name: 'Acme Inc' } },
          { name: 'national', patterns: ['_1NXXNXXXXXX'], prepend: '+', trunks: ['primary'], callerId: { number: '+15551230000' } },
          { name: 'dial-9', patterns: ['_9.'], strip: 1, trunks: ['primary', 'backup', 'branded'] },
          { name: 'any-9-long', patterns: ['_9XXXXXXX'], trunks: ['backup'] },
          { name: 'hash', patterns: ['_*X#'], trunks: ['v6'] },
        ],
      },
      {
        domain: 'beta.example',
        name: 'Beta',
        extensions: [{ number: '100', name: 'Bea', password: 'secret-100-xx' }],
        trunks: [
          { name: 'shared', host: '203.0.113.50', dids: [{ number: '+15559990000', destination: { type: 'extension', number: '100' } }] },
        ],
        outboundRoutes: [{ name: 'all', patterns: ['_X.'], trunks: ['shared'] }],
      },
    ],
  };
  return parseConfig(JSON.stringify(json), join(root, 'test-config.json'));
}

const hosts: Record<string, string[]> = {
  'sip.carrier.example': ['192.0.2.10', '192.0.2.11'],
  'trunk.other.example': ['192.0.2.30', '2001:db8:30::1'],
};

async function lookup(host: string): Promise<string[]> {
  const a = hosts[host];
  if (a === undefined) throw new Error(`getaddrinfo ENOTFOUND ${host}`);
  return a;
}

function tenant(config: PbxConfig, domain: string): TenantConfig {
  const t = config.tenants.find((x) => x.domain === domain);
  if (t === undefined) throw new Error(domain);
  return t;
}

const ann = { number: '2001', name: 'Ann' };

describe('TrunkRouter.outbound: route selection', () => {
  it('routes are tried in configuration order; the first with a matching pattern wins', async () => {
    const config = testConfig();
    const router = await TrunkRouter.create(config.tenants, { lookup });
    const acme = tenant(config, 'acme.example');
    expect(router.outbound(acme, '911', ann)?.route.name).toBe('emergency');
    expect(router.outbound(acme, '2125551234', ann)?.route.name).toBe('local');
    expect(router.outbound(acme, '12125551234', ann)?.route.name).toBe('national');
    // "95551234" matches both dial-9 and the more specific any-9-long: the earlier one wins.
    expect(router.outbound(acme, '95551234', ann)?.route.name).toBe('dial-9');
    expect(router.outbound(acme, '*5#', ann)?.route.name).toBe('hash');
  });

  it('no matching route: undefined (the B2BUA answers 404)', async () => {
    const config = testConfig();
    const router = await TrunkRouter.create(config.tenants, { lookup });
    const acme = tenant(config, 'acme.example');
    expect(router.outbound(acme, '1234', ann)).toBeUndefined();
    expect(router.outbound(acme, '', ann)).toBeUndefined();
    expect(router.outbound(acme, '9', ann)).toBeUndefined();
  });

  it('another tenant uses its own routes; an unknown tenant has none', async () => {
    const config = testConfig();
    const router = await TrunkRouter.create(config.tenants, { lookup });
    const plan = router.outbound(tenant(config, 'beta.example'), '911', { number: '100', name: 'Bea' });
    expect(plan?.route.name).toBe('all');
    expect(plan?.attempts.map((a) => a.trunk.name)).toEqual(['shared']);
    const stranger = { ...tenant(config, 'beta.example'), domain: 'nobody.example' };
    expect(router.outbound(stranger, '911', ann)).toBeUndefined();
  });

  it('strip and prepend: prepend + dialled.slice(strip)', async () => {
    const config = testConfig();
    const router = await TrunkRouter.create(config.tenants, { lookup });
    const acme = tenant(config, 'acme.example');
    expect(router.outbound(acme, '2125551234', ann)?.number).toBe('+12125551234');
    expect(router.outbound(acme, '12125551234', ann)?.number).toBe('+12125551234');
    expect(router.outbound(acme, '95551234', ann)?.number).toBe('5551234');
    expect(router.outbound(acme, '911', ann)?.number).toBe('911');
  });

  it('the example configuration: routes, numbers and trunks as docs/pbx-config.md describes', async () => {
    const config = exampleConfig();
    const router = await TrunkRouter.create(config.tenants, { lookup: async () => '192.0.2.99' });
    const t = config.tenants[0]!;
    const p = router.outbound(t, '5552349876', { number: '2002', name: 'Sam Sales' });
    expect(p?.route.name).toBe('local');
    expect(p?.number).toBe('+15552349876');
    expect(p?.attempts.map((a) => a.trunk.name)).toEqual(['carrier', 'backup']);
    expect(p?.attempts.map((a) => a.uri)).toEqual(['sip:+15552349876@sip.carrier.example:5060;transport=udp', 'sip:+15552349876@198.51.100.20:5060;transport=tcp']);
    expect(router.outbound(t, '9123', { number: '2002', name: 'Sam Sales' })?.number).toBe('123');
    expect(router.outbound(t, '+442071234567', { number: '2002', name: 'Sam Sales' })?.route.name).toBe('e164');
  });
});

describe('TrunkRouter.outbound: attempts', () => {
  it('route.trunks in order, with URI, resolved destination, credentials', async () => {
    const config = testConfig();
    const router = await TrunkRouter.create(config.tenants, { lookup });
    const acme = tenant(config, 'acme.example');
    const plan = router.outbound(acme, '95551234', ann)!;
    expect(plan.attempts.map((a) => a.trunk.name)).toEqual(['primary', 'backup', 'branded']);
    const [primary, backup, branded] = plan.attempts;
    expect(primary).toMatchObject({
      uri: 'sip:5551234@sip.carrier.example:5070;transport=tcp',
      destination: { protocol: 'tcp', address: '192.0.2.10', port: 5070 },
      credentials: { username: 'auth-acct1', password: 'pw1' },
    });
    expect(backup).toMatchObject({ uri: 'sip:5551234@198.51.100.20:5060;transport=udp', destination: { protocol: 'udp', address: '198.51.100.20', port: 5060 } });
    expect(backup!.credentials).toBeUndefined();
    expect(branded!.credentials).toEqual({ username: 'acct3', password: 'pw3' });
    // Local route: the other order.
    expect(router.outbound(acme, '2125551234', ann)!.attempts.map((a) => a.trunk.name)).toEqual(['backup', 'primary']);
  });

  it('IPv6 trunk host in brackets; a dialled "#" escaped in the Request-URI', async () => {
    const config = testConfig();
    const router = await TrunkRouter.create(config.tenants, { lookup });
    const plan = router.outbound(tenant(config, 'acme.example'), '*5#', ann)!;
    expect(plan.attempts[0]).toMatchObject({ uri: 'sip:*5%23@[2001:db8::7]:5060;transport=udp', destination: { protocol: 'udp', address: '2001:db8::7', port: 5060 } });
  });

  it('a host with IPv6 and IPv4 addresses: the destination is IPv4, every address is accepted', async () => {
    const config = testConfig();
    const router = await TrunkRouter.create(config.tenants, { lookup: async (h) => (h === 'trunk.other.example' ? ['2001:db8:30::1', '192.0.2.31'] : lookup(h)) });
    const plan = router.outbound(tenant(config, 'acme.example'), '95551234', ann)!;
    expect(plan.attempts[2]!.destination).toEqual({ protocol: 'udp', address: '192.0.2.31', port: 5060 });
    expect(router.identify({ address: '2001:db8:30::1', port: 5060 })?.trunk.name).toBe('branded');
    expect(router.identify({ address: '192.0.2.31', port: 5060 })?.trunk.name).toBe('branded');
  });

  it('a trunk whose host does not resolve is left out and listed in unresolved', async () => {
    const config = testConfig();
    const router = await TrunkRouter.create(config.tenants, { lookup: async (h) => (h === 'trunk.other.example' ? '192.0.2.30' : Promise.reject(new Error('SERVFAIL'))) });
    const plan = router.outbound(tenant(config, 'acme.example'), '95551234', ann)!;
    expect(plan.attempts.map((a) => a.trunk.name)).toEqual(['backup', 'branded']);
    expect(router.unresolved.map((u) => [u.trunk.name, u.host, u.use, u.error])).toEqual([['primary', 'sip.carrier.example', 'host', 'SERVFAIL']]);
    // National goes only through "primary": a plan with no attempts (the B2BUA answers 503).
    expect(router.outbound(tenant(config, 'acme.example'), '12125551234', ann)!.attempts).toEqual([]);
  });
});

describe('TrunkRouter.outbound: caller ID', () => {
  it("the route's callerId (number and name) replaces the caller's", async () => {
    const config = testConfig();
    const router = await TrunkRouter.create(config.tenants, { lookup });
    const plan = router.outbound(tenant(config, 'acme.example'), '2125551234', ann)!;
    expect(plan.callerId).toEqual({ number: '+15551230000', name: 'Acme Inc' });
    // backup has no username: From user is the caller ID number, From host the trunk host.
    expect(plan.attempts[0]!.from).toEqual({ uri: 'sip:+15551230000@198.51.100.20', displayName: 'Acme Inc' });
    // primary has a username: it is the From user (the account), the display name stays.
    expect(plan.attempts[1]!.from).toEqual({ uri: 'sip:acct1@sip.carrier.example', displayName: 'Acme Inc' });
  });

  it('a route callerId without a name: no display name', async () => {
    const config = testConfig();
    const router = await TrunkRouter.create(config.tenants, { lookup });
    const plan = router.outbound(tenant(config, 'acme.example'), '12125551234', ann)!;
    expect(plan.callerId).toEqual({ number: '+15551230000', name: null });
    expect(plan.attempts[0]!.from).toEqual({ uri: 'sip:acct1@sip.carrier.example' });
  });

  it("no route callerId: the caller's number and name; fromUser/fromDomain win for the From", async () => {
    const config = testConfig();
    const router = await TrunkRouter.create(config.tenants, { lookup });
    const plan = router.outbound(tenant(config, 'acme.example'), '95551234', ann)!;
    expect(plan.callerId).toEqual({ number: '2001', name: 'Ann' });
    expect(plan.attempts.map((a) => a.from)).toEqual([
      { uri: 'sip:acct1@sip.carrier.example', displayName: 'Ann' },
      { uri: 'sip:2001@198.51.100.20', displayName: 'Ann' },
      { uri: 'sip:main-line@brand.example', displayName: 'Ann' },
    ]);
    const anonymous = router.outbound(tenant(config, 'acme.example'), '95551234', { number: '2001', name: '' })!;
    expect(anonymous.callerId.name).toBeNull();
    expect(anonymous.attempts[1]!.from).toEqual({ uri: 'sip:2001@198.51.100.20' });
  });
});

describe('TrunkRouter.identify', () => {
  it('by IPv4 CIDR, IPv6 CIDR, IPv4-mapped IPv6 and host name (all its addresses)', async () => {
    const config = testConfig();
    const router = await TrunkRouter.create(config.tenants, { lookup });
    const who = (address: string): string | undefined => {
      const r = router.identify({ address, port: 5060 });
      return r === undefined ? undefined : `${r.tenant.domain}/${r.trunk.name}`;
    };
    expect(who('203.0.113.9')).toBe('acme.example/primary');
    expect(who('::ffff:203.0.113.9')).toBe('acme.example/primary');
    expect(who('2001:db8:5:ffff::1')).toBe('acme.example/primary');
    // An explicit acceptFrom replaces the default [host]: the carrier's signalling address is not in it.
    expect(who('192.0.2.10')).toBeUndefined();
    // Default acceptFrom is the host: an IP host matches itself only.
    expect(who('198.51.100.20')).toBe('acme.example/backup');
    expect(who('198.51.100.21')).toBeUndefined();
    // Default acceptFrom [host] with a host name: every address it resolved to.
    expect(who('192.0.2.30')).toBe('acme.example/branded');
    expect(who('2001:db8:30::1')).toBe('acme.example/branded');
    expect(who('2001:db8::7')).toBe('acme.example/v6');
    expect(who('2001:db8:0:0:0:0:0:7')).toBe('acme.example/v6');
    // Not a trunk: must authenticate as a device.
    expect(who('192.0.2.12')).toBeUndefined();
    expect(who('2001:db8:6::1')).toBeUndefined();
    expect(who('not-an-address')).toBeUndefined();
  });

  it('a source two trunks accept: the first in configuration order, or the one with the dialled DID', async () => {
    const config = testConfig();
    const router = await TrunkRouter.create(config.tenants, { lookup });
    const src = { address: '203.0.113.50', port: 5060 };
    expect(router.trunksAccepting(src.address).map((r) => r.trunk.name)).toEqual(['primary', 'shared']);
    expect(router.identify(src)?.trunk.name).toBe('primary');
    expect(router.identify(src, { requestUser: '+15559990000', toUser: undefined })?.trunk.name).toBe('shared');
    expect(router.identify(src, { requestUser: '15551230000', toUser: undefined })?.trunk.name).toBe('primary');
    expect(router.identify(src, { requestUser: '000', toUser: '000' })?.trunk.name).toBe('primary');
  });

  it('an acceptFrom host name that does not resolve matches nothing', async () => {
    const config = testConfig();
    const router = await TrunkRouter.create(config.tenants, { lookup: async (h) => (h === 'trunk.other.example' ? Promise.reject(new Error('NXDOMAIN')) : lookup(h)) });
    expect(router.identify({ address: '192.0.2.30', port: 5060 })).toBeUndefined();
    expect(router.identify({ address: '203.0.113.1', port: 5060 })?.trunk.name).toBe('primary');
    expect(router.unresolved.map((u) => [u.trunk.name, u.use])).toEqual([
      ['branded', 'host'],
      ['branded', 'acceptFrom'],
    ]);
  });

  it('resolves every distinct host name once', async () => {
    const config = testConfig();
    const asked: string[] = [];
    await TrunkRouter.create(config.tenants, { lookup: async (h) => (asked.push(h), lookup(h)) });
    expect(asked.sort()).toEqual(['sip.carrier.example', 'trunk.other.example']);
  });
});

describe('TrunkRouter.didDestination', () => {
  it('Request-URI user, with or without "+", user parameters and %-escapes', async () => {
    const config = testConfig();
    const router = await TrunkRouter.create(config.tenants, { lookup });
    const primary = tenant(config, 'acme.example').trunks[0]!;
    const ext = { type: 'extension', number: '2001' };
    expect(router.didDestination(primary, '+15551230000', undefined)).toEqual(ext);
    expect(router.didDestination(primary, '15551230000', undefined)).toEqual(ext);
    expect(router.didDestination(primary, '%2B15551230000', undefined)).toEqual(ext);
    expect(router.didDestination(primary, '+15551230000;npdi;rn=+15550000000', undefined)).toEqual(ext);
    // Configured without "+", dialled with it.
    expect(router.didDestination(primary, '+15551230009', undefined)).toEqual({ type: 'hangup' });
    expect(router.didDestination(primary, '15551230009', undefined)).toEqual({ type: 'hangup' });
  });

  it('the trunk username in the Request-URI (registration): the To user decides', async () => {
    const config = testConfig();
    const router = await TrunkRouter.create(config.tenants, { lookup });
    const primary = tenant(config, 'acme.example').trunks[0]!;
    expect(router.didDestination(primary, 'acct1', '+15551230000')).toEqual({ type: 'extension', number: '2001' });
    expect(router.didDestination(primary, 'acct1', '15551230009')).toEqual({ type: 'hangup' });
    expect(router.didDestination(primary, 'acct1', 'acct1')).toBeUndefined();
    expect(router.didDestination(primary, undefined, '15551230000')).toEqual({ type: 'extension', number: '2001' });
    // A Request-URI user that is no DID: the To user is tried.
    expect(router.didDestination(primary, 's', '+15551230000')).toEqual({ type: 'extension', number: '2001' });
  });

  it('unknown DIDs: undefined (404)', async () => {
    const config = testConfig();
    const router = await TrunkRouter.create(config.tenants, { lookup });
    const primary = tenant(config, 'acme.example').trunks[0]!;
    expect(router.didDestination(primary, '+15551230001', '+15551230001')).toBeUndefined();
    expect(router.didDestination(primary, undefined, undefined)).toBeUndefined();
    expect(router.didDestination(primary, '', '')).toBeUndefined();
    expect(router.didDestination(primary, '+', '+')).toBeUndefined();
    // Another trunk's DID is not this trunk's.
    const shared = tenant(config, 'beta.example').trunks[0]!;
    expect(router.didDestination(shared, '+15551230000', undefined)).toBeUndefined();
  });
});

describe('escapeSipUser, sipUriHost', () => {
  it('escapes what a user part may not hold; brackets IPv6 hosts once', () => {
    expect(escapeSipUser('+15551234567')).toBe('+15551234567');
    expect(escapeSipUser('*72#')).toBe('*72%23');
    expect(escapeSipUser('acct 1@x')).toBe('acct%201%40x');
    expect(escapeSipUser('é')).toBe('%C3%A9');
    expect(sipUriHost('2001:db8::7')).toBe('[2001:db8::7]');
    expect(sipUriHost('[2001:db8::7]')).toBe('[2001:db8::7]');
    expect(sipUriHost('192.0.2.1')).toBe('192.0.2.1');
    expect(sipUriHost('sip.carrier.example')).toBe('sip.carrier.example');
  });
});

describe('shouldFailOver', () => {
  const table: [number | undefined, boolean, string][] = [
    [undefined, true, 'timeout or transport error'],
    [100, false, 'provisional'],
    [180, false, 'provisional'],
    [200, false, 'answered'],
    [302, false, 'redirect: about the callee'],
    [400, true, 'bad request for this carrier'],
    [401, true, 'our credentials'],
    [402, true, 'payment required'],
    [403, true, 'forbidden: account'],
    [404, false, 'not found'],
    [405, true, 'method not allowed'],
    [408, true, 'request timeout'],
    [410, false, 'gone'],
    [407, true, 'proxy auth'],
    [415, true, 'unsupported media type'],
    [420, true, 'bad extension'],
    [429, true, 'rate limited'],
    [480, false, 'temporarily unavailable'],
    [481, true, 'no transaction'],
    [482, true, 'loop'],
    [483, true, 'too many hops'],
    [484, false, 'address incomplete'],
    [485, false, 'ambiguous'],
    [486, false, 'busy'],
    [487, false, 'cancelled'],
    [488, true, 'not acceptable here: another carrier may take our codecs'],
    [491, true, 'request pending'],
    [499, true, 'unknown 4xx'],
    [500, true, 'server error'],
    [502, true, 'bad gateway'],
    [503, true, 'service unavailable'],
    [504, true, 'gateway timeout'],
    [580, true, 'precondition failure'],
    [599, true, 'unknown 5xx'],
    [600, false, 'busy everywhere'],
    [603, false, 'declined'],
    [604, false, 'does not exist anywhere'],
    [606, true, 'not acceptable (media)'],
    [607, false, 'unwanted'],
    [608, false, 'rejected by an intermediary'],
    [699, false, 'unknown 6xx'],
    [0, true, 'not a status'],
    [99, true, 'not a status'],
    [700, true, 'not a status'],
    [486.5, true, 'not a status'],
  ];
  it.each(table)('%s → %s (%s)', (status, expected) => {
    expect(shouldFailOver(status)).toBe(expected);
  });
});

describe('ipInCidr', () => {
  it('edge cases', () => {
    expect(ipInCidr('203.0.113.0', '203.0.113.0/24')).toBe(true);
    expect(ipInCidr('203.0.113.255', '203.0.113.0/24')).toBe(true);
    expect(ipInCidr('203.0.114.0', '203.0.113.0/24')).toBe(false);
    expect(ipInCidr('203.0.112.255', '203.0.113.0/24')).toBe(false);
    expect(ipInCidr('1.2.3.4', '0.0.0.0/0')).toBe(true);
    expect(ipInCidr('1.2.3.4', '1.2.3.4/32')).toBe(true);
    expect(ipInCidr('1.2.3.5', '1.2.3.4/32')).toBe(false);
    expect(ipInCidr('1.2.3.4', '1.2.3.4')).toBe(true);
    expect(ipInCidr('10.200.1.1', '10.1.2.3/8')).toBe(true); // host bits of the network ignored
    expect(ipInCidr('10.0.0.1', '10.0.0.0/31')).toBe(true);
    expect(ipInCidr('10.0.0.2', '10.0.0.0/31')).toBe(false);
    expect(ipInCidr('172.31.255.255', '172.16.0.0/12')).toBe(true);
    expect(ipInCidr('172.32.0.0', '172.16.0.0/12')).toBe(false);
    // IPv6
    expect(ipInCidr('2001:db8::1', '2001:db8::/32')).toBe(true);
    expect(ipInCidr('2001:db9::1', '2001:db8::/32')).toBe(false);
    expect(ipInCidr('::1', '::1/128')).toBe(true);
    expect(ipInCidr('::', '::/0')).toBe(true);
    expect(ipInCidr('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '::/0')).toBe(true);
    expect(ipInCidr('[2001:db8::1]', '2001:db8::/64')).toBe(true);
    expect(ipInCidr('fe80::1%eth0', 'fe80::/10')).toBe(true);
    expect(ipInCidr('febf::1', 'fe80::/10')).toBe(true);
    expect(ipInCidr('fec0::1', 'fe80::/10')).toBe(false);
    expect(ipInCidr('2001:DB8::1', '2001:db8::/32')).toBe(true);
    // IPv4 and IPv4-mapped IPv6 are the same address, either way round.
    expect(ipInCidr('::ffff:192.0.2.1', '192.0.2.0/24')).toBe(true);
    expect(ipInCidr('::ffff:c000:201', '192.0.2.0/24')).toBe(true);
    expect(ipInCidr('192.0.2.1', '::ffff:192.0.2.0/120')).toBe(true);
    expect(ipInCidr('192.0.2.1', '2001:db8::/32')).toBe(false);
    expect(ipInCidr('2001:db8::1', '192.0.2.0/24')).toBe(false);
    // Invalid input is false, never an exception.
    expect(ipInCidr('192.0.2.1', '192.0.2.0/33')).toBe(false);
    expect(ipInCidr('2001:db8::1', '2001:db8::/129')).toBe(false);
    expect(ipInCidr('192.0.2.1', '192.0.2.0/')).toBe(false);
    expect(ipInCidr('192.0.2.1', '192.0.2.0/-1')).toBe(false);
    expect(ipInCidr('192.0.2.1', '192.0.2.0/24/1')).toBe(false);
    expect(ipInCidr('192.0.2.256', '192.0.2.0/24')).toBe(false);
    expect(ipInCidr('host.example', '192.0.2.0/24')).toBe(false);
    expect(ipInCidr('', '')).toBe(false);
    expect(ipInCidr('192.0.2.1', 'sip.example/24')).toBe(false);
  });

  const v4 = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 });
  const v6 = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 });
  const fmt4 = (b: number[]): string => b.join('.');
  const fmt6Full = (b: number[]): string => {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push((((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)).toString(16));
    return groups.join(':');
  };
  /** Node's own compressed form ("2001:db8::1"). */
  const fmt6Short = (b: number[]): string => new URL(`http://[${fmt6Full(b)}]/`).hostname.slice(1, -1);
  /** The network with the address's bits outside the prefix: in the block. */
  const inside = (net: number[], addr: number[], prefix: number): number[] =>
    net.map((n, i) => {
      const keep = Math.max(0, Math.min(8, prefix - 8 * i));
      const mask = (0xff << (8 - keep)) & 0xff;
      return (n & mask) | ((addr[i] ?? 0) & ~mask & 0xff);
    });
  /** An address in the block with one prefix bit flipped: outside it. */
  const flip = (addr: number[], bit: number): number[] => addr.map((v, i) => (i === bit >> 3 ? v ^ (0x80 >> (bit & 7)) : v));

  it('IPv4: an address generated inside a block is in it; one prefix bit flipped, it is not', () => {
    fc.assert(
      fc.property(v4, v4, fc.integer({ min: 0, max: 32 }), fc.nat(), (net, addr, prefix, bitSeed) => {
        const a = inside(net, addr, prefix);
        const cidr = `${fmt4(net)}/${prefix}`;
        expect(ipInCidr(fmt4(a), cidr)).toBe(true);
        expect(ipInCidr(`::ffff:${fmt4(a)}`, cidr)).toBe(true);
        if (prefix > 0) expect(ipInCidr(fmt4(flip(a, bitSeed % prefix)), cidr)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('IPv6 (full and compressed forms): inside is in, one prefix bit flipped is out', () => {
    fc.assert(
      fc.property(v6, v6, fc.integer({ min: 0, max: 128 }), fc.nat(), fc.boolean(), (net, addr, prefix, bitSeed, short) => {
        const f = short ? fmt6Short : fmt6Full;
        const a = inside(net, addr, prefix);
        const cidr = `${f(net)}/${prefix}`;
        expect(ipInCidr(f(a), cidr)).toBe(true);
        if (prefix > 0) expect(ipInCidr(f(flip(a, bitSeed % prefix)), cidr)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it("agrees with node:net BlockList on random addresses and blocks (zero runs of v6 included)", () => {
    const sparse6 = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })), { minLength: 16, maxLength: 16 });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(fc.constant(4 as const), v4, v4, fc.integer({ min: 0, max: 32 })),
          fc.tuple(fc.constant(6 as const), sparse6, sparse6, fc.integer({ min: 0, max: 128 })),
        ),
        ([family, net, addr, prefix]) => {
          const f = family === 4 ? fmt4 : fmt6Short;
          const list = new BlockList();
          list.addSubnet(f(net), prefix, family === 4 ? 'ipv4' : 'ipv6');
          const address = f(addr);
          expect(isIP(address)).toBe(family);
          expect(ipInCidr(address, `${f(net)}/${prefix}`)).toBe(list.check(address, family === 4 ? 'ipv4' : 'ipv6'));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(typeof ipInCidr(a, b)).toBe('boolean');
      }),
    );
  });
});
