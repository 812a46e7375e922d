/**
 * Trunks as the dial plan sees them: which trunks an outbound call tries (and with what
 * number, From and credentials), which trunk an inbound INVITE came from, and where a DID
 * goes. Pure lookups over the configuration; the only I/O is resolving host names once, when
 * the router is created (a reload creates a new router).
 *
 * ```
 *   device dials "9 555 1234"        outbound(): first route whose pattern matches (config order)
 *          │                          number = prepend + dialled.slice(strip)
 *          ▼                          attempts = route.trunks in order ── shouldFailOver(status)
 *   TrunkDial { uri, destination, credentials, from }  ──►  B2BUA tries them one by one
 *
 *   INVITE from 203.0.113.7           identify(): the trunk whose acceptFrom holds the source
 *          │                          (IP, CIDR v4/v6, or a host name resolved at create)
 *          ▼
 *   didDestination(trunk, R-URI user, To user) ──► Destination of the DID, or 404
 * ```
 *
 * Security (enforced by the B2BUA with these answers): a call goes out through a trunk only
 * for an authenticated device of the tenant, and a call comes in from a trunk only when its
 * packet source is in that trunk's `acceptFrom`; anything else must authenticate as a device.
 *
 * @example
 * ```ts
 * const router = await TrunkRouter.create(config.tenants);
 * const plan = router.outbound(tenant, '95551234', { number: '2001', name: 'Front Desk' });
 * for (const attempt of plan?.attempts ?? []) console.log(attempt.trunk.name, attempt.uri);
 * ```
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { DigestCredentials } from '../sip/auth/index.js';
import type { Destination as SipDestination } from '../sip/transport/index.js';
import type { Destination, OutboundRouteConfig, TenantConfig, TrunkConfig } from './config/index.js';
import { applyRoute, compileDialPattern, type DialPattern } from './dialplan-pattern.js';

/** One trunk to try for an outbound call. */
export interface TrunkDial {
  readonly trunk: TrunkConfig;
  /** Request-URI: `sip:<number>@<host>:<port>;transport=<transport>`. */
  readonly uri: string;
  /** Where to send the INVITE: the trunk's host resolved when the router was created (an IPv4 address when it has one). */
  readonly destination: SipDestination;
  /** Digest credentials for the carrier's 401/407 (authUsername or username, password), when the trunk has a password. */
  readonly credentials?: DigestCredentials;
  /** The From of the INVITE: `sip:<fromUser, else the caller ID number>@<fromDomain>`, the caller ID name as display name. */
  readonly from: { readonly uri: string; readonly displayName?: string };
}

/** What an outbound call does: the route that matched, the number sent, the trunks in failover order. */
export interface OutboundPlan {
  readonly route: OutboundRouteConfig;
  /** The dialled number after `strip` and `prepend`. */
  readonly number: string;
  /**
   * The caller ID presented: the route's, else the caller's. When a trunk's From carries its
   * `fromUser` (the account) instead, this is what to assert (P-Asserted-Identity) if the
   * carrier takes it.
   */
  readonly callerId: { readonly number: string; readonly name: string | null };
  /**
   * `route.trunks` in order (failover, see {@link shouldFailOver}); a trunk whose host could
   * not be resolved is left out, so this may be empty (answer 503).
   */
  readonly attempts: readonly TrunkDial[];
}

/** Options of {@link TrunkRouter.create}. */
export interface TrunkRouterOptions {
  /** Resolves a host name to one or more addresses (default `dns.lookup` with `all: true`). */
  lookup?: (host: string) => Promise<string | readonly string[]>;
}

/** A host name that could not be resolved when the router was created. */
export interface UnresolvedHost {
  readonly tenant: TenantConfig;
  readonly trunk: TrunkConfig;
  readonly host: string;
  /** `host` for the trunk's own host (outbound calls cannot use the trunk), `acceptFrom` for a source. */
  readonly use: 'host' | 'acceptFrom';
  readonly error: string;
}

/** An address block: the network's bytes (4 or 16) and the prefix length. */
interface AddressBlock {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

interface TrunkEntry {
  readonly tenant: TenantConfig;
  readonly trunk: TrunkConfig;
  readonly destination: SipDestination | undefined;
  readonly accept: readonly AddressBlock[];
}

interface RouteEntry {
  readonly route: OutboundRouteConfig;
  readonly patterns: readonly DialPattern[];
}

/**
 * Whether an outbound call should move on to the next trunk after this outcome of the
 * current one. `undefined` is no final response: a timeout or a transport failure.
 *
 * | outcome | next trunk? | why |
 * |---|---|---|
 * | no response (timeout), transport error | yes | the trunk is unreachable |
 * | 1xx, 2xx | no | not a failure |
 * | 3xx | no | an answer about the callee; the B2BUA does not follow trunk redirects |
 * | 404, 410, 480, 484, 485, 486, 487 | no | about the callee or the caller (unknown, gone, unavailable, incomplete, busy, cancelled) |
 * | 600, 603, 604, 607, 608 | no | the callee (or an analytics service) refused the call: another carrier must not bypass that |
 * | 408 | yes | request timeout at the carrier |
 * | 401, 407, 403, 402 | yes | the carrier refuses us (credentials, account, credit) |
 * | 488, 606 | yes | media not acceptable: another carrier may take our codecs |
 * | other 4xx (400, 405, 413–416, 420–423, 429, 481–483, 489–494…) | yes | this carrier did not like the request |
 * | 5xx | yes | server failure (500, 502, 503, 504…) |
 * | other 6xx | no | global failures are about the callee (as 600) |
 * | anything else (not 100–699) | yes | not a valid answer |
 *
 * @example
 * ```ts
 * shouldFailOver(503); // true
 * shouldFailOver(486); // false
 * shouldFailOver(undefined); // true: timed out
 * ```
 */
export function shouldFailOver(status: number | undefined): boolean {
  if (status === undefined) return true;
  if (!Number.isInteger(status) || status < 100 || status > 699) return true;
  if (status < 400) return false;
  if (STOP_STATUSES.has(status)) return false;
  if (status >= 600) return status === 606;
  return true;
}

/** Final responses that end the search: they are about the callee (see {@link shouldFailOver}). */
const STOP_STATUSES: ReadonlySet<number> = new Set([404, 410, 480, 484, 485, 486, 487, 600, 603, 604, 607, 608]);

/**
 * The address bytes of an IPv4 or IPv6 address (brackets and a `%zone` are ignored);
 * undefined when it is not one.
 */
function parseAddress(text: string): Uint8Array | undefined {
  let s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const family = isIP(s);
  if (family === 4) return Uint8Array.from(s.split('.').map(Number));
  if (family !== 6) return undefined;
  const groups: number[] = [];
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const v4 = g.split('.').map(Number);
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const gap = s.indexOf('::');
  if (gap >= 0) {
    const head = parseGroups(s.slice(0, gap)) ?? [];
    const tail = parseGroups(s.slice(gap + 2)) ?? [];
    groups.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail);
  } else {
    groups.push(...(parseGroups(s) ?? []));
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** Whether 16 bytes are an IPv4-mapped IPv6 address (::ffff:a.b.c.d). */
function isV4Mapped(bytes: Uint8Array): boolean {
  if (bytes.length !== 16 || bytes[10] !== 0xff || bytes[11] !== 0xff) return false;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** The block `cidr` ("a.b.c.d/n", "x::/n", or a bare address: a block of one); undefined when invalid. */
function parseBlock(cidr: string): AddressBlock | undefined {
  const slash = cidr.indexOf('/');
  const bytes = parseAddress(slash < 0 ? cidr : cidr.slice(0, slash));
  if (bytes === undefined) return undefined;
  const bits = bytes.length * 8;
  if (slash < 0) return { bytes, prefix: bits };
  const text = cidr.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(text)) return undefined;
  const prefix = Number(text);
  return prefix <= bits ? { bytes, prefix } : undefined;
}

/** Whether address bytes fall in a block; IPv4 and IPv4-mapped IPv6 addresses are the same address. */
function inBlock(address: Uint8Array, block: AddressBlock): boolean {
  let a = address;
  if (a.length !== block.bytes.length) {
    if (a.length === 16 && isV4Mapped(a)) a = a.subarray(12);
    else if (a.length === 4) a = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...a]);
    else return false;
  }
  const whole = block.prefix >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== block.bytes[i]) return false;
  const rest = block.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((a[whole] ?? 0) & mask) === ((block.bytes[whole] ?? 0) & mask);
}

/**
 * Whether `address` is inside `cidr`, IPv4 or IPv6 ("203.0.113.0/24", "2001:db8::/32"; a
 * bare address is a block of one). The host bits of the network part are ignored
 * ("10.1.2.3/8" is 10.0.0.0/8). An IPv4 address and its IPv4-mapped IPv6 form
 * (::ffff:203.0.113.7, what a dual-stack socket reports) are the same address. Anything that
 * is not an address or a block is `false`, never an exception.
 *
 * @example
 * ```ts
 * ipInCidr('203.0.113.7', '203.0.113.0/24'); // true
 * ipInCidr('::ffff:203.0.113.7', '203.0.113.0/24'); // true
 * ipInCidr('2001:db8::1', '2001:db8::/32'); // true
 * ipInCidr('198.51.100.1', '203.0.113.0/24'); // false
 * ```
 */
export function ipInCidr(address: string, cidr: string): boolean {
  const a = parseAddress(address);
  const block = parseBlock(cidr);
  return a !== undefined && block !== undefined && inBlock(a, block);
}

/** The host of a trunk without IPv6 brackets (what is resolved and sent to). */
export function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * A host as written in a SIP URI: IPv6 addresses in brackets (with or without them in the
 * configuration), names and IPv4 addresses as they are.
 *
 * @example
 * ```ts
 * sipUriHost('2001:db8::7'); // '[2001:db8::7]'
 * sipUriHost('sip.carrier.example'); // 'sip.carrier.example'
 * ```
 */
export function sipUriHost(host: string): string {
  const bare = bareHost(host);
  return isIP(bare) === 6 ? `[${bare}]` : bare;
}

/** Characters a SIP URI user part takes unescaped (RFC 3261 §25.1: unreserved and user-unreserved). */
const USER_CHAR = /[A-Za-z0-9\-_.!~*'()&=+$,;?/]/;

/**
 * A SIP URI user part: characters outside RFC 3261's unreserved and user-unreserved sets
 * %-escaped (a dialled `#` becomes `%23`).
 *
 * @example
 * ```ts
 * escapeSipUser('*5#'); // '*5%23'
 * ```
 */
export function escapeSipUser(user: string): string {
  let out = '';
  for (const c of user) {
    if (USER_CHAR.test(c)) out += c;
    else for (const b of Buffer.from(c, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A number as DIDs compare it: %-escapes decoded, user parameters (`;npdi`) and a leading `+` dropped. */
function didKey(user: string): string {
  let s = user;
  try {
    s = decodeURIComponent(s);
  } catch {
    // keep it as it came
  }
  const semi = s.indexOf(';');
  if (semi >= 0) s = s.slice(0, semi);
  return s.startsWith('+') ? s.slice(1) : s;
}

/** A host name's addresses, in the resolver's order: `dns.lookup` with `all: true` (trunk hosts have explicit ports, so no SRV). */
export async function defaultLookup(host: string): Promise<readonly string[]> {
  const all = await dnsLookup(host, { all: true, verbatim: true });
  return all.map((a) => a.address);
}

/**
 * Routes calls to and from trunks (see the file comment). Create one per configuration with
 * {@link TrunkRouter.create}; every method after that is a synchronous lookup.
 */
export class TrunkRouter {
  /** Host names that did not resolve at creation (trunks without an address are skipped in plans; sources never match). */
  readonly unresolved: readonly UnresolvedHost[];
  private readonly trunks: readonly TrunkEntry[];
  private readonly byTenant = new Map<string, { routes: RouteEntry[]; trunks: Map<string, TrunkEntry> }>();

  private constructor(trunks: TrunkEntry[], tenants: readonly TenantConfig[], unresolved: UnresolvedHost[]) {
    this.trunks = trunks;
    this.unresolved = unresolved;
    for (const tenant of tenants) {
      this.byTenant.set(tenant.domain.toLowerCase(), {
        routes: tenant.outboundRoutes.map((route) => ({ route, patterns: route.patterns.map((p) => compileDialPattern(p)) })),
        trunks: new Map(trunks.filter((e) => e.tenant === tenant).map((e) => [e.trunk.name, e])),
      });
    }
  }

  /**
   * Resolves every trunk host and every `acceptFrom` host name once (in parallel) and builds
   * the router. Never rejects for a name that does not resolve: it is listed in
   * {@link unresolved} instead (so a carrier's DNS outage does not stop the PBX).
   * Throws `DialPatternError` for a pattern that does not compile (a validated configuration
   * has none).
   */
  static async create(tenants: readonly TenantConfig[], options: TrunkRouterOptions = {}): Promise<TrunkRouter> {
    const lookup = options.lookup ?? defaultLookup;
    const names = new Set<string>();
    for (const tenant of tenants) {
      for (const trunk of tenant.trunks) {
        if (isIP(bareHost(trunk.host)) === 0) names.add(bareHost(trunk.host));
        for (const source of trunk.acceptFrom) if (parseBlock(source) === undefined) names.add(bareHost(source));
      }
    }
    const resolved = new Map<string, { addresses: string[] } | { error: string }>();
    await Promise.all(
      [...names].map(async (name) => {
        try {
          const r = await lookup(name);
          const addresses = (typeof r === 'string' ? [r] : [...r]).filter((a) => isIP(a) !== 0);
          resolved.set(name, addresses.length > 0 ? { addresses } : { error: 'no address' });
        } catch (e) {
          resolved.set(name, { error: e instanceof Error ? e.message : String(e) });
        }
      }),
    );
    const unresolved: UnresolvedHost[] = [];
    const entries: TrunkEntry[] = [];
    for (const tenant of tenants) {
      for (const trunk of tenant.trunks) {
        const host = bareHost(trunk.host);
        let address: string | undefined = host;
        if (isIP(host) === 0) {
          const r = resolved.get(host);
          // IPv4 first: a PBX usually listens on IPv4 only, and an IPv6 destination would then fail.
          if (r !== undefined && 'addresses' in r) address = r.addresses.find((a) => isIP(a) === 4) ?? r.addresses[0];
          else {
            address = undefined;
            unresolved.push({ tenant, trunk, host, use: 'host', error: r !== undefined && 'error' in r ? r.error : 'not resolved' });
          }
        }
        const accept: AddressBlock[] = [];
        for (const source of trunk.acceptFrom) {
          const block = parseBlock(source);
          if (block !== undefined) {
            accept.push(block);
            continue;
          }
          const r = resolved.get(bareHost(source));
          if (r !== undefined && 'addresses' in r) {
            for (const a of r.addresses) {
              const b = parseBlock(a);
              if (b !== undefined) accept.push(b);
            }
          } else {
            unresolved.push({ tenant, trunk, host: source, use: 'acceptFrom', error: r !== undefined && 'error' in r ? r.error : 'not resolved' });
          }
        }
        entries.push({
          tenant,
          trunk,
          destination: address === undefined ? undefined : { protocol: trunk.transport, address, port: trunk.port },
          accept,
        });
      }
    }
    return new TrunkRouter(entries, tenants, unresolved);
  }

  /**
   * The outbound plan for `dialled` from a caller of `tenant`: the first route (in
   * configuration order) with a pattern that matches; undefined when none does (the B2BUA
   * answers 404). The caller ID is the route's `callerId` when it has one (number, and its
   * name or no name), else the caller's.
   */
  outbound(tenant: TenantConfig, dialled: string, caller: { readonly number: string; readonly name: string }): OutboundPlan | undefined {
    const t = this.byTenant.get(tenant.domain.toLowerCase());
    if (t === undefined) return undefined;
    const match = t.routes.find((r) => r.patterns.some((p) => p.matches(dialled)));
    if (match === undefined) return undefined;
    const route = match.route;
    const number = applyRoute(dialled, route);
    const callerId = route.callerId !== null ? { number: route.callerId.number, name: route.callerId.name } : { number: caller.number, name: caller.name === '' ? null : caller.name };
    const attempts: TrunkDial[] = [];
    for (const name of route.trunks) {
      const entry = t.trunks.get(name);
      if (entry?.destination === undefined) continue;
      attempts.push(this.dial(entry, entry.destination, number, callerId));
    }
    return { route, number, callerId, attempts };
  }

  /**
   * The trunk an INVITE from `source` belongs to: the first trunk (tenants and trunks in
   * configuration order) whose `acceptFrom` holds the source address (the port is not
   * compared). When several trunks accept the address (one carrier serving two tenants) and
   * `dialled` is given, the first of them that has the dialled DID wins. Undefined: not a
   * trunk call (it must authenticate as a device).
   */
  identify(
    source: { readonly address: string; readonly port: number },
    dialled?: { readonly requestUser: string | undefined; readonly toUser: string | undefined },
  ): { tenant: TenantConfig; trunk: TrunkConfig } | undefined {
    const candidates = this.trunksAccepting(source.address);
    const first = candidates[0];
    if (first === undefined || candidates.length === 1 || dialled === undefined) return first;
    return candidates.find((c) => this.didDestination(c.trunk, dialled.requestUser, dialled.toUser) !== undefined) ?? first;
  }

  /** Every trunk whose `acceptFrom` holds `address`, in configuration order. */
  trunksAccepting(address: string): { tenant: TenantConfig; trunk: TrunkConfig }[] {
    const bytes = parseAddress(address);
    if (bytes === undefined) return [];
    const out: { tenant: TenantConfig; trunk: TrunkConfig }[] = [];
    for (const e of this.trunks) if (e.accept.some((b) => inBlock(bytes, b))) out.push({ tenant: e.tenant, trunk: e.trunk });
    return out;
  }

  /**
   * Where a call from `trunk` goes: the DID matching the Request-URI user, else the To user
   * (used when the Request-URI user is missing, is the trunk's username — a registered trunk
   * gets calls at sip:<username>@us — or is no DID). Numbers compare without a leading `+`,
   * %-escapes and user parameters (`;npdi`). Undefined: unknown DID (answer 404).
   */
  didDestination(trunk: TrunkConfig, requestUser: string | undefined, toUser: string | undefined): Destination | undefined {
    const find = (user: string | undefined): Destination | undefined => {
      if (user === undefined || user === '') return undefined;
      const key = didKey(user);
      if (key === '') return undefined;
      return trunk.dids.find((d) => didKey(d.number) === key)?.destination;
    };
    const isAccount = requestUser !== undefined && trunk.username !== null && didKey(requestUser) === didKey(trunk.username);
    return (isAccount ? undefined : find(requestUser)) ?? find(toUser);
  }

  private dial(entry: TrunkEntry, destination: SipDestination, number: string, callerId: { number: string; name: string | null }): TrunkDial {
    const trunk = entry.trunk;
    const fromUser = trunk.fromUser ?? callerId.number;
    const from = {
      uri: `sip:${escapeSipUser(fromUser)}@${sipUriHost(trunk.fromDomain)}`,
      ...(callerId.name === null ? {} : { displayName: callerId.name }),
    };
    const user = trunk.authUsername ?? trunk.username;
    return {
      trunk,
      uri: `sip:${escapeSipUser(number)}@${sipUriHost(trunk.host)}:${trunk.port};transport=${trunk.transport}`,
      destination: { ...destination },
      ...(user !== null && trunk.password !== null ? { credentials: { username: user, password: trunk.password } } : {}),
      from,
    };
  }
}
