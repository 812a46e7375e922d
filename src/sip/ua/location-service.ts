/**
 * The location service of a registrar (RFC 3261 §10, §10.3): for each address-of-record
 * (AoR), the contact addresses bound to it, each with its expiry, q-value, the Call-ID and
 * CSeq of the REGISTER that last touched it, the `Path` it was registered through
 * (RFC 3327) and the transport address it came from (for NAT traversal).
 *
 * A pure data structure over an injected clock: no timers. Expired bindings disappear on
 * every read and write of their AoR, and {@link LocationService.sweep} clears them all.
 * Bounded: at most `maxBindingsPerAor` bindings per AoR and `maxAors` AoRs, so nothing a
 * peer registers can grow memory without bound.
 *
 * ```
 *   AoR "sip:alice@example.com"  ->  [ binding (contact, expiresAt, q, callId, cseq, path, source) … ]
 *   AoR "sip:bob@example.com"    ->  [ … ]
 * ```
 *
 * @example
 * ```ts
 * const location = new LocationService({ clock: systemClock });
 * const aor = addressOfRecord(parseUri('sip:Alice@Example.COM;transport=tcp'))!; // 'sip:Alice@example.com'
 * location.lookup(aor).map((b) => String(b.contact.uri)); // highest q first
 * ```
 */
import { NameAddr, uriEquals, type Uri } from '../message/index.js';
import type { TimerClock } from '../timer-clock.js';
import type { Endpoint } from '../transport/index.js';

/** One contact bound to an AoR. */
export interface Binding {
  /** The Contact as registered, with its parameters (`+sip.instance`, `reg-id`, …) except `expires` and `q`. */
  readonly contact: NameAddr;
  /** Absolute expiry, in the clock's milliseconds. */
  readonly expiresAt: number;
  /** The q-value (0–1, §20.10); 1 when the Contact had none. */
  readonly q: number;
  /** Call-ID of the REGISTER that created or last refreshed the binding (§10.3 step 7). */
  readonly callId: string;
  /** CSeq number of that REGISTER. */
  readonly cseq: number;
  /** The `Path` values of that REGISTER, in order (RFC 3327 §5.3): the route back to the contact. */
  readonly path: readonly string[];
  /** The `+sip.instance` Contact parameter (RFC 5626), unquoted, when present. */
  readonly instanceId: string | undefined;
  /** The `reg-id` Contact parameter (RFC 5626), when present and numeric. */
  readonly regId: number | undefined;
  /** Where the REGISTER came from (packet source): reach a contact behind NAT through it. */
  readonly source: Endpoint | undefined;
  /** The connection the REGISTER arrived on (TCP, TLS, WS), when any. */
  readonly connectionId: string | undefined;
  /** When the binding was created or last refreshed, in the clock's milliseconds. */
  readonly updatedAt: number;
}

/** A binding to add, refresh or (with `expires` 0) remove. */
export interface BindingUpdate {
  contact: NameAddr;
  /** Seconds from now; 0 removes the binding. */
  expires: number;
  q?: number;
  callId: string;
  cseq: number;
  path?: readonly string[];
  source?: Endpoint;
  connectionId?: string;
}

/**
 * A binding as it was saved (a registration store reloading after a restart): absolute times
 * in the location service's clock, its packet source and everything else kept as it was.
 */
export interface RestoredBinding extends Omit<BindingUpdate, 'expires'> {
  /** Absolute expiry, in the clock's milliseconds. */
  expiresAt: number;
  /** When it was created or last refreshed, in the clock's milliseconds (default: now). */
  updatedAt?: number;
}

/** Why {@link LocationService.apply} refused a set of updates (nothing was changed). */
export type LocationFailure = 'too-many-bindings' | 'too-many-aors';

/** Options of {@link LocationService}. */
export interface LocationServiceOptions {
  /** Time source for expiries (required: the clock the registrar's users live by, a `ManualClock` in tests). */
  clock: Pick<TimerClock, 'now'>;
  /** Most bindings one AoR may hold (default 10). */
  maxBindingsPerAor?: number;
  /** Most AoRs held (default 100,000). */
  maxAors?: number;
}

/**
 * The canonical address-of-record of a URI (§10.3 step 5): scheme, user (unescaped) and host
 * (lower-cased) only — port, parameters and headers dropped. `undefined` for URIs that are not
 * `sip:`/`sips:` or have no user part.
 *
 * @example
 * ```ts
 * addressOfRecord(parseUri('sips:Bob@BILOXI.com:5061;user=phone')); // 'sips:Bob@biloxi.com'
 * ```
 */
export function addressOfRecord(uri: Uri): string | undefined {
  if (uri.kind !== 'sip' || uri.user === undefined || uri.user === '') return undefined;
  const host = uri.hostKind === 'ipv6' ? `[${uri.host.toLowerCase()}]` : uri.host.toLowerCase();
  return `${uri.scheme}:${uri.user}@${host}`;
}

function contactParam(contact: NameAddr, name: string): string | undefined {
  const v = contact.params.get(name);
  return typeof v === 'string' ? v : undefined;
}

/** A binding from an update or a saved one: `expires`/`q` parameters dropped, RFC 5626 parameters read. */
function makeBinding(u: Omit<RestoredBinding, 'updatedAt'> & { updatedAt: number }): Binding {
  const contact = u.contact.clone();
  contact.params.delete('expires');
  contact.params.delete('q');
  const instance = contactParam(contact, '+sip.instance');
  const regId = contactParam(contact, 'reg-id');
  return {
    contact,
    expiresAt: u.expiresAt,
    q: u.q ?? 1,
    callId: u.callId,
    cseq: u.cseq,
    path: [...(u.path ?? [])],
    instanceId: instance === undefined ? undefined : instance.replace(/^"(.*)"$/, '$1'),
    regId: regId !== undefined && /^\d{1,9}$/.test(regId) ? Number(regId) : undefined,
    source: u.source === undefined ? undefined : { ...u.source },
    connectionId: u.connectionId,
    updatedAt: u.updatedAt,
  };
}

function sameContact(a: NameAddr, b: NameAddr): boolean {
  // §10.3 step 7: contacts are compared with the URI comparison rules (§19.1.4).
  return uriEquals(a.uri, b.uri);
}

/**
 * Bindings per AoR, bounded and expiring (see the file comment).
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * const location = new LocationService({ clock, maxBindingsPerAor: 5 });
 * location.apply('sip:alice@example.com', [
 *   { contact: parseNameAddr('<sip:alice@192.0.2.4:5060>'), expires: 3600, q: 0.7, callId: 'c1', cseq: 1 },
 * ]); // 'ok'
 * clock.advance(3_600_000);
 * location.lookup('sip:alice@example.com'); // []: expired
 * ```
 */
export class LocationService {
  readonly maxBindingsPerAor: number;
  readonly maxAors: number;
  /** The clock expiries are measured on (a registration store converts them to wall-clock time with it). */
  readonly clock: Pick<TimerClock, 'now'>;
  private readonly aors = new Map<string, Binding[]>();

  constructor(options: LocationServiceOptions) {
    this.clock = options.clock;
    this.maxBindingsPerAor = options.maxBindingsPerAor ?? 10;
    this.maxAors = options.maxAors ?? 100_000;
    for (const [name, v] of [
      ['maxBindingsPerAor', this.maxBindingsPerAor],
      ['maxAors', this.maxAors],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer`);
    }
  }

  /** Number of AoRs with at least one binding (expired ones may be counted until the next sweep). */
  get size(): number {
    return this.aors.size;
  }

  /** Number of bindings over all AoRs (expired ones may be counted until the next sweep). */
  get bindingCount(): number {
    let n = 0;
    for (const list of this.aors.values()) n += list.length;
    return n;
  }

  /** The AoRs held. */
  addresses(): string[] {
    this.sweep();
    return [...this.aors.keys()];
  }

  /**
   * The live bindings of `aor`, best first: highest q, then most recently updated (a caller
   * forking or trying sequentially goes down this list).
   */
  lookup(aor: string): Binding[] {
    const list = this.live(aor);
    return [...list].sort((a, b) => b.q - a.q || b.updatedAt - a.updatedAt);
  }

  /** The live binding of `aor` whose contact URI equals `contact`'s (§19.1.4), if any. */
  find(aor: string, contact: NameAddr): Binding | undefined {
    return this.live(aor).find((b) => sameContact(b.contact, contact));
  }

  /** Seconds left before `binding` expires (rounded up; 0 once expired). */
  remaining(binding: Binding): number {
    return Math.max(0, Math.ceil((binding.expiresAt - this.clock.now()) / 1000));
  }

  /**
   * Adds, refreshes and removes bindings of `aor` in one step: either all updates apply or,
   * when the result would pass a bound, none does and the reason is returned. The caller
   * (the registrar) has done the §10.3 Call-ID/CSeq checks.
   */
  apply(aor: string, updates: readonly BindingUpdate[]): 'ok' | LocationFailure {
    const now = this.clock.now();
    const next = [...this.live(aor)];
    for (const u of updates) {
      const i = next.findIndex((b) => sameContact(b.contact, u.contact));
      if (u.expires <= 0) {
        if (i >= 0) next.splice(i, 1);
        continue;
      }
      const binding = makeBinding({ ...u, expiresAt: now + u.expires * 1000, updatedAt: now });
      if (i >= 0) next[i] = binding;
      else next.push(binding);
    }
    return this.store(aor, next);
  }

  /**
   * Puts back a binding saved earlier (a restart), with its own expiry, update time, source
   * and the rest, replacing a binding of the same contact. Bounded like {@link apply}: returns
   * the bound it would pass (and changes nothing), or `'expired'` for a binding whose time is
   * up (not stored).
   *
   * @example
   * ```ts
   * location.restore('sip:1001@demo.local', { contact, expiresAt: clock.now() + 1_200_000, callId, cseq: 7, source });
   * ```
   */
  restore(aor: string, saved: RestoredBinding): 'ok' | 'expired' | LocationFailure {
    const now = this.clock.now();
    if (saved.expiresAt <= now) return 'expired';
    const next = [...this.live(aor)];
    const i = next.findIndex((b) => sameContact(b.contact, saved.contact));
    const binding = makeBinding({ ...saved, updatedAt: Math.min(saved.updatedAt ?? now, now) });
    if (i >= 0) next[i] = binding;
    else next.push(binding);
    return this.store(aor, next);
  }

  /** Removes every binding of `aor` (the `Contact: *` of §10.2.2). */
  removeAll(aor: string): void {
    this.aors.delete(aor);
  }

  /** Drops every expired binding (and AoRs left empty); returns how many bindings went. */
  sweep(): number {
    const now = this.clock.now();
    let removed = 0;
    for (const [aor, list] of this.aors) {
      const kept = list.filter((b) => b.expiresAt > now);
      removed += list.length - kept.length;
      if (kept.length === 0) this.aors.delete(aor);
      else if (kept.length !== list.length) this.aors.set(aor, kept);
    }
    return removed;
  }

  /** Removes everything. */
  clear(): void {
    this.aors.clear();
  }

  /** Stores `next` as the bindings of `aor`, unless that passes a bound. */
  private store(aor: string, next: Binding[]): 'ok' | LocationFailure {
    if (next.length > this.maxBindingsPerAor) return 'too-many-bindings';
    if (next.length === 0) {
      this.aors.delete(aor);
      return 'ok';
    }
    if (!this.aors.has(aor) && this.aors.size >= this.maxAors) {
      this.sweep();
      if (this.aors.size >= this.maxAors) return 'too-many-aors';
    }
    this.aors.set(aor, next);
    return 'ok';
  }

  private live(aor: string): Binding[] {
    const list = this.aors.get(aor);
    if (list === undefined) return [];
    const now = this.clock.now();
    if (list.every((b) => b.expiresAt > now)) return list;
    const kept = list.filter((b) => b.expiresAt > now);
    if (kept.length === 0) this.aors.delete(aor);
    else this.aors.set(aor, kept);
    return kept;
  }
}
