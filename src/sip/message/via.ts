/**
 * The Via header (RFC 3261 §20.42, §18.2.1; received/rport from RFC 3581):
 *
 * ```
 * via-parm      = sent-protocol LWS sent-by *( SEMI via-params )
 * sent-protocol = protocol-name SLASH protocol-version SLASH transport
 * sent-by       = host [ COLON port ]
 * ```
 * SLASH and COLON include SWS, so `SIP / 2.0 / UDP host : 5060` is well formed
 * (RFC 4475 §3.1.1.1).
 */
import { SipParseError } from './errors.js';
import { parseParams, parseUnsigned, scanToken, skipWs } from './lexer.js';
import { sliceInterned } from './interned.js';
import { Params } from './params.js';
import { isIPv4, isIPv6 } from './uri.js';
import { HOSTCHAR, isDigit, isIn } from './chars.js';

/** The magic cookie that starts every RFC 3261 branch (§8.1.1.7). */
export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';

/**
 * One Via value (one hop).
 *
 * @example
 * ```ts
 * const via = parseVia('SIP/2.0/UDP pc33.example.com:5066;branch=z9hG4bK776asdhds;rport');
 * via.transport; // 'UDP'
 * via.branch;    // 'z9hG4bK776asdhds'
 * via.rport;     // null (present, no value yet)
 * ```
 */
export class Via {
  protocol: string;
  version: string;
  /** Transport token as sent, upper-cased (`UDP`, `TCP`, `TLS`, `SCTP`, `WS`, `WSS`, or another token). */
  transport: string;
  /** sent-by host, without brackets for IPv6. */
  host: string;
  port: number | undefined;
  params: Params;

  constructor(init: { transport: string; host: string; port?: number | undefined; params?: Params | Record<string, string | null>; protocol?: string; version?: string }) {
    this.protocol = init.protocol ?? 'SIP';
    this.version = init.version ?? '2.0';
    const t = init.transport;
    this.transport = isUpperCase(t) ? t : t.toUpperCase();
    let host = init.host;
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    this.host = host;
    this.port = init.port;
    this.params = init.params instanceof Params ? init.params : Params.from(init.params ?? {});
  }

  get branch(): string | undefined {
    const b = this.params.get('branch');
    return typeof b === 'string' ? b : undefined;
  }

  /** Whether the branch carries the RFC 3261 magic cookie and something after it (§17.2.3). */
  get hasRfc3261Branch(): boolean {
    const b = this.branch;
    return b !== undefined && b.length > BRANCH_MAGIC_COOKIE.length && b.startsWith(BRANCH_MAGIC_COOKIE);
  }

  /** The `received` parameter, without brackets for IPv6. */
  get received(): string | undefined {
    const r = this.params.get('received');
    if (typeof r !== 'string') return undefined;
    return r.startsWith('[') && r.endsWith(']') ? r.slice(1, -1) : r;
  }

  /**
   * RFC 3581 `rport`: `undefined` when absent, `null` when present without a value (a request
   * asking for it), else the port the server filled in.
   */
  get rport(): number | null | undefined {
    const r = this.params.get('rport');
    if (r === undefined || r === null) return r;
    const n = Number(r);
    return Number.isInteger(n) ? n : undefined;
  }

  get maddr(): string | undefined {
    const m = this.params.get('maddr');
    return typeof m === 'string' ? m : undefined;
  }

  get ttl(): number | undefined {
    const t = this.params.get('ttl');
    return typeof t === 'string' ? Number(t) : undefined;
  }

  /** `host:port` as sent (`[v6]` bracketed). */
  get sentBy(): string {
    const h = this.host.indexOf(':') >= 0 ? `[${this.host}]` : this.host;
    return this.port === undefined ? h : `${h}:${this.port}`;
  }

  clone(): Via {
    return new Via({ protocol: this.protocol, version: this.version, transport: this.transport, host: this.host, port: this.port, params: this.params.clone() });
  }

  toString(): string {
    return `${this.protocol}/${this.version}/${this.transport} ${this.sentBy}${this.params.toString()}`;
  }
}

function isUpperCase(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) return false;
  }
  return true;
}

function slash(s: string, i: number, end: number): number {
  i = skipWs(s, i, end);
  if (i >= end || s.charCodeAt(i) !== 0x2f) throw new SipParseError('Invalid Via protocol');
  return skipWs(s, i + 1, end);
}

/** Parses one Via value (already split from its list). */
export function parseVia(s: string, start = 0, end = s.length): Via {
  let i = skipWs(s, start, end);
  let t = scanToken(s, i, end);
  if (t === i) throw new SipParseError('Invalid Via protocol');
  const protocol = sliceInterned(s, i, t);
  i = slash(s, t, end);
  t = scanToken(s, i, end);
  if (t === i) throw new SipParseError('Invalid Via version');
  const version = sliceInterned(s, i, t);
  i = slash(s, t, end);
  t = scanToken(s, i, end);
  if (t === i) throw new SipParseError('Invalid Via transport');
  const transport = sliceInterned(s, i, t);
  const afterTransport = t;
  i = skipWs(s, t, end);
  if (i === afterTransport) throw new SipParseError('Missing space before Via sent-by');
  let host: string;
  if (s.charCodeAt(i) === 0x5b) {
    const close = s.indexOf(']', i);
    if (close < 0 || close >= end || !isIPv6(s, i + 1, close)) throw new SipParseError('Invalid IPv6 reference in Via');
    host = s.slice(i + 1, close);
    i = close + 1;
  } else {
    const h = i;
    while (i < end && (isIn(HOSTCHAR, s.charCodeAt(i)) || s.charCodeAt(i) === 0x5f)) i++;
    if (i === h) throw new SipParseError('Missing Via sent-by host');
    host = s.slice(h, i);
  }
  let port: number | undefined;
  let j = skipWs(s, i, end);
  if (j < end && s.charCodeAt(j) === 0x3a) {
    j = skipWs(s, j + 1, end);
    const p = j;
    let n = 0;
    while (j < end && isDigit(s.charCodeAt(j))) {
      n = n * 10 + s.charCodeAt(j) - 0x30;
      j++;
    }
    if (j === p || j - p > 5 || n > 65535) throw new SipParseError('Invalid Via port');
    port = n;
    i = j;
  }
  const params = new Params();
  const stop = parseParams(s, i, end, params);
  if (stop !== end) throw new SipParseError('Unexpected comma in Via');
  const via = new Via({ protocol, version, transport, host, port, params });
  const received = params.get('received');
  if (typeof received === 'string') {
    const r = received.startsWith('[') && received.endsWith(']') ? received.slice(1, -1) : received;
    if (!isIPv4(r, 0, r.length) && !isIPv6(r, 0, r.length)) throw new SipParseError('Via received is not an IP address');
  }
  const rport = params.get('rport');
  if (typeof rport === 'string') {
    parseUnsigned(rport, 'Via rport', 65535);
  }
  return via;
}
