/** DigestClient: which challenge it answers, how, and when it gives up. */
import { describe, expect, it } from 'vitest';
import {
  DigestClient,
  DigestServer,
  computeHA1,
  computeHA1Set,
  passwordLookup,
  retryWithCredentials,
} from '../../../src/sip/auth/index.js';
import { SipResponse, createResponse, type SipRequest } from '../../../src/sip/index.js';
import { SECRET, TestClock, counterRandom, request, wire } from './wire.js';

const alice = { username: 'alice', password: 'wonderland' };

/** A 401 (or 407) to `req` carrying the given challenge values, through the wire form. */
function challenged(req: SipRequest, challenges: string[], status = 401): SipResponse {
  const name = status === 407 ? 'Proxy-Authenticate' : 'WWW-Authenticate';
  return wire(createResponse(req, status, undefined, { headers: challenges.map((c) => [name, c] as [string, string]) }));
}

const digest = (extra: string, nonce = 'n1', realm = 'example.com'): string => `Digest realm="${realm}", nonce="${nonce}", qop="auth", ${extra}`.replace(/, $/, '');

function makeServer(password = 'wonderland', ttl = 300_000): { srv: DigestServer; clock: TestClock } {
  const clock = new TestClock();
  const srv = new DigestServer({
    realm: 'example.com',
    clock,
    nonceTtlMs: ttl,
    random: counterRandom(),
    secret: SECRET,
    lookup: passwordLookup((u) => (u === 'alice' ? password : undefined)),
  });
  return { srv, clock };
}

describe('choosing a challenge', () => {
  it('answers the strongest algorithm offered, whatever the order (RFC 8760)', () => {
    const req = request();
    const client = new DigestClient({ credentials: alice, random: counterRandom() });
    const res = challenged(req, [digest('algorithm=MD5'), digest('algorithm=SHA-512-256'), digest('algorithm=SHA-256')]);
    const creds = client.authorize(res, req)!;
    expect(creds).toHaveLength(1);
    expect(creds[0]![1].algorithm).toBe('SHA-512-256');
  });

  it('skips algorithms it does not know (AKAv1-MD5, SHA-1) and those it was told not to use', () => {
    const req = request();
    const res = challenged(req, [digest('algorithm=AKAv1-MD5'), digest('algorithm=SHA-1'), digest('algorithm=MD5'), digest('algorithm=SHA-256')]);
    expect(new DigestClient({ credentials: alice }).authorize(res, req)![0]![1].algorithm).toBe('SHA-256');
    expect(new DigestClient({ credentials: alice, algorithms: ['MD5'] }).authorize(res, req)![0]![1].algorithm).toBe('MD5');
    const only = challenged(req, [digest('algorithm=AKAv1-MD5')]);
    expect(new DigestClient({ credentials: alice }).authorize(only, req)).toBeUndefined();
  });

  it('with HA1 credentials, answers only algorithms it has an HA1 for', () => {
    const req = request();
    const ha1 = { MD5: computeHA1('MD5', 'alice', 'example.com', 'wonderland') };
    const client = new DigestClient({ credentials: { username: 'alice', realm: 'example.com', ha1 } });
    const creds = client.authorize(challenged(req, [digest('algorithm=SHA-256'), digest('algorithm=MD5')]), req)!;
    expect(creds[0]![1].algorithm).toBe('MD5');
    expect(() => new DigestClient({ credentials: { username: 'alice', ha1 } })).toThrow(TypeError);
    expect(() => new DigestClient({ credentials: { username: 'alice' } })).toThrow(TypeError);
  });

  it('qop: auth when offered, auth-int when it is all there is or when preferred', () => {
    const req = request();
    const both = challenged(req, ['Digest realm="example.com", nonce="n", qop="auth,auth-int", algorithm=SHA-256']);
    expect(new DigestClient({ credentials: alice }).authorize(both, req)![0]![1].qop).toEqual(['auth']);
    expect(new DigestClient({ credentials: alice, preferAuthInt: true }).authorize(both, req)![0]![1].qop).toEqual(['auth-int']);
    const intOnly = challenged(req, ['Digest realm="example.com", nonce="n", qop="auth-int", algorithm=SHA-256']);
    expect(new DigestClient({ credentials: alice }).authorize(intOnly, req)![0]![1].qop).toEqual(['auth-int']);
    const unknown = challenged(req, ['Digest realm="example.com", nonce="n", qop="auth-conf", algorithm=SHA-256']);
    expect(new DigestClient({ credentials: alice }).authorize(unknown, req)).toBeUndefined();
    const none = challenged(req, ['Digest realm="example.com", nonce="n", algorithm=SHA-256']);
    const plain = new DigestClient({ credentials: alice }).authorize(none, req)![0]![1];
    expect(plain.params.has('qop') || plain.params.has('nc') || plain.params.has('cnonce')).toBe(false);
  });

  it('a -sess challenge without qop cannot be answered (no cnonce)', () => {
    const req = request();
    const res = challenged(req, ['Digest realm="example.com", nonce="n", algorithm=SHA-256-sess']);
    expect(new DigestClient({ credentials: alice }).authorize(res, req)).toBeUndefined();
  });

  it('keeps opaque, echoes the algorithm token as sent, and omits it when the challenge had none', () => {
    const req = request();
    const c1 = new DigestClient({ credentials: alice }).authorize(challenged(req, [digest('algorithm=sha-256, opaque="op aque"')]), req)![0]![1];
    expect(c1.params.getRaw('algorithm')).toBe('sha-256');
    expect(c1.opaque).toBe('op aque');
    const c2 = new DigestClient({ credentials: alice }).authorize(challenged(req, [digest('')]), req)![0]![1];
    expect(c2.params.has('algorithm')).toBe(false);
    expect(c2.params.has('opaque')).toBe(false);
  });

  it('answers each realm it has credentials for (forking, RFC 3261 §22.3), realm-specific ones first', () => {
    const req = request();
    const res = challenged(req, [digest('algorithm=MD5', 'n1', 'a.example'), digest('algorithm=SHA-256', 'n2', 'b.example')], 407);
    const both = new DigestClient({ credentials: [{ username: 'bob', password: 'x', realm: 'b.example' }, alice] }).authorize(res, req)!;
    expect(both.map(([n, h]) => [n, h.realm, h.username])).toEqual([
      ['Proxy-Authorization', 'a.example', 'alice'],
      ['Proxy-Authorization', 'b.example', 'bob'],
    ]);
    const one = new DigestClient({ credentials: { ...alice, realm: 'b.example' } }).authorize(res, req)!;
    expect(one.map(([, h]) => h.realm)).toEqual(['b.example']);
    expect(new DigestClient({ credentials: { ...alice, realm: 'c.example' } }).authorize(res, req)).toBeUndefined();
  });

  it('ignores responses that are not 401/407, and challenges it cannot parse', () => {
    const req = request();
    const client = new DigestClient({ credentials: alice });
    expect(client.authorize(challenged(req, [digest('algorithm=MD5')], 403), req)).toBeUndefined();
    const bad = new SipResponse(401, 'Unauthorized', [...createResponse(req, 401).headers, ['WWW-Authenticate', 'Digest realm="unterminated']]);
    expect(client.authorize(bad, req)).toBeUndefined();
    expect(client.authorize(challenged(req, ['Digest realm="", nonce="x"', 'Digest realm="r"']), req)).toBeUndefined();
  });
});

describe('no loops', () => {
  it('a second challenge with the same nonce gets no answer', () => {
    const client = new DigestClient({ credentials: alice });
    const req = request();
    const res = challenged(req, [digest('algorithm=SHA-256', 'same')]);
    const retry = wire(retryWithCredentials(req, client.authorize(res, req)!));
    expect(client.authorize(challenged(retry, [digest('algorithm=SHA-256', 'same')]), retry)).toBeUndefined();
    expect(client.authorize(challenged(retry, [digest('algorithm=SHA-256, stale=true', 'same')]), retry)).toBeUndefined();
  });

  it('a wrong password against a real server: exactly one retry, then it gives up', async () => {
    const { srv } = makeServer('the-real-one');
    const client = new DigestClient({ credentials: alice });
    let req = request();
    let sent = 0;
    for (;;) {
      sent++;
      const result = await srv.verify(req);
      expect(result.ok).toBe(false);
      const creds = client.authorize(wire(srv.challengeResponse(req)), req);
      if (creds === undefined) break;
      req = wire(retryWithCredentials(req, creds));
      expect(sent).toBeLessThan(5);
    }
    expect(sent).toBe(2);
  });

  it('stale=true with a new nonce is answered, and then succeeds', async () => {
    const { srv, clock } = makeServer('wonderland', 10_000);
    const client = new DigestClient({ credentials: alice });
    const req = request();
    const first = wire(retryWithCredentials(req, client.authorize(wire(srv.challengeResponse(req)), req)!));
    clock.t += 20_000;
    expect(await srv.verify(first)).toEqual({ ok: false, reason: 'stale' });
    const staleRes = wire(srv.challengeResponse(first, { stale: true }));
    const creds = client.authorize(staleRes, first);
    expect(creds).toBeDefined();
    const second = wire(retryWithCredentials(first, creds!));
    expect(second.cseq.seq).toBe(3);
    expect(second.authorization).toHaveLength(1);
    expect((await srv.verify(second)).ok).toBe(true);
  });

  it('stale retries are bounded (maxStaleRetries in a row)', () => {
    const client = new DigestClient({ credentials: alice, maxStaleRetries: 2 });
    let req = request();
    let creds = client.authorize(challenged(req, [digest('algorithm=MD5', 'n0')]), req)!;
    let answered = 0;
    for (let i = 1; i < 10; i++) {
      req = wire(retryWithCredentials(req, creds));
      const next = client.authorize(challenged(req, [digest('algorithm=MD5, stale=true', `n${i}`)]), req);
      if (next === undefined) break;
      answered++;
      creds = next;
    }
    expect(answered).toBe(2);
  });
});

describe('reusing a nonce (nc)', () => {
  it('authorizeRequest answers later requests with the same nonce and nc 2, 3, … which the server accepts', async () => {
    const { srv } = makeServer();
    const client = new DigestClient({ credentials: alice });
    const req = request();
    const retry = wire(retryWithCredentials(req, client.authorize(wire(srv.challengeResponse(req)), req)!));
    expect(retry.authorization[0]!.nc).toBe(1);
    expect((await srv.verify(retry)).ok).toBe(true);
    for (const nc of [2, 3]) {
      const next = request({ cseq: nc + 5 });
      for (const [n, h] of client.authorizeRequest(next)) next.append(n, h);
      const sent = wire(next);
      expect(sent.get('Authorization')).toContain(`nc=0000000${nc}`);
      expect(sent.authorization[0]!.nonce).toBe(retry.authorization[0]!.nonce);
      expect((await srv.verify(sent)).ok).toBe(true);
    }
  });

  it('a preemptive request refused with a new nonce (not stale) is retried once', async () => {
    const { srv } = makeServer();
    const client = new DigestClient({ credentials: alice });
    const req = request();
    const retry = wire(retryWithCredentials(req, client.authorize(wire(srv.challengeResponse(req)), req)!));
    expect((await srv.verify(retry)).ok).toBe(true);
    // The server restarts with a new secret; the preemptive credentials carry an old nonce.
    const rekeyed = new DigestServer({ realm: 'example.com', secret: Buffer.alloc(32, 9), lookup: () => computeHA1Set('alice', 'example.com', 'wonderland') });
    const next = request({ cseq: 10 });
    for (const [n, h] of client.authorizeRequest(next)) next.append(n, h);
    const pre = wire(next);
    const res = wire(rekeyed.challengeResponse(pre)); // a server that does not say stale
    const creds = client.authorize(res, pre);
    expect(creds).toBeDefined();
    const again = wire(retryWithCredentials(pre, creds!));
    expect(again.authorization[0]!.nc).toBe(1);
    expect((await rekeyed.verify(again)).ok).toBe(true);
  });

  it('remembers at most maxChallenges realms', () => {
    const client = new DigestClient({ credentials: alice, maxChallenges: 3 });
    for (let i = 0; i < 20; i++) {
      const req = request();
      client.authorize(challenged(req, [digest('algorithm=MD5', `n${i}`, `realm${i}.example`)]), req);
      expect(client.rememberedChallenges).toBeLessThanOrEqual(3);
    }
    expect(client.authorizeRequest(request()).map(([, h]) => h.realm)).toEqual(['realm17.example', 'realm18.example', 'realm19.example']);
    client.reset();
    expect(client.authorizeRequest(request())).toEqual([]);
  });
});

describe('retryWithCredentials', () => {
  it('replaces credentials for the same realm and keeps those for other realms', () => {
    const client = new DigestClient({ credentials: alice });
    const req = request();
    req.append('Proxy-Authorization', 'Digest username="alice", realm="proxy.example", nonce="p", uri="sip:example.com", response="00"');
    req.append('Proxy-Authorization', 'Digest username="alice", realm="example.com", nonce="old", uri="sip:example.com", response="00"');
    const creds = client.authorize(challenged(req, [digest('algorithm=MD5, stale=true', 'new')], 407), req)!;
    const retry = wire(retryWithCredentials(wire(req), creds));
    expect(retry.proxyAuthorization.map((h) => [h.realm, h.nonce])).toEqual([
      ['proxy.example', 'p'],
      ['example.com', 'new'],
    ]);
  });
});
