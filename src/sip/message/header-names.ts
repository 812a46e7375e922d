/**
 * Header names: the compact forms of RFC 3261 §7.3.3 (and the extensions that define one),
 * the canonical spelling of known headers, and small integer ids for the headers the message
 * layer gives typed access to. Ids are computed once per header line while parsing, with a
 * case-insensitive comparison that allocates nothing, so later look-ups compare integers.
 */

/** Ids of the headers with typed accessors (0 = any other header). */
export const H = {
  Other: 0,
  Via: 1,
  From: 2,
  To: 3,
  CallId: 4,
  CSeq: 5,
  Contact: 6,
  ContentLength: 7,
  ContentType: 8,
  MaxForwards: 9,
  Route: 10,
  RecordRoute: 11,
  Expires: 12,
  MinExpires: 13,
  WwwAuthenticate: 14,
  ProxyAuthenticate: 15,
  Authorization: 16,
  ProxyAuthorization: 17,
  Allow: 18,
  Supported: 19,
  Require: 20,
  ProxyRequire: 21,
  Unsupported: 22,
  Event: 23,
  SubscriptionState: 24,
  Replaces: 25,
  RSeq: 26,
  RAck: 27,
  SessionExpires: 28,
  Reason: 29,
  ReferTo: 30,
  ReferredBy: 31,
  PAssertedIdentity: 32,
  ContentEncoding: 33,
  Subject: 34,
  AllowEvents: 35,
  Accept: 36,
  MinSE: 37,
  Date: 38,
  AcceptContact: 39,
  RejectContact: 40,
  RequestDisposition: 41,
  Identity: 42,
  Path: 43,
  ServiceRoute: 44,
} as const;

/** Number of distinct ids (size of per-id caches). */
export const HEADER_ID_COUNT = 45;

/** Canonical spelling for each id (index = id). */
export const CANONICAL: readonly string[] = [
  '',
  'Via',
  'From',
  'To',
  'Call-ID',
  'CSeq',
  'Contact',
  'Content-Length',
  'Content-Type',
  'Max-Forwards',
  'Route',
  'Record-Route',
  'Expires',
  'Min-Expires',
  'WWW-Authenticate',
  'Proxy-Authenticate',
  'Authorization',
  'Proxy-Authorization',
  'Allow',
  'Supported',
  'Require',
  'Proxy-Require',
  'Unsupported',
  'Event',
  'Subscription-State',
  'Replaces',
  'RSeq',
  'RAck',
  'Session-Expires',
  'Reason',
  'Refer-To',
  'Referred-By',
  'P-Asserted-Identity',
  'Content-Encoding',
  'Subject',
  'Allow-Events',
  'Accept',
  'Min-SE',
  'Date',
  'Accept-Contact',
  'Reject-Contact',
  'Request-Disposition',
  'Identity',
  'Path',
  'Service-Route',
];

/**
 * Compact forms: RFC 3261 §7.3.3 (i m e l f t v k c s), RFC 3265/6665 (o u), RFC 3515 (r),
 * RFC 3892 (b), RFC 4028 (x), RFC 3841 (a j d), RFC 8224 (y).
 */
const COMPACT: Record<string, number> = {
  i: H.CallId,
  m: H.Contact,
  e: H.ContentEncoding,
  l: H.ContentLength,
  f: H.From,
  t: H.To,
  v: H.Via,
  k: H.Supported,
  c: H.ContentType,
  s: H.Subject,
  o: H.Event,
  u: H.AllowEvents,
  r: H.ReferTo,
  b: H.ReferredBy,
  x: H.SessionExpires,
  a: H.AcceptContact,
  j: H.RejectContact,
  d: H.RequestDisposition,
  y: H.Identity,
};

/** The compact letter of each id that has one (index = id). */
export const COMPACT_OF: readonly string[] = (() => {
  const out: string[] = new Array(HEADER_ID_COUNT).fill('');
  for (const [k, id] of Object.entries(COMPACT)) out[id] = k;
  return out;
})();

// Candidates bucketed by name length and first letter, so that a look-up usually makes one
// full comparison: bucket = length * 32 + (first char & 31), which folds ASCII case.
const MAX_NAME = 24;
const BUCKETS: ({ lower: string; id: number }[] | undefined)[] = new Array((MAX_NAME + 1) * 32);
function addCandidate(lower: string, id: number): void {
  (BUCKETS[lower.length * 32 + (lower.charCodeAt(0) & 31)] ??= []).push({ lower, id });
}
for (let id = 1; id < HEADER_ID_COUNT; id++) addCandidate(CANONICAL[id]!.toLowerCase(), id);
for (const [k, id] of Object.entries(COMPACT)) addCandidate(k, id);

/** Id of the header whose name is `s[start..end)`, compared case-insensitively; 0 if unknown. */
export function headerIdOf(s: string, start: number, end: number): number {
  const len = end - start;
  if (len > MAX_NAME || len === 0) return 0;
  const list = BUCKETS[len * 32 + (s.charCodeAt(start) & 31)];
  if (list === undefined) return 0;
  outer: for (let k = 0; k < list.length; k++) {
    const cand = list[k]!;
    const lower = cand.lower;
    for (let i = 0; i < len; i++) {
      let c = s.charCodeAt(start + i);
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      if (c !== lower.charCodeAt(i)) continue outer;
    }
    return cand.id;
  }
  return 0;
}

/** Id of a header name given as a whole string. */
export function headerId(name: string): number {
  return headerIdOf(name, 0, name.length);
}

/**
 * The canonical spelling of a header name: `v` → `Via`, `call-id` → `Call-ID`; unknown names
 * are returned as given.
 */
export function canonicalHeaderName(name: string): string {
  const id = headerId(name);
  return id === 0 ? name : CANONICAL[id]!;
}

/**
 * Headers whose values form comma-separated lists (RFC 3261 §7.3.1): several values may share
 * one header line. Authentication headers and single-valued headers are not lists, and Date
 * contains a comma of its own.
 */
export const LIST_HEADERS: ReadonlySet<number> = new Set<number>([
  H.Via,
  H.Contact,
  H.Route,
  H.RecordRoute,
  H.Allow,
  H.Supported,
  H.Require,
  H.ProxyRequire,
  H.Unsupported,
  H.ContentEncoding,
  H.AllowEvents,
  H.Accept,
  H.Reason,
  H.PAssertedIdentity,
  H.Path,
  H.ServiceRoute,
  H.AcceptContact,
  H.RejectContact,
  H.RequestDisposition,
]);
