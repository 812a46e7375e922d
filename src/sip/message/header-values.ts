/**
 * The smaller structured header values: CSeq (§20.16), Content-Type (§20.15), option-tag and
 * method lists (Allow, Supported, Require…), Event and Subscription-State (RFC 6665 §8.2),
 * Replaces (RFC 3891 §6.1), RSeq/RAck (RFC 3262 §7), Session-Expires (RFC 4028 §4) and
 * Reason (RFC 3326 §2).
 */
import { TOKEN, WORD, isDigit, isIn, isToken } from './chars.js';
import { SipParseError } from './errors.js';
import { parseParams, parseUnsigned, scanToken, skipWs, splitList } from './lexer.js';
import { Params } from './params.js';

/** CSeq = 1*DIGIT LWS Method. */
export interface CSeq {
  seq: number;
  method: string;
}

/** Parses a CSeq value; the number must fit in 32 bits (§8.1.1.5, RFC 4475 §3.1.2.4). */
export function parseCSeq(s: string, start = 0, end = s.length): CSeq {
  let i = skipWs(s, start, end);
  const d = i;
  let n = 0;
  while (i < end && isDigit(s.charCodeAt(i))) {
    n = n * 10 + s.charCodeAt(i) - 0x30;
    if (n > 0xffffffff) throw new SipParseError('CSeq number out of range');
    i++;
  }
  if (i === d || i - d > 10) throw new SipParseError('Invalid CSeq number');
  const sp = i;
  i = skipWs(s, i, end);
  if (i === sp) throw new SipParseError('Invalid CSeq');
  const m = i;
  i = scanToken(s, i, end);
  if (i === m || skipWs(s, i, end) !== end) throw new SipParseError('Invalid CSeq method');
  return { seq: n, method: s.slice(m, i) };
}

/** A media type with parameters (`application/sdp`, `multipart/mixed;boundary=x`). */
export class MediaType {
  type: string;
  subtype: string;
  params: Params;

  constructor(type: string, subtype: string, params?: Params | Record<string, string | null>) {
    this.type = type;
    this.subtype = subtype;
    this.params = params instanceof Params ? params : Params.from(params ?? {});
  }

  /** `type/subtype`, lower-cased, for comparisons. */
  get essence(): string {
    return `${this.type}/${this.subtype}`.toLowerCase();
  }

  toString(): string {
    return `${this.type}/${this.subtype}${this.params.toString()}`;
  }
}

/** media-type = m-type SLASH m-subtype *(SEMI m-parameter). */
export function parseMediaType(s: string): MediaType {
  const end = s.length;
  let i = skipWs(s, 0, end);
  const t = i;
  i = scanToken(s, i, end);
  if (i === t) throw new SipParseError('Invalid media type');
  const type = s.slice(t, i);
  i = skipWs(s, i, end);
  if (s.charCodeAt(i) !== 0x2f) throw new SipParseError('Invalid media type');
  i = skipWs(s, i + 1, end);
  const st = i;
  i = scanToken(s, i, end);
  if (i === st) throw new SipParseError('Invalid media subtype');
  const subtype = s.slice(st, i);
  const params = new Params();
  if (parseParams(s, i, end, params) !== end) throw new SipParseError('Unexpected comma in media type');
  return new MediaType(type, subtype, params);
}

/** A comma-separated list of tokens (Allow, Supported, Require, Unsupported, Proxy-Require). */
export function parseTokenList(values: string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    if (v.trim() === '') continue; // `Supported:` with no option tags is legal (§20.37)
    for (const item of splitList(v)) {
      if (!isToken(item)) throw new SipParseError('Invalid token in list');
      out.push(item);
    }
  }
  return out;
}

/** A token with parameters: Event, Subscription-State, Reason and similar. */
export interface TokenWithParams {
  value: string;
  params: Params;
}

function parseTokenWithParams(s: string, what: string, allowDot = false): TokenWithParams {
  const end = s.length;
  let i = skipWs(s, 0, end);
  const t = i;
  while (i < end && (isIn(TOKEN, s.charCodeAt(i)) || (allowDot && s.charCodeAt(i) === 0x2e))) i++;
  if (i === t) throw new SipParseError(`Invalid ${what}`);
  const params = new Params();
  if (parseParams(s, i, end, params) !== end) throw new SipParseError(`Unexpected comma in ${what}`);
  return { value: s.slice(t, i), params };
}

/** Event = event-type *( SEMI event-param ) (RFC 6665 §8.2.1); the `id` param names a subscription. */
export interface EventHeader {
  /** Package with its templates, e.g. `dialog`, `presence.winfo`. */
  type: string;
  params: Params;
  id: string | undefined;
}

export function parseEvent(s: string): EventHeader {
  const { value, params } = parseTokenWithParams(s, 'Event');
  const id = params.get('id');
  return { type: value, params, id: typeof id === 'string' ? id : undefined };
}

/** Subscription-State (RFC 6665 §8.2.3). */
export interface SubscriptionState {
  /** `active`, `pending`, `terminated` or an extension. */
  state: string;
  params: Params;
  expires: number | undefined;
  reason: string | undefined;
  retryAfter: number | undefined;
}

export function parseSubscriptionState(s: string): SubscriptionState {
  const { value, params } = parseTokenWithParams(s, 'Subscription-State');
  const num = (name: string): number | undefined => {
    const v = params.get(name);
    return typeof v === 'string' ? parseUnsigned(v, `Subscription-State ${name}`) : undefined;
  };
  const reason = params.get('reason');
  return { state: value.toLowerCase(), params, expires: num('expires'), reason: typeof reason === 'string' ? reason : undefined, retryAfter: num('retry-after') };
}

/** Replaces = callid *(SEMI replaces-param) (RFC 3891 §6.1). */
export interface Replaces {
  callId: string;
  toTag: string;
  fromTag: string;
  earlyOnly: boolean;
  params: Params;
}

/** Scans `word ["@" word]` (a Call-ID) from `i`; returns the end index. */
export function scanCallId(s: string, i: number, end: number): number {
  const start = i;
  let at = false;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === 0x40 && !at && i > start) {
      at = true;
      i++;
      if (i >= end || !isIn(WORD, s.charCodeAt(i))) return -1;
      continue;
    }
    if (!isIn(WORD, c)) break;
    i++;
  }
  return i === start ? -1 : i;
}

export function parseReplaces(s: string): Replaces {
  const end = s.length;
  const i = skipWs(s, 0, end);
  const e = scanCallId(s, i, end);
  // A ';' is a WORD character? No: WORD excludes ';', so the call-id stops at the first param.
  if (e < 0) throw new SipParseError('Invalid Replaces call-id');
  const params = new Params();
  if (parseParams(s, e, end, params) !== end) throw new SipParseError('Unexpected comma in Replaces');
  const toTag = params.get('to-tag');
  const fromTag = params.get('from-tag');
  if (typeof toTag !== 'string' || typeof fromTag !== 'string') throw new SipParseError('Replaces needs to-tag and from-tag');
  return { callId: s.slice(i, e), toTag, fromTag, earlyOnly: params.has('early-only'), params };
}

/** RAck = response-num LWS CSeq-num LWS Method (RFC 3262 §7.2). */
export interface RAck {
  rseq: number;
  cseq: number;
  method: string;
}

export function parseRAck(s: string): RAck {
  const parts = s.trim().split(/[ \t]+/);
  if (parts.length !== 3) throw new SipParseError('Invalid RAck');
  const method = parts[2]!;
  if (!isToken(method)) throw new SipParseError('Invalid RAck method');
  return { rseq: parseUnsigned(parts[0]!, 'RAck response-num'), cseq: parseUnsigned(parts[1]!, 'RAck CSeq-num'), method };
}

/** Session-Expires = delta-seconds *(SEMI se-params) (RFC 4028 §4). */
export interface SessionExpires {
  seconds: number;
  refresher: 'uac' | 'uas' | undefined;
  params: Params;
}

export function parseSessionExpires(s: string): SessionExpires {
  const end = s.length;
  let i = skipWs(s, 0, end);
  const d = i;
  while (i < end && isDigit(s.charCodeAt(i))) i++;
  const seconds = parseUnsigned(s.slice(d, i), 'Session-Expires');
  const params = new Params();
  if (parseParams(s, i, end, params) !== end) throw new SipParseError('Unexpected comma in Session-Expires');
  const r = params.get('refresher');
  const refresher = typeof r === 'string' && (r.toLowerCase() === 'uac' || r.toLowerCase() === 'uas') ? (r.toLowerCase() as 'uac' | 'uas') : undefined;
  return { seconds, refresher, params };
}

/** Reason = protocol *(SEMI reason-params) (RFC 3326 §2): `SIP;cause=200;text="Call completed elsewhere"`. */
export interface Reason {
  protocol: string;
  cause: number | undefined;
  text: string | undefined;
  params: Params;
}

export function parseReason(s: string): Reason {
  const { value, params } = parseTokenWithParams(s, 'Reason');
  const cause = params.get('cause');
  const text = params.get('text');
  return {
    protocol: value,
    cause: typeof cause === 'string' ? parseUnsigned(cause, 'Reason cause') : undefined,
    text: typeof text === 'string' ? text : undefined,
    params,
  };
}

/** Parses a delta-seconds header (Expires, Min-Expires, Max-Forwards…). */
export function parseDeltaSeconds(s: string, what: string, max = 0xffffffff): number {
  return parseUnsigned(s.trim(), what, max);
}
