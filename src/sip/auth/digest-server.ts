/**
 * The server side of SIP digest authentication (RFC 3261 §22.1–22.4, RFC 7616, RFC 8760): a
 * registrar, proxy or UAS challenges with 401/407 and checks the credentials that come back.
 *
 * ```
 * UAC                                    DigestServer
 *  | REGISTER                              |
 *  |-------------------------------------->| verify → { ok: false, reason: 'missing' }
 *  | 401 WWW-Authenticate: Digest ... (one per algorithm, strongest first)
 *  |<--------------------------------------| challenge()
 *  | REGISTER Authorization: Digest ...    |
 *  |-------------------------------------->| verify → { ok: true, username, realm }
 * ```
 *
 * What it guards against:
 * - forged or altered nonces: nonces carry their issue time and an HMAC ({@link NonceMinter}),
 *   so the server stores nothing per challenge and a restart with the same secret accepts them;
 * - old nonces: older than `nonceTtlMs` gives `stale` (re-challenge with `stale: true`, and
 *   the client retries without asking its user, RFC 7616 §3.3);
 * - replays: per nonce, nc must grow (RFC 7616 §5.5), in a map bounded by `maxNonces`;
 * - timing: the response is compared with `crypto.timingSafeEqual` over fixed-length
 *   digests of both values, so neither content nor length leaks;
 * - stored passwords: the store holds HA1 per hash function, never the password.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuthHeader, createResponse, parseUri, quote, uriEquals, type SipRequest, type SipResponse } from '../message/index.js';
import {
  algorithmStrength,
  computeHA1Set,
  computeResponse,
  hashAvailable,
  hashOf,
  isSessionAlgorithm,
  parseAlgorithm,
  type DigestAlgorithm,
  type DigestHash,
  type DigestQop,
  type HA1Set,
} from './digest.js';
import { NonceCounts } from './nonce-counts.js';
import { NonceMinter } from './nonce.js';
import { credentialsUsername } from './username.js';

/** Looks up a user's stored HA1 values; `undefined` when there is no such user. */
export type HA1Lookup = (username: string, realm: string) => HA1Set | undefined | Promise<HA1Set | undefined>;

export interface DigestServerOptions {
  /** The protection realm (RFC 3261 §22.1: usually the domain, e.g. `biloxi.com`). */
  realm: string;
  /** Stored credentials. See {@link passwordLookup} for a plaintext adapter. */
  lookup: HA1Lookup;
  /**
   * Algorithms to offer, one challenge each, sent strongest first (RFC 8760). Default
   * `['SHA-256', 'MD5']`: SHA-256 for current clients, MD5 for the rest.
   */
  algorithms?: readonly DigestAlgorithm[];
  /** qop options to offer (default `['auth', 'auth-int']`); `[]` means RFC 2069 style, no qop. */
  qop?: readonly DigestQop[];
  /** How long a nonce is good for (default 300,000 ms). */
  nonceTtlMs?: number;
  /**
   * Time in milliseconds. Default `Date.now`: a wall clock, so that nonces survive a restart
   * (a monotonic clock such as `performance.now()` restarts at zero with the process).
   */
  clock?: { now(): number };
  /** Randomness for nonces (default `crypto.randomBytes`). */
  random?: (bytes: number) => Uint8Array;
  /** HMAC key for nonces, at least 16 bytes (default: 32 random bytes per instance). */
  secret?: Uint8Array;
  /** Most nonces whose nonce counts are remembered (default 10,000). */
  maxNonces?: number;
}

/** Why credentials were not accepted. */
export type DigestFailure =
  /** No Digest credentials at all: challenge. */
  | 'missing'
  /** Credentials that cannot be checked (bad syntax, a required parameter absent, a bad nc, qop or username*, an opaque that is not ours). */
  | 'malformed'
  /** Digest credentials only for other realms. */
  | 'wrong-realm'
  /** An algorithm not offered, or one the user has no stored HA1 for. */
  | 'unsupported-algorithm'
  /** `uri` is not the Request-URI (RFC 3261 §22.4). */
  | 'uri-mismatch'
  /** No such user. Answer it exactly like `bad-response` so user names cannot be probed. */
  | 'unknown-user'
  /** Wrong password (or a response computed over other values). */
  | 'bad-response'
  /** Right password, but the nonce expired or is not ours (any more): re-challenge with `stale: true`. */
  | 'stale'
  /** A nonce count already used with this nonce. */
  | 'replay';

export type DigestVerifyResult =
  | { ok: true; username: string; realm: string; algorithm: DigestAlgorithm; qop: DigestQop | undefined }
  | { ok: false; reason: DigestFailure };

export interface ChallengeOptions {
  /** `Proxy-Authenticate` (for a 407) instead of `WWW-Authenticate` (for a 401). */
  proxy?: boolean;
  /** Marks the challenge `stale=true`: the previous credentials were right but the nonce was old. */
  stale?: boolean;
}

const NC = /^[0-9a-fA-F]{8}$/;
const DEFAULT_ALGORITHMS: readonly DigestAlgorithm[] = ['SHA-256', 'MD5'];

/** Equal-length, constant-time comparison of two strings of any lengths. */
function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

/**
 * A plaintext-password adapter for {@link DigestServerOptions.lookup}: computes the HA1 set
 * from a password on each look-up. Prefer storing HA1 values (`computeHA1Set`).
 *
 * @example
 * ```ts
 * const server = new DigestServer({ realm: 'example.com', lookup: passwordLookup((u) => users.get(u)) });
 * ```
 */
export function passwordLookup(password: (username: string, realm: string) => string | undefined, hashes?: readonly DigestHash[]): HA1Lookup {
  return (username, realm) => {
    const p = password(username, realm);
    return p === undefined ? undefined : computeHA1Set(username, realm, p, hashes);
  };
}

/**
 * Challenges requests and verifies digest credentials for one realm.
 *
 * @example
 * ```ts
 * const auth = new DigestServer({ realm: 'example.com', lookup: (user) => store.get(user) });
 * const result = await auth.verify(request);
 * if (result.ok) register(result.username, request);
 * else if (result.reason === 'stale') send(auth.challengeResponse(request, { stale: true }));
 * else if (result.reason === 'malformed') send(createResponse(request, 400));
 * else send(auth.challengeResponse(request));
 * ```
 */
export class DigestServer {
  readonly realm: string;
  /** Offered algorithms, strongest first. */
  readonly algorithms: readonly DigestAlgorithm[];
  readonly qop: readonly DigestQop[];
  readonly nonceTtlMs: number;
  private readonly lookup: HA1Lookup;
  private readonly clock: { now(): number };
  private readonly minter: NonceMinter;
  private readonly counts: NonceCounts;
  private readonly opaque: string;

  constructor(options: DigestServerOptions) {
    if (options.realm.length === 0) throw new TypeError('realm must not be empty');
    const algorithms = [...(options.algorithms ?? DEFAULT_ALGORITHMS)];
    if (algorithms.length === 0) throw new TypeError('at least one algorithm is required');
    for (const a of algorithms) {
      if (parseAlgorithm(a) !== a) throw new TypeError(`unknown digest algorithm: ${a}`);
      if (!hashAvailable(hashOf(a))) throw new TypeError(`this Node has no ${hashOf(a)} hash`);
    }
    // Stable sort: strongest first, configuration order among equals.
    this.algorithms = algorithms.map((a, i) => [a, i] as const).sort((x, y) => algorithmStrength(y[0]) - algorithmStrength(x[0]) || x[1] - y[1]).map((x) => x[0]);
    this.qop = [...(options.qop ?? ['auth', 'auth-int'])];
    if (this.qop.length === 0 && this.algorithms.some(isSessionAlgorithm)) throw new TypeError('-sess algorithms need qop (their HA1 uses the cnonce)');
    this.realm = options.realm;
    this.lookup = options.lookup;
    this.nonceTtlMs = options.nonceTtlMs ?? 300_000;
    this.clock = options.clock ?? { now: Date.now };
    const random = options.random ?? ((n: number) => randomBytes(n));
    const secret = options.secret ?? randomBytes(32);
    this.minter = new NonceMinter({ secret, realm: this.realm, ttlMs: this.nonceTtlMs, now: () => this.clock.now(), random });
    this.counts = new NonceCounts(options.maxNonces ?? 10_000);
    this.opaque = createHmac('sha256', secret).update(`opaque:${this.realm}`, 'utf8').digest().subarray(0, 12).toString('base64url');
  }

  /** Number of nonces whose counts are being tracked (at most `maxNonces`). */
  get trackedNonces(): number {
    return this.counts.size;
  }

  /**
   * The challenge header fields for a 401 (`WWW-Authenticate`) or a 407
   * (`Proxy-Authenticate`): one per algorithm, strongest first, sharing one fresh nonce
   * (RFC 7616 §3.3, RFC 8760). Pass them as `headers` to `createResponse`.
   *
   * @example
   * ```ts
   * const res = createResponse(req, 401, undefined, { headers: auth.challenge() });
   * // WWW-Authenticate: Digest realm="example.com", qop="auth,auth-int", algorithm=SHA-256, nonce="…", opaque="…"
   * // WWW-Authenticate: Digest realm="example.com", qop="auth,auth-int", algorithm=MD5, nonce="…", opaque="…"
   * ```
   */
  challenge(options: ChallengeOptions = {}): [string, AuthHeader][] {
    const name = options.proxy === true ? 'Proxy-Authenticate' : 'WWW-Authenticate';
    const nonce = this.minter.issue();
    return this.algorithms.map((algorithm) => {
      const h = new AuthHeader('Digest');
      h.params.setRaw('realm', quote(this.realm));
      if (this.qop.length > 0) h.params.setRaw('qop', quote(this.qop.join(',')));
      h.params.setRaw('algorithm', algorithm);
      h.params.setRaw('nonce', quote(nonce));
      h.params.setRaw('opaque', quote(this.opaque));
      if (options.stale === true) h.params.setRaw('stale', 'true');
      return [name, h];
    });
  }

  /** A complete 401 (or 407 with `proxy`) answering `request` with {@link challenge}. */
  challengeResponse(request: SipRequest, options: ChallengeOptions = {}): SipResponse {
    return createResponse(request, options.proxy === true ? 407 : 401, undefined, { headers: this.challenge(options) });
  }

  /**
   * Checks the request's `Authorization` (or, with `proxy`, `Proxy-Authorization`)
   * credentials for this realm. Never throws for anything in the request: every problem is a
   * `{ ok: false, reason }` (a rejected promise comes only from the `lookup` store). Nonce
   * counts are recorded only for credentials that verify, so nobody without the password can
   * use up a client's nonce counts.
   */
  async verify(request: SipRequest, options: { proxy?: boolean } = {}): Promise<DigestVerifyResult> {
    let all: AuthHeader[];
    try {
      all = options.proxy === true ? request.proxyAuthorization : request.authorization;
    } catch {
      return fail('malformed');
    }
    const digest = all.filter((h) => h.isDigest);
    if (digest.length === 0) return fail('missing');
    const cred = digest.find((h) => h.params.get('realm') === this.realm);
    if (cred === undefined) return fail('wrong-realm');

    const algorithm = parseAlgorithm(str(cred, 'algorithm'));
    if (algorithm === undefined || !this.algorithms.includes(algorithm)) return fail('unsupported-algorithm');
    const username = credentialsUsername(cred);
    const nonce = str(cred, 'nonce');
    const uri = str(cred, 'uri');
    const response = str(cred, 'response');
    if (username === undefined || nonce === undefined || uri === undefined || response === undefined) return fail('malformed');
    if (nonce.length === 0 || uri.length === 0 || str(cred, 'userhash')?.toLowerCase() === 'true') return fail('malformed');

    // qop: one of those offered, or absent exactly when none is offered (RFC 7616 §3.4).
    const qopRaw = str(cred, 'qop');
    let qop: DigestQop | undefined;
    let ncText: string | undefined;
    let cnonce: string | undefined;
    if (qopRaw === undefined) {
      if (this.qop.length > 0 || isSessionAlgorithm(algorithm)) return fail('malformed');
    } else {
      const q = this.qop.find((x) => x === qopRaw.toLowerCase());
      if (q === undefined) return fail('malformed');
      qop = q;
      ncText = str(cred, 'nc');
      cnonce = str(cred, 'cnonce');
      if (ncText === undefined || !NC.test(ncText) || cnonce === undefined || cnonce.length === 0) return fail('malformed');
    }
    const opaque = str(cred, 'opaque');
    if (opaque !== undefined && !safeEqual(opaque, this.opaque)) return fail('malformed');
    if (!this.uriMatches(uri, request)) return fail('uri-mismatch');

    const check = this.minter.check(nonce);
    const set = await this.lookup(username, this.realm);
    const ha1 = set?.[hashOf(algorithm)];
    if (set !== undefined && ha1 === undefined) return fail('unsupported-algorithm');
    // An unknown user still costs one digest computation, so timing does not tell users apart.
    const expected = computeResponse({
      algorithm,
      ha1: ha1?.toLowerCase() ?? '0'.repeat(32),
      method: request.method,
      uri,
      nonce,
      qop,
      nc: ncText,
      cnonce,
      body: request.body,
    });
    const match = safeEqual(expected, response.toLowerCase());
    if (set === undefined) return fail('unknown-user');
    if (!match) return fail('bad-response');
    // The digest is right: a nonce that is not ours (a restart with a new secret) or too old
    // is stale, and the client may retry at once (RFC 7616 §3.3; RFC 2617 §3.2.1).
    if (!check.valid || check.expired) return fail('stale');
    const nc = ncText === undefined ? 1 : parseInt(ncText, 16);
    const counted = this.counts.accept(nonce, check.issuedAt, check.seq, nc, this.clock.now() - this.nonceTtlMs);
    if (counted === 'replay') return fail('replay');
    if (counted === 'forgotten') return fail('stale');
    return { ok: true, username, realm: this.realm, algorithm, qop };
  }

  /** The digest `uri` must be the Request-URI (RFC 3261 §22.4): equal text, or equal URIs (§19.1.4). */
  private uriMatches(uri: string, request: SipRequest): boolean {
    try {
      if (uri === request.uriString) return true;
      return uriEquals(parseUri(uri), request.uri);
    } catch {
      return false;
    }
  }
}

function str(h: AuthHeader, name: string): string | undefined {
  const v = h.params.get(name);
  return typeof v === 'string' ? v : undefined;
}

function fail(reason: DigestFailure): DigestVerifyResult {
  return { ok: false, reason };
}
