/**
 * quoted-string = SWS DQUOTE *(qdtext / quoted-pair ) DQUOTE (RFC 3261 §25.1).
 * quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F): any byte but CR and LF may be escaped.
 */
import { BACKSLASH, CR, DQUOTE, LF, isToken } from './chars.js';

/**
 * Finds the end of the quoted string that opens at `s[start]` (which must be `"`): returns the
 * index just past the closing quote, or -1 when it is unterminated or escapes CR/LF.
 */
export function scanQuoted(s: string, start: number, end = s.length): number {
  for (let i = start + 1; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === DQUOTE) return i + 1;
    if (c === BACKSLASH) {
      const n = s.charCodeAt(i + 1);
      if (i + 1 >= end || n === CR || n === LF) return -1;
      i++;
    }
  }
  return -1;
}

/** Removes surrounding quotes and resolves quoted-pairs; a string without quotes is returned unchanged. */
export function unquote(v: string): string {
  if (v.length < 2 || v.charCodeAt(0) !== DQUOTE || v.charCodeAt(v.length - 1) !== DQUOTE) return v;
  const inner = v.slice(1, -1);
  if (inner.indexOf('\\') < 0) return inner;
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (c === '\\' && i + 1 < inner.length) {
      out += inner[i + 1];
      i++;
    } else out += c;
  }
  return out;
}

/** Wraps `v` in quotes, escaping `"` and `\`. */
export function quote(v: string): string {
  let out = '"';
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === '"' || c === '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

/** Returns `v` as is when it is a token (or an IPv6 reference / host), else quoted. */
export function quoteIfNeeded(v: string): string {
  if (isToken(v)) return v;
  // host values (IPv6 references, `received=[::1]`) are legal gen-values without quotes.
  if (v.length > 2 && v[0] === '[' && v[v.length - 1] === ']' && isToken(v.slice(1, -1).replace(/:/g, '.'))) return v;
  return quote(v);
}
