/**
 * The UserAgent outside calls, over loopback UDP: MESSAGE both ways, OPTIONS answered by
 * itself, REGISTER with digest to a UserAgent that is also a registrar (refreshed before
 * expiry on a ManualClock, removed on stop), a refused registration, an outbound proxy, and
 * INFO inside a session.
 */
import { describe, expect, it } from 'vitest';
import { DigestServer, ManualClock, createResponse, parseUri, passwordLookup, type SipUri } from '../../../src/sip/index.js';
import { LocationService, Registrar, SipEndpoint, directDestination, sendOnce } from '../../../src/sip/ua/index.js';
import { UserAgentError } from '../../../src/sip/ua/session-index.js';
import { agent, answeredCall, next, sdp, uriOf } from './ua-fixtures.js';

function registrarFor(users: Record<string, string>) {
  const location = new LocationService({ clock: new ManualClock() });
  const auth = new DigestServer({ realm: 'pbx.test', lookup: passwordLookup((u) => users[u]) });
  return { location, registrar: new Registrar({ location, auth }) };
}

/** Lets sockets deliver what timers sent. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
}

describe('UserAgent', () => {
  it('sends and receives MESSAGE (RFC 3428) both ways', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    const atBob = next(bob, 'message');
    const res = await alice.message(uriOf(bob, 'bob'), 'hello bob');
    expect(res.status).toBe(200);
    const [req] = await atBob;
    expect([req.body.toString(), req.from.uri.toString()]).toEqual(['hello bob', 'sip:alice@127.0.0.1']);
    const atAlice = next(alice, 'message');
    expect((await bob.message(uriOf(alice, 'alice'), 'hi alice')).status).toBe(200);
    expect((await atAlice)[0].body.toString()).toBe('hi alice');
    // A content type not accepted: 415.
    expect((await alice.message(uriOf(bob), '{}', 'application/json')).status).toBe(415);
  });

  it('answers a digest challenge to its MESSAGE once', async () => {
    const auth = new DigestServer({ realm: 'pbx.test', algorithms: ['MD5'], lookup: passwordLookup((u) => (u === 'alice' ? 'secret' : undefined)) });
    const delivered: string[] = [];
    const guard = await SipEndpoint.listen({
      listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }],
      fallback: {
        methods: ['MESSAGE'],
        onRequest: (tx) => {
          void auth.verify(tx.request).then((v) => {
            if (v.ok) {
              delivered.push(tx.request.body.toString());
              tx.respond(createResponse(tx.request, 202));
            } else tx.respond(auth.challengeResponse(tx.request));
          });
        },
      },
    });
    try {
      const alice = await agent('alice', { credentials: { username: 'alice', password: 'secret' } });
      const res = await alice.message(`sip:bob@127.0.0.1:${guard.transports.endpoint('udp')!.port}`, 'behind a challenge');
      expect([res.status, res.cseq.seq]).toEqual([202, 2]);
      expect(delivered).toEqual(['behind a challenge']);
    } finally {
      await guard.close();
    }
  });

  it('answers OPTIONS itself with what it allows and accepts (§11.2)', async () => {
    const ua = await agent('bob');
    const probe = await SipEndpoint.listen({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }] });
    try {
      const target = parseUri(uriOf(ua)) as SipUri;
      const outcome = await sendOnce(probe.layer, probe.createRequest('OPTIONS', target), directDestination(target));
      expect(outcome.kind).toBe('response');
      if (outcome.kind !== 'response') return;
      expect(outcome.response.status).toBe(200);
      expect(outcome.response.allow).toEqual(expect.arrayContaining(['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'MESSAGE', 'REFER', 'NOTIFY', 'PRACK', 'UPDATE', 'INFO']));
      expect(outcome.response.list('Accept')).toEqual(expect.arrayContaining(['application/sdp', 'text/plain']));
      expect(outcome.response.supported).toEqual(expect.arrayContaining(['100rel', 'timer', 'replaces']));
    } finally {
      await probe.close();
    }
  });

  it('registers with digest, refreshes before expiry, unregisters on stop, and is reachable by its AOR', async () => {
    const { location, registrar } = registrarFor({ alice: 'secret' });
    const pbx = await agent('pbx', { registrar });
    const clock = new ManualClock();
    const alice = await agent('alice', { credentials: { username: 'alice', password: 'secret' }, transaction: { clock } });
    const registered: number[] = [];
    alice.on('registered', (e) => registered.push(e));
    expect(await alice.register({ registrar: `sip:127.0.0.1:${pbx.port}`, expires: 120 })).toBe(120);
    const [binding] = location.lookup('sip:alice@127.0.0.1');
    expect(binding?.contact.uri.toString()).toBe(alice.contact.uri.toString());
    const firstSeq = binding!.cseq;
    // Refresh at max(E/2, E − 32 s) = 88 s (RegistrationClient), without a new challenge round trip.
    clock.advance(87_999);
    await new Promise((r) => setTimeout(r, 30));
    expect(location.lookup('sip:alice@127.0.0.1')[0]?.cseq).toBe(firstSeq);
    clock.advance(1);
    await until(() => (location.lookup('sip:alice@127.0.0.1')[0]?.cseq ?? 0) > firstSeq);
    // The binding changes when the registrar handles the REGISTER; its 200 is still in flight.
    await until(() => registered.length === 2);
    expect(registered).toEqual([120, 120]);
    // The registrar's location service knows where alice is: call her there.
    alice.on('invite', (c) => void c.accept({ body: sdp(5000) }));
    const call = pbx.invite(location.lookup('sip:alice@127.0.0.1')[0]!.contact.uri.toString(), { body: sdp(4000) });
    await call.answered;
    await alice.stop();
    expect(location.lookup('sip:alice@127.0.0.1')).toEqual([]);
    expect((await call.ended).reason).toBe('remote-bye');
  });

  it('a refused registration rejects with UserAgentError', async () => {
    const { registrar } = registrarFor({ alice: 'secret' });
    const pbx = await agent('pbx', { registrar });
    const alice = await agent('alice', { credentials: { username: 'alice', password: 'wrong' } });
    const failures: (number | undefined)[] = [];
    alice.on('registration-failed', (status) => failures.push(status));
    const error = await alice.register({ registrar: `sip:127.0.0.1:${pbx.port}`, expires: 120 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserAgentError);
    expect((error as UserAgentError).status).toBe(401);
    expect(failures).toEqual([401]);
  });

  it('sends through an outbound proxy with a Route header (§8.1.2)', async () => {
    const proxy = await agent('proxy');
    const alice = await agent('alice', { outboundProxy: `sip:127.0.0.1:${proxy.port}` });
    const [incoming] = await Promise.all([next(proxy, 'invite'), Promise.resolve(alice.invite('sip:carol@carol.invalid', { body: sdp(4000) }))]);
    const [call] = incoming;
    expect(call.request.uriString).toBe('sip:carol@carol.invalid');
    expect(call.request.get('Route')).toBe(`<sip:127.0.0.1:${proxy.port};lr>`);
    call.reject(404);
    const atProxy = next(proxy, 'message');
    expect((await alice.message('sip:carol@carol.invalid', 'via the proxy')).status).toBe(200);
    expect((await atProxy)[0].get('Route')).toBe(`<sip:127.0.0.1:${proxy.port};lr>`);
  });

  it('INFO inside a session reaches the info event and is answered 200', async () => {
    const alice = await agent('alice');
    const bob = await agent('bob');
    const { call, callee } = await answeredCall(alice, bob);
    const info = next(callee!, 'info');
    const res = await call.sendRequest('INFO', { contentType: 'application/dtmf-relay', body: 'Signal=5\r\nDuration=160\r\n' });
    expect(res?.status).toBe(200);
    expect((await info)[0].body.toString()).toContain('Signal=5');
  });
});
