/**
 * Message waiting (RFC 3842) over loopback UDP: a PBX UserAgent with the message-summary
 * package and a real PbxRegistrar, phones as plain UserAgents (digest REGISTER, SUBSCRIBE),
 * their incoming requests captured with the transport trace. The body format; a subscription
 * hears "yes 1/0" after a message, "0/1" after it is saved and "no" after deletion; a phone
 * of another extension is refused without learning anything; a registered phone that does
 * not subscribe gets out-of-dialog NOTIFYs (on registration, on changes, on refreshAll()),
 * and a phone that subscribes gets no duplicate; the same through a running PBX wired by
 * standardFeatures() (403 for another extension's SUBSCRIBE there).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { encodeWav } from '../../src/codecs/index.js';
import { parseConfig } from '../../src/pbx/config/index.js';
import { DeviceAuth } from '../../src/pbx/device-auth.js';
import { MESSAGE_SUMMARY_EVENT, MESSAGE_SUMMARY_TYPE, MessageWaiting, messageSummary } from '../../src/pbx/features/mwi.js';
import { VoicemailStore } from '../../src/pbx/features/voicemail-store.js';
import { PbxRegistrar } from '../../src/pbx/pbx-registrar.js';
import { TenantDirectory } from '../../src/pbx/tenant-directory.js';
import { standardFeatures } from '../../src/pbx/features/index.js';
import { LocationService, UserAgent, parseMessage, systemClock, type SipRequest } from '../../src/sip/index.js';
import type { SubscriptionTerminated } from '../../src/sip/ua/subscription-index.js';
import { startTestPbx, testConfig } from '../helpers/pbx.js';
import { until } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'switchboard-mwi-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const stops: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

const config = parseConfig(
  JSON.stringify({
    tenants: [
      {
        domain: 'demo.local',
        name: 'Demo',
        default: true,
        extensions: [
          { number: '1001', name: 'Alice', password: 'secret-1001', voicemail: { pin: '1234' } },
          { number: '1002', name: 'Bob', password: 'secret-1002' },
        ],
      },
    ],
  }),
  join(dir, 'pbx.json'),
);
const directory = new TenantDirectory(config);
const tenant = directory.tenant('demo.local')!;

/** The PBX side: user agent with the package, registrar, store, MWI attached. */
async function pbx(name: string) {
  const store = new VoicemailStore(join(dir, name));
  const mwi = new MessageWaiting();
  const location = new LocationService({ clock: systemClock });
  const registrar = new PbxRegistrar({ directory, auth: new DeviceAuth({ directory }), location, clock: systemClock, sweepSeconds: 0 });
  const ua = await UserAgent.start({
    listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }],
    aor: 'sip:switchboard@127.0.0.1',
    registrar,
    eventPackages: { [MESSAGE_SUMMARY_EVENT]: mwi.eventPackage },
    stopTimeoutMs: 300,
  });
  mwi.attach({ store, ua, registrar, directory: () => directory });
  stops.push(async () => {
    mwi.detach();
    registrar.close();
    await ua.stop();
  });
  return { store, mwi, ua, registrar };
}

/** A phone of `user`, with the requests it received (parsed from the transport trace). */
async function phone(user: string, pbxPort: number) {
  const received: SipRequest[] = [];
  const ua = await UserAgent.start({
    listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }],
    aor: `sip:${user}@demo.local`,
    credentials: { username: user, password: `secret-${user}` },
    stopTimeoutMs: 300,
    transport: {
      trace: (direction, _protocol, _remote, bytes) => {
        if (direction !== 'in') return;
        const m = parseMessage(bytes);
        if ('method' in m) received.push(m as SipRequest);
      },
    },
  });
  stops.push(() => ua.stop());
  const destination = { protocol: 'udp' as const, address: '127.0.0.1', port: pbxPort };
  /** NOTIFYs outside any dialog (no To tag), each once (UDP retransmissions of a request are one request). */
  const unsolicited = (): SipRequest[] => {
    const seen = new Set<string>();
    return received.filter((r) => {
      const key = `${r.callId} ${r.get('CSeq')}`;
      if (r.method !== 'NOTIFY' || r.to.tag !== undefined || seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  };
  return { ua, received, destination, unsolicited };
}

async function leaveMessage(store: VoicemailStore, domain = 'demo.local', box = '1001') {
  const draft = await store.beginMessage(domain, box, { callerId: '1002', callerName: 'Bob', reason: 'unavailable' });
  writeFileSync(draft.wavPath, encodeWav(new Int16Array(8000).fill(1000), { format: 'mulaw', sampleRate: 8000 }));
  return (await draft.commit(1000))!;
}

describe('message waiting (RFC 3842)', () => {
  it('formats the simple-message-summary body', () => {
    expect(messageSummary({ new: 2, old: 8 }, 'sip:*97@demo.local')).toBe('Messages-Waiting: yes\r\nMessage-Account: sip:*97@demo.local\r\nVoice-Message: 2/8 (0/0)\r\n');
    expect(messageSummary({ new: 0, old: 3 }, 'sip:*97@demo.local')).toBe('Messages-Waiting: no\r\nMessage-Account: sip:*97@demo.local\r\nVoice-Message: 0/3 (0/0)\r\n');
    expect(MessageWaiting.account(tenant)).toBe('sip:*97@demo.local');
  });

  it('a subscription is told of each change: yes 1/0, then 0/1 once saved, then no after deletion', async () => {
    const p = await pbx('subscribed');
    const alice = await phone('1001', p.ua.port);
    await alice.ua.register({ registrar: 'sip:demo.local', destination: alice.destination });
    const sub = alice.ua.subscribe('sip:1001@demo.local', { event: MESSAGE_SUMMARY_EVENT, accept: [MESSAGE_SUMMARY_TYPE], expires: 600, destination: alice.destination });
    const bodies: string[] = [];
    sub.on('notify', (n) => {
      expect(n.contentType).toBe(MESSAGE_SUMMARY_TYPE);
      bodies.push(n.body.toString());
    });
    await until(() => bodies.length >= 1);
    const atRegistration = alice.unsolicited().length; // registered before it subscribed: one NOTIFY then
    expect(bodies[0]).toBe(messageSummary({ new: 0, old: 0 }, 'sip:*97@demo.local'));
    const msg = await leaveMessage(p.store);
    await until(() => bodies.includes(messageSummary({ new: 1, old: 0 }, 'sip:*97@demo.local')));
    const saved = await p.store.move(msg, 'Old');
    await until(() => bodies.includes(messageSummary({ new: 0, old: 1 }, 'sip:*97@demo.local')));
    await p.store.remove(saved);
    await until(() => bodies.at(-1) === messageSummary({ new: 0, old: 0 }, 'sip:*97@demo.local'));
    expect(bodies.filter((b) => b.startsWith('Messages-Waiting: yes'))).toHaveLength(1);
    // The subscribed phone is registered too, but gets its lamp through the subscription only.
    expect(alice.unsolicited()).toHaveLength(atRegistration);
  });

  it('another extension may not watch the mailbox: terminated;reason=rejected, no counts sent', async () => {
    const p = await pbx('refused');
    await leaveMessage(p.store);
    const bob = await phone('1002', p.ua.port);
    const sub = bob.ua.subscribe('sip:1001@demo.local', { event: MESSAGE_SUMMARY_EVENT, accept: [MESSAGE_SUMMARY_TYPE], destination: bob.destination });
    const ended = new Promise<{ reason: string; notifierReason?: string | undefined }>((resolve) => sub.on('terminated', (t) => resolve(t)));
    const t = await ended;
    expect(t.notifierReason).toBe('rejected');
    const notifies = bob.received.filter((r) => r.method === 'NOTIFY');
    expect(notifies.length).toBeGreaterThan(0);
    for (const n of notifies) {
      expect(n.body.length).toBe(0);
      expect(n.get('Subscription-State')).toBe('terminated;reason=rejected');
    }
  });

  it('a registered phone that does not subscribe gets out-of-dialog NOTIFYs: on registration, on each change, on refreshAll()', async () => {
    const p = await pbx('unsolicited');
    await leaveMessage(p.store); // a message waiting before the phone registers
    await p.mwi.update('demo.local', '1001'); // the store's own update has run (nobody registered yet)
    const desk = await phone('1001', p.ua.port);
    await desk.ua.register({ registrar: 'sip:demo.local', destination: desk.destination });
    await until(() => desk.unsolicited().length === 1);
    const first = desk.unsolicited()[0]!;
    expect(first.get('Event')).toBe('message-summary');
    expect(first.get('Subscription-State')).toBe('active');
    expect(first.get('Content-Type')).toBe(MESSAGE_SUMMARY_TYPE);
    expect(first.from.uri.toString()).toBe('sip:*97@demo.local');
    expect(first.body.toString()).toBe(messageSummary({ new: 1, old: 0 }, 'sip:*97@demo.local'));
    await leaveMessage(p.store);
    await until(() => desk.unsolicited().length === 2);
    expect(desk.unsolicited()[1]!.body.toString()).toBe(messageSummary({ new: 2, old: 0 }, 'sip:*97@demo.local'));
    // Start-up: every mailbox on disk is announced again (lamps never stay stale).
    await p.mwi.refreshAll();
    await until(() => desk.unsolicited().length === 3);
    expect(desk.unsolicited()[2]!.body.toString()).toContain('Voice-Message: 2/0 (0/0)');
    // A phone of an extension without voicemail hears nothing.
    const bob = await phone('1002', p.ua.port);
    await bob.ua.register({ registrar: 'sip:demo.local', destination: bob.destination });
    await p.mwi.update('demo.local', '1002');
    await new Promise((r) => setTimeout(r, 200));
    expect(bob.unsolicited()).toHaveLength(0);
  });

  it('authorize(): message-summary only from the box itself; other packages pass', async () => {
    const p = await pbx('authorize');
    const request = (from: string, uri: string, event = MESSAGE_SUMMARY_EVENT): SipRequest =>
      parseMessage(
        Buffer.from(
          `SUBSCRIBE ${uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKx\r\nFrom: <${from}>;tag=1\r\nTo: <${uri}>\r\nCall-ID: a@b\r\nCSeq: 1 SUBSCRIBE\r\nEvent: ${event}\r\nContent-Length: 0\r\n\r\n`,
        ),
      ) as SipRequest;
    expect(p.mwi.authorize(request('sip:1001@demo.local', 'sip:1001@demo.local'))).toBe('accept');
    expect(p.mwi.authorize(request('sip:1001@demo.local', 'sip:*97@demo.local'))).toBe('accept');
    expect(p.mwi.authorize(request('sip:1002@demo.local', 'sip:1001@demo.local'))).toBe('reject');
    expect(p.mwi.authorize(request('sip:1002@demo.local', 'sip:1002@demo.local'))).toBe('reject'); // no mailbox
    expect(p.mwi.authorize(request('sip:1002@demo.local', 'sip:1001@demo.local', 'dialog'))).toBe('accept');
  });

  it('in a running PBX (standardFeatures): the lamp of a registered phone; 403 for another extension, the counts for its own', async () => {
    const features = standardFeatures();
    const c = testConfig() as { tenants: { extensions: Record<string, unknown>[] }[] };
    for (const e of c.tenants[0]!.extensions) e.voicemail = { pin: '4321' };
    const t = await startTestPbx(c, features.pbxOptions);
    stops.push(() => t.stop());
    const received: SipRequest[] = [];
    const bob = await t.phone('1002', 'password-1002', {
      transport: {
        trace: (direction, _p, _r, bytes) => {
          if (direction !== 'in') return;
          const m = parseMessage(bytes);
          if ('method' in m) received.push(m as SipRequest);
        },
      },
    });
    await until(() => features.voicemail !== undefined);
    await leaveMessage(features.voicemail!.store, 'demo.test', '1002');
    const lamp = messageSummary({ new: 1, old: 0 }, 'sip:*97@demo.test');
    await until(() => received.some((r) => r.method === 'NOTIFY' && r.to.tag === undefined && r.body.toString() === lamp));
    const alice = await t.phone('1001', 'password-1001');
    const spy = alice.ua.subscribe('sip:1002@demo.test', { event: MESSAGE_SUMMARY_EVENT, accept: [MESSAGE_SUMMARY_TYPE], destination: t.destination });
    const refused = await new Promise<SubscriptionTerminated>((resolve) => spy.on('terminated', resolve));
    expect(refused.reason).toBe('rejected');
    expect(refused.response?.status).toBe(403);
    const own = bob.ua.subscribe('sip:1002@demo.test', { event: MESSAGE_SUMMARY_EVENT, accept: [MESSAGE_SUMMARY_TYPE], destination: t.destination });
    const first = await new Promise<string>((resolve) => own.on('notify', (n) => resolve(n.body.toString())));
    expect(first).toBe(lamp);
  }, 30_000);
});
