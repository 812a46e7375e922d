/**
 * HTTP digest computation for SIP (RFC 7616 §3.4, RFC 8760 §2, RFC 3261 §22.4): pure
 * functions from strings to lowercase hex, no state and no I/O.
 *
 * ```
 * HA1 (algorithm X)      = H(username ":" realm ":" password)
 * HA1 (algorithm X-sess) = H(H(username ":" realm ":" password) ":" nonce ":" cnonce)
 * HA2 (qop=auth or none) = H(method ":" uri)
 * HA2 (qop=auth-int)     = H(method ":" uri ":" H(entity-body))
 * response (qop present) = KD(HA1, nonce ":" nc ":" cnonce ":" qop ":" HA2)
 * response (qop absent)  = KD(HA1, nonce ":" HA2)          (RFC 2069 compatibility)
 * KD(secret, data)       = H(secret ":" data)
 * ```
 * Every string is hashed as UTF-8 (RFC 7616 §4; SIP text is UTF-8 throughout, RFC 3261 §7.3.1).
 *
 * SHA-512-256 is SHA-512/256 of FIPS 180-4 (its own initial values, truncated to 256 bits:
 * RFC 7616 §3.2), which Node's OpenSSL provides as `sha512-256`; it is not a truncated
 * SHA-512, and {@link hashAvailable} reports whether the running Node has it.
 */
import { createHash, getHashes } from 'node:crypto';

/** The digest hash functions (RFC 7616 §6.1 registry; RFC 8760 §2.1). */
export type DigestHash = 'MD5' | 'SHA-256' | 'SHA-512-256';

/** Algorithm tokens as they appear in `algorithm=` (RFC 7616 §3.3, §6.1). */
export type DigestAlgorithm = DigestHash | 'MD5-sess' | 'SHA-256-sess' | 'SHA-512-256-sess';

/** Quality of protection (RFC 7616 §3.3). */
export type DigestQop = 'auth' | 'auth-int';

/** Every supported algorithm, strongest first. */
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = [
  'SHA-512-256',
  'SHA-512-256-sess',
  'SHA-256',
  'SHA-256-sess',
  'MD5',
  'MD5-sess',
];

const NODE_HASH: Record<DigestHash, string> = { MD5: 'md5', 'SHA-256': 'sha256', 'SHA-512-256': 'sha512-256' };
const STRENGTH: Record<DigestHash, number> = { MD5: 1, 'SHA-256': 2, 'SHA-512-256': 3 };

/** Whether the running Node's crypto offers the hash behind `hash`. */
export function hashAvailable(hash: DigestHash): boolean {
  return getHashes().includes(NODE_HASH[hash]);
}

/**
 * The algorithm a challenge or credentials name: tokens compare case-insensitively
 * (RFC 7616 §3.3) and an absent `algorithm` means MD5 (RFC 7616 §3.3).
 * Returns `undefined` for an algorithm this module does not implement.
 *
 * @example
 * ```ts
 * parseAlgorithm('sha-256');  // 'SHA-256'
 * parseAlgorithm(undefined);  // 'MD5'
 * parseAlgorithm('AKAv1-MD5'); // undefined
 * ```
 */
export function parseAlgorithm(token: string | undefined): DigestAlgorithm | undefined {
  if (token === undefined) return 'MD5';
  const t = token.toUpperCase();
  for (const a of DIGEST_ALGORITHMS) if (a.toUpperCase() === t) return a;
  return undefined;
}

/** The hash function behind an algorithm: `SHA-256-sess` → `SHA-256`. */
export function hashOf(algorithm: DigestAlgorithm): DigestHash {
  return (algorithm.endsWith('-sess') ? algorithm.slice(0, -5) : algorithm) as DigestHash;
}

/** Whether `algorithm` is a session variant (HA1 depends on nonce and cnonce, RFC 7616 §3.4.2). */
export function isSessionAlgorithm(algorithm: DigestAlgorithm): boolean {
  return algorithm.endsWith('-sess');
}

/**
 * Relative strength used to pick among challenges (RFC 8760, UAC behavior: of several
 * challenges for one realm a UAC uses the strongest algorithm it supports; servers list the
 * preferred one first, RFC 7616 §3.7). SHA-512-256 > SHA-256 > MD5; higher is stronger.
 */
export function algorithmStrength(algorithm: DigestAlgorithm): number {
  return STRENGTH[hashOf(algorithm)];
}

/** H(data): the lowercase hex digest of `data` (text hashed as UTF-8). */
export function hashHex(hash: DigestHash, data: string | Uint8Array): string {
  return createHash(NODE_HASH[hash]).update(data).digest('hex');
}

/**
 * HA1 from a password: H(username ":" realm ":" password) with the hash of `algorithm`. This
 * is what a credential store keeps instead of the password, one per hash function (an HA1
 * cannot be converted from one hash to another). For a `-sess` algorithm it is the input to
 * {@link computeSessionHA1}, which {@link computeResponse} applies itself.
 *
 * @example
 * ```ts
 * computeHA1('MD5', 'bob', 'biloxi.com', 'zanzibar'); // '12af60467a33e8518da5c68bbff12b11'
 * ```
 */
export function computeHA1(algorithm: DigestAlgorithm, username: string, realm: string, password: string): string {
  return hashHex(hashOf(algorithm), `${username}:${realm}:${password}`);
}

/** HA1 for a `-sess` algorithm (RFC 7616 §3.4.2): H(HA1 ":" nonce ":" cnonce). */
export function computeSessionHA1(algorithm: DigestAlgorithm, ha1: string, nonce: string, cnonce: string): string {
  return hashHex(hashOf(algorithm), `${ha1}:${nonce}:${cnonce}`);
}

/** One HA1 per hash function: what a user store keeps (see {@link computeHA1Set}). */
export type HA1Set = Partial<Record<DigestHash, string>>;

/**
 * HA1 for every hash function (or those listed), for a store that keeps no plaintext.
 *
 * @example
 * ```ts
 * const stored = computeHA1Set('alice', 'example.com', 'secret');
 * stored['SHA-256']; // 64 hex digits
 * ```
 */
export function computeHA1Set(
  username: string,
  realm: string,
  password: string,
  hashes: readonly DigestHash[] = ['MD5', 'SHA-256', 'SHA-512-256'],
): HA1Set {
  const out: HA1Set = {};
  for (const h of hashes) out[h] = computeHA1(h, username, realm, password);
  return out;
}

/** `nc` on the wire: exactly 8 lowercase hex digits (RFC 7616 §3.4). */
export function formatNc(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`nc out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
}

/** What {@link computeResponse} needs. */
export interface DigestResponseInput {
  algorithm: DigestAlgorithm;
  /** H(username ":" realm ":" password) with the algorithm's hash; never the session HA1. */
  ha1: string;
  /** The request method (for SIP, the method of the request, never CSeq's of an ACK's INVITE). */
  method: string;
  /** The `uri` parameter exactly as sent (RFC 3261 §22.4: the Request-URI). */
  uri: string;
  nonce: string;
  /** Omit for the RFC 2069 form (no qop): then `nc` and `cnonce` are not used. */
  qop?: DigestQop;
  /** The nonce count: a number, or the 8 hex digits exactly as they appear on the wire. */
  nc?: number | string;
  cnonce?: string;
  /** The message body, hashed for `auth-int` (RFC 7616 §3.4.3); absent means empty. */
  body?: Uint8Array | string;
}

/**
 * The `response` value (RFC 7616 §3.4.1; RFC 2617 §3.2.2.1 without qop).
 * Throws `TypeError` when qop or a `-sess` algorithm needs a cnonce and none is given.
 *
 * @example
 * ```ts
 * // RFC 7616 §3.9.1
 * computeResponse({
 *   algorithm: 'SHA-256',
 *   ha1: computeHA1('SHA-256', 'Mufasa', 'http-auth@example.org', 'Circle of Life'),
 *   method: 'GET', uri: '/dir/index.html', qop: 'auth', nc: 1,
 *   nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
 *   cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
 * }); // '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1'
 * ```
 */
export function computeResponse(input: DigestResponseInput): string {
  const hash = hashOf(input.algorithm);
  const { qop, nonce } = input;
  if ((qop !== undefined || isSessionAlgorithm(input.algorithm)) && input.cnonce === undefined) {
    throw new TypeError('A cnonce is required with qop or a -sess algorithm');
  }
  const ha1 = isSessionAlgorithm(input.algorithm) ? computeSessionHA1(input.algorithm, input.ha1, nonce, input.cnonce!) : input.ha1;
  const ha2 =
    qop === 'auth-int'
      ? hashHex(hash, `${input.method}:${input.uri}:${hashHex(hash, input.body ?? '')}`)
      : hashHex(hash, `${input.method}:${input.uri}`);
  if (qop === undefined) return hashHex(hash, `${ha1}:${nonce}:${ha2}`);
  const nc = typeof input.nc === 'string' ? input.nc : formatNc(input.nc ?? 1);
  return hashHex(hash, `${ha1}:${nonce}:${nc}:${input.cnonce}:${qop}:${ha2}`);
}
