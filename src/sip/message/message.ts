/**
 * SIP requests and responses (RFC 3261 §7).
 *
 * A parsed message keeps its header section as one "wire string" (one char per byte, so no
 * byte is ever lost, UTF-8 or not) plus a small array of offsets: five integers per
 * header line (id and flags, name start/end, value start/end). Nothing else is allocated
 * until a caller asks for a value: `get()` slices the one value asked for, and typed
 * accessors (`via`, `from`, `cseq`…) parse on first use and cache the result. The first
 * mutation turns the offsets into plain arrays of names and values.
 *
 * Strings handed to and returned by the public API are ordinary text: non-ASCII characters
 * are converted to and from UTF-8 at the edge (`wireToText`/`textToWire`).
 */
import { AuthHeader, parseAuthHeader } from './auth-header.js';
import { equalsIgnoreCase, textToWire, wireToText, isWs } from './chars.js';
import { SipParseError } from './errors.js';
import { CANONICAL, H, HEADER_ID_COUNT, headerId } from './header-names.js';
import {
  parseCSeq,
  parseDeltaSeconds,
  parseEvent,
  parseMediaType,
  parseRAck,
  parseReason,
  parseReplaces,
  parseSessionExpires,
  parseSubscriptionState,
  parseTokenList,
  scanCallId,
  type CSeq,
  type EventHeader,
  type MediaType,
  type RAck,
  type Reason,
  type Replaces,
  type SessionExpires,
  type SubscriptionState,
} from './header-values.js';
import { splitList, splitRange, watched } from './lexer.js';
import { unquote } from './quoted-string.js';
import { NameAddr, parseNameAddr, parseNameAddrAt } from './name-addr.js';
import { parseUri, type Uri } from './uri.js';
import { Via, parseVia } from './via.js';

/** Bit set in the id slot of a header whose value spans folded lines. */
export const FOLDED = 0x100;
const ID_MASK = 0xff;

/** A header value given to the mutating API: text, or anything with a SIP `toString()`. */
export type HeaderValue = string | number | { toString(): string };

const EMPTY_BODY = Buffer.alloc(0);

/** Replaces each fold (optional WS, CRLF or LF, then WS) with a single SP (§7.3.1). */
function unfold(s: string): string {
  let out = '';
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 0x0d || c === 0x0a) {
      let j = out.length;
      while (j > 0 && (out.charCodeAt(j - 1) === 0x20 || out.charCodeAt(j - 1) === 0x09)) j--;
      out = out.slice(0, j);
      while (i < n && isWs(s.charCodeAt(i))) i++;
      out += ' ';
      continue;
    }
    out += s[i];
    i++;
  }
  return out;
}

function wireOf(v: HeaderValue): string {
  const s = typeof v === 'string' ? v : String(v);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x0d || c === 0x0a) throw new TypeError('A header value may not contain CR or LF');
  }
  return textToWire(s);
}

function checkName(name: string): void {
  if (name.length === 0) throw new TypeError('Empty header name');
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x3a) throw new TypeError(`Invalid header name: ${name}`);
  }
}

/** Compares `s[start..end)` with `name`, ignoring ASCII case, without slicing. */
function nameEquals(s: string, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) {
    let x = s.charCodeAt(start + i);
    let y = name.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0x41 && x <= 0x5a) x += 0x20;
    if (y >= 0x41 && y <= 0x5a) y += 0x20;
    if (x !== y) return false;
  }
  return true;
}

/**
 * What requests and responses share: the header list, typed header accessors, and the body.
 */
export abstract class SipMessageBase {
  /** `SIP/2.0`. */
  version = 'SIP/2.0';
  /** The body: a view of the received bytes (no copy), or what was set. */
  body: Buffer = EMPTY_BODY;

  // Parsed form: the header section as a wire string and 5 ints per header.
  private src = '';
  private offs: number[] | null = null;
  private n = 0;
  // Materialized form, after the first mutation (or for messages built in code).
  private names: string[] | null = null;
  private values: string[] | null = null;
  private ids: number[] | null = null;
  // Typed accessor results, by header id.
  private cache: unknown[] | null = null;
  // Index of the first line of each known header id (-1: none) and a bit per id that occurs
  // more than once, filled in by the parser so single-valued look-ups need no scan. Dropped on
  // the first mutation.
  private first: number[] | null = null;
  private dupLo = 0;
  private dupHi = 0;
  // True when the parsed header section has no byte ≥ 0x80 (checked once, natively, by the
  // parser): values then need no UTF-8 decoding pass.
  private ascii = false;

  abstract readonly isRequest: boolean;

  /** @internal Used by the parser to attach the header section. */
  _attach(src: string, offs: number[], count: number, first: number[] | null = null, dupLo = 0, dupHi = 0, ascii = false): void {
    this.ascii = ascii;
    this.src = src;
    this.offs = offs;
    this.n = count;
    this.names = this.values = this.ids = null;
    this.cache = null;
    this.first = first;
    this.dupLo = dupLo;
    this.dupHi = dupHi;
  }

  private materialize(): void {
    if (this.names !== null) return;
    const names: string[] = [];
    const values: string[] = [];
    const ids: number[] = [];
    for (let i = 0; i < this.n; i++) {
      names.push(this.nameAt(i));
      values.push(this.wireAt(i));
      ids.push(this.idAt(i));
    }
    this.names = names;
    this.values = values;
    this.ids = ids;
    this.offs = null;
    this.src = '';
    this.first = null;
    this.ascii = false;
  }

  /** Number of header lines. */
  get headerCount(): number {
    return this.names !== null ? this.names.length : this.n;
  }

  private idAt(i: number): number {
    return this.ids !== null ? this.ids[i]! : this.offs![i * 5]! & ID_MASK;
  }

  /** Header name of line `i`, as received. */
  nameAt(i: number): string {
    if (this.names !== null) return this.names[i]!;
    const o = this.offs!;
    return this.src.slice(o[i * 5 + 1], o[i * 5 + 2]);
  }

  /** Raw wire value of line `i` (folds unfolded). */
  private wireAt(i: number): string {
    if (this.values !== null) return this.values[i]!;
    const o = this.offs!;
    const v = this.src.slice(o[i * 5 + 3], o[i * 5 + 4]);
    return (o[i * 5]! & FOLDED) !== 0 ? unfold(v) : v;
  }

  /** Value of header line `i` as text. */
  valueAt(i: number): string {
    return this.ascii ? this.wireAt(i) : wireToText(this.wireAt(i));
  }

  /** @internal Index of the first line with header id `id`, and whether there is a second. */
  _findId(id: number, from = 0): number {
    const count = this.headerCount;
    for (let i = from; i < count; i++) if (this.idAt(i) === id) return i;
    return -1;
  }

  /** @internal Raw wire value of line `i`, folds kept, for byte-exact serialization. */
  _rawAt(i: number): string {
    if (this.values !== null) return this.values[i]!;
    const o = this.offs!;
    return this.src.slice(o[i * 5 + 3], o[i * 5 + 4]);
  }

  private matches(i: number, id: number, name: string): boolean {
    if (id !== 0) return this.idAt(i) === id;
    if (this.names !== null) return equalsIgnoreCase(this.names[i]!, name);
    const o = this.offs!;
    return (o[i * 5]! & ID_MASK) === 0 && nameEquals(this.src, o[i * 5 + 1]!, o[i * 5 + 2]!, name);
  }

  private indexesOf(name: string): number[] {
    const id = headerId(name);
    const out: number[] = [];
    const count = this.headerCount;
    for (let i = 0; i < count; i++) if (this.matches(i, id, name)) out.push(i);
    return out;
  }

  /** Wire values of every line with header id `id`. */
  private wiresById(id: number): string[] {
    const out: string[] = [];
    const count = this.headerCount;
    for (let i = 0; i < count; i++) if (this.idAt(i) === id) out.push(this.wireAt(i));
    return out;
  }

  /**
   * @internal Whether header id `id` has a line after `first` (its first line): the parser's
   * bit per repeated id when there is one, else a scan.
   */
  _repeats(id: number, first: number): boolean {
    return this.first !== null ? ((id < 32 ? this.dupLo >>> id : this.dupHi >>> (id - 32)) & 1) === 1 : this._findId(id, first + 1) >= 0;
  }

  /** @internal Index of the first line with header id `id` (-1: none). */
  _firstId(id: number): number {
    return this.firstById(id);
  }

  private firstById(id: number): number {
    if (this.first !== null) return this.first[id]!;
    const count = this.headerCount;
    for (let i = 0; i < count; i++) if (this.idAt(i) === id) return i;
    return -1;
  }

  /**
   * The value of the first header called `name` (case-insensitive; compact forms match their
   * long names: `get('Via')` finds `v:`), or `undefined`.
   */
  get(name: string): string | undefined {
    const id = headerId(name);
    const count = this.headerCount;
    for (let i = 0; i < count; i++) if (this.matches(i, id, name)) return this.valueAt(i);
    return undefined;
  }

  /** The values of every header line called `name`, in order (lines are not split at commas). */
  getAll(name: string): string[] {
    return this.indexesOf(name).map((i) => this.valueAt(i));
  }

  /**
   * Every value of a list header across all its lines, split at top-level commas (§7.3.1):
   * `list('Route')` on `Route: <a>, <b>` and `Route: <c>` gives three values.
   */
  list(name: string): string[] {
    const out: string[] = [];
    for (const i of this.indexesOf(name)) {
      const v = this.valueAt(i);
      if (v.length > 0) out.push(...splitList(v));
    }
    return out;
  }

  has(name: string): boolean {
    const id = headerId(name);
    const count = this.headerCount;
    for (let i = 0; i < count; i++) if (this.matches(i, id, name)) return true;
    return false;
  }

  /** Number of header lines called `name`. */
  count(name: string): number {
    return this.indexesOf(name).length;
  }

  /** All headers as `[name, value]` pairs, in order. */
  get headers(): [string, string][] {
    const out: [string, string][] = [];
    for (let i = 0; i < this.headerCount; i++) out.push([this.nameAt(i), this.valueAt(i)]);
    return out;
  }

  private invalidate(id: number): void {
    if (this.cache === null) return;
    if (id === 0) return;
    this.cache[id] = undefined;
    if (id === H.Via) this.cache[TOP_VIA] = undefined;
  }

  /**
   * Sets header `name` to one value: replaces the first line of that name and removes the
   * others, or appends a new line when there is none.
   */
  set(name: string, value: HeaderValue): this {
    checkName(name);
    this.materialize();
    const idxs = this.indexesOf(name);
    const w = wireOf(value);
    const id = headerId(name);
    if (idxs.length === 0) {
      this.names!.push(name);
      this.values!.push(w);
      this.ids!.push(id);
    } else {
      this.values![idxs[0]!] = w;
      for (let k = idxs.length - 1; k >= 1; k--) this.removeAt(idxs[k]!);
    }
    this.invalidate(id);
    return this;
  }

  /** Appends a header line after all others. */
  append(name: string, value: HeaderValue): this {
    checkName(name);
    this.materialize();
    const id = headerId(name);
    this.names!.push(name);
    this.values!.push(wireOf(value));
    this.ids!.push(id);
    this.invalidate(id);
    return this;
  }

  /**
   * Inserts a header line before the first line of the same name (or at the top): how a
   * proxy adds its Via (§16.6 step 8) or a Record-Route.
   */
  prepend(name: string, value: HeaderValue): this {
    checkName(name);
    this.materialize();
    const id = headerId(name);
    const idxs = this.indexesOf(name);
    const at = idxs.length > 0 ? idxs[0]! : 0;
    this.names!.splice(at, 0, name);
    this.values!.splice(at, 0, wireOf(value));
    this.ids!.splice(at, 0, id);
    this.invalidate(id);
    return this;
  }

  private removeAt(i: number): void {
    this.names!.splice(i, 1);
    this.values!.splice(i, 1);
    this.ids!.splice(i, 1);
  }

  /** Removes every line called `name`; returns how many were removed. */
  remove(name: string): number {
    this.materialize();
    const idxs = this.indexesOf(name);
    for (let k = idxs.length - 1; k >= 0; k--) this.removeAt(idxs[k]!);
    this.invalidate(headerId(name));
    return idxs.length;
  }

  /**
   * Removes the first value of a list header (the top Via of a response a proxy forwards,
   * §16.7 step 3), whether it has a line of its own or shares one with others.
   */
  removeFirstValue(name: string): boolean {
    this.materialize();
    const idxs = this.indexesOf(name);
    if (idxs.length === 0) return false;
    const i = idxs[0]!;
    const items = splitList(this.valueAt(i));
    if (items.length <= 1) this.removeAt(i);
    else this.values![i] = textToWire(items.slice(1).join(', '));
    this.invalidate(headerId(name));
    return true;
  }

  // ---- typed accessors ----

  private typed<T>(id: number, parse: (values: string[]) => T): T {
    const cache = (this.cache ??= newCache());
    const hit = cache[id] as T | undefined;
    if (hit !== undefined) return hit;
    const values = this.wiresById(id);
    if (!this.ascii) for (let k = 0; k < values.length; k++) values[k] = wireToText(values[k]!);
    let result: T;
    try {
      result = parse(values);
    } catch (e) {
      if (e instanceof SipParseError) {
        const name = CANONICAL[id]!;
        throw new SipParseError(e.message === 'is missing' ? `Missing ${name} header` : `Invalid ${name} header: ${e.message}`, e.status);
      }
      throw e;
    }
    cache[id] = result;
    return result;
  }

  /**
   * A typed single-valued header: parsed from its only line and cached. Absent: `undefined`
   * (or an error when `required`); on several lines: an error.
   */
  private typedOne<T>(id: number, parse: (s: string, start: number, end: number) => T, required: boolean): T | undefined {
    const cache = (this.cache ??= newCache());
    const hit = cache[id];
    if (hit !== undefined) return hit === ABSENT ? undefined : (hit as T);
    const i = this.firstById(id);
    const name = CANONICAL[id]!;
    if (i < 0) {
      if (required) throw new SipParseError(`Missing ${name} header`);
      cache[id] = ABSENT;
      return undefined;
    }
    if (this._repeats(id, i)) throw new SipParseError(`Invalid ${name} header: appears more than once`);
    let result: T;
    try {
      const o = this.offs;
      if (o !== null && this.ascii && (o[i * 5]! & FOLDED) === 0) {
        // In place: no slice of the value (see typedList).
        result = parse(this.src, o[i * 5 + 3]!, o[i * 5 + 4]!);
      } else {
        const v = this.ascii ? this.wireAt(i) : wireToText(this.wireAt(i));
        result = parse(v, 0, v.length);
      }
    } catch (e) {
      if (e instanceof SipParseError) throw new SipParseError(`Invalid ${name} header: ${e.message}`, e.status);
      throw e;
    }
    cache[id] = result;
    return result;
  }


  /**
   * A typed list header (Via, Contact), parsed in place from the header-section string: no
   * slice per value and no array of value strings. V8 reads characters of the flat section
   * string faster than those of a slice of it (a "sliced string", one more indirection per
   * read): a Via parses in ≈ 470 ns in place against ≈ 640 ns from a slice. Falls back to
   * `typed` (values as strings) for edited messages, non-ASCII sections and folded lines.
   * Splitting and its errors come first for all lines, then parsing, as in `listItems`.
   */
  private typedList<T>(
    id: number,
    parse: (s: string, start: number, end: number) => T,
    whole: (values: string[]) => T[],
    fast: (s: string, start: number, end: number) => T = parse,
  ): T[] {
    const cache = this.cache;
    if (cache !== null) {
      const hit = cache[id] as T[] | undefined;
      if (hit !== undefined) return hit;
    }
    const o = this.offs;
    if (o === null || !this.ascii) return this.typed(id, whole);
    const n = this.n;
    const src = this.src;
    // Optimistic pass: each line parsed as one value. A value parser accepts no top-level
    // comma and no stray quote or bracket, so when every line parses, splitting would have
    // found one item per line and no error: the result is the same without the split scan.
    // On any error (or a line holding several values) the exact pass below runs from the
    // start and reports what it always did.
    let folded = false;
    const out: T[] = [];
    try {
      for (let k = 0; k < n; k++) {
        const f = o[k * 5]!;
        if ((f & ID_MASK) !== id) continue;
        if ((f & FOLDED) !== 0) {
          folded = true;
          break;
        }
        out.push(fast(src, o[k * 5 + 3]!, o[k * 5 + 4]!));
      }
      if (!folded) {
        (this.cache ??= newCache())[id] = out;
        return out;
      }
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
    }
    for (let k = 0; k < n; k++) {
      const f = o[k * 5]!;
      if ((f & ID_MASK) === id && (f & FOLDED) !== 0) return this.typed(id, whole);
    }
    const items = listScratch;
    let m = 0;
    let result: T[];
    try {
      for (let k = 0; k < n; k++) {
        if ((o[k * 5]! & ID_MASK) !== id) continue;
        const a = o[k * 5 + 3]!;
        const b = o[k * 5 + 4]!;
        if (a === b) throw new SipParseError('has an empty value');
        const comma = src.indexOf(',', a);
        if (comma < 0 || comma >= b) {
          items[m++] = a;
          items[m++] = b;
        } else m = splitRange(src, a, b, items, m);
      }
      result = new Array<T>(m >> 1);
      for (let j = 0; j < m; j += 2) result[j >> 1] = parse(src, items[j]!, items[j + 1]!);
    } catch (e) {
      if (e instanceof SipParseError) {
        const name = CANONICAL[id]!;
        throw new SipParseError(e.message === 'is missing' ? `Missing ${name} header` : `Invalid ${name} header: ${e.message}`, e.status);
      }
      throw e;
    }
    (this.cache ??= newCache())[id] = result;
    return result;
  }

  /** Every Via value, top first, across lines (§20.42). */
  get via(): Via[] {
    return this.typedList(H.Via, parseVia, parseViaList);
  }

  /**
   * The top Via: the one that names the sender of this hop. Only the first value is parsed
   * (the others are parsed when {@link via} is read).
   */
  get topVia(): Via | undefined {
    const cache = this.cache;
    if (cache !== null) {
      const all = cache[H.Via] as Via[] | undefined;
      if (all !== undefined) return all[0];
      const top = cache[TOP_VIA] as Via | undefined;
      if (top !== undefined) return top;
    }
    const i = this.firstById(H.Via);
    if (i < 0) return undefined;
    const v = this.ascii ? this.wireAt(i) : wireToText(this.wireAt(i));
    let top: Via;
    try {
      top = parseVia(v, 0, firstListItemEnd(v));
    } catch (e) {
      if (e instanceof SipParseError) throw new SipParseError(`Invalid Via header: ${e.message}`, e.status);
      throw e;
    }
    (this.cache ??= newCache())[TOP_VIA] = top;
    return top;
  }

  /** From (§20.20). Throws {@link SipParseError} when it is missing or malformed. */
  get from(): NameAddr {
    return this.typedOne(H.From, parseAddress, true)!;
  }

  /** To (§20.39). Throws {@link SipParseError} when it is missing or malformed. */
  get to(): NameAddr {
    return this.typedOne(H.To, parseAddress, true)!;
  }

  /** Call-ID (§20.8). Throws {@link SipParseError} when missing or malformed. */
  get callId(): string {
    return this.typedOne(H.CallId, checkCallId, true)!;
  }

  /** CSeq (§20.16). Throws {@link SipParseError} when missing or malformed. */
  get cseq(): CSeq {
    return this.typedOne(H.CSeq, parseCSeq, true)!;
  }

  /** Contact values (§20.10); empty for `Contact: *` (see {@link contactWildcard}). */
  get contacts(): NameAddr[] {
    const o = this.offs;
    if (o !== null && this.ascii && this.cache?.[H.Contact] === undefined) {
      // `Contact: *` alone (what parseContacts checks with trim()).
      const i = this.firstById(H.Contact);
      if (i >= 0 && !this._repeats(H.Contact, i) && isStar(this.src, o[i * 5 + 3]!, o[i * 5 + 4]!)) {
        return ((this.cache ??= newCache())[H.Contact] = []);
      }
    }
    return this.typedList(H.Contact, parseContact, parseContacts, parseContactFast);
  }

  /** True for `Contact: *` (a REGISTER removing every binding, §10.2.2). */
  get contactWildcard(): boolean {
    const items = listItems(this.wiresById(H.Contact).map(wireToText));
    return items.length === 1 && items[0] === '*';
  }

  get routes(): NameAddr[] {
    return this.typed(H.Route, (vs) => listOf(vs, parseNameAddr));
  }

  get recordRoutes(): NameAddr[] {
    return this.typed(H.RecordRoute, (vs) => listOf(vs, parseNameAddr));
  }

  /** Refer-To (RFC 3515 §2.1). */
  get referTo(): NameAddr | undefined {
    return this.typed(H.ReferTo, (vs) => optionalAddress(vs)) ?? undefined;
  }

  /** Referred-By (RFC 3892). */
  get referredBy(): NameAddr | undefined {
    return this.typed(H.ReferredBy, (vs) => optionalAddress(vs)) ?? undefined;
  }

  /** P-Asserted-Identity values (RFC 3325). */
  get pAssertedIdentity(): NameAddr[] {
    return this.typed(H.PAssertedIdentity, (vs) => listOf(vs, parseNameAddr));
  }

  /** Max-Forwards (0–255), or `undefined` when absent. */
  get maxForwards(): number | undefined {
    return this.typedOne(H.MaxForwards, parseMaxForwards, false);
  }

  /** Content-Length as declared, or the body length when the header is absent. */
  get contentLength(): number {
    return this.typedOne(H.ContentLength, parseSeconds, false) ?? this.body.length;
  }

  get contentType(): MediaType | undefined {
    return this.typed(H.ContentType, (vs) => {
      if (vs.length > 1) throw new SipParseError('appears more than once');
      return vs.length === 0 ? null : parseMediaType(vs[0]!);
    }) ?? undefined;
  }

  /** Expires in seconds (§20.19), or `undefined`. */
  get expires(): number | undefined {
    return this.typedOne(H.Expires, parseSeconds, false);
  }

  get minExpires(): number | undefined {
    return this.typedOne(H.MinExpires, parseSeconds, false);
  }

  /** One challenge per WWW-Authenticate line (§20.44). */
  get wwwAuthenticate(): AuthHeader[] {
    return this.typed(H.WwwAuthenticate, (vs) => vs.map((s) => parseAuthHeader(s)));
  }

  get proxyAuthenticate(): AuthHeader[] {
    return this.typed(H.ProxyAuthenticate, (vs) => vs.map((s) => parseAuthHeader(s)));
  }

  get authorization(): AuthHeader[] {
    return this.typed(H.Authorization, (vs) => vs.map((s) => parseAuthHeader(s)));
  }

  get proxyAuthorization(): AuthHeader[] {
    return this.typed(H.ProxyAuthorization, (vs) => vs.map((s) => parseAuthHeader(s)));
  }

  /** Methods in Allow (§20.5). */
  get allow(): string[] {
    return this.typed(H.Allow, parseTokenList);
  }
  /** Option tags in Supported (§20.37). */
  get supported(): string[] {
    return this.typed(H.Supported, parseTokenList);
  }
  get require(): string[] {
    return this.typed(H.Require, parseTokenList);
  }
  get proxyRequire(): string[] {
    return this.typed(H.ProxyRequire, parseTokenList);
  }
  get unsupported(): string[] {
    return this.typed(H.Unsupported, parseTokenList);
  }

  get event(): EventHeader | undefined {
    return this.typed(H.Event, (vs) => one(vs, parseEvent)) ?? undefined;
  }

  get subscriptionState(): SubscriptionState | undefined {
    return this.typed(H.SubscriptionState, (vs) => one(vs, parseSubscriptionState)) ?? undefined;
  }

  get replaces(): Replaces | undefined {
    return this.typed(H.Replaces, (vs) => one(vs, parseReplaces)) ?? undefined;
  }

  /** RSeq (RFC 3262 §7.1). */
  get rseq(): number | undefined {
    return this.typedOne(H.RSeq, parseSeconds, false);
  }

  get rack(): RAck | undefined {
    return this.typed(H.RAck, (vs) => one(vs, parseRAck)) ?? undefined;
  }

  get sessionExpires(): SessionExpires | undefined {
    return this.typed(H.SessionExpires, (vs) => one(vs, parseSessionExpires)) ?? undefined;
  }

  /** Min-SE in seconds (RFC 4028 §5). */
  get minSE(): number | undefined {
    return this.typedOne(H.MinSE, parseMinSE, false);
  }

  /** Reason values (RFC 3326), one per protocol. */
  get reasons(): Reason[] {
    return this.typed(H.Reason, (vs) => listOf(vs, (s) => parseReason(s)));
  }

  /** Serializes to wire bytes; see {@link serializeMessage}. */
  abstract toBuffer(): Buffer;
}

/**
 * A per-message cache of typed header values, indexed by header id. Filled with `undefined`
 * up front so V8 keeps it a packed array of tagged values: storing objects into a holey
 * array of small integers would make it change representation on first write.
 */
const CACHE_TEMPLATE: unknown[] = new Array<unknown>(HEADER_ID_COUNT + 1).fill(undefined);
function newCache(): unknown[] {
  return CACHE_TEMPLATE.slice();
}

/** Cache slot for the top Via alone (one past the header ids). */
const TOP_VIA = HEADER_ID_COUNT;

/** End of the first element of a list value (its first top-level comma, or the end). */
function firstListItemEnd(v: string): number {
  const comma = v.indexOf(',');
  if (comma < 0) return v.length;
  const items = splitList(v);
  return items[0]!.length + v.indexOf(items[0]!);
}

function parseViaList(vs: string[]): Via[] {
  return listOf(vs, parseVia);
}

/** Item ranges of a list header being parsed, two ints per item (scratch, reused). */
const listScratch: number[] = new Array<number>(32).fill(0);

/** ASCII characters that `String.prototype.trim` removes. */
function isTrimmed(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** Is `s[a..b)`, trimmed, the single character `*`? (ASCII text only.) */
function isStar(s: string, a: number, b: number): boolean {
  while (a < b && isTrimmed(s.charCodeAt(a))) a++;
  while (b > a && isTrimmed(s.charCodeAt(b - 1))) b--;
  return b - a === 1 && s.charCodeAt(a) === 0x2a;
}

/**
 * delta-seconds in `s[a..b)`: read in place when it is plain digits between ASCII
 * whitespace; anything else goes through `parseDeltaSeconds` on the slice (same result and
 * errors as before, `trim()` included).
 */
function secondsAt(s: string, a: number, b: number, max: number): number {
  let i = a;
  let j = b;
  while (i < j && isTrimmed(s.charCodeAt(i))) i++;
  while (j > i && isTrimmed(s.charCodeAt(j - 1))) j--;
  let n = 0;
  let k = i;
  for (; k < j; k++) {
    const c = s.charCodeAt(k) - 0x30;
    if (c < 0 || c > 9) break;
    n = n * 10 + c;
  }
  if (k === j && i < j && n <= max) return n;
  return parseDeltaSeconds(s.slice(a, b), 'value', max);
}

function parseSeconds(s: string, a: number, b: number): number {
  return secondsAt(s, a, b, 0xffffffff);
}

function parseMaxForwards(s: string, a: number, b: number): number {
  return secondsAt(s, a, b, 255);
}

/** Min-SE = delta-seconds *(SEMI generic-param) (RFC 4028 §5). */
function parseMinSE(s: string, a: number, b: number): number {
  const v = s.slice(a, b);
  const semi = v.indexOf(';');
  return parseDeltaSeconds(semi < 0 ? v : v.slice(0, semi), 'value');
}

/** Cache marker for a header known to be absent. */
const ABSENT = {};

function checkCallId(s: string, a: number, b: number): string {
  if (scanCallId(s, a, b) !== b) throw new SipParseError('is not word["@"word]');
  return s.slice(a, b);
}

function parseAddress(s: string, a: number, b: number): NameAddr {
  return parseNameAddr(s, a, b);
}

function parseContact(s: string, start = 0, end = s.length): NameAddr {
  return contact(s, start, end, true);
}

/**
 * parseContact without the structural URI check that precedes the full URI parse: a URI that
 * parses passes that check, so only a failing Contact needs it, to report the same error
 * (typedList's exact pass does that). Saves a scan of every Contact URI.
 */
function parseContactFast(s: string, start: number, end: number): NameAddr {
  return contact(s, start, end, false);
}

function contact(s: string, start: number, end: number, checkUri: boolean): NameAddr {
  if (end - start === 1 && s.charCodeAt(start) === 0x2a) throw new SipParseError('* must be the only Contact');
  const a = parseNameAddrAt(s, start, end, checkUri);
  // Where the parameter check saw `expires` (read before anything else uses the scratch).
  const e0 = watched[2]!;
  const e1 = watched[3]!;
  void a.uri; // a Contact's URI is the target of requests: check it now, not on first use
  if (e0 < e1) parseDeltaSeconds(unquote(s.slice(e0, e1)), 'expires parameter');
  return a;
}

function parseContacts(vs: string[]): NameAddr[] {
  if (vs.length === 1 && vs[0]!.trim() === '*') return [];
  return listOf(vs, parseContact);
}

function listItems(vs: string[]): string[] {
  const out: string[] = [];
  for (let j = 0; j < vs.length; j++) {
    const v = vs[j]!;
    if (v.length === 0) throw new SipParseError('has an empty value');
    // One value per line, the usual layout, needs no splitting (a quote or bracket could
    // only hide a comma, and there is none).
    if (v.indexOf(',') < 0) {
      out.push(v);
      continue;
    }
    const items = splitList(v);
    for (let k = 0; k < items.length; k++) out.push(items[k]!);
  }
  return out;
}

function listOf<T>(vs: string[], parse: (s: string, start?: number, end?: number) => T): T[] {
  if (vs.length === 1) {
    const v = vs[0]!;
    // Fast path: one line with one value (the common case) needs no splitting.
    if (v.indexOf(',') < 0) {
      if (v.length === 0) throw new SipParseError('has an empty value');
      return [parse(v, 0, v.length)];
    }
  }
  return listItems(vs).map((s) => parse(s));
}

function optionalAddress(vs: string[]): NameAddr | null {
  if (vs.length === 0) return null;
  if (vs.length > 1) throw new SipParseError('appears more than once');
  return parseNameAddr(vs[0]!);
}

function one<T>(vs: string[], parse: (s: string) => T): T | null {
  if (vs.length === 0) return null;
  if (vs.length > 1) throw new SipParseError('appears more than once');
  return parse(vs[0]!);
}

/**
 * A SIP request.
 *
 * @example
 * ```ts
 * const req = new SipRequest('OPTIONS', 'sip:bob@example.com', [
 *   ['Via', 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1'],
 *   ['From', '<sip:alice@example.com>;tag=1'],
 *   ['To', '<sip:bob@example.com>'],
 *   ['Call-ID', 'a84b4c76e66710'],
 *   ['CSeq', '1 OPTIONS'],
 *   ['Max-Forwards', '70'],
 * ]);
 * serializeMessage(req); // Buffer with the wire form, Content-Length added
 * ```
 */
export class SipRequest extends SipMessageBase {
  readonly isRequest = true as const;
  /** The method token, case-sensitive (§7.1). */
  method: string;
  private uriText: string;
  private uriParsed: Uri | undefined;
  // A received Request-URI stays a range of the header-section string until its text is
  // asked for, and is parsed in place (faster than from a slice; see typedList). The parser
  // has checked it is printable ASCII, so no UTF-8 decoding is needed.
  private uriSrc = '';
  private uriA = 0;
  private uriB = 0;

  constructor(method: string, uri: Uri | string, headers?: Iterable<[string, HeaderValue]>, body?: Uint8Array | string) {
    super();
    this.method = method;
    if (typeof uri === 'string') {
      this.uriText = textToWire(uri);
      this.uriParsed = undefined;
    } else {
      this.uriText = textToWire(uri.toString());
      this.uriParsed = uri;
    }
    if (headers !== undefined) {
      this._attach('', [], 0);
      for (const [n, v] of headers) this.append(n, v);
    } else this._attach('', [], 0);
    if (body !== undefined) this.body = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  }

  /** The Request-URI, parsed on first use. Throws {@link SipParseError} when malformed. */
  get uri(): Uri {
    if (this.uriParsed === undefined) {
      try {
        this.uriParsed = this.uriSrc !== '' ? parseUri(this.uriSrc, this.uriA, this.uriB) : parseUri(wireToText(this.uriText));
      } catch (e) {
        if (e instanceof SipParseError) throw new SipParseError(`Invalid Request-URI: ${e.message}`);
        throw e;
      }
    }
    return this.uriParsed;
  }

  set uri(u: Uri | string) {
    this.uriSrc = '';
    if (typeof u === 'string') {
      this.uriText = textToWire(u);
      this.uriParsed = undefined;
    } else {
      this.uriText = textToWire(u.toString());
      this.uriParsed = u;
    }
  }

  /** The Request-URI exactly as received (text). */
  get uriString(): string {
    return this.uriParsed !== undefined ? this.uriParsed.toString() : wireToText(this.wireUri());
  }

  /** @internal Sets the Request-URI to `src[a..b)`, a non-empty wire string range (parser). */
  _setUriWire(src: string, a: number, b: number): void {
    this.uriSrc = src;
    this.uriA = a;
    this.uriB = b;
    this.uriParsed = undefined;
  }

  private wireUri(): string {
    if (this.uriSrc !== '') {
      this.uriText = this.uriSrc.slice(this.uriA, this.uriB);
      this.uriSrc = '';
    }
    return this.uriText;
  }

  /** @internal The Request-URI as a wire string. */
  _uriWire(): string {
    return this.uriParsed !== undefined ? textToWire(this.uriParsed.toString()) : this.wireUri();
  }

  toBuffer(): Buffer {
    return serialize(this);
  }
}

/** A SIP response. */
export class SipResponse extends SipMessageBase {
  readonly isRequest = false as const;
  /** Status code, 100–699. */
  status: number;
  /** Reason phrase (text; may be empty or UTF-8, RFC 4475 §3.1.1.12–13). */
  reason: string;

  constructor(status: number, reason: string, headers?: Iterable<[string, HeaderValue]>, body?: Uint8Array | string) {
    super();
    this.status = status;
    this.reason = reason;
    this._attach('', [], 0);
    if (headers !== undefined) for (const [n, v] of headers) this.append(n, v);
    if (body !== undefined) this.body = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  }

  toBuffer(): Buffer {
    return serialize(this);
  }
}

/** A request or a response. */
export type SipMessage = SipRequest | SipResponse;

/**
 * Serializes a message to wire bytes: the start line, every header line as `Name: value` in
 * order (names as they were given, values byte for byte, folds kept), a Content-Length that
 * matches the body (the existing header is corrected, or one is added at the end), the empty
 * line and the body.
 *
 * @example
 * ```ts
 * const bytes = serializeMessage(parseMessage(datagram));
 * ```
 */
export function serializeMessage(msg: SipMessage): Buffer {
  return serialize(msg);
}

function serialize(msg: SipMessage): Buffer {
  let head =
    msg.isRequest === true
      ? `${msg.method} ${msg._uriWire()} ${msg.version}\r\n`
      : `${msg.version} ${msg.status} ${textToWire(msg.reason)}\r\n`;
  const bodyLen = msg.body.length;
  let sawLength = false;
  const n = msg.headerCount;
  for (let i = 0; i < n; i++) {
    const name = msg.nameAt(i);
    if (headerId(name) === H.ContentLength) {
      if (sawLength) continue; // one Content-Length only
      sawLength = true;
      head += `${name}: ${bodyLen}\r\n`;
      continue;
    }
    head += `${name}: ${msg._rawAt(i)}\r\n`;
  }
  if (!sawLength) head += `Content-Length: ${bodyLen}\r\n`;
  head += '\r\n';
  const headLen = head.length; // one char per byte: a wire string
  const out = Buffer.allocUnsafe(headLen + bodyLen);
  out.write(head, 0, headLen, 'latin1');
  if (bodyLen > 0) msg.body.copy(out, headLen);
  return out;
}
