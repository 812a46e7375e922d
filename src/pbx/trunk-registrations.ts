/**
 * Registrations of the PBX with its carriers: one {@link RegistrationClient} per trunk with
 * `register: true`, in every tenant, so the carrier knows where to send the trunk's calls.
 *
 * ```
 *              start()/update()        2xx                       refresh (RegistrationClient)
 *   (none) ──────────────────► registering ──────► registered ◄───────────────┐
 *                                 ▲    │ error / timeout / DNS        │        │
 *                                 │    ▼                              ▼        │
 *                 backoff timer └── failed ◄──────────────────── refresh failed
 *   stop() / trunk removed or changed on update(): un-REGISTER (Expires: 0) ──► stopped
 * ```
 *
 * - AoR `sip:<username>@<fromDomain>` (fromDomain defaults to the trunk's host); Request-URI
 *   `sip:<host>:<port>;transport=<transport>`; sent to the host resolved when the
 *   registration starts (`lookup`, dns.lookup by default: a trunk's port is explicit, so
 *   RFC 3263 has no SRV step).
 * - Contact: the PBX's own address (`endpoint.contact(transport, username)`) with the trunk's
 *   username as user part, so the carrier's INVITEs for this account arrive as
 *   `sip:<username>@<pbx>` (TrunkRouter.didDestination then reads the To user).
 * - Digest with `authUsername` (else `username`) and `password`, for whatever realm the
 *   carrier challenges with; refresh as RegistrationClient does (max(E/2, E − 32 s)).
 * - After a failure (error response, timeout, transport error, DNS): try again after
 *   `retrySeconds` (default 60), doubling for every further consecutive failure up to
 *   10 minutes (or `retrySeconds` when larger), less up to 10 % jitter so that many trunks
 *   failing together do not retry in step.
 * - update(): a trunk whose registration settings are unchanged keeps its binding (same
 *   Call-ID, no new REGISTER); a removed trunk is unregistered; a changed one is
 *   unregistered, then registered again with the new settings; a new one starts.
 *
 * @example
 * ```ts
 * const registrations = new TrunkRegistrations({ endpoint: ua.endpoint });
 * registrations.on('state', (tenant, trunk, state, detail) => log.info(`${tenant.domain}/${trunk.name}: ${state} ${detail}`));
 * registrations.start(config.tenants);
 * // … reload
 * await registrations.update(newConfig.tenants);
 * // … shutdown
 * await registrations.stop();
 * ```
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type { TimerClock, TimerHandle } from '../sip/timer-clock.js';
import type { Destination } from '../sip/transport/index.js';
import { RegistrationClient, type SipEndpoint } from '../sip/ua/index.js';
import type { TenantConfig, TrunkConfig } from './config/index.js';
import { bareHost, defaultLookup, escapeSipUser, sipUriHost } from './trunk-router.js';

export type TrunkRegistrationState = 'registering' | 'registered' | 'failed' | 'stopped';

/** Events of {@link TrunkRegistrations}. */
export interface TrunkRegistrationEvents {
  /** A trunk's registration changed state; `detail` says why (granted expiry, status and reason, error). */
  state: [tenant: TenantConfig, trunk: TrunkConfig, state: TrunkRegistrationState, detail: string];
}

/** Options of {@link TrunkRegistrations}. */
export interface TrunkRegistrationsOptions {
  /** The PBX's SIP endpoint (`ua.endpoint`): its transaction layer sends, its address is our Contact. */
  endpoint: SipEndpoint;
  /** Time for refreshes and retries (default: the endpoint's transaction-layer clock). */
  clock?: TimerClock;
  /** Randomness for Call-IDs, tags, cnonces and retry jitter (default `crypto.randomBytes`). */
  random?: (bytes: number) => Uint8Array;
  /** Seconds before the first retry after a failure (default 60); doubled per further failure, up to 10 minutes. */
  retrySeconds?: number;
  /** Resolves a trunk host to one or more addresses (default `dns.lookup`); an IPv4 one is preferred. Same shape as TrunkRouter's. */
  lookup?: (host: string) => Promise<string | readonly string[]>;
  /** User-Agent header of the REGISTERs (default `Switchboard`). */
  userAgent?: string;
  /** Errors thrown by `state` listeners (default: ignored). */
  onError?: (error: unknown, context: string) => void;
}

/** One trunk's registration, as {@link TrunkRegistrations.list} shows it. */
export interface TrunkRegistrationStatus {
  readonly tenant: TenantConfig;
  readonly trunk: TrunkConfig;
  readonly state: TrunkRegistrationState;
  readonly detail: string;
}

const MAX_BACKOFF_SECONDS = 600;

/**
 * The delay before retry number `failures` (1-based), in ms, before jitter: `retrySeconds`
 * doubled per further failure, capped at 10 minutes (or `retrySeconds` when larger).
 *
 * @example
 * ```ts
 * trunkRetryDelay(60, 1); // 60_000
 * trunkRetryDelay(60, 3); // 240_000
 * trunkRetryDelay(60, 9); // 600_000
 * ```
 */
export function trunkRetryDelay(retrySeconds: number, failures: number): number {
  const cap = Math.max(MAX_BACKOFF_SECONDS, retrySeconds);
  return Math.min(retrySeconds * 2 ** Math.max(0, Math.min(failures - 1, 20)), cap) * 1000;
}

/** What identifies a registration: tenant domain and trunk name. */
function keyOf(domain: string, trunkName: string): string {
  return `${domain.toLowerCase()}\u0000${trunkName}`;
}

/** The settings a registration depends on: when they change on reload, it starts over. */
function fingerprint(t: TrunkConfig): string {
  return JSON.stringify([t.host, t.port, t.transport, t.username, t.password, t.authUsername, t.registerExpires, t.fromDomain]);
}

/** The address to register with: the first IPv4 one, else the first (a PBX usually listens on IPv4 only). */
function pickAddress(result: string | readonly string[]): string {
  const all = (typeof result === 'string' ? [result] : result).filter((a) => isIP(a) !== 0);
  const chosen = all.find((a) => isIP(a) === 4) ?? all[0];
  if (chosen === undefined) throw new Error('no address');
  return chosen;
}

/** One trunk's registration over its life (internal). */
class TrunkRegistration {
  state: TrunkRegistrationState = 'registering';
  detail = '';
  private client: RegistrationClient | undefined;
  private timer: TimerHandle | undefined;
  private failures = 0;
  private ended = false;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly owner: TrunkRegistrations,
    public tenant: TenantConfig,
    public trunk: TrunkConfig,
    readonly fingerprint: string,
  ) {}

  /** Resolves the host, builds the client and sends the first REGISTER. */
  begin(): void {
    if (this.ended) return;
    this.set('registering', this.failures === 0 ? 'starting' : `retry ${this.failures}`);
    if (this.client !== undefined) {
      void this.client.register();
      return;
    }
    const host = bareHost(this.trunk.host);
    const resolved = isIP(host) !== 0 ? Promise.resolve(host) : this.owner.lookup(host).then(pickAddress);
    resolved.then(
      (address) => {
        if (this.ended) return;
        try {
          this.client = this.createClient({ protocol: this.trunk.transport, address, port: this.trunk.port });
        } catch (e) {
          this.fail(`cannot register: ${e instanceof Error ? e.message : String(e)}`);
          return;
        }
        void this.client.register();
      },
      (e: unknown) => {
        if (this.ended) return;
        this.fail(`cannot resolve ${host}: ${e instanceof Error ? e.message : String(e)}`);
      },
    );
  }

  /** Unregisters (when a binding may exist) and ends; idempotent. */
  stop(): Promise<void> {
    if (this.stopping !== undefined) return this.stopping;
    this.ended = true;
    this.cancelTimer();
    const client = this.client;
    this.stopping = (client === undefined ? Promise.resolve() : client.stop()).then(
      () => undefined,
      () => undefined,
    );
    return this.stopping;
  }

  /** Marks it stopped and tells the listeners (once). */
  markStopped(detail: string): void {
    if (this.state === 'stopped') return;
    this.set('stopped', detail);
  }

  private createClient(destination: Destination): RegistrationClient {
    const t = this.trunk;
    const endpoint = this.owner.endpoint;
    const username = t.username ?? '';
    const authUser = t.authUsername ?? t.username;
    return new RegistrationClient({
      layer: endpoint.layer,
      destination,
      registrar: `sip:${sipUriHost(t.host)}:${t.port};transport=${t.transport}`,
      aor: `sip:${escapeSipUser(username)}@${sipUriHost(t.fromDomain)}`,
      contact: endpoint.contact(t.transport, username),
      sentBy: endpoint.sentBy(t.transport),
      expires: t.registerExpires,
      ...(authUser !== null && t.password !== null ? { credentials: { username: authUser, password: t.password } } : {}),
      retryInterval: null, // retries (with backoff) are ours
      headers: [['User-Agent', this.owner.userAgent]],
      clock: this.owner.clock,
      random: this.owner.random,
      events: {
        onRegistered: ({ expires }) => {
          if (this.ended) return;
          this.failures = 0;
          if (this.state !== 'registered') this.set('registered', `expires ${expires} s`);
          else this.detail = `expires ${expires} s`;
        },
        onFailed: ({ status, reason }) => {
          if (this.ended) return;
          this.fail(status === undefined ? reason : `${status} ${reason}`);
        },
      },
    });
  }

  private fail(detail: string): void {
    this.failures++;
    const delay = this.owner.retryDelay(this.failures);
    this.set('failed', `${detail}; retry in ${Math.round(delay / 1000)} s`);
    this.cancelTimer();
    this.timer = this.owner.clock.setTimer(() => {
      this.timer = undefined;
      this.begin();
    }, delay);
  }

  private set(state: TrunkRegistrationState, detail: string): void {
    this.state = state;
    this.detail = detail;
    this.owner.notify(this, state, detail);
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) {
      this.owner.clock.clearTimer(this.timer);
      this.timer = undefined;
    }
  }
}

/**
 * The carrier registrations of every tenant (see the file comment).
 */
export class TrunkRegistrations extends EventEmitter<TrunkRegistrationEvents> {
  /** @internal */ readonly endpoint: SipEndpoint;
  /** @internal */ readonly clock: TimerClock;
  /** @internal */ readonly random: (bytes: number) => Uint8Array;
  /** @internal */ readonly lookup: (host: string) => Promise<string | readonly string[]>;
  /** @internal */ readonly userAgent: string;
  private readonly retrySeconds: number;
  private readonly onError: (error: unknown, context: string) => void;
  private readonly registrations = new Map<string, TrunkRegistration>();
  /** The registering trunks of the latest start()/update(). */
  private desired = new Map<string, { tenant: TenantConfig; trunk: TrunkConfig }>();
  private stopped = false;

  constructor(options: TrunkRegistrationsOptions) {
    super();
    this.endpoint = options.endpoint;
    this.clock = options.clock ?? options.endpoint.layer.clock;
    this.random = options.random ?? randomBytes;
    this.lookup = options.lookup ?? defaultLookup;
    this.userAgent = options.userAgent ?? 'Switchboard';
    this.retrySeconds = options.retrySeconds ?? 60;
    if (!(this.retrySeconds > 0)) throw new RangeError('retrySeconds must be positive');
    this.onError = options.onError ?? (() => undefined);
  }

  /**
   * Starts a registration for every trunk with `register: true` of every tenant (trunks
   * already registering are left alone, so a second call only adds). Returns at once: follow
   * the `state` events. Later configuration changes go through {@link update}.
   */
  start(tenants: readonly TenantConfig[]): void {
    if (this.stopped) throw new Error('TrunkRegistrations was stopped');
    const next = wanted(tenants);
    for (const [key, value] of next) this.desired.set(key, value);
    for (const [key, { tenant, trunk }] of next) {
      if (this.registrations.has(key)) continue;
      this.open(key, tenant, trunk);
    }
  }

  /**
   * Applies a reloaded configuration: unchanged registrations stay (their events carry the
   * new tenant and trunk objects from now on), removed ones are unregistered, changed ones
   * are unregistered and started again, new ones start. Resolves once the removals are done
   * (each waited for at most `timeoutMs`, default 2000).
   */
  async update(tenants: readonly TenantConfig[], timeoutMs = 2000): Promise<void> {
    if (this.stopped) throw new Error('TrunkRegistrations was stopped');
    const next = wanted(tenants);
    this.desired = next;
    const waits: Promise<void>[] = [];
    const restarting = new Set<string>();
    for (const [key, reg] of [...this.registrations]) {
      const target = next.get(key);
      if (target !== undefined && fingerprint(target.trunk) === reg.fingerprint) {
        reg.tenant = target.tenant;
        reg.trunk = target.trunk;
        continue;
      }
      this.registrations.delete(key);
      const done = this.withTimeout(reg.stop(), timeoutMs).then(() => reg.markStopped(target === undefined ? 'trunk removed' : 'settings changed'));
      if (target === undefined) {
        waits.push(done);
        continue;
      }
      // A changed trunk registers again only after its old binding is gone: the un-REGISTER
      // names the same Contact, and arriving after the new REGISTER it would remove it.
      restarting.add(key);
      waits.push(
        done.then(() => {
          const still = this.desired.get(key);
          if (this.stopped || this.registrations.has(key) || still === undefined || fingerprint(still.trunk) !== fingerprint(target.trunk)) return;
          this.open(key, still.tenant, still.trunk);
        }),
      );
    }
    for (const [key, { tenant, trunk }] of next) {
      if (this.registrations.has(key) || restarting.has(key)) continue;
      this.open(key, tenant, trunk);
    }
    await Promise.all(waits);
  }

  /** Where a trunk's registration stands; undefined for a trunk that does not register (or is unknown). */
  state(tenant: TenantConfig, trunkName: string): TrunkRegistrationState | undefined {
    return this.registrations.get(keyOf(tenant.domain, trunkName))?.state;
  }

  /** Every registration with its state and the detail of its last change. */
  list(): TrunkRegistrationStatus[] {
    return [...this.registrations.values()].map((r) => ({ tenant: r.tenant, trunk: r.trunk, state: r.state, detail: r.detail }));
  }

  /**
   * Unregisters every trunk (Expires: 0) in parallel and stops all timers, waiting at most
   * `timeoutMs` (default 2000) for the carriers' answers. Every registration ends `stopped`.
   */
  async stop(timeoutMs = 2000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const all = [...this.registrations.values()];
    await this.withTimeout(Promise.all(all.map((r) => r.stop())).then(() => undefined), timeoutMs);
    for (const r of all) r.markStopped('stopped');
    this.registrations.clear();
  }

  /** @internal The delay before retry number `failures`, with jitter. */
  retryDelay(failures: number): number {
    const base = trunkRetryDelay(this.retrySeconds, failures);
    const r = this.random(1)[0] ?? 0;
    return Math.round(base * (1 - (0.1 * r) / 255));
  }

  /** @internal A registration changed state. */
  notify(reg: TrunkRegistration, state: TrunkRegistrationState, detail: string): void {
    // Each listener on its own: one that throws neither stops the others nor the registration.
    for (const listener of this.rawListeners('state')) {
      try {
        listener(reg.tenant, reg.trunk, state, detail);
      } catch (e) {
        this.onError(e, `state listener (${reg.tenant.domain}/${reg.trunk.name})`);
      }
    }
  }

  private open(key: string, tenant: TenantConfig, trunk: TrunkConfig): void {
    const reg = new TrunkRegistration(this, tenant, trunk, fingerprint(trunk));
    this.registrations.set(key, reg);
    reg.begin();
  }

  private withTimeout(p: Promise<void>, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.clock.setTimer(resolve, ms);
      void p.then(() => {
        this.clock.clearTimer(timer);
        resolve();
      });
    });
  }
}

/** The registering trunks of a configuration, by key. */
function wanted(tenants: readonly TenantConfig[]): Map<string, { tenant: TenantConfig; trunk: TrunkConfig }> {
  const out = new Map<string, { tenant: TenantConfig; trunk: TrunkConfig }>();
  for (const tenant of tenants) {
    for (const trunk of tenant.trunks) {
      if (trunk.register && trunk.username !== null) out.set(keyOf(tenant.domain, trunk.name), { tenant, trunk });
    }
  }
  return out;
}
