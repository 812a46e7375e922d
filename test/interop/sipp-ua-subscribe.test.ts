/**
 * Subscriptions to a UserAgent against sipp (Debian `sip-tester`): `scenarios/subscribe-notify.xml`
 * subscribes to the `dialog` event package the UserAgent serves (`eventPackages`), receives the
 * 200 and the immediate NOTIFY (Event, Subscription-State active, Content-Type checked),
 * answers it, unsubscribes with Expires: 0 and receives the final NOTIFY — 10 times over UDP.
 * The same scenario as `sipp-subscribe.test.ts`, here through the whole UA: endpoint request
 * checks, DialogManager, its `externalDialogs` hook and the SubscriptionRouter.
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UserAgent } from '../../src/sip/ua/session-index.js';
import type { NotifierTerminationReason } from '../../src/sip/ua/subscription-index.js';
import { hasCommand, startPeer, stopAll } from '../helpers/peer-process.js';
import { sippLocalArgs } from '../helpers/sipp.js';

beforeAll(() => {
  if (!hasCommand('sipp')) throw new Error('sipp is not installed: apt-get install sip-tester (.ci/run does this)');
});

let ua: UserAgent | undefined;
afterEach(async () => {
  await stopAll();
  await ua?.stop();
  ua = undefined;
});

describe('sipp as subscriber, UserAgent as notifier over UDP', () => {
  it('10 subscriptions to the dialog package: SUBSCRIBE, 200, NOTIFY active, unsubscribe, 200, NOTIFY terminated', async () => {
    const resources: string[] = [];
    const ended = new Map<NotifierTerminationReason, number>();
    const errors: string[] = [];
    const agent = await UserAgent.start({
      listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }],
      aor: 'sip:pbx@127.0.0.1',
      stopTimeoutMs: 200,
      transaction: { timers: { T1: 500, T2: 4000 } },
      eventPackages: {
        dialog: {
          contentType: 'application/dialog-info+xml',
          state: (sub) =>
            `<?xml version="1.0"?>\r\n<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="${String(sub.resource)}"/>\r\n`,
        },
      },
    });
    ua = agent;
    agent.on('subscribe', (sub) => resources.push(String(sub.resource)));
    agent.on('subscription-terminated', (_sub, reason) => ended.set(reason, (ended.get(reason) ?? 0) + 1));
    agent.on('error', (e, context) => errors.push(`${context}: ${String(e)}`));

    const subscriptions = 10;
    const sipp = startPeer(
      'sipp',
      [
        `127.0.0.1:${agent.port}`,
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
    const summary = `${JSON.stringify({ resources: resources.length, ended: [...ended], errors })}\n${r.stderr}${r.stdout.slice(-3000)}`;
    expect(r.code, summary).toBe(0);
    expect(resources, summary).toHaveLength(subscriptions);
    expect(resources.every((uri) => uri === `sip:201@127.0.0.1:${agent.port}`), summary).toBe(true);
    expect(ended.get('unsubscribed'), summary).toBe(subscriptions);
    expect(agent.notifier?.size).toBe(0);
    expect(errors).toEqual([]);
  }, 60_000);
});
