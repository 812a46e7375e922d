/**
 * RFC 3263 server location against a real DNS server: dnsmasq (Debian `dnsmasq-base`),
 * started per test on 127.0.0.1 with an ephemeral port and only the records the test gives
 * it (no upstream, no /etc/hosts, authoritative for `.test`).
 */
import { accessSync, constants } from 'node:fs';
import { promises as dns } from 'node:dns';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { orderSrv, resolveSipTargets, sendWithFailover, TransportError } from '../../../src/sip/transport/index.js';
import type { Endpoint } from '../../../src/sip/transport/types.js';
import { startPeer, stopAll } from '../../helpers/peer-process.js';
import { freeUdpPort } from '../../helpers/ports.js';
import { closeSets, openSet, request, waitFor } from './helpers.js';

const DNSMASQ = ['/usr/sbin/dnsmasq', '/sbin/dnsmasq', ...(process.env.PATH ?? '').split(':').map((p) => `${p}/dnsmasq`)].find((p) => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
});
if (DNSMASQ === undefined && process.env.CI) throw new Error('dnsmasq is not installed: apt-get install dnsmasq-base (.ci/run must do this)');
const describeDns = DNSMASQ === undefined ? describe.skip : describe;
if (DNSMASQ === undefined) {
  describe('RFC 3263 with dnsmasq', () => {
    it.skip('skipped: dnsmasq is not installed (apt-get install dnsmasq-base); in CI this fails instead', () => undefined);
  });
}

const servers: Server[] = [];
afterEach(async () => {
  await stopAll();
  await closeSets();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** Starts dnsmasq with `records` (dnsmasq options) and returns a resolver that asks it. */
async function dnsServer(records: string[]): Promise<dns.Resolver> {
  const port = await freeUdpPort();
  startPeer(
    DNSMASQ!,
    [
      `--port=${port}`,
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      '--conf-file=/dev/null',
      '--keep-in-foreground',
      '--pid-file=',
      '--user=',
      '--local=/test/',
      ...records,
    ],
    { timeoutMs: 20_000, cwd: tmpdir() },
  );
  const resolver = new dns.Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  // Ready when it answers (anything, even "no such name").
  const end = Date.now() + 3000;
  for (;;) {
    try {
      await resolver.resolve4('ready.test');
      break;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ENOTFOUND' || code === 'ENODATA') break;
      if (Date.now() > end) throw new Error(`dnsmasq did not answer: ${String(e)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return resolver;
}

const ep = (protocol: Endpoint['protocol'], address: string, port: number): Endpoint => ({ protocol, address, port });

describeDns('RFC 3263 with dnsmasq', () => {
  it('NAPTR → SRV → A/AAAA, in NAPTR order and preference, unsupported services skipped', async () => {
    const resolver = await dnsServer([
      '--naptr-record=example.test,20,10,S,SIPS+D2T,,_sips._tcp.example.test',
      '--naptr-record=example.test,10,20,S,SIP+D2U,,_sip._udp.example.test',
      '--naptr-record=example.test,10,10,S,SIP+D2T,,_sip._tcp.example.test',
      '--naptr-record=example.test,5,10,S,SIP+D2S,,_sip._sctp.example.test',
      '--srv-host=_sip._tcp.example.test,h1.example.test,5070,10,1',
      '--srv-host=_sip._udp.example.test,h2.example.test,5071,10,1',
      '--srv-host=_sips._tcp.example.test,h1.example.test,5072,10,1',
      '--host-record=h1.example.test,127.0.0.1',
      '--host-record=h2.example.test,127.0.0.2,::2',
    ]);
    expect(await resolveSipTargets('sip:alice@example.test', { resolver, supportedProtocols: ['udp', 'tcp'] })).toEqual([
      ep('tcp', '127.0.0.1', 5070),
      ep('udp', '127.0.0.2', 5071),
      ep('udp', '::2', 5071),
    ]);
    expect(await resolveSipTargets('sip:alice@example.test', { resolver, supportedProtocols: ['udp', 'tcp', 'tls'], ipv6: false })).toEqual([
      ep('tcp', '127.0.0.1', 5070),
      ep('udp', '127.0.0.2', 5071),
      ep('tls', '127.0.0.1', 5072),
    ]);
    // A sips URI only takes SIPS services.
    expect(await resolveSipTargets('sips:alice@example.test', { resolver, supportedProtocols: ['udp', 'tcp', 'tls'] })).toEqual([ep('tls', '127.0.0.1', 5072)]);
  });

  it('SRV priority first, then weights (RFC 2782) with the injected random', async () => {
    const resolver = await dnsServer([
      '--srv-host=_sip._udp.w.test,a.w.test,5001,10,0',
      '--srv-host=_sip._udp.w.test,b.w.test,5002,10,100',
      '--srv-host=_sip._udp.w.test,c.w.test,5003,5,1',
      '--host-record=a.w.test,127.0.0.11',
      '--host-record=b.w.test,127.0.0.12',
      '--host-record=c.w.test,127.0.0.13',
    ]);
    const ports = async (random: () => number): Promise<number[]> => (await resolveSipTargets('sip:w.test', { resolver, supportedProtocols: ['udp'], random })).map((t) => t.port);
    expect(await ports(() => 0.99)).toEqual([5003, 5002, 5001]);
    expect(await ports(() => 0)).toEqual([5003, 5001, 5002]);
  });

  it('without NAPTR: SRV of each supported protocol in our order; without SRV: A on 5060 (5061 for sips)', async () => {
    const resolver = await dnsServer([
      '--srv-host=_sip._tcp.nonaptr.test,t.nonaptr.test,5080,10,1',
      '--srv-host=_sip._udp.nonaptr.test,u.nonaptr.test,5090,10,1',
      '--host-record=t.nonaptr.test,127.0.0.21',
      '--host-record=u.nonaptr.test,127.0.0.22',
      '--host-record=plain.test,127.0.0.31',
    ]);
    expect(await resolveSipTargets('sip:bob@nonaptr.test', { resolver, supportedProtocols: ['udp', 'tcp'] })).toEqual([ep('udp', '127.0.0.22', 5090), ep('tcp', '127.0.0.21', 5080)]);
    expect(await resolveSipTargets('sip:bob@nonaptr.test', { resolver, supportedProtocols: ['tcp', 'udp'] })).toEqual([ep('tcp', '127.0.0.21', 5080), ep('udp', '127.0.0.22', 5090)]);
    expect(await resolveSipTargets('sip:bob@plain.test', { resolver })).toEqual([ep('udp', '127.0.0.31', 5060)]);
    expect(await resolveSipTargets('sips:bob@plain.test', { resolver })).toEqual([ep('tls', '127.0.0.31', 5061)]);
    expect(await resolveSipTargets('sip:bob@nowhere.test', { resolver })).toEqual([]);
  });

  it('numeric hosts need no DNS; an explicit port skips NAPTR/SRV; transport= picks the SRV', async () => {
    const resolver = await dnsServer([
      '--naptr-record=p.test,10,10,S,SIP+D2T,,_sip._tcp.p.test',
      '--srv-host=_sip._tcp.p.test,srv.p.test,5999,10,1',
      '--host-record=srv.p.test,127.0.0.41',
      '--host-record=p.test,127.0.0.42',
    ]);
    const dead = new dns.Resolver({ timeout: 100, tries: 1 });
    dead.setServers(['127.0.0.1:9']);
    expect(await resolveSipTargets('sip:bob@192.0.2.7', { resolver: dead })).toEqual([ep('udp', '192.0.2.7', 5060)]);
    expect(await resolveSipTargets('sips:bob@[2001:db8::7]:6000', { resolver: dead })).toEqual([ep('tls', '2001:db8::7', 6000)]);
    expect(await resolveSipTargets('sip:bob@192.0.2.7;transport=tcp', { resolver: dead })).toEqual([ep('tcp', '192.0.2.7', 5060)]);
    expect(await resolveSipTargets('sip:bob@p.test:7000', { resolver })).toEqual([ep('udp', '127.0.0.42', 7000)]);
    expect(await resolveSipTargets('sip:bob@p.test:7000;transport=tcp', { resolver })).toEqual([ep('tcp', '127.0.0.42', 7000)]);
    expect(await resolveSipTargets('sip:bob@p.test;transport=tcp', { resolver })).toEqual([ep('tcp', '127.0.0.41', 5999)]);
    expect(await resolveSipTargets('sip:bob@p.test', { resolver })).toEqual([ep('tcp', '127.0.0.41', 5999)]);
    // A transport we do not support yields nothing.
    expect(await resolveSipTargets('sip:bob@p.test;transport=sctp', { resolver })).toEqual([]);
  });

  it('fails over to the next target when the first refuses the connection (§4.3)', async () => {
    const live = await openSet({ listen: [{ protocol: 'tcp', address: '127.0.0.1', port: 0 }] });
    const closed = await openSet({ listen: [{ protocol: 'tcp', address: '127.0.0.1', port: 0 }] });
    const closedPort = closed.set.endpoints()[0]!.port;
    await closed.set.close();
    const resolver = await dnsServer([
      `--srv-host=_sip._tcp.fail.test,dead.fail.test,${closedPort},10,1`,
      `--srv-host=_sip._tcp.fail.test,live.fail.test,${live.set.endpoints()[0]!.port},20,1`,
      '--host-record=dead.fail.test,127.0.0.1',
      '--host-record=live.fail.test,127.0.0.1',
    ]);
    const targets = await resolveSipTargets('sip:bob@fail.test', { resolver, supportedProtocols: ['tcp'] });
    expect(targets.map((t) => t.port)).toEqual([closedPort, live.set.endpoints()[0]!.port]);
    const cli = await openSet({ listen: [] });
    const used = await sendWithFailover(cli.set, request('tcp'), targets);
    expect(used).toEqual(targets[1]);
    await waitFor(() => live.inbox.length === 1);
    // Every target refusing: the last error.
    await expect(sendWithFailover(cli.set, request('tcp'), [targets[0]!, targets[0]!])).rejects.toThrow(/Every target failed/);
  });
});

describe('failover without DNS', () => {
  it('moves on when a target hangs past the timeout', async () => {
    // Accepts TCP, never answers the WebSocket handshake.
    const hang = createServer((s) => s.resume());
    servers.push(hang);
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()));
    const live = await openSet({ listen: [{ protocol: 'ws', address: '127.0.0.1', port: 0 }] });
    const cli = await openSet({ listen: [] });
    const targets = [ep('ws', '127.0.0.1', (hang.address() as { port: number }).port), live.set.endpoints()[0]!];
    const start = Date.now();
    expect(await sendWithFailover(cli.set, request('ws'), targets, { timeoutMs: 200 })).toEqual(targets[1]);
    expect(Date.now() - start).toBeLessThan(1500);
    await waitFor(() => live.inbox.length === 1);
  });

  it('rethrows errors that are not transport errors, and refuses an empty list', async () => {
    await expect(sendWithFailover({ send: () => Promise.reject(new TypeError('bug')), isReliable: () => true }, request('udp'), [ep('udp', '127.0.0.1', 1)])).rejects.toBeInstanceOf(TypeError);
    await expect(sendWithFailover({ send: () => Promise.resolve(), isReliable: () => true }, request('udp'), [])).rejects.toBeInstanceOf(TransportError);
  });

  it('orderSrv: priorities ascend; weights decide within a priority', () => {
    const recs = [
      { name: 'x', port: 1, priority: 2, weight: 10 },
      { name: 'y', port: 2, priority: 1, weight: 0 },
      { name: 'z', port: 3, priority: 2, weight: 30 },
    ];
    expect(orderSrv(recs, () => 0.1).map((r) => r.name)).toEqual(['y', 'x', 'z']); // pick 4 of 0..40: x
    expect(orderSrv(recs, () => 0.9).map((r) => r.name)).toEqual(['y', 'z', 'x']); // pick 36: z
    // Over many draws, z (weight 30) comes first about 3 times as often as x (weight 10).
    let seed = 1;
    const rnd = (): number => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    let zFirst = 0;
    for (let i = 0; i < 4000; i++) if (orderSrv(recs, rnd)[1]!.name === 'z') zFirst++;
    expect(zFirst / 4000).toBeGreaterThan(0.68);
    expect(zFirst / 4000).toBeLessThan(0.8);
  });
});
