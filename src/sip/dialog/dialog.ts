/**
 * A SIP dialog (RFC 3261 §12): the peer-to-peer relationship between two user agents that
 * lasts for some time and gives its requests their context — sequence numbers, the route set
 * and the remote target.
 *
 * ```
 *            1xx with To tag           2xx
 *   (none) ------------------> early -------> confirmed
 *      |                         |                |
 *      |  2xx                    | non-2xx final  | BYE, 408/481 to an in-dialog
 *      +-------------------------|----------------| request, session expiry,
 *                                v                v no ACK for the 2xx…
 *                             terminated <--------+
 * ```
 *
 * This class is the §12 state and the rules that go with it; the dialog manager decides when
 * a dialog is created, confirmed and ended, and sends what `createRequest` builds.
 */
import { SipRequest, SipParseError, parseNameAddr, type HeaderValue, type NameAddr, type SipResponse, type Uri } from '../message/index.js';
import type { DialogId } from './dialog-id.js';
import { dialogKey } from './dialog-id.js';

/**
 * Dialog states (§12): `early` after a provisional response with a To tag, `confirmed` after
 * a 2xx, `terminated` at the end.
 *
 * @example
 * ```ts
 * if (dialog.state === 'confirmed') manager.bye(dialog);
 * ```
 */
export type DialogState = 'early' | 'confirmed' | 'terminated';

/**
 * Our role in the transaction that created the dialog: `uac` when we sent the INVITE
 * (and so own its Call-ID, which matters for the §14.1 glare timers), `uas` when we answered it.
 *
 * @example
 * ```ts
 * const ownsCallId = dialog.role === 'uac';
 * ```
 */
export type DialogRole = 'uac' | 'uas';

/** Methods whose requests may change the remote target (§12.2, RFC 3311, RFC 3515, RFC 6665). */
const TARGET_REFRESH = new Set(['INVITE', 'UPDATE', 'SUBSCRIBE', 'NOTIFY', 'REFER']);

/**
 * Whether `method` is a target refresh request (its Contact replaces the remote target).
 *
 * @example
 * ```ts
 * isTargetRefresh('UPDATE'); // true
 * isTargetRefresh('BYE');    // false
 * ```
 */
export function isTargetRefresh(method: string): boolean {
  return TARGET_REFRESH.has(method);
}

/**
 * Options of {@link Dialog.createRequest}.
 *
 * @example
 * ```ts
 * const opts: DialogRequestOptions = { via: 'SIP/2.0/UDP 192.0.2.1:5060;rport', headers: [['Reason', 'SIP;cause=200']] };
 * ```
 */
export interface DialogRequestOptions {
  /** A Via value without branch (the transaction layer adds one). Omitted: no Via is added. */
  via?: string;
  /** The CSeq number for ACK (the INVITE's, §13.2.2.4); ignored for other methods. */
  cseq?: number;
  /** Extra headers, appended after the dialog's own. */
  headers?: Iterable<[string, HeaderValue]>;
  /** The body (give a Content-Type in `headers`). */
  body?: Uint8Array | string;
}

/**
 * What a new dialog is made of (the factories {@link Dialog.fromUasResponse} and
 * {@link Dialog.fromUacResponse} fill it in from the messages).
 *
 * @example
 * ```ts
 * const d = new Dialog({
 *   id: { callId: 'c1', localTag: 'a', remoteTag: 'b' }, role: 'uac', state: 'confirmed',
 *   localUri: parseNameAddr('<sip:alice@example.com>'), remoteUri: parseNameAddr('<sip:bob@example.com>'),
 *   localSeq: 1, remoteSeq: undefined, routeSet: [], remoteTarget: parseUri('sip:bob@192.0.2.4'),
 *   secure: false, localContact: parseNameAddr('<sip:alice@192.0.2.1>'),
 * });
 * ```
 */
export interface DialogInit {
  id: DialogId;
  role: DialogRole;
  state: 'early' | 'confirmed';
  localUri: NameAddr;
  remoteUri: NameAddr;
  localSeq: number | undefined;
  remoteSeq: number | undefined;
  routeSet: NameAddr[];
  remoteTarget: Uri;
  secure: boolean;
  localContact: NameAddr;
}

/** The URI of a response's or request's single Contact, or undefined when absent or unreadable. */
function contactUri(message: SipRequest | SipResponse): Uri | undefined {
  try {
    const c = message.contacts;
    return c.length === 1 ? c[0]!.uri : undefined;
  } catch (e) {
    if (e instanceof SipParseError) return undefined;
    throw e;
  }
}

function withoutTag(a: NameAddr): NameAddr {
  const c = a.clone();
  c.tag = undefined;
  return c;
}

/**
 * One dialog, from our side.
 *
 * @example
 * ```ts
 * // UAC: a 180 with a To tag to our INVITE made an early dialog
 * const dialog = Dialog.fromUacResponse(invite, ringing, contact);
 * const bye = dialog.createRequest('BYE', { via: 'SIP/2.0/UDP 192.0.2.1:5060;rport' });
 * bye.uriString;        // the remote target (or the first route of a strict-routing route set)
 * bye.getAll('Route');  // the route set, in order
 * String(dialog.nextHop()); // where to send it
 * ```
 */
export class Dialog {
  readonly id: DialogId;
  /** {@link dialogKey} of the id. */
  readonly key: string;
  readonly role: DialogRole;
  state: DialogState;
  /** Our URI (From of requests we send), without tag. */
  readonly localUri: NameAddr;
  /** The peer's URI (To of requests we send), without tag. */
  readonly remoteUri: NameAddr;
  /**
   * Our CSeq counter (§12.1.1, §12.1.2): the INVITE's for the UAC; empty for the UAS until its
   * first request, then a random start below 2^31 (§12.2.1.1).
   */
  localSeq: number | undefined;
  /** The highest CSeq received from the peer; empty until its first request (UAC side). */
  remoteSeq: number | undefined;
  /** Route set (§12.1.1: Record-Route in order for the UAS; reversed for the UAC, §12.1.2). */
  routeSet: NameAddr[];
  /** Where requests go: the peer's Contact, refreshed by target refresh requests (§12.2). */
  remoteTarget: Uri;
  /** Whether the dialog was set up over TLS with a sips Request-URI (§12.1.1). */
  readonly secure: boolean;
  /** Our Contact, sent in target refresh requests and their responses. */
  localContact: NameAddr;

  constructor(init: DialogInit) {
    this.id = init.id;
    this.key = dialogKey(init.id);
    this.role = init.role;
    this.state = init.state;
    this.localUri = withoutTag(init.localUri);
    this.remoteUri = withoutTag(init.remoteUri);
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.routeSet = init.routeSet;
    this.remoteTarget = init.remoteTarget;
    this.secure = init.secure;
    this.localContact = init.localContact;
  }

  /**
   * The UAS side of a dialog created by our 101–299 `response` to `request` (§12.1.1): route
   * set = the request's Record-Route in order, remote target = its Contact (the From URI when
   * it has none), remote CSeq = the request's, local CSeq empty.
   *
   * @example
   * ```ts
   * const d = Dialog.fromUasResponse(invite, ok, contact, invite.uri.scheme === 'sips' && overTls);
   * ```
   */
  static fromUasResponse(request: SipRequest, response: SipResponse, localContact: NameAddr, secure = false): Dialog {
    const localTag = response.to.tag;
    const remoteTag = request.from.tag;
    if (localTag === undefined || remoteTag === undefined) throw new SipParseError('A dialog needs a From tag and a To tag');
    return new Dialog({
      id: { callId: request.callId, localTag, remoteTag },
      role: 'uas',
      state: response.status >= 200 ? 'confirmed' : 'early',
      localUri: response.to,
      remoteUri: request.from,
      localSeq: undefined,
      remoteSeq: request.cseq.seq,
      routeSet: request.recordRoutes.map((r) => r.clone()),
      remoteTarget: contactUri(request) ?? request.from.uri,
      secure,
      localContact,
    });
  }

  /**
   * The UAC side of a dialog created by `response` (a 101–199 with a To tag, or a 2xx) to our
   * `request` (§12.1.2): route set = the response's Record-Route reversed, remote target = its
   * Contact (the Request-URI when it has none), local CSeq = the request's, remote CSeq empty.
   *
   * @example
   * ```ts
   * const d = Dialog.fromUacResponse(invite, ringing, contact);
   * d.state; // 'early'
   * ```
   */
  static fromUacResponse(request: SipRequest, response: SipResponse, localContact: NameAddr): Dialog {
    const localTag = request.from.tag;
    const remoteTag = response.to.tag;
    if (localTag === undefined || remoteTag === undefined) throw new SipParseError('A dialog needs a From tag and a To tag');
    const uri = request.uri;
    return new Dialog({
      id: { callId: request.callId, localTag, remoteTag },
      role: 'uac',
      state: response.status >= 200 ? 'confirmed' : 'early',
      localUri: request.from,
      remoteUri: response.to,
      localSeq: request.cseq.seq,
      remoteSeq: undefined,
      routeSet: response.recordRoutes.map((r) => r.clone()).reverse(),
      remoteTarget: contactUri(response) ?? uri,
      secure: uri.scheme === 'sips',
      localContact,
    });
  }

  /** Whether we were the UAC of the dialog-creating INVITE and so own its Call-ID (§14.1). */
  get ownsCallId(): boolean {
    return this.role === 'uac';
  }

  /**
   * An early UAC dialog becomes confirmed by a 2xx (§13.2.2.4): the route set is recomputed
   * from the 2xx and the remote target taken from its Contact.
   */
  confirm(response: SipResponse): void {
    if (this.state !== 'early') return;
    this.state = 'confirmed';
    if (this.role === 'uac') {
      try {
        this.routeSet = response.recordRoutes.map((r) => r.clone()).reverse();
      } catch (e) {
        if (!(e instanceof SipParseError)) throw e; // a malformed Record-Route: keep the early route set
      }
    }
    this.refreshTarget(response);
  }

  /**
   * Replaces the remote target with the single Contact of `message` when it has one (§12.2.1.2
   * for a 2xx to our target refresh request, §12.2.2 for one we received). Returns whether it changed.
   */
  refreshTarget(message: SipRequest | SipResponse): boolean {
    const uri = contactUri(message);
    if (uri === undefined) return false;
    this.remoteTarget = uri;
    return true;
  }

  /**
   * A final response to a request we sent in the dialog (§12.2.1.2): a 2xx to a target refresh
   * request (re-INVITE, UPDATE…) replaces the remote target with its Contact. Returns whether
   * the remote target changed.
   *
   * @example
   * ```ts
   * dialog.receiveResponse(update, ok); // true when ok carries a Contact
   * ```
   */
  receiveResponse(request: SipRequest, response: SipResponse): boolean {
    if (response.status < 200 || response.status >= 300 || !isTargetRefresh(request.method)) return false;
    return this.refreshTarget(response);
  }

  /**
   * Checks the CSeq of a request received in the dialog (§12.2.2): one lower than the remote
   * sequence number is out of order (answer 500); otherwise the remote sequence number becomes
   * the request's. ACK and CANCEL carry their INVITE's number and are not checked.
   *
   * @example
   * ```ts
   * if (dialog.receiveRequest(bye) === 'out-of-order') tx.respond(createResponse(bye, 500));
   * ```
   */
  receiveRequest(request: SipRequest): 'in-order' | 'out-of-order' {
    if (request.method === 'ACK' || request.method === 'CANCEL') return 'in-order';
    const seq = request.cseq.seq;
    if (this.remoteSeq !== undefined && seq < this.remoteSeq) return 'out-of-order';
    this.remoteSeq = seq;
    return 'in-order';
  }

  /**
   * Next CSeq for a new request (§12.2.1.1): the local sequence number plus one. For a UAS
   * dialog that has sent nothing yet, `initial` (a random value below 2^31) is the first.
   */
  nextSeq(initial: () => number): number {
    this.localSeq = this.localSeq === undefined ? initial() : this.localSeq + 1;
    return this.localSeq;
  }

  /**
   * Where a request built by {@link createRequest} goes first (§8.1.2): the first route of the
   * route set (for a strict router that is also the Request-URI), else the remote target.
   */
  nextHop(): Uri {
    const first = this.routeSet[0];
    return first !== undefined ? first.uri : this.remoteTarget;
  }

  /** Whether the route set starts with a strict router (its first URI has no `lr`, §12.2.1.1). */
  get strictRouting(): boolean {
    const first = this.routeSet[0];
    if (first === undefined) return false;
    const uri = first.uri;
    return uri.kind === 'sip' && !uri.lr;
  }

  /**
   * A request within the dialog (§12.2.1.1): To = remote URI and tag, From = local URI and tag,
   * Call-ID; CSeq = local sequence number + 1 (ACK carries `options.cseq`, the INVITE's);
   * Request-URI and Route from the remote target and the route set — loose routing: the remote
   * target and the route set as Route; strict routing (first route without `lr`): the first
   * route as Request-URI (without parameters a Request-URI may not carry), the rest of the
   * route set then the remote target as Route. A Contact for target refresh methods.
   * `initialSeq` gives the first local CSeq of a UAS dialog.
   *
   * @example
   * ```ts
   * const update = dialog.createRequest('UPDATE', { via, headers: [['Session-Expires', '1800;refresher=uac']] }, () => 1);
   * ```
   */
  createRequest(method: string, options: DialogRequestOptions = {}, initialSeq: () => number = () => 1): SipRequest {
    if (this.state === 'terminated') throw new RangeError(`The dialog is terminated: no ${method} can be sent in it`);
    let seq: number;
    if (method === 'ACK') {
      if (options.cseq === undefined) throw new RangeError('An ACK needs the CSeq number of its INVITE');
      seq = options.cseq;
    } else seq = this.nextSeq(initialSeq);
    let requestUri: Uri;
    const routes: string[] = [];
    if (this.strictRouting) {
      const first = this.routeSet[0]!.uri;
      const ruri = first.clone();
      if (ruri.kind === 'sip') {
        // §19.1.1 (table 1): `method` and headers are not allowed in a Request-URI.
        ruri.params.delete('method');
        for (const n of [...ruri.headers.names]) ruri.headers.delete(n);
      }
      requestUri = ruri;
      for (let i = 1; i < this.routeSet.length; i++) routes.push(this.routeSet[i]!.toString());
      routes.push(`<${this.remoteTarget.toString()}>`);
    } else {
      requestUri = this.remoteTarget.clone();
      for (const r of this.routeSet) routes.push(r.toString());
    }
    const req = new SipRequest(method, requestUri);
    if (options.via !== undefined) req.append('Via', options.via);
    req.append('Max-Forwards', '70');
    const from = this.localUri.clone();
    from.tag = this.id.localTag;
    const to = this.remoteUri.clone();
    to.tag = this.id.remoteTag;
    req.append('From', from.toString());
    req.append('To', to.toString());
    req.append('Call-ID', this.id.callId);
    req.append('CSeq', `${seq} ${method}`);
    for (const r of routes) req.append('Route', r);
    if (isTargetRefresh(method)) req.append('Contact', this.localContact.toString());
    if (options.headers !== undefined) for (const [n, v] of options.headers) req.append(n, v);
    if (options.body !== undefined) req.body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : Buffer.from(options.body);
    return req;
  }

  /** A short description for logs: `uac confirmed c1;a;b`. */
  toString(): string {
    return `${this.role} ${this.state} ${this.id.callId};${this.id.localTag};${this.id.remoteTag}`;
  }
}

/**
 * A Contact given as text (`<sip:me@192.0.2.1>`, `"Me" <sip:me@host>;expires=60` or a bare
 * `sip:me@host`), parsed and its URI checked; a NameAddr is returned as is. Throws
 * `SipParseError`.
 * @internal
 *
 * @example
 * ```ts
 * toContact('sip:pbx@192.0.2.1:5060').toString(); // '<sip:pbx@192.0.2.1:5060>'
 * ```
 */
export function toContact(contact: NameAddr | string): NameAddr {
  if (typeof contact !== 'string') return contact;
  const a = parseNameAddr(contact.trim());
  void a.uri;
  return a;
}
