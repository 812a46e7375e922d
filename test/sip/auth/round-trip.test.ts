/**
 * DigestClient against DigestServer over the wire form: every algorithm × qop (none, auth,
 * auth-int), the 401/Authorization and 407/Proxy-Authorization pairs.
 */
import { describe, expect, it } from 'vitest';
import {
  DIGEST_ALGORITHMS,
  DigestClient,
  DigestServer,
  passwordLookup,
  retryWithCredentials,
  type DigestAlgorithm,
  type DigestQop,
} from '../../../src/sip/auth/index.js';
import { SECRET, TestClock, counterRandom, request, wire } from './wire.js';

const users = new Map([['alice', 'wonderland']]);

function server(algorithm: DigestAlgorithm, qop: DigestQop[]): DigestServer {
  return new DigestServer({
    realm: 'example.com',
    algorithms: [algorithm],
    qop,
    clock: new TestClock(),
    random: counterRandom(),
    secret: SECRET,
    lookup: passwordLookup((u) => users.get(u)),
  });
}

const qops: { name: string; offer: DigestQop[] }[] = [
  { name: 'no qop', offer: [] },
  { name: 'auth', offer: ['auth'] },
  { name: 'auth-int', offer: ['auth-int'] },
];

describe('client → server round trips', () => {
  for (const algorithm of DIGEST_ALGORITHMS) {
    for (const q of qops) {
      if (q.offer.length === 0 && algorithm.endsWith('-sess')) continue; // -sess needs qop
      for (const proxy of [false, true]) {
        it(`${algorithm}, ${q.name}, ${proxy ? '407' : '401'}`, async () => {
          const srv = server(algorithm, q.offer);
          const client = new DigestClient({ credentials: { username: 'alice', password: 'wonderland' }, random: counterRandom() });
          const req = request({ method: 'INVITE', uri: 'sip:bob@example.com', body: 'v=0\r\ns=-\r\n' });
          const first = await srv.verify(req, { proxy });
          expect(first).toEqual({ ok: false, reason: 'missing' });
          const challenge = wire(srv.challengeResponse(req, { proxy }));
          expect(challenge.status).toBe(proxy ? 407 : 401);
          const creds = client.authorize(challenge, req);
          expect(creds).toHaveLength(1);
          expect(creds![0]![0]).toBe(proxy ? 'Proxy-Authorization' : 'Authorization');
          const retry = wire(retryWithCredentials(req, creds!));
          const sent = (proxy ? retry.proxyAuthorization : retry.authorization)[0]!;
          expect(sent.algorithm).toBe(algorithm);
          expect(sent.qop).toEqual(q.offer.length === 0 ? [] : [q.offer[0]]);
          const result = await srv.verify(retry, { proxy });
          expect(result).toEqual({ ok: true, username: 'alice', realm: 'example.com', algorithm, qop: q.offer[0] });
          // The other header kind is not looked at.
          expect((await srv.verify(retry, { proxy: !proxy })).ok).toBe(false);
        });
      }
    }
  }

  it('auth-int covers the body: the same credentials on another body fail', async () => {
    const srv = server('SHA-256', ['auth-int']);
    const client = new DigestClient({ credentials: { username: 'alice', password: 'wonderland' } });
    const req = request({ method: 'INVITE', uri: 'sip:bob@example.com', body: 'v=0\r\ns=original\r\n' });
    const creds = client.authorize(wire(srv.challengeResponse(req)), req)!;
    const retry = retryWithCredentials(req, creds);
    retry.body = Buffer.from('v=0\r\ns=tampered\r\n');
    expect(await srv.verify(wire(retry))).toEqual({ ok: false, reason: 'bad-response' });
  });

  it('the retried request has CSeq + 1, a new branch, the same Call-ID and tags', () => {
    const srv = server('SHA-256', ['auth']);
    const client = new DigestClient({ credentials: { username: 'alice', password: 'wonderland' } });
    const req = request({ cseq: 5 });
    const retry = wire(retryWithCredentials(req, client.authorize(wire(srv.challengeResponse(req)), req)!, { random: counterRandom() }));
    expect(retry.cseq).toEqual({ seq: 6, method: 'REGISTER' });
    expect(retry.topVia!.branch).not.toBe(req.topVia!.branch);
    expect(retry.topVia!.hasRfc3261Branch).toBe(true);
    expect(retry.topVia!.rport).toBeNull();
    expect(retry.callId).toBe(req.callId);
    expect(retry.from.tag).toBe('a1');
    expect(retry.via).toHaveLength(1);
  });

  it('credentials on the wire quote what RFC 7616 quotes and nothing else', () => {
    const srv = server('SHA-256', ['auth']);
    const client = new DigestClient({ credentials: { username: 'alice', password: 'wonderland' }, random: counterRandom() });
    const req = request();
    const creds = client.authorize(wire(srv.challengeResponse(req)), req)!;
    const text = String(creds[0]![1]);
    for (const q of ['username', 'realm', 'nonce', 'uri', 'response', 'cnonce', 'opaque']) expect(text).toMatch(new RegExp(`${q}="[^"]*"`));
    for (const t of ['algorithm=SHA-256', 'qop=auth', 'nc=00000001']) expect(text).toContain(t);
  });
});
