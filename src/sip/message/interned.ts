/**
 * Common short tokens returned as shared constants instead of fresh slices: parameter names
 * (`tag`, `branch`, `rport`…), Via protocol parts and transports. A short substring is a
 * new allocation in V8; a parser that meets the same dozen tokens in every message saves
 * that work by comparing in place (at most a few characters) and returning the constant.
 */

const TOKENS = [
  'SIP',
  '2.0',
  'UDP',
  'TCP',
  'TLS',
  'WS',
  'WSS',
  'SCTP',
  'tag',
  'branch',
  'rport',
  'received',
  'maddr',
  'ttl',
  'lr',
  'transport',
  'expires',
  'q',
  'user',
  'method',
  'udp',
  'tcp',
  'tls',
  'ws',
  'wss',
  'phone',
  'ob',
  'reg-id',
  'refresher',
  'uac',
  'uas',
];

const MAX_LEN = 9;
// Bucketed by length and first character: usually one candidate to compare.
const BUCKETS: (string[] | undefined)[] = new Array((MAX_LEN + 1) * 128);
for (const t of TOKENS) (BUCKETS[t.length * 128 + t.charCodeAt(0)] ??= []).push(t);

/** `s.slice(start, end)`, or the shared constant when that text is a common token. */
export function sliceInterned(s: string, start: number, end: number): string {
  const len = end - start;
  if (len <= MAX_LEN && len > 0) {
    const c0 = s.charCodeAt(start);
    const list = c0 < 128 ? BUCKETS[len * 128 + c0] : undefined;
    if (list !== undefined) {
      outer: for (let k = 0; k < list.length; k++) {
        const t = list[k]!;
        for (let i = 1; i < len; i++) if (s.charCodeAt(start + i) !== t.charCodeAt(i)) continue outer;
        return t;
      }
    }
  }
  return s.slice(start, end);
}
