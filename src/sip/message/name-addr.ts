/**
 * name-addr / addr-spec with header parameters: the value form of From, To, Contact, Route,
 * Record-Route, Reply-To, Refer-To, Referred-By and P-Asserted-Identity (RFC 3261 §20.10,
 * §25.1):
 *
 * ```
 * ( name-addr / addr-spec ) *( SEMI param )
 * name-addr    = [ display-name ] LAQUOT addr-spec RAQUOT
 * display-name = *( token LWS ) / quoted-string
 * ```
 *
 * Without angle brackets every `;param` belongs to the header, not to the URI (§20.10), so a
 * bare addr-spec ends at its first `;` and may not contain `?` or `,`.
 */
import { SCHEME, TOKEN, isAlpha, isIn, isWs } from './chars.js';
import { SipParseError } from './errors.js';
import { checkParams, parseParams, skipWs, watched } from './lexer.js';
import { Params } from './params.js';
import { quote, scanQuoted, unquote } from './quoted-string.js';
import { parseUri, type Uri } from './uri.js';

/**
 * An address with optional display name and header parameters.
 *
 * @example
 * ```ts
 * const from = parseNameAddr('"Alice" <sip:alice@example.com>;tag=1928301774');
 * from.displayName; // 'Alice'
 * from.tag;         // '1928301774'
 * String(from.uri); // 'sip:alice@example.com'
 * ```
 */
export class NameAddr {
  /** Display name, unquoted (quoted-pairs resolved); `undefined` when absent. */
  displayName: string | undefined;
  // A parsed address keeps its parameter text (`src[ps..pe)`, already checked) and builds
  // `Params` on first use of `params`; `tag` reads its value in place from the position the
  // check recorded (-1: absent, start === end: no value).
  private _params: Params | undefined;
  private _src: string;
  private _ps = 0;
  private _pe = 0;
  private _t0 = -1;
  private _t1 = -1;
  // The URI is parsed on first use: From and To are read for their tags far more often than
  // for their URIs, and a URI parse is the most expensive part of an address. Its text is
  // `src[us..ue)`, sliced only when needed: parsing in place from the flat header-section
  // string is ~30% faster than from a slice of it (a V8 sliced string).
  private _us: number;
  private _ue: number;
  private uriValue: Uri | undefined;

  /** `uri` may be given as text, which is parsed (and checked) on first access. */
  constructor(uri: Uri | string, displayName?: string, params?: Params | Record<string, string | null>) {
    if (typeof uri === 'string') {
      this._src = uri;
      this._us = 0;
      this._ue = uri.length;
      this.uriValue = undefined;
    } else {
      this._src = '';
      this._us = 0;
      this._ue = 0;
      this.uriValue = uri;
    }
    this.displayName = displayName;
    this._params = params === undefined ? undefined : params instanceof Params ? params : Params.from(params);
  }

  /** @internal Set by the parser: where the URI and the checked parameter text lie in `src`. */
  _setRaw(src: string, us: number, ue: number, ps: number, pe: number, t0: number, t1: number): void {
    this._src = src;
    this._us = us;
    this._ue = ue;
    this._ps = ps;
    this._pe = pe;
    this._t0 = t0;
    this._t1 = t1;
  }

  /** Header parameters (`tag`, `expires`, `q`, …). */
  get params(): Params {
    let p = this._params;
    if (p === undefined) {
      p = new Params();
      if (this._ps < this._pe) parseParams(this._src, this._ps, this._pe, p);
      this._params = p;
    }
    return p;
  }

  set params(p: Params) {
    this._params = p;
  }

  /** The address's URI. Throws {@link SipParseError} if it was received malformed. */
  get uri(): Uri {
    if (this.uriValue === undefined) this.uriValue = parseUri(this._src, this._us, this._ue);
    return this.uriValue;
  }

  set uri(u: Uri) {
    this.uriValue = u;
  }

  /** The `tag` parameter (From/To, §19.3). */
  get tag(): string | undefined {
    if (this._params === undefined) {
      const a = this._t0;
      const b = this._t1;
      return a < b ? unquote(this._src.slice(a, b)) : undefined;
    }
    const t = this._params.get('tag');
    return typeof t === 'string' ? t : undefined;
  }

  set tag(value: string | undefined) {
    if (value === undefined) this.params.delete('tag');
    else this.params.set('tag', value);
  }

  clone(): NameAddr {
    return new NameAddr(this.uriValue !== undefined ? this.uriValue.clone() : this._src.slice(this._us, this._ue), this.displayName, this.params.clone());
  }

  /** Always written in name-addr form, with the display name quoted unless it is a plain token. */
  toString(): string {
    let s = '';
    if (this.displayName !== undefined && this.displayName !== '') {
      s = isTokenWords(this.displayName) ? this.displayName + ' ' : quote(this.displayName) + ' ';
    }
    const uri = this.uriValue !== undefined ? this.uriValue.toString() : this._src.slice(this._us, this._ue);
    return s + '<' + uri + '>' + this.params.toString();
  }
}

/** `token *(SP token)`: a display name that needs no quotes. */
function isTokenWords(s: string): boolean {
  if (s.length === 0 || s[0] === ' ' || s[s.length - 1] === ' ') return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x20) {
      if (s.charCodeAt(i - 1) === 0x20) return false;
    } else if (!isIn(TOKEN, c)) return false;
  }
  return true;
}

/**
 * Parses one `( name-addr / addr-spec ) *( SEMI param )` value (already split from its list).
 * Throws {@link SipParseError}.
 */
export function parseNameAddr(s: string, start = 0, end = s.length): NameAddr {
  return parseNameAddrAt(s, start, end, true);
}

/**
 * parseNameAddr, optionally without the structural URI check (`checkUri` false), for callers
 * that parse the URI at once and fall back to the checked parse on error. @internal
 */
export function parseNameAddrAt(s: string, start: number, end: number, checkUri: boolean): NameAddr {
  let i = skipWs(s, start, end);
  let displayName: string | undefined;
  let uriStart: number;
  let uriEnd: number;
  if (i < end && s.charCodeAt(i) === 0x22) {
    const q = scanQuoted(s, i, end);
    if (q < 0) throw new SipParseError('Unterminated quoted display name');
    displayName = unquote(s.slice(i, q));
    i = skipWs(s, q, end);
    if (i >= end || s.charCodeAt(i) !== 0x3c) throw new SipParseError('Expected < after display name');
  }
  let lt = -1;
  if (i < end && s.charCodeAt(i) === 0x3c) lt = i;
  else if (displayName === undefined) {
    // display-name = *(token LWS) directly before '<'. A bare addr-spec instead starts with a
    // scheme, whose token run stops at ':' (RFC 4475 §3.1.1.6 allows no LWS before '<').
    let k = i;
    let sawWs = false;
    while (k < end) {
      const c = s.charCodeAt(k);
      if (isIn(TOKEN, c)) k++;
      else if (isWs(c)) {
        sawWs = true;
        k++;
      } else break;
    }
    if (k < end && s.charCodeAt(k) === 0x3c) {
      let b = k;
      while (b > i && isWs(s.charCodeAt(b - 1))) b--;
      if (b > i) displayName = s.slice(i, b);
      lt = k;
    } else if (!(k < end && s.charCodeAt(k) === 0x3a && !sawWs) && hasLt(s, k, end)) {
      // Words, then something that is neither '<' nor a scheme's ':', then a '<' later:
      // an unquoted display name with non-token characters (RFC 4475 §3.1.2.15).
      throw new SipParseError('Display name must be quoted');
    }
  }
  if (lt >= 0) {
    uriStart = lt + 1;
    uriEnd = s.indexOf('>', uriStart);
    if (uriEnd < 0 || uriEnd >= end) throw new SipParseError('Unterminated <');
    // No LWS inside the brackets (RFC 4475 §3.1.2.14).
    if (uriEnd === uriStart || isWs(s.charCodeAt(uriStart)) || isWs(s.charCodeAt(uriEnd - 1))) {
      throw new SipParseError('Invalid addr-spec inside <>');
    }
    if (checkUri) checkScheme(s, uriStart, uriEnd);
    return addressWithParams(s, uriStart, uriEnd, uriEnd + 1, end, displayName);
  }
  // addr-spec without brackets: it ends at the first ';' or whitespace.
  uriStart = i;
  uriEnd = i;
  while (uriEnd < end) {
    const c = s.charCodeAt(uriEnd);
    if (c === 0x3b || isWs(c)) break;
    if (c === 0x3f || c === 0x2c) throw new SipParseError('An address with ? or , must be enclosed in <>');
    uriEnd++;
  }
  if (uriEnd === uriStart) throw new SipParseError('Missing address');
  if (checkUri) checkScheme(s, uriStart, uriEnd);
  return addressWithParams(s, uriStart, uriEnd, uriEnd, end, displayName);
}

/**
 * Checks the parameters `s[ps..end)` and builds the address around the URI `s[us..ue)`.
 * Leaves the `expires` value's position in {@link watched} slots 2–3 for Contact.
 */
function addressWithParams(s: string, us: number, ue: number, ps: number, end: number, displayName: string | undefined): NameAddr {
  const stop = checkParams(s, ps, end, 'tag', 'expires', '');
  if (stop !== end) throw new SipParseError('Unexpected comma in address');
  const a = new NameAddr('', displayName);
  a._setRaw(s, us, ue, ps, end, watched[0]!, watched[1]!);
  return a;
}

function hasLt(s: string, k: number, end: number): boolean {
  const lt = s.indexOf('<', k);
  return lt >= 0 && lt < end;
}

/**
 * The structural check made before the URI itself is parsed (on first use): a scheme
 * (`ALPHA *(ALPHA / DIGIT / + / - / .)`), a colon, and no whitespace or control characters.
 */
function checkScheme(s: string, start: number, end: number): void {
  if (!isAlpha(s.charCodeAt(start))) throw new SipParseError('URI scheme must start with a letter');
  let i = start + 1;
  while (i < end && isIn(SCHEME, s.charCodeAt(i))) i++;
  if (i >= end - 1 || s.charCodeAt(i) !== 0x3a) throw new SipParseError('URI without a scheme');
  for (i++; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x22 || c === 0x3c || c === 0x3e) throw new SipParseError('Invalid character in URI');
  }
}
