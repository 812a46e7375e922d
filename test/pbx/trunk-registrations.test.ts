/**
 * TrunkRegistrations through a real SipEndpoint on 127.0.0.1 against an in-process carrier
 * registrar (a UDP socket answering REGISTERs as each test says). Retry timers run on a
 * ManualClock where a test needs to see the backoff.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig, type TenantConfig } from '../../src/pbx/config/index.js';
import { TrunkRegistrations, trunkRetryDelay, type TrunkRegistrationState } from '../../src/pbx/trunk-registrations.js';
import { DigestServer, passwordLookup } from '../../src/sip/auth/index.js';
import { createResponse, parseMessage, serializeMessage, type SipRequest } from '../../src/sip/message/index.js';
import { ManualClock } from '../../src/sip/timer-clock.js';
import { SipEndpoint } from '../../src/sip/ua/index.js';

type Answer = number | 'drop' | 'challenge';

/** A carrier registrar: records every REGISTER, answers with what `answer` says (200 echoes the Contact). */
class Carrier {
  readonly requests: SipRequest[] = [];
  answer: (req: SipRequest) => Answer = () => 200;
  private waiters: { n: number; resolve: () => void }[] = [];
  private constructor(
    private readonly socket: Socket,
    readonly auth: DigestServer | undefined,
  ) {
    socket.on('message', (data, rinfo) => {
      const msg = parseMessage(data);
      if (!msg.isRequest) return;
      this.requests.push(msg);
      for (const w of this.waiters.filter((x) => this.requests.length >= x.n)) w.resolve();
      void this.reply(msg).then((res) => {
        if (res !== undefined) socket.send(serializeMessage(res), rinfo.port, rinfo.address);
      });
    });
  }

  static async start(auth?: DigestServer): Promise<Carrier> {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    return new Carrier(socket, auth);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Resolves once `n` requests arrived in total. */
  received(n: number): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }

  private async reply(req: SipRequest) {
    const a = this.answer(req);
    if (a === 'drop') return undefined;
    if (a === 'challenge') {
      const auth = this.auth!;
      const result = await auth.verify(req);
      if (!result.ok) return result.reason === 'missing' || result.reason === 'stale' ? auth.challengeResponse(req, { stale: result.reason === 'stale' }) : createResponse(req, 403);
      return createResponse(req, 200, undefined, { headers: [['Contact', req.get('Contact') ?? '']] });
    }
    if (a >= 200 && a < 300) return createResponse(req, a, undefined, { headers: [['Contact', req.get('Contact') ?? '']] });
    return createResponse(req, a);
  }
}

function config(trunks: Record<string, unknown>[], secondTenantTrunks: Record<string, unknown>[] = []): readonly TenantConfig[] {
  const json = {
    tenants: [
      { domain: 'one.test', name: 'One', default: true, extensions: [{ number: '2001', name: 'Ann', password: 'secret-2001-x' }], trunks },
      { domain: 'two.test', name: 'Two', extensions: [{ number: '100', name: 'Bea', password: 'secret-100-xx' }], trunks: secondTenantTrunks },
    ],
  };
  return parseConfig(JSON.stringify(json), join(__dirname, 'trunk-test.json')).tenants;
}

function trunk(name: string, port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, host: '127.0.0.1', port, username: `acct-${name}`, password: `pw-${name}`, register: true, registerExpires: 300, dids: [], ...extra };
}

let endpoint: SipEndpoint | undefined;
let registrations: TrunkRegistrations | undefined;
const carriers: Carrier[] = [];
afterEach(async () => {
  await registrations?.stop(100);
  registrations = undefined;
  await endpoint?.close();
  endpoint = undefined;
  for (const c of carriers.splice(0)) await c.close();
});

async function setup(options: { clock?: ManualClock; retrySeconds?: number; lookup?: (h: string) => Promise<string | readonly string[]>; onError?: (e: unknown) => void } = {}) {
  const carrier = await Carrier.start(new DigestServer({ realm: 'carrier.example', algorithms: ['MD5'], lookup: passwordLookup((u) => (u.startsWith('auth-') ? 'pw-a' : undefined)) }));
  carriers.push(carrier);
  endpoint = await SipEndpoint.listen({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }] });
  const log: string[] = [];
  registrations = new TrunkRegistrations({
    endpoint,
    random: (n) => (n === 1 ? new Uint8Array(1) : randomBytes(n)), // the one-byte draw is the retry jitter: none
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.retrySeconds === undefined ? {} : { retrySeconds: options.retrySeconds }),
    ...(options.lookup === undefined ? {} : { lookup: options.lookup }),
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  });
  registrations.on('state', (tenant, t, state, detail) => log.push(`${tenant.domain}/${t.name} ${state}: ${detail}`));
  return { carrier, endpoint, registrations, log };
}

/** Resolves when the trunk reaches `state`. */
function reach(r: TrunkRegistrations, trunkName: string, state: TrunkRegistrationState): Promise<string> {
  return new Promise((resolve) => {
    const on = (_t: TenantConfig, tr: { name: string }, s: TrunkRegistrationState, detail: string) => {
      if (tr.name === trunkName && s === state) {
        r.off('state', on);
        resolve(detail);
      }
    };
    r.on('state', on);
  });
}

const settle = () => new Promise((r) => setTimeout(r, 50));

describe('trunkRetryDelay', () => {
  it('doubles from retrySeconds per consecutive failure, up to 10 minutes (or retrySeconds when larger)', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map((n) => trunkRetryDelay(60, n) / 1000)).toEqual([60, 120, 240, 480, 600, 600, 600, 600]);
    expect([1, 2, 3].map((n) => trunkRetryDelay(5, n) / 1000)).toEqual([5, 10, 20]);
    expect([1, 2].map((n) => trunkRetryDelay(900, n) / 1000)).toEqual([900, 900]);
  });
});

describe('TrunkRegistrations', () => {
  it('registers every register:true trunk of every tenant: AoR, Request-URI, Contact with the account as user, Expires', async () => {
    const { carrier, endpoint, registrations, log } = await setup();
    const patched = config([trunk('a', carrier.port), { name: 'static', host: '127.0.0.1', dids: [] }], [trunk('b', carrier.port, { fromDomain: 'voip.example' })]);
    const a = reach(registrations, 'a', 'registered');
    const b = reach(registrations, 'b', 'registered');
    registrations.start(patched);
    expect(registrations.state(patched[0]!, 'a')).toBe('registering');
    expect(await a).toBe('expires 300 s');
    await b;
    expect(registrations.state(patched[0]!, 'a')).toBe('registered');
    expect(registrations.state(patched[1]!, 'b')).toBe('registered');
    expect(registrations.state(patched[0]!, 'static')).toBeUndefined();
    expect(registrations.state(patched[1]!, 'a')).toBeUndefined();
    const ourPort = endpoint.transports.endpoint('udp')!.port;
    const reqA = carrier.requests.find((r) => r.get('To')?.includes('acct-a'))!;
    expect(reqA.uri.toString()).toBe(`sip:127.0.0.1:${carrier.port};transport=udp`);
    expect(reqA.get('To')).toBe('<sip:acct-a@127.0.0.1>');
    expect(reqA.get('Contact')).toBe(`<sip:acct-a@127.0.0.1:${ourPort}>;expires=300`);
    expect(reqA.get('Expires')).toBe('300');
    expect(reqA.get('User-Agent')).toBe('Switchboard');
    const reqB = carrier.requests.find((r) => r.get('To')?.includes('acct-b'))!;
    expect(reqB.get('To')).toBe('<sip:acct-b@voip.example>');
    expect(reqB.get('Contact')).toBe(`<sip:acct-b@127.0.0.1:${ourPort}>;expires=300`);
    expect(log.filter((l) => l.includes('registered'))).toHaveLength(2);
    expect(registrations.list().map((s) => `${s.tenant.domain}/${s.trunk.name} ${s.state}`).sort()).toEqual(['one.test/a registered', 'two.test/b registered']);
  });

  it('answers the carrier digest challenge with authUsername and password, whatever the realm', async () => {
    const { carrier, registrations } = await setup();
    carrier.answer = () => 'challenge';
    const tenants = config([trunk('a', carrier.port, { authUsername: 'auth-a', password: 'pw-a' })]);
    const done = reach(registrations, 'a', 'registered');
    registrations.start(tenants);
    await done;
    expect(carrier.requests).toHaveLength(2);
    expect(carrier.requests[0]!.get('Authorization')).toBeUndefined();
    expect(carrier.requests[1]!.get('Authorization')).toMatch(/username="auth-a", realm="carrier.example"/);
  });

  it('after a failure: failed, retried after retrySeconds doubling per failure; success resets the backoff', async () => {
    const clock = new ManualClock();
    const { carrier, registrations, log } = await setup({ clock, retrySeconds: 10 });
    carrier.answer = () => 503;
    const tenants = config([trunk('a', carrier.port)]);
    let failed = reach(registrations, 'a', 'failed');
    registrations.start(tenants);
    expect(await failed).toBe('503 Service Unavailable; retry in 10 s');
    for (const [wait, next] of [
      [10_000, 20],
      [20_000, 40],
    ] as const) {
      failed = reach(registrations, 'a', 'failed');
      clock.advance(wait - 1);
      await settle();
      expect(registrations.state(tenants[0]!, 'a')).toBe('failed');
      clock.advance(1);
      expect(registrations.state(tenants[0]!, 'a')).toBe('registering');
      expect(await failed).toBe(`503 Service Unavailable; retry in ${next} s`);
    }
    expect(carrier.requests).toHaveLength(3);
    carrier.answer = () => 200;
    const ok = reach(registrations, 'a', 'registered');
    clock.advance(40_000);
    await ok;
    expect(log).toEqual([
      'one.test/a registering: starting',
      'one.test/a failed: 503 Service Unavailable; retry in 10 s',
      'one.test/a registering: retry 1',
      'one.test/a failed: 503 Service Unavailable; retry in 20 s',
      'one.test/a registering: retry 2',
      'one.test/a failed: 503 Service Unavailable; retry in 40 s',
      'one.test/a registering: retry 3',
      'one.test/a registered: expires 300 s',
    ]);
    // The refresh (max(E/2, E − 32) = 268 s) fails: back to the first retry interval.
    carrier.answer = () => 500;
    failed = reach(registrations, 'a', 'failed');
    clock.advance(268_000);
    expect(await failed).toBe('500 Server Internal Error; retry in 10 s');
  });

  it('a host that does not resolve: failed, and resolved again on retry', async () => {
    const clock = new ManualClock();
    let dnsUp = false;
    let port = 0;
    const asked: string[] = [];
    const { carrier, registrations } = await setup({
      clock,
      retrySeconds: 5,
      lookup: async (h) => {
        asked.push(h);
        if (!dnsUp) throw new Error(`getaddrinfo ENOTFOUND ${h}`);
        return ['::1', '127.0.0.1']; // IPv4 preferred: the endpoint listens on IPv4 only
      },
    });
    port = carrier.port;
    const tenants = config([trunk('a', port, { host: 'sip.carrier.test' })]);
    const failed = reach(registrations, 'a', 'failed');
    registrations.start(tenants);
    expect(await failed).toBe('cannot resolve sip.carrier.test: getaddrinfo ENOTFOUND sip.carrier.test; retry in 5 s');
    dnsUp = true;
    const ok = reach(registrations, 'a', 'registered');
    clock.advance(5000);
    await ok;
    expect(asked).toEqual(['sip.carrier.test', 'sip.carrier.test']);
    expect(carrier.requests[0]!.uri.toString()).toBe(`sip:sip.carrier.test:${port};transport=udp`);
    expect(carrier.requests[0]!.get('To')).toBe('<sip:acct-a@sip.carrier.test>');
  });

  it('update(): unchanged keeps its binding, removed unregisters, changed re-registers after its un-REGISTER, new starts', async () => {
    const { carrier, registrations, log } = await setup();
    const p = carrier.port;
    const first = config([trunk('keep', p), trunk('gone', p), trunk('change', p)]);
    const all = Promise.all(['keep', 'gone', 'change'].map((n) => reach(registrations, n, 'registered')));
    registrations.start(first);
    await all;
    expect(carrier.requests).toHaveLength(3);
    const callIdOf = (user: string) => carrier.requests.filter((r) => r.get('To')?.includes(user)).map((r) => `${r.get('Call-ID')} ${r.get('Expires')}`);
    const keepCallId = carrier.requests.find((r) => r.get('To')?.includes('acct-keep'))!.get('Call-ID');

    const second = config([trunk('keep', p), trunk('change', p, { password: 'new-pw' }), trunk('added', p)]);
    const changed = reach(registrations, 'change', 'registered');
    const added = reach(registrations, 'added', 'registered');
    await registrations.update(second);
    await Promise.all([changed, added]);
    // keep: nothing sent again.
    expect(callIdOf('acct-keep')).toEqual([`${keepCallId} 300`]);
    // gone: one REGISTER, one un-REGISTER (Expires: 0, Contact expires=0).
    const gone = carrier.requests.filter((r) => r.get('To')?.includes('acct-gone'));
    expect(gone.map((r) => r.get('Expires'))).toEqual(['300', '0']);
    expect(gone[1]!.get('Contact')).toMatch(/;expires=0$/);
    // change: REGISTER, un-REGISTER, then REGISTER again; the un-REGISTER came before the new REGISTER.
    const change = carrier.requests.filter((r) => r.get('To')?.includes('acct-change'));
    expect(change.map((r) => r.get('Expires'))).toEqual(['300', '0', '300']);
    expect(registrations.state(second[0]!, 'gone')).toBeUndefined();
    expect(registrations.state(second[0]!, 'keep')).toBe('registered');
    expect(log).toContain('one.test/gone stopped: trunk removed');
    expect(log).toContain('one.test/change stopped: settings changed');
    // Events of the kept registration now carry the new configuration objects.
    expect(registrations.list().find((s) => s.trunk.name === 'keep')!.tenant).toBe(second[0]);
  });

  it('stop(): un-REGISTERs every trunk; gives up after timeoutMs when the carrier does not answer', async () => {
    const { carrier, registrations, log } = await setup();
    const tenants = config([trunk('a', carrier.port), trunk('b', carrier.port)]);
    const both = Promise.all([reach(registrations, 'a', 'registered'), reach(registrations, 'b', 'registered')]);
    registrations.start(tenants);
    await both;
    carrier.answer = () => 'drop';
    const t0 = Date.now();
    await registrations.stop(300);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(2000);
    await carrier.received(4);
    expect(carrier.requests.slice(2).map((r) => r.get('Expires'))).toEqual(['0', '0']);
    expect(log.filter((l) => l.includes('stopped'))).toEqual(['one.test/a stopped: stopped', 'one.test/b stopped: stopped']);
    expect(registrations.state(tenants[0]!, 'a')).toBeUndefined();
    expect(() => registrations.start(tenants)).toThrow(/stopped/);
    await registrations.stop(); // twice: harmless
  });

  it('a state listener that throws goes to onError; the registration carries on', async () => {
    const errors: unknown[] = [];
    const { carrier, registrations } = await setup({ onError: (e) => errors.push(e) });
    registrations.on('state', () => {
      throw new Error('listener bug');
    });
    const tenants = config([trunk('a', carrier.port)]);
    const ok = reach(registrations, 'a', 'registered');
    registrations.start(tenants);
    await ok;
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(registrations.state(tenants[0]!, 'a')).toBe('registered');
  });
});
