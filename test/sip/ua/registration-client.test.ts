import { afterEach, describe, expect, it } from 'vitest';
import { DigestServer, ManualClock, createResponse, passwordLookup, type SipRequest } from '../../../src/sip/index.js';
import type { ServerTransaction } from '../../../src/sip/transaction/index.js';
import {
  LocationService,
  Registrar,
  RegistrationClient,
  SipEndpoint,
  refreshDelay,
  type RegistrarOptions,
  type RegistrationClientOptions,
} from '../../../src/sip/ua/index.js';

const endpoints: SipEndpoint[] = [];
const clients: RegistrationClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()));
  await Promise.all(endpoints.splice(0).map((e) => e.close()));
});

/** Lets real UDP traffic on 127.0.0.1 (and the async digest checks) run until `cond` holds. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 3000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A registrar endpoint (real Registrar, or a scripted REGISTER handler) and a client endpoint on a ManualClock. */
async function setup(server: { registrar?: Partial<RegistrarOptions>; script?: (tx: ServerTransaction) => void; auth?: DigestServer }) {
  const clock = new ManualClock();
  const location = new LocationService({ clock: new ManualClock() });
  const seen: SipRequest[] = [];
  let registrarEndpoint: SipEndpoint;
  if (server.script !== undefined) {
    const script = server.script;
    registrarEndpoint = await SipEndpoint.listen({
      listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }],
      fallback: { methods: ['REGISTER'], onRequest: (tx) => (seen.push(tx.request), script(tx)) },
    });
  } else {
    const registrar = new Registrar({ location, ...(server.auth === undefined ? {} : { auth: server.auth }), ...server.registrar });
    const original = registrar.process.bind(registrar);
    registrar.process = (req, inbound) => (seen.push(req), original(req, inbound));
    registrarEndpoint = await SipEndpoint.listen({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }], registrar });
  }
  endpoints.push(registrarEndpoint);
  const ua = await SipEndpoint.listen({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }], transaction: { clock } });
  endpoints.push(ua);
  const events: string[] = [];
  const client = (options: Partial<RegistrationClientOptions> = {}) => {
    const c = new RegistrationClient({
      layer: ua.layer,
      destination: { protocol: 'udp', address: '127.0.0.1', port: registrarEndpoint.transports.endpoint('udp')!.port },
      registrar: 'sip:127.0.0.1',
      aor: 'sip:alice@127.0.0.1',
      contact: ua.contact('udp', 'alice'),
      sentBy: ua.sentBy('udp'),
      events: {
        onRegistered: ({ expires }) => events.push(`registered ${expires}`),
        onFailed: ({ status, reason }) => events.push(`failed ${status ?? '-'} ${reason}`),
        onUnregistered: () => events.push('unregistered'),
      },
      ...options,
    });
    clients.push(c);
    return c;
  };
  return { clock, location, seen, ua, client, events };
}

const sha256Auth = () =>
  new DigestServer({ realm: 'switchboard.test', algorithms: ['SHA-256'], lookup: passwordLookup((u) => (u === 'alice' ? 'wonderland' : undefined)) });

describe('refreshDelay', () => {
  it('is max(E/2, E − 32 s)', () => {
    expect(refreshDelay(3600)).toBe(3_568_000);
    expect(refreshDelay(120)).toBe(88_000);
    expect(refreshDelay(64)).toBe(32_000);
    expect(refreshDelay(60)).toBe(30_000);
  });
});

describe('RegistrationClient', () => {
  it('registers through a SHA-256 challenge, then refreshes at max(E/2, E−32) reusing the nonce', async () => {
    const { clock, location, seen, client, events } = await setup({ auth: sha256Auth(), registrar: { maxExpires: 120 } });
    const c = client({ credentials: { username: 'alice', password: 'wonderland' }, expires: 3600 });
    const result = await c.register();
    expect(result.ok && result.expires).toBe(120); // the registrar lowered it
    expect(c.state).toBe('registered');
    expect(events).toEqual(['registered 120']);
    expect(seen.map((r) => [r.cseq.seq, r.authorization.length, r.authorization[0]?.algorithm])).toEqual([
      [1, 0, undefined],
      [2, 1, 'SHA-256'],
    ]);
    expect(location.lookup('sip:alice@127.0.0.1')).toHaveLength(1);
    expect(seen[0]!.contacts[0]!.params.get('expires')).toBe('3600');

    clock.advance(87_999);
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toHaveLength(2);
    clock.advance(1);
    await until(() => events.length === 2, 'the refresh');
    expect(events).toEqual(['registered 120', 'registered 120']);
    // Same Call-ID, next CSeq, credentials sent up front: no second 401.
    expect(seen).toHaveLength(3);
    expect(seen[2]!.callId).toBe(seen[0]!.callId);
    expect(seen[2]!.cseq.seq).toBe(3);
    expect(seen[2]!.authorization[0]!.nc).toBe(2);
  });

  it('stop() unregisters (Expires: 0) and leaves no timer behind', async () => {
    const { clock, location, seen, client, events } = await setup({});
    const c = client({ expires: 600 });
    await c.register();
    expect(location.lookup('sip:alice@127.0.0.1')).toHaveLength(1);
    await c.stop();
    expect(c.state).toBe('stopped');
    expect(events).toEqual(['registered 600', 'unregistered']);
    expect(seen.map((r) => [r.cseq.seq, r.expires])).toEqual([
      [1, 600],
      [2, 0],
    ]);
    expect(location.size).toBe(0);
    clock.advance(10_000); // Timer K of the last transaction
    expect(clock.pending).toBe(0);
    expect((await c.register()).ok).toBe(false);
  });

  it('unregister() removes the binding and stops refreshing', async () => {
    const { clock, seen, client, events } = await setup({});
    const c = client({ expires: 100 });
    await c.register();
    const r = await c.unregister();
    expect(r.ok).toBe(true);
    expect(c.state).toBe('unregistered');
    clock.advance(200_000);
    await new Promise((res) => setTimeout(res, 20));
    expect(seen).toHaveLength(2);
    expect(events).toEqual(['registered 100', 'unregistered']);
  });

  it('retries once with Min-Expires after 423, and keeps asking for it', async () => {
    const { clock, seen, client, events } = await setup({ registrar: { minExpires: 300 } });
    const c = client({ expires: 60 });
    const r = await c.register();
    expect(r.ok && r.expires).toBe(300);
    expect(seen.map((q) => [q.cseq.seq, q.expires])).toEqual([
      [1, 60],
      [2, 300],
    ]);
    clock.advance(refreshDelay(300));
    await until(() => events.length === 2, 'the refresh');
    expect(seen[2]!.expires).toBe(300);
  });

  it('gives up on a second 401 with the same credentials: no loop; retries after retryInterval', async () => {
    const { clock, seen, client, events } = await setup({ auth: sha256Auth() });
    const c = client({ credentials: { username: 'alice', password: 'wrong' }, retryInterval: 30 });
    const r = await c.register();
    expect(r.ok).toBe(false);
    expect(!r.ok && r.status).toBe(401);
    expect(seen).toHaveLength(2);
    expect(events).toEqual(['failed 401 Unauthorized']);
    expect(c.state).toBe('failed');
    clock.advance(29_999);
    await new Promise((res) => setTimeout(res, 20));
    expect(seen).toHaveLength(2);
    clock.advance(1);
    await until(() => events.length === 2, 'the retry');
    expect(seen).toHaveLength(4);
  });

  it('uses the Expires of a 2xx that does not list our Contact', async () => {
    const { clock, seen, client } = await setup({ script: (tx) => tx.respond(createResponse(tx.request, 200, undefined, { headers: [['Expires', '50']] })) });
    const c = client({ expires: 3600, retryInterval: null });
    const r = await c.register();
    expect(r.ok && r.expires).toBe(50);
    clock.advance(25_000);
    await until(() => seen.length === 2, 'the refresh at 25 s');
  });

  it('reports a timeout (Timer F) as a failure without status', async () => {
    const { clock, client, events } = await setup({ script: () => undefined });
    const c = client({ retryInterval: null });
    const pending = c.register();
    await new Promise((res) => setTimeout(res, 20));
    clock.advance(32_000);
    const r = await pending;
    expect(r.ok).toBe(false);
    expect(events).toEqual(['failed - no response (timeout)']);
    const stopping = c.stop(); // the unregistration times out too; stop still ends
    await new Promise((res) => setTimeout(res, 20));
    clock.advance(32_000);
    await stopping;
    expect(events).toEqual(['failed - no response (timeout)', 'failed - no response (timeout)']);
    expect(c.state).toBe('stopped');
  });

  it('a 403 is a failure with its status', async () => {
    const { client, events } = await setup({ script: (tx) => tx.respond(createResponse(tx.request, 403)) });
    const c = client({ retryInterval: null });
    const r = await c.register();
    expect(!r.ok && [r.status, r.reason]).toEqual([403, 'Forbidden']);
    expect(events).toEqual(['failed 403 Forbidden']);
  });
});
