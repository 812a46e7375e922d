/**
 * The subscriber side of SIP-specific event notification (RFC 6665 §4.1): sends SUBSCRIBE,
 * builds the subscription dialog from its 2xx or from the first NOTIFY (whichever comes first,
 * §4.1.2.4), answers every NOTIFY, refreshes before expiry and unsubscribes.
 *
 * ```
 *                 subscribe()
 *                     |  SUBSCRIBE (Event, Expires, Accept)
 *                     v       401/407: once through the DigestClient; 423: once with Min-Expires
 *               subscribing ----------------------------------------------> terminated
 *          2xx /          \ NOTIFY (dialog from the NOTIFY)    489 bad-event, other rejected,
 *             v            v                                   request-timeout, transport-error
 *        accepted ----> pending <----> active
 *          |  no NOTIFY      |            |   refresh: in-dialog SUBSCRIBE at
 *          |  in 64*T1       |            |   expires - min(64*T1, expires/2) (481 -> gone)
 *          v                 v            v
 *      terminated      NOTIFY terminated;reason=…  (§4.1.3)
 *       (no-notify)      deactivated, timeout  -> new SUBSCRIBE at once (new dialog)
 *                        probation             -> new SUBSCRIBE after retry-after (default 30 s)
 *                        giveup + retry-after  -> new SUBSCRIBE after retry-after
 *                        rejected, noresource, invariant, giveup, other -> terminated (notifier)
 *   unsubscribe(): SUBSCRIBE Expires: 0, then the NOTIFY terminated (or 64*T1) -> terminated (unsubscribed)
 * ```
 *
 * Every NOTIFY is answered: 200 when it belongs to a subscription (500 when its CSeq is out of
 * order, 400 when Event or Subscription-State is missing), 481 when it names a subscription
 * this dialog does not carry or comes from a second fork (only the first dialog is kept).
 * A NOTIFY for no subscription at all is not taken ({@link SubscriptionClient.handle} returns
 * false), so the DialogManager (or the `SubscriptionRouter`) answers it 481.
 */
import { retryWithCredentials, type DigestClient } from '../auth/index.js';
import {
  SipParseError,
  SipRequest,
  parseNameAddr,
  parseUri,
  type HeaderValue,
  type NameAddr,
  type SipResponse,
  type Uri,
} from '../message/index.js';
import { Dialog, dialogIdOfIncoming } from '../dialog/index.js';
import { toContact } from '../dialog/dialog.js';
import type { TimerClock, TimerHandle } from '../timer-clock.js';
import type { ServerTransaction, TransactionLayer } from '../transaction/index.js';
import type { Destination } from '../transport/index.js';
import {
  defaultRandom,
  destinationOf,
  eventOf,
  hexOf,
  reply,
  sentByOf,
  viaFor,
  type SubscriptionRequestHandler,
} from './subscription-dialog.js';

/**
 * A subscription could not be started (the client's table is full, or the options are wrong).
 *
 * @example
 * ```ts
 * try { client.subscribe(opts); } catch (e) { if (e instanceof SubscriptionError) console.log(e.message); }
 * ```
 */
export class SubscriptionError extends Error {
  override readonly name = 'SubscriptionError';
}

/**
 * Options of {@link SubscriptionClient.subscribe}.
 *
 * @example
 * ```ts
 * const opts: SubscribeOptions = {
 *   target: 'sip:201@pbx.example.com', from: '<sip:200@pbx.example.com>',
 *   destination: { protocol: 'udp', address: '192.0.2.1', port: 5060 },
 *   event: 'dialog', accept: ['application/dialog-info+xml'], expires: 600,
 * };
 * ```
 */
export interface SubscribeOptions {
  /** The resource (Request-URI of the SUBSCRIBE). */
  target: Uri | string;
  /** Our identity (From, without tag). */
  from: NameAddr | string;
  /** To of the SUBSCRIBE (default: the target). */
  to?: NameAddr | string;
  /** Where the initial SUBSCRIBE goes (an outbound proxy, or the resolved target). */
  destination: Destination;
  /** The event package (`dialog`, `message-summary`, `presence`…). */
  event: string;
  /** The Event `id` parameter, when several subscriptions share a dialog (§8.2.1). */
  eventId?: string;
  /** Requested duration in seconds (default 3600); 0 is a one-time fetch (§4.4.3). */
  expires?: number;
  /** Accept values (body formats we understand). */
  accept?: string[];
  /** Extra headers of the initial SUBSCRIBE. */
  headers?: Iterable<[string, HeaderValue]>;
}

/**
 * A NOTIFY as the subscriber sees it.
 *
 * @example
 * ```ts
 * sub.on('notify', (n: NotifyEvent) => { if (n.state === 'active') render(n.body.toString()); });
 * ```
 */
export interface NotifyEvent {
  /** `active`, `pending`, `terminated` (or an extension state, lower case). */
  state: string;
  /** The Subscription-State `reason` (terminated), lower case. */
  reason: string | undefined;
  /** The Subscription-State `expires`. */
  expires: number | undefined;
  /** The Subscription-State `retry-after`. */
  retryAfter: number | undefined;
  /** The Content-Type, as written (undefined without one). */
  contentType: string | undefined;
  body: Buffer;
  request: SipRequest;
}

/**
 * Why a subscription ended for good.
 *
 * - `unsubscribed`: {@link ClientSubscription.unsubscribe};
 * - `rejected`: the SUBSCRIBE got a non-2xx final response (after any digest or 423 retry);
 * - `bad-event`: 489, the notifier does not serve the package;
 * - `request-timeout` / `transport-error`: the initial SUBSCRIBE got no response / could not be sent;
 * - `no-notify`: a 2xx but no NOTIFY within 64*T1 (§4.1.2.4);
 * - `gone`: a refresh got 481;
 * - `expired`: the subscription ran out without a successful refresh;
 * - `notifier`: a NOTIFY `terminated` whose reason does not call for a new subscription (or too many did);
 * - `closed`: {@link SubscriptionClient.close}.
 *
 * @example
 * ```ts
 * sub.on('terminated', (t) => { if (t.reason === 'notifier' && t.notifierReason === 'probation') later(); });
 * ```
 */
export type ClientTerminationReason =
  | 'unsubscribed'
  | 'rejected'
  | 'bad-event'
  | 'request-timeout'
  | 'transport-error'
  | 'no-notify'
  | 'gone'
  | 'expired'
  | 'notifier'
  | 'closed';

/**
 * The `terminated` event of a {@link ClientSubscription}.
 *
 * @example
 * ```ts
 * sub.on('terminated', (t: SubscriptionTerminated) => console.log(t.reason, t.response?.status, t.notifierReason));
 * ```
 */
export interface SubscriptionTerminated {
  reason: ClientTerminationReason;
  /** The response that ended it (rejected, bad-event, gone). */
  response?: SipResponse;
  /** The Subscription-State reason of the final NOTIFY (notifier). */
  notifierReason?: string;
  /** Its retry-after, in seconds. */
  retryAfter?: number;
}

/**
 * The events of a {@link ClientSubscription}, by name.
 *
 * @example
 * ```ts
 * const onAccepted = (e: ClientSubscriptionEvents['accepted']) => console.log('granted', e.expires, 's');
 * sub.on('accepted', onAccepted);
 * ```
 */
export interface ClientSubscriptionEvents {
  /** The SUBSCRIBE (or a refresh) got a 2xx; `expires` is the granted duration. */
  accepted: { expires: number; response: SipResponse };
  notify: NotifyEvent;
  terminated: SubscriptionTerminated;
}

/** @internal What a SUBSCRIBE in flight is for. */
type SubscribeKind = 'initial' | 'refresh' | 'unsubscribe';

/**
 * One subscription of a {@link SubscriptionClient}.
 *
 * @example
 * ```ts
 * const sub = client.subscribe({ target: 'sip:201@pbx', from: '<sip:200@pbx>', destination, event: 'dialog' });
 * sub.on('notify', (n) => console.log(n.state, n.body.toString()));
 * sub.on('terminated', (t) => console.log('over:', t.reason));
 * // later
 * sub.unsubscribe();
 * ```
 */
export class ClientSubscription {
  /** `subscribing` (SUBSCRIBE sent), `accepted` (2xx, no NOTIFY yet), `pending`, `active`, `terminated`. */
  state: 'subscribing' | 'accepted' | 'pending' | 'active' | 'terminated' = 'subscribing';
  /** The subscription dialog once a 2xx or NOTIFY created it. */
  dialog: Dialog | undefined;
  /** Clock time (ms) at which the subscription expires (0 until granted). */
  expiresAt = 0;
  /** Clock time (ms) at which the next refresh is due (undefined when none is scheduled). */
  refreshAt: number | undefined;
  /** How many new subscriptions were started after the notifier ended one (§4.1.3). */
  resubscriptions = 0;
  /** The requested duration (raised by a 423's Min-Expires). */
  expires: number;
  /** @internal */ key = '';
  /** @internal */ callId = '';
  /** @internal */ localTag = '';
  /** @internal The last SUBSCRIBE sent. */ request: SipRequest | undefined;
  /** @internal */ unsubscribing = false;
  /** @internal The Expires: 0 went out (or the SUBSCRIBE was a fetch). */ unsubscribeSent = false;
  /** @internal Consecutive new subscriptions without a successful refresh between them. */ retriesInARow = 0;
  /** @internal */ readonly timers = new Map<'refresh' | 'expiry' | 'notify' | 'unsubscribe' | 'retry', TimerHandle>();
  private readonly listeners: { [K in keyof ClientSubscriptionEvents]: Set<(e: ClientSubscriptionEvents[K]) => void> } = {
    accepted: new Set(),
    notify: new Set(),
    terminated: new Set(),
  };

  constructor(
    private readonly client: SubscriptionClient,
    readonly options: Readonly<SubscribeOptions>,
    /** The event package, lower case. */
    readonly event: string,
  ) {
    this.expires = options.expires ?? 3600;
  }

  /** Adds a listener. */
  on<K extends keyof ClientSubscriptionEvents>(type: K, listener: (e: ClientSubscriptionEvents[K]) => void): this {
    this.listeners[type].add(listener);
    return this;
  }

  /** Removes a listener. */
  off<K extends keyof ClientSubscriptionEvents>(type: K, listener: (e: ClientSubscriptionEvents[K]) => void): this {
    this.listeners[type].delete(listener);
    return this;
  }

  /** @internal */
  emit<K extends keyof ClientSubscriptionEvents>(type: K, e: ClientSubscriptionEvents[K]): void {
    for (const l of [...this.listeners[type]]) l(e);
  }

  /** Ends the subscription: SUBSCRIBE with Expires: 0 (§4.1.2.3), then the final NOTIFY. */
  unsubscribe(): void {
    this.client.unsubscribe(this);
  }
}

/**
 * Options of {@link SubscriptionClient}.
 *
 * @example
 * ```ts
 * const options: SubscriptionClientOptions = { layer, contact: '<sip:200@192.0.2.7:5060>', digest, maxSubscriptions: 200 };
 * ```
 */
export interface SubscriptionClientOptions {
  layer: TransactionLayer;
  /** Our Contact (every SUBSCRIBE carries it). */
  contact: NameAddr | string;
  /** Sent-by of our Vias; default: the Contact's host and port. */
  sentBy?: string;
  /** Answers 401/407, once per SUBSCRIBE. */
  digest?: DigestClient;
  /** Most subscriptions held (default 1,000): {@link SubscriptionClient.subscribe} throws beyond. */
  maxSubscriptions?: number;
  /** Start a new subscription when the notifier ends one with deactivated, timeout, probation… (default true). */
  resubscribe?: boolean;
  /** Most new subscriptions in a row without a successful refresh in between (default 3). */
  maxResubscriptions?: number;
  /** Seconds to wait after `probation` without retry-after (default 30). */
  probationDelay?: number;
  clock?: TimerClock;
  random?: (bytes: number) => Uint8Array;
  /** Where in-dialog requests go (default: no DNS, the next hop's host and port). */
  resolve?: (uri: Uri, dialog: Dialog | undefined) => Destination;
}

const SEP = '\u0000';
/** Longest duration or wait we put on a timer, in seconds (~24.8 days: Node's setTimeout limit). */
const MAX_SECONDS = Math.floor((2 ** 31 - 1) / 1000);
/** Longest retry-after we wait before a new subscription (a day). */
const MAX_RETRY_AFTER = 86_400;

/**
 * The subscriber: one per user agent, holding any number of subscriptions (bounded). Give it to
 * a DialogManager (`externalDialogs: client`) or call {@link handle} from the transaction
 * layer's `onRequest` (see `SubscriptionRouter`).
 *
 * @example
 * ```ts
 * const client = new SubscriptionClient({ layer, contact: '<sip:200@192.0.2.7:5060>', digest });
 * const manager = new DialogManager({ layer, contact, externalDialogs: client });
 * const blf = client.subscribe({
 *   target: 'sip:201@pbx.example.com', from: '<sip:200@pbx.example.com>',
 *   destination: { protocol: 'udp', address: '192.0.2.1', port: 5060 },
 *   event: 'dialog', accept: ['application/dialog-info+xml'],
 * });
 * blf.on('notify', (n) => lamp(n.body.toString().includes('confirmed')));
 * ```
 */
export class SubscriptionClient implements SubscriptionRequestHandler {
  readonly layer: TransactionLayer;
  readonly clock: TimerClock;
  readonly maxSubscriptions: number;
  private readonly contact: NameAddr;
  private readonly sentBy: string;
  private readonly digest: DigestClient | undefined;
  private readonly random: (bytes: number) => Uint8Array;
  private readonly resolve: ((uri: Uri, dialog: Dialog | undefined) => Destination) | undefined;
  private readonly resubscribe: boolean;
  private readonly maxResubscriptions: number;
  private readonly probationDelay: number;
  /** Keyed by Call-ID and our tag: a subscription is found from a NOTIFY before its dialog exists. */
  private readonly table = new Map<string, ClientSubscription>();

  constructor(options: SubscriptionClientOptions) {
    this.layer = options.layer;
    this.clock = options.clock ?? options.layer.clock;
    this.maxSubscriptions = options.maxSubscriptions ?? 1000;
    if (!Number.isInteger(this.maxSubscriptions) || this.maxSubscriptions < 1) throw new RangeError('maxSubscriptions must be a positive integer');
    this.contact = toContact(options.contact);
    this.sentBy = sentByOf(this.contact, options.sentBy);
    this.digest = options.digest;
    this.random = options.random ?? defaultRandom;
    this.resolve = options.resolve;
    this.resubscribe = options.resubscribe ?? true;
    this.maxResubscriptions = options.maxResubscriptions ?? 3;
    this.probationDelay = options.probationDelay ?? 30;
  }

  /** Number of subscriptions held. */
  get size(): number {
    return this.table.size;
  }

  /** The subscriptions held. */
  subscriptions(): IterableIterator<ClientSubscription> {
    return this.table.values();
  }

  /** 64*T1: how long a transaction may take, and how long a NOTIFY may keep us waiting (§4.1.2.4). */
  private get transactionTime(): number {
    return 64 * this.layer.timers.T1;
  }

  /**
   * Starts a subscription: sends the SUBSCRIBE at once. Throws {@link SubscriptionError} when
   * `maxSubscriptions` are held, `SipParseError` for a target or address that does not parse.
   */
  subscribe(options: SubscribeOptions): ClientSubscription {
    if (this.table.size >= this.maxSubscriptions) throw new SubscriptionError(`Already ${this.table.size} subscriptions (maxSubscriptions)`);
    const event = options.event.trim().toLowerCase();
    if (event === '') throw new SubscriptionError('A subscription needs an event package');
    if (options.expires !== undefined && !(Number.isInteger(options.expires) && options.expires >= 0 && options.expires <= MAX_SECONDS)) {
      throw new SubscriptionError(`expires must be an integer from 0 to ${MAX_SECONDS}`);
    }
    // Parse now: errors belong to the caller, not to a timer later.
    if (typeof options.target === 'string') parseUri(options.target);
    if (typeof options.from === 'string') void parseNameAddr(options.from).uri;
    if (typeof options.to === 'string') void parseNameAddr(options.to).uri;
    const sub = new ClientSubscription(this, options, event);
    this.start(sub);
    return sub;
  }

  /**
   * Takes a NOTIFY (or any in-dialog request) for one of our subscriptions and answers it;
   * returns false for requests that concern none of them.
   */
  handle(tx: ServerTransaction): boolean {
    const req = tx.request;
    const id = dialogIdOfIncoming(req);
    if (id === undefined) return false;
    const sub = this.table.get(id.callId + SEP + id.localTag);
    if (sub === undefined) return false;
    if (sub.dialog !== undefined && (sub.dialog.id.remoteTag !== id.remoteTag || sub.dialog.state === 'terminated')) {
      // A NOTIFY from a second fork (§4.1.2.4: we keep only the first dialog), or one after the
      // final NOTIFY while a new subscription waits for its retry-after.
      reply(tx, 481, this.random, undefined, 'Subscription Does Not Exist');
      return true;
    }
    if (req.method !== 'NOTIFY') {
      reply(tx, 405, this.random, [['Allow', 'NOTIFY']]);
      return true;
    }
    try {
      this.receiveNotify(sub, tx);
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
      reply(tx, 400, this.random, undefined, e.message);
    }
    return true;
  }

  /** Ends a subscription: see {@link ClientSubscription.unsubscribe}. */
  unsubscribe(sub: ClientSubscription): void {
    if (sub.state === 'terminated' || sub.unsubscribing) return;
    sub.unsubscribing = true;
    this.clear(sub, 'refresh');
    if (sub.timers.has('retry')) {
      this.end(sub, { reason: 'unsubscribed' }); // nothing on the wire between two subscriptions
      return;
    }
    // Without a dialog yet, the Expires: 0 goes out once the 2xx or the first NOTIFY makes one.
    if (sub.dialog !== undefined) this.sendUnsubscribe(sub);
  }

  /** Forgets every subscription without sending anything and stops every timer (shutdown). */
  close(): void {
    for (const sub of [...this.table.values()]) this.end(sub, { reason: 'closed' });
  }

  // ------------------------------------------------------------------ timers

  private set(sub: ClientSubscription, name: 'refresh' | 'expiry' | 'notify' | 'unsubscribe' | 'retry', ms: number, fn: () => void): void {
    this.clear(sub, name);
    sub.timers.set(
      name,
      this.clock.setTimer(() => {
        sub.timers.delete(name);
        fn();
      }, ms),
    );
  }

  private clear(sub: ClientSubscription, name: 'refresh' | 'expiry' | 'notify' | 'unsubscribe' | 'retry'): void {
    const h = sub.timers.get(name);
    if (h !== undefined) this.clock.clearTimer(h);
    sub.timers.delete(name);
    if (name === 'refresh') sub.refreshAt = undefined;
  }

  /**
   * The subscription now lasts `seconds` more: it expires then, and is refreshed
   * min(64*T1, half the duration) before (a refresh that takes a whole transaction still lands
   * in time; a short subscription is refreshed half-way).
   */
  private granted(sub: ClientSubscription, seconds: number): void {
    // §4.1.2.1: a notifier may shorten the duration, never lengthen it (this also keeps a
    // peer's huge value out of the timers).
    if (sub.expires > 0) seconds = Math.min(seconds, sub.expires);
    const ms = seconds * 1000;
    sub.expiresAt = this.clock.now() + ms;
    this.set(sub, 'expiry', ms, () => this.end(sub, { reason: 'expired' }));
    if (sub.unsubscribing || seconds === 0) {
      this.clear(sub, 'refresh');
      return;
    }
    const delay = ms - Math.min(this.transactionTime, ms / 2);
    this.set(sub, 'refresh', delay, () => {
      sub.refreshAt = undefined;
      this.sendInDialog(sub, 'refresh', sub.expires);
    });
    sub.refreshAt = this.clock.now() + delay;
  }

  // ------------------------------------------------------------------ SUBSCRIBE

  /** A new subscription (new Call-ID, new tag, new dialog) for `sub`. */
  private start(sub: ClientSubscription): void {
    if (sub.key !== '') this.table.delete(sub.key);
    sub.callId = hexOf(this.random, 12);
    sub.localTag = hexOf(this.random, 6);
    sub.key = sub.callId + SEP + sub.localTag;
    sub.dialog = undefined;
    sub.state = 'subscribing';
    // A fetch (Expires: 0, §4.4.3) is its own unsubscription: its one NOTIFY ends it.
    if (sub.expires === 0) sub.unsubscribing = sub.unsubscribeSent = true;
    this.table.set(sub.key, sub);
    const o = sub.options;
    const target = typeof o.target === 'string' ? parseUri(o.target) : o.target;
    const req = new SipRequest('SUBSCRIBE', target);
    req.append('Via', viaFor(this.sentBy, o.destination.protocol));
    req.append('Max-Forwards', '70');
    const from = toContact(o.from).clone();
    from.tag = sub.localTag;
    req.append('From', from.toString());
    req.append('To', o.to === undefined ? `<${target.toString()}>` : toContact(o.to).toString());
    req.append('Call-ID', sub.callId);
    req.append('CSeq', '1 SUBSCRIBE');
    req.append('Contact', this.contact.toString());
    req.append('Event', this.eventValue(sub));
    req.append('Expires', String(sub.expires));
    if (o.accept !== undefined && o.accept.length > 0) req.append('Accept', o.accept.join(', '));
    if (o.headers !== undefined) for (const [n, v] of o.headers) req.append(n, v);
    this.send(sub, req, o.destination, 'initial', false, false);
  }

  private eventValue(sub: ClientSubscription): string {
    return sub.options.eventId === undefined ? sub.event : `${sub.event};id=${sub.options.eventId}`;
  }

  /** A refresh or an unsubscription inside the dialog (§4.1.2.2, §4.1.2.3). */
  private sendInDialog(sub: ClientSubscription, kind: 'refresh' | 'unsubscribe', expires: number): void {
    const dialog = sub.dialog;
    if (dialog === undefined || dialog.state === 'terminated') return;
    const destination = destinationOf(dialog, this.resolve);
    if (destination === undefined) {
      this.end(sub, { reason: 'transport-error' });
      return;
    }
    const headers: [string, string][] = [
      ['Event', this.eventValue(sub)],
      ['Expires', String(expires)],
    ];
    if (sub.options.accept !== undefined && sub.options.accept.length > 0) headers.push(['Accept', sub.options.accept.join(', ')]);
    const req = dialog.createRequest('SUBSCRIBE', { via: viaFor(this.sentBy, destination.protocol), headers });
    if (this.digest !== undefined) for (const [n, v] of this.digest.authorizeRequest(req)) req.append(n, v);
    this.send(sub, req, destination, kind, false, false);
  }

  private sendUnsubscribe(sub: ClientSubscription): void {
    sub.unsubscribeSent = true;
    this.sendInDialog(sub, 'unsubscribe', 0);
    // The final NOTIFY should follow (§4.1.2.3); without one in 64*T1 we are done anyway.
    this.set(sub, 'unsubscribe', this.transactionTime, () => this.end(sub, { reason: 'unsubscribed' }));
  }

  private send(sub: ClientSubscription, req: SipRequest, destination: Destination, kind: SubscribeKind, authTried: boolean, briefTried: boolean): void {
    const key = sub.key;
    sub.request = req;
    const current = (): boolean => sub.key === key && sub.state !== 'terminated';
    try {
      this.layer.sendRequest(req, destination, {
        onFinal: (res) => {
          if (current()) this.receiveResponse(sub, req, res, destination, kind, authTried, briefTried);
        },
        onTimeout: () => {
          if (current()) this.failed(sub, kind, { reason: 'request-timeout' });
        },
        onTransportError: () => {
          if (current()) this.failed(sub, kind, { reason: 'transport-error' });
        },
      });
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      this.failed(sub, kind, { reason: 'transport-error' });
    }
  }

  /** A SUBSCRIBE got no 2xx. Only a failed initial SUBSCRIBE or unsubscription ends the subscription; a refresh ends it on 481 (§4.1.2.2). */
  private failed(sub: ClientSubscription, kind: SubscribeKind, t: SubscriptionTerminated): void {
    if (kind === 'unsubscribe') this.end(sub, { reason: 'unsubscribed' });
    else if (kind === 'initial') this.end(sub, t);
    else if (t.response?.status === 481) this.end(sub, { ...t, reason: 'gone' });
    // Another refresh failure: the subscription lasts until it expires (§4.1.2.2).
  }

  private receiveResponse(
    sub: ClientSubscription,
    req: SipRequest,
    res: SipResponse,
    destination: Destination,
    kind: SubscribeKind,
    authTried: boolean,
    briefTried: boolean,
  ): void {
    const status = res.status;
    if (status >= 200 && status < 300) return this.accepted(sub, req, res, kind);
    try {
      if ((status === 401 || status === 407) && !authTried && this.digest !== undefined) {
        const creds = this.digest.authorize(res, req);
        if (creds !== undefined) return this.retry(sub, retryWithCredentials(req, creds, { random: this.random }), destination, kind, true, briefTried);
      }
      if (status === 423 && !briefTried && kind !== 'unsubscribe') {
        const min = res.minExpires;
        if (min !== undefined && min > sub.expires) {
          // §4.1.2.1: retry with at least the Min-Expires; later refreshes ask for it too.
          sub.expires = min;
          const again = retryWithCredentials(req, [], { random: this.random });
          again.set('Expires', String(min));
          return this.retry(sub, again, destination, kind, authTried, true);
        }
      }
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e; // an unreadable challenge or Min-Expires: a plain failure
    }
    this.failed(sub, kind, { reason: status === 489 ? 'bad-event' : 'rejected', response: res });
  }

  private retry(sub: ClientSubscription, again: SipRequest, destination: Destination, kind: SubscribeKind, authTried: boolean, briefTried: boolean): void {
    // The retry carries CSeq + 1: the dialog's local sequence follows it (RFC 3261 §12.2.1.1).
    if (sub.dialog !== undefined && kind !== 'initial') sub.dialog.localSeq = again.cseq.seq;
    this.send(sub, again, destination, kind, authTried, briefTried);
  }

  private accepted(sub: ClientSubscription, req: SipRequest, res: SipResponse, kind: SubscribeKind): void {
    if (kind === 'unsubscribe') return; // the final NOTIFY ends it
    let toTag: string | undefined;
    let expires: number;
    try {
      toTag = res.to.tag;
      expires = res.expires ?? Number(req.get('Expires') ?? sub.expires);
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
      return; // an unreadable 2xx: the NOTIFY (or its absence) decides
    }
    if (kind === 'initial') {
      if (toTag === undefined) return;
      if (sub.dialog === undefined) {
        try {
          sub.dialog = Dialog.fromUacResponse(req, res, this.contact); // §4.1.2.1
        } catch (e) {
          if (!(e instanceof SipParseError)) throw e;
          return;
        }
      } else if (sub.dialog.id.remoteTag !== toTag) return; // the 2xx of another fork
      else sub.dialog.receiveResponse(req, res);
      if (sub.state === 'subscribing') {
        sub.state = 'accepted';
        // §4.1.2.4: a NOTIFY must follow; without one in 64*T1 the subscription failed.
        this.set(sub, 'notify', this.transactionTime, () => this.end(sub, { reason: 'no-notify' }));
      }
    } else {
      sub.dialog?.receiveResponse(req, res);
      sub.retriesInARow = 0; // it lived to be refreshed: a later deactivation starts a new count
    }
    sub.emit('accepted', { expires, response: res });
    if (sub.state === 'terminated') return;
    if (sub.unsubscribing) {
      if (!sub.unsubscribeSent) this.sendUnsubscribe(sub);
      return;
    }
    this.granted(sub, expires);
  }

  // ------------------------------------------------------------------ NOTIFY (§4.1.3)

  private receiveNotify(sub: ClientSubscription, tx: ServerTransaction): void {
    const req = tx.request;
    const ev = eventOf(req);
    if (ev === undefined) {
      reply(tx, 400, this.random, undefined, 'Missing Event header');
      return;
    }
    if (ev.type !== sub.event || ev.id !== sub.options.eventId) {
      reply(tx, 481, this.random, undefined, 'Subscription Does Not Exist');
      return;
    }
    const st = req.subscriptionState;
    if (st === undefined) {
      reply(tx, 400, this.random, undefined, 'Missing Subscription-State header');
      return;
    }
    let contentType: string | undefined;
    if (req.has('Content-Type')) contentType = req.get('Content-Type')?.trim();
    if (sub.dialog === undefined) {
      // §4.1.2.4: the NOTIFY came before the 2xx and creates the dialog (as its UAS would: the
      // NOTIFY's Record-Route in order, its Contact as remote target).
      const request = sub.request!;
      const from = req.from;
      void req.recordRoutes;
      void req.contacts;
      sub.dialog = new Dialog({
        id: { callId: sub.callId, localTag: sub.localTag, remoteTag: from.tag! },
        role: 'uac',
        state: 'confirmed',
        localUri: request.from,
        remoteUri: from,
        localSeq: request.cseq.seq,
        remoteSeq: undefined,
        routeSet: req.recordRoutes.map((r) => r.clone()),
        remoteTarget: req.contacts[0]?.uri ?? from.uri,
        secure: request.uri.kind === 'sip' && request.uri.scheme === 'sips',
        localContact: this.contact,
      });
    }
    const dialog = sub.dialog;
    if (dialog.receiveRequest(req) === 'out-of-order') {
      reply(tx, 500, this.random, undefined, 'CSeq Out of Order');
      return;
    }
    dialog.refreshTarget(req); // NOTIFY is a target refresh request (§4.1.3)
    reply(tx, 200, this.random);
    this.clear(sub, 'notify');
    const reason = st.reason?.toLowerCase();
    const notify: NotifyEvent = { state: st.state, reason, expires: st.expires, retryAfter: st.retryAfter, contentType, body: req.body, request: req };
    if (st.state !== 'terminated') {
      if (sub.state === 'subscribing' || sub.state === 'accepted' || sub.state === 'pending' || sub.state === 'active') {
        sub.state = st.state === 'pending' ? 'pending' : 'active';
      }
      // §4.1.3: an `expires` shorter than ours moves the expiry (and the refresh) earlier.
      if (st.expires !== undefined && !sub.unsubscribing && this.clock.now() + st.expires * 1000 < sub.expiresAt) this.granted(sub, st.expires);
      else if (sub.expiresAt === 0 && st.expires !== undefined) this.granted(sub, st.expires); // no 2xx yet
      sub.emit('notify', notify);
      if (sub.unsubscribing && !sub.unsubscribeSent && sub.state !== 'terminated') this.sendUnsubscribe(sub);
      return;
    }
    dialog.state = 'terminated';
    sub.emit('notify', notify);
    if (sub.state === 'terminated') return;
    this.notifierEnded(sub, reason, st.retryAfter);
  }

  /** The notifier ended the subscription (§4.1.3): start a new one when the reason calls for it. */
  private notifierEnded(sub: ClientSubscription, reason: string | undefined, retryAfter: number | undefined): void {
    if (sub.unsubscribing) {
      this.end(sub, { reason: 'unsubscribed' });
      return;
    }
    let delay: number | undefined;
    if (reason === 'deactivated' || reason === 'timeout') delay = 0; // retry at once (timeout: MAY)
    else if (reason === 'probation') delay = Math.min(retryAfter ?? this.probationDelay, MAX_RETRY_AFTER);
    else if (reason === 'giveup' && retryAfter !== undefined) delay = Math.min(retryAfter, MAX_RETRY_AFTER);
    const ended: SubscriptionTerminated = { reason: 'notifier', ...(reason === undefined ? {} : { notifierReason: reason }), ...(retryAfter === undefined ? {} : { retryAfter }) };
    if (delay === undefined || !this.resubscribe || sub.retriesInARow >= this.maxResubscriptions) {
      this.end(sub, ended);
      return;
    }
    for (const name of [...sub.timers.keys()]) this.clear(sub, name);
    sub.retriesInARow++;
    sub.resubscriptions++;
    sub.state = 'subscribing';
    sub.expiresAt = 0;
    if (delay === 0) this.start(sub);
    else this.set(sub, 'retry', delay * 1000, () => this.start(sub));
  }

  /** The subscription is over: timers stopped, out of the table, `terminated` emitted once. */
  private end(sub: ClientSubscription, t: SubscriptionTerminated): void {
    if (sub.state === 'terminated') return;
    sub.state = 'terminated';
    for (const name of [...sub.timers.keys()]) this.clear(sub, name);
    sub.refreshAt = undefined;
    if (sub.dialog !== undefined) sub.dialog.state = 'terminated';
    if (this.table.get(sub.key) === sub) this.table.delete(sub.key);
    sub.emit('terminated', t);
  }
}
