/**
 * Locating SIP servers (RFC 3263 §4) with `node:dns`: from a SIP or SIPS URI to an ordered
 * list of transport endpoints to try.
 *
 * 1. A numeric host: that address, the URI's port or the default, the transport from
 *    `transport=` (else UDP for sip, TLS for sips) (§4.1, §4.2).
 * 2. A name with a port: A/AAAA of the name, that port (§4.2).
 * 3. A name with `transport=` and no port: SRV for that transport, then A/AAAA.
 * 4. Otherwise NAPTR (§4.1): records whose service we support (`SIP+D2U`, `SIP+D2T`,
 *    `SIPS+D2T`, `SIP+D2W`, `SIPS+D2W`; only SIPS ones for a sips URI), by order and
 *    preference, each followed to its SRV records. Without NAPTR: the SRV records
 *    `_sip._udp`, `_sip._tcp`, `_sips._tcp`, `_sip._ws`, `_sips._ws` of the supported
 *    protocols. Without SRV: A/AAAA with the default port (5060, 5061 for TLS).
 *
 * SRV records are ordered by priority and, within one priority, by weight-random
 * selection (RFC 2782) with an injectable `random`. Targets are tried in list order with
 * {@link sendWithFailover}: the next on a transport error or a timeout (§4.3).
 */
import { promises as dnsPromises } from 'node:dns';
import { isIP } from 'node:net';
import { parseUri, SipUri, type SipMessage } from '../message/index.js';
import { TransportError, type Destination, type Endpoint, type SipTransport, type TransportProtocol } from './types.js';

type Resolver = dnsPromises.Resolver;

/** NAPTR service field per transport (RFC 3263 §4.1, RFC 7118 §10). */
const NAPTR_SERVICES: Record<string, TransportProtocol> = {
  'SIP+D2U': 'udp',
  'SIP+D2T': 'tcp',
  'SIPS+D2T': 'tls',
  'SIP+D2W': 'ws',
  'SIPS+D2W': 'wss',
};

/** SRV owner-name prefix per transport (RFC 3263 §4.1). */
const SRV_PREFIX: Record<TransportProtocol, string> = {
  udp: '_sip._udp.',
  tcp: '_sip._tcp.',
  tls: '_sips._tcp.',
  ws: '_sip._ws.',
  wss: '_sips._ws.',
};

const SECURE: ReadonlySet<TransportProtocol> = new Set(['tls', 'wss']);

/** Options of {@link resolveSipTargets}. */
export interface ResolveOptions {
  /** The resolver (default: a new `dns.promises.Resolver` with the system's servers). Tests point it at a local server. */
  resolver?: Resolver;
  /** Protocols we can use, in our order of preference for the no-NAPTR case (default udp, tcp, tls). */
  supportedProtocols?: TransportProtocol[];
  /** Per-query timeout for a resolver created here (default 2000 ms). */
  timeoutMs?: number;
  /** Look up AAAA too (after A). Default true. */
  ipv6?: boolean;
  /** Randomness in [0, 1) for SRV weights (default Math.random). */
  random?: () => number;
}

/** An SRV record as `node:dns` returns it. */
interface Srv {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

/**
 * Orders SRV records per RFC 2782: ascending priority; within one priority, repeatedly pick
 * a record with probability proportional to its weight (zero-weight records get a small
 * chance, as the RFC's running-sum algorithm gives them).
 *
 * @example
 * ```ts
 * orderSrv([{ name: 'b', port: 5060, priority: 20, weight: 0 }, { name: 'a', port: 5060, priority: 10, weight: 5 }], Math.random);
 * // a first, then b
 * ```
 */
export function orderSrv<T extends Srv>(records: readonly T[], random: () => number): T[] {
  const byPriority = new Map<number, T[]>();
  for (const r of records) {
    const list = byPriority.get(r.priority);
    if (list === undefined) byPriority.set(r.priority, [r]);
    else list.push(r);
  }
  const out: T[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    // RFC 2782: zero-weight records first in the list, so the running sum gives them a small chance.
    const group = [...byPriority.get(priority)!].sort((a, b) => (a.weight === 0 ? 0 : 1) - (b.weight === 0 ? 0 : 1));
    while (group.length > 0) {
      const total = group.reduce((s, r) => s + r.weight, 0);
      const pick = Math.floor(random() * (total + 1));
      let sum = 0;
      let index = group.length - 1;
      for (let i = 0; i < group.length; i++) {
        sum += group[i]!.weight;
        if (sum >= pick) {
          index = i;
          break;
        }
      }
      out.push(group.splice(index, 1)[0]!);
    }
  }
  return out;
}

/**
 * A lookup that gives [] when there are no records (NXDOMAIN, NODATA) and also on errors (a
 * timeout, SERVFAIL, REFUSED): RFC 3263 then moves on to the next step or target.
 */
async function lookup<T>(query: () => Promise<T[]>): Promise<T[]> {
  try {
    return await query();
  } catch {
    return [];
  }
}

async function addresses(resolver: Resolver, host: string, ipv6: boolean): Promise<string[]> {
  const [v4, v6] = await Promise.all([lookup(() => resolver.resolve4(host)), ipv6 ? lookup(() => resolver.resolve6(host)) : Promise.resolve([])]);
  return [...v4, ...v6];
}

async function srvTargets(resolver: Resolver, name: string, protocol: TransportProtocol, ipv6: boolean, random: () => number): Promise<Endpoint[]> {
  const records = (await lookup(() => resolver.resolveSrv(name))).filter((r) => r.name !== '' && r.name !== '.');
  const out: Endpoint[] = [];
  for (const r of orderSrv(records, random)) {
    for (const address of await addresses(resolver, r.name, ipv6)) out.push({ protocol, address, port: r.port });
  }
  return out;
}

/**
 * The endpoints to try for a SIP or SIPS URI, best first (RFC 3263 §4). Empty when the name
 * does not resolve.
 *
 * @example
 * ```ts
 * const resolver = new dns.promises.Resolver({ timeout: 2000, tries: 1 });
 * const targets = await resolveSipTargets('sip:alice@example.com', { resolver, supportedProtocols: ['udp', 'tcp'] });
 * // e.g. [{ protocol: 'tcp', address: '192.0.2.10', port: 5060 }, { protocol: 'udp', ... }]
 * ```
 */
export async function resolveSipTargets(target: SipUri | string, options: ResolveOptions = {}): Promise<Endpoint[]> {
  const uri = typeof target === 'string' ? parseUri(target) : target;
  if (!(uri instanceof SipUri)) throw new TypeError('RFC 3263 resolution needs a sip: or sips: URI');
  const sips = uri.scheme === 'sips';
  const supported = (options.supportedProtocols ?? ['udp', 'tcp', 'tls']).filter((p) => !sips || SECURE.has(p));
  const random = options.random ?? Math.random;
  const ipv6 = options.ipv6 ?? true;
  const resolver = options.resolver ?? new dnsPromises.Resolver({ timeout: options.timeoutMs ?? 2000, tries: 1 });
  const host = uri.host;
  // maddr overrides the host for locating (§4).
  const maddr = uri.params.get('maddr');
  const name = typeof maddr === 'string' && maddr.length > 0 ? maddr : host;
  const param = uri.transport?.toLowerCase();
  let explicit: TransportProtocol | undefined;
  if (param !== undefined) {
    if (param === 'udp' || param === 'tcp' || param === 'ws') explicit = sips ? (param === 'ws' ? 'wss' : 'tls') : param;
    else if (param === 'tls') explicit = 'tls';
    else if (param === 'wss') explicit = 'wss';
    else return []; // a transport we do not know (sctp…)
    if (!supported.includes(explicit)) return [];
  }
  const defaultPort = (p: TransportProtocol): number => (SECURE.has(p) ? 5061 : p === 'ws' ? 80 : 5060);
  const fallback: TransportProtocol = explicit ?? (sips ? 'tls' : 'udp');

  // §4.1/§4.2: a numeric address is used as is.
  if (isIP(name) !== 0) return [{ protocol: fallback, address: name, port: uri.port ?? defaultPort(fallback) }];
  // §4.2: an explicit port means A/AAAA, no SRV.
  if (uri.port !== undefined) {
    return (await addresses(resolver, name, ipv6)).map((address) => ({ protocol: fallback, address, port: uri.port! }));
  }
  if (explicit !== undefined) {
    const viaSrv = await srvTargets(resolver, SRV_PREFIX[explicit] + name, explicit, ipv6, random);
    if (viaSrv.length > 0) return viaSrv;
    return (await addresses(resolver, name, ipv6)).map((address) => ({ protocol: explicit, address, port: defaultPort(explicit) }));
  }

  // §4.1: NAPTR.
  const naptr = (await lookup(() => resolver.resolveNaptr(name)))
    .filter((r) => r.flags.toLowerCase() === 's' && r.replacement !== '' && NAPTR_SERVICES[r.service.toUpperCase()] !== undefined)
    .filter((r) => supported.includes(NAPTR_SERVICES[r.service.toUpperCase()]!))
    .sort((a, b) => a.order - b.order || a.preference - b.preference);
  if (naptr.length > 0) {
    const out: Endpoint[] = [];
    for (const r of naptr) out.push(...(await srvTargets(resolver, r.replacement, NAPTR_SERVICES[r.service.toUpperCase()]!, ipv6, random)));
    if (out.length > 0) return out;
  }
  // No (usable) NAPTR: SRV for each supported protocol, in our order.
  const viaSrv: Endpoint[] = [];
  for (const p of supported) viaSrv.push(...(await srvTargets(resolver, SRV_PREFIX[p] + name, p, ipv6, random)));
  if (viaSrv.length > 0) return viaSrv;
  // No SRV: A/AAAA, UDP (TLS for sips) on the default port.
  return (await addresses(resolver, name, ipv6)).map((address) => ({ protocol: fallback, address, port: defaultPort(fallback) }));
}

/**
 * Sends `message` to the first target that takes it (RFC 3263 §4.3): on a
 * {@link TransportError} or after `timeoutMs` (a connection that hangs) the next target is
 * tried. Resolves with the target used; rejects with the last error when every target
 * failed. For use outside transactions (stateless sends, the ACK of a 2xx) and by a TU
 * that retries a request: a client transaction that ends in `onTransportError` or
 * `onTimeout` is retried by the TU as a new transaction (new branch, §4.3) to the next target.
 *
 * @example
 * ```ts
 * const targets = await resolveSipTargets(request.uri as SipUri, { resolver });
 * const used = await sendWithFailover(transports, request, targets, { timeoutMs: 5000 });
 * ```
 */
export async function sendWithFailover(transport: SipTransport, message: SipMessage, targets: readonly Destination[], options: { timeoutMs?: number } = {}): Promise<Destination> {
  if (targets.length === 0) throw new TransportError('No targets to send to');
  let last: unknown;
  for (const target of targets) {
    try {
      await withTimeout(transport.send(message, target), options.timeoutMs, target);
      return target;
    } catch (e) {
      if (!(e instanceof TransportError)) throw e;
      last = e;
    }
  }
  throw new TransportError(`Every target failed; last: ${(last as Error).message}`, (last as TransportError).destination);
}

function withTimeout(p: Promise<void>, ms: number | undefined, target: Destination): Promise<void> {
  if (ms === undefined) return p;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new TransportError(`No answer from ${target.address}:${target.port} in ${ms} ms`, target)), ms);
    t.unref();
    p.then(
      () => {
        clearTimeout(t);
        resolve();
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
