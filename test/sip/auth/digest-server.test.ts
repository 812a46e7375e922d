/** DigestServer: challenges, nonce expiry and forgery, nc replay, bounded state, every failure reason. */
import { describe, expect, it } from 'vitest';
import {
  DigestServer,
  computeHA1,
  computeHA1Set,
  computeResponse,
  encodeExtValue,
  formatNc,
  type DigestAlgorithm,
  type DigestServerOptions,
} from '../../../src/sip/auth/index.js';
import { parseMessage, serializeMessage, type SipRequest } from '../../../src/sip/index.js';
import { SECRET, TestClock, counterRandom, request, wire } from './wire.js';

const REALM = 'example.com';
const store = new Map([['alice', computeHA1Set('alice', REALM, 'wonderland')], ['Jäsøn Doe', computeHA1Set('Jäsøn Doe', REALM, 'pw')]]);

function makeServer(options: Partial<DigestServerOptions> = {}): { srv: DigestServer; clock: TestClock } {
  const clock = new TestClock();
  const srv = new DigestServer({ realm: REALM, clock, random: counterRandom(), secret: SECRET, lookup: (u) => store.get(u), ...options });
  return { srv, clock };
}

function nonceOf(srv: DigestServer): string {
  return srv.challenge()[0]![1].nonce!;
}

interface CredsInput {
  nonce: string;
  nc?: number;
  username?: string;
  usernameStar?: string;
  password?: string;
  realm?: string;
  algorithm?: DigestAlgorithm;
  qop?: 'auth' | 'auth-int' | null;
  uri?: string;
  cnonce?: string;
  response?: string;
  extra?: string;
}

/** Credentials computed here, independently of DigestClient, on `req`. */
function authorize(req: SipRequest, c: CredsInput, header = 'Authorization'): SipRequest {
  const algorithm = c.algorithm ?? 'SHA-256';
  const username = c.username ?? 'alice';
  const realm = c.realm ?? REALM;
  const uri = c.uri ?? req.uriString;
  const qop = c.qop === null ? undefined : (c.qop ?? 'auth');
  const cnonce = c.cnonce ?? 'c0ffee';
  const nc = formatNc(c.nc ?? 1);
  const response =
    c.response ??
    computeResponse({
      algorithm,
      ha1: computeHA1(algorithm, username, realm, c.password ?? 'wonderland'),
      method: req.method,
      uri,
      nonce: c.nonce,
      qop,
      nc,
      cnonce,
      body: req.body,
    });
  const user = c.usernameStar !== undefined ? `username*=${c.usernameStar}` : `username="${username}"`;
  let v = `Digest ${user}, realm="${realm}", nonce="${c.nonce}", uri="${uri}", response="${response}", algorithm=${algorithm}`;
  if (qop !== undefined) v += `, qop=${qop}, nc=${nc}, cnonce="${cnonce}"`;
  if (c.extra !== undefined) v += `, ${c.extra}`;
  const copy = parseMessage(serializeMessage(req)) as SipRequest;
  copy.set(header, v);
  return wire(copy);
}

describe('challenge', () => {
  it('offers SHA-256 then MD5 by default, with one shared nonce, qop and opaque', () => {
    const { srv } = makeServer();
    const res = wire(srv.challengeResponse(request()));
    expect(res.status).toBe(401);
    const [a, b] = res.wwwAuthenticate;
    expect(res.wwwAuthenticate).toHaveLength(2);
    expect(a!.algorithm).toBe('SHA-256');
    expect(b!.algorithm).toBe('MD5');
    expect(a!.nonce).toBe(b!.nonce);
    expect(a!.realm).toBe(REALM);
    expect(a!.qop).toEqual(['auth', 'auth-int']);
    expect(a!.opaque).toBeTruthy();
    expect(a!.stale).toBe(false);
    expect(res.get('WWW-Authenticate')).toMatch(/^Digest realm="example.com", qop="auth,auth-int", algorithm=SHA-256, nonce="[A-Za-z0-9_-]{43}", opaque="[^"]+"$/);
  });

  it('sorts the configured algorithms strongest first and marks stale challenges', () => {
    const { srv } = makeServer({ algorithms: ['MD5', 'SHA-512-256', 'SHA-256'] });
    const res = wire(srv.challengeResponse(request(), { proxy: true, stale: true }));
    expect(res.status).toBe(407);
    expect(res.proxyAuthenticate.map((h) => h.algorithm)).toEqual(['SHA-512-256', 'SHA-256', 'MD5']);
    expect(res.proxyAuthenticate.every((h) => h.stale)).toBe(true);
  });

  it('refuses configurations that cannot work', () => {
    const lookup = (): undefined => undefined;
    expect(() => new DigestServer({ realm: '', lookup })).toThrow(TypeError);
    expect(() => new DigestServer({ realm: REALM, lookup, algorithms: [] })).toThrow(TypeError);
    expect(() => new DigestServer({ realm: REALM, lookup, algorithms: ['SHA-1' as DigestAlgorithm] })).toThrow(TypeError);
    expect(() => new DigestServer({ realm: REALM, lookup, algorithms: ['MD5-sess'], qop: [] })).toThrow(TypeError);
    expect(() => new DigestServer({ realm: REALM, lookup, secret: Buffer.alloc(8) })).toThrow(TypeError);
  });

  it('issues a different nonce each time', () => {
    const { srv } = makeServer();
    const seen = new Set(Array.from({ length: 50 }, () => nonceOf(srv)));
    expect(seen.size).toBe(50);
  });
});

describe('verify', () => {
  it('accepts correct credentials and says who it was', async () => {
    const { srv } = makeServer();
    const req = authorize(request(), { nonce: nonceOf(srv) });
    expect(await srv.verify(req)).toEqual({ ok: true, username: 'alice', realm: REALM, algorithm: 'SHA-256', qop: 'auth' });
  });

  it('wrong password → bad-response; unknown user → unknown-user', async () => {
    const { srv } = makeServer();
    expect(await srv.verify(authorize(request(), { nonce: nonceOf(srv), password: 'guess' }))).toEqual({ ok: false, reason: 'bad-response' });
    expect(await srv.verify(authorize(request(), { nonce: nonceOf(srv), username: 'mallory' }))).toEqual({ ok: false, reason: 'unknown-user' });
  });

  it('a response of another length, or not hex at all, is a plain bad-response (constant-time compare, no throw)', async () => {
    const { srv } = makeServer();
    for (const response of ['', 'ab', 'f'.repeat(64 + 1), '8ca523f5e9506fed4657c9700eebdbec', 'zz…'.repeat(100)]) {
      expect(await srv.verify(authorize(request(), { nonce: nonceOf(srv), response }))).toEqual({ ok: false, reason: 'bad-response' });
    }
  });

  it('accepts an upper-case response (hex is case-insensitive)', async () => {
    const { srv } = makeServer();
    const nonce = nonceOf(srv);
    const req = request();
    const response = computeResponse({
      algorithm: 'SHA-256',
      ha1: computeHA1('SHA-256', 'alice', REALM, 'wonderland'),
      method: 'REGISTER',
      uri: req.uriString,
      nonce,
      qop: 'auth',
      nc: 1,
      cnonce: 'c0ffee',
    }).toUpperCase();
    expect((await srv.verify(authorize(req, { nonce, response }))).ok).toBe(true);
  });

  it('no credentials → missing; other schemes are not credentials', async () => {
    const { srv } = makeServer();
    expect(await srv.verify(request())).toEqual({ ok: false, reason: 'missing' });
    const req = request();
    req.set('Authorization', 'Bearer mF_9.B5f-4.1JqM');
    expect(await srv.verify(wire(req))).toEqual({ ok: false, reason: 'missing' });
  });

  it('credentials for another realm only → wrong-realm; ours among others are found', async () => {
    const { srv } = makeServer();
    const nonce = nonceOf(srv);
    expect(await srv.verify(authorize(request(), { nonce, realm: 'elsewhere.org' }))).toEqual({ ok: false, reason: 'wrong-realm' });
    const req = authorize(request(), { nonce });
    req.prepend('Authorization', 'Digest username="alice", realm="elsewhere.org", nonce="x", uri="sip:x", response="00"');
    expect((await srv.verify(wire(req))).ok).toBe(true);
  });

  it('an algorithm not offered, or one the user has no HA1 for → unsupported-algorithm', async () => {
    const { srv } = makeServer({ algorithms: ['SHA-256'] });
    expect(await srv.verify(authorize(request(), { nonce: nonceOf(srv), algorithm: 'MD5' }))).toEqual({ ok: false, reason: 'unsupported-algorithm' });
    const md5Only = makeServer({ algorithms: ['SHA-256', 'MD5'], lookup: () => ({ MD5: computeHA1('MD5', 'alice', REALM, 'wonderland') }) }).srv;
    expect(await md5Only.verify(authorize(request(), { nonce: nonceOf(md5Only) }))).toEqual({ ok: false, reason: 'unsupported-algorithm' });
    expect((await md5Only.verify(authorize(request(), { nonce: nonceOf(md5Only), algorithm: 'MD5' }))).ok).toBe(true);
  });

  it('takes stored HA1 values in either hex case', async () => {
    const { srv } = makeServer({ lookup: () => ({ 'SHA-256': computeHA1('SHA-256', 'alice', REALM, 'wonderland').toUpperCase() }) });
    expect((await srv.verify(authorize(request(), { nonce: nonceOf(srv) }))).ok).toBe(true);
  });

  it('the digest uri must be the Request-URI: same text or an equal URI', async () => {
    const { srv } = makeServer();
    const req = request({ uri: 'sip:example.com' });
    expect(await srv.verify(authorize(req, { nonce: nonceOf(srv), uri: 'sip:other.example.com' }))).toEqual({ ok: false, reason: 'uri-mismatch' });
    expect(await srv.verify(authorize(req, { nonce: nonceOf(srv), uri: 'not a uri' }))).toEqual({ ok: false, reason: 'uri-mismatch' });
    expect((await srv.verify(authorize(req, { nonce: nonceOf(srv), uri: 'sip:EXAMPLE.COM' }))).ok).toBe(true);
  });

  it('malformed credentials → malformed', async () => {
    const { srv } = makeServer();
    const nonce = nonceOf(srv);
    const bad: SipRequest[] = [];
    const raw = (v: string): SipRequest => {
      const r = request();
      r.set('Authorization', v);
      return wire(r);
    };
    bad.push(raw(`Digest username="alice", realm="${REALM}", uri="sip:example.com", response="00", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="c"`)); // no nonce
    bad.push(raw(`Digest realm="${REALM}", nonce="${nonce}", uri="sip:example.com", response="00", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="c"`)); // no username
    bad.push(authorize(request(), { nonce, extra: `username*=${encodeExtValue('alice')}` })); // both username forms
    bad.push(authorize(request(), { nonce, usernameStar: "UTF-8''%FF%FE" })); // not UTF-8
    bad.push(authorize(request(), { nonce, qop: null })); // qop offered but not used
    bad.push(authorize(request(), { nonce, extra: 'userhash=true' })); // userhash is not supported
    bad.push(authorize(request(), { nonce, extra: 'opaque="not-ours"' }));
    bad.push(raw(`Digest username="alice", realm="${REALM}", nonce="${nonce}", uri="sip:example.com", response="00", qop=auth, nc=1, cnonce="c", algorithm=SHA-256`)); // nc not 8 digits
    bad.push(raw(`Digest username="alice", realm="${REALM}", nonce="${nonce}", uri="sip:example.com", response="00", qop=auth, nc=00000001, algorithm=SHA-256`)); // no cnonce
    bad.push(raw(`Digest username="alice", realm="${REALM}", nonce="${nonce}", uri="sip:example.com", response="00", qop=auth-conf, nc=00000001, cnonce="c", algorithm=SHA-256`)); // unknown qop
    for (const r of bad) expect(await srv.verify(r)).toEqual({ ok: false, reason: 'malformed' });
    // A header that does not parse at all.
    const text = serializeMessage(request()).toString('latin1').replace('Content-Length', 'Authorization: Digest realm="unterminated\r\nContent-Length');
    expect(await srv.verify(parseMessage(Buffer.from(text, 'latin1'), { validate: false }) as SipRequest)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('accepts username* (RFC 7616 §3.4) and UTF-8 in a quoted username', async () => {
    const { srv } = makeServer();
    const star = authorize(request(), { nonce: nonceOf(srv), username: 'Jäsøn Doe', password: 'pw', usernameStar: encodeExtValue('Jäsøn Doe') });
    expect(star.get('Authorization')).toContain("username*=UTF-8''J%C3%A4s%C3%B8n%20Doe");
    expect(await srv.verify(star)).toMatchObject({ ok: true, username: 'Jäsøn Doe' });
    const quoted = authorize(request(), { nonce: nonceOf(srv), username: 'Jäsøn Doe', password: 'pw' });
    expect(await srv.verify(quoted)).toMatchObject({ ok: true, username: 'Jäsøn Doe' });
  });

  it('RFC 2069 style (no qop offered): accepted once per nonce', async () => {
    const { srv } = makeServer({ qop: [] });
    expect(srv.challenge()[0]![1].params.has('qop')).toBe(false);
    const nonce = nonceOf(srv);
    const req = authorize(request(), { nonce, qop: null });
    expect((await srv.verify(req)).ok).toBe(true);
    expect(await srv.verify(req)).toEqual({ ok: false, reason: 'replay' });
    expect(await srv.verify(authorize(request(), { nonce: nonceOf(srv), qop: 'auth' }))).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('nonces', () => {
  it('expire after nonceTtlMs: stale, only when the digest is right', async () => {
    const { srv, clock } = makeServer({ nonceTtlMs: 60_000 });
    const nonce = nonceOf(srv);
    clock.t += 60_000;
    expect((await srv.verify(authorize(request(), { nonce }))).ok).toBe(true);
    clock.t += 1;
    expect(await srv.verify(authorize(request(), { nonce, nc: 2 }))).toEqual({ ok: false, reason: 'stale' });
    expect(await srv.verify(authorize(request(), { nonce, nc: 3, password: 'guess' }))).toEqual({ ok: false, reason: 'bad-response' });
  });

  it('a nonce stamped far in the future (a clock that went back) is stale', async () => {
    const { srv, clock } = makeServer({ nonceTtlMs: 60_000 });
    const nonce = nonceOf(srv);
    clock.t -= 120_000;
    expect(await srv.verify(authorize(request(), { nonce }))).toEqual({ ok: false, reason: 'stale' });
  });

  it('an altered nonce fails: bad-response without the password, stale (never ok) with it', async () => {
    const { srv } = makeServer();
    const nonce = nonceOf(srv);
    const altered = nonce.slice(0, 20) + (nonce[20] === 'A' ? 'B' : 'A') + nonce.slice(21);
    // An attacker replays a captured response under a nonce it edited (say, to renew its timestamp).
    const captured = authorize(request(), { nonce }).authorization[0]!.response!;
    expect(await srv.verify(authorize(request(), { nonce: altered, response: captured }))).toEqual({ ok: false, reason: 'bad-response' });
    expect(await srv.verify(authorize(request(), { nonce: altered }))).toEqual({ ok: false, reason: 'stale' });
    expect(await srv.verify(authorize(request(), { nonce: 'made-up-by-the-client' }))).toEqual({ ok: false, reason: 'stale' });
  });

  it('survive a restart with the same secret; not with another secret', async () => {
    const { srv } = makeServer();
    const nonce = nonceOf(srv);
    const again = makeServer().srv;
    expect((await again.verify(authorize(request(), { nonce }))).ok).toBe(true);
    const rekeyed = makeServer({ secret: Buffer.alloc(32, 7) }).srv;
    expect(await rekeyed.verify(authorize(request(), { nonce }))).toEqual({ ok: false, reason: 'stale' });
  });

  it('are bound to the realm', async () => {
    const other = makeServer({ realm: 'other.example.com' }).srv;
    const { srv } = makeServer();
    expect(await srv.verify(authorize(request(), { nonce: nonceOf(other) }))).toEqual({ ok: false, reason: 'stale' });
  });
});

describe('nc replay check (RFC 7616 §3.4)', () => {
  it('same nc twice → replay; lower → replay; higher → accepted', async () => {
    const { srv } = makeServer();
    const nonce = nonceOf(srv);
    expect((await srv.verify(authorize(request(), { nonce, nc: 1 }))).ok).toBe(true);
    expect(await srv.verify(authorize(request(), { nonce, nc: 1 }))).toEqual({ ok: false, reason: 'replay' });
    expect((await srv.verify(authorize(request(), { nonce, nc: 5 }))).ok).toBe(true);
    expect(await srv.verify(authorize(request(), { nonce, nc: 3 }))).toEqual({ ok: false, reason: 'replay' });
    expect(await srv.verify(authorize(request(), { nonce, nc: 5 }))).toEqual({ ok: false, reason: 'replay' });
    expect((await srv.verify(authorize(request(), { nonce, nc: 6 }))).ok).toBe(true);
  });

  it('a replayed message (byte for byte) is refused', async () => {
    const { srv } = makeServer();
    const bytes = serializeMessage(authorize(request(), { nonce: nonceOf(srv) }));
    expect((await srv.verify(parseMessage(bytes) as SipRequest)).ok).toBe(true);
    expect(await srv.verify(parseMessage(bytes) as SipRequest)).toEqual({ ok: false, reason: 'replay' });
  });

  it('nc=00000000 is never valid', async () => {
    const { srv } = makeServer();
    expect(await srv.verify(authorize(request(), { nonce: nonceOf(srv), nc: 0 }))).toEqual({ ok: false, reason: 'replay' });
  });

  it('failed attempts do not consume nonce counts', async () => {
    const { srv } = makeServer();
    const nonce = nonceOf(srv);
    expect(await srv.verify(authorize(request(), { nonce, nc: 9, password: 'guess' }))).toEqual({ ok: false, reason: 'bad-response' });
    expect((await srv.verify(authorize(request(), { nonce, nc: 1 }))).ok).toBe(true);
  });

  it('the nonce state stays within maxNonces, and an evicted nonce is never replayable', async () => {
    const { srv } = makeServer({ maxNonces: 8 });
    const first = authorize(request(), { nonce: nonceOf(srv) });
    expect((await srv.verify(first)).ok).toBe(true);
    for (let i = 0; i < 100; i++) {
      expect((await srv.verify(authorize(request(), { nonce: nonceOf(srv) }))).ok).toBe(true);
      expect(srv.trackedNonces).toBeLessThanOrEqual(8);
    }
    expect(srv.trackedNonces).toBe(8);
    // `first`'s nonce was evicted: replaying it gets a re-challenge, not a success.
    expect(await srv.verify(first)).toEqual({ ok: false, reason: 'stale' });
  });

  it('expired nonces make room before live ones are evicted', async () => {
    const { srv, clock } = makeServer({ maxNonces: 4, nonceTtlMs: 1000 });
    for (let i = 0; i < 4; i++) expect((await srv.verify(authorize(request(), { nonce: nonceOf(srv) }))).ok).toBe(true);
    clock.t += 2000;
    const live = nonceOf(srv);
    expect((await srv.verify(authorize(request(), { nonce: live }))).ok).toBe(true);
    expect(srv.trackedNonces).toBe(1);
    // A nonce issued before the clean-up but never used is still accepted: nothing live was evicted.
    const unused = nonceOf(srv);
    for (let i = 0; i < 3; i++) expect((await srv.verify(authorize(request(), { nonce: nonceOf(srv) }))).ok).toBe(true);
    expect((await srv.verify(authorize(request(), { nonce: unused }))).ok).toBe(true);
  });
});
