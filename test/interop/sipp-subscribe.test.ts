/**
 * Subscriptions on the wire against sipp (Debian `sip-tester`): `scenarios/subscribe-notify.xml`
 * subscribes to the dialog event package of a Notifier (on a TransactionLayer over a real UDP
 * socket on 127.0.0.1, routed by a SubscriptionRouter), receives the 200 and the immediate
 * NOTIFY, answers it, unsubscribes with Expires: 0 and receives the final NOTIFY — 10 times.
 */
import { createSocket, type Socket } from 'node:dgram';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TransactionLayer } from '../../src/sip/transaction/index.js';
import { Notifier, SubscriptionRouter, type NotifierTerminationReason } from '../../src/sip/ua/subscription-index.js';
import { hasCommand, startPeer, stopAll } from '../helpers/peer-process.js';
import { UdpSocketTransport, receiveParsed } from '../helpers/udp-socket-transport.js';
import { sippLocalArgs } from '../helpers/sipp.js';

beforeAll(() => {
  if (!hasCommand('sipp')) throw new Error('sipp is not installed: apt-get install sip-tester (.ci/run does this)');
});

let socket: Socket | undefined;
let layer: TransactionLayer | undefined;
let notifier: Notifier | undefined;
afterEach(async () => {
  await stopAll();
  notifier?.close();
  notifier = undefined;
  layer?.close();
  layer = undefined;
  socket?.close();
  socket = undefined;
});

describe('sipp as subscriber, Notifier over UDP', () => {
  it('10 subscriptions: SUBSCRIBE, 200, NOTIFY active, unsubscribe, 200, NOTIFY terminated', async () => {
    const s = createSocket('udp4');
    socket = s;
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const port = s.address().port;
    const l = new TransactionLayer({ transport: new UdpSocketTransport(s), timers: { T1: 500, T2: 4000 }, user: { onRequest: () => undefined } });
    layer = l;
    const stats = { subscribed: 0, ended: new Map<NotifierTerminationReason, number>(), notifyOk: 0, malformed: 0 };
    const n = new Notifier({
      layer: l,
      contact: `<sip:pbx@127.0.0.1:${port}>`,
      packages: {
        dialog: {
          contentType: 'application/dialog-info+xml',
          state: (sub) =>
            `<?xml version="1.0"?>\r\n<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="${String(sub.resource)}"/>\r\n`,
        },
      },
      events: {
        onSubscribed: () => stats.subscribed++,
        onTerminated: (_sub, reason) => stats.ended.set(reason, (stats.ended.get(reason) ?? 0) + 1),
      },
    });
    notifier = n;
    l.user = new SubscriptionRouter([n]).asLayerUser();
    receiveParsed(
      s,
      port,
      (inbound) => {
        const message = inbound.message;
        if (!message.isRequest && message.cseq.method === 'NOTIFY' && message.status === 200) stats.notifyOk++;
        l.receive(inbound);
      },
      () => stats.malformed++,
    );

    const subscriptions = 10;
    const sipp = startPeer(
      'sipp',
      [
        `127.0.0.1:${port}`,
        '-sf',
        join(__dirname, 'scenarios', 'subscribe-notify.xml'),
        '-m',
        String(subscriptions),
        '-r',
        '10',
        '-l',
        '5',
        ...(await sippLocalArgs('30s')),
      ],
      { timeoutMs: 40_000, cwd: tmpdir() },
    );
    const r = await sipp.done;
    const summary = `${JSON.stringify({ ...stats, ended: [...stats.ended] })}\n${r.stderr}${r.stdout.slice(-3000)}`;
    expect(r.code, summary).toBe(0);
    expect(stats.subscribed, summary).toBe(subscriptions);
    expect(stats.ended.get('unsubscribed'), summary).toBe(subscriptions);
    expect(stats.notifyOk, summary).toBe(2 * subscriptions);
    expect(stats.malformed).toBe(0);
    expect(n.size).toBe(0);
  }, 60_000);
});
