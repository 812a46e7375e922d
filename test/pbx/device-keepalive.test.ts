import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/pbx/config/index.js';
import { DeviceAuth } from '../../src/pbx/device-auth.js';
import { DeviceKeepalive, type KeepaliveSender } from '../../src/pbx/device-keepalive.js';
import { PbxRegistrar } from '../../src/pbx/pbx-registrar.js';
import { TenantDirectory } from '../../src/pbx/tenant-directory.js';
import { LocationService, ManualClock, SipRequest, SipResponse, parseNameAddr, type Destination, type RequestOutcome, type Uri } from '../../src/sip/index.js';

const settle = () => new Promise((r) => setImmediate(r));

type Answer = 'ok' | 'not-found' | 'timeout' | 'never';

/** A sender that answers per host of the Request-URI, as the test says. */
function fakeSender(clock: ManualClock, answers: Map<string, Answer>) {
  const sent: { at: number; method: string; uri: string; destination: Destination | undefined; authenticate: boolean | undefined }[] = [];
  const sender: KeepaliveSender = {
    request(method, target, options) {
      const uri = String(target);
      sent.push({ at: clock.now(), method, uri, destination: options?.destination, authenticate: options?.authenticate });
      const host = (target as Uri & { host: string }).host;
      const request = new SipRequest(method, uri);
      const answer = answers.get(host) ?? 'ok';
      if (answer === 'never') return new Promise<RequestOutcome>(() => undefined);
      if (answer === 'timeout') return Promise.resolve({ kind: 'timeout', request });
      return Promise.resolve({ kind: 'response', response: new SipResponse(answer === 'ok' ? 200 : 404, ''), request });
    },
  };
  return { sender, sent };
}

function setup(hosts: string[], options: { intervalSeconds?: number; failures?: number } = {}) {
  const clock = new ManualClock(0);
  const location = new LocationService({ clock });
  hosts.forEach((host, i) => {
    location.apply(`sip:100${i + 1}@demo.local`, [
      { contact: parseNameAddr(`<sip:100${i + 1}@${host}:5060>`), expires: 3600, callId: `c${i}`, cseq: 1, source: { protocol: 'udp', address: `203.0.113.${i + 1}`, port: 40000 + i } },
    ]);
  });
  const config = parseConfig(
    JSON.stringify({ tenants: [{ domain: 'demo.local', name: 'Demo', default: true, extensions: [1, 2, 3, 4, 5].map((n) => ({ number: `100${n}`, name: `E${n}`, password: `secret-100${n}` })) }] }),
    '/tmp/keepalive-test.json',
  );
  const directory = new TenantDirectory(config);
  const registrar = new PbxRegistrar({ directory, auth: new DeviceAuth({ directory, clock }), location, clock, sweepSeconds: 0 });
  const events: string[] = [];
  registrar.on('unregistered', (_t, n, b) => events.push(`-${n} ${String(b.contact.uri)}`));
  const answers = new Map<string, Answer>();
  const { sender, sent } = fakeSender(clock, answers);
  const keepalive = new DeviceKeepalive({ endpoint: sender, location, clock, registrar, ...options });
  return { clock, location, registrar, keepalive, sent, answers, events };
}

describe('DeviceKeepalive', () => {
  it('sends OPTIONS to each UDP binding through its packet source, spread over the interval', async () => {
    const { keepalive, clock, sent, location } = setup(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    location.apply('sip:1004@demo.local', [{ contact: parseNameAddr('<sip:1004@10.0.0.4;transport=tcp>'), expires: 3600, callId: 't', cseq: 1, source: { protocol: 'tcp', address: '10.0.0.4', port: 50000 }, connectionId: 'k' }]);
    keepalive.start();
    expect(sent.map((s) => s.at)).toEqual([0]);
    for (const t of [10_000, 10_000, 9_999]) {
      clock.advance(t);
      await settle(); // the answers arrive
    }
    expect(sent.map((s) => s.at)).toEqual([0, 10_000, 20_000]);
    expect(sent[0]).toEqual({ at: 0, method: 'OPTIONS', uri: 'sip:1001@10.0.0.1:5060', destination: { protocol: 'udp', address: '203.0.113.1', port: 40000 }, authenticate: false });
    clock.advance(1);
    expect(sent).toHaveLength(4); // the next round
    keepalive.stop();
    clock.advance(60_000);
    expect(sent).toHaveLength(4);
  });

  it('any response means alive (a 404 too); `failures` timeouts in a row remove the binding and report it', async () => {
    const { keepalive, clock, sent, answers, location, events } = setup(['10.0.0.1', '10.0.0.2'], { intervalSeconds: 30, failures: 3 });
    answers.set('10.0.0.1', 'not-found');
    answers.set('10.0.0.2', 'timeout');
    keepalive.start();
    for (let round = 0; round < 3; round++) {
      await settle();
      clock.advance(30_000);
      await settle();
    }
    expect(location.lookup('sip:1001@demo.local')).toHaveLength(1);
    expect(location.lookup('sip:1002@demo.local')).toHaveLength(0);
    expect(events).toEqual(['-1002 sip:1002@10.0.0.2:5060']);
    expect(keepalive.stats).toMatchObject({ sent: 7, answered: 4, timedOut: 3, removed: 1 }); // 1001 at 0, 30, 60, 90 s; 1002 at 15, 45, 75 s
    clock.advance(30_000);
    expect(sent.filter((s) => s.uri.includes('10.0.0.2'))).toHaveLength(3); // no more probes for it
    keepalive.stop();
  });

  it('an answer resets the count; a REGISTER refresh after the probe counts as alive', async () => {
    const { keepalive, clock, answers, location } = setup(['10.0.0.1'], { failures: 2 });
    answers.set('10.0.0.1', 'timeout');
    keepalive.start();
    await settle();
    const [b] = location.lookup('sip:1001@demo.local');
    expect(keepalive.failuresOf('sip:1001@demo.local', b!)).toBe(1);
    answers.set('10.0.0.1', 'ok');
    clock.advance(30_000);
    await settle();
    expect(keepalive.failuresOf('sip:1001@demo.local', b!)).toBe(0);
    // Timeout again, but the device re-registered before it settled.
    answers.set('10.0.0.1', 'timeout');
    clock.advance(30_000);
    await settle();
    clock.advance(30_000); // the probe leaves at 90 s…
    clock.advance(5); // …and the REGISTER comes in before it times out
    location.apply('sip:1001@demo.local', [{ contact: b!.contact, expires: 3600, callId: 'c0', cseq: 2, source: b!.source! }]);
    await settle();
    expect(location.lookup('sip:1001@demo.local')).toHaveLength(1);
    keepalive.stop();
  });

  it('does not send a second probe while one is still waiting', async () => {
    const { keepalive, clock, sent, answers } = setup(['10.0.0.1']);
    answers.set('10.0.0.1', 'never');
    keepalive.start();
    clock.advance(90_000);
    expect(sent).toHaveLength(1);
    keepalive.stop();
  });

  it('without a registrar, removes dead bindings from the location service itself', async () => {
    const clock = new ManualClock();
    const location = new LocationService({ clock });
    location.apply('sip:a@x', [{ contact: parseNameAddr('<sip:a@10.0.0.9>'), expires: 3600, callId: 'c', cseq: 1, source: { protocol: 'udp', address: '10.0.0.9', port: 5060 } }]);
    const dead: string[] = [];
    const { sender } = fakeSender(clock, new Map([['10.0.0.9', 'timeout']]));
    const keepalive = new DeviceKeepalive({ endpoint: sender, location, clock, failures: 1, onDead: (aor) => dead.push(aor) });
    keepalive.start();
    await settle();
    expect(location.size).toBe(0);
    expect(dead).toEqual(['sip:a@x']);
    keepalive.stop();
  });

  it('rejects bad settings', () => {
    const clock = new ManualClock();
    const location = new LocationService({ clock });
    const { sender } = fakeSender(clock, new Map());
    expect(() => new DeviceKeepalive({ endpoint: sender, location, clock, intervalSeconds: 0 })).toThrow(RangeError);
    expect(() => new DeviceKeepalive({ endpoint: sender, location, clock, failures: 0 })).toThrow(RangeError);
  });
});
