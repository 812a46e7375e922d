/**
 * A registrar (RFC 3261 §10.3): processes REGISTER requests step by step and keeps the
 * bindings in a {@link LocationService}.
 *
 * ```
 *  REGISTER ──► 1 Request-URI domain ours?            no ─► 404 (416: not a SIP URI)
 *               2 Require understood?                  no ─► 420 + Unsupported
 *               3 authenticated? (optional digest)     no ─► 401 challenge (stale=true when stale), 400 if malformed
 *               4 may this user register the AoR?      no ─► 403
 *               5 To is a SIP/SIPS AoR of our domain?   no ─► 400 (not SIP) / 404 (other domain)
 *               6 Contacts: `*` alone with Expires: 0,  no ─► 400
 *                 expiry ≥ Min-Expires (or 0)          no ─► 423 + Min-Expires
 *               7 per contact: Call-ID / CSeq order     no ─► 500 (nothing changed)
 *                 add / refresh / remove, atomically   bound hit ─► 503
 *               8 200 OK: every current binding with its expires, Date, Path (RFC 3327)
 * ```
 *
 * Deviations and choices:
 * - Bindings are matched by contact URI (§19.1.4), not by `+sip.instance`/`reg-id`
 *   (RFC 5626 is not implemented; the parameters are kept with the binding).
 * - `Path` is stored whenever present; it is echoed in the 200 only when the request said
 *   `Supported: path` (RFC 3327 §5.3).
 * - An expiry above `maxExpires` is lowered to it (§10.3 step 7 allows the registrar to
 *   shorten); the 200 tells the client what it got.
 *
 * @example
 * ```ts
 * const registrar = new Registrar({
 *   location: new LocationService({ clock: systemClock }),
 *   domains: ['example.com'],
 *   auth: new DigestServer({ realm: 'example.com', lookup }),
 * });
 * // in a TransactionLayer's onRequest:
 * if (tx.request.method === 'REGISTER') registrar.handle(tx, inbound);
 * ```
 */
import {
  NameAddr,
  SipParseError,
  createResponse,
  type HeaderValue,
  type SipRequest,
  type SipResponse,
  type SipUri,
} from '../message/index.js';
import type { DigestServer } from '../auth/index.js';
import type { ServerTransaction } from '../transaction/index.js';
import type { InboundMessage } from '../transport/index.js';
import { addressOfRecord, type BindingUpdate, type LocationService } from './location-service.js';

/** Options of {@link Registrar}. */
export interface RegistrarOptions {
  /** Where bindings live (its clock gives expiries). */
  location: LocationService;
  /**
   * Domains we are the registrar for (host names or addresses, compared case-insensitively)
   * for the Request-URI and the To AoR: others get 404. Absent: any domain.
   */
  domains?: readonly string[];
  /** Digest authentication; absent: anyone may register anything. */
  auth?: DigestServer;
  /**
   * Whether the authenticated `username` may register bindings for `aor` (§10.3 step 3).
   * Default: the AoR's user part equals the user name.
   */
  mayRegister?: (username: string, aor: SipUri) => boolean;
  /** Expiry when neither the Contact nor an Expires header gives one (default 3600 s; lowered to `maxExpires`). */
  defaultExpires?: number;
  /** Shortest expiry accepted (default 60 s); shorter non-zero ones get 423 (§10.3 step 7). */
  minExpires?: number;
  /** Longest expiry granted (default 86,400 s); longer ones are lowered to it. */
  maxExpires?: number;
  /** Option tags we understand besides `path` (for the §8.2.2.3 Require check). */
  supported?: readonly string[];
  /** Wall-clock time for the Date header of 200 responses (default `new Date()`). */
  now?: () => Date;
  /** Randomness for To tags (default: `crypto.randomBytes` via `createResponse`). */
  random?: (bytes: number) => Uint8Array;
}

/** Why a REGISTER was not accepted, for statistics and logs. */
export interface RegistrarOutcome {
  response: SipResponse;
  /** The canonical AoR once known. */
  aor: string | undefined;
  /** The authenticated user name, when digest was used and succeeded. */
  username: string | undefined;
}

const MAX_EXPIRES_VALUE = 0xffffffff;

class Reject extends Error {
  constructor(
    readonly status: number,
    readonly reason?: string,
    readonly headers: [string, HeaderValue][] = [],
  ) {
    super(reason ?? String(status));
  }
}

/**
 * What answers REGISTER requests for a {@link SipEndpoint} or {@link UserAgent}: a
 * {@link Registrar}, or something that picks one (a multi-tenant PBX, per domain).
 *
 * @example
 * ```ts
 * const perDomain: RegisterHandler = { handle: (tx, inbound) => registrarFor(tx.request).handle(tx, inbound) };
 * ```
 */
export interface RegisterHandler {
  /** Answers the REGISTER of `tx`; never rejects. */
  handle(tx: ServerTransaction, inbound?: InboundMessage): Promise<void>;
}

/**
 * A registrar (see the file comment for the steps and deviations).
 *
 * @example
 * ```ts
 * const outcome = await registrar.process(request, inbound);
 * outcome.response.status; // 200, 401, 423…
 * location.lookup('sip:alice@example.com');
 * ```
 */
export class Registrar {
  readonly location: LocationService;
  readonly minExpires: number;
  readonly maxExpires: number;
  readonly defaultExpires: number;
  private readonly domains: Set<string> | undefined;
  private readonly auth: DigestServer | undefined;
  private readonly mayRegister: (username: string, aor: SipUri) => boolean;
  private readonly supported: Set<string>;
  private readonly now: () => Date;
  private readonly random: ((bytes: number) => Uint8Array) | undefined;

  constructor(options: RegistrarOptions) {
    this.location = options.location;
    this.domains = options.domains === undefined ? undefined : new Set(options.domains.map((d) => stripBrackets(d).toLowerCase()));
    this.auth = options.auth;
    this.mayRegister = options.mayRegister ?? ((username, aor) => aor.user === username);
    this.defaultExpires = options.defaultExpires ?? 3600;
    this.minExpires = options.minExpires ?? 60;
    this.maxExpires = options.maxExpires ?? 86_400;
    if (!(this.minExpires >= 0 && this.minExpires <= this.defaultExpires && this.minExpires <= this.maxExpires)) {
      throw new RangeError('expiries must satisfy 0 <= minExpires <= defaultExpires and minExpires <= maxExpires');
    }
    this.supported = new Set(['path', ...(options.supported ?? [])].map((t) => t.toLowerCase()));
    this.now = options.now ?? (() => new Date());
    this.random = options.random;
  }

  /**
   * Answers the REGISTER of server transaction `tx`. Never throws and never rejects: a
   * failure of the authentication back end is answered 500.
   */
  handle(tx: ServerTransaction, inbound?: InboundMessage): Promise<void> {
    return this.process(tx.request, inbound).then(
      (outcome) => {
        tx.respond(outcome.response);
      },
      () => {
        tx.respond(this.reply(tx.request, 500));
      },
    );
  }

  /** Runs §10.3 on `request` and returns the response to send (bindings updated on 200). */
  async process(request: SipRequest, inbound?: InboundMessage): Promise<RegistrarOutcome> {
    let aor: string | undefined;
    let username: string | undefined;
    try {
      if (request.method !== 'REGISTER') throw new Reject(405, undefined, [['Allow', 'REGISTER']]);
      // Step 1: the Request-URI names a domain we serve.
      const ruri = request.uri;
      if (ruri.kind !== 'sip') throw new Reject(416);
      if (!this.ourDomain(ruri.host)) throw new Reject(404, 'Domain Not Served');
      // Step 2: Require (§8.2.2.3).
      const unsupported = request.require.filter((t) => !this.supported.has(t.toLowerCase()));
      if (unsupported.length > 0) throw new Reject(420, undefined, [['Unsupported', unsupported.join(', ')]]);
      // Step 3: authentication.
      if (this.auth !== undefined) {
        const result = await this.auth.verify(request);
        if (!result.ok) {
          if (result.reason === 'malformed' || result.reason === 'uri-mismatch') throw new Reject(400, 'Malformed Credentials');
          return { response: this.auth.challengeResponse(request, { stale: result.reason === 'stale' }), aor: undefined, username: undefined };
        }
        username = result.username;
      }
      // Step 5 (before 4, which needs the AoR): To gives the AoR.
      const to = request.to.uri;
      if (to.kind !== 'sip') throw new Reject(400, 'To Is Not A SIP URI');
      aor = addressOfRecord(to);
      if (aor === undefined) throw new Reject(400, 'To Has No User Part');
      if (!this.ourDomain(to.host)) throw new Reject(404, 'Domain Not Served');
      // Step 4: is this user allowed to register this AoR?
      if (username !== undefined && !this.mayRegister(username, to)) throw new Reject(403, 'Not Allowed To Register This AoR');
      // Step 6 and 7: the contacts.
      const response = this.bind(request, aor, inbound);
      return { response, aor, username };
    } catch (e) {
      if (e instanceof Reject) return { response: this.reply(request, e.status, e.reason, e.headers), aor, username };
      if (e instanceof SipParseError) return { response: this.reply(request, 400, e.message), aor, username };
      throw e;
    }
  }

  private ourDomain(host: string): boolean {
    return this.domains === undefined || this.domains.has(host.toLowerCase());
  }

  private bind(request: SipRequest, aor: string, inbound: InboundMessage | undefined): SipResponse {
    const callId = request.callId;
    const cseq = request.cseq.seq;
    const headerExpires = request.expires;
    const current = this.location.lookup(aor);
    if (request.contactWildcard) {
      // §10.3 step 6: `*` only alone and with Expires: 0.
      if (request.count('Contact') !== 1 || request.list('Contact').length !== 1) throw new Reject(400, 'Wildcard Contact Must Be Alone');
      if (headerExpires !== 0) throw new Reject(400, 'Wildcard Contact Needs Expires: 0');
      for (const b of current) {
        if (b.callId === callId && cseq <= b.cseq) throw new Reject(500, 'CSeq Out Of Order');
      }
      this.location.removeAll(aor);
      return this.ok(request, aor);
    }
    const contacts = request.contacts;
    const path = request.list('Path');
    const updates: BindingUpdate[] = [];
    let tooShort = false;
    for (const contact of contacts) {
      void contact.uri; // a malformed Contact URI is a 400 (SipParseError)
      const expires = this.expiresOf(contact, headerExpires);
      if (expires > 0 && expires < this.minExpires) tooShort = true;
      const q = qValue(contact);
      const existing = this.location.find(aor, contact);
      if (existing !== undefined && existing.callId === callId && cseq <= existing.cseq) throw new Reject(500, 'CSeq Out Of Order');
      const update: BindingUpdate = { contact, expires: Math.min(expires, this.maxExpires), callId, cseq, path };
      if (q !== undefined) update.q = q;
      if (inbound !== undefined) {
        update.source = inbound.source;
        if (inbound.connectionId !== undefined) update.connectionId = inbound.connectionId;
      }
      updates.push(update);
    }
    if (tooShort) throw new Reject(423, undefined, [['Min-Expires', String(this.minExpires)]]);
    const result = this.location.apply(aor, updates);
    if (result !== 'ok') throw new Reject(503, result === 'too-many-bindings' ? 'Too Many Registered Contacts' : 'Too Many Registrations');
    return this.ok(request, aor);
  }

  private expiresOf(contact: NameAddr, headerExpires: number | undefined): number {
    const param = contact.params.get('expires');
    if (typeof param === 'string') {
      if (!/^\d{1,10}$/.test(param) || Number(param) > MAX_EXPIRES_VALUE) throw new Reject(400, 'Invalid Contact expires');
      return Number(param);
    }
    return headerExpires ?? this.defaultExpires;
  }

  /** The 200 (step 8): every current binding with the time it has left, and a Date. */
  private ok(request: SipRequest, aor: string): SipResponse {
    const headers: [string, HeaderValue][] = [];
    for (const b of this.location.lookup(aor)) {
      const c = b.contact.clone();
      c.params.set('expires', String(this.location.remaining(b)));
      if (b.q !== 1) c.params.set('q', formatQ(b.q));
      headers.push(['Contact', c]);
    }
    if (request.supported.some((t) => t.toLowerCase() === 'path')) {
      for (const p of request.list('Path')) headers.push(['Path', p]);
    }
    headers.push(['Date', this.now().toUTCString()]);
    return this.reply(request, 200, undefined, headers);
  }

  private reply(request: SipRequest, status: number, reason?: string, headers: [string, HeaderValue][] = []): SipResponse {
    return createResponse(request, status, reason, this.random === undefined ? { headers } : { headers, random: this.random });
  }
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The q-value of a Contact (§20.10: `0` to `1` with up to three decimals); 400 when malformed. */
function qValue(contact: NameAddr): number | undefined {
  const q = contact.params.get('q');
  if (q === undefined) return undefined;
  if (typeof q !== 'string' || !/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(q)) throw new Reject(400, 'Invalid Contact q-value');
  return Number(q);
}

function formatQ(q: number): string {
  return String(Math.round(q * 1000) / 1000);
}
