/**
 * The dialog layer: the transaction user (TU) between the transaction layer and the user agent
 * (RFC 3261 §12–§15, RFC 3262, RFC 3311, RFC 4028). It owns a bounded table of dialogs and
 * does everything a UA core must do for them, so the UA above only decides *what* to answer:
 *
 * ```
 *        user agent:  invite() request() respond() bye()     events: onIncomingRequest,
 *            |                                   ^           onDialogCreated, onRequest,
 *            v                                   |           onAck, onPrack, onTerminated…
 *   +----------------------------------------------------------------------------------+
 *   | DialogManager                                                                    |
 *   |  dialogs: Call-ID + local tag + remote tag -> Dialog (≤ maxDialogs)              |
 *   |  UAC: early dialogs per To tag (≤ maxEarlyDialogsPerInvite), first 2xx confirms, |
 *   |       ACK for each 2xx (stateless, re-sent per 2xx retransmission), extra forks  |
 *   |       ACKed then BYEd (§13.2.2.4), PRACK for reliable 1xx (RFC 3262 §4)          |
 *   |  UAS: early/confirmed dialogs from our 1xx/2xx, 2xx resent until ACK (§13.3.1.4), |
 *   |       reliable 1xx resent until PRACK (RFC 3262 §3)                               |
 *   |  in-dialog: 481 unknown dialog, 500 CSeq out of order (§12.2.2), 491 glare and    |
 *   |       §14.1 retry timers, 500 + Retry-After for overlapping re-INVITEs (§14.2),  |
 *   |       target refresh (re-INVITE, UPDATE), session timers (RFC 4028)               |
 *   +----------------------------------------------------------------------------------+
 *        |  sendRequest / sendStateless             ^ onRequest / onAck / onCancel / onStray
 *        v                                          |
 *                             TransactionLayer
 * ```
 *
 * Nothing a peer sends makes the manager throw (malformed headers read late get 400, or the
 * message is dropped), and nothing a peer sends grows its memory without bound: the dialog
 * table, early dialogs per INVITE, forks remembered per INVITE and queued reliable provisionals
 * are all capped, and every per-dialog timer dies with its dialog.
 */
import { randomBytes } from 'node:crypto';
import {
  SipParseError,
  SipRequest,
  createResponse,
  type HeaderValue,
  type NameAddr,
  type SipResponse,
  type Uri,
} from '../message/index.js';
import type { TimerClock, TimerHandle } from '../timer-clock.js';
import {
  createBranch,
  type ClientTransaction,
  type InviteClientTransaction,
  type InviteServerTransaction,
  type ServerTransaction,
  type TransactionLayer,
} from '../transaction/index.js';
import type { Destination, InboundMessage, TransportProtocol } from '../transport/types.js';
import { Dialog, toContact } from './dialog.js';
import { dialogIdOfIncoming, dialogKey } from './dialog-id.js';
import { DialogError } from './errors.js';
import { OutgoingInvite } from './outgoing-invite.js';
import { glareRetryDelay, randomBelow } from './glare.js';
import { ReliableProvisionalReceiver, ReliableProvisionalSender } from './reliable-provisional.js';
import { RetransmissionTimer } from './retransmission-timer.js';
import {
  SessionTimer,
  negotiateAsUac,
  negotiateAsUas,
  resolveSessionTimerConfig,
  type NegotiatedSession,
  type SessionTimerConfig,
} from './session-timer.js';

/**
 * Why a dialog ended.
 *
 * - `local-bye` / `remote-bye`: a BYE was sent / received;
 * - `rejected`: an early dialog whose INVITE got a non-2xx final response (or whose INVITE
 *   transaction ended without a 2xx from its fork);
 * - `cancelled`: the INVITE was cancelled (§9.2);
 * - `forked`: a 2xx from another fork after the first (ACKed and BYEd, §13.2.2.4);
 * - `no-ack`: our 2xx got no ACK in 64*T1 (§13.3.1.4; a BYE was sent);
 * - `prack-timeout`: our reliable provisional got no PRACK in 64*T1 (RFC 3262 §3; the INVITE got 5xx);
 * - `session-expired`: no session refresh in time (RFC 4028 §10; a BYE was sent);
 * - `request-failed`: an in-dialog request got 481 or 408 or timed out (§12.2.1.2);
 * - `unroutable`: no destination for the dialog's next hop;
 * - `overload`: the dialog table was full;
 * - `closed`: {@link DialogManager.close}.
 *
 * @example
 * ```ts
 * events.onTerminated = (dialog, reason: TerminationReason) => cdr.end(dialog.id.callId, reason);
 * ```
 */
export type TerminationReason =
  | 'local-bye'
  | 'remote-bye'
  | 'rejected'
  | 'cancelled'
  | 'forked'
  | 'no-ack'
  | 'prack-timeout'
  | 'session-expired'
  | 'request-failed'
  | 'unroutable'
  | 'overload'
  | 'closed';

/**
 * What the manager tells the user agent. Every callback is optional and runs synchronously.
 * Requests handed over (`onIncomingRequest`, `onRequest`) are answered with
 * {@link DialogManager.respond}; without a handler the manager answers them itself (see
 * each callback).
 *
 * @example
 * ```ts
 * const events: DialogManagerEvents = {
 *   onIncomingRequest(tx) {
 *     if (tx.request.method === 'INVITE') {
 *       manager.respond(tx, 180);
 *       manager.respond(tx, 200, { headers: [['Content-Type', 'application/sdp']], body: answer });
 *     } else manager.respond(tx, 405);
 *   },
 *   onTerminated: (dialog, reason) => console.log('call over', dialog.id.callId, reason),
 * };
 * ```
 */
export interface DialogManagerEvents {
  /** A request outside any dialog (no To tag). Without a handler: 501. */
  onIncomingRequest?(tx: ServerTransaction, inbound: InboundMessage): void;
  /** A dialog was created (early or confirmed), by our INVITE or our answer to one. */
  onDialogCreated?(dialog: Dialog): void;
  /** A dialog became confirmed (2xx sent or received). */
  onDialogConfirmed?(dialog: Dialog): void;
  /**
   * A request inside a dialog that passed the §12.2.2 checks: re-INVITE, UPDATE, INFO, REFER,
   * NOTIFY, MESSAGE, OPTIONS… (BYE, PRACK and ACK are handled by the manager). Without a
   * handler: 200 for INVITE, UPDATE, INFO and OPTIONS, 501 for the rest.
   */
  onRequest?(dialog: Dialog, tx: ServerTransaction, inbound: InboundMessage): void;
  /** The ACK for our 2xx (initial INVITE or re-INVITE) arrived; it may carry an answer. */
  onAck?(dialog: Dialog, ack: SipRequest): void;
  /** A PRACK acknowledged our reliable provisional; the manager answered it 200. */
  onPrack?(dialog: Dialog, prack: SipRequest): void;
  /** The peer cancelled an INVITE we had not answered finally; the manager answered it 487. */
  onCancel?(tx: InviteServerTransaction, dialog: Dialog | undefined): void;
  /** A dialog ended. */
  onTerminated?(dialog: Dialog, reason: TerminationReason): void;
  /**
   * The body of a re-INVITE used as a session refresh (RFC 4028 §7.4: the current session
   * description). Only asked when the peer does not allow UPDATE.
   */
  sessionRefreshBody?(dialog: Dialog): { contentType: string; body: string | Uint8Array } | undefined;
  /** A message for no dialog and no transaction (a late response, an ACK for nothing). */
  onStray?(inbound: InboundMessage): void;
}

/**
 * Options of {@link DialogManager}.
 *
 * @example
 * ```ts
 * const options: DialogManagerOptions = {
 *   layer, contact: '<sip:pbx@192.0.2.1:5060>', maxDialogs: 5000,
 *   sessionTimer: { interval: 1800, minSE: 90 }, events,
 * };
 * ```
 */
export interface DialogManagerOptions {
  /** The transaction layer; the manager becomes its `user`. */
  layer: TransactionLayer;
  /** Our Contact (for dialog-creating and target refresh requests and responses). */
  contact: NameAddr | string;
  /** The sent-by of our Vias (`host[:port]`); default: the Contact URI's host and port. */
  sentBy?: string;
  events?: DialogManagerEvents;
  /** Time for our own timers (default: the layer's clock). */
  clock?: TimerClock;
  /** Randomness for tags, Call-IDs, branches, CSeq and RSeq starts and glare delays. */
  random?: (bytes: number) => Uint8Array;
  /** Most dialogs held at once, early ones included (default 10,000). */
  maxDialogs?: number;
  /** Most early dialogs (forks) one outgoing INVITE may create (default 8). */
  maxEarlyDialogsPerInvite?: number;
  /** How many times a request that got 491 is retried (default 3). */
  maxGlareRetries?: number;
  /** Session timers (RFC 4028); `false` turns them off. Default: interval 1800 s, Min-SE 90 s. */
  sessionTimer?: Partial<SessionTimerConfig> | false;
  /** Methods we advertise in Allow (default INVITE, ACK, CANCEL, BYE, PRACK, UPDATE, OPTIONS, INFO). */
  allow?: string[];
  /** Option tags the UA above understands in an INVITE's Require, besides `100rel` and `timer` (e.g. `replaces`, RFC 3891). */
  extensions?: readonly string[];
  /**
   * Where to send a request whose next hop is `uri` (no DNS here). Default: the URI's `maddr`
   * or host, its port or 5060/5061, its `transport` or UDP (TLS for sips).
   */
  resolve?: (uri: Uri, dialog: Dialog | undefined) => Destination;
  /**
   * Dialogs kept outside the manager (subscription dialogs, RFC 6665). Asked first about every
   * request the manager does not own — one inside a dialog it does not hold (before the §12.2.2
   * 481) and one outside any dialog other than INVITE (before `onIncomingRequest`); when
   * `handle` returns true it has taken (and answers) the request and the manager does nothing more.
   */
  externalDialogs?: ExternalDialogs;
}

/**
 * Another table of dialogs beside the manager's: a subscription notifier or subscriber
 * (RFC 6665) whose dialogs are not INVITE dialogs. See {@link DialogManagerOptions.externalDialogs}.
 *
 * @example
 * ```ts
 * const manager = new DialogManager({ layer, contact, externalDialogs: { handle: (tx, inbound) => notifier.handle(tx, inbound) } });
 * ```
 */
export interface ExternalDialogs {
  /** Returns true when the request is taken (it will be answered); false leaves it to the manager. */
  handle(tx: ServerTransaction, inbound: InboundMessage): boolean;
}

/**
 * Options of {@link DialogManager.invite}.
 *
 * @example
 * ```ts
 * const opts: InviteOptions = {
 *   requestUri: 'sip:bob@192.0.2.4', from: '<sip:alice@example.com>', to: '<sip:bob@example.com>',
 *   destination: { protocol: 'udp', address: '192.0.2.4', port: 5060 },
 *   headers: [['Content-Type', 'application/sdp']], body: offer,
 * };
 * ```
 */
export interface InviteOptions {
  requestUri: Uri | string;
  from: NameAddr | string;
  to: NameAddr | string;
  /** Where the INVITE goes (an outbound proxy, or the resolved Request-URI). */
  destination: Destination;
  /** Default: random. */
  callId?: string;
  /** Default: 1. */
  cseq?: number;
  /** Send `Require: 100rel` instead of only `Supported: 100rel` (RFC 3262 §4). */
  require100rel?: boolean;
  headers?: Iterable<[string, HeaderValue]>;
  body?: string | Uint8Array;
}

/**
 * What happens to an outgoing INVITE.
 *
 * @example
 * ```ts
 * const handlers: InviteHandlers = {
 *   onProvisional: (res, dialog) => console.log(res.status, dialog?.state),
 *   onSuccess: (dialog, res) => console.log('answered', dialog.id.remoteTag),
 *   onFailure: (res, reason) => console.log('failed', res?.status ?? reason),
 * };
 * ```
 */
export interface InviteHandlers {
  /** A provisional response (reliable ones only once, in RSeq order), with its early dialog if it has a To tag. */
  onProvisional?(response: SipResponse, dialog: Dialog | undefined): void;
  /** The first 2xx: the dialog is confirmed and ACKed. */
  onSuccess?(dialog: Dialog, response: SipResponse): void;
  /** A non-2xx final response (after any 422 retry), a timeout, a transport error, or a full table. */
  onFailure?(response: SipResponse | undefined, reason: 'rejected' | 'timeout' | 'transport-error' | 'overload'): void;
  /**
   * The body of the ACK for the first 2xx: the answer when the INVITE carried no offer and the
   * 2xx did (RFC 3264 late offer, §13.2.2.4). Called once, before `onSuccess`.
   */
  ackBody?(dialog: Dialog, response: SipResponse): AckBody | undefined;
}

/**
 * A body for an ACK (the SDP answer to an offer in a 2xx).
 *
 * @example
 * ```ts
 * const body: AckBody = { contentType: 'application/sdp', body: answerSdp };
 * ```
 */
export interface AckBody {
  contentType: string;
  body: string | Uint8Array;
}

/**
 * What happens to a request sent in a dialog.
 *
 * @example
 * ```ts
 * manager.request(dialog, 'INFO', { headers: [['Content-Type', 'application/dtmf-relay']], body }, {
 *   onFinal: (res) => console.log('INFO answered', res?.status ?? 'timeout'),
 * });
 * ```
 */
export interface InDialogHandlers {
  onProvisional?(response: SipResponse): void;
  /** The final response (after glare retries), or `undefined` on timeout or transport error. */
  onFinal?(response: SipResponse | undefined): void;
  /** For a re-INVITE without offer: the body of the ACK for its 2xx (the answer). */
  ackBody?(dialog: Dialog, response: SipResponse): AckBody | undefined;
}

/**
 * Options of {@link DialogManager.respond}.
 *
 * @example
 * ```ts
 * manager.respond(tx, 183, { reliable: true, headers: [['Content-Type', 'application/sdp']], body: earlyMedia });
 * ```
 */
export interface RespondOptions {
  reason?: string;
  headers?: Iterable<[string, HeaderValue]>;
  body?: string | Uint8Array;
  /**
   * Send a 101–199 to an INVITE reliably (RFC 3262). Default: when the INVITE requires
   * `100rel`. Ignored when the INVITE does not support it.
   */
  reliable?: boolean;
}

/** @internal Per-dialog bookkeeping beside the public {@link Dialog}. */
interface Entry {
  dialog: Dialog;
  /** Our INVITE that created it (UAC) or the INVITE we answered (UAS). */
  outgoing: OutgoingInvite | undefined;
  incoming: IncomingContext | undefined;
  /** Our re-INVITE / UPDATE in progress (glare, §14.1 and RFC 3311 §5.1). */
  clientInvite: boolean;
  clientUpdate: boolean;
  /** The peer's latest re-INVITE / UPDATE; {@link unanswered} tells whether it still awaits its final response (§14.2). */
  serverInvite: ServerTransaction | undefined;
  serverUpdate: ServerTransaction | undefined;
  /** The ACK we sent for the latest 2xx to our INVITE, re-sent for its retransmissions. */
  lastAck: { cseq: number; ack: SipRequest; destination: Destination } | undefined;
  /** Our 2xx waiting for its ACK (§13.3.1.4). */
  awaitingAck: { cseq: number; timer: RetransmissionTimer } | undefined;
  /** CSeq of the last ACK passed to the UA (retransmitted ACKs are not passed again). */
  ackedSeq: number | undefined;
  session: SessionTimer;
  /** Methods the peer allows (Allow of its INVITE or 2xx). */
  remoteAllow: string[];
  /** Pending 491 retry timers. */
  retries: Set<TimerHandle>;
}

/** @internal What the manager remembers about a server transaction it handed to the UA. */
interface IncomingContext {
  kind: 'invite' | 'reinvite' | 'update' | 'other' | 'outside';
  tx: ServerTransaction;
  /** Our To tag (the initial INVITE: one tag for every response). */
  localTag: string | undefined;
  entry: Entry | undefined;
  reliable: ReliableProvisionalSender | undefined;
  /** The negotiated session timer to put in the 2xx (INVITE and UPDATE). */
  session: { interval: number; refresher: 'uac' | 'uas' } | undefined;
}

const PROTOCOL_NAMES: Record<TransportProtocol, string> = { udp: 'UDP', tcp: 'TCP', tls: 'TLS', ws: 'WS', wss: 'WSS' };
const DEFAULT_ALLOW = ['INVITE', 'ACK', 'CANCEL', 'BYE', 'PRACK', 'UPDATE', 'OPTIONS', 'INFO'];
const UNDERSTOOD = new Set(['100rel', 'timer']);
/** Methods of a subscription usage sharing an INVITE dialog (RFC 5057 §5.1). */
const SUBSCRIPTION_USAGE = new Set(['SUBSCRIBE', 'NOTIFY', 'REFER']);
/** Methods that only make sense inside a dialog: without a To tag they get 481. */
const DIALOG_ONLY = new Set(['BYE', 'PRACK', 'UPDATE', 'INFO']);

/**
 * The default next-hop resolution: no DNS, the URI's host (or `maddr`) and port.
 *
 * @example
 * ```ts
 * resolveUriDirectly(parseUri('sip:bob@192.0.2.4:5070;transport=tcp')); // { protocol: 'tcp', address: '192.0.2.4', port: 5070 }
 * ```
 */
export function resolveUriDirectly(uri: Uri): Destination {
  if (uri.kind !== 'sip') throw new DialogError(`Cannot send to ${uri.toString()}: only sip and sips URIs have a transport address`);
  const t = uri.transport;
  const protocol: TransportProtocol =
    t === 'tcp' || t === 'tls' || t === 'ws' || t === 'wss' || t === 'udp' ? t : uri.scheme === 'sips' ? 'tls' : 'udp';
  const maddr = uri.params.get('maddr');
  const address = typeof maddr === 'string' && maddr !== '' ? maddr : uri.host;
  return { protocol, address, port: uri.port ?? (protocol === 'tls' || protocol === 'wss' ? 5061 : 5060) };
}

/**
 * Whether a server transaction has not sent its final response yet, read from its state so
 * that it holds however the UA answered (through `respond` or the transaction directly).
 */
function unanswered(tx: ServerTransaction | undefined): boolean {
  if (tx === undefined) return false;
  return tx.kind === 'invite-server' ? tx.state === 'proceeding' : tx.state === 'trying' || tx.state === 'proceeding';
}

function hasTag(list: string[], tag: string): boolean {
  return list.some((t) => t.toLowerCase() === tag);
}

function safeList(read: () => string[]): string[] {
  try {
    return read();
  } catch (e) {
    if (e instanceof SipParseError) return [];
    throw e;
  }
}

/**
 * The dialog layer. Construct it over a {@link TransactionLayer}: it installs itself as the
 * layer's user.
 *
 * @example
 * ```ts
 * const layer = new TransactionLayer({ transport, user: { onRequest: () => {} } });
 * const manager = new DialogManager({
 *   layer,
 *   contact: '<sip:alice@192.0.2.1:5060>',
 *   events: {
 *     onIncomingRequest: (tx) => manager.respond(tx, tx.request.method === 'INVITE' ? 486 : 405),
 *     onTerminated: (d, reason) => console.log(d.id.callId, reason),
 *   },
 * });
 * manager.invite(
 *   { requestUri: 'sip:bob@192.0.2.4', from: '<sip:alice@example.com>', to: '<sip:bob@example.com>',
 *     destination: { protocol: 'udp', address: '192.0.2.4', port: 5060 } },
 *   { onSuccess: (dialog) => setTimeout(() => manager.bye(dialog), 10_000) },
 * );
 * ```
 */
export class DialogManager {
  readonly layer: TransactionLayer;
  events: DialogManagerEvents;
  readonly clock: TimerClock;
  readonly maxDialogs: number;
  readonly maxEarlyDialogsPerInvite: number;
  readonly maxGlareRetries: number;
  /** The session timer configuration, or undefined when session timers are off. */
  readonly sessionTimer: SessionTimerConfig | undefined;
  private readonly contact: NameAddr;
  private readonly sentBy: string;
  private readonly random: (bytes: number) => Uint8Array;
  private readonly allow: string;
  /** `Supported`: 100rel always, timer when session timers are on. */
  private readonly supported: string;
  private readonly resolveUri: (uri: Uri, dialog: Dialog | undefined) => Destination;
  private readonly extensions: ReadonlySet<string>;
  private readonly externalDialogs: ExternalDialogs | undefined;
  private readonly entries = new Map<string, Entry>();
  private readonly incoming = new WeakMap<ServerTransaction, IncomingContext>();

  constructor(options: DialogManagerOptions) {
    this.layer = options.layer;
    this.events = options.events ?? {};
    this.clock = options.clock ?? options.layer.clock;
    this.random = options.random ?? randomBytes;
    this.maxDialogs = options.maxDialogs ?? 10_000;
    this.maxEarlyDialogsPerInvite = options.maxEarlyDialogsPerInvite ?? 8;
    this.maxGlareRetries = options.maxGlareRetries ?? 3;
    for (const [name, v] of [
      ['maxDialogs', this.maxDialogs],
      ['maxEarlyDialogsPerInvite', this.maxEarlyDialogsPerInvite],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer`);
    }
    this.sessionTimer = options.sessionTimer === false ? undefined : resolveSessionTimerConfig(options.sessionTimer);
    this.contact = toContact(options.contact);
    const uri = this.contact.uri;
    if (options.sentBy !== undefined) this.sentBy = options.sentBy;
    else if (uri.kind === 'sip') this.sentBy = uri.hostport;
    else throw new DialogError('The Contact is not a sip URI: give sentBy');
    this.allow = (options.allow ?? DEFAULT_ALLOW).join(', ');
    this.extensions = new Set((options.extensions ?? []).map((t) => t.toLowerCase()));
    this.supported = this.sessionTimer === undefined ? '100rel' : '100rel, timer';
    this.resolveUri = options.resolve ?? ((u) => resolveUriDirectly(u));
    this.externalDialogs = options.externalDialogs;
    this.layer.user = {
      onRequest: (tx, inbound) => this.receiveRequest(tx, inbound),
      onAck: (inbound) => this.receiveAck(inbound),
      onCancel: (tx) => this.receiveCancel(tx),
      onStray: (inbound) => this.receiveStray(inbound),
    };
  }

  /** Number of dialogs held (early and confirmed). */
  get size(): number {
    return this.entries.size;
  }

  /** The dialogs held. */
  dialogs(): IterableIterator<Dialog> {
    const it = this.entries.values();
    return (function* () {
      for (const e of it) yield e.dialog;
    })();
  }

  /** The dialog with this key ({@link dialogKey}), if held. */
  get(key: string): Dialog | undefined {
    return this.entries.get(key)?.dialog;
  }

  /** The negotiated session timer of a dialog, if one runs. */
  sessionOf(dialog: Dialog): NegotiatedSession | undefined {
    return this.entries.get(dialog.key)?.session.session;
  }

  // ------------------------------------------------------------------ helpers

  private hex(bytes: number): string {
    return Buffer.from(this.random(bytes)).toString('hex');
  }

  /** A first local CSeq for a UAS dialog: random, below 2^31 with room to count up (§12.2.1.1). */
  private readonly initialSeq = (): number => 1 + randomBelow(this.random, 0x40000000);

  private via(protocol: TransportProtocol): string {
    return `SIP/2.0/${PROTOCOL_NAMES[protocol]} ${this.sentBy};rport`;
  }

  private destinationOf(dialog: Dialog): Destination | undefined {
    try {
      return this.resolveUri(dialog.nextHop(), dialog);
    } catch (e) {
      if (e instanceof DialogError || e instanceof SipParseError) return undefined;
      throw e;
    }
  }

  private sendStateless(message: SipRequest | SipResponse, destination: Destination): void {
    this.layer.sendStateless(message, destination).then(undefined, () => {
      // A lost ACK is recovered by the peer retransmitting its 2xx; there is no one to tell.
    });
  }

  private newEntry(dialog: Dialog, outgoing: OutgoingInvite | undefined, incoming: IncomingContext | undefined): Entry {
    const entry: Entry = {
      dialog,
      outgoing,
      incoming,
      clientInvite: false,
      clientUpdate: false,
      serverInvite: undefined,
      serverUpdate: undefined,
      lastAck: undefined,
      awaitingAck: undefined,
      ackedSeq: undefined,
      session: undefined as unknown as SessionTimer,
      remoteAllow: [],
      retries: new Set(),
    };
    entry.session = new SessionTimer(
      this.clock,
      () => this.refreshSession(entry),
      () => this.expireSession(entry),
    );
    this.entries.set(dialog.key, entry);
    this.events.onDialogCreated?.(dialog);
    return entry;
  }

  private terminate(entry: Entry, reason: TerminationReason): void {
    if (this.entries.get(entry.dialog.key) !== entry) return;
    this.entries.delete(entry.dialog.key);
    entry.session.stop();
    entry.awaitingAck?.timer.stop();
    entry.awaitingAck = undefined;
    for (const h of entry.retries) this.clock.clearTimer(h);
    entry.retries.clear();
    if (entry.incoming?.reliable !== undefined) entry.incoming.reliable.stop();
    if (entry.outgoing !== undefined) entry.outgoing.earlyDialogs.delete(entry.dialog.id.remoteTag);
    entry.dialog.state = 'terminated';
    this.events.onTerminated?.(entry.dialog, reason);
  }

  /** Sends a BYE in `dialog` (state permitting) without waiting for anything. */
  private sendBye(dialog: Dialog, headers?: Iterable<[string, HeaderValue]>): ClientTransaction | undefined {
    const destination = this.destinationOf(dialog);
    if (destination === undefined) return undefined;
    const bye = dialog.createRequest('BYE', { via: this.via(destination.protocol), ...(headers === undefined ? {} : { headers }) }, this.initialSeq);
    return this.layer.sendRequest(bye, destination);
  }

  private ackFor(dialog: Dialog, cseq: number, body?: AckBody): { ack: SipRequest; destination: Destination } | undefined {
    const destination = this.destinationOf(dialog);
    if (destination === undefined) return undefined;
    const ack = dialog.createRequest('ACK', {
      via: `${this.via(destination.protocol)};branch=${createBranch(this.random)}`,
      cseq,
      ...(body === undefined ? {} : { headers: [['Content-Type', body.contentType]], body: body.body }),
    });
    return { ack, destination };
  }

  private sessionHeaders(entry: Entry | undefined, method: 'INVITE' | 'UPDATE'): [string, string][] {
    const cfg = this.sessionTimer;
    if (cfg === undefined) return [];
    const current = entry?.session.session;
    if (current === undefined) return method === 'INVITE' || entry !== undefined ? [['Session-Expires', String(cfg.interval)], ['Min-SE', String(cfg.minSE)]] : [];
    // We keep the refresher role we have: as the sender of this request we are its "uac" (§7.4).
    return [
      ['Session-Expires', `${current.interval};refresher=${current.weRefresh ? 'uac' : 'uas'}`],
      ['Min-SE', String(cfg.minSE)],
    ];
  }

  // ------------------------------------------------------------------ UAC: initial INVITE

  /**
   * Sends an INVITE outside any dialog (§13.2.1) with a random From tag and Call-ID, our
   * Contact, `Supported: 100rel, timer`, Allow, and Session-Expires/Min-SE when session timers
   * are on. Early dialogs appear with 1xx responses carrying a To tag; the first 2xx confirms
   * one (and is ACKed); 2xx from other forks are ACKed and then BYEd (§13.2.2.4). A 422 is
   * retried once or twice with the Min-SE it asks for (RFC 4028 §7.4).
   *
   * @example
   * ```ts
   * const call = manager.invite(
   *   { requestUri: 'sip:bob@192.0.2.4', from: '<sip:alice@example.com>', to: '<sip:bob@example.com>',
   *     destination: { protocol: 'udp', address: '192.0.2.4', port: 5060 } },
   *   { onSuccess: (dialog) => console.log('connected', dialog.toString()) },
   * );
   * ```
   */
  invite(options: InviteOptions, handlers: InviteHandlers = {}): OutgoingInvite {
    const from = (typeof options.from === 'string' ? toContact(options.from) : options.from).clone();
    if (from.tag === undefined) from.tag = this.hex(6);
    const to = (typeof options.to === 'string' ? toContact(options.to) : options.to).clone();
    to.tag = undefined;
    const req = new SipRequest('INVITE', options.requestUri);
    req.append('Via', this.via(options.destination.protocol));
    req.append('Max-Forwards', '70');
    req.append('From', from.toString());
    req.append('To', to.toString());
    req.append('Call-ID', options.callId ?? `${this.hex(12)}@${this.sentBy.replace(/:\d+$/, '').replace(/[[\]]/g, '')}`);
    req.append('CSeq', `${options.cseq ?? 1} INVITE`);
    req.append('Contact', this.contact.toString());
    req.append('Allow', this.allow);
    req.append('Supported', this.supported);
    if (options.require100rel === true) req.append('Require', '100rel');
    for (const [n, v] of this.sessionHeaders(undefined, 'INVITE')) req.append(n, v);
    if (options.headers !== undefined) for (const [n, v] of options.headers) req.append(n, v);
    if (options.body !== undefined) req.body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : Buffer.from(options.body);
    const out = new OutgoingInvite(req, undefined as unknown as InviteClientTransaction, this.layer);
    this.sendInvite(out, req, options.destination, handlers);
    return out;
  }

  private sendInvite(out: OutgoingInvite, req: SipRequest, destination: Destination, handlers: InviteHandlers): void {
    out.request = req;
    const fail = (res: SipResponse | undefined, reason: 'rejected' | 'timeout' | 'transport-error' | 'overload'): void => {
      if (out.done) return;
      out.done = true;
      for (const d of [...out.earlyDialogs.values()]) {
        const e = this.entries.get(d.key);
        if (e !== undefined) this.terminate(e, 'rejected');
      }
      handlers.onFailure?.(res, reason);
    };
    out.tx = this.layer.sendRequest(req, destination, {
      onProvisional: (res) => this.guard(() => this.uacProvisional(out, res, handlers)),
      onFinal: (res) => {
        this.guard(() => {
          if (res.status < 300) this.uac2xx(out, res, handlers, fail);
          else if (!this.retry422(out, res, destination, handlers)) fail(res, 'rejected');
        });
      },
      onTimeout: () => fail(undefined, 'timeout'),
      onTransportError: () => fail(undefined, 'transport-error'),
      onTerminated: () => {
        if (out.tx.request !== req) return; // a 422 retry replaced this transaction
        // Timer M (or the end of a failed INVITE): early dialogs that got no 2xx end (§13.2.2.4).
        for (const d of [...out.earlyDialogs.values()]) {
          const e = this.entries.get(d.key);
          if (e !== undefined && e.dialog.state === 'early') this.terminate(e, 'rejected');
        }
        out.forkAcks.clear();
        out.rseq.clear();
        // The INVITE is over: a confirmed dialog no longer needs it (an idle dialog stays small).
        const confirmed = out.dialog === undefined ? undefined : this.entries.get(out.dialog.key);
        if (confirmed !== undefined && confirmed.outgoing === out) confirmed.outgoing = undefined;
      },
    }) as InviteClientTransaction;
  }

  /** Runs peer-driven processing; a header that turns out malformed drops the message (§18.1.2). */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof SipParseError) && !(e instanceof DialogError)) throw e;
    }
  }

  /** RFC 4028 §7.4: a 422 names the Min-SE to use; retry with it (twice at most). */
  private retry422(out: OutgoingInvite, res: SipResponse, destination: Destination, handlers: InviteHandlers): boolean {
    if (res.status !== 422 || this.sessionTimer === undefined || out.sessionRetries >= 2 || out.done) return false;
    const minSE = res.minSE;
    if (minSE === undefined || minSE > 86_400) return false;
    out.sessionRetries++;
    const old = out.request;
    const req = new SipRequest('INVITE', old.uriString);
    for (const [name, value] of old.headers) {
      const n = name.toLowerCase();
      if (n === 'via' || n === 'v' || n === 'cseq' || n === 'session-expires' || n === 'x' || n === 'min-se' || n === 'content-length' || n === 'l') continue;
      req.append(name, value);
    }
    req.prepend('Via', this.via(destination.protocol));
    req.append('CSeq', `${old.cseq.seq + 1} INVITE`);
    req.append('Session-Expires', String(Math.max(minSE, this.sessionTimer.interval)));
    req.append('Min-SE', String(minSE));
    req.body = old.body;
    for (const d of [...out.earlyDialogs.values()]) {
      const e = this.entries.get(d.key);
      if (e !== undefined) this.terminate(e, 'rejected');
    }
    this.sendInvite(out, req, destination, handlers);
    return true;
  }

  private uacProvisional(out: OutgoingInvite, res: SipResponse, handlers: InviteHandlers): void {
    if (out.done) return;
    const tag = res.status > 100 ? res.to.tag : undefined;
    let entry: Entry | undefined;
    if (tag !== undefined) {
      const early = out.earlyDialogs.get(tag);
      entry = early === undefined ? undefined : this.entries.get(early.key);
      if (entry === undefined && out.earlyDialogs.size < this.maxEarlyDialogsPerInvite && this.entries.size < this.maxDialogs) {
        const dialog = Dialog.fromUacResponse(out.request, res, this.contact);
        if (!this.entries.has(dialog.key)) {
          out.earlyDialogs.set(tag, dialog);
          entry = this.newEntry(dialog, out, undefined);
          entry.remoteAllow = safeList(() => res.allow);
        }
      }
    }
    // RFC 3262 §4: a reliable provisional is processed and PRACKed once, in RSeq order.
    const rseq = res.rseq;
    if (hasTag(res.require, '100rel') && rseq !== undefined && tag !== undefined) {
      if (entry === undefined) return; // no early dialog to PRACK in (the table is full)
      let r = out.rseq.get(tag);
      if (r === undefined) {
        r = new ReliableProvisionalReceiver();
        out.rseq.set(tag, r);
      }
      if (!r.accept(rseq)) return;
      this.request(entry.dialog, 'PRACK', { headers: [['RAck', `${rseq} ${out.request.cseq.seq} INVITE`]] });
    }
    handlers.onProvisional?.(res, entry?.dialog);
  }

  private uac2xx(
    out: OutgoingInvite,
    res: SipResponse,
    handlers: InviteHandlers,
    fail: (res: SipResponse | undefined, reason: 'overload') => void,
  ): void {
    const tag = res.to.tag;
    if (tag === undefined) return; // a 2xx without To tag cannot make a dialog: dropped
    const cseq = out.request.cseq.seq;
    if (out.dialog !== undefined && out.dialog.id.remoteTag === tag) {
      // A retransmission of the 2xx: the same ACK again (§13.2.2.4).
      const e = this.entries.get(out.dialog.key);
      if (e?.lastAck !== undefined && e.lastAck.cseq === cseq) this.sendStateless(e.lastAck.ack, e.lastAck.destination);
      return;
    }
    const forkAck = out.forkAcks.get(tag);
    if (forkAck !== undefined) {
      const d = this.destinationFromAck(forkAck);
      if (d !== undefined) this.sendStateless(forkAck, d);
      return;
    }
    const early = out.earlyDialogs.get(tag);
    let entry = early === undefined ? undefined : this.entries.get(early.key);
    if (out.dialog === undefined && !out.done) {
      if (entry === undefined) {
        if (this.entries.size >= this.maxDialogs) {
          this.ackAndByeFork(out, Dialog.fromUacResponse(out.request, res, this.contact), cseq);
          fail(res, 'overload');
          return;
        }
        const dialog = Dialog.fromUacResponse(out.request, res, this.contact);
        if (this.entries.has(dialog.key)) return;
        entry = this.newEntry(dialog, out, undefined);
      } else entry.dialog.confirm(res);
      out.earlyDialogs.delete(tag);
      out.dialog = entry.dialog;
      out.done = true;
      entry.outgoing = out;
      const allow = safeList(() => res.allow);
      if (allow.length > 0) entry.remoteAllow = allow;
      const acked = this.ackFor(entry.dialog, cseq, handlers.ackBody?.(entry.dialog, res));
      if (acked === undefined) {
        this.terminate(entry, 'unroutable');
        return;
      }
      entry.lastAck = { cseq, ...acked };
      this.sendStateless(acked.ack, acked.destination);
      this.startUacSession(entry, out.request, res);
      this.events.onDialogConfirmed?.(entry.dialog);
      handlers.onSuccess?.(entry.dialog, res);
      return;
    }
    // A 2xx from another fork (§13.2.2.4): ACK it, then BYE it.
    const dialog = entry?.dialog ?? Dialog.fromUacResponse(out.request, res, this.contact);
    dialog.confirm(res);
    this.ackAndByeFork(out, dialog, cseq);
    if (entry !== undefined) this.terminate(entry, 'forked');
    else dialog.state = 'terminated';
  }

  private destinationFromAck(ack: SipRequest): Destination | undefined {
    try {
      const route = ack.routes[0];
      return this.resolveUri(route !== undefined ? route.uri : ack.uri, undefined);
    } catch (e) {
      if (e instanceof DialogError || e instanceof SipParseError) return undefined;
      throw e;
    }
  }

  private ackAndByeFork(out: OutgoingInvite, dialog: Dialog, cseq: number): void {
    const acked = this.ackFor(dialog, cseq);
    if (acked === undefined) return;
    this.sendStateless(acked.ack, acked.destination);
    if (out.forkAcks.size < this.maxEarlyDialogsPerInvite) out.forkAcks.set(dialog.id.remoteTag, acked.ack);
    this.sendBye(dialog);
  }

  private startUacSession(entry: Entry, request: SipRequest, res: SipResponse): void {
    if (this.sessionTimer === undefined) return;
    const s = negotiateAsUac(request, res);
    if (s === undefined) entry.session.stop();
    else entry.session.restart(s);
  }

  // ------------------------------------------------------------------ requests in a dialog

  /**
   * Sends a request in `dialog` (§12.2.1.1): re-INVITE, UPDATE, INFO, PRACK, REFER, NOTIFY,
   * MESSAGE, OPTIONS… (BYE: use {@link bye}). A re-INVITE or UPDATE carries Contact,
   * `Supported: 100rel, timer` and the session timer; its 2xx refreshes the remote target and
   * the session timer (§12.2.1.2); the 2xx of a re-INVITE is ACKed. A 491 is retried after the
   * §14.1 delay (2.1–4 s when we own the Call-ID, else 0–2 s) up to `maxGlareRetries` times;
   * 481, 408 and timeouts end the dialog. Throws {@link DialogError} for a terminated dialog, a
   * re-INVITE while another INVITE transaction is in progress in the dialog (§14.1), or an
   * unroutable target.
   *
   * @example
   * ```ts
   * manager.request(dialog, 'INVITE', { headers: [['Content-Type', 'application/sdp']], body: holdOffer }, {
   *   onFinal: (res) => console.log('re-INVITE', res?.status),
   * });
   * ```
   */
  request(
    dialog: Dialog,
    method: string,
    options: { headers?: Iterable<[string, HeaderValue]>; body?: string | Uint8Array } = {},
    handlers: InDialogHandlers = {},
  ): ClientTransaction {
    const entry = this.entries.get(dialog.key);
    if (entry === undefined || entry.dialog !== dialog || dialog.state === 'terminated') throw new DialogError(`The dialog ${dialog.toString()} is not active`);
    if (method === 'ACK' || method === 'CANCEL' || method === 'BYE') throw new DialogError(`${method} is sent by the dialog layer itself (use bye() for BYE)`);
    if (method === 'INVITE' && (entry.clientInvite || unanswered(entry.serverInvite) || this.initialInvitePending(entry))) {
      throw new DialogError('An INVITE transaction is already in progress in this dialog (§14.1)');
    }
    return this.sendInDialog(entry, method, { headers: options.headers ? [...options.headers] : [], body: options.body }, handlers, 0);
  }

  /** Whether the INVITE that created the dialog still has no final response (either side). */
  private initialInvitePending(entry: Entry): boolean {
    const inc = entry.incoming;
    if (inc !== undefined && inc.kind === 'invite' && inc.tx.kind === 'invite-server' && inc.tx.state === 'proceeding') return true;
    return entry.outgoing !== undefined && entry.dialog.state === 'early';
  }

  private sendInDialog(
    entry: Entry,
    method: string,
    options: { headers: [string, HeaderValue][]; body: string | Uint8Array | undefined },
    handlers: InDialogHandlers,
    attempt: number,
  ): ClientTransaction {
    const dialog = entry.dialog;
    const destination = this.destinationOf(dialog);
    if (destination === undefined) throw new DialogError(`No destination for ${dialog.nextHop().toString()}`);
    const headers: [string, HeaderValue][] = [];
    const offerLike = method === 'INVITE' || method === 'UPDATE';
    if (offerLike) {
      headers.push(['Allow', this.allow], ['Supported', this.supported]);
      if (!options.headers.some(([n]) => n.toLowerCase() === 'session-expires')) headers.push(...this.sessionHeaders(entry, method));
    }
    headers.push(...options.headers);
    const req = dialog.createRequest(
      method,
      { via: this.via(destination.protocol), headers, ...(options.body === undefined ? {} : { body: options.body }) },
      this.initialSeq,
    );
    if (method === 'INVITE') entry.clientInvite = true;
    if (method === 'UPDATE') entry.clientUpdate = true;
    const settle = (): void => {
      if (method === 'INVITE') entry.clientInvite = false;
      if (method === 'UPDATE') entry.clientUpdate = false;
    };
    let finalSeen = false;
    const tx = this.layer.sendRequest(req, destination, {
      onProvisional: (res) => handlers.onProvisional?.(res),
      onFinal: (res) => {
        this.guard(() => {
          if (finalSeen) {
            // A retransmitted 2xx to our re-INVITE: the same ACK (§13.2.2.4).
            if (method === 'INVITE' && res.status < 300 && entry.lastAck?.cseq === req.cseq.seq) this.sendStateless(entry.lastAck.ack, entry.lastAck.destination);
            return;
          }
          finalSeen = true;
          settle();
          this.inDialogFinal(entry, req, res, options, handlers, attempt);
        });
      },
      onTimeout: () => {
        settle();
        this.terminate(entry, 'request-failed');
        handlers.onFinal?.(undefined);
      },
      onTransportError: () => {
        settle();
        handlers.onFinal?.(undefined);
      },
    });
    return tx;
  }

  private inDialogFinal(
    entry: Entry,
    req: SipRequest,
    res: SipResponse,
    options: { headers: [string, HeaderValue][]; body: string | Uint8Array | undefined },
    handlers: InDialogHandlers,
    attempt: number,
  ): void {
    const method = req.method;
    const status = res.status;
    const live = this.entries.get(entry.dialog.key) === entry;
    if (status >= 200 && status < 300) {
      if (method === 'INVITE') {
        if (entry.dialog.state !== 'terminated') {
          const acked = this.ackFor(entry.dialog, req.cseq.seq, handlers.ackBody?.(entry.dialog, res));
          if (acked !== undefined) {
            entry.lastAck = { cseq: req.cseq.seq, ...acked };
            this.sendStateless(acked.ack, acked.destination);
          }
        }
      }
      if (live && (method === 'INVITE' || method === 'UPDATE')) {
        entry.dialog.receiveResponse(req, res); // §12.2.1.2 target refresh
        this.startUacSession(entry, req, res);
      }
      handlers.onFinal?.(res);
      return;
    }
    if (status === 491 && live && attempt < this.maxGlareRetries) {
      // §14.1: try again after a random time; the owner of the Call-ID waits longer.
      const delay = glareRetryDelay(entry.dialog.ownsCallId, this.random);
      const h: TimerHandle = this.clock.setTimer(() => {
        entry.retries.delete(h);
        if (this.entries.get(entry.dialog.key) !== entry) return;
        if (method === 'INVITE' && (entry.clientInvite || unanswered(entry.serverInvite))) {
          handlers.onFinal?.(res); // the peer's re-INVITE is still running: give up
          return;
        }
        try {
          this.sendInDialog(entry, method, options, handlers, attempt + 1);
        } catch (e) {
          if (!(e instanceof DialogError)) throw e;
          handlers.onFinal?.(res);
        }
      }, delay);
      entry.retries.add(h);
      return;
    }
    // RFC 5057 §5.1: a 481 or 408 to a request of a subscription usage (REFER's implicit
    // subscription, RFC 3515) ends that usage, not the INVITE dialog it shares.
    if (live && (status === 481 || status === 408) && !SUBSCRIPTION_USAGE.has(method)) this.terminate(entry, 'request-failed');
    handlers.onFinal?.(res);
  }

  /**
   * Ends `dialog` with a BYE (§15.1.1): the dialog is terminated at once (reason `local-bye`)
   * and the BYE sent in its own transaction. Returns the BYE's transaction, or undefined when
   * the dialog was not active or its target could not be resolved. The caller may BYE an
   * early dialog; the callee may not (§15): that throws {@link DialogError}.
   *
   * @example
   * ```ts
   * manager.bye(dialog, [['Reason', 'Q.850;cause=16']]);
   * ```
   */
  bye(dialog: Dialog, headers?: Iterable<[string, HeaderValue]>): ClientTransaction | undefined {
    const entry = this.entries.get(dialog.key);
    if (entry === undefined || entry.dialog !== dialog) return undefined;
    if (dialog.role === 'uas' && dialog.state === 'early') {
      throw new DialogError('The callee cannot BYE an early dialog: answer the INVITE with a final response instead (§15)');
    }
    const tx = this.sendBye(dialog, headers);
    this.terminate(entry, 'local-bye');
    return tx;
  }

  private refreshSession(entry: Entry): void {
    if (this.entries.get(entry.dialog.key) !== entry) return;
    if (entry.clientInvite || entry.clientUpdate || unanswered(entry.serverInvite) || unanswered(entry.serverUpdate)) {
      entry.session.retryRefresh(1000); // another offer is in progress: try again shortly
      return;
    }
    const useUpdate = entry.remoteAllow.some((m) => m.toUpperCase() === 'UPDATE');
    const options: { headers: [string, HeaderValue][]; body: string | Uint8Array | undefined } = { headers: [], body: undefined };
    if (!useUpdate) {
      const sdp = this.events.sessionRefreshBody?.(entry.dialog);
      if (sdp !== undefined) {
        options.headers.push(['Content-Type', sdp.contentType]);
        options.body = sdp.body;
      }
    }
    this.guard(() => this.sendInDialog(entry, useUpdate ? 'UPDATE' : 'INVITE', options, {}, 0));
  }

  private expireSession(entry: Entry): void {
    if (this.entries.get(entry.dialog.key) !== entry) return;
    this.sendBye(entry.dialog, [['Reason', 'SIP;cause=408;text="Session expired"']]);
    this.terminate(entry, 'session-expired');
  }

  // ------------------------------------------------------------------ UAS

  /**
   * Answers a request the manager handed over (`onIncomingRequest`, `onRequest`), doing what
   * the dialog layer owes the response: for an INVITE, one To tag for all responses, Contact,
   * Allow and Supported; an early dialog for 101–199 (sent reliably with RSeq when asked or
   * required, RFC 3262), a confirmed dialog for 2xx (retransmitted until the ACK, §13.3.1.4),
   * the early dialog ended by 300–699; session timer headers in 2xx to INVITE and UPDATE.
   * Returns the response sent, or undefined when it was not (a final response went already).
   *
   * @example
   * ```ts
   * manager.respond(tx, 180, { reliable: true });
   * manager.respond(tx, 200, { headers: [['Content-Type', 'application/sdp']], body: answer });
   * ```
   */
  respond(tx: ServerTransaction, status: number, options: RespondOptions = {}): SipResponse | undefined {
    const ctx = this.incoming.get(tx);
    const req = tx.request;
    const headers: [string, HeaderValue][] = options.headers === undefined ? [] : [...options.headers];
    const extra: [string, HeaderValue][] = [];
    const has = (name: string): boolean => headers.some(([n]) => n.toLowerCase() === name.toLowerCase());
    if (ctx === undefined || ctx.kind === 'outside' || ctx.kind === 'other') {
      const res = createResponse(req, status, options.reason, { headers, ...(options.body === undefined ? {} : { body: options.body }), random: this.random });
      return tx.respond(res) ? res : undefined;
    }
    const dialogForming = status > 100 && status < 300;
    if (dialogForming) {
      if (!has('Contact')) extra.push(['Contact', ctx.entry?.dialog.localContact.toString() ?? this.contact.toString()]);
      if (req.method === 'INVITE' || req.method === 'UPDATE') {
        if (!has('Allow')) extra.push(['Allow', this.allow]);
        if (!has('Supported')) extra.push(['Supported', this.supported]);
      }
    }
    if (status >= 200 && status < 300 && ctx.session !== undefined && !has('Session-Expires')) {
      extra.push(['Session-Expires', `${ctx.session.interval};refresher=${ctx.session.refresher}`]);
      if (ctx.session.refresher === 'uac') extra.push(['Require', 'timer']); // RFC 4028 §9
    }
    const res = createResponse(req, status, options.reason, {
      headers: [...extra, ...headers],
      ...(options.body === undefined ? {} : { body: options.body }),
      ...(ctx.localTag === undefined ? {} : { toTag: ctx.localTag }),
      random: this.random,
    });
    if (ctx.kind === 'invite') return this.respondToInvite(ctx, tx as InviteServerTransaction, res, options);
    if (!tx.respond(res)) return undefined;
    if (status >= 200) this.afterInDialogFinal(ctx, res);
    return res;
  }

  private respondToInvite(ctx: IncomingContext, tx: InviteServerTransaction, res: SipResponse, options: RespondOptions): SipResponse | undefined {
    if (tx.state !== 'proceeding') return undefined;
    const req = tx.request;
    const status = res.status;
    if (status > 100 && status < 300 && ctx.entry === undefined) {
      if (this.entries.size >= this.maxDialogs) {
        const busy = createResponse(req, 503, undefined, { toTag: ctx.localTag, headers: [['Retry-After', '5']], random: this.random });
        tx.respond(busy);
        return undefined;
      }
      const secure = req.uri.scheme === 'sips' && tx.inbound.source.protocol === 'tls';
      const dialog = Dialog.fromUasResponse(req, res, this.contact, secure);
      if (this.entries.has(dialog.key)) {
        tx.respond(createResponse(req, 500, 'Dialog exists', { toTag: ctx.localTag, random: this.random }));
        return undefined;
      }
      ctx.entry = this.newEntry(dialog, undefined, ctx);
      ctx.entry.remoteAllow = safeList(() => req.allow);
    }
    const entry = ctx.entry;
    if (status > 100 && status < 200) {
      const supports = hasTag(safeList(() => req.supported), '100rel') || hasTag(safeList(() => req.require), '100rel');
      const reliable = supports && (options.reliable ?? hasTag(safeList(() => req.require), '100rel'));
      if (reliable && entry !== undefined) {
        ctx.reliable ??= new ReliableProvisionalSender({
          clock: this.clock,
          T1: this.layer.timers.T1,
          retransmit: !tx.reliable,
          initialRSeq: 1 + randomBelow(this.random, 0x7fffffff),
          send: (r) => {
            tx.respond(r);
          },
          onGiveUp: () => {
            // RFC 3262 §3: no PRACK in 64*T1: reject the INVITE with a 5xx.
            tx.respond(createResponse(req, 504, 'Reliable Provisional Not Acknowledged', { toTag: ctx.localTag, random: this.random }));
            const e = ctx.entry;
            if (e !== undefined) this.terminate(e, 'prack-timeout');
          },
        });
        return ctx.reliable.send(res) ? res : undefined;
      }
      return tx.respond(res) ? res : undefined;
    }
    if (status === 100) return tx.respond(res) ? res : undefined;
    ctx.reliable?.stop();
    if (!tx.respond(res)) return undefined;
    if (entry === undefined || this.entries.get(entry.dialog.key) !== entry) return res; // no dialog (left) to run timers for
    if (status >= 300) {
      this.terminate(entry, 'rejected');
      return res;
    }
    if (entry.dialog.state === 'early') entry.dialog.state = 'confirmed';
    this.events.onDialogConfirmed?.(entry.dialog);
    this.awaitAck(entry, tx, res);
    this.startUasSession(entry, ctx);
    return res;
  }

  /** §13.3.1.4: resend our 2xx (T1 doubling up to T2) until the ACK; after 64*T1, BYE. */
  private awaitAck(entry: Entry, tx: InviteServerTransaction, res: SipResponse): void {
    entry.awaitingAck?.timer.stop();
    const timer = new RetransmissionTimer({
      clock: this.clock,
      T1: this.layer.timers.T1,
      cap: this.layer.timers.T2,
      retransmit: !tx.reliable,
      resend: () => {
        if (tx.isTerminated) this.sendStateless(res, tx.destination);
        else tx.respond(res);
      },
      onGiveUp: () => {
        entry.awaitingAck = undefined;
        if (this.entries.get(entry.dialog.key) !== entry) return;
        this.sendBye(entry.dialog);
        this.terminate(entry, 'no-ack');
      },
    });
    entry.awaitingAck = { cseq: tx.request.cseq.seq, timer };
    timer.start();
  }

  private startUasSession(entry: Entry, ctx: IncomingContext): void {
    if (ctx.session === undefined) return;
    entry.session.restart({ interval: ctx.session.interval, weRefresh: ctx.session.refresher === 'uas' });
  }

  private afterInDialogFinal(ctx: IncomingContext, res: SipResponse): void {
    const entry = ctx.entry;
    if (entry === undefined) return;
    if (ctx.kind === 'reinvite' && entry.serverInvite === ctx.tx) entry.serverInvite = undefined;
    if (ctx.kind === 'update' && entry.serverUpdate === ctx.tx) entry.serverUpdate = undefined;
    if (res.status >= 300 || this.entries.get(entry.dialog.key) !== entry) return;
    if (ctx.kind === 'reinvite') this.awaitAck(entry, ctx.tx as InviteServerTransaction, res);
    this.startUasSession(entry, ctx);
  }

  private reply(tx: ServerTransaction, status: number, reason?: string, headers?: [string, HeaderValue][]): void {
    try {
      tx.respond(createResponse(tx.request, status, reason, { random: this.random, ...(headers === undefined ? {} : { headers }) }));
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
    }
  }

  private receiveRequest(tx: ServerTransaction, inbound: InboundMessage): void {
    try {
      const req = tx.request;
      if (req.to.tag === undefined) this.outsideDialog(tx, inbound);
      else this.insideDialog(tx, inbound);
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
      // A header read late (Session-Expires, RAck, Contact…) was malformed (§8.2: 400 with the reason).
      this.reply(tx, 400, e.message);
    }
  }

  /** Session timer check of an INVITE or UPDATE (RFC 4028 §8.1): 422 when too small. */
  private sessionCheck(tx: ServerTransaction): { ok: boolean; session: IncomingContext['session'] } {
    const cfg = this.sessionTimer;
    if (cfg === undefined) return { ok: true, session: undefined };
    const n = negotiateAsUas(tx.request, cfg);
    if (n.kind === 'too-small') {
      this.reply(tx, 422, undefined, [['Min-SE', String(n.minSE)]]);
      return { ok: false, session: undefined };
    }
    return { ok: true, session: n.kind === 'use' ? { interval: n.interval, refresher: n.refresher } : undefined };
  }

  private outsideDialog(tx: ServerTransaction, inbound: InboundMessage): void {
    const req = tx.request;
    if (req.method !== 'INVITE' && this.externalDialogs?.handle(tx, inbound) === true) return;
    if (DIALOG_ONLY.has(req.method)) {
      this.reply(tx, 481);
      return;
    }
    if (req.method === 'INVITE') {
      if (this.entries.size >= this.maxDialogs) {
        this.reply(tx, 503, undefined, [['Retry-After', '5']]);
        return;
      }
      const unsupported = req.require.filter(
        (t) => (!UNDERSTOOD.has(t.toLowerCase()) && !this.extensions.has(t.toLowerCase())) || (t.toLowerCase() === 'timer' && this.sessionTimer === undefined),
      );
      if (unsupported.length > 0) {
        this.reply(tx, 420, undefined, [['Unsupported', unsupported.join(', ')]]);
        return;
      }
      if (req.from.tag === undefined) {
        this.reply(tx, 400, 'Missing From tag');
        return;
      }
      // Read now what the dialog will be built from, so a malformed value gets its 400 here
      // (receiveRequest catches the SipParseError) instead of surfacing in the UA's respond().
      void req.recordRoutes;
      void req.contacts;
      void req.uri;
      const check = this.sessionCheck(tx);
      if (!check.ok) return;
      const ctx: IncomingContext = { kind: 'invite', tx, localTag: this.hex(6), entry: undefined, reliable: undefined, session: check.session };
      this.incoming.set(tx, ctx);
      tx.user = {
        onTerminated: () => {
          ctx.reliable?.stop();
          // An early dialog whose INVITE never got a final response (Timer-driven end).
          const e = ctx.entry;
          if (e !== undefined && e.dialog.state === 'early') this.terminate(e, 'rejected');
          // The INVITE transaction is over: a confirmed dialog no longer needs it (nor its responses).
          else if (e !== undefined && e.incoming === ctx) e.incoming = undefined;
        },
      };
    } else {
      this.incoming.set(tx, { kind: 'outside', tx, localTag: undefined, entry: undefined, reliable: undefined, session: undefined });
    }
    if (this.events.onIncomingRequest !== undefined) this.events.onIncomingRequest(tx, inbound);
    else this.respond(tx, 501);
  }

  private insideDialog(tx: ServerTransaction, inbound: InboundMessage): void {
    const req = tx.request;
    const id = dialogIdOfIncoming(req);
    const entry = id === undefined ? undefined : this.entries.get(dialogKey(id));
    if (entry === undefined) {
      if (this.externalDialogs?.handle(tx, inbound) === true) return;
      this.reply(tx, 481); // §12.2.2
      return;
    }
    const dialog = entry.dialog;
    if (dialog.receiveRequest(req) === 'out-of-order') {
      this.reply(tx, 500, 'CSeq Out of Order'); // §12.2.2
      return;
    }
    const method = req.method;
    if (method === 'BYE') {
      this.reply(tx, 200);
      const inc = entry.incoming;
      if (inc !== undefined && inc.tx.kind === 'invite-server' && inc.tx.state === 'proceeding') {
        // §15.1.2: a BYE in an early dialog: the INVITE gets 487.
        inc.reliable?.stop();
        inc.tx.respond(createResponse(inc.tx.request, 487, undefined, { toTag: inc.localTag, random: this.random }));
      }
      this.terminate(entry, 'remote-bye');
      return;
    }
    if (method === 'PRACK') {
      const rack = req.rack;
      const inc = entry.incoming;
      const ok = rack !== undefined && inc?.reliable !== undefined && inc.reliable.receivePrack(rack, inc.tx.request.cseq.seq);
      if (!ok) {
        this.reply(tx, 481, 'No Matching Reliable Provisional'); // RFC 3262 §3
        return;
      }
      this.reply(tx, 200);
      this.events.onPrack?.(dialog, req);
      return;
    }
    let kind: IncomingContext['kind'] = 'other';
    let session: IncomingContext['session'];
    if (method === 'INVITE' || method === 'UPDATE') {
      // Glare (§14.1, RFC 3311 §5.2): our own offer is outstanding: 491.
      if (entry.clientInvite || entry.clientUpdate) {
        this.reply(tx, 491);
        return;
      }
      // §14.2 / RFC 3311 §5.2: one of the peer's is still being answered: 500 with Retry-After.
      if (
        unanswered(entry.serverInvite) ||
        (method === 'UPDATE' && unanswered(entry.serverUpdate)) ||
        (method === 'INVITE' && this.initialInvitePending(entry))
      ) {
        this.reply(tx, 500, undefined, [['Retry-After', String(randomBelow(this.random, 11))]]);
        return;
      }
      const check = this.sessionCheck(tx);
      if (!check.ok) return;
      session = check.session;
      dialog.refreshTarget(req); // §12.2.2 target refresh
      const allow = safeList(() => req.allow);
      if (allow.length > 0) entry.remoteAllow = allow;
      kind = method === 'INVITE' ? 'reinvite' : 'update';
      if (method === 'INVITE') entry.serverInvite = tx;
      else entry.serverUpdate = tx;
    }
    const ctx: IncomingContext = { kind, tx, localTag: undefined, entry, reliable: undefined, session };
    this.incoming.set(tx, ctx);
    if (this.events.onRequest !== undefined) this.events.onRequest(dialog, tx, inbound);
    else this.respond(tx, method === 'INVITE' || method === 'UPDATE' || method === 'INFO' || method === 'OPTIONS' ? 200 : 501);
  }

  private receiveAck(inbound: InboundMessage): void {
    const ack = inbound.message;
    if (!ack.isRequest) return;
    this.guard(() => {
      const id = dialogIdOfIncoming(ack);
      const entry = id === undefined ? undefined : this.entries.get(dialogKey(id));
      if (entry === undefined) {
        this.events.onStray?.(inbound);
        return;
      }
      const seq = ack.cseq.seq;
      if (entry.awaitingAck !== undefined && entry.awaitingAck.cseq === seq) {
        entry.awaitingAck.timer.stop();
        entry.awaitingAck = undefined;
      }
      if (entry.ackedSeq === seq) return; // a retransmitted ACK
      entry.ackedSeq = seq;
      this.events.onAck?.(entry.dialog, ack);
    });
  }

  private receiveCancel(tx: InviteServerTransaction): void {
    const ctx = this.incoming.get(tx);
    if (ctx === undefined) {
      this.reply(tx, 487);
      return;
    }
    ctx.reliable?.stop();
    tx.respond(createResponse(tx.request, 487, undefined, { random: this.random, ...(ctx.localTag === undefined ? {} : { toTag: ctx.localTag }) }));
    const entry = ctx.entry;
    if (entry !== undefined && ctx.kind === 'invite') this.terminate(entry, 'cancelled');
    if (ctx.kind === 'reinvite' && entry !== undefined && entry.serverInvite === tx) entry.serverInvite = undefined;
    this.events.onCancel?.(tx, entry?.dialog);
  }

  private receiveStray(inbound: InboundMessage): void {
    const m = inbound.message;
    if (m.isRequest) {
      if (m.method === 'ACK') this.receiveAck(inbound);
      else this.events.onStray?.(inbound);
      return;
    }
    let handled = false;
    this.guard(() => {
      // A 2xx to an INVITE retransmitted after Timer M: re-send the ACK of its dialog (§13.2.2.4).
      if (m.status < 200 || m.status >= 300 || m.cseq.method !== 'INVITE') return;
      const id = dialogIdOfIncoming(m);
      const entry = id === undefined ? undefined : this.entries.get(dialogKey(id));
      if (entry?.lastAck !== undefined && entry.lastAck.cseq === m.cseq.seq) {
        this.sendStateless(entry.lastAck.ack, entry.lastAck.destination);
        handled = true;
      }
    });
    if (!handled) this.events.onStray?.(inbound);
  }

  /**
   * Ends every dialog without sending anything (reason `closed`) and stops every timer: for
   * shutting down (send BYEs first if the peers should know).
   */
  close(): void {
    for (const e of [...this.entries.values()]) this.terminate(e, 'closed');
  }
}


