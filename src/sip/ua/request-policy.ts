/**
 * The checks a UAS runs on every new request before looking at what it asks for
 * (RFC 3261 §8.2.1–§8.2.2, §16.3, RFC 4475 §3.3), as one pure function: `undefined` when the
 * request may go on, else the error response to send.
 *
 * Order (the RFC's: method first, then headers):
 * 1. **501** Not Implemented for a method we do not know (§8.2.1);
 * 2. **405** Method Not Allowed, with `Allow`, for a known method we do not accept (§8.2.1);
 * 3. **416** Unsupported URI Scheme for a Request-URI that is not `sip:`/`sips:` (§8.2.2.1,
 *    RFC 4475 §3.3.2 `unkscm`) — `uriSchemes` widens the list (e.g. `tel`);
 * 4. **483** Too Many Hops for `Max-Forwards: 0` (§16.3 step 3). A UA is the request's
 *    target and forwards nothing, but answering 483 keeps a mis-routed request from being
 *    acted on; OPTIONS is exempt (§11, §16.3: "OPTIONS with Max-Forwards 0 … the element MAY
 *    act as a UAS"), so an OPTIONS ping with Max-Forwards 0 is answered normally;
 * 5. **482** Loop Detected when one of the request's Vias carries one of our own sent-by
 *    values (`loopDetection.sentBy`) — a request we sent came back to us — and, when
 *    `loopDetection.ownBranch` is given, a branch it recognises as ours. Kept simple on
 *    purpose: with `sentBy` alone, a request we send to ourselves is a loop too;
 * 6. **420** Bad Extension with `Unsupported` listing the `Require` tags we do not support
 *    (§8.2.2.3).
 *
 * ACK and CANCEL never get here (the transaction layer owns them), and a 415 for bodies is the
 * handler's business (it knows which content types it reads).
 *
 * @example
 * ```ts
 * const error = checkRequest(request, {
 *   knownMethods: KNOWN_METHODS,
 *   allowedMethods: ['OPTIONS', 'MESSAGE', 'REGISTER'],
 *   supportedExtensions: ['path'],
 * });
 * if (error !== undefined) tx.respond(error);
 * ```
 */
import { createResponse, type SipRequest, type SipResponse } from '../message/index.js';

/** Every method of RFC 3261 and the extensions a UA commonly meets. */
export const KNOWN_METHODS: readonly string[] = [
  'INVITE',
  'ACK',
  'CANCEL',
  'BYE',
  'OPTIONS',
  'REGISTER',
  'PRACK', // RFC 3262
  'SUBSCRIBE', // RFC 6665
  'NOTIFY', // RFC 6665
  'PUBLISH', // RFC 3903
  'INFO', // RFC 6086
  'REFER', // RFC 3515
  'MESSAGE', // RFC 3428
  'UPDATE', // RFC 3311
];

/** Options of {@link checkRequest}. */
export interface RequestPolicy {
  /** Option tags we support (compared case-insensitively). */
  supportedExtensions: readonly string[];
  /** Methods we accept (case-sensitive, §7.1). */
  allowedMethods: readonly string[];
  /** Methods we know; others get 501 (default {@link KNOWN_METHODS} plus `allowedMethods`). */
  knownMethods?: readonly string[];
  /** Request-URI schemes accepted (default `['sip', 'sips']`). */
  uriSchemes?: readonly string[];
  /** Our own Vias, to spot a request of ours that came back (482). */
  loopDetection?: {
    /** Our sent-by values, `host:port` (host compared case-insensitively, port as a number; 5060 when absent). */
    sentBy: readonly string[];
    /** When given, a Via of ours counts only if its branch is one we sent. */
    ownBranch?: (branch: string) => boolean;
  };
  /** Randomness for the To tag of the error response. */
  random?: (bytes: number) => Uint8Array;
}

function sentByKey(host: string, port: number | undefined): string {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return `${h.toLowerCase()}:${port ?? 5060}`;
}

function parseSentBy(text: string): string {
  const m = /^(\[[^\]]*\]|[^:]+)(?::(\d+))?$/.exec(text.trim());
  if (m === null) return text.toLowerCase();
  return sentByKey(m[1]!, m[2] === undefined ? undefined : Number(m[2]));
}

/**
 * Checks `request` against `policy` (see the file comment). Returns `undefined` when the
 * request may be processed, else the response to send. A header that cannot be parsed
 * (a request read with `validate: false`) gives a 400 with the parse error as reason.
 *
 * @example
 * ```ts
 * checkRequest(invite, { allowedMethods: ['OPTIONS'], supportedExtensions: [] })?.status; // 405
 * ```
 */
export function checkRequest(request: SipRequest, policy: RequestPolicy): SipResponse | undefined {
  const respond = (status: number, reason?: string, headers: [string, string][] = []): SipResponse =>
    createResponse(request, status, reason, policy.random === undefined ? { headers } : { headers, random: policy.random });
  try {
    const method = request.method;
    const allowed = policy.allowedMethods;
    const known = policy.knownMethods ?? KNOWN_METHODS;
    if (!allowed.includes(method)) {
      if (!known.includes(method)) return respond(501);
      return respond(405, undefined, [['Allow', allowed.join(', ')]]);
    }
    const schemes = policy.uriSchemes ?? ['sip', 'sips'];
    const uri = request.uri;
    const scheme = uri.kind === 'sip' ? uri.scheme : uri.kind === 'tel' ? 'tel' : uri.scheme.toLowerCase();
    if (!schemes.includes(scheme)) return respond(416);
    if (request.maxForwards === 0 && method !== 'OPTIONS') return respond(483);
    const loop = policy.loopDetection;
    if (loop !== undefined && loop.sentBy.length > 0) {
      const ours = new Set(loop.sentBy.map(parseSentBy));
      for (const via of request.via) {
        if (!ours.has(sentByKey(via.host, via.port))) continue;
        const branch = via.branch;
        if (loop.ownBranch === undefined || (branch !== undefined && loop.ownBranch(branch))) return respond(482);
      }
    }
    const supported = new Set(policy.supportedExtensions.map((t) => t.toLowerCase()));
    const unsupported = request.require.filter((t) => !supported.has(t.toLowerCase()));
    if (unsupported.length > 0) return respond(420, undefined, [['Unsupported', unsupported.join(', ')]]);
    return undefined;
  } catch (e) {
    if (e instanceof Error && e.name === 'SipParseError') return respond(400, e.message);
    throw e;
  }
}
