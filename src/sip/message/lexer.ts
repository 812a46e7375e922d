/**
 * Scanning primitives shared by the header-value parsers: LWS skipping, tokens, generic
 * parameters (`*( SEMI generic-param )`, RFC 3261 §25.1) and splitting comma-separated lists
 * at commas that are outside quoted strings and angle brackets (§7.3.1).
 *
 * They work on a string with explicit `start`/`end` indexes and return the next index, so a
 * header value is scanned in place without substrings for the separators.
 */
import { DQUOTE, TOKEN, isIn, isWs } from './chars.js';
import { SipParseError } from './errors.js';
import { sliceInterned } from './interned.js';
import type { Params } from './params.js';
import { scanQuoted } from './quoted-string.js';

/** Skips LWS (SP, HTAB, and CR/LF of a fold). */
export function skipWs(s: string, i: number, end: number): number {
  while (i < end && isWs(s.charCodeAt(i))) i++;
  return i;
}

/** Index after the token starting at `i` (equal to `i` when there is none). */
export function scanToken(s: string, i: number, end: number): number {
  while (i < end && isIn(TOKEN, s.charCodeAt(i))) i++;
  return i;
}

/**
 * A gen-value (`token / host / quoted-string`): a quoted string, or a run of token characters
 * plus `:`, `[` and `]` so that IPv6 hosts such as `received=2001:db8::9` (RFC 5118 §4.5) fit.
 */
function scanGenValue(s: string, i: number, end: number): number {
  if (s.charCodeAt(i) === DQUOTE) {
    const q = scanQuoted(s, i, end);
    if (q < 0) throw new SipParseError('Unterminated quoted string');
    return q;
  }
  while (i < end) {
    const c = s.charCodeAt(i);
    if (isIn(TOKEN, c) || c === 0x3a || c === 0x5b || c === 0x5d) i++;
    else break;
  }
  return i;
}

/**
 * Parses `*( SEMI generic-param )` from `i`, appending to `params`; stops at a comma or `end`.
 * Whitespace is allowed around `;` and `=` (SEMI and EQUAL include SWS). Returns the index
 * where it stopped (a comma, or `end`).
 */
export function parseParams(s: string, i: number, end: number, params: Params): number {
  i = skipWs(s, i, end);
  while (i < end && s.charCodeAt(i) === 0x3b) {
    i = skipWs(s, i + 1, end);
    const n = i;
    i = scanToken(s, i, end);
    if (i === n) throw new SipParseError('Empty or invalid parameter');
    const name = sliceInterned(s, n, i);
    i = skipWs(s, i, end);
    let value: string | null = null;
    if (i < end && s.charCodeAt(i) === 0x3d) {
      i = skipWs(s, i + 1, end);
      const v = i;
      i = scanGenValue(s, i, end);
      if (i === v) throw new SipParseError(`Empty value for parameter ${name}`);
      value = s.slice(v, i);
      i = skipWs(s, i, end);
    }
    params.names.push(name);
    params.values.push(value);
  }
  if (i < end && s.charCodeAt(i) !== 0x2c) throw new SipParseError('Unexpected character after parameters');
  return i;
}

/**
 * Where {@link checkParams} found its watched parameters: `[start, end)` of the first value
 * of each (slots 0–1, 2–3, 4–5), `-1` when absent, `start === end` for a name without a value
 * (a value is never empty). Scratch shared by all callers: read it right after the call.
 */
export const watched = new Int32Array(6);

function watchIs(s: string, n: number, len: number, w: string): boolean {
  if (w.length !== len) return false;
  // Watched names are lower-case letters, so `| 0x20` is an exact case-insensitive match.
  for (let k = 0; k < len; k++) if ((s.charCodeAt(n + k) | 0x20) !== w.charCodeAt(k)) return false;
  return true;
}

/**
 * Checks `*( SEMI generic-param )` exactly as {@link parseParams} does (same grammar, same
 * errors) without building a `Params`: it only records where the first value of up to three
 * watched names (lower-case letters; `''` for none) lies, in {@link watched}. Header values
 * keep their parameter text and build `Params` on first use, so a message whose Via branch
 * and From tag are all that is read allocates no parameter lists at all.
 */
export function checkParams(s: string, i: number, end: number, w0: string, w1: string, w2: string): number {
  const f = watched;
  f[0] = f[1] = f[2] = f[3] = f[4] = f[5] = -1;
  i = skipWs(s, i, end);
  while (i < end && s.charCodeAt(i) === 0x3b) {
    i = skipWs(s, i + 1, end);
    const n = i;
    i = scanToken(s, i, end);
    const len = i - n;
    if (len === 0) throw new SipParseError('Empty or invalid parameter');
    const slot = watchIs(s, n, len, w0) ? 0 : watchIs(s, n, len, w1) ? 2 : watchIs(s, n, len, w2) ? 4 : -1;
    i = skipWs(s, i, end);
    let v = i;
    if (i < end && s.charCodeAt(i) === 0x3d) {
      i = skipWs(s, i + 1, end);
      v = i;
      i = scanGenValue(s, i, end);
      if (i === v) throw new SipParseError(`Empty value for parameter ${sliceInterned(s, n, n + len)}`);
      if (slot >= 0 && f[slot]! < 0) {
        f[slot] = v;
        f[slot + 1] = i;
      }
      i = skipWs(s, i, end);
    } else if (slot >= 0 && f[slot]! < 0) {
      f[slot] = v;
      f[slot + 1] = v;
    }
  }
  if (i < end && s.charCodeAt(i) !== 0x2c) throw new SipParseError('Unexpected character after parameters');
  return i;
}

/**
 * Splits a list header value at top-level commas (outside `"…"` and `<…>`), trimming each
 * element. An empty element (`a,,b`, a trailing comma) is an error: the §25 grammar has none.
 */
export function splitList(s: string): string[] {
  const ranges: number[] = [];
  const m = splitRange(s, 0, s.length, ranges, 0);
  const out: string[] = [];
  for (let k = 0; k < m; k += 2) {
    const a = ranges[k]!;
    const b = ranges[k + 1]!;
    out.push(a === 0 && b === s.length ? s : s.slice(a, b));
  }
  return out;
}

/**
 * The splitting behind `splitList`, on `s[start..end)`: appends each item's trimmed range to `out` from index
 * `m`; returns the new length. Used in place on a header section to avoid slicing.
 */
export function splitRange(s: string, start: number, end: number, out: number[], m: number): number {
  let from = start;
  let i = start;
  let angle = false;
  while (i <= end) {
    const c = i < end ? s.charCodeAt(i) : 0x2c;
    if (c === DQUOTE && !angle) {
      const q = scanQuoted(s, i, end);
      if (q < 0) throw new SipParseError('Unterminated quoted string');
      i = q;
      continue;
    }
    if (c === 0x3c) angle = true;
    else if (c === 0x3e) angle = false;
    else if (c === 0x2c && !angle) {
      let a = from;
      let b = i;
      while (a < b && isWs(s.charCodeAt(a))) a++;
      while (b > a && isWs(s.charCodeAt(b - 1))) b--;
      if (a === b) throw new SipParseError('Empty element in header list');
      out[m++] = a;
      out[m++] = b;
      from = i + 1;
    }
    i++;
  }
  if (angle) throw new SipParseError('Unterminated <');
  return m;
}

/** Parses a whole value that must be an unsigned decimal no larger than `max`. */
export function parseUnsigned(s: string, what: string, max = 0xffffffff, start = 0, end = s.length): number {
  if (end === start) throw new SipParseError(`Empty ${what}`);
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) throw new SipParseError(`Invalid ${what}`);
    n = n * 10 + c;
    if (n > max) throw new SipParseError(`${what} out of range`);
  }
  return n;
}
