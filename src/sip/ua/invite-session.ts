/**
 * INVITE sessions of the {@link UserAgent}: one call, from the INVITE to the BYE, seen from
 * the application (RFC 3261 §13–§15). The dialog layer ({@link DialogManager}) does the
 * protocol work — tags, CSeq, ACK, 2xx retransmission, PRACK, session timers, glare — and
 * a session turns it into a small, typed API with events and promises:
 *
 * ```
 *   OutgoingSession (ua.invite)                    IncomingSession (ua.on('invite'))
 *   calling ─1xx─► early ─2xx─► established        incoming ─ringing()/progress()─► early
 *      │             │             │                  │  accept() ─► established ─ACK─► 'confirmed'
 *      │ cancel()    │ cancel()    │ bye() / BYE      │  reject() / redirect() / CANCEL
 *      ▼             ▼             ▼                  ▼
 *   terminated (reason: rejected, redirected, cancelled, local-bye, remote-bye, timeout, …)
 * ```
 *
 * Bodies are opaque (a content type and bytes): SDP offer/answer is the caller's, with the
 * interim direction helpers of `sdp-direction.ts` for hold and unhold (RFC 3264 §8.4).
 *
 * @example
 * ```ts
 * const session = ua.invite('sip:bob@192.0.2.4', { body: offer, contentType: 'application/sdp' });
 * session.on('progress', (res) => console.log(res.status, res.reason));
 * await session.answered;                       // rejects with SessionFailedError on 4xx–6xx
 * await session.hold();                          // re-INVITE with a=sendonly
 * await session.bye();
 * ```
 */
import type { DigestClient } from '../auth/index.js';
import {
  SipParseError,
  type HeaderValue,
  type NameAddr,
  type SipRequest,
  type SipResponse,
  parseMessage,
  serializeMessage,
} from '../message/index.js';
import type { ClientTransaction, InviteServerTransaction, ServerTransaction } from '../transaction/index.js';
import type { Endpoint } from '../transport/index.js';
import { dialogKey, DialogError, type Dialog, type DialogManager, type InviteOptions, type OutgoingInvite, type TerminationReason } from '../dialog/index.js';
import { answerDirection, sdpDirection, setSdpDirection } from './sdp-direction.js';
import { IncomingRefer, ReferRequest, referToValue, type ReferChannel, type ReferOptions } from './refer.js';
import { TypedEmitter } from './typed-emitter.js';

/**
 * A message body with its type: what the session sends or received (SDP, usually).
 *
 * @example
 * ```ts
 * const offer: SessionBody = { contentType: 'application/sdp', body: sdpText };
 * ```
 */
export interface SessionBody {
  contentType: string;
  body: Buffer;
}

/**
 * A body to send, and extra headers. `contentType` defaults to `application/sdp`.
 *
 * @example
 * ```ts
 * session.accept({ body: answer, headers: [['X-Call-Tag', 'sales']] });
 * ```
 */
export interface BodyOptions {
  body?: string | Uint8Array;
  contentType?: string;
  headers?: Iterable<[string, HeaderValue]>;
}

/**
 * Where a session stands (see the file comment's diagram).
 *
 * @example
 * ```ts
 * if (session.state === 'established') await session.bye();
 * ```
 */
export type SessionState = 'calling' | 'incoming' | 'early' | 'established' | 'terminated';

/**
 * Why a session ended: a {@link TerminationReason} of its dialog, or how its INVITE failed —
 * `redirected` (3xx), `rejected` (4xx–6xx, or our reject()), `cancelled` (either side),
 * `timeout`, `transport-error`, `overload`.
 *
 * @example
 * ```ts
 * session.on('terminated', ({ reason, status }) => console.log('ended', reason, status ?? ''));
 * ```
 */
export type SessionEndReason = TerminationReason | 'redirected' | 'timeout' | 'transport-error';

/**
 * How a session ended: the reason, and the final response when a status decided it.
 *
 * @example
 * ```ts
 * const { reason, status } = await session.ended;
 * ```
 */
export interface SessionEnd {
  reason: SessionEndReason;
  status?: number;
  response?: SipResponse;
}

/**
 * Why `answered` rejected: the final response (or none for a timeout or transport error).
 * For a redirect, `contacts` lists where to try (RFC 3261 §8.1.3.4).
 *
 * @example
 * ```ts
 * try { await session.answered; } catch (e) {
 *   if (e instanceof SessionFailedError && e.status === 486) console.log('busy');
 * }
 * ```
 */
export class SessionFailedError extends Error {
  override readonly name = 'SessionFailedError';
  constructor(
    readonly reason: SessionEndReason,
    readonly response?: SipResponse,
  ) {
    super(response === undefined ? `call failed: ${reason}` : `call failed: ${response.status} ${response.reason}`);
  }
  /** The final status, when a response ended the call. */
  get status(): number | undefined {
    return this.response?.status;
  }
  /** Contacts of a 3xx (empty otherwise). */
  get contacts(): NameAddr[] {
    const r = this.response;
    if (r === undefined || r.status < 300 || r.status >= 400) return [];
    try {
      return r.contacts;
    } catch {
      return [];
    }
  }
}

/**
 * Events of every session.
 *
 * @example
 * ```ts
 * session.on('terminated', (end) => console.log(end.reason));
 * session.on('reinvite', (r) => r.accept());
 * ```
 */
export interface InviteSessionEvents {
  [event: string]: unknown[];
  /** The dialog is confirmed: a 2xx was received (outgoing) or sent (incoming). */
  established: [response: SipResponse];
  /** The ACK for our 2xx arrived (incoming sessions, and re-INVITEs we answered). */
  confirmed: [ack: SipRequest];
  /** The session ended. */
  terminated: [end: SessionEnd];
  /**
   * The peer sent a re-INVITE (or an UPDATE) with a new offer. Answer it with
   * `accept()`/`reject()`; without a listener it is accepted with our last body, its
   * direction mirrored for SDP (RFC 3264 §6.1), so a peer's hold is answered `recvonly`.
   */
  reinvite: [request: IncomingReinvite];
  /** The peer's re-INVITE put us on hold (`true`: sendonly/inactive offered) or took us off it. */
  'remote-hold': [held: boolean];
  /** The peer asks us to call someone (RFC 3515). Without a listener: 603. */
  refer: [refer: IncomingRefer];
  /** An INFO request in the session (answered 200 after the listeners). */
  info: [request: SipRequest];
}

/**
 * Events of an {@link OutgoingSession}, beside the common ones.
 *
 * @example
 * ```ts
 * session.on('early-media', (res) => startPlayout(res.body));
 * ```
 */
export interface OutgoingSessionEvents extends InviteSessionEvents {
  /** Every provisional response (100 included). */
  progress: [response: SipResponse];
  /** A provisional response with a body (an early-media answer, usually 183 with SDP). */
  'early-media': [response: SipResponse];
  /** A 3xx: where the callee may be reached instead (follow with `ua.invite(contact)`). */
  redirect: [contacts: NameAddr[], response: SipResponse];
  /** The INVITE failed (any final non-2xx, a timeout, a transport error). */
  failed: [error: SessionFailedError];
}

/**
 * Events of an {@link IncomingSession}, beside the common ones.
 *
 * @example
 * ```ts
 * incoming.on('cancel', () => console.log('caller hung up before we answered'));
 * ```
 */
export interface IncomingSessionEvents extends InviteSessionEvents {
  /** The caller cancelled the INVITE before we answered it (we answered 487). */
  cancel: [];
}

/** @internal What a session needs from its {@link UserAgent}. */
export interface SessionHost {
  readonly dialogs: DialogManager;
  readonly digest: DigestClient | undefined;
  /** Map the dialog to the session (for requests inside it). */
  bind(dialog: Dialog, session: AnyInviteSession): void;
  unbind(dialog: Dialog, session: AnyInviteSession): void;
  /** The session ended (drop it from the UA's set). */
  release(session: AnyInviteSession): void;
  /** A place for errors nobody awaits. */
  error(error: unknown, context: string): void;
  /** Our identity, for Referred-By (RFC 3892). */
  readonly identity: string;
}

const SDP = 'application/sdp';

function toBuffer(body: string | Uint8Array): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function bodyOf(message: SipRequest | SipResponse): SessionBody | undefined {
  if (message.body.length === 0) return undefined;
  let type = 'application/octet-stream';
  try {
    const ct = message.contentType;
    if (ct !== undefined) type = ct.essence;
  } catch (e) {
    if (!(e instanceof SipParseError)) throw e;
  }
  return { contentType: type, body: message.body };
}

function bodyHeaders(options: BodyOptions | undefined): { headers: [string, HeaderValue][]; body: string | Uint8Array | undefined } {
  const headers: [string, HeaderValue][] = options?.headers === undefined ? [] : [...options.headers];
  const body = options?.body;
  if (body !== undefined) headers.push(['Content-Type', options?.contentType ?? SDP]);
  return { headers, body };
}

function isHold(body: SessionBody | undefined): boolean {
  if (body === undefined || body.contentType !== SDP) return false;
  const d = sdpDirection(body.body.toString('utf8'));
  return d === 'sendonly' || d === 'inactive';
}

/**
 * What both kinds of session share: state, dialog, bodies, in-dialog requests (re-INVITE,
 * REFER, INFO), BYE, and the `ended` promise.
 *
 * @example
 * ```ts
 * function logCall(session: InviteSession): void {
 *   session.on('terminated', (end) => console.log(session.callId, end.reason));
 * }
 * ```
 */
export abstract class InviteSession<E extends InviteSessionEvents = InviteSessionEvents> extends TypedEmitter<E> {
  /** Where the session stands. */
  state: SessionState;
  /** The confirmed dialog (incoming: the dialog from our first 1xx or 2xx). */
  dialog: Dialog | undefined;
  /** The last body we sent (offer or answer). */
  localBody: SessionBody | undefined;
  /** The last body the peer sent. */
  remoteBody: SessionBody | undefined;
  /** Whether we put the peer on hold (hold() succeeded, unhold() not yet). */
  onHold = false;
  /** How it ended, once it has. */
  end: SessionEnd | undefined;
  /** Resolves when the session ends (never rejects). */
  readonly ended: Promise<SessionEnd>;
  /** @internal */
  protected readonly host: SessionHost;
  private resolveEnded!: (end: SessionEnd) => void;
  /** @internal Outgoing REFERs waiting for NOTIFYs, by the REFER's CSeq (RFC 3515 §2.4.6). */
  private refers: Map<number, ReferRequest> | undefined;

  /** @internal */
  protected constructor(host: SessionHost, state: SessionState) {
    super();
    this.host = host;
    this.state = state;
    this.ended = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
  }

  /** @internal This session as the concrete kind it is. */
  protected get self(): AnyInviteSession {
    return this as unknown as AnyInviteSession;
  }

  /** @internal Emits one of the events every session has (typed against the common map). */
  protected fire<K extends keyof InviteSessionEvents>(event: K, ...args: InviteSessionEvents[K]): boolean {
    return (this as unknown as TypedEmitter<InviteSessionEvents>).emit(event, ...args);
  }

  /** @internal */
  protected override onListenerError(error: unknown): void {
    this.host.error(error, 'session listener');
  }

  /** The credentials this session answers challenges with (the UA's, or the call's own). */
  get digest(): DigestClient | undefined {
    return this.ownDigest ?? this.host.digest;
  }
  /** @internal Credentials of this call only (a PBX trunk's account). */
  ownDigest: DigestClient | undefined;

  /** `outgoing` (we sent the INVITE) or `incoming`. */
  abstract readonly direction: 'outgoing' | 'incoming';
  /** The initial INVITE (the latest one sent, for an outgoing session retried after a challenge). */
  /** The Call-ID. */
  callId = '';
  /** The INVITE as a message while the call is set up; its bytes once it is (see {@link request}). */
  private invite_: SipRequest | undefined;
  private inviteBytes: Buffer | undefined;

  /**
   * The initial INVITE (for an outgoing session, the last one sent, after any challenge).
   * Once the call is established the session keeps only its bytes, and this re-reads them
   * on first use: an idle call should not hold a parsed message (and its caches) for hours.
   */
  get request(): SipRequest {
    let m = this.invite_;
    if (m === undefined) {
      m = parseMessage(this.inviteBytes ?? Buffer.alloc(0), { validate: false }) as SipRequest;
      this.invite_ = m;
    }
    return m;
  }

  /** @internal */
  protected setRequest(request: SipRequest): void {
    this.invite_ = request;
    this.callId = request.callId;
    this.inviteBytes = undefined;
  }

  /**
   * @internal The call is up: keep the INVITE as bytes only, and copy the bodies out of the
   * datagrams they were views of (so those can be freed).
   */
  protected compact(): void {
    const m = this.invite_;
    if (m !== undefined) {
      this.inviteBytes = serializeMessage(m);
      this.invite_ = undefined;
    }
    const r = this.remoteBody;
    if (r !== undefined) this.remoteBody = { contentType: r.contentType, body: Buffer.from(r.body) };
  }

  /** The peer's address: the dialog's remote URI (To of our INVITE, From of theirs). */
  get remoteIdentity(): NameAddr {
    const d = this.dialog;
    if (d !== undefined) return d.remoteUri;
    return this.direction === 'outgoing' ? this.request.to : this.request.from;
  }

  /**
   * Ends the session: BYE when established (resolves with the BYE's final response), else
   * what ends a call not yet answered — CANCEL for an outgoing one, 480 for an incoming one.
   */
  abstract bye(headers?: Iterable<[string, HeaderValue]>): Promise<SipResponse | undefined>;

  /** @internal Sends BYE in the dialog; resolves with its final response. */
  protected sendBye(headers?: Iterable<[string, HeaderValue]>): Promise<SipResponse | undefined> {
    const dialog = this.dialog;
    if (dialog === undefined || dialog.state === 'terminated') return Promise.resolve(undefined);
    let tx: ClientTransaction | undefined;
    try {
      tx = this.host.dialogs.bye(dialog, headers);
    } catch (e) {
      if (!(e instanceof DialogError)) throw e;
      return Promise.resolve(undefined);
    }
    if (tx === undefined) return Promise.resolve(undefined);
    const t = tx;
    return new Promise((resolve) => {
      t.user = { onFinal: (res) => resolve(res), onTimeout: () => resolve(undefined), onTransportError: () => resolve(undefined) };
    });
  }

  /**
   * Sends a request in the dialog and resolves with its final response (`undefined` on a
   * timeout or transport error), answering one digest challenge per realm (§22.2).
   * Throws {@link DialogError} when the dialog is gone or a re-INVITE is already running.
   *
   * @example
   * ```ts
   * const res = await session.sendRequest('INFO', { contentType: 'application/dtmf-relay', body: 'Signal=5\r\nDuration=160\r\n' });
   * ```
   */
  sendRequest(method: string, options?: BodyOptions): Promise<SipResponse | undefined> {
    const dialog = this.dialog;
    if (dialog === undefined || dialog.state === 'terminated') return Promise.reject(new DialogError('The session has no active dialog'));
    const { headers, body } = bodyHeaders(options);
    return new Promise((resolve, reject) => {
      const send = (extra: [string, HeaderValue][], attempt: number): void => {
        let tx: ClientTransaction;
        try {
          tx = this.host.dialogs.request(dialog, method, { headers: [...headers, ...extra], ...(body === undefined ? {} : { body }) }, {
            onFinal: (res) => {
              if (res !== undefined && (res.status === 401 || res.status === 407) && this.digest !== undefined && attempt < 3) {
                const creds = this.digest.authorize(res, tx.request);
                if (creds !== undefined) {
                  send(creds, attempt + 1);
                  return;
                }
              }
              resolve(res);
            },
          });
        } catch (e) {
          reject(e);
        }
      };
      send([], 0);
    });
  }

  /**
   * Sends a re-INVITE with a new offer (RFC 3261 §14.1) and resolves with its 2xx; rejects
   * with {@link SessionFailedError} for a failure (491 glare is retried by the dialog layer).
   *
   * @example
   * ```ts
   * await session.reinvite({ body: newOffer });
   * ```
   */
  async reinvite(options: BodyOptions): Promise<SipResponse> {
    const res = await this.sendRequest('INVITE', options);
    if (res === undefined) throw new SessionFailedError('timeout');
    if (res.status >= 300) throw new SessionFailedError('rejected', res);
    if (options.body !== undefined) this.localBody = { contentType: options.contentType ?? SDP, body: toBuffer(options.body) };
    this.remoteBody = bodyOf(res) ?? this.remoteBody;
    return res;
  }

  /**
   * Puts the peer on hold (RFC 3264 §8.4, RFC 6337): a re-INVITE with `body`, or — interim,
   * until SDP lands — our last SDP with its direction set to `sendonly`.
   *
   * @example
   * ```ts
   * await session.hold();          // a=sendonly
   * await session.unhold();        // a=sendrecv
   * ```
   */
  async hold(body?: string | Uint8Array): Promise<SipResponse> {
    const res = await this.reinvite({ body: body ?? this.directedBody('sendonly'), contentType: SDP });
    this.onHold = true;
    return res;
  }

  /** Takes the peer off hold: a re-INVITE with `body`, or our last SDP set to `sendrecv`. */
  async unhold(body?: string | Uint8Array): Promise<SipResponse> {
    const res = await this.reinvite({ body: body ?? this.directedBody('sendrecv'), contentType: SDP });
    this.onHold = false;
    return res;
  }

  private directedBody(direction: 'sendonly' | 'sendrecv'): string {
    const local = this.localBody;
    if (local === undefined || local.contentType !== SDP) throw new TypeError('hold()/unhold() without a body need an earlier SDP body of ours to rewrite');
    return setSdpDirection(local.body.toString('utf8'), direction);
  }

  /**
   * Asks the peer to call `target` (RFC 3515): blind transfer with a URI, or attended
   * transfer with another session — its remote target with `Replaces` naming its dialog
   * (RFC 3891 §5, in the Refer-To's escaped headers). `Referred-By` carries our identity
   * (RFC 3892) unless `referredBy: false`. The returned {@link ReferRequest} reports the
   * 202 and the NOTIFY progress (`message/sipfrag`) of the transferee's new call.
   *
   * @example
   * ```ts
   * const transfer = a.refer('sip:carol@192.0.2.9');
   * transfer.on('notify', (status) => console.log('carol:', status));
   * const { status } = await transfer.result;   // 200: the transfer call was answered
   * ```
   */
  refer(target: string | AnyInviteSession, options: ReferOptions = {}): ReferRequest {
    const dialog = this.dialog;
    if (dialog === undefined || dialog.state !== 'confirmed') throw new DialogError('REFER needs an established session');
    const replaces = typeof target === 'string' ? options.replaces : (options.replaces ?? target);
    let uri: string;
    if (typeof target === 'string') uri = target;
    else {
      const d = target.dialog;
      if (d === undefined) throw new DialogError('The session to transfer to has no dialog');
      uri = d.remoteTarget.toString();
    }
    const rd = replaces?.dialog;
    const referTo = referToValue(uri, rd === undefined ? undefined : { callId: rd.id.callId, toTag: rd.id.remoteTag, fromTag: rd.id.localTag });
    const headers: [string, HeaderValue][] = [['Refer-To', referTo]];
    if (options.referredBy !== false) headers.push(['Referred-By', `<${options.referredBy ?? this.host.identity}>`]);
    if (options.headers !== undefined) headers.push(...options.headers);
    const refer = new ReferRequest();
    this.refers ??= new Map();
    const refers = this.refers;
    let seq = -1;
    const send = (extra: [string, HeaderValue][], attempt: number): void => {
      let tx: ClientTransaction | undefined;
      try {
        tx = this.host.dialogs.request(dialog, 'REFER', { headers: [...headers, ...extra] }, {
          onFinal: (res) => {
            if (res !== undefined && (res.status === 401 || res.status === 407) && this.digest !== undefined && attempt < 3 && tx !== undefined) {
              const creds = this.digest.authorize(res, tx.request);
              if (creds !== undefined) {
                refers.delete(seq);
                send(creds, attempt + 1);
                return;
              }
            }
            if (res === undefined || res.status >= 300) refers.delete(seq);
            refer.receiveResponse(res);
          },
        });
      } catch (e) {
        queueMicrotask(() => refer.receiveResponse(undefined));
        this.host.error(e, 'REFER');
        return;
      }
      seq = tx.request.cseq.seq;
      refers.set(seq, refer);
    };
    send([], 0);
    void refer.result.then(() => refers.delete(seq));
    return refer;
  }

  // ------------------------------------------------------------------ from the UA core

  /** @internal A request inside the dialog (not BYE, ACK, PRACK, OPTIONS, MESSAGE). */
  receiveRequest(tx: ServerTransaction): void {
    const req = tx.request;
    const dialogs = this.host.dialogs;
    switch (req.method) {
      case 'INVITE':
      case 'UPDATE':
        this.receiveOffer(tx);
        return;
      case 'REFER':
        this.receiveRefer(tx);
        return;
      case 'NOTIFY':
        this.receiveNotify(tx);
        return;
      case 'INFO':
        this.fire('info', req);
        dialogs.respond(tx, 200);
        return;
      default:
        dialogs.respond(tx, 501);
    }
  }

  private receiveOffer(tx: ServerTransaction): void {
    const offer = bodyOf(tx.request);
    const r = new IncomingReinvite(this.self, tx, offer);
    if (offer !== undefined && offer.contentType === SDP) {
      const held = isHold(offer);
      const wasHeld = isHold(this.remoteBody);
      if (held !== wasHeld) this.fire('remote-hold', held);
    }
    if (offer !== undefined) this.remoteBody = offer;
    if (!this.fire('reinvite', r)) r.accept();
  }

  private receiveRefer(tx: ServerTransaction): void {
    const dialog = this.dialog;
    const req = tx.request;
    let referTo: NameAddr | undefined;
    try {
      referTo = req.referTo;
      void req.referredBy;
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
    }
    const count = req.count('Refer-To');
    if (referTo === undefined || count !== 1 || dialog === undefined) {
      this.host.dialogs.respond(tx, 400, { reason: 'Exactly one valid Refer-To needed' }); // RFC 3515 §2.4.1
      return;
    }
    const refer = new IncomingRefer(req, referTo, this.referChannel(tx));
    if (!this.fire('refer', refer) && !refer.answered) refer.reject(603);
  }

  /** @internal The channel an {@link IncomingRefer} answers and NOTIFYs through. */
  private referChannel(tx: ServerTransaction): ReferChannel {
    return {
      respond: (status, reason, headers) => {
        this.host.dialogs.respond(tx, status, { ...(reason === undefined ? {} : { reason }), ...(headers === undefined ? {} : { headers }) });
      },
      notify: async (headers, body) => {
        if (this.dialog === undefined || this.dialog.state === 'terminated') return undefined;
        try {
          return await this.sendRequest('NOTIFY', { headers, body, contentType: 'message/sipfrag;version=2.0' });
        } catch (e) {
          if (e instanceof DialogError) return undefined;
          throw e;
        }
      },
      error: (e, context) => this.host.error(e, context),
    };
  }

  private receiveNotify(tx: ServerTransaction): void {
    const req = tx.request;
    let event: string | undefined;
    let id: string | undefined;
    try {
      const ev = req.event;
      event = ev?.type.toLowerCase();
      const idParam = ev?.params.get('id');
      id = typeof idParam === 'string' ? idParam : undefined;
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
    }
    if (event !== 'refer') {
      this.host.dialogs.respond(tx, 489); // RFC 6665 §8.2.1: Bad Event
      return;
    }
    const refers = this.refers;
    let refer: ReferRequest | undefined;
    if (refers !== undefined) {
      if (id !== undefined) refer = refers.get(Number(id));
      else for (const r of refers.values()) refer = r; // the latest REFER (RFC 3515 §2.4.6)
    }
    if (refer === undefined) {
      this.host.dialogs.respond(tx, 481); // no such subscription (RFC 6665 §4.1.3)
      return;
    }
    this.host.dialogs.respond(tx, 200);
    refer.receiveNotify(req);
  }

  /** @internal The dialog ended under the session. */
  dialogTerminated(dialog: Dialog, reason: TerminationReason): void {
    this.host.unbind(dialog, this.self);
    if (dialog !== this.dialog) return;
    this.finish({ reason });
  }

  /** @internal The ACK for our 2xx (initial or re-INVITE). */
  receiveAck(ack: SipRequest): void {
    const b = bodyOf(ack);
    if (b !== undefined) this.remoteBody = b;
    this.fire('confirmed', ack);
  }

  /** @internal */
  protected finish(end: SessionEnd): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.end = end;
    if (this.dialog !== undefined) this.host.unbind(this.dialog, this.self);
    this.host.release(this.self);
    this.resolveEnded(end);
    this.fire('terminated', end);
  }

  /** @internal Remember a body we sent. */
  protected sent(body: string | Uint8Array | undefined, contentType: string | undefined): void {
    if (body !== undefined) this.localBody = { contentType: contentType ?? SDP, body: toBuffer(body) };
  }

  /** @internal For {@link IncomingReinvite}. */
  answerReinvite(tx: ServerTransaction, status: number, options: BodyOptions | undefined): void {
    const { headers, body } = bodyHeaders(options);
    this.host.dialogs.respond(tx, status, { headers, ...(body === undefined ? {} : { body }) });
    if (status < 300) this.sent(body, options?.contentType);
  }
}

/**
 * Either kind of session.
 *
 * @example
 * ```ts
 * const all: AnyInviteSession[] = [...ua.sessions];
 * ```
 */
export type AnyInviteSession = OutgoingSession | IncomingSession;

/**
 * A re-INVITE (or UPDATE) the peer sent with a new offer (or none: then our answer is the
 * offer, RFC 3264 §5). Answer exactly once.
 *
 * @example
 * ```ts
 * session.on('reinvite', (r) => r.offer?.contentType === 'application/sdp' ? r.accept({ body: answerTo(r.offer.body) }) : r.reject(488));
 * ```
 */
export class IncomingReinvite {
  private done = false;
  /** @internal */
  constructor(
    private readonly session: AnyInviteSession,
    /** The re-INVITE's server transaction. */
    readonly tx: ServerTransaction,
    /** Its body (the new offer), if any. */
    readonly offer: SessionBody | undefined,
  ) {}

  /** The request. */
  get request(): SipRequest {
    return this.tx.request;
  }

  /**
   * Answers 200. Without a body: our last body (an offer, when the re-INVITE had none), for
   * SDP with the direction mirrored from the offer's (RFC 3264 §6.1: an offered `sendonly` is
   * answered `recvonly`); nothing for an UPDATE without an offer.
   */
  accept(options?: BodyOptions): void {
    if (this.done) return;
    this.done = true;
    let opts = options;
    // An UPDATE without an offer (a session refresh, RFC 4028) is answered without a body (RFC 3311 §5.2).
    if (opts?.body === undefined && (this.tx.request.method === 'INVITE' || this.offer !== undefined)) {
      const local = this.session.localBody;
      if (local !== undefined) {
        let body: string | Buffer = local.body;
        if (local.contentType === SDP && this.offer?.contentType === SDP) {
          body = setSdpDirection(local.body.toString('utf8'), answerDirection(sdpDirection(this.offer.body.toString('utf8'))));
        }
        opts = { ...opts, body, contentType: local.contentType };
      }
    }
    this.session.answerReinvite(this.tx, 200, opts);
  }

  /** Refuses the new offer (488 Not Acceptable Here by default); the session goes on unchanged. */
  reject(status = 488): void {
    if (this.done) return;
    this.done = true;
    this.session.answerReinvite(this.tx, status, undefined);
  }
}

/**
 * A call we placed ({@link UserAgent.invite}).
 *
 * @example
 * ```ts
 * const call = ua.invite('sip:bob@example.com', { body: offer });
 * call.on('early-media', (res) => console.log('early media', res.body.length, 'bytes'));
 * setTimeout(() => call.cancel(), 30_000);
 * ```
 */
export class OutgoingSession extends InviteSession<OutgoingSessionEvents> {
  readonly direction = 'outgoing' as const;
  /** The INVITE transaction's handle until the final response (then released: idle sessions stay small). */
  private invite: OutgoingInvite | undefined;
  /** Which INVITE (after challenges) the dialog layer's callbacks are for. */
  private generation = 0;
  /**
   * Resolves when a 2xx answered the call; rejects with {@link SessionFailedError}. (The 2xx
   * itself is the `established` event's: a settled promise keeps its value as long as the
   * session lives, and an idle call should not hold a whole response.)
   */
  readonly answered: Promise<void>;
  private resolveAnswered!: () => void;
  private rejectAnswered!: (e: SessionFailedError) => void;
  private cancelRequested = false;
  private attempts = 0;

  /** @internal */
  constructor(
    host: SessionHost,
    options: InviteOptions,
    private readonly answerLateOffer?: (offer: SessionBody) => string | Uint8Array,
    digest?: DigestClient,
  ) {
    super(host, 'calling');
    this.ownDigest = digest;
    this.answered = new Promise<void>((resolve, reject) => {
      this.resolveAnswered = resolve;
      this.rejectAnswered = reject;
    });
    // Nobody has to await `answered`: a failure is also an event and `ended`.
    this.answered.catch(() => undefined);
    if (options.body !== undefined) {
      let type = SDP;
      for (const [n, v] of options.headers ?? []) if (n.toLowerCase() === 'content-type') type = String(v);
      this.sent(options.body, type);
    }
    this.invite = this.send(options);
    this.setRequest(this.invite.request);
  }

  private send(options: InviteOptions): OutgoingInvite {
    const generation = ++this.generation;
    const out: OutgoingInvite = this.host.dialogs.invite(options, {
      onProvisional: (res, dialog) => {
        if (this.generation !== generation || this.state === 'terminated') return;
        if (dialog !== undefined) this.host.bind(dialog, this.self);
        if (res.status > 100 && this.state === 'calling') this.state = 'early';
        if (this.cancelRequested) out.cancel(this.cancelHeaders); // §9.1: CANCEL once a provisional arrived
        this.emit('progress', res);
        if (res.body.length > 0) {
          this.remoteBody = bodyOf(res);
          this.emit('early-media', res);
        }
      },
      onSuccess: (dialog, res) => {
        if (this.generation !== generation) return;
        this.invite = undefined;
        this.dialog = dialog;
        this.host.bind(dialog, this.self);
        const b = bodyOf(res);
        if (b !== undefined) this.remoteBody = b;
        if (this.cancelRequested || this.state === 'terminated') {
          // The 2xx crossed our CANCEL (§9.1): the call is up, so end it with BYE.
          void this.sendBye();
          this.finish({ reason: 'cancelled', status: res.status, response: res });
          return;
        }
        this.state = 'established';
        this.compact();
        this.resolveAnswered();
        this.emit('established', res);
      },
      // RFC 3264 late offer: an INVITE without a body gets the offer in the 2xx; the ACK answers.
      ackBody: (_dialog, res) => {
        const offer = bodyOf(res);
        if (options.body !== undefined || offer === undefined || this.answerLateOffer === undefined) return undefined;
        const body = this.answerLateOffer(offer);
        this.sent(body, offer.contentType);
        return { contentType: offer.contentType, body };
      },
      onFailure: (res, reason) => {
        if (this.generation !== generation) return;
        if (res !== undefined && (res.status === 401 || res.status === 407) && this.retryWithCredentials(options, res)) return;
        this.invite = undefined;
        const why: SessionEndReason =
          res === undefined ? reason : res.status >= 300 && res.status < 400 ? 'redirected' : res.status === 487 && this.cancelRequested ? 'cancelled' : 'rejected';
        const error = new SessionFailedError(why, res);
        if (why === 'redirected' && res !== undefined) this.emit('redirect', error.contacts, res);
        this.rejectAnswered(error);
        this.emit('failed', error);
        this.finish({ reason: why, ...(res === undefined ? {} : { status: res.status, response: res }) });
      },
    });
    return out;
  }

  /** §22.2: the INVITE again with credentials, CSeq + 1, the same Call-ID and From tag. */
  private retryWithCredentials(options: InviteOptions, res: SipResponse): boolean {
    const digest = this.digest;
    if (digest === undefined || this.attempts >= 3 || this.cancelRequested) return false;
    const previous = this.request;
    const creds = digest.authorize(res, previous);
    if (creds === undefined) return false;
    this.attempts++;
    const kept = [...(options.headers ?? [])].filter(([n]) => {
      const l = n.toLowerCase();
      return l !== 'authorization' && l !== 'proxy-authorization';
    });
    const next: InviteOptions = {
      ...options,
      from: previous.from,
      callId: previous.callId,
      cseq: previous.cseq.seq + 1,
      headers: [...kept, ...creds],
    };
    this.invite = this.send(next);
    this.setRequest(this.invite.request);
    return true;
  }

  /**
   * Gives up on the call before it is answered: CANCEL (§9.1), sent as soon as a provisional
   * response has arrived. The session ends with `cancelled` when the 487 comes (or, if a 2xx
   * crosses the CANCEL, after a BYE). Does nothing once established. `headers` go on the
   * CANCEL (a `Reason`, RFC 3326).
   */
  cancel(headers?: Iterable<[string, string]>): void {
    if (this.state !== 'calling' && this.state !== 'early') return;
    this.cancelRequested = true;
    if (headers !== undefined) this.cancelHeaders = [...headers];
    this.invite?.cancel(this.cancelHeaders);
  }
  private cancelHeaders: [string, string][] | undefined;

  bye(headers?: Iterable<[string, HeaderValue]>): Promise<SipResponse | undefined> {
    if (this.state === 'calling' || this.state === 'early') {
      this.cancel();
      return this.ended.then((end) => end.response);
    }
    return this.sendBye(headers);
  }
}

/**
 * A call we received (the UserAgent's `invite` event). Answer it with {@link ringing},
 * {@link progress}, then {@link accept}, {@link reject} or {@link redirect}.
 *
 * @example
 * ```ts
 * ua.on('invite', (call) => {
 *   call.ringing();
 *   setTimeout(() => call.accept({ body: answer }), 2000);
 * });
 * ```
 */
export class IncomingSession extends InviteSession<IncomingSessionEvents> {
  readonly direction = 'incoming' as const;
  /** The session this call replaces (an INVITE with `Replaces`, RFC 3891), if any. */
  readonly replaces: AnyInviteSession | undefined;
  private acked: Promise<void> | undefined;
  private resolveAck: (() => void) | undefined;
  private rejectAck: ((e: SessionFailedError) => void) | undefined;
  /** The INVITE's server transaction, until our final response (then released). */
  private tx: InviteServerTransaction | undefined;
  /** Where the INVITE came from (the packet's source: what a PBX checks a trunk's address against). */
  readonly source: Endpoint;
  /** The connection it arrived on (TCP, TLS, WS). */
  readonly connectionId: string | undefined;

  /** @internal */
  constructor(host: SessionHost, tx: InviteServerTransaction, replaces: AnyInviteSession | undefined) {
    super(host, 'incoming');
    this.tx = tx;
    this.source = { ...tx.inbound.source };
    if (tx.inbound.connectionId !== undefined) this.connectionId = tx.inbound.connectionId;
    this.setRequest(tx.request);
    this.replaces = replaces;
    this.remoteBody = bodyOf(tx.request);
  }

  /** The caller's offer (the INVITE's body), if any. */
  get offer(): SessionBody | undefined {
    return bodyOf(this.request);
  }

  /** Sends 180 Ringing. */
  ringing(options?: BodyOptions & { reliable?: boolean }): void {
    this.respond(180, options);
  }

  /** Sends a provisional response (183 Session Progress by default) with early media (RFC 3960). */
  progress(options?: BodyOptions & { status?: number; reliable?: boolean }): void {
    this.respond(options?.status ?? 183, options);
  }

  /**
   * Answers 200 (with our answer, or our offer when the INVITE had none) and resolves when the
   * ACK arrives (the ACK is the `confirmed` event's). Rejects with {@link SessionFailedError}
   * when the call ended first (no ACK in 64·T1, a CANCEL that won the race, a BYE).
   */
  accept(options?: BodyOptions): Promise<void> {
    if (this.acked !== undefined) return this.acked;
    this.acked = new Promise<void>((resolve, reject) => {
      this.resolveAck = resolve;
      this.rejectAck = reject;
    });
    this.acked.catch(() => undefined);
    const res = this.respond(200, options);
    if (res !== undefined) {
      this.state = 'established';
      this.emit('established', res);
      const old = this.replaces;
      if (old !== undefined) void endReplaced(old);
    } else if (this.end !== undefined) this.settleAck(this.end);
    return this.acked;
  }

  private settleAck(end: SessionEnd | undefined): void {
    const resolve = this.resolveAck;
    const reject = this.rejectAck;
    this.resolveAck = undefined;
    this.rejectAck = undefined;
    if (end === undefined) resolve?.();
    else reject?.(new SessionFailedError(end.reason, end.response));
  }

  protected override finish(end: SessionEnd): void {
    super.finish(end);
    this.settleAck(end);
  }

  /** Refuses the call (486 Busy Here by default). */
  reject(status = 486, options?: BodyOptions & { reason?: string }): void {
    if (status < 300) throw new RangeError('reject() takes a status of 300 or more');
    const res = this.respond(status, options);
    if (res !== undefined) this.finish({ reason: 'rejected', status, response: res });
  }

  /** Redirects the caller (302 Moved Temporarily by default) to `contacts` (RFC 3261 §8.1.3.4). */
  redirect(contacts: readonly string[], status = 302): void {
    if (status < 300 || status >= 400) throw new RangeError('redirect() takes a 3xx status');
    const headers: [string, HeaderValue][] = contacts.map((c) => ['Contact', c.startsWith('<') ? c : `<${c}>`]);
    const res = this.respond(status, { headers });
    if (res !== undefined) this.finish({ reason: 'redirected', status, response: res });
  }

  bye(headers?: Iterable<[string, HeaderValue]>): Promise<SipResponse | undefined> {
    if (this.state === 'incoming' || this.state === 'early') {
      this.reject(480);
      return Promise.resolve(undefined);
    }
    return this.sendBye(headers);
  }

  private respond(status: number, options: (BodyOptions & { reliable?: boolean; reason?: string }) | undefined): SipResponse | undefined {
    const tx = this.tx;
    if (tx === undefined || (this.state !== 'incoming' && this.state !== 'early')) return undefined;
    const { headers, body } = bodyHeaders(options);
    const res = this.host.dialogs.respond(tx, status, {
      headers,
      ...(body === undefined ? {} : { body }),
      ...(options?.reliable === undefined ? {} : { reliable: options.reliable }),
      ...(options?.reason === undefined ? {} : { reason: options.reason }),
    });
    if (res === undefined) return undefined;
    if (status >= 200) this.tx = undefined;
    if (status > 100 && status < 300 && this.dialog === undefined) {
      const tag = res.to.tag;
      const remote = this.request.from.tag;
      if (tag !== undefined && remote !== undefined) {
        const dialog = this.host.dialogs.get(dialogKey({ callId: this.request.callId, localTag: tag, remoteTag: remote }));
        if (dialog !== undefined) {
          this.dialog = dialog;
          this.host.bind(dialog, this.self);
        }
      }
    }
    if (status > 100 && status < 200) this.state = 'early';
    this.sent(body, options?.contentType);
    return res;
  }

  /** @internal The peer cancelled (the dialog layer answered 487). */
  receiveCancel(): void {
    if (this.state === 'terminated') return;
    this.tx = undefined;
    this.emit('cancel');
    this.finish({ reason: 'cancelled', status: 487 });
  }

  override dialogTerminated(dialog: Dialog, reason: TerminationReason): void {
    // The dialog layer ends an early dialog on CANCEL before telling anyone of the CANCEL.
    if (reason === 'cancelled' && dialog === this.dialog) this.receiveCancel();
    else super.dialogTerminated(dialog, reason);
  }

  override receiveAck(ack: SipRequest): void {
    if (this.resolveAck !== undefined) this.compact(); // the first ACK: the call is up
    this.settleAck(undefined);
    super.receiveAck(ack);
  }
}

/**
 * RFC 3891 §3: once the new call is accepted, the replaced one ends — BYE when it was
 * established, CANCEL when it was our own early call, a 480 when it was ringing here.
 */
async function endReplaced(old: AnyInviteSession): Promise<void> {
  await old.bye();
}
