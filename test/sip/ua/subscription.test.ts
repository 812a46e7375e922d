/**
 * SUBSCRIBE/NOTIFY (RFC 6665) between two stacks — each a TransactionLayer with a
 * SubscriptionClient and a Notifier behind a SubscriptionRouter (or a DialogManager's
 * externalDialogs hook) — over the dialog tests' in-memory network, which serializes and
 * re-parses every message, on a ManualClock.
 */
import { describe, expect, it } from 'vitest';
import { DigestClient, createResponse, SipRequest, type SipMessage, type SipRequest as Req } from '../../../src/sip/index.js';
import { TransactionLayer } from '../../../src/sip/transaction/index.js';
import { DialogManager } from '../../../src/sip/dialog/index.js';
import { ManualClock } from '../../../src/sip/timer-clock.js';
import {
  Notifier,
  SubscriptionClient,
  SubscriptionError,
  SubscriptionRouter,
  formatSubscriptionState,
  type ClientSubscription,
  type NotifierOptions,
  type NotifierSubscription,
  type NotifierTerminationReason,
  type NotifyEvent,
  type SubscribeOptions,
  type SubscriptionClientOptions,
  type SubscriptionTerminated,
} from '../../../src/sip/ua/subscription-index.js';
import { FakeNetwork, seededRandom, T1, T2 } from '../dialog/harness.js';

const DIALOG_INFO = 'application/dialog-info+xml';

interface Stack {
  address: string;
  layer: TransactionLayer;
  notifier: Notifier;
  client: SubscriptionClient;
  subscribed: NotifierSubscription[];
  ended: [NotifierSubscription, NotifierTerminationReason][];
  /** The state the notifier's `dialog` package reports. */
  blf: { state: string };
}

function stack(
  net: FakeNetwork,
  address: string,
  seed: number,
  opts: { notifier?: Partial<NotifierOptions>; client?: Partial<SubscriptionClientOptions>; manager?: boolean } = {},
): Stack {
  const layer = new TransactionLayer({
    transport: net.transport(address),
    user: { onRequest: () => undefined },
    clock: net.clock,
    timers: { T1, T2 },
    random: seededRandom(seed * 7919),
    tryingDelay: null,
  });
  net.attach(address, layer);
  const contact = `<sip:${address.split('.')[0]}@${address}:5060>`;
  const s: Stack = { address, layer, notifier: undefined as unknown as Notifier, client: undefined as unknown as SubscriptionClient, subscribed: [], ended: [], blf: { state: 'terminated' } };
  s.notifier = new Notifier({
    layer,
    contact,
    random: seededRandom(seed * 31),
    packages: {
      dialog: { contentType: DIALOG_INFO, state: () => `<dialog-info state="${s.blf.state}"/>` },
      'message-summary': { contentType: 'application/simple-message-summary', state: () => 'Messages-Waiting: no\r\n' },
    },
    events: { onSubscribed: (sub) => s.subscribed.push(sub), onTerminated: (sub, r) => s.ended.push([sub, r]) },
    ...opts.notifier,
  });
  s.client = new SubscriptionClient({ layer, contact, random: seededRandom(seed * 57), ...opts.client });
  const router = new SubscriptionRouter([s.client, s.notifier]);
  if (opts.manager === true) new DialogManager({ layer, contact, random: seededRandom(seed), externalDialogs: router });
  else layer.user = router.asLayerUser();
  return s;
}

function world(opts: { alice?: Parameters<typeof stack>[3]; bob?: Parameters<typeof stack>[3] } = {}) {
  const clock = new ManualClock();
  const net = new FakeNetwork(clock);
  const alice = stack(net, 'alice.test', 1, opts.alice);
  const bob = stack(net, 'bob.test', 2, opts.bob);
  return { clock, net, alice, bob };
}

interface Watched {
  sub: ClientSubscription;
  notifies: NotifyEvent[];
  accepted: number[];
  terminated: SubscriptionTerminated[];
}

function watch(client: SubscriptionClient, extra: Partial<SubscribeOptions> = {}): Watched {
  const sub = client.subscribe({
    target: 'sip:201@bob.test',
    from: '<sip:alice@alice.test>',
    destination: { protocol: 'udp', address: 'bob.test', port: 5060 },
    event: 'dialog',
    accept: [DIALOG_INFO],
    expires: 600,
    ...extra,
  });
  const w: Watched = { sub, notifies: [], accepted: [], terminated: [] };
  sub.on('notify', (n) => w.notifies.push(n));
  sub.on('accepted', (a) => w.accepted.push(a.expires));
  sub.on('terminated', (t) => w.terminated.push(t));
  return w;
}

const isReq = (m: SipMessage, method: string): m is Req => m.isRequest && m.method === method;

describe('SubscriptionClient + Notifier', () => {
  it('subscribes: 200 with Expires, then the immediate NOTIFY with the state (§4.2.1.2)', () => {
    const { clock, net, alice, bob } = world();
    bob.blf.state = 'confirmed';
    const w = watch(alice.client);
    clock.advance(50);
    const [subscribe] = net.requests('SUBSCRIBE', 'alice.test');
    expect(subscribe!.message.get('Event')).toBe('dialog');
    expect(subscribe!.message.get('Expires')).toBe('600');
    expect(subscribe!.message.get('Accept')).toBe(DIALOG_INFO);
    const [ok] = net.responses(200, 'SUBSCRIBE', 'bob.test');
    expect(ok!.message.get('Expires')).toBe('600');
    const [notify] = net.requests('NOTIFY', 'bob.test');
    expect(notify!.message.get('Subscription-State')).toBe('active;expires=600');
    expect(notify!.message.get('Content-Type')).toBe(DIALOG_INFO);
    expect(notify!.at).toBeGreaterThanOrEqual(ok!.at);
    expect(w.accepted).toEqual([600]);
    expect(w.notifies).toHaveLength(1);
    expect(w.notifies[0]).toMatchObject({ state: 'active', expires: 600, contentType: DIALOG_INFO });
    expect(w.notifies[0]!.body.toString()).toBe('<dialog-info state="confirmed"/>');
    expect(w.sub.state).toBe('active');
    expect(net.responses(200, 'NOTIFY', 'alice.test')).toHaveLength(1);
    expect(bob.notifier.size).toBe(1);
    expect(String(bob.subscribed[0]!.resource)).toBe('sip:201@bob.test');
    // State changes reach the subscriber.
    bob.blf.state = 'early';
    expect(bob.notifier.notify(bob.subscribed[0]!)).toBe(true);
    clock.advance(50);
    expect(w.notifies.map((n) => n.body.toString())).toEqual(['<dialog-info state="confirmed"/>', '<dialog-info state="early"/>']);
  });

  it('builds the dialog from a NOTIFY that overtakes the 2xx (§4.1.2.4), and the 2xx then matches it', () => {
    const { clock, net, alice, bob } = world();
    net.delay = (m) => (!m.isRequest && m.cseq.method === 'SUBSCRIBE' && m.cseq.seq === 1 ? 40 : 0);
    const w = watch(alice.client);
    clock.advance(20);
    expect(w.accepted).toEqual([]);
    expect(w.notifies).toHaveLength(1);
    expect(w.sub.state).toBe('active');
    const dialog = w.sub.dialog!;
    expect(dialog.id.remoteTag).toBe(bob.subscribed[0]!.dialog.id.localTag);
    clock.advance(50);
    expect(w.accepted).toEqual([600]);
    expect(w.sub.dialog).toBe(dialog);
    // The dialog works: the refresh reaches the notifier's subscription (no 481).
    clock.advance(570_000);
    expect(net.requests('SUBSCRIBE', 'alice.test')).toHaveLength(2);
    expect(net.responses(200, 'SUBSCRIBE', 'bob.test')).toHaveLength(2);
    expect(net.responses(481)).toHaveLength(0);
  });

  it('a dialog built from a NOTIFY takes its Record-Route in order as the route set', () => {
    const { clock, net, alice } = world();
    net.delay = (m) => (!m.isRequest && m.cseq.method === 'SUBSCRIBE' ? 40 : 0);
    net.tamper = (m) => {
      if (isReq(m, 'NOTIFY')) {
        m.append('Record-Route', '<sip:near.test;lr>');
        m.append('Record-Route', '<sip:far.test;lr>');
      }
      return m;
    };
    const w = watch(alice.client, { expires: 60 });
    clock.advance(20);
    expect(w.sub.dialog!.routeSet.map(String)).toEqual(['<sip:near.test;lr>', '<sip:far.test;lr>']);
    net.tamper = undefined;
    net.alias('near.test', ['bob.test']); // the "proxy" passes it on
    clock.advance(30_100); // the 2xx (delayed) set the refresh half-way through its 60 s
    const refresh = net.requests('SUBSCRIBE', 'alice.test')[1]!;
    expect(refresh.destination.address).toBe('near.test');
    expect(refresh.message.getAll('Route')).toEqual(['<sip:near.test;lr>', '<sip:far.test;lr>']);
  });

  it('unsubscribing before the 2xx sends Expires: 0 as soon as the dialog exists', () => {
    const { clock, net, alice, bob } = world();
    const w = watch(alice.client);
    w.sub.unsubscribe();
    clock.advance(50);
    const subs = net.requests('SUBSCRIBE', 'alice.test').map((x) => x.message as Req);
    expect(subs.map((r) => r.get('Expires'))).toEqual(['600', '0']);
    expect(w.terminated).toEqual([{ reason: 'unsubscribed' }]);
    expect(bob.notifier.size).toBe(0);
    expect(alice.client.size).toBe(0);
  });

  it('the notifier answers 481 to a refresh for another Event, 423 below the minimum, 405 to other methods in the dialog', () => {
    const { clock, net, alice, bob } = world({ bob: { notifier: { minExpires: 120 } } });
    const w = watch(alice.client);
    clock.advance(20);
    const d = w.sub.dialog!;
    const inDialog = (method: string, headers: [string, string][]) => {
      const r = d.createRequest(method, { via: 'SIP/2.0/UDP alice.test:5060;rport', headers });
      alice.layer.sendRequest(r, { protocol: 'udp', address: 'bob.test', port: 5060 });
      clock.advance(20);
    };
    inDialog('SUBSCRIBE', [['Event', 'dialog;id=2'], ['Expires', '600']]);
    inDialog('SUBSCRIBE', [['Event', 'dialog'], ['Expires', '30']]);
    inDialog('INFO', []);
    expect(net.responses(481, 'SUBSCRIBE', 'bob.test')).toHaveLength(1);
    expect(net.responses(423, 'SUBSCRIBE', 'bob.test')[0]!.message.get('Min-Expires')).toBe('120');
    expect(net.responses(405, 'INFO', 'bob.test')[0]!.message.get('Allow')).toBe('SUBSCRIBE');
    expect(bob.notifier.size).toBe(1);
  });

  it('refreshes min(64*T1, expires/2) before expiry, in the dialog, and the notifier restarts its timer', () => {
    const { clock, net, alice, bob } = world();
    const w = watch(alice.client);
    clock.advance(20);
    const okAt = net.responses(200, 'SUBSCRIBE', 'bob.test')[0]!.at + net.latency;
    expect(w.sub.refreshAt).toBe(okAt + 600_000 - 64 * T1);
    clock.advance(600_000 - 64 * T1 - 20); // just before
    expect(net.requests('SUBSCRIBE', 'alice.test')).toHaveLength(1);
    clock.advance(20);
    const refreshes = net.requests('SUBSCRIBE', 'alice.test');
    expect(refreshes).toHaveLength(2);
    expect(refreshes[1]!.at).toBe(okAt + 600_000 - 64 * T1);
    const refresh = refreshes[1]!.message as Req;
    expect(refresh.to.tag).toBe(w.sub.dialog!.id.remoteTag);
    expect(refresh.cseq.seq).toBe(2);
    expect(refresh.get('Expires')).toBe('600');
    clock.advance(100);
    expect(net.requests('NOTIFY', 'bob.test')).toHaveLength(2); // §4.2.1.2: a refresh gets a NOTIFY
    clock.advance(600_000); // well past the first expiry: refreshed again, still active
    expect(net.requests('SUBSCRIBE', 'alice.test')).toHaveLength(3);
    expect(w.sub.state).toBe('active');
    expect(bob.notifier.size).toBe(1);
    expect(w.terminated).toEqual([]);
  });

  it('refreshes a short subscription half-way', () => {
    const { clock, net, alice } = world();
    const w = watch(alice.client, { expires: 60 });
    clock.advance(20);
    const okAt = net.responses(200, 'SUBSCRIBE', 'bob.test')[0]!.at + net.latency;
    expect(w.sub.refreshAt).toBe(okAt + 30_000);
    clock.advance(30_000);
    expect(net.requests('SUBSCRIBE', 'alice.test')[1]!.at).toBe(okAt + 30_000);
  });

  it('unsubscribes with Expires: 0 and ends on the terminated NOTIFY', () => {
    const { clock, net, alice, bob } = world();
    const w = watch(alice.client);
    clock.advance(20);
    w.sub.unsubscribe();
    clock.advance(50);
    const unsub = net.requests('SUBSCRIBE', 'alice.test')[1]!.message as Req;
    expect(unsub.get('Expires')).toBe('0');
    expect(net.responses(200, 'SUBSCRIBE', 'bob.test')[1]!.message.get('Expires')).toBe('0');
    const final = net.requests('NOTIFY', 'bob.test')[1]!.message as Req;
    expect(final.get('Subscription-State')).toBe('terminated;reason=timeout');
    expect(w.notifies.at(-1)!.state).toBe('terminated');
    expect(w.terminated).toEqual([{ reason: 'unsubscribed' }]);
    expect(bob.ended.map(([, r]) => r)).toEqual(['unsubscribed']);
    expect(alice.client.size).toBe(0);
    expect(bob.notifier.size).toBe(0);
    clock.advance(60_000);
    expect(net.requests('SUBSCRIBE', 'alice.test')).toHaveLength(2); // no resubscription
    expect(clock.pending).toBe(0);
  });

  it('expires a subscription that is not refreshed: NOTIFY terminated;reason=timeout at the granted time', () => {
    const { clock, net, alice, bob } = world({ alice: { client: { resubscribe: false } } });
    // Refreshes are lost.
    net.drop = (m) => isReq(m, 'SUBSCRIBE') && m.to.tag !== undefined;
    const w = watch(alice.client);
    clock.advance(20);
    const grantedAt = net.requests('SUBSCRIBE', 'alice.test')[0]!.at + net.latency;
    clock.advance(600_000);
    const final = net.requests('NOTIFY', 'bob.test').at(-1)!;
    expect(final.message.get('Subscription-State')).toBe('terminated;reason=timeout');
    expect(final.at).toBe(grantedAt + 600_000);
    expect(bob.ended.map(([, r]) => r)).toEqual(['expired']);
    expect(bob.notifier.size).toBe(0);
    // The subscriber's own expiry (set when the 2xx arrived) ends it on its side at the same moment.
    clock.advance(1000);
    expect(w.terminated).toEqual([{ reason: 'expired' }]);
    expect(alice.client.size).toBe(0);
  });

  it('answers 489 with Allow-Events for a package it does not serve', () => {
    const { clock, net, alice } = world();
    const w = watch(alice.client, { event: 'presence' });
    clock.advance(20);
    const [bad] = net.responses(489, 'SUBSCRIBE', 'bob.test');
    expect(bad!.message.get('Allow-Events')).toBe('dialog, message-summary');
    expect(w.terminated).toHaveLength(1);
    expect(w.terminated[0]!.reason).toBe('bad-event');
    expect(w.terminated[0]!.response!.status).toBe(489);
    expect(alice.client.size).toBe(0);
  });

  it('retries once with Min-Expires after 423 Interval Too Brief', () => {
    const { clock, net, alice, bob } = world({ bob: { notifier: { minExpires: 300 } } });
    const w = watch(alice.client, { expires: 60 });
    clock.advance(50);
    const subs = net.requests('SUBSCRIBE', 'alice.test').map((x) => x.message as Req);
    expect(subs.map((s) => [s.cseq.seq, s.get('Expires')])).toEqual([
      [1, '60'],
      [2, '300'],
    ]);
    expect(subs[1]!.callId).toBe(subs[0]!.callId);
    expect(subs[1]!.topVia!.branch).not.toBe(subs[0]!.topVia!.branch);
    expect(net.responses(423, 'SUBSCRIBE', 'bob.test')[0]!.message.get('Min-Expires')).toBe('300');
    expect(w.accepted).toEqual([300]);
    expect(w.sub.expires).toBe(300);
    expect(w.sub.state).toBe('active');
    expect(bob.notifier.size).toBe(1);
  });

  it('answers 406 with Accept when the subscriber accepts no body the package sends', () => {
    const { clock, net, alice, bob } = world();
    const w = watch(alice.client, { accept: ['application/pidf+xml'] });
    clock.advance(20);
    expect(net.responses(406, 'SUBSCRIBE', 'bob.test')[0]!.message.get('Accept')).toBe(DIALOG_INFO);
    expect(w.terminated[0]!.reason).toBe('rejected');
    expect(bob.notifier.size).toBe(0);
  });

  it('clamps a long Expires to maxExpires', () => {
    const { clock, alice } = world({ bob: { notifier: { maxExpires: 1800 } } });
    const w = watch(alice.client, { expires: 86_400 });
    clock.advance(20);
    expect(w.accepted).toEqual([1800]);
  });

  it('never takes a longer duration than it asked for, nor waits a huge retry-after', () => {
    const { clock, net, alice, bob } = world();
    // The notifier grants far more than asked (a broken peer).
    net.tamper = (m) => {
      if (!m.isRequest && m.cseq.method === 'SUBSCRIBE') m.set('Expires', '4294967295');
      return m;
    };
    const w = watch(alice.client, { expires: 120 });
    clock.advance(20);
    expect(w.sub.expiresAt).toBe(clock.now() - 10 + 120_000);
    net.tamper = undefined;
    bob.notifier.terminate(bob.subscribed[0]!, 'probation', { retryAfter: 4_000_000_000 });
    clock.advance(86_400_000 + 20);
    expect(net.requests('SUBSCRIBE', 'alice.test')).toHaveLength(2);
  });

  it('pending until authorized, then active with the state (§4.2.1.1)', () => {
    const { clock, net, alice, bob } = world({ bob: { notifier: { authorize: () => 'pending' } } });
    const w = watch(alice.client);
    clock.advance(20);
    expect(w.sub.state).toBe('pending');
    const first = net.requests('NOTIFY', 'bob.test')[0]!.message;
    expect(first.get('Subscription-State')).toBe('pending;expires=600');
    expect(first.body.length).toBe(0);
    clock.advance(10_000);
    expect(bob.notifier.activate(bob.subscribed[0]!)).toBe(true);
    clock.advance(20);
    expect(w.sub.state).toBe('active');
    expect(w.notifies.map((n) => [n.state, n.expires])).toEqual([
      ['pending', 600],
      ['active', 590],
    ]);
  });

  it('answers 403 when authorization rejects', () => {
    const { clock, net, alice, bob } = world({ bob: { notifier: { authorize: () => 'reject' } } });
    const w = watch(alice.client);
    clock.advance(20);
    expect(net.responses(403, 'SUBSCRIBE', 'bob.test')).toHaveLength(1);
    expect(w.terminated[0]!.reason).toBe('rejected');
    expect(bob.notifier.size).toBe(0);
  });

  it('resubscribes at once (new dialog) after terminated;reason=deactivated', () => {
    const { clock, net, alice, bob } = world();
    const w = watch(alice.client);
    clock.advance(20);
    const firstCallId = w.sub.dialog!.id.callId;
    expect(bob.notifier.terminate(bob.subscribed[0]!, 'deactivated')).toBe(true);
    clock.advance(50);
    const subs = net.requests('SUBSCRIBE', 'alice.test').map((x) => x.message as Req);
    expect(subs).toHaveLength(2);
    expect(subs[1]!.callId).not.toBe(firstCallId);
    expect(subs[1]!.to.tag).toBeUndefined();
    expect(w.sub.state).toBe('active');
    expect(w.sub.resubscriptions).toBe(1);
    expect(w.sub.dialog!.id.callId).toBe(subs[1]!.callId);
    expect(w.terminated).toEqual([]);
    expect(bob.notifier.size).toBe(1);
    expect(alice.client.size).toBe(1);
  });

  it('resubscribes at once after terminated;reason=timeout it did not ask for', () => {
    const { clock, net, alice, bob } = world();
    const w = watch(alice.client);
    clock.advance(20);
    bob.notifier.terminate(bob.subscribed[0]!, 'timeout');
    clock.advance(50);
    expect(net.requests('SUBSCRIBE', 'alice.test')).toHaveLength(2);
    expect(w.sub.state).toBe('active');
    expect(w.terminated).toEqual([]);
  });

  it('waits retry-after after terminated;reason=probation', () => {
    const { clock, net, alice, bob } = world();
    const w = watch(alice.client);
    clock.advance(20);
    bob.notifier.terminate(bob.subscribed[0]!, 'probation', { retryAfter: 120 });
    clock.advance(20);
    const finalAt = net.requests('NOTIFY', 'bob.test')[1]!.at + net.latency;
    expect(net.requests('NOTIFY', 'bob.test')[1]!.message.get('Subscription-State')).toBe('terminated;reason=probation;retry-after=120');
    // The old dialog is over: a late NOTIFY in it gets 481.
    const old = net.requests('NOTIFY', 'bob.test')[1]!.message as Req;
    const late = new SipRequest('NOTIFY', 'sip:alice@alice.test:5060');
    for (const n of ['From', 'To', 'Call-ID', 'Event']) late.append(n, old.get(n)!);
    late.append('Via', 'SIP/2.0/UDP bob.test:5060;branch=z9hG4bK-late');
    late.append('CSeq', `${old.cseq.seq + 1} NOTIFY`);
    late.append('Subscription-State', 'active;expires=60');
    bob.layer.sendRequest(late, { protocol: 'udp', address: 'alice.test', port: 5060 });
    clock.advance(20);
    expect(net.responses(481, 'NOTIFY', 'alice.test')).toHaveLength(1);
    expect(w.sub.state).toBe('subscribing');
    clock.advance(119_000 - 20);
    expect(net.requests('SUBSCRIBE', 'alice.test')).toHaveLength(1);
    clock.advance(1_000);
    expect(net.requests('SUBSCRIBE', 'alice.test')[1]!.at).toBe(finalAt + 120_000);
    clock.advance(20);
    expect(w.sub.state).toBe('active');
  });

  it.each(['rejected', 'noresource', 'invariant', 'giveup'])('does not resubscribe after terminated;reason=%s', (reason) => {
    const { clock, net, alice, bob } = world();
    const w = watch(alice.client);
    clock.advance(20);
    bob.notifier.terminate(bob.subscribed[0]!, reason);
    clock.advance(60_000);
    expect(net.requests('SUBSCRIBE', 'alice.test')).toHaveLength(1);
    expect(w.terminated).toEqual([{ reason: 'notifier', notifierReason: reason }]);
    expect(alice.client.size).toBe(0);
  });

  it('gives up after maxResubscriptions deactivations in a row', () => {
    const { clock, net, alice, bob } = world({ alice: { client: { maxResubscriptions: 2 } } });
    bob.notifier.events.onSubscribed = (sub) => clock.setTimer(() => bob.notifier.terminate(sub, 'deactivated'), 1);
    bob.notifier.events.onTerminated = undefined;
    const w = watch(alice.client, {});
    clock.advance(1000);
    expect(net.requests('SUBSCRIBE', 'alice.test')).toHaveLength(3);
    expect(w.terminated).toEqual([{ reason: 'notifier', notifierReason: 'deactivated' }]);
  });

  it('481 both ways: unknown NOTIFY; NOTIFY to a forgotten subscriber ends the subscription; refresh to a forgotten notifier', () => {
    const { clock, net, alice, bob } = world();
    // (a) a NOTIFY for no subscription
    const stray = new SipRequest('NOTIFY', 'sip:alice@alice.test:5060');
    for (const [n, v] of [
      ['Via', 'SIP/2.0/UDP bob.test:5060;branch=z9hG4bK-stray'],
      ['Max-Forwards', '70'],
      ['From', '<sip:201@bob.test>;tag=n1'],
      ['To', '<sip:alice@alice.test>;tag=nobody'],
      ['Call-ID', 'stray-1'],
      ['CSeq', '1 NOTIFY'],
      ['Event', 'dialog'],
      ['Subscription-State', 'active;expires=60'],
    ] as const)
      stray.append(n, v);
    bob.layer.sendRequest(stray, { protocol: 'udp', address: 'alice.test', port: 5060 });
    clock.advance(20);
    expect(net.responses(481, 'NOTIFY', 'alice.test')).toHaveLength(1);

    // (b) the subscriber forgot: the NOTIFY gets 481, the notifier drops the subscription (§4.2.2)
    const w = watch(alice.client);
    clock.advance(20);
    alice.client.close();
    expect(w.terminated).toEqual([{ reason: 'closed' }]);
    bob.notifier.notify(bob.subscribed[0]!);
    clock.advance(20);
    expect(net.responses(481, 'NOTIFY', 'alice.test')).toHaveLength(2);
    expect(bob.ended.map(([, r]) => r)).toEqual(['notify-failed']);
    expect(bob.notifier.size).toBe(0);

    // (c) the notifier forgot: the refresh gets 481 and the subscription is gone (§4.1.2.2)
    const w2 = watch(alice.client);
    clock.advance(20);
    bob.notifier.close();
    clock.advance(600_000);
    expect(net.responses(481, 'SUBSCRIBE', 'bob.test')).toHaveLength(1);
    expect(w2.terminated[0]!.reason).toBe('gone');
    expect(alice.client.size).toBe(0);
  });

  it('a NOTIFY with the wrong Event is 481, one without Subscription-State 400, one out of CSeq order 500', () => {
    const { clock, net, alice, bob } = world();
    const w = watch(alice.client);
    clock.advance(20);
    const d = w.sub.dialog!;
    const mk = (cseq: number, headers: [string, string][]) => {
      const r = new SipRequest('NOTIFY', 'sip:alice@alice.test:5060');
      r.append('Via', `SIP/2.0/UDP bob.test:5060;branch=z9hG4bK-x${cseq}${headers.length}`);
      r.append('From', `<sip:201@bob.test>;tag=${d.id.remoteTag}`);
      r.append('To', `<sip:alice@alice.test>;tag=${d.id.localTag}`);
      r.append('Call-ID', d.id.callId);
      r.append('CSeq', `${cseq} NOTIFY`);
      for (const [n, v] of headers) r.append(n, v);
      return r;
    };
    const dest = { protocol: 'udp' as const, address: 'alice.test', port: 5060 };
    const base = d.remoteSeq!;
    net.log.length = 0;
    const send = (r: Req) => bob.layer.sendRequest(r, dest);
    send(mk(base + 1, [['Event', 'presence'], ['Subscription-State', 'active']]));
    send(mk(base + 2, [['Event', 'dialog']]));
    send(mk(base + 3, [['Event', 'dialog'], ['Subscription-State', 'active']]));
    clock.advance(20);
    send(mk(base, [['Event', 'dialog'], ['Subscription-State', 'active']]));
    clock.advance(20);
    expect(net.responses(481, 'NOTIFY', 'alice.test')).toHaveLength(1);
    expect(net.responses(400, 'NOTIFY', 'alice.test')).toHaveLength(1);
    expect(net.responses(200, 'NOTIFY', 'alice.test')).toHaveLength(1);
    expect(net.responses(500, 'NOTIFY', 'alice.test')).toHaveLength(1);
    expect(w.sub.state).toBe('active');
  });

  it('keeps the first dialog only: a NOTIFY from another fork gets 481', () => {
    const { clock, net, alice, bob } = world();
    const w = watch(alice.client);
    clock.advance(20);
    const d = w.sub.dialog!;
    const fork = new SipRequest('NOTIFY', 'sip:alice@alice.test:5060');
    for (const [n, v] of [
      ['Via', 'SIP/2.0/UDP bob.test:5060;branch=z9hG4bK-fork'],
      ['From', '<sip:201@bob.test>;tag=other-fork'],
      ['To', `<sip:alice@alice.test>;tag=${d.id.localTag}`],
      ['Call-ID', d.id.callId],
      ['CSeq', '1 NOTIFY'],
      ['Event', 'dialog'],
      ['Subscription-State', 'active;expires=60'],
    ] as const)
      fork.append(n, v);
    bob.layer.sendRequest(fork, { protocol: 'udp', address: 'alice.test', port: 5060 });
    clock.advance(20);
    expect(net.responses(481, 'NOTIFY', 'alice.test')).toHaveLength(1);
    expect(w.sub.dialog).toBe(d);
    expect(w.notifies).toHaveLength(1);
  });

  it('the router answers 481 in a dialog nobody holds, and 501 (or the fallback) outside', () => {
    const { clock, net, alice, bob } = world();
    const options = new SipRequest('OPTIONS', 'sip:bob@bob.test');
    for (const [n, v] of [
      ['Via', 'SIP/2.0/UDP alice.test:5060;branch=z9hG4bK-opt'],
      ['From', '<sip:alice@alice.test>;tag=o1'],
      ['To', '<sip:bob@bob.test>'],
      ['Call-ID', 'opt-1'],
      ['CSeq', '1 OPTIONS'],
    ] as const)
      options.append(n, v);
    alice.layer.sendRequest(options, { protocol: 'udp', address: 'bob.test', port: 5060 });
    clock.advance(20);
    expect(net.responses(501, 'OPTIONS', 'bob.test')).toHaveLength(1);
    const seen: string[] = [];
    bob.layer.user = new SubscriptionRouter([bob.client, bob.notifier], {
      fallback: (tx) => {
        seen.push(tx.request.method);
        tx.respond(createResponse(tx.request, 200));
      },
    }).asLayerUser();
    options.set('Via', 'SIP/2.0/UDP alice.test:5060;branch=z9hG4bK-opt2');
    alice.layer.sendRequest(options, { protocol: 'udp', address: 'bob.test', port: 5060 });
    clock.advance(20);
    expect(seen).toEqual(['OPTIONS']);
    expect(net.responses(200, 'OPTIONS', 'bob.test')).toHaveLength(1);
  });

  it('ends the subscription when no NOTIFY follows the 2xx within 64*T1 (§4.1.2.4)', () => {
    const { clock, net, alice, bob } = world();
    net.drop = (m) => isReq(m, 'NOTIFY');
    const w = watch(alice.client);
    clock.advance(20);
    expect(w.sub.state).toBe('accepted');
    const okAt = net.responses(200, 'SUBSCRIBE', 'bob.test')[0]!.at + net.latency;
    clock.advance(okAt + 64 * T1 - 1 - clock.now());
    expect(w.terminated).toEqual([]);
    clock.advance(1);
    expect(w.terminated).toEqual([{ reason: 'no-notify' }]);
    expect(alice.client.size).toBe(0);
    clock.advance(1000); // the notifier's NOTIFY timed out too (Timer F): subscription removed
    expect(bob.ended.map(([, r]) => r)).toEqual(['notify-failed']);
  });

  it('bounds the notifier table: 503 with Retry-After (or 480) when full; the client table: SubscriptionError', () => {
    for (const whenFull of [503, 480] as const) {
      const { clock, net, alice, bob } = world({ bob: { notifier: { maxSubscriptions: 2, whenFull, retryAfter: 7 } } });
      const ws = [watch(alice.client), watch(alice.client), watch(alice.client)];
      clock.advance(50);
      expect(bob.notifier.size).toBe(2);
      const [full] = net.responses(whenFull, 'SUBSCRIBE', 'bob.test');
      expect(full).toBeDefined();
      if (whenFull === 503) expect(full!.message.get('Retry-After')).toBe('7');
      expect(ws.map((w) => w.sub.state)).toEqual(['active', 'active', 'terminated']);
    }
    const { alice } = world({ alice: { client: { maxSubscriptions: 1 } } });
    watch(alice.client);
    expect(() => watch(alice.client)).toThrow(SubscriptionError);
  });

  it('answers the first 401 through the DigestClient, and gives up on the second', () => {
    for (const always of [false, true]) {
      const { clock, net, alice, bob } = world({
        alice: { client: { digest: new DigestClient({ credentials: { username: 'alice', password: 'pw' }, random: seededRandom(9) }) } },
      });
      const challenged: Req[] = [];
      const layerUser = bob.layer.user;
      bob.layer.user = {
        ...layerUser,
        onRequest: (tx, inbound) => {
          const req = tx.request;
          if (req.method === 'SUBSCRIBE' && (always || !req.has('Authorization'))) {
            challenged.push(req);
            tx.respond(createResponse(req, 401, undefined, { headers: [['WWW-Authenticate', 'Digest realm="bob.test", nonce="abc123", qop="auth", algorithm=MD5']] }));
            return;
          }
          layerUser.onRequest(tx, inbound);
        },
      };
      const w = watch(alice.client);
      clock.advance(50);
      const subs = net.requests('SUBSCRIBE', 'alice.test').map((x) => x.message as Req);
      expect(subs).toHaveLength(2);
      expect(subs[1]!.cseq.seq).toBe(2);
      expect(subs[1]!.authorization[0]!.realm).toBe('bob.test');
      if (always) {
        expect(w.terminated[0]!.reason).toBe('rejected');
        expect(w.terminated[0]!.response!.status).toBe(401);
      } else expect(w.sub.state).toBe('active');
    }
  });

  it('a fetch (Expires: 0) gets one terminated NOTIFY with the state and keeps nothing (§4.4.3)', () => {
    const { clock, net, alice, bob } = world();
    bob.blf.state = 'early';
    const w = watch(alice.client, { expires: 0 });
    clock.advance(50);
    const [n] = net.requests('NOTIFY', 'bob.test');
    expect(n!.message.get('Subscription-State')).toBe('terminated;reason=timeout');
    expect(w.notifies[0]!.body.toString()).toBe('<dialog-info state="early"/>');
    expect(w.terminated).toEqual([{ reason: 'unsubscribed' }]);
    expect(bob.notifier.size).toBe(0);
    expect(alice.client.size).toBe(0);
  });

  it('keeps one NOTIFY outstanding and coalesces changes into the latest state', () => {
    const { clock, net, alice, bob } = world();
    const w = watch(alice.client);
    clock.advance(20);
    const sub = bob.subscribed[0]!;
    for (const s of ['early', 'confirmed', 'terminated', 'early']) {
      bob.blf.state = s;
      bob.notifier.notify(sub);
    }
    clock.advance(1); // only the first has left
    expect(net.requests('NOTIFY', 'bob.test')).toHaveLength(2);
    clock.advance(50);
    expect(w.notifies.map((n) => n.body.toString())).toEqual(['<dialog-info state="terminated"/>', '<dialog-info state="early"/>', '<dialog-info state="early"/>']);
  });

  it('runs beside INVITE dialogs through DialogManager.externalDialogs', () => {
    const { clock, net, alice, bob } = world({ alice: { manager: true }, bob: { manager: true } });
    const w = watch(alice.client);
    clock.advance(20);
    expect(w.sub.state).toBe('active');
    w.sub.unsubscribe();
    clock.advance(20);
    expect(w.terminated).toEqual([{ reason: 'unsubscribed' }]);
    expect(bob.notifier.size).toBe(0);
    expect(net.responses(481)).toHaveLength(0);
  });

  it('formats Subscription-State values', () => {
    expect(formatSubscriptionState({ state: 'active', expires: 3600 })).toBe('active;expires=3600');
    expect(formatSubscriptionState({ state: 'terminated', reason: 'giveup', retryAfter: 30 })).toBe('terminated;reason=giveup;retry-after=30');
  });
});
