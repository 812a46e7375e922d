/**
 * Digest authentication of devices (the phones of extensions), per tenant, with throttling of
 * sources that keep failing (RFC 3261 §22, RFC 7616, RFC 8760).
 *
 * ```
 *  request ──► source blocked?                              yes ─► refused 403
 *              tenant of the host (REGISTER: Request-URI,    none ─► refused 404
 *                others: From) via TenantDirectory.tenantFor
 *              the tenant's DigestServer (realm = domain):
 *                no credentials / stale / other realm ──────────► challenge 401 (REGISTER) or 407
 *                malformed, uri ≠ Request-URI ──────────────────► refused 400
 *                wrong password, unknown user ── count a failure; blocked now? ─► refused 403, else challenge
 *              authenticated user = To user (REGISTER)
 *                                 = From user (others)?     no ─► refused 403 (no caller-ID spoofing)
 *              ok: { tenant, extension }
 * ```
 *
 * - One {@link DigestServer} per tenant domain, shared with the registrar so that a nonce from
 *   a REGISTER challenge works for an INVITE too. It accepts the union of the algorithms the
 *   tenant's extensions are configured with, but each challenge offers only the algorithms of
 *   the extension it is for (the To user of a REGISTER, the From user otherwise; the
 *   `security.digestAlgorithms` default for a user that is not an extension), in the
 *   extension's configured order, and the HA1 look-up returns only those: an extension with
 *   `digestAlgorithm: "MD5"` is offered MD5 alone (baresip 1.0 and other phones read only
 *   the first challenge) and cannot be answered with another algorithm.
 * - HA1 comes from the extension's `ha1`, or is computed from its `password` with the tenant
 *   domain as realm. Passwords are read from the current directory on every look-up, so a
 *   reload ({@link DeviceAuth.setDirectory}) applies new passwords at once.
 * - Throttling ({@link FailureThrottle}): `security.authFailureLimit` failures (a wrong
 *   password or an unknown user; not the first challenge of a request without credentials,
 *   not a stale nonce) within `authFailureWindowSeconds` from one source address block it for
 *   `blockSeconds`. The tables are bounded (10,000 addresses each, oldest forgotten first).
 *
 * @example
 * ```ts
 * const auth = new DeviceAuth({ directory: new TenantDirectory(config) });
 * const result = await auth.authenticate(invite, inbound.source);
 * if (result.kind === 'challenge') tx.respond(result.response);
 * else if (result.kind === 'refused') tx.respond(createResponse(invite, result.status, result.reason));
 * else route(result.tenant, result.extension);
 * ```
 */
import { randomBytes } from 'node:crypto';
import {
  DigestServer,
  computeHA1,
  createResponse,
  parseAlgorithm,
  type AuthHeader,
  type HA1Set,
  type SipRequest,
  type SipResponse,
} from '../sip/index.js';
import type { DigestAlgorithm, ExtensionConfig, TenantConfig } from './config/index.js';
import type { TenantDirectory } from './tenant-directory.js';

/** What {@link DeviceAuth.authenticate} decided. */
export type DeviceAuthResult =
  | { kind: 'ok'; tenant: TenantConfig; extension: ExtensionConfig }
  /** Send `response`: a 401 (REGISTER) or 407 (other methods) with the tenant's challenge; `stale=true` when the nonce expired. */
  | { kind: 'challenge'; response: SipResponse }
  /** 403 (source blocked; authenticated user is not the From/To user), 404 (no tenant for the domain), 400 (malformed credentials or request). */
  | { kind: 'refused'; status: number; reason: string };

/** Options of {@link DeviceAuth}. */
export interface DeviceAuthOptions {
  directory: TenantDirectory;
  /** Time in milliseconds for nonces and throttling (default `Date.now`). */
  clock?: { now(): number };
  /** Randomness for nonces (default `crypto.randomBytes`). */
  random?: (n: number) => Uint8Array;
  /** HMAC key for nonces, at least 16 bytes (default: 32 random bytes): the same secret lets nonces survive a restart. */
  secret?: Uint8Array;
  /** Most source addresses the throttle remembers, per table (default 10,000). */
  maxTrackedAddresses?: number;
}

/** Options of {@link FailureThrottle}. */
export interface FailureThrottleOptions {
  /** Failures within the window that block a source. */
  limit: number;
  windowMs: number;
  blockMs: number;
  clock: { now(): number };
  /** Most addresses remembered with failures, and most blocked at once (default 10,000 each; oldest forgotten first). */
  maxAddresses?: number;
}

/**
 * Failed authentications per source address, and the addresses blocked for failing too
 * often. Two bounded maps in least-recently-touched order: a peer that sends from many
 * (spoofed) addresses can only push old entries out, never grow memory.
 *
 * @example
 * ```ts
 * const throttle = new FailureThrottle({ limit: 10, windowMs: 60_000, blockMs: 300_000, clock: { now: Date.now } });
 * if (throttle.recordFailure('203.0.113.7')) log('blocked 203.0.113.7');
 * throttle.isBlocked('203.0.113.7');
 * ```
 */
export class FailureThrottle {
  private options: Required<FailureThrottleOptions>;
  /** Address → times of its recent failures (at most `limit`). */
  private readonly failures = new Map<string, number[]>();
  /** Address → end of its block. */
  private readonly blocked = new Map<string, number>();

  constructor(options: FailureThrottleOptions) {
    this.options = { maxAddresses: 10_000, ...options };
    this.check();
  }

  /** New limits (a reload); what was counted and blocked stays. */
  configure(limits: Pick<FailureThrottleOptions, 'limit' | 'windowMs' | 'blockMs'>): void {
    this.options = { ...this.options, ...limits };
    this.check();
  }

  /** Addresses with failures counted, and addresses blocked (both bounded by `maxAddresses`). */
  get size(): { counting: number; blocked: number } {
    return { counting: this.failures.size, blocked: this.blocked.size };
  }

  /** Whether `address` is blocked now. */
  isBlocked(address: string): boolean {
    const until = this.blocked.get(address);
    if (until === undefined) return false;
    if (until > this.options.clock.now()) return true;
    this.blocked.delete(address);
    return false;
  }

  /** Counts a failure from `address`; true when it is (now) blocked. */
  recordFailure(address: string): boolean {
    if (this.isBlocked(address)) return true;
    const now = this.options.clock.now();
    const since = now - this.options.windowMs;
    const times = (this.failures.get(address) ?? []).filter((t) => t > since);
    times.push(now);
    this.failures.delete(address);
    if (times.length >= this.options.limit) {
      this.blocked.delete(address);
      this.evictOldest(this.blocked);
      this.blocked.set(address, now + this.options.blockMs);
      return true;
    }
    this.evictOldest(this.failures);
    this.failures.set(address, times);
    return false;
  }

  /** Forgets an address (an administrator unblocking it). */
  forget(address: string): void {
    this.failures.delete(address);
    this.blocked.delete(address);
  }

  private evictOldest(map: Map<string, unknown>): void {
    while (map.size >= this.options.maxAddresses) {
      const oldest = map.keys().next();
      if (oldest.done === true) return;
      map.delete(oldest.value);
    }
  }

  private check(): void {
    const { limit, windowMs, blockMs, maxAddresses } = this.options;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
    if (!(windowMs > 0) || !(blockMs >= 0)) throw new RangeError('windowMs must be positive and blockMs not negative');
    if (!Number.isInteger(maxAddresses) || maxAddresses < 1) throw new RangeError('maxAddresses must be a positive integer');
  }
}

interface TenantServer {
  server: DigestServer;
  /** The algorithms and nonce lifetime it was built with, to tell whether a reload needs a new one. */
  key: string;
}

/**
 * Authenticates requests from devices (see the file comment).
 *
 * @example
 * ```ts
 * const auth = new DeviceAuth({ directory, secret: nonceKey });
 * const registrar = new PbxRegistrar({ directory, auth, location, clock });
 * ```
 */
export class DeviceAuth {
  private directory: TenantDirectory;
  private readonly clock: { now(): number };
  private readonly random: (n: number) => Uint8Array;
  private readonly secret: Uint8Array;
  private readonly servers = new Map<string, TenantServer>();
  private readonly throttle: FailureThrottle;
  private readonly algorithmCache = new WeakMap<TenantConfig, readonly DigestAlgorithm[]>();

  constructor(options: DeviceAuthOptions) {
    this.directory = options.directory;
    this.clock = options.clock ?? { now: Date.now };
    this.random = options.random ?? ((n: number) => randomBytes(n));
    this.secret = options.secret ?? randomBytes(32);
    if (this.secret.length < 16) throw new TypeError('the nonce secret must be at least 16 bytes');
    const s = this.directory.config.security;
    this.throttle = new FailureThrottle({
      limit: s.authFailureLimit,
      windowMs: s.authFailureWindowSeconds * 1000,
      blockMs: s.blockSeconds * 1000,
      clock: this.clock,
      ...(options.maxTrackedAddresses === undefined ? {} : { maxAddresses: options.maxTrackedAddresses }),
    });
  }

  /**
   * Authenticates a request from a device (see the file comment). Never rejects: anything
   * unreadable in the request is a `refused` 400.
   */
  async authenticate(request: SipRequest, source: { address: string; port: number }): Promise<DeviceAuthResult> {
    if (this.throttle.isBlocked(source.address)) return refused(403, 'Blocked After Repeated Authentication Failures');
    const register = request.method === 'REGISTER';
    let host: string;
    let user: string | undefined;
    try {
      const identity = register ? request.to.uri : request.from.uri;
      const target = register ? request.uri : identity;
      if (identity.kind !== 'sip' || target.kind !== 'sip') return refused(400, `${register ? 'To' : 'From'} Is Not A SIP URI`);
      host = target.host;
      user = identity.user;
    } catch {
      return refused(400, 'Malformed Request');
    }
    const tenant = this.directory.tenantFor(host);
    if (tenant === undefined) return refused(404, 'Domain Not Served');
    const server = this.digestServer(tenant);
    const proxy = !register;
    const result = await server.verify(request, { proxy });
    if (result.ok) {
      const extension = this.directory.extension(tenant, result.username);
      // The look-up found the user, but a reload may have removed it since: treat as unknown.
      if (extension === undefined) return this.failed(request, tenant, user, source.address, proxy);
      if (result.username !== user) return refused(403, register ? 'Authenticated User Is Not The To User' : 'Authenticated User Is Not The From User');
      return { kind: 'ok', tenant, extension };
    }
    switch (result.reason) {
      case 'malformed':
      case 'uri-mismatch':
        return refused(400, 'Malformed Credentials');
      case 'unknown-user':
      case 'bad-response':
        return this.failed(request, tenant, user, source.address, proxy);
      case 'stale':
        return this.challenge(request, tenant, user, proxy, true);
      default:
        // missing, wrong-realm, unsupported-algorithm, replay: a fresh challenge.
        return this.challenge(request, tenant, user, proxy, false);
    }
  }

  /** The DigestServer of a tenant (the registrar uses the same, so nonces are shared). */
  digestServer(tenant: TenantConfig): DigestServer {
    const algorithms = this.tenantAlgorithms(tenant);
    const ttlMs = this.directory.config.security.nonceSeconds * 1000;
    const key = `${algorithms.join(',')}|${ttlMs}`;
    const domain = tenant.domain.toLowerCase();
    const existing = this.servers.get(domain);
    if (existing !== undefined && existing.key === key) return existing.server;
    const server = new DigestServer({
      realm: tenant.domain,
      algorithms,
      nonceTtlMs: ttlMs,
      clock: this.clock,
      random: this.random,
      secret: this.secret,
      lookup: (username, realm) => this.ha1(realm, username),
    });
    this.servers.set(domain, { server, key });
    return server;
  }

  /**
   * A new configuration (SIGHUP reload): new passwords apply at once; nonces survive when the
   * tenant's domain is unchanged (the same secret keys them, and the DigestServer is kept
   * unless the tenant's algorithms or the nonce lifetime changed); new throttling limits
   * apply, and what was counted and blocked stays.
   */
  setDirectory(directory: TenantDirectory): void {
    this.directory = directory;
    const domains = new Set(directory.tenants.map((t) => t.domain.toLowerCase()));
    for (const domain of [...this.servers.keys()]) if (!domains.has(domain)) this.servers.delete(domain);
    const s = directory.config.security;
    this.throttle.configure({ limit: s.authFailureLimit, windowMs: s.authFailureWindowSeconds * 1000, blockMs: s.blockSeconds * 1000 });
  }

  /** True while the address is blocked. */
  isBlocked(address: string): boolean {
    return this.throttle.isBlocked(address);
  }

  /** Unblocks an address and forgets its failures (an administrator's action). */
  unblock(address: string): void {
    this.throttle.forget(address);
  }

  /** The algorithms the tenant's DigestServer accepts: security.digestAlgorithms, then each extension's, in configuration order. */
  private tenantAlgorithms(tenant: TenantConfig): readonly DigestAlgorithm[] {
    // Once per tenant object: a reload brings new objects (and maybe new security defaults).
    let list = this.algorithmCache.get(tenant);
    if (list === undefined) {
      const all = new Set<DigestAlgorithm>(this.directory.config.security.digestAlgorithms);
      for (const e of tenant.extensions) for (const a of e.digestAlgorithms) all.add(a);
      list = [...all];
      this.algorithmCache.set(tenant, list);
    }
    return list;
  }

  /** HA1 values of an extension, for its own algorithms only. */
  private ha1(realm: string, username: string): HA1Set | undefined {
    const tenant = this.directory.tenant(realm);
    const extension = tenant === undefined ? undefined : this.directory.extension(tenant, username);
    if (tenant === undefined || extension === undefined) return undefined;
    const set: HA1Set = {};
    for (const a of extension.digestAlgorithms) {
      if (extension.password !== null) set[a] = computeHA1(a, extension.number, tenant.domain, extension.password);
      else {
        const stored = extension.ha1?.[a];
        if (stored !== undefined) set[a] = stored;
      }
    }
    return set;
  }

  private failed(request: SipRequest, tenant: TenantConfig, user: string | undefined, address: string, proxy: boolean): DeviceAuthResult {
    if (this.throttle.recordFailure(address)) return refused(403, 'Blocked After Repeated Authentication Failures');
    return this.challenge(request, tenant, user, proxy, false);
  }

  /** A 401/407 offering the algorithms of the extension `user` (the default ones for a user that is not an extension). */
  private challenge(request: SipRequest, tenant: TenantConfig, user: string | undefined, proxy: boolean, stale: boolean): DeviceAuthResult {
    const extension = user === undefined ? undefined : this.directory.extension(tenant, user);
    const wanted = extension?.digestAlgorithms ?? this.directory.config.security.digestAlgorithms;
    const all = this.digestServer(tenant).challenge({ proxy, stale });
    const rank = (h: AuthHeader): number => {
      const a = parseAlgorithm(stringParam(h, 'algorithm'));
      return a === undefined ? -1 : wanted.indexOf(a as DigestAlgorithm);
    };
    let headers = all.filter(([, h]) => rank(h) >= 0).sort(([, x], [, y]) => rank(x) - rank(y));
    if (headers.length === 0) headers = all;
    return { kind: 'challenge', response: createResponse(request, proxy ? 407 : 401, undefined, { headers, random: this.random }) };
  }
}

function stringParam(h: AuthHeader, name: string): string | undefined {
  const v = h.params.get(name);
  return typeof v === 'string' ? v : undefined;
}

function refused(status: number, reason: string): DeviceAuthResult {
  return { kind: 'refused', status, reason };
}
