/**
 * WWW-Authenticate, Proxy-Authenticate, Authorization and Proxy-Authorization values
 * (RFC 3261 §20.7, §20.27, §20.28, §20.44, §25.1; digest parameters from RFC 7616/8760):
 *
 * ```
 * challenge   = ("Digest" LWS digest-cln *(COMMA digest-cln)) / other-challenge
 * credentials = ("Digest" LWS dig-resp *(COMMA dig-resp)) / other-response
 * auth-param  = auth-param-name EQUAL ( token / quoted-string )
 * ```
 * Parameters are kept in order with their raw values (quoted ones keep their quotes) so a
 * proxy can forward an Authorization header it does not understand unchanged
 * (RFC 4475 §3.3.7); `params.get` returns values unquoted.
 */
import { SipParseError } from './errors.js';
import { scanToken, skipWs } from './lexer.js';
import { Params } from './params.js';
import { scanQuoted } from './quoted-string.js';
import { equalsIgnoreCase } from './chars.js';

/**
 * A challenge or a set of credentials.
 *
 * @example
 * ```ts
 * const c = parseAuthHeader('Digest realm="atlanta.com", nonce="84a4cc6f", algorithm=SHA-256, qop="auth"');
 * c.scheme;              // 'Digest'
 * c.params.get('realm'); // 'atlanta.com'
 * c.qop;                 // ['auth']
 * ```
 */
export class AuthHeader {
  /** Scheme as sent (`Digest`); compare case-insensitively. */
  scheme: string;
  params: Params;
  /** A token68 value for schemes that use one instead of parameters (RFC 7235 §2.1). */
  token68: string | undefined;

  constructor(scheme: string, params?: Params | Record<string, string | null>, token68?: string) {
    this.scheme = scheme;
    this.params = params instanceof Params ? params : Params.from(params ?? {});
    this.token68 = token68;
  }

  get isDigest(): boolean {
    return equalsIgnoreCase(this.scheme, 'Digest');
  }

  private str(name: string): string | undefined {
    const v = this.params.get(name);
    return typeof v === 'string' ? v : undefined;
  }

  get realm(): string | undefined {
    return this.str('realm');
  }
  get nonce(): string | undefined {
    return this.str('nonce');
  }
  get opaque(): string | undefined {
    return this.str('opaque');
  }
  /** Algorithm as sent; RFC 3261 §20.27: MD5 when absent. */
  get algorithm(): string | undefined {
    return this.str('algorithm');
  }
  get username(): string | undefined {
    return this.str('username');
  }
  get uri(): string | undefined {
    return this.str('uri');
  }
  get response(): string | undefined {
    return this.str('response');
  }
  get cnonce(): string | undefined {
    return this.str('cnonce');
  }
  /** `nc` as a number (8 hex digits on the wire). */
  get nc(): number | undefined {
    const v = this.str('nc');
    if (v === undefined || v.length === 0 || v.length > 8) return undefined;
    const n = parseInt(v, 16);
    return Number.isNaN(n) ? undefined : n;
  }
  /** qop options of a challenge (`"auth,auth-int"`) or the single qop of credentials. */
  get qop(): string[] {
    const v = this.str('qop');
    if (v === undefined) return [];
    return v
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x.length > 0);
  }
  /** `stale=true` in a challenge (RFC 3261 §20.44, RFC 7616 §3.3). */
  get stale(): boolean {
    const v = this.str('stale');
    return v !== undefined && equalsIgnoreCase(v, 'true');
  }

  clone(): AuthHeader {
    return new AuthHeader(this.scheme, this.params.clone(), this.token68);
  }

  /** `Digest a="x", b=y`: parameters joined by `, ` in their order, raw values as stored. */
  toString(): string {
    if (this.token68 !== undefined) return `${this.scheme} ${this.token68}`;
    const parts: string[] = [];
    for (let i = 0; i < this.params.names.length; i++) {
      const v = this.params.values[i];
      parts.push(v === null || v === undefined ? this.params.names[i]! : `${this.params.names[i]}=${v}`);
    }
    return parts.length === 0 ? this.scheme : `${this.scheme} ${parts.join(', ')}`;
  }
}

function isToken68Char(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e || c === 0x2b || c === 0x2f
  );
}

/** Parses one challenge or credentials value. Throws {@link SipParseError}. */
export function parseAuthHeader(s: string): AuthHeader {
  const end = s.length;
  let i = skipWs(s, 0, end);
  const t = scanToken(s, i, end);
  if (t === i) throw new SipParseError('Missing authentication scheme');
  const scheme = s.slice(i, t);
  i = skipWs(s, t, end);
  const params = new Params();
  if (i >= end) return new AuthHeader(scheme, params);
  if (i === t) throw new SipParseError('Missing space after authentication scheme');
  // token68 form (RFC 7235 §2.1): one opaque value — 1*( ALPHA / DIGIT / "-" / "." / "_" /
  // "~" / "+" / "/" ) *"=" — and nothing after it. Digest always uses parameters.
  if (!equalsIgnoreCase(scheme, 'Digest')) {
    let k = i;
    while (k < end && isToken68Char(s.charCodeAt(k))) k++;
    const body = k;
    while (k < end && s.charCodeAt(k) === 0x3d) k++;
    if (body > i && skipWs(s, k, end) === end) return new AuthHeader(scheme, params, s.slice(i, k));
  }
  for (;;) {
    const n = i;
    i = scanToken(s, i, end);
    if (i === n) throw new SipParseError('Invalid authentication parameter');
    const name = s.slice(n, i);
    i = skipWs(s, i, end);
    if (i >= end || s.charCodeAt(i) !== 0x3d) throw new SipParseError(`Authentication parameter ${name} has no value`);
    i = skipWs(s, i + 1, end);
    const v = i;
    if (s.charCodeAt(i) === 0x22) {
      i = scanQuoted(s, i, end);
      if (i < 0) throw new SipParseError('Unterminated quoted string in authentication header');
    } else {
      i = scanToken(s, i, end);
      // RFC 7616 allows a trailing token68-style '=' padding only in token68; tokens stop here.
      if (i === v) throw new SipParseError(`Empty value for authentication parameter ${name}`);
    }
    params.names.push(name);
    params.values.push(s.slice(v, i));
    i = skipWs(s, i, end);
    if (i >= end) break;
    if (s.charCodeAt(i) !== 0x2c) throw new SipParseError('Expected , between authentication parameters');
    i = skipWs(s, i + 1, end);
  }
  return new AuthHeader(scheme, params);
}
