/**
 * Property: whatever a peer sends — SUBSCRIBE and NOTIFY with wrong, known or missing tags,
 * stale or huge CSeq, missing or malformed Event, Subscription-State, Expires, Contact, Accept —
 * interleaved with real subscriptions, notifications, terminations, unsubscriptions, mangled
 * traffic and time, neither the SubscriptionClient nor the Notifier throws, and neither holds
 * more subscriptions than its bound. Once closed, no timer is left.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SipParseError, parseMessage, type SipMessage } from '../../../src/sip/message/index.js';
import { TransactionLayer } from '../../../src/sip/transaction/index.js';
import { ManualClock } from '../../../src/sip/timer-clock.js';
import { Notifier, SubscriptionClient, SubscriptionError, SubscriptionRouter } from '../../../src/sip/ua/subscription-index.js';
import { FakeNetwork, seededRandom, T1, T2 } from '../dialog/harness.js';

const MAX = 3;

function stack(net: FakeNetwork, address: string, seed: number) {
  const layer = new TransactionLayer({
    transport: net.transport(address),
    user: { onRequest: () => undefined },
    clock: net.clock,
    timers: { T1, T2 },
    random: seededRandom(seed * 7919),
    tryingDelay: null,
    maxTransactions: 200,
  });
  net.attach(address, layer);
  const contact = `<sip:${address.split('.')[0]}@${address}:5060>`;
  const notifier = new Notifier({
    layer,
    contact,
    random: seededRandom(seed * 31),
    maxSubscriptions: MAX,
    packages: { dialog: { contentType: 'application/dialog-info+xml', state: () => '<dialog-info/>' } },
    authorize: (req) => (req.get('X-Auth') === 'pending' ? 'pending' : 'accept'),
  });
  const client = new SubscriptionClient({ layer, contact, random: seededRandom(seed * 57), maxSubscriptions: MAX });
  layer.user = new SubscriptionRouter([client, notifier]).asLayerUser();
  return { address, layer, notifier, client };
}

const garbageHeader = fc.constantFrom(
  '',
  'Event: dialog\r\n',
  'Event: dialog;id=7\r\n',
  'Event: presence\r\n',
  'Event: ;;\r\n',
  'Event: dialog\r\nEvent: dialog\r\n',
  'Subscription-State: active;expires=30\r\n',
  'Subscription-State: pending\r\n',
  'Subscription-State: terminated;reason=deactivated\r\n',
  'Subscription-State: terminated;reason=probation;retry-after=5\r\n',
  'Subscription-State: terminated;reason=timeout\r\n',
  'Subscription-State: terminated;reason=noresource\r\n',
  'Subscription-State: active;expires=abc\r\n',
  'Subscription-State: ;\r\n',
  'Subscription-State: weird;expires=99999999999\r\n',
  'Expires: 0\r\n',
  'Expires: 10\r\n',
  'Expires: 600\r\n',
  'Expires: x\r\n',
  'Expires: 4294967295\r\n',
  'Contact: <<\r\n',
  'Contact: <tel:+123>\r\n',
  'Contact: *\r\n',
  'Accept: text/plain\r\n',
  'Accept: //\r\n',
  'Record-Route: <sip:p.test;lr>, garbage\r\n',
  'Content-Type: application/dialog-info+xml\r\n',
  'X-Auth: pending\r\n',
);

const inject = fc.record({
  kind: fc.constant('inject' as const),
  method: fc.constantFrom('SUBSCRIBE', 'NOTIFY', 'SUBSCRIBE', 'NOTIFY', 'BYE', 'INFO'),
  toTag: fc.constantFrom('none', 'known', 'unknown'),
  fromTag: fc.constantFrom('known', 'unknown', 'none'),
  callId: fc.constantFrom('known', 'unknown'),
  seq: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant(4294967295), fc.integer({ min: 0, max: 2 ** 31 })),
  branch: fc.constantFrom('z9hG4bKp1', 'z9hG4bKp2', 'z9hG4bKp3', 'z9hG4bKp4'),
  extra: fc.array(garbageHeader, { maxLength: 4 }),
  validate: fc.boolean(),
  toAlice: fc.boolean(),
  n: fc.nat(),
});
const command = fc.oneof(
  { weight: 6, arbitrary: inject },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('subscribe' as const), expires: fc.constantFrom(0, 30, 60, 600), pending: fc.boolean(), bob: fc.boolean() }) },
  fc.record({ kind: fc.constant('notify' as const), n: fc.nat() }),
  fc.record({ kind: fc.constant('terminate' as const), n: fc.nat(), reason: fc.constantFrom('deactivated', 'probation', 'timeout', 'rejected', 'giveup') }),
  fc.record({ kind: fc.constant('activate' as const), n: fc.nat() }),
  fc.record({ kind: fc.constant('unsubscribe' as const), n: fc.nat() }),
  fc.record({ kind: fc.constant('mangle' as const), header: garbageHeader, on: fc.boolean(), responses: fc.boolean() }),
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 70_000 })) }) },
);

describe('subscription properties', () => {
  it('random SUBSCRIBE/NOTIFY garbage never throws and never grows the tables past their bounds', () => {
    fc.assert(
      fc.property(fc.array(command, { minLength: 10, maxLength: 60, size: 'max' }), (commands) => {
        const clock = new ManualClock();
        const net = new FakeNetwork(clock);
        const alice = stack(net, 'alice.test', 1);
        const bob = stack(net, 'bob.test', 2);
        const nth = <T,>(it: Iterable<T>, n: number): T | undefined => {
          const a = [...it];
          return a[n % Math.max(1, a.length)];
        };
        for (const c of commands) {
          switch (c.kind) {
            case 'inject': {
              const target = c.toAlice ? alice : bob;
              // A real dialog to aim at: one of the target's subscriptions, either side.
              const d = c.toAlice ? nth(alice.client.subscriptions(), c.n)?.dialog : nth(bob.notifier.subscriptions(), c.n)?.dialog;
              const tag = (which: string, real: string | undefined) => (which === 'none' ? '' : `;tag=${which === 'known' && real !== undefined ? real : 'zz'}`);
              const text =
                `${c.method} sip:x@${target.address} SIP/2.0\r\n` +
                `Via: SIP/2.0/UDP peer.test;branch=${c.branch}\r\n` +
                `From: <sip:peer@peer.test>${tag(c.fromTag, d?.id.remoteTag)}\r\n` +
                `To: <sip:x@${target.address}>${tag(c.toTag, d?.id.localTag)}\r\n` +
                `Call-ID: ${c.callId === 'known' && d !== undefined ? d.id.callId : 'unknown-call'}\r\n` +
                `CSeq: ${c.seq} ${c.method}\r\nMax-Forwards: 70\r\nContact: <sip:peer@peer.test>\r\n` +
                c.extra.join('') +
                '\r\n';
              let message: SipMessage;
              try {
                message = parseMessage(Buffer.from(text, 'latin1'), { validate: c.validate });
              } catch (e) {
                if (e instanceof SipParseError) break;
                throw e;
              }
              target.layer.receive({ message, source: { protocol: 'udp', address: 'peer.test', port: 5060 }, local: { protocol: 'udp', address: target.address, port: 5060 } });
              break;
            }
            case 'subscribe': {
              const [from, to] = c.bob ? [bob, alice] : [alice, bob];
              try {
                from.client.subscribe({
                  target: `sip:201@${to.address}`,
                  from: `<sip:me@${from.address}>`,
                  destination: { protocol: 'udp', address: to.address, port: 5060 },
                  event: 'dialog',
                  expires: c.expires,
                  headers: c.pending ? [['X-Auth', 'pending']] : [],
                });
              } catch (e) {
                if (!(e instanceof SubscriptionError)) throw e; // full: the caller's problem, not a peer's
              }
              clock.advance(10);
              break;
            }
            case 'notify': {
              const s = nth(bob.notifier.subscriptions(), c.n);
              if (s !== undefined) bob.notifier.notify(s);
              break;
            }
            case 'terminate': {
              const s = nth(bob.notifier.subscriptions(), c.n);
              if (s !== undefined) bob.notifier.terminate(s, c.reason, { retryAfter: 5 });
              break;
            }
            case 'activate': {
              const s = nth(alice.notifier.subscriptions(), c.n);
              if (s !== undefined) alice.notifier.activate(s);
              break;
            }
            case 'unsubscribe':
              nth(alice.client.subscriptions(), c.n)?.unsubscribe();
              break;
            case 'mangle': {
              const line = c.header.replace(/\r\n$/, '').split('\r\n')[0] ?? '';
              const colon = line.indexOf(':');
              net.tamper =
                !c.on || colon < 0
                  ? undefined
                  : (m) => {
                      if (m.isRequest !== !c.responses) m.append(line.slice(0, colon), line.slice(colon + 1).trim());
                      return m;
                    };
              break;
            }
            case 'advance':
              clock.advance(c.ms);
              break;
          }
          for (const s of [alice, bob]) {
            expect(s.notifier.size).toBeLessThanOrEqual(MAX);
            expect(s.client.size).toBeLessThanOrEqual(MAX);
          }
        }
        net.tamper = undefined;
        clock.advance(1200 * 1000);
        for (const s of [alice, bob]) {
          expect(s.notifier.size).toBeLessThanOrEqual(MAX);
          expect(s.client.size).toBeLessThanOrEqual(MAX);
          for (const sub of s.client.subscriptions()) expect(sub.state).not.toBe('terminated');
        }
        for (const s of [alice, bob]) {
          s.client.close();
          s.notifier.close();
          expect(s.client.size + s.notifier.size).toBe(0);
        }
        // Messages still in flight are answered (481) and every transaction runs out; nothing
        // new is started, so no timer is left behind.
        clock.advance(100_000);
        for (const s of [alice, bob]) {
          expect(s.client.size + s.notifier.size).toBe(0);
          expect(s.layer.clientTransactionCount + s.layer.serverTransactionCount).toBe(0);
        }
        expect(clock.pending).toBe(0);
      }),
      { numRuns: 100 },
    );
  });
});
