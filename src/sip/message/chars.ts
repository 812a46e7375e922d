/**
 * Character classes of the RFC 3261 §25.1 grammar as 128-entry lookup tables, so the parser
 * tests a character with one array read instead of a chain of comparisons or a regular
 * expression. Strings handled by the message layer are "wire strings": one UTF-16 code unit
 * per byte (latin1), so a byte ≥ 0x80 is a code unit ≥ 0x80 and is in no table.
 */

function table(chars: string, ranges: [number, number][] = []): Uint8Array {
  const t = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  for (const [a, b] of ranges) for (let c = a; c <= b; c++) t[c] = 1;
  return t;
}

const ALNUM: [number, number][] = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x61, 0x7a],
];

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
export const TOKEN = table("-.!%*_+`'~", ALNUM);
/** unreserved = alphanum / mark; mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")" */
export const UNRESERVED = table("-_.!~*'()", ALNUM);
/** user = 1*( unreserved / escaped / user-unreserved ); user-unreserved = & = + $ , ; ? / */
export const USER = table("-_.!~*'()&=+$,;?/", ALNUM);
/** password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," ) */
export const PASSWORD = table("-_.!~*'()&=+$,", ALNUM);
/** paramchar = param-unreserved / unreserved / escaped; param-unreserved = [ ] / : & + $ */
export const PARAMCHAR = table("-_.!~*'()[]/:&+$", ALNUM);
/** hname/hvalue chars: hnv-unreserved / unreserved / escaped; hnv-unreserved = [ ] / ? : + $ */
export const HNVCHAR = table("-_.!~*'()[]/?:+$", ALNUM);
/** Characters of a host name, an IPv4 address, or the inside of an IPv6 reference. */
export const HOSTCHAR = table('-.', ALNUM);
/** word = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" / "(" / ")" / "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}") */
export const WORD = table("-.!%*_+`'~()<>:\\\"/[]?{}", ALNUM);
/** uric (RFC 2396), for the opaque part of absoluteURI: reserved / unreserved / escaped */
export const URIC = table(";/?:@&=+$,-_.!~*'()%", ALNUM);
/** scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (after the first character) */
export const SCHEME = table('+-.', ALNUM);

export const SP = 0x20;
export const HTAB = 0x09;
export const CR = 0x0d;
export const LF = 0x0a;
export const DQUOTE = 0x22;
export const BACKSLASH = 0x5c;

export function isIn(t: Uint8Array, c: number): boolean {
  return c < 128 && t[c] === 1;
}

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

export function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

export function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** SP, HTAB, CR or LF: the characters LWS is made of once lines are joined. */
export function isWs(c: number): boolean {
  return c === SP || c === HTAB || c === CR || c === LF;
}

/** True when every character of `s` from `start` to `end` is in table `t`. */
export function allIn(t: Uint8Array, s: string, start = 0, end = s.length): boolean {
  if (start >= end) return false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || t[c] !== 1) return false;
  }
  return true;
}

/** Is `s` a token (RFC 3261 §25.1)? */
export function isToken(s: string): boolean {
  return allIn(TOKEN, s);
}

/** Case-insensitive equality of two ASCII strings without allocating lower-case copies. */
export function equalsIgnoreCase(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0x41 && x <= 0x5a) x += 0x20;
    if (y >= 0x41 && y <= 0x5a) y += 0x20;
    if (x !== y) return false;
  }
  return true;
}

/**
 * Converts a wire string (one char per byte) to text: bytes ≥ 0x80 are decoded as UTF-8.
 * ASCII strings, the usual case, are returned as they are without a copy.
 */
export function wireToText(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'latin1').toString('utf8');
  }
  return s;
}

/** Converts text to a wire string: characters beyond ASCII become their UTF-8 bytes. */
export function textToWire(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'utf8').toString('latin1');
  }
  return s;
}
