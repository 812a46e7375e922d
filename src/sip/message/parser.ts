/**
 * Parsing SIP messages from bytes (RFC 3261 §7, grammar §25).
 *
 * `parseMessage` takes one datagram (§18.3: Content-Length frames the body; without it the
 * body is the rest of the datagram; extra bytes after the body are ignored). The stream
 * framer in `stream-framer.ts` finds message boundaries in a TCP/TLS byte stream and hands
 * each complete message to the same header parser.
 *
 * The header section is decoded as latin1 (one char per byte: lossless, and the cheapest
 * decoding V8 has) and split into lines with `indexOf`; each header line is recorded as five
 * integers, and values are only sliced out when asked for (see message.ts).
 */
import { CR, HTAB, LF, SP, TOKEN, isDigit, wireToText } from './chars.js';
import { SipParseError } from './errors.js';
import { H, HEADER_ID_COUNT, headerIdOf } from './header-names.js';
import { FOLDED, SipRequest, SipResponse, type SipMessage } from './message.js';

/** Limits that end parsing with a {@link SipParseError} instead of growing memory. */
export interface SipLimits {
  /** Largest message (header section and body) accepted, in bytes. Default 65,535. */
  maxMessageBytes: number;
  /** Most header lines in one message. Default 256. */
  maxHeaders: number;
  /** Longest line (start line or one physical header line), in bytes. Default 8,192. */
  maxLineLength: number;
}

export const DEFAULT_LIMITS: Readonly<SipLimits> = Object.freeze({
  maxMessageBytes: 65535,
  maxHeaders: 256,
  maxLineLength: 8192,
});

export interface ParseOptions {
  /**
   * Check what every request and response must carry (default true): exactly one From, To,
   * Call-ID and CSeq, at least one Via, all of them well formed; a CSeq method equal to the
   * request method; a Request-URI without headers; scalar values in range; well-formed
   * Contacts. Without it only the framing and the start line are checked, and typed
   * accessors throw when a header they read is malformed.
   */
  validate?: boolean;
  limits?: Partial<SipLimits>;
}

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const LFLF = Buffer.from('\n\n', 'latin1');

/** @internal */
export function resolveLimits(l: Partial<SipLimits> | undefined): SipLimits {
  return l === undefined ? DEFAULT_LIMITS : { ...DEFAULT_LIMITS, ...l };
}

/** @internal Views any Uint8Array as a Buffer without copying. */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

// Scratch space for header offsets, reused across parses; each message keeps an exact copy.
// A plain array of small integers, not an Int32Array: V8 copies one with `slice` an order of
// magnitude faster than it allocates a typed array (~25 ns against ~400 ns).
const scratch: number[] = new Array<number>(5 * 64).fill(0);
const FIRST_TEMPLATE: number[] = new Array<number>(HEADER_ID_COUNT).fill(-1);

/**
 * Parses the start line and header section `buf[start..end)` (which ends with the last header
 * line's line terminator). @internal
 */
export function parseHead(buf: Buffer, start: number, end: number, limits: SipLimits): SipMessage {
  const src = buf.toString('latin1', start, end);
  const len = src.length;
  let nl = src.indexOf('\n');
  if (nl < 0) nl = len;
  let lineEnd = nl > 0 && src.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
  if (lineEnd > limits.maxLineLength) throw new SipParseError('Start line too long');
  const msg = parseStartLine(src, lineEnd);
  let pos = nl + 1;
  let n = 0;
  const o = scratch;
  const first = FIRST_TEMPLATE.slice();
  let dupLo = 0;
  let dupHi = 0;
  while (pos < len) {
    nl = src.indexOf('\n', pos);
    if (nl < 0) nl = len;
    lineEnd = nl > pos && src.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
    if (lineEnd - pos > limits.maxLineLength) throw new SipParseError('Header line too long');
    if (lineEnd === pos) break; // the empty line
    const c0 = src.charCodeAt(pos);
    if (c0 === SP || c0 === HTAB) {
      // A continuation line (§7.3.1): extends the previous header's value.
      if (n === 0) throw new SipParseError('Continuation line before the first header');
      let a = pos;
      while (a < lineEnd && (src.charCodeAt(a) === SP || src.charCodeAt(a) === HTAB)) a++;
      let b = lineEnd;
      while (b > a && (src.charCodeAt(b - 1) === SP || src.charCodeAt(b - 1) === HTAB)) b--;
      if (a < b) {
        const k = (n - 1) * 5;
        if (o[k + 3] === o[k + 4]) {
          o[k + 3] = a;
          o[k + 4] = b;
        } else {
          o[k + 4] = b;
          o[k] = o[k]! | FOLDED;
        }
      }
    } else {
      const colon = src.indexOf(':', pos);
      if (colon < 0 || colon >= lineEnd) throw new SipParseError('Header line without a colon');
      let ne = colon;
      while (ne > pos && (src.charCodeAt(ne - 1) === SP || src.charCodeAt(ne - 1) === HTAB)) ne--;
      if (ne === pos) throw new SipParseError('Empty header name');
      // Known names are tokens by construction: validate only the unknown ones.
      const id = headerIdOf(src, pos, ne);
      if (id === 0) {
        for (let k = pos; k < ne; k++) {
          const c = src.charCodeAt(k);
          if (c >= 128 || TOKEN[c] !== 1) throw new SipParseError('Invalid header name');
        }
      }
      let a = colon + 1;
      while (a < lineEnd && (src.charCodeAt(a) === SP || src.charCodeAt(a) === HTAB)) a++;
      let b = lineEnd;
      while (b > a && (src.charCodeAt(b - 1) === SP || src.charCodeAt(b - 1) === HTAB)) b--;
      if (n >= limits.maxHeaders) throw new SipParseError('Too many header lines');
      if (id !== 0) {
        // First line of each known header, and which ones repeat (see SipMessageBase._attach).
        if (first[id]! < 0) first[id] = n;
        else if (id < 32) dupLo |= 1 << id;
        else dupHi |= 1 << (id - 32);
      }
      const k = n * 5;
      o[k] = id;
      o[k + 1] = pos;
      o[k + 2] = ne;
      o[k + 3] = a;
      o[k + 4] = b;
      n++;
    }
    pos = nl + 1;
  }
  // ASCII check on the decoded string: a byte ≥ 0x80 is a latin1 char that takes two UTF-8
  // bytes. ≈ 20 ns against ≈ 75 ns for isAscii(buf.subarray(…)), which allocates a Buffer.
  const ascii = Buffer.byteLength(src, 'utf8') === len;
  msg._attach(src, o.slice(0, n * 5), n, first, dupLo, dupHi, ascii);
  return msg;
}

function isVersionText(s: string, a: number, b: number): 'ok' | 'other' | 'bad' {
  // SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT, "SIP" case-insensitive (§7.1, §25.1)
  if (b - a < 7) return 'bad';
  if ((s.charCodeAt(a) | 0x20) !== 0x73 || (s.charCodeAt(a + 1) | 0x20) !== 0x69 || (s.charCodeAt(a + 2) | 0x20) !== 0x70 || s.charCodeAt(a + 3) !== 0x2f) return 'bad';
  let i = a + 4;
  const d1 = i;
  while (i < b && isDigit(s.charCodeAt(i))) i++;
  if (i === d1 || i >= b || s.charCodeAt(i) !== 0x2e) return 'bad';
  i++;
  const d2 = i;
  while (i < b && isDigit(s.charCodeAt(i))) i++;
  if (i === d2 || i !== b) return 'bad';
  return b - a === 7 && s.charCodeAt(a + 4) === 0x32 && s.charCodeAt(a + 6) === 0x30 ? 'ok' : 'other';
}

function parseStartLine(src: string, end: number): SipMessage {
  if (end === 0) throw new SipParseError('Empty start line');
  // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2)
  if (end >= 4 && (src.charCodeAt(0) | 0x20) === 0x73 && (src.charCodeAt(1) | 0x20) === 0x69 && (src.charCodeAt(2) | 0x20) === 0x70 && src.charCodeAt(3) === 0x2f) {
    const sp = src.indexOf(' ', 0);
    if (sp < 0 || sp >= end) throw new SipParseError('Invalid status line');
    const v = isVersionText(src, 0, sp);
    if (v === 'bad') throw new SipParseError('Invalid SIP version');
    if (v === 'other') throw new SipParseError('SIP Version Not Supported', 505);
    const c = sp + 1;
    if (c + 3 > end || !isDigit(src.charCodeAt(c)) || !isDigit(src.charCodeAt(c + 1)) || !isDigit(src.charCodeAt(c + 2))) {
      throw new SipParseError('Invalid status code');
    }
    if (c + 3 < end && src.charCodeAt(c + 3) !== SP) throw new SipParseError('Invalid status code');
    const status = (src.charCodeAt(c) - 0x30) * 100 + (src.charCodeAt(c + 1) - 0x30) * 10 + (src.charCodeAt(c + 2) - 0x30);
    let reason = c + 3 < end ? src.slice(c + 4, end) : '';
    for (let i = 0; i < reason.length; i++) {
      const ch = reason.charCodeAt(i);
      if (ch < 0x20 && ch !== HTAB) throw new SipParseError('Control character in reason phrase');
    }
    reason = wireToText(reason);
    const res = new SipResponse(status, reason);
    res.version = src.slice(0, sp);
    return res;
  }
  // Request-Line = Method SP Request-URI SP SIP-Version (§7.1): single SPs, nothing after.
  let i = 0;
  while (i < end) {
    const c = src.charCodeAt(i);
    if (c >= 128 || TOKEN[c] !== 1) break;
    i++;
  }
  if (i === 0 || i >= end || src.charCodeAt(i) !== SP) throw new SipParseError('Invalid request method');
  const method = src.slice(0, i);
  const u = i + 1;
  const sp2 = src.indexOf(' ', u);
  if (u < end && src.charCodeAt(u) === SP) throw new SipParseError('Multiple spaces in request line');
  if (sp2 < 0 || sp2 >= end) throw new SipParseError('Request line without SIP version');
  if (sp2 === u) throw new SipParseError('Empty Request-URI');
  for (let k = u; k < sp2; k++) {
    const c = src.charCodeAt(k);
    if (c <= 0x20 || c >= 0x7f) throw new SipParseError('Invalid character in Request-URI');
  }
  const v = isVersionText(src, sp2 + 1, end);
  if (v === 'bad') throw new SipParseError(src.indexOf(' ', sp2 + 1) >= 0 && src.indexOf(' ', sp2 + 1) < end ? 'Whitespace in request line' : 'Invalid SIP version');
  if (v === 'other') throw new SipParseError('SIP Version Not Supported', 505);
  const req = new SipRequest(method, '');
  req._setUriWire(src, u, sp2);
  req.version = src.slice(sp2 + 1, end);
  return req;
}

/**
 * The declared Content-Length: -1 when absent. Throws when it is repeated or not a plain
 * unsigned number (RFC 4475 §3.1.2.3 and §3.3.9: framing cannot be trusted). @internal
 */
export function declaredContentLength(msg: SipMessage, limits: SipLimits): number {
  const i = msg._firstId(H.ContentLength);
  if (i < 0) return -1;
  if (msg._repeats(H.ContentLength, i)) throw new SipParseError('Multiple Content-Length headers');
  const value = msg._rawAt(i);
  if (value.length === 0 || value.length > 10) throw new SipParseError('Invalid Content-Length');
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) throw new SipParseError('Invalid Content-Length');
    n = n * 10 + c;
  }
  if (n > limits.maxMessageBytes) throw new SipParseError('Content-Length exceeds the message size limit');
  return n;
}

/**
 * Checks what every message must carry (see {@link ParseOptions.validate}); throws a
 * {@link SipParseError} whose `partial` is the message, so a server can still answer 400.
 * Parsed typed headers stay cached on the message, so later access costs nothing.
 */
export function validateMessage(msg: SipMessage): void {
  try {
    if (msg.isRequest) {
      const uri = msg.uri;
      // Headers are not allowed in a Request-URI (§19.1.1 table; RFC 4475 §3.1.2.11).
      if (uri.kind === 'sip' && uri.headers.size > 0) throw new SipParseError('Request-URI must not contain headers');
    }
    else if (msg.status < 100 || msg.status > 699) throw new SipParseError('Status code out of range');
    // Every hop, not only the top one: a proxy relays a response by the next Via.
    if (msg.via.length === 0) throw new SipParseError('Missing Via header');
    void msg.from;
    void msg.to;
    void msg.callId;
    const cseq = msg.cseq;
    if (msg.isRequest && cseq.method !== msg.method) throw new SipParseError('CSeq method does not match the request method');
    void msg.maxForwards;
    void msg.expires;
    void msg.contacts;
  } catch (e) {
    if (e instanceof SipParseError && e.partial === undefined) e.partial = msg;
    throw e;
  }
}

/**
 * Parses one SIP message from a datagram (or any buffer holding exactly one message).
 * Leading CRLFs are skipped (§7.5). The body is a view of `data`, not a copy.
 *
 * Throws {@link SipParseError} (and nothing else) on any malformed input; `error.status` is
 * the response to send (400, or 505) and `error.partial` the message when its header section
 * could be read.
 *
 * @example
 * ```ts
 * const msg = parseMessage(datagram);
 * if (msg.isRequest) console.log(msg.method, String(msg.uri), msg.topVia?.branch, msg.from.tag);
 * ```
 */
export function parseMessage(data: Uint8Array, options?: ParseOptions): SipMessage {
  const buf = asBuffer(data);
  const limits = resolveLimits(options?.limits);
  let start = 0;
  const total = buf.length;
  while (start < total && (buf[start] === CR || buf[start] === LF)) start++;
  if (start >= total) throw new SipParseError('Empty message');
  if (total - start > limits.maxMessageBytes) throw new SipParseError('Message too large');
  let headEnd: number;
  let bodyStart: number;
  let p = buf.indexOf(CRLFCRLF, start);
  if (p >= 0) {
    headEnd = p + 2;
    bodyStart = p + 4;
  } else if ((p = buf.indexOf(LFLF, start)) >= 0) {
    headEnd = p + 1;
    bodyStart = p + 2;
  } else if (buf[total - 1] === LF) {
    // No empty line, but the datagram ends after a complete header line: take it as a
    // message without a body rather than losing it.
    headEnd = total;
    bodyStart = total;
  } else {
    throw new SipParseError('Incomplete header section');
  }
  const msg = parseHead(buf, start, headEnd, limits);
  try {
    const cl = declaredContentLength(msg, limits);
    if (cl < 0) msg.body = buf.subarray(bodyStart, total);
    else if (bodyStart + cl > total) throw new SipParseError('Content-Length is larger than the message');
    else msg.body = buf.subarray(bodyStart, bodyStart + cl);
  } catch (e) {
    if (e instanceof SipParseError) e.partial = msg;
    throw e;
  }
  if (options?.validate !== false) validateMessage(msg);
  return msg;
}
