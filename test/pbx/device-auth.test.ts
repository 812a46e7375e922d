import { describe, expect, it } from 'vitest';
import { parseConfig, type PbxConfig } from '../../src/pbx/config/index.js';
import { DeviceAuth, FailureThrottle, type DeviceAuthResult } from '../../src/pbx/device-auth.js';
import { TenantDirectory } from '../../src/pbx/tenant-directory.js';
import {
  DigestClient,
  ManualClock,
  SipRequest,
  computeHA1,
  parseMessage,
  retryWithCredentials,
  serializeMessage,
  type DigestAlgorithm,
  type SipResponse,
} from '../../src/sip/index.js';

const SOURCE = { address: '198.51.100.7', port: 5060 };

function config(overrides: { security?: Record<string, unknown>; tenants?: unknown[] } = {}): PbxConfig {
  const doc = {
    security: { authFailureLimit: 3, authFailureWindowSeconds: 60, blockSeconds: 300, nonceSeconds: 300, ...overrides.security },
    tenants: overrides.tenants ?? [
      {
        domain: 'demo.local',
        name: 'Demo',
        default: true,
        extensions: [
          { number: '1001', name: 'Alice', password: 'secret-1001' },
          { number: '1002', name: 'Bob', password: 'secret-1002', digestAlgorithm: 'MD5' },
          { number: '1003', name: 'Carol', digestAlgorithm: 'MD5', ha1: { MD5: computeHA1('MD5', '1003', 'demo.local', 'secret-1003') } },
        ],
      },
      { domain: 'acme.test', name: 'Acme', extensions: [{ number: '1001', name: 'Ann', password: 'acme-1001-pw' }] },
    ],
  };
  return parseConfig(JSON.stringify(doc), '/tmp/device-auth-test.json');
}

function setup(cfg = config()) {
  const clock = new ManualClock(1_000_000);
  const auth = new DeviceAuth({ directory: new TenantDirectory(cfg), clock, secret: new Uint8Array(32).fill(7) });
  return { clock, auth };
}

/** A request as a phone sends it, through the wire. */
function request(method: string, opts: { uri?: string; from?: string; to?: string; cseq?: number } = {}): SipRequest {
  const from = opts.from ?? 'sip:1001@demo.local';
  const req = new SipRequest(method, opts.uri ?? (method === 'REGISTER' ? 'sip:demo.local' : 'sip:1002@demo.local'), [
    ['Via', `SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK${method}${opts.cseq ?? 1}x`],
    ['Max-Forwards', '70'],
    ['From', `<${from}>;tag=t1`],
    ['To', `<${opts.to ?? (method === 'REGISTER' ? from : 'sip:1002@demo.local')}>`],
    ['Call-ID', `call-${method}`],
    ['CSeq', `${opts.cseq ?? 1} ${method}`],
    ['Contact', '<sip:1001@198.51.100.7:5060>'],
  ]);
  return parseMessage(serializeMessage(req)) as SipRequest;
}

const wire = (r: SipRequest) => parseMessage(serializeMessage(r)) as SipRequest;

function challengeOf(result: DeviceAuthResult): SipResponse {
  if (result.kind !== 'challenge') throw new Error(`expected a challenge, got ${JSON.stringify(result)}`);
  return result.response;
}

/** Challenge, then answer it with `password` as `username`. */
async function login(auth: DeviceAuth, req: SipRequest, username: string, password: string, algorithms?: DigestAlgorithm[]): Promise<DeviceAuthResult> {
  const challenge = challengeOf(await auth.authenticate(req, SOURCE));
  const client = new DigestClient({ credentials: { username, password }, ...(algorithms === undefined ? {} : { algorithms }) });
  const creds = client.authorize(challenge, req);
  if (creds === undefined) throw new Error('the client could not answer');
  return auth.authenticate(wire(retryWithCredentials(req, creds)), SOURCE);
}

const algorithmsOf = (res: SipResponse, proxy = false) => (proxy ? res.proxyAuthenticate : res.wwwAuthenticate).map((h) => h.params.get('algorithm'));

describe('DeviceAuth', () => {
  it('challenges a REGISTER with 401 in the tenant realm, then accepts the extension password', async () => {
    const { auth } = setup();
    const challenge = challengeOf(await auth.authenticate(request('REGISTER'), SOURCE));
    expect(challenge.status).toBe(401);
    expect(challenge.wwwAuthenticate[0]!.params.get('realm')).toBe('demo.local');
    const result = await login(auth, request('REGISTER'), '1001', 'secret-1001');
    expect(result.kind === 'ok' && [result.tenant.domain, result.extension.number]).toEqual(['demo.local', '1001']);
  });

  it('challenges other methods with 407 Proxy-Authenticate and accepts the From user', async () => {
    const { auth } = setup();
    const invite = request('INVITE');
    const challenge = challengeOf(await auth.authenticate(invite, SOURCE));
    expect(challenge.status).toBe(407);
    expect(challenge.proxyAuthenticate).toHaveLength(1);
    expect((await login(auth, invite, '1001', 'secret-1001')).kind).toBe('ok');
  });

  it('refuses with 403 when the authenticated user is not the From user (no caller-ID spoofing), or not the To user of a REGISTER', async () => {
    const { auth } = setup();
    expect(await login(auth, request('INVITE', { from: 'sip:1001@demo.local' }), '1002', 'secret-1002')).toEqual({ kind: 'refused', status: 403, reason: 'Authenticated User Is Not The From User' });
    expect(await login(auth, request('REGISTER', { from: 'sip:1001@demo.local' }), '1002', 'secret-1002')).toEqual({ kind: 'refused', status: 403, reason: 'Authenticated User Is Not The To User' });
  });

  it('selects the tenant by the From host (REGISTER: the Request-URI host); IP addresses and unknown domains go to the default tenant', async () => {
    const { auth } = setup();
    const acme = await login(auth, request('INVITE', { from: 'sip:1001@acme.test', uri: 'sip:1002@acme.test' }), '1001', 'acme-1001-pw');
    expect(acme.kind === 'ok' && acme.tenant.domain).toBe('acme.test');
    // The demo password is not Acme's.
    const wrong = await login(auth, request('INVITE', { from: 'sip:1001@acme.test' }), '1001', 'secret-1001');
    expect(wrong.kind).toBe('challenge');
    const byIp = await login(auth, request('REGISTER', { uri: 'sip:127.0.0.1:5060', from: 'sip:1001@127.0.0.1' }), '1001', 'secret-1001');
    expect(byIp.kind === 'ok' && byIp.tenant.domain).toBe('demo.local');
  });

  it('refuses a domain no tenant serves with 404 when there is no default tenant', async () => {
    const { auth } = setup(config({ tenants: [{ domain: 'acme.test', name: 'Acme', extensions: [{ number: '1001', name: 'Ann', password: 'acme-1001-pw' }] }] }));
    expect(await auth.authenticate(request('REGISTER', { uri: 'sip:192.0.2.1', from: 'sip:1001@192.0.2.1' }), SOURCE)).toEqual({ kind: 'refused', status: 404, reason: 'Domain Not Served' });
  });

  it('offers each extension its own algorithms in configuration order; an MD5-only extension gets MD5 alone and cannot use SHA-256', async () => {
    const { auth } = setup(config({ security: { digestAlgorithms: ['SHA-256', 'MD5'] } }));
    expect(algorithmsOf(challengeOf(await auth.authenticate(request('REGISTER'), SOURCE)))).toEqual(['SHA-256', 'MD5']);
    const bob = request('REGISTER', { from: 'sip:1002@demo.local' });
    const bobChallenge = challengeOf(await auth.authenticate(bob, SOURCE));
    expect(algorithmsOf(bobChallenge)).toEqual(['MD5']);
    expect((await login(auth, bob, '1002', 'secret-1002')).kind).toBe('ok');
    expect((await login(auth, request('REGISTER'), '1001', 'secret-1001', ['SHA-256'])).kind).toBe('ok');
    // Bob answering Alice's challenge (which offers SHA-256) with SHA-256: not an algorithm of his.
    const alice = challengeOf(await auth.authenticate(request('REGISTER'), SOURCE));
    const creds = new DigestClient({ credentials: { username: '1002', password: 'secret-1002' } }).authorize(alice, bob)!;
    expect(creds[0]![1].params.get('algorithm')).toBe('SHA-256');
    expect((await auth.authenticate(wire(retryWithCredentials(bob, creds)), SOURCE)).kind).toBe('challenge');
    // An unknown user is offered the security default, like most extensions.
    expect(algorithmsOf(challengeOf(await auth.authenticate(request('REGISTER', { from: 'sip:9999@demo.local' }), SOURCE)))).toEqual(['SHA-256', 'MD5']);
  });

  it('the demo default (security.digestAlgorithms ["MD5"]) offers MD5 alone, which baresip 1.0 needs', async () => {
    const { auth } = setup();
    expect(algorithmsOf(challengeOf(await auth.authenticate(request('REGISTER'), SOURCE)))).toEqual(['MD5']);
    expect(algorithmsOf(challengeOf(await auth.authenticate(request('INVITE'), SOURCE)), true)).toEqual(['MD5']);
  });

  it('takes HA1 values instead of a password', async () => {
    const { auth } = setup();
    expect((await login(auth, request('REGISTER', { from: 'sip:1003@demo.local' }), '1003', 'secret-1003')).kind).toBe('ok');
  });

  it('re-challenges with stale=true when the nonce outlived security.nonceSeconds', async () => {
    const { auth, clock } = setup();
    const req = request('REGISTER');
    const challenge = challengeOf(await auth.authenticate(req, SOURCE));
    const creds = new DigestClient({ credentials: { username: '1001', password: 'secret-1001' } }).authorize(challenge, req)!;
    clock.advance(301_000);
    const stale = challengeOf(await auth.authenticate(wire(retryWithCredentials(req, creds)), SOURCE));
    expect(stale.status).toBe(401);
    expect(stale.wwwAuthenticate[0]!.params.get('stale')).toBe('true');
    expect(auth.isBlocked(SOURCE.address)).toBe(false);
  });

  it('answers malformed credentials with 400', async () => {
    const { auth } = setup();
    const req = request('REGISTER');
    req.append('Authorization', 'Digest username="1001", realm="demo.local"');
    expect(await auth.authenticate(wire(req), SOURCE)).toEqual({ kind: 'refused', status: 400, reason: 'Malformed Credentials' });
  });

  it('blocks a source after authFailureLimit failures in the window (403), for blockSeconds; first challenges do not count', async () => {
    const { auth, clock } = setup();
    for (let i = 0; i < 10; i++) expect((await auth.authenticate(request('REGISTER'), SOURCE)).kind).toBe('challenge');
    expect((await login(auth, request('REGISTER'), '1001', 'wrong-1')).kind).toBe('challenge');
    expect((await login(auth, request('REGISTER', { from: 'sip:7777@demo.local' }), '7777', 'x')).kind).toBe('challenge'); // unknown user counts
    expect(await login(auth, request('REGISTER'), '1001', 'wrong-3')).toEqual({ kind: 'refused', status: 403, reason: 'Blocked After Repeated Authentication Failures' });
    expect(auth.isBlocked(SOURCE.address)).toBe(true);
    // Even the right password, even without credentials.
    expect(await auth.authenticate(request('REGISTER'), SOURCE)).toMatchObject({ kind: 'refused', status: 403 });
    // Another address is not affected.
    expect((await auth.authenticate(request('REGISTER'), { address: '198.51.100.8', port: 5060 })).kind).toBe('challenge');
    clock.advance(300_000);
    expect(auth.isBlocked(SOURCE.address)).toBe(false);
    expect((await login(auth, request('REGISTER'), '1001', 'secret-1001')).kind).toBe('ok');
  });

  it('counts failures only within authFailureWindowSeconds', async () => {
    const { auth, clock } = setup();
    for (let i = 0; i < 6; i++) {
      expect((await login(auth, request('REGISTER'), '1001', 'wrong')).kind).toBe('challenge');
      clock.advance(31_000); // two failures per 60 s window at most
    }
    expect(auth.isBlocked(SOURCE.address)).toBe(false);
  });

  it('setDirectory: a new password applies at once, nonces of an unchanged domain stay valid, new limits apply', async () => {
    const { auth } = setup();
    const req = request('REGISTER');
    const challenge = challengeOf(await auth.authenticate(req, SOURCE));
    const doc = config();
    const changed = JSON.parse(JSON.stringify({ ...doc, file: undefined })) as Record<string, any>;
    const next = parseConfig(
      JSON.stringify({
        security: { authFailureLimit: 1, authFailureWindowSeconds: 60, blockSeconds: 10, nonceSeconds: 300 },
        tenants: changed['tenants'].map((t: any) => ({
          domain: t.domain,
          name: t.name,
          default: t.default,
          extensions: t.extensions.map((e: any) => ({ number: e.number, name: e.name, ...(e.digestAlgorithms.length === 1 ? { digestAlgorithm: e.digestAlgorithms[0] } : {}), ...(e.password !== null ? { password: e.number === '1001' && t.domain === 'demo.local' ? 'new-secret-1001' : e.password } : { ha1: e.ha1 }) })),
        })),
      }),
      '/tmp/device-auth-test.json',
    );
    auth.setDirectory(new TenantDirectory(next));
    const answer = (password: string) => {
      const creds = new DigestClient({ credentials: { username: '1001', password } }).authorize(challenge, req)!;
      return auth.authenticate(wire(retryWithCredentials(req, creds)), SOURCE);
    };
    expect((await answer('new-secret-1001')).kind).toBe('ok'); // the old nonce, the new password
    expect(await answer('secret-1001')).toMatchObject({ kind: 'refused', status: 403 }); // old password; limit now 1
  });
});

describe('FailureThrottle', () => {
  it('stays bounded: the oldest addresses are forgotten first', () => {
    const clock = new ManualClock();
    const t = new FailureThrottle({ limit: 2, windowMs: 60_000, blockMs: 60_000, clock, maxAddresses: 3 });
    for (let i = 0; i < 1000; i++) t.recordFailure(`10.0.${i >> 8}.${i & 255}`);
    expect(t.size).toEqual({ counting: 3, blocked: 0 });
    for (let i = 0; i < 10; i++) {
      t.recordFailure(`192.0.2.${i}`);
      t.recordFailure(`192.0.2.${i}`);
    }
    expect(t.size.blocked).toBe(3);
    expect(t.isBlocked('192.0.2.9')).toBe(true);
    expect(t.isBlocked('192.0.2.0')).toBe(false);
    t.forget('192.0.2.9');
    expect(t.isBlocked('192.0.2.9')).toBe(false);
  });

  it('rejects bad limits', () => {
    expect(() => new FailureThrottle({ limit: 0, windowMs: 1, blockMs: 1, clock: new ManualClock() })).toThrow(RangeError);
  });
});
