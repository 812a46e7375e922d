/**
 * The client side of SIP digest authentication (RFC 3261 §22.2–22.3, RFC 7616 §3.4,
 * RFC 8760): answering a 401 (`WWW-Authenticate` → `Authorization`) or a 407
 * (`Proxy-Authenticate` → `Proxy-Authorization`).
 *
 * - Several challenges for one realm (one per algorithm): the strongest the client can answer
 *   wins, SHA-512-256 > SHA-256 > MD5 (RFC 8760); a challenge with an unknown algorithm is
 *   ignored (RFC 7616 §3.3).
 * - Challenges for several realms (forking proxies, RFC 3261 §22.3): each one the client has
 *   credentials for is answered.
 * - No loops: when the request that drew the challenge already carried credentials for that
 *   realm, the new challenge means they were rejected, and the client gives up — unless it
 *   says `stale=true` with a new nonce (the password was right, the nonce old), which is
 *   retried at most `maxStaleRetries` times in a row (RFC 7616 §3.3; RFC 3261 §22.2: do not
 *   re-send credentials that were just rejected).
 * - Nonce counts: nc starts at 00000001 for each nonce and grows each time the same nonce is
 *   used again ({@link DigestClient.authorizeRequest}, RFC 7616 §3.4).
 *
 * The CSeq of the retried request is the caller's (or {@link retryWithCredentials}'s) job:
 * RFC 3261 §22.2 wants a new transaction, CSeq + 1, same Call-ID and tags.
 */
import { randomBytes } from 'node:crypto';
import {
  AuthHeader,
  BRANCH_MAGIC_COOKIE,
  Via,
  parseAuthHeader,
  parseMessage,
  quote,
  serializeMessage,
  type SipRequest,
  type SipResponse,
} from '../message/index.js';
import {
  DIGEST_ALGORITHMS,
  algorithmStrength,
  computeHA1,
  computeResponse,
  formatNc,
  hashAvailable,
  hashOf,
  isSessionAlgorithm,
  parseAlgorithm,
  type DigestAlgorithm,
  type DigestQop,
  type HA1Set,
} from './digest.js';

/** What a client knows about one account. */
export interface DigestCredentials {
  username: string;
  /** The password; or give {@link ha1} instead. */
  password?: string;
  /** Precomputed HA1 per hash function (needs {@link realm}: an HA1 is bound to one). */
  ha1?: HA1Set;
  /** Answer challenges for this realm only; absent: any realm (a password only). */
  realm?: string;
}

export interface DigestClientOptions {
  /** One account, or several (realm-specific ones are preferred over a catch-all). */
  credentials: DigestCredentials | readonly DigestCredentials[];
  /** Algorithms the client is willing to use (default: all that this Node supports). */
  algorithms?: readonly DigestAlgorithm[];
  /** Use qop=auth-int when both auth and auth-int are offered (default false: auth). */
  preferAuthInt?: boolean;
  /** Randomness for cnonces (default `crypto.randomBytes`). */
  random?: (bytes: number) => Uint8Array;
  /** Consecutive `stale=true` retries allowed per realm (default 2). */
  maxStaleRetries?: number;
  /** Most challenges remembered for reuse (default 32); the least recently used is dropped. */
  maxChallenges?: number;
}

/** A header field to add: `['Authorization', value]` or `['Proxy-Authorization', value]`. */
export type CredentialsHeader = [string, AuthHeader];

interface Remembered {
  header: 'Authorization' | 'Proxy-Authorization';
  realm: string;
  nonce: string;
  /** The algorithm token as the server sent it (absent: MD5). */
  algorithmToken: string | undefined;
  algorithm: DigestAlgorithm;
  opaque: string | undefined;
  qop: DigestQop | undefined;
  ha1: string;
  username: string;
  nc: number;
  staleRetries: number;
  /** The nonce was last used by {@link DigestClient.authorizeRequest} rather than in answer to a challenge. */
  preemptive: boolean;
}

/**
 * Answers digest challenges.
 *
 * @example
 * ```ts
 * const client = new DigestClient({ credentials: { username: 'alice', password: 'secret' } });
 * // a 401 or 407 arrives for `register`:
 * const creds = client.authorize(response, register);
 * if (creds === undefined) giveUp(response);           // rejected, or nothing we can answer
 * else send(retryWithCredentials(register, creds));   // CSeq + 1, new branch
 * ```
 */
export class DigestClient {
  private readonly credentials: readonly DigestCredentials[];
  private readonly algorithms: readonly DigestAlgorithm[];
  private readonly preferAuthInt: boolean;
  private readonly random: (bytes: number) => Uint8Array;
  private readonly maxStaleRetries: number;
  private readonly maxChallenges: number;
  private readonly remembered = new Map<string, Remembered>();

  constructor(options: DigestClientOptions) {
    const list = Array.isArray(options.credentials) ? options.credentials : [options.credentials as DigestCredentials];
    for (const c of list) {
      if (c.password === undefined && c.ha1 === undefined) throw new TypeError(`credentials for ${c.username} need a password or HA1 values`);
      if (c.password === undefined && c.realm === undefined) throw new TypeError(`HA1 credentials for ${c.username} need a realm`);
    }
    this.credentials = list;
    this.algorithms = (options.algorithms ?? DIGEST_ALGORITHMS).filter((a) => hashAvailable(hashOf(a)));
    this.preferAuthInt = options.preferAuthInt ?? false;
    this.random = options.random ?? ((n: number) => randomBytes(n));
    this.maxStaleRetries = options.maxStaleRetries ?? 2;
    this.maxChallenges = options.maxChallenges ?? 32;
  }

  /** Number of challenges remembered for reuse (at most `maxChallenges`). */
  get rememberedChallenges(): number {
    return this.remembered.size;
  }

  /**
   * The credentials to add to a new copy of `request` in answer to `response` (a 401 or
   * 407 to it), or `undefined` when the client should give up: nothing it can answer, the
   * credentials it sent were rejected, or too many stale nonces in a row.
   */
  authorize(response: SipResponse, request: SipRequest): CredentialsHeader[] | undefined {
    const header = response.status === 401 ? 'Authorization' : response.status === 407 ? 'Proxy-Authorization' : undefined;
    if (header === undefined) return undefined;
    let challenges: AuthHeader[];
    let previous: AuthHeader[];
    try {
      challenges = header === 'Authorization' ? response.wwwAuthenticate : response.proxyAuthenticate;
    } catch {
      return undefined;
    }
    try {
      previous = header === 'Authorization' ? request.authorization : request.proxyAuthorization;
    } catch {
      previous = [];
    }
    // Group the usable challenges by realm, in order of appearance.
    const byRealm = new Map<string, AuthHeader[]>();
    for (const c of challenges) {
      const realm = c.realm;
      const nonce = c.nonce;
      if (!c.isDigest || realm === undefined || realm.length === 0 || nonce === undefined || nonce.length === 0) continue;
      const group = byRealm.get(realm);
      if (group === undefined) byRealm.set(realm, [c]);
      else group.push(c);
    }
    const out: CredentialsHeader[] = [];
    for (const [realm, group] of byRealm) {
      const creds = this.credentialsFor(realm);
      if (creds === undefined) continue;
      const chosen = this.strongest(group, creds, realm);
      if (chosen === undefined) continue;
      const key = `${header}\n${realm}`;
      const state = this.remembered.get(key);
      const prev = previous.find((p) => p.isDigest && p.realm === realm);
      let staleRetries = 0;
      if (prev !== undefined) {
        const wasPreemptive = state !== undefined && state.preemptive && state.nonce === prev.nonce;
        if (chosen.challenge.nonce === prev.nonce) return undefined; // the same challenge again: a loop
        if (!wasPreemptive) {
          if (!chosen.challenge.stale) return undefined; // our credentials were rejected
          staleRetries = (state?.staleRetries ?? 0) + 1;
          if (staleRetries > this.maxStaleRetries) return undefined;
        }
      }
      const nonce = chosen.challenge.nonce!;
      const remembered: Remembered = {
        header,
        realm,
        nonce,
        algorithmToken: chosen.challenge.algorithm,
        algorithm: chosen.algorithm,
        opaque: chosen.challenge.opaque,
        qop: chosen.qop,
        ha1: chosen.ha1,
        username: creds.username,
        nc: state !== undefined && state.nonce === nonce ? state.nc + 1 : 1,
        staleRetries,
        preemptive: false,
      };
      this.remember(key, remembered);
      out.push([header, this.credentialsHeader(remembered, request)]);
    }
    return out.length > 0 ? out : undefined;
  }

  /**
   * Credentials for a new request from the challenges answered before (same nonce, nc + 1):
   * preemptive authentication, which saves the 401 round trip on REGISTER refreshes and
   * on later requests to the same realm (RFC 3261 §22.2 allows reusing credentials). When
   * the server has moved on to a new nonce, its 401 is answered by {@link authorize} as usual.
   */
  authorizeRequest(request: SipRequest): CredentialsHeader[] {
    const out: CredentialsHeader[] = [];
    for (const [key, state] of this.remembered) {
      if (state.nc >= 0xffffffff) {
        this.remembered.delete(key);
        continue;
      }
      state.nc++;
      state.preemptive = true;
      out.push([state.header, this.credentialsHeader(state, request)]);
    }
    return out;
  }

  /** Forgets every remembered challenge (after a password change, say). */
  reset(): void {
    this.remembered.clear();
  }

  private remember(key: string, r: Remembered): void {
    this.remembered.delete(key);
    this.remembered.set(key, r);
    while (this.remembered.size > this.maxChallenges) {
      const oldest = this.remembered.keys().next();
      if (oldest.done === true) break;
      this.remembered.delete(oldest.value);
    }
  }

  private credentialsFor(realm: string): DigestCredentials | undefined {
    return this.credentials.find((c) => c.realm === realm) ?? this.credentials.find((c) => c.realm === undefined);
  }

  /** The strongest challenge of one realm that these credentials can answer. */
  private strongest(
    group: AuthHeader[],
    creds: DigestCredentials,
    realm: string,
  ): { challenge: AuthHeader; algorithm: DigestAlgorithm; qop: DigestQop | undefined; ha1: string } | undefined {
    let best: { challenge: AuthHeader; algorithm: DigestAlgorithm; qop: DigestQop | undefined; ha1: string } | undefined;
    for (const c of group) {
      const algorithm = parseAlgorithm(c.algorithm);
      if (algorithm === undefined || !this.algorithms.includes(algorithm)) continue;
      const offered = c.qop.map((q) => q.toLowerCase());
      let qop: DigestQop | undefined;
      if (offered.length > 0) {
        const hasAuth = offered.includes('auth');
        const hasInt = offered.includes('auth-int');
        if (hasInt && (this.preferAuthInt || !hasAuth)) qop = 'auth-int';
        else if (hasAuth) qop = 'auth';
        else continue; // only qop values we do not know
      } else if (isSessionAlgorithm(algorithm)) continue; // -sess needs a cnonce, which needs qop
      const ha1 = creds.password !== undefined ? computeHA1(algorithm, creds.username, realm, creds.password) : creds.ha1?.[hashOf(algorithm)];
      if (ha1 === undefined) continue;
      if (best === undefined || algorithmStrength(algorithm) > algorithmStrength(best.algorithm)) best = { challenge: c, algorithm, qop, ha1 };
    }
    return best;
  }

  /** Builds the credentials (RFC 7616 §3.4 and RFC 3261 §25.1 on what is quoted). */
  private credentialsHeader(s: Remembered, request: SipRequest): AuthHeader {
    const uri = request.uriString;
    const cnonce = s.qop !== undefined || isSessionAlgorithm(s.algorithm) ? Buffer.from(this.random(16)).toString('hex') : undefined;
    const nc = formatNc(s.nc);
    const response = computeResponse({
      algorithm: s.algorithm,
      ha1: s.ha1,
      method: request.method,
      uri,
      nonce: s.nonce,
      qop: s.qop,
      nc,
      cnonce,
      body: request.body,
    });
    const h = new AuthHeader('Digest');
    h.params.setRaw('username', quote(s.username));
    h.params.setRaw('realm', quote(s.realm));
    h.params.setRaw('nonce', quote(s.nonce));
    h.params.setRaw('uri', quote(uri));
    h.params.setRaw('response', quote(response));
    if (s.algorithmToken !== undefined) h.params.setRaw('algorithm', s.algorithmToken);
    if (cnonce !== undefined) h.params.setRaw('cnonce', quote(cnonce));
    if (s.opaque !== undefined) h.params.setRaw('opaque', quote(s.opaque));
    if (s.qop !== undefined) {
      h.params.setRaw('qop', s.qop);
      h.params.setRaw('nc', nc);
    }
    return h;
  }
}

/**
 * A copy of `request` ready to resend with `credentials` (RFC 3261 §22.2, §8.1.3.5): CSeq
 * incremented, a new branch in the top Via (a new transaction), existing credentials for the
 * same realms replaced and those for other realms kept (§22.3), everything else unchanged.
 *
 * @example
 * ```ts
 * const retry = retryWithCredentials(invite, client.authorize(res407, invite)!);
 * retry.cseq.seq === invite.cseq.seq + 1; // true
 * ```
 */
export function retryWithCredentials(
  request: SipRequest,
  credentials: readonly CredentialsHeader[],
  options: { random?: (bytes: number) => Uint8Array } = {},
): SipRequest {
  const copy = parseMessage(serializeMessage(request), { validate: false }) as SipRequest;
  const cseq = request.cseq;
  copy.set('CSeq', `${cseq.seq + 1} ${cseq.method}`);
  const top = request.topVia;
  if (top !== undefined) {
    const params = top.params.clone();
    const random = options.random ?? ((n: number) => randomBytes(n));
    params.set('branch', BRANCH_MAGIC_COOKIE + Buffer.from(random(8)).toString('hex'));
    const via = new Via({ transport: top.transport, host: top.host, port: top.port, params, protocol: top.protocol, version: top.version });
    copy.removeFirstValue('Via');
    copy.prepend('Via', via);
  }
  for (const name of ['Authorization', 'Proxy-Authorization']) {
    const fresh = credentials.filter(([n]) => n === name).map(([, h]) => h);
    if (fresh.length === 0) continue;
    const realms = new Set(fresh.map((h) => h.realm));
    const kept = copy.getAll(name).filter((v) => {
      try {
        return !realms.has(parseAuthHeader(v).realm);
      } catch {
        return true;
      }
    });
    copy.remove(name);
    for (const v of kept) copy.append(name, v);
    for (const h of fresh) copy.append(name, h);
  }
  return copy;
}
