/**
 * URIs: SIP and SIPS (RFC 3261 §19.1, grammar §25.1), tel (RFC 3966) and, for any other
 * scheme, an opaque absolute URI (RFC 3261 allows them in headers, §20.10; RFC 4475 §3.3.2–3.3.4).
 *
 * ```
 * SIP-URI  = "sip:" [ userinfo ] hostport uri-parameters [ headers ]
 * userinfo = ( user / telephone-subscriber ) [ ":" password ] "@"
 * hostport = host [ ":" port ]        host = hostname / IPv4address / IPv6reference
 * uri-parameters = *( ";" uri-parameter )   headers = "?" header *( "&" header )
 * ```
 *
 * Components are held decoded (`%41` → `A`, UTF-8 sequences → text) and escaped again on
 * output only where the grammar requires it, so `value%2541` decodes once to `value%41`
 * and never to `valueA` (RFC 4475 §3.1.1.3).
 */
import {
  HNVCHAR,
  HOSTCHAR,
  PARAMCHAR,
  PASSWORD,
  SCHEME,
  URIC,
  USER,
  equalsIgnoreCase,
  isAlpha,
  isDigit,
  isHex,
  isIn,
} from './chars.js';
import { SipParseError } from './errors.js';
import { Params } from './params.js';

/** What kind of host a SIP URI names. */
export type HostKind = 'name' | 'ipv4' | 'ipv6';

/**
 * A `sip:` or `sips:` URI.
 *
 * @example
 * ```ts
 * const uri = parseUri('sip:alice@example.com:5070;transport=tcp') as SipUri;
 * uri.user; // 'alice'
 * uri.port; // 5070
 * uri.params.get('transport'); // 'tcp'
 * ```
 */
export class SipUri {
  readonly kind = 'sip' as const;
  scheme: 'sip' | 'sips';
  // userinfo is held in a canonical wire form: escapes of characters outside RFC 2396's
  // reserved set are decoded, escapes of reserved characters (and of '%' and non-ASCII bytes)
  // are kept, upper-cased. §19.1.4 makes `a%3Bb` and `a;b` different users but `%41` and `A`
  // the same, so equality compares this form, and serialization writes it.
  private userKey: string | undefined;
  private passwordKey: string | undefined;
  /** Host name, IPv4 address, or IPv6 address without its brackets. */
  host: string;
  /** Port, or `undefined` when absent (the default then depends on transport, §19.1.2). */
  port: number | undefined;
  /** uri-parameters, names and values decoded. */
  params: Params;
  /** Header components (`?subject=x&priority=urgent`), decoded. */
  headers: Params;

  constructor(init: {
    scheme?: 'sip' | 'sips';
    user?: string | undefined;
    password?: string | undefined;
    host: string;
    port?: number | undefined;
    params?: Params | Record<string, string | null>;
    headers?: Params | Record<string, string>;
  }) {
    this.scheme = init.scheme ?? 'sip';
    this.userKey = init.user === undefined ? undefined : keyFromText(init.user, USER);
    this.passwordKey = init.password === undefined ? undefined : keyFromText(init.password, PASSWORD);
    let host = init.host;
    if (host.length > 1 && host[0] === '[' && host[host.length - 1] === ']') host = host.slice(1, -1);
    this.host = host;
    this.port = init.port;
    this.params = toUriParams(init.params);
    this.headers = toUriParams(init.headers);
  }

  /** The user part, decoded; `undefined` when the URI has no userinfo. */
  get user(): string | undefined {
    return this.userKey === undefined ? undefined : textFromKey(this.userKey);
  }

  set user(value: string | undefined) {
    this.userKey = value === undefined ? undefined : keyFromText(value, USER);
  }

  /** The password, decoded (its use is NOT RECOMMENDED, §19.1.1). */
  get password(): string | undefined {
    return this.passwordKey === undefined ? undefined : textFromKey(this.passwordKey);
  }

  set password(value: string | undefined) {
    this.passwordKey = value === undefined ? undefined : keyFromText(value, PASSWORD);
  }

  /** @internal Canonical userinfo forms, for comparison (§19.1.4). */
  _userinfoKeys(): [string | undefined, string | undefined] {
    return [this.userKey, this.passwordKey];
  }

  /** @internal Sets userinfo from canonical forms (parser). */
  _setUserinfoKeys(user: string | undefined, password: string | undefined): void {
    this.userKey = user;
    this.passwordKey = password;
  }

  /** Kind of host: a name, an IPv4 address or an IPv6 address. */
  get hostKind(): HostKind {
    return hostKindOf(this.host);
  }

  /** `host` or `[v6]`, and `:port` when there is one. */
  get hostport(): string {
    const h = this.hostKind === 'ipv6' ? `[${this.host}]` : this.host;
    return this.port === undefined ? h : `${h}:${this.port}`;
  }

  /** The `transport` parameter, lower-cased, if present. */
  get transport(): string | undefined {
    const t = this.params.get('transport');
    return typeof t === 'string' ? t.toLowerCase() : undefined;
  }

  /** Whether the `lr` (loose routing, §16.12) parameter is present. */
  get lr(): boolean {
    return this.params.has('lr');
  }

  clone(): SipUri {
    const copy = new SipUri({
      scheme: this.scheme,
      host: this.host,
      port: this.port,
      params: this.params.clone(),
      headers: this.headers.clone(),
    });
    copy._setUserinfoKeys(this.userKey, this.passwordKey);
    return copy;
  }

  /** Equality per RFC 3261 §19.1.4. */
  equals(other: Uri): boolean {
    return uriEquals(this, other);
  }

  toString(): string {
    let s = this.scheme + ':';
    if (this.userKey !== undefined) {
      s += wireFromKey(this.userKey, USER);
      if (this.passwordKey !== undefined) s += ':' + wireFromKey(this.passwordKey, PASSWORD);
      s += '@';
    }
    s += this.hostport;
    for (let i = 0; i < this.params.names.length; i++) {
      const v = this.params.values[i];
      s += ';' + escape(this.params.names[i]!, PARAMCHAR);
      if (v !== null && v !== undefined) s += '=' + escape(v, PARAMCHAR);
    }
    for (let i = 0; i < this.headers.names.length; i++) {
      s += (i === 0 ? '?' : '&') + escape(this.headers.names[i]!, HNVCHAR) + '=' + escape(this.headers.values[i] ?? '', HNVCHAR);
    }
    return s;
  }
}

/**
 * A `tel:` URI (RFC 3966): a global (`+1-201-555-0123`) or local number with parameters
 * (`ext`, `isub`, `phone-context`).
 */
export class TelUri {
  readonly kind = 'tel' as const;
  readonly scheme = 'tel' as const;
  /** The number as written, visual separators included. */
  number: string;
  params: Params;

  constructor(number: string, params?: Params | Record<string, string | null>) {
    this.number = number;
    this.params = toUriParams(params);
  }

  /** Whether the number is global (starts with `+`). */
  get global(): boolean {
    return this.number.startsWith('+');
  }

  /** The number without visual separators (`-`, `.`, `(`, `)`), as RFC 3966 §4 compares it. */
  get digits(): string {
    let out = '';
    for (const c of this.number) if (c !== '-' && c !== '.' && c !== '(' && c !== ')') out += c;
    return out;
  }

  clone(): TelUri {
    return new TelUri(this.number, this.params.clone());
  }

  equals(other: Uri): boolean {
    return uriEquals(this, other);
  }

  toString(): string {
    let s = 'tel:' + this.number;
    for (let i = 0; i < this.params.names.length; i++) {
      const v = this.params.values[i];
      s += ';' + escape(this.params.names[i]!, PARAMCHAR);
      if (v !== null && v !== undefined) s += '=' + escape(v, PARAMCHAR);
    }
    return s;
  }
}

/** Any other absolute URI (`http:…`, `urn:…`, `isbn:…`), kept opaque. */
export class AbsoluteUri {
  readonly kind = 'absolute' as const;
  /** Scheme, lower-cased. */
  readonly scheme: string;
  /** Everything after the colon, as on the wire. */
  readonly rest: string;

  constructor(scheme: string, rest: string) {
    this.scheme = scheme.toLowerCase();
    this.rest = rest;
  }

  clone(): AbsoluteUri {
    return new AbsoluteUri(this.scheme, this.rest);
  }

  equals(other: Uri): boolean {
    return uriEquals(this, other);
  }

  toString(): string {
    return `${this.scheme}:${this.rest}`;
  }
}

/** Any URI the message layer understands. */
export type Uri = SipUri | TelUri | AbsoluteUri;

function toUriParams(p: Params | Record<string, string | null> | undefined): Params {
  if (p instanceof Params) return p;
  const out = new Params(false);
  if (p) for (const [k, v] of Object.entries(p)) out.setRaw(k, v);
  return out;
}

function hostKindOf(host: string): HostKind {
  if (host.indexOf(':') >= 0) return 'ipv6';
  return isIPv4(host, 0, host.length) ? 'ipv4' : 'name';
}

/** IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT, each at most 255. */
export function isIPv4(s: string, start: number, end: number): boolean {
  let parts = 0;
  let i = start;
  while (i < end) {
    let n = 0;
    let digits = 0;
    while (i < end && isDigit(s.charCodeAt(i))) {
      n = n * 10 + s.charCodeAt(i) - 0x30;
      digits++;
      i++;
    }
    if (digits === 0 || digits > 3 || n > 255) return false;
    parts++;
    if (i === end) break;
    if (s.charCodeAt(i) !== 0x2e || parts === 4) return false;
    i++;
    if (i === end) return false;
  }
  return parts === 4;
}

/**
 * IPv6address (RFC 4291 text form, with an optional IPv4 tail). RFC 5118 §4.10: the RFC 3261
 * grammar wrongly allows three colons (`2001:db8:::192.0.2.1`); we accept that form too, as
 * RFC 5118 asks, but nothing looser.
 */
export function isIPv6(s: string, start: number, end: number): boolean {
  if (end - start < 2) return false;
  let groups = 0;
  let doubleColon = false;
  let i = start;
  if (s.charCodeAt(i) === 0x3a) {
    if (s.charCodeAt(i + 1) !== 0x3a) return false;
  }
  while (i < end) {
    if (s.charCodeAt(i) === 0x3a) {
      let colons = 0;
      while (i < end && s.charCodeAt(i) === 0x3a) {
        colons++;
        i++;
      }
      if (colons > 3) return false;
      if (colons >= 2) {
        if (doubleColon) return false;
        doubleColon = true;
      } else if (i === start + 1) return false;
      if (colons === 1 && i === end) return false;
      continue;
    }
    // A group: up to 4 hex digits, or a dotted IPv4 tail.
    const g = i;
    while (i < end && isHex(s.charCodeAt(i))) i++;
    if (i < end && s.charCodeAt(i) === 0x2e) {
      let j = i;
      while (j < end && s.charCodeAt(j) !== 0x3a) j++;
      if (j !== end || !isIPv4(s, g, end)) return false;
      groups += 2;
      i = end;
      break;
    }
    if (i - g === 0 || i - g > 4) return false;
    groups++;
    if (i < end && s.charCodeAt(i) !== 0x3a) return false;
  }
  return doubleColon ? groups <= 7 : groups === 8;
}

function isHostname(s: string, start: number, end: number): boolean {
  if (start >= end) return false;
  const first = s.charCodeAt(start);
  if (first === 0x2e || first === 0x2d) return false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    // '_' is outside the RFC 1034 grammar but common in deployed host names.
    if (!(isIn(HOSTCHAR, c) || c === 0x5f)) return false;
  }
  return true;
}

/** Percent-decodes `s[start..end)`, checking that every unescaped char is in `allowed`. */
function decode(s: string, start: number, end: number, allowed: Uint8Array, what: string): string {
  let hasEscape = false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      if (i + 2 >= end || !isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) {
        throw new SipParseError(`Bad %-escape in URI ${what}`);
      }
      hasEscape = true;
      i += 2;
    } else if (!isIn(allowed, c)) {
      throw new SipParseError(`Invalid character in URI ${what}`);
    }
  }
  if (!hasEscape) return s.slice(start, end);
  const bytes: number[] = [];
  let ascii = true;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const b = parseInt(s.slice(i + 1, i + 3), 16);
      if (b > 0x7f) ascii = false;
      bytes.push(b);
      i += 2;
    } else bytes.push(c);
  }
  return Buffer.from(bytes).toString(ascii ? 'latin1' : 'utf8');
}

const HEXDIGITS = '0123456789ABCDEF';

/** RFC 2396 reserved characters, plus '%' itself: kept escaped in canonical userinfo. */
const KEEP_ESCAPED = (() => {
  const t = new Uint8Array(256).fill(1);
  for (let c = 0x20; c < 0x7f; c++) t[c] = 0;
  for (const ch of ';/?:@&=+$,%') t[ch.charCodeAt(0)] = 1;
  for (let c = 0; c < 0x20; c++) t[c] = 0;
  t[0x7f] = 0;
  return t;
})();

function hex2(b: number): string {
  return '%' + HEXDIGITS[b >> 4]! + HEXDIGITS[b & 15]!;
}

/** Canonical form of a wire userinfo component (see SipUri): escapes already validated. */
function keyFromWire(s: string, start: number, end: number): string {
  if (s.indexOf('%', start) < 0 || s.indexOf('%', start) >= end) return s.slice(start, end);
  let out = '';
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const b = parseInt(s.slice(i + 1, i + 3), 16);
      out += KEEP_ESCAPED[b] === 1 ? hex2(b) : String.fromCharCode(b);
      i += 2;
    } else out += s[i];
  }
  return out;
}

/**
 * Canonical form of a userinfo component given as text: '%', non-ASCII bytes, and reserved
 * characters the component does not allow literally (which the wire form must escape) are
 * escaped; so the form is the same whether the URI was built or parsed back.
 */
function keyFromText(text: string, allowed: Uint8Array): string {
  let plain = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 || c > 0x7f || (KEEP_ESCAPED[c] === 1 && allowed[c] !== 1)) {
      plain = false;
      break;
    }
  }
  if (plain) return text;
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) out += b === 0x25 || b > 0x7f || (KEEP_ESCAPED[b] === 1 && allowed[b] !== 1) ? hex2(b) : String.fromCharCode(b);
  return out;
}

/** Text of a canonical userinfo component: every escape decoded (as UTF-8). */
function textFromKey(key: string): string {
  if (key.indexOf('%') < 0) return key;
  const bytes: number[] = [];
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c === 0x25) {
      bytes.push(parseInt(key.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Wire form of a canonical userinfo component: its escapes as they are, other bytes escaped where `allowed` says. */
function wireFromKey(key: string, allowed: Uint8Array): string {
  let out = '';
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c === 0x25) {
      out += key.slice(i, i + 3);
      i += 2;
    } else if (c < 128 && allowed[c] === 1) out += key[i];
    else out += hex2(c);
  }
  return out;
}

/** Escapes every byte of `s` (as UTF-8) that `allowed` does not contain. */
export function escape(s: string, allowed: Uint8Array): string {
  let ok = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || allowed[c] !== 1) {
      ok = false;
      break;
    }
  }
  if (ok) return s;
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b < 128 && allowed[b] === 1) out += String.fromCharCode(b);
    else out += '%' + HEXDIGITS[b >> 4]! + HEXDIGITS[b & 15]!;
  }
  return out;
}

/**
 * Parses a URI. SIP/SIPS and tel URIs are parsed fully; any other scheme becomes an
 * {@link AbsoluteUri}. Throws {@link SipParseError} on malformed input.
 *
 * @example
 * ```ts
 * parseUri('sips:[2001:db8::10]:5061').toString(); // 'sips:[2001:db8::10]:5061'
 * parseUri('tel:+1-201-555-0123').kind;           // 'tel'
 * ```
 */
export function parseUri(s: string, start = 0, end = s.length): Uri {
  const colon = s.indexOf(':', start);
  if (colon < 0 || colon >= end || colon === start) throw new SipParseError('URI without a scheme');
  if (!isAlpha(s.charCodeAt(start))) throw new SipParseError('URI scheme must start with a letter');
  for (let i = start + 1; i < colon; i++) {
    if (!isIn(SCHEME, s.charCodeAt(i))) throw new SipParseError('Invalid URI scheme');
  }
  const schemeLen = colon - start;
  if (schemeLen === 3 && equalsIgnoreCase(s.slice(start, colon), 'sip')) return parseSipUri(s, colon + 1, end, 'sip');
  if (schemeLen === 4 && equalsIgnoreCase(s.slice(start, colon), 'sips')) return parseSipUri(s, colon + 1, end, 'sips');
  if (schemeLen === 3 && equalsIgnoreCase(s.slice(start, colon), 'tel')) return parseTelUri(s, colon + 1, end);
  if (colon + 1 >= end) throw new SipParseError('Empty URI');
  for (let i = colon + 1; i < end; i++) {
    const c = s.charCodeAt(i);
    if (!isIn(URIC, c)) throw new SipParseError('Invalid character in URI');
    if (c === 0x25 && !(i + 2 < end && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2)))) {
      throw new SipParseError('Bad %-escape in URI');
    }
  }
  return new AbsoluteUri(s.slice(start, colon), s.slice(colon + 1, end));
}

function parseSipUri(s: string, start: number, end: number, scheme: 'sip' | 'sips'): SipUri {
  let user: string | undefined;
  let password: string | undefined;
  let i = start;
  // The user part may contain ';', '?', '/' and ':' (user-unreserved), but never a raw '@',
  // so the first '@' ends the userinfo.
  const at = s.indexOf('@', start);
  if (at >= 0 && at < end) {
    let pc = s.indexOf(':', start);
    if (pc > at) pc = -1;
    const userEnd = pc >= 0 ? pc : at;
    if (userEnd === start) throw new SipParseError('Empty user part in SIP URI');
    decode(s, start, userEnd, USER, 'user part'); // validates characters and escapes
    user = keyFromWire(s, start, userEnd);
    if (pc >= 0) {
      decode(s, pc + 1, at, PASSWORD, 'password');
      password = keyFromWire(s, pc + 1, at);
    }
    i = at + 1;
  }
  // host
  let host: string;
  if (s.charCodeAt(i) === 0x5b) {
    const close = s.indexOf(']', i);
    if (close < 0 || close >= end) throw new SipParseError('Unterminated IPv6 reference in SIP URI');
    if (!isIPv6(s, i + 1, close)) throw new SipParseError('Invalid IPv6 reference in SIP URI');
    host = s.slice(i + 1, close);
    i = close + 1;
  } else {
    const h = i;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c === 0x3a || c === 0x3b || c === 0x3f) break;
      i++;
    }
    if (!isHostname(s, h, i)) throw new SipParseError(i === h ? 'SIP URI without a host' : 'Invalid host in SIP URI');
    host = s.slice(h, i);
  }
  // port
  let port: number | undefined;
  if (i < end && s.charCodeAt(i) === 0x3a) {
    i++;
    const p = i;
    let n = 0;
    while (i < end && isDigit(s.charCodeAt(i))) {
      n = n * 10 + s.charCodeAt(i) - 0x30;
      i++;
    }
    if (i === p || i - p > 5 || n > 65535) throw new SipParseError('Invalid port in SIP URI');
    port = n;
  }
  const params = new Params(false);
  while (i < end && s.charCodeAt(i) === 0x3b) {
    i++;
    const n = i;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c === 0x3b || c === 0x3f || c === 0x3d) break;
      i++;
    }
    if (i === n) throw new SipParseError('Empty URI parameter');
    const name = decode(s, n, i, PARAMCHAR, 'parameter');
    let value: string | null = null;
    if (i < end && s.charCodeAt(i) === 0x3d) {
      i++;
      const v = i;
      while (i < end) {
        const c = s.charCodeAt(i);
        if (c === 0x3b || c === 0x3f) break;
        i++;
      }
      if (i === v) throw new SipParseError('Empty URI parameter value');
      value = decode(s, v, i, PARAMCHAR, 'parameter');
    }
    params.names.push(name);
    params.values.push(value);
  }
  const headers = new Params(false);
  if (i < end && s.charCodeAt(i) === 0x3f) {
    i++;
    for (;;) {
      const n = i;
      while (i < end && s.charCodeAt(i) !== 0x3d && s.charCodeAt(i) !== 0x26) i++;
      if (i === n || i >= end || s.charCodeAt(i) !== 0x3d) throw new SipParseError('Invalid URI header');
      const name = decode(s, n, i, HNVCHAR, 'header');
      i++;
      const v = i;
      while (i < end && s.charCodeAt(i) !== 0x26) i++;
      const value = decode(s, v, i, HNVCHAR, 'header');
      headers.names.push(name);
      headers.values.push(value);
      if (i >= end) break;
      i++;
    }
  }
  if (i !== end) throw new SipParseError('Invalid character in SIP URI');
  const uri = new SipUri({ scheme, host, port, params, headers });
  uri._setUserinfoKeys(user, password);
  return uri;
}

/** Visual separators and digits of a tel number (RFC 3966 §3). */
function isTelChar(c: number): boolean {
  return isHex(c) || c === 0x2d || c === 0x2e || c === 0x28 || c === 0x29 || c === 0x2a || c === 0x23 || c === 0x2b;
}

function parseTelUri(s: string, start: number, end: number): TelUri {
  let i = start;
  while (i < end && isTelChar(s.charCodeAt(i))) i++;
  if (i === start) throw new SipParseError('tel URI without a number');
  const number = s.slice(start, i);
  if (number.lastIndexOf('+') > 0) throw new SipParseError('Invalid tel URI number');
  const params = new Params(false);
  while (i < end) {
    if (s.charCodeAt(i) !== 0x3b) throw new SipParseError('Invalid character in tel URI');
    i++;
    const n = i;
    while (i < end && s.charCodeAt(i) !== 0x3b && s.charCodeAt(i) !== 0x3d) i++;
    if (i === n) throw new SipParseError('Empty tel URI parameter');
    const name = decode(s, n, i, PARAMCHAR, 'parameter');
    let value: string | null = null;
    if (i < end && s.charCodeAt(i) === 0x3d) {
      i++;
      const v = i;
      while (i < end && s.charCodeAt(i) !== 0x3b) i++;
      value = decode(s, v, i, PARAMCHAR, 'parameter');
    }
    params.names.push(name);
    params.values.push(value);
  }
  return new TelUri(number, params);
}

/** Parameters whose presence in only one of two SIP URIs makes them differ (§19.1.4). */
const STRICT_PARAMS = ['user', 'ttl', 'method', 'maddr', 'transport'];

/**
 * URI equality per RFC 3261 §19.1.4 (SIP/SIPS) and RFC 3966 §4 (tel): userinfo is compared
 * case-sensitively, everything else case-insensitively, escapes are compared decoded, the
 * order of parameters does not matter, `user`/`ttl`/`method`/`maddr`/`transport` must match
 * when either URI has them, other parameters only when both have them, and headers must
 * match exactly. A URI that omits a port or transport does not equal one that states the
 * default explicitly.
 */
export function uriEquals(a: Uri, b: Uri): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'sip' && b.kind === 'sip') {
    if (a.scheme !== b.scheme) return false;
    const [au, ap] = a._userinfoKeys();
    const [bu, bp] = b._userinfoKeys();
    if (au !== bu || ap !== bp) return false;
    if (!equalsIgnoreCase(a.host, b.host)) return false;
    if (a.port !== b.port) return false;
    for (const name of STRICT_PARAMS) {
      const x = a.params.get(name);
      const y = b.params.get(name);
      if (x === undefined && y === undefined) continue;
      if (x === undefined || y === undefined) return false;
      if (!equalsIgnoreCase(x ?? '', y ?? '') || (x === null) !== (y === null)) return false;
    }
    // Parameters and headers are compared by name, first occurrence (get), so a URI that
    // repeats a name still equals itself.
    for (let i = 0; i < a.params.names.length; i++) {
      const name = a.params.names[i]!;
      const y = b.params.get(name);
      if (y === undefined) continue;
      const x = a.params.get(name)!;
      if ((x === null) !== (y === null) || !equalsIgnoreCase(x ?? '', y ?? '')) return false;
    }
    if (a.headers.size !== b.headers.size) return false;
    for (let i = 0; i < a.headers.names.length; i++) {
      const name = a.headers.names[i]!;
      const y = b.headers.get(name);
      if (y === undefined || y !== a.headers.get(name)) return false;
    }
    return true;
  }
  if (a.kind === 'tel' && b.kind === 'tel') {
    if (!equalsIgnoreCase(a.digits, b.digits)) return false;
    if (a.params.size !== b.params.size) return false;
    for (let i = 0; i < a.params.names.length; i++) {
      const name = a.params.names[i]!;
      const y = b.params.get(name);
      const x = a.params.get(name)!;
      if (y === undefined || (x === null) !== (y === null) || !equalsIgnoreCase(x ?? '', y ?? '')) return false;
    }
    return true;
  }
  if (a.kind === 'absolute' && b.kind === 'absolute') return a.scheme === b.scheme && a.rest === b.rest;
  return false;
}
