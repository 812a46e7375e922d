/**
 * The multi-tenant registrar: REGISTER requests from the devices of every tenant, into one
 * {@link LocationService} keyed by each extension's address-of-record (`sip:1001@demo.local`).
 *
 * ```
 *  REGISTER ──► Request-URI sip:/sips:?                          no ─► 416
 *               DeviceAuth: blocked source ─► 403 · no tenant for the host ─► 404 ·
 *                 challenge 401 (stale) · bad credentials 400 · user ≠ To user 403
 *               To host served by the same tenant?               no ─► 403
 *               To normalised to the tenant AoR (sip:1001@127.0.0.1 → sip:1001@demo.local)
 *               extension.maxDevices: a new device beyond it    ─► 403 Too Many Devices
 *               RFC 3261 §10.3 steps 2, 6–8 (src/sip Registrar): Require, Contact, expiry
 *                 (423), Call-ID/CSeq order, bounds (503), the 200 with every binding
 *               200: events 'registered'/'unregistered', the store told to save
 * ```
 *
 * Authentication happens once, in {@link DeviceAuth}, with the tenant's DigestServer (the
 * same one INVITEs are checked with, so nonces are shared); the §10.3 steps that follow run
 * in a {@link Registrar} from src/sip without digest of its own (the nonce count would
 * otherwise be spent twice). The To of the request it sees is the tenant AoR; the response
 * carries the request's own To back.
 *
 * NAT: each binding keeps the packet source of its REGISTER; {@link PbxRegistrar.contacts}
 * sends UDP requests there (RFC 3581 style symmetric signalling) with the registered
 * Contact as Request-URI, and TCP/TLS requests on the REGISTER's connection.
 *
 * Bindings that expire, or that something else removes from the location service (the
 * keep-alive), are noticed by a sweep every `sweepSeconds` and reported as 'unregistered'.
 *
 * @example
 * ```ts
 * const registrar = new PbxRegistrar({ directory, auth, location, clock: systemClock, store });
 * const ua = await UserAgent.start({ listen, registrar });
 * registrar.on('registered', (tenant, number, binding) => log(`${number}@${tenant.domain} at ${binding.contact.uri}`));
 * registrar.contacts(tenant, '1001'); // [{ uri, destination, binding }], newest first
 * ```
 */
import { EventEmitter } from 'node:events';
import {
  NameAddr,
  Registrar,
  SipParseError,
  SipRequest,
  SipUri,
  createResponse,
  directDestination,
  uriEquals,
  type Binding,
  type Destination,
  type InboundMessage,
  type LocationService,
  type RegisterHandler,
  type ServerTransaction,
  type SipResponse,
  type TimerClock,
  type TimerHandle,
} from '../sip/index.js';
import type { ExtensionConfig, TenantConfig } from './config/index.js';
import type { DeviceAuth } from './device-auth.js';
import { TenantDirectory } from './tenant-directory.js';

/** Options of {@link PbxRegistrar}. */
export interface PbxRegistrarOptions {
  directory: TenantDirectory;
  auth: DeviceAuth;
  /** Where bindings live; its clock gives expiries. */
  location: LocationService;
  /** Timers for the expiry sweep. */
  clock: TimerClock;
  /** Told after every change so it can save (debounced on its side). */
  store?: { changed(): void };
  /** Shortest expiry accepted (default 60 s; shorter ones get 423). */
  minExpires?: number;
  /** Longest expiry granted (default 3600 s; longer ones are lowered). */
  maxExpires?: number;
  /** Expiry when the REGISTER gives none (default 3600 s, lowered to `maxExpires`). */
  defaultExpires?: number;
  /**
   * What a REGISTER that would put an extension over its `maxDevices` gets: `'refuse'`
   * (default: 403 Too Many Devices) or `'replace-oldest'` (accepted; the least recently
   * refreshed other devices are dropped).
   */
  tooManyDevices?: 'refuse' | 'replace-oldest';
  /** How often expired and removed bindings are looked for, to report them (default 15 s; 0: never). */
  sweepSeconds?: number;
  /** Wall-clock time for the Date header (default `new Date()`). */
  now?: () => Date;
  /** Randomness for To tags. */
  random?: (bytes: number) => Uint8Array;
  /** Errors thrown by event listeners (they never disturb the REGISTER being answered). */
  onError?: (error: unknown, context: string) => void;
}

/** Where to reach one registered device. */
export interface DeviceContact {
  /** The registered Contact URI: the Request-URI of requests to the device. */
  uri: string;
  /** Where to send them (UDP: the REGISTER's packet source; TCP/TLS: its connection). */
  destination: Destination;
  binding: Binding;
}

/** One binding with the tenant and extension it belongs to. */
export interface DeviceRegistration extends DeviceContact {
  tenant: TenantConfig;
  number: string;
  aor: string;
}

/** What {@link PbxRegistrar.process} decided. */
export interface PbxRegisterOutcome {
  response: SipResponse;
  tenant: TenantConfig | undefined;
  /** The extension number, once authenticated. */
  number: string | undefined;
}

type RegistrarEvent = 'registered' | 'unregistered';
type RegistrarListener = (tenant: TenantConfig, number: string, binding: Binding) => void;

interface Known {
  tenant: TenantConfig;
  number: string;
  bindings: Binding[];
}

/**
 * The PBX's registrar (see the file comment).
 */
export class PbxRegistrar implements RegisterHandler {
  private directory: TenantDirectory;
  private readonly auth: DeviceAuth;
  private readonly location: LocationService;
  private readonly clock: TimerClock;
  private readonly store: { changed(): void } | undefined;
  private readonly registrar: Registrar;
  private readonly tooManyDevices: 'refuse' | 'replace-oldest';
  private readonly random: ((bytes: number) => Uint8Array) | undefined;
  private readonly emitter = new EventEmitter();
  private readonly onError: (error: unknown, context: string) => void;
  /** What was last reported per AoR, to tell new, refreshed and gone bindings apart. */
  private readonly known = new Map<string, Known>();
  private readonly sweepMs: number;
  private sweepTimer: TimerHandle | undefined;
  private closed = false;

  constructor(options: PbxRegistrarOptions) {
    this.directory = options.directory;
    this.auth = options.auth;
    this.location = options.location;
    this.clock = options.clock;
    this.store = options.store;
    this.tooManyDevices = options.tooManyDevices ?? 'refuse';
    this.random = options.random;
    this.onError = options.onError ?? (() => undefined);
    const maxExpires = options.maxExpires ?? 3600;
    this.registrar = new Registrar({
      location: this.location,
      minExpires: options.minExpires ?? 60,
      maxExpires,
      defaultExpires: Math.min(options.defaultExpires ?? 3600, maxExpires),
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.random === undefined ? {} : { random: options.random }),
    });
    this.emitter.setMaxListeners(0);
    this.sweepMs = (options.sweepSeconds ?? 15) * 1000;
    this.adoptUnknown();
    this.scheduleSweep();
  }

  /** Answers the REGISTER of `tx`; never rejects (an unexpected failure is a 500). */
  async handle(tx: ServerTransaction, inbound?: InboundMessage): Promise<void> {
    let response: SipResponse;
    try {
      response = (await this.process(tx.request, inbound)).response;
    } catch {
      response = this.reply(tx.request, 500);
    }
    tx.respond(response);
  }

  /** Runs the whole REGISTER procedure on `request` and returns the response to send. */
  async process(request: SipRequest, inbound?: InboundMessage): Promise<PbxRegisterOutcome> {
    const none = { tenant: undefined, number: undefined };
    if (request.method !== 'REGISTER') return { response: this.reply(request, 405, undefined, [['Allow', 'REGISTER']]), ...none };
    let ruriKind: string;
    try {
      ruriKind = request.uri.kind;
    } catch (e) {
      if (e instanceof SipParseError) return { response: this.reply(request, 400, e.message), ...none };
      throw e;
    }
    if (ruriKind !== 'sip') return { response: this.reply(request, 416), ...none };
    const source = inbound?.source ?? viaSource(request);
    const auth = await this.auth.authenticate(request, source);
    if (auth.kind === 'challenge') return { response: auth.response, ...none };
    if (auth.kind === 'refused') return { response: this.reply(request, auth.status, auth.reason), ...none };
    const { tenant, extension } = auth;
    const number = extension.number;
    const to = request.to.uri as SipUri; // DeviceAuth read it: a SIP URI whose user is `number`
    if (this.directory.tenantFor(to.host) !== tenant) return { response: this.reply(request, 403, 'To Domain Is Not The Request-URI Domain'), tenant, number };
    const aor = TenantDirectory.aor(tenant, number);

    let plan: DevicePlan;
    try {
      plan = this.planDevices(request, aor, extension);
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
      plan = { tooMany: false, drop: [] }; // the Registrar answers the malformed Contact with 400
    }
    if (plan.tooMany) return { response: this.reply(request, 403, 'Too Many Devices'), tenant, number };

    const outcome = await this.registrar.process(withAor(request, aor), inbound);
    const response = outcome.response;
    restoreTo(response, request);
    if (response.status === 200) {
      const gone = plan.drop.filter((b) => this.location.find(aor, b.contact)?.updatedAt === b.updatedAt);
      if (gone.length > 0) this.location.apply(aor, gone.map((b) => ({ contact: b.contact, expires: 0, callId: b.callId, cseq: b.cseq })));
      this.sync(aor, tenant, number);
      this.store?.changed();
    }
    return { response, tenant, number };
  }

  /**
   * Where to reach an extension's devices now: one entry per live binding, newest first. For
   * UDP the destination is the binding's packet source (NAT: where the REGISTER came from)
   * and the URI the registered Contact; for TCP/TLS the REGISTER's connection; a binding with
   * neither (restored after a restart over TCP) goes to its Contact URI.
   */
  contacts(tenant: TenantConfig, number: string): DeviceContact[] {
    return this.location
      .lookup(TenantDirectory.aor(tenant, number))
      .sort((a, b) => b.updatedAt - a.updatedAt)
      .map((binding) => ({ uri: binding.contact.uri.toString(), destination: destinationOf(binding), binding }));
  }

  /** Every live binding of every tenant (for keep-alives and the admin console). */
  registrations(): DeviceRegistration[] {
    const out: DeviceRegistration[] = [];
    for (const aor of this.location.addresses()) {
      const owner = this.ownerOf(aor);
      if (owner === undefined) continue;
      for (const c of this.contacts(owner.tenant, owner.number)) out.push({ ...c, ...owner, aor });
    }
    return out;
  }

  /** Removes one binding (a device found dead, an administrator's action) and reports it. */
  remove(tenant: TenantConfig, number: string, binding: Binding): boolean {
    const aor = TenantDirectory.aor(tenant, number);
    const current = this.location.find(aor, binding.contact);
    if (current === undefined) return false;
    this.location.apply(aor, [{ contact: current.contact, expires: 0, callId: current.callId, cseq: current.cseq }]);
    this.sync(aor, tenant, number);
    this.store?.changed();
    return true;
  }

  /** {@link remove} by AoR (`sip:1001@demo.local`), for callers that hold the location service's view. */
  removeAt(aor: string, binding: Binding): boolean {
    const owner = this.ownerOf(aor) ?? this.known.get(aor);
    if (owner === undefined) return false;
    return this.remove(owner.tenant, owner.number, binding);
  }

  /**
   * A new configuration: tenant selection and extensions follow it at once; bindings of
   * extensions (or tenants) that no longer exist are removed and reported. Call
   * `DeviceAuth.setDirectory` too.
   */
  setDirectory(directory: TenantDirectory): void {
    this.directory = directory;
    let removed = false;
    for (const aor of this.location.addresses()) {
      if (this.ownerOf(aor) !== undefined) continue;
      this.location.removeAll(aor);
      removed = true;
      const known = this.known.get(aor);
      if (known !== undefined) this.sync(aor, known.tenant, known.number);
    }
    if (removed) this.store?.changed();
  }

  /** Events for MWI and BLF: a device registered (first time or after expiry) or was removed (or expired). */
  on(event: RegistrarEvent, listener: RegistrarListener): this {
    this.emitter.on(event, listener);
    return this;
  }

  off(event: RegistrarEvent, listener: RegistrarListener): this {
    this.emitter.off(event, listener);
    return this;
  }

  /**
   * Looks for bindings that expired or were removed behind our back and reports them (runs
   * every `sweepSeconds` by itself); returns how many were reported gone.
   */
  sweep(): number {
    let gone = 0;
    for (const [aor, k] of [...this.known]) gone += this.sync(aor, k.tenant, k.number);
    this.adoptUnknown();
    if (gone > 0) this.store?.changed();
    return gone;
  }

  /** Stops the sweep timer. */
  close(): void {
    this.closed = true;
    if (this.sweepTimer !== undefined) this.clock.clearTimer(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private scheduleSweep(): void {
    if (this.closed || this.sweepMs <= 0) return;
    this.sweepTimer = this.clock.setTimer(() => {
      this.sweep();
      this.scheduleSweep();
    }, this.sweepMs);
  }

  /** Bindings put in the location service by someone else (a restored store): known from now on, without events. */
  private adoptUnknown(): void {
    for (const aor of this.location.addresses()) {
      if (this.known.has(aor)) continue;
      const owner = this.ownerOf(aor);
      if (owner !== undefined) this.known.set(aor, { ...owner, bindings: this.location.lookup(aor) });
    }
  }

  /** Compares what we reported for `aor` with what is there now; emits the differences; returns how many went. */
  private sync(aor: string, tenant: TenantConfig, number: string): number {
    const before = this.known.get(aor)?.bindings ?? [];
    const now = this.location.lookup(aor);
    if (now.length === 0) this.known.delete(aor);
    else this.known.set(aor, { tenant, number, bindings: now });
    let gone = 0;
    for (const b of before) {
      if (!now.some((n) => uriEquals(n.contact.uri, b.contact.uri))) {
        gone++;
        this.emit('unregistered', tenant, number, b);
      }
    }
    for (const n of now) {
      const old = before.find((b) => uriEquals(b.contact.uri, n.contact.uri));
      // New, or registered again after it had expired unnoticed.
      if (old === undefined || old.expiresAt <= n.updatedAt) this.emit('registered', tenant, number, n);
    }
    return gone;
  }

  /** Calls each listener; one that throws is reported and the others still run. */
  private emit(event: RegistrarEvent, tenant: TenantConfig, number: string, binding: Binding): void {
    for (const listener of this.emitter.listeners(event) as RegistrarListener[]) {
      try {
        listener(tenant, number, binding);
      } catch (e) {
        this.onError(e, `${event} listener`);
      }
    }
  }

  /** The tenant and extension of an AoR of ours (`sip:1001@demo.local`), if they still exist. */
  private ownerOf(aor: string): { tenant: TenantConfig; number: string } | undefined {
    const m = /^sip:([^@]+)@(.+)$/.exec(aor);
    if (m === null) return undefined;
    const tenant = this.directory.tenant(m[2]!);
    if (tenant === undefined || this.directory.extension(tenant, m[1]!) === undefined) return undefined;
    return { tenant, number: m[1]! };
  }

  /** Would this REGISTER put the extension over `maxDevices`? And which bindings then go. */
  private planDevices(request: SipRequest, aor: string, extension: ExtensionConfig): DevicePlan {
    if (request.contactWildcard) return { tooMany: false, drop: [] };
    const remaining = this.location.lookup(aor);
    const drop: Binding[] = [];
    let added = 0;
    for (const contact of request.contacts) {
      const i = remaining.findIndex((b) => uriEquals(b.contact.uri, contact.uri));
      if (expiresOf(contact, request) === 0) {
        if (i >= 0) remaining.splice(i, 1);
        continue;
      }
      if (i >= 0) {
        remaining.splice(i, 1); // refreshed: counted as added below, so it is never dropped
        added++;
        continue;
      }
      // The same device (RFC 5626 instance) from a new address replaces its old binding.
      const instance = instanceOf(contact);
      const j = instance === undefined ? -1 : remaining.findIndex((b) => b.instanceId === instance);
      if (j >= 0) drop.push(...remaining.splice(j, 1));
      added++;
    }
    const total = remaining.length + added;
    const isNew = request.contacts.some((c) => expiresOf(c, request) !== 0 && this.location.find(aor, c) === undefined);
    if (total <= extension.maxDevices || !isNew) return { tooMany: false, drop };
    if (this.tooManyDevices === 'refuse' || added > extension.maxDevices) return { tooMany: true, drop: [] };
    // replace-oldest: the least recently refreshed of the others go.
    remaining.sort((a, b) => a.updatedAt - b.updatedAt);
    drop.push(...remaining.slice(0, total - extension.maxDevices));
    return { tooMany: false, drop };
  }

  private reply(request: SipRequest, status: number, reason?: string, headers: [string, string][] = []): SipResponse {
    return createResponse(request, status, reason, this.random === undefined ? { headers } : { headers, random: this.random });
  }
}

interface DevicePlan {
  tooMany: boolean;
  /** Bindings to remove once the REGISTER succeeded. */
  drop: Binding[];
}

/** Where requests to a binding go (see {@link PbxRegistrar.contacts}). */
function destinationOf(binding: Binding): Destination {
  const source = binding.source;
  if (source !== undefined && binding.connectionId !== undefined) return { ...source, connectionId: binding.connectionId };
  if (source !== undefined && (source.protocol === 'udp' || binding.path.length > 0)) return { ...source };
  const uri = binding.contact.uri;
  if (uri.kind === 'sip') return directDestination(uri);
  return source !== undefined ? { ...source } : { protocol: 'udp', address: '0.0.0.0', port: 0 };
}

/** The expiry a Contact asks for (loosely read: the Registrar rejects malformed values itself). */
function expiresOf(contact: NameAddr, request: SipRequest): number | undefined {
  const param = contact.params.get('expires');
  if (typeof param === 'string' && /^\d{1,10}$/.test(param)) return Number(param);
  return request.expires;
}

function instanceOf(contact: NameAddr): string | undefined {
  const v = contact.params.get('+sip.instance');
  return typeof v === 'string' ? v.replace(/^"(.*)"$/, '$1') : undefined;
}

/** Without an InboundMessage (tests, a front end): the top Via's received/sent-by. */
function viaSource(request: SipRequest): { address: string; port: number } {
  try {
    const via = request.topVia;
    if (via !== undefined) {
      const received = via.params.get('received');
      return { address: typeof received === 'string' ? received : via.host, port: via.port ?? 5060 };
    }
  } catch {
    // unreadable Via: no address to throttle by
  }
  return { address: '', port: 0 };
}

/** `request` with its To URI replaced by the tenant AoR (a copy, only when it differs). */
function withAor(request: SipRequest, aor: string): SipRequest {
  const to = request.to;
  const uri = to.uri as SipUri;
  if (`sip:${uri.user ?? ''}@${uri.host.toLowerCase()}` === aor && uri.scheme === 'sip' && uri.port === undefined && uri.params.size === 0) return request;
  const rewritten = new NameAddr(aor, to.displayName, to.params);
  const headers = request.headers.map(([name, value]): [string, string] => (/^(to|t)$/i.test(name) ? [name, rewritten.toString()] : [name, value]));
  return new SipRequest(request.method, request.uriString, headers, request.body);
}

/** Puts the request's own To (with the response's tag) back into the response (§8.2.6.2). */
function restoreTo(response: SipResponse, request: SipRequest): void {
  let tag: string | undefined;
  try {
    tag = response.to.tag;
  } catch {
    return;
  }
  const to = request.to.clone();
  if (tag !== undefined && to.tag === undefined) to.tag = tag;
  response.set('To', to.toString());
}
