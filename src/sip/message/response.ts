/**
 * Building a response from a request (RFC 3261 §8.2.6): the response copies Via (all
 * values, in order), From, To, Call-ID and CSeq; a To tag is added to every response but
 * 100 Trying when the request had none; and responses that can establish a dialog copy
 * Record-Route (§12.1.1).
 */
import { randomBytes } from 'node:crypto';
import { H, headerId as headerIdOfName } from './header-names.js';
import { SipResponse, type HeaderValue, type SipRequest } from './message.js';
import type { NameAddr } from './name-addr.js';

/** Default reason phrases (RFC 3261 §21 and the extensions a PBX meets). */
const REASONS: Record<number, string> = {
  100: 'Trying',
  180: 'Ringing',
  181: 'Call Is Being Forwarded',
  182: 'Queued',
  183: 'Session Progress',
  199: 'Early Dialog Terminated',
  200: 'OK',
  202: 'Accepted',
  204: 'No Notification',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  305: 'Use Proxy',
  380: 'Alternative Service',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  410: 'Gone',
  412: 'Conditional Request Failed',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  417: 'Unknown Resource-Priority',
  420: 'Bad Extension',
  421: 'Extension Required',
  422: 'Session Interval Too Small',
  423: 'Interval Too Brief',
  428: 'Use Identity Header',
  429: 'Provide Referrer Identity',
  433: 'Anonymity Disallowed',
  439: 'First Hop Lacks Outbound Support',
  440: 'Max-Breadth Exceeded',
  469: 'Bad Info Package',
  470: 'Consent Needed',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  484: 'Address Incomplete',
  485: 'Ambiguous',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  489: 'Bad Event',
  491: 'Request Pending',
  493: 'Undecipherable',
  494: 'Security Agreement Required',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Server Time-out',
  505: 'Version Not Supported',
  513: 'Message Too Large',
  555: 'Push Notification Service Not Supported',
  580: 'Precondition Failure',
  600: 'Busy Everywhere',
  603: 'Decline',
  604: 'Does Not Exist Anywhere',
  606: 'Not Acceptable',
  607: 'Unwanted',
  608: 'Rejected',
};

/** The standard reason phrase for `status`, or a generic one for its class. */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? REASONS[Math.floor(status / 100) * 100] ?? 'Unknown';
}

export interface ResponseOptions {
  /** The To tag to add (when the request's To has none and status > 100). Default: random. */
  toTag?: string;
  /** Extra headers appended after the copied ones. */
  headers?: Iterable<[string, HeaderValue]>;
  /** Response body. */
  body?: Uint8Array | string;
  /** Randomness for the generated To tag (tests inject a deterministic source). */
  random?: (bytes: number) => Uint8Array;
}

const DIALOG_METHODS = new Set(['INVITE', 'SUBSCRIBE', 'REFER', 'NOTIFY']);

/**
 * Creates the response to `req` (RFC 3261 §8.2.6).
 *
 * @example
 * ```ts
 * const ringing = createResponse(invite, 180);
 * const ok = createResponse(invite, 200, 'OK', { toTag: ringing.to.tag, headers: [['Contact', '<sip:bob@192.0.2.4>']] });
 * ```
 */
export function createResponse(req: SipRequest, status: number, reason?: string, options: ResponseOptions = {}): SipResponse {
  const res = new SipResponse(status, reason ?? reasonPhrase(status));
  const n = req.headerCount;
  // Copy in the request's order, keeping the names as they were (compact forms included).
  for (let i = 0; i < n; i++) {
    const name = req.nameAt(i);
    const v = req.valueAt(i);
    switch (headerIdOfName(name)) {
      case H.Via:
      case H.From:
      case H.CallId:
      case H.CSeq:
        res.append(name, v);
        break;
      case H.To:
        res.append(name, v);
        break;
      case H.RecordRoute:
        if (status > 100 && status < 300 && DIALOG_METHODS.has(req.method)) res.append(name, v);
        break;
      default:
        break;
    }
  }
  if (status > 100 && res.has('To')) {
    let to: NameAddr | undefined;
    try {
      to = res.to;
    } catch {
      // A malformed To (the reason for a 400, say) is echoed as received, without a tag:
      // the response still reaches the sender, which is what matters for an error.
    }
    if (to !== undefined && to.tag === undefined) {
      const random = options.random ?? randomBytes;
      to.tag = options.toTag ?? Buffer.from(random(8)).toString('hex');
      res.set('To', to.toString());
    }
  }
  if (options.headers) for (const [k, v] of options.headers) res.append(k, v);
  if (options.body !== undefined) res.body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : Buffer.from(options.body);
  return res;
}
