/**
 * The notifier side of SIP-specific event notification (RFC 6665 §4.2): accepts SUBSCRIBE for
 * the event packages it serves, keeps a bounded table of subscriptions (each its own dialog),
 * sends NOTIFY with the resource state, and ends subscriptions on expiry, on unsubscription
 * and when the subscriber is gone.
 *
 * ```
 *  SUBSCRIBE (no To tag)                                         SUBSCRIBE (in dialog)
 *     | 400 no Event / 489 unknown package + Allow-Events           | 481 unknown, 500 CSeq order
 *     | 423 + Min-Expires below min; Expires clamped to max         | 423 below min
 *     | 503 + Retry-After (or 480) when the table is full           | Expires: 0 -> 200, final NOTIFY
 *     | authorize(): reject -> 403                                  |   terminated;reason=timeout
 *     v                                                             v else 200, NOTIFY (refresh, §4.2.1.2)
 *   200 + Expires, dialog ----> NOTIFY active|pending;expires=N (§4.2.1.2) ----+
 *                                                                              |
 *   notify(sub) / activate(sub) ----------> NOTIFY active;expires=N           |
 *   expiry ---------------------------------> NOTIFY terminated;reason=timeout (§4.2.2)
 *   terminate(sub, reason) -----------------> NOTIFY terminated;reason=…
 *   NOTIFY answered 481, other non-2xx, timeout -> subscription removed (§4.2.2)
 * ```
 *
 * One NOTIFY is outstanding per subscription at a time; state changes that happen meanwhile
 * are coalesced into one NOTIFY with the latest state, sent when the previous one is answered
 * (a final NOTIFY is never dropped).
 */
import {
  SipParseError,
  createResponse,
  type NameAddr,
  type SipRequest,
  type SipResponse,
  type Uri,
} from '../message/index.js';
import { Dialog, dialogIdOfIncoming, dialogKey } from '../dialog/index.js';
import { toContact } from '../dialog/dialog.js';
import type { TimerClock, TimerHandle } from '../timer-clock.js';
import type { ServerTransaction, TransactionLayer } from '../transaction/index.js';
import type { Destination, InboundMessage } from '../transport/index.js';
import {
  defaultRandom,
  destinationOf,
  eventOf,
  formatSubscriptionState,
  initialSeqOf,
  reply,
  sentByOf,
  viaFor,
  type SubscriptionRequestHandler,
  type SubscriptionStateValue,
} from './subscription-dialog.js';

/**
 * An event package the notifier serves (RFC 6665 §7): `dialog` (RFC 4235), `message-summary`
 * (RFC 3842), `presence`…
 *
 * @example
 * ```ts
 * const mwi: EventPackage = {
 *   contentType: 'application/simple-message-summary',
 *   state: (sub) => `Messages-Waiting: ${store.count(sub.resource) > 0 ? 'yes' : 'no'}\r\n`,
 * };
 * ```
 */
export interface EventPackage {
  /** The Content-Type of its NOTIFY bodies. */
  contentType: string;
  /** Expires for a SUBSCRIBE without one (the package's default, §7.2; default 3600 s). */
  defaultExpires?: number;
  /** The current state of the subscribed resource: the body of a NOTIFY (undefined: no body). */
  state(subscription: NotifierSubscription): string | Uint8Array | undefined;
}

/**
 * What {@link NotifierOptions.authorize} decides (§4.2.1.1): `accept` (active at once),
 * `pending` (200 and a NOTIFY `pending`, until {@link Notifier.activate} or
 * {@link Notifier.terminate}), `reject` (403).
 *
 * @example
 * ```ts
 * const authorize = (req: SipRequest): SubscriptionAuthorization => (allowed(req.from.uri) ? 'accept' : 'reject');
 * ```
 */
export type SubscriptionAuthorization = 'accept' | 'pending' | 'reject';

/**
 * Why a subscription left the notifier's table.
 *
 * - `expired`: not refreshed in time (a final NOTIFY `terminated;reason=timeout` was sent);
 * - `unsubscribed`: the subscriber sent Expires: 0 (final NOTIFY sent);
 * - `terminated`: {@link Notifier.terminate} (final NOTIFY sent with its reason);
 * - `notify-failed`: a NOTIFY got 481 or another error response, or timed out (§4.2.2);
 * - `unroutable`: no destination for the subscriber's Contact;
 * - `closed`: {@link Notifier.close}.
 *
 * @example
 * ```ts
 * events.onTerminated = (sub, reason: NotifierTerminationReason) => blf.unwatch(sub.resource, reason);
 * ```
 */
export type NotifierTerminationReason = 'expired' | 'unsubscribed' | 'terminated' | 'notify-failed' | 'unroutable' | 'closed';

/**
 * What the notifier tells its user.
 *
 * @example
 * ```ts
 * const events: NotifierEvents = { onSubscribed: (sub) => console.log('watching', String(sub.resource)) };
 * ```
 */
export interface NotifierEvents {
  /** A new subscription was accepted (active or pending); its first NOTIFY is on its way. */
  onSubscribed?(subscription: NotifierSubscription): void;
  /** The subscriber refreshed (the expiry moved). */
  onRefreshed?(subscription: NotifierSubscription): void;
  /** The subscription left the table. */
  onTerminated?(subscription: NotifierSubscription, reason: NotifierTerminationReason): void;
  /**
   * A NOTIFY's transaction ended: its final response, or undefined after a timeout or a
   * transport error. Called once any queued NOTIFY has left, so `subscription.notifying` tells
   * whether another one is outstanding (a shutdown waits for the final NOTIFYs this way).
   */
  onNotifyAnswered?(subscription: NotifierSubscription, response: SipResponse | undefined): void;
}

/**
 * Options of {@link Notifier}.
 *
 * @example
 * ```ts
 * const options: NotifierOptions = {
 *   layer, contact: '<sip:pbx@192.0.2.1:5060>',
 *   packages: { dialog: { contentType: 'application/dialog-info+xml', state: (s) => dialogInfo(s) } },
 *   minExpires: 60, maxExpires: 3600, maxSubscriptions: 5000,
 * };
 * ```
 */
export interface NotifierOptions {
  /** The transaction layer NOTIFYs go out through. */
  layer: TransactionLayer;
  /** Our Contact (200 to SUBSCRIBE and every NOTIFY carry it: they are target refresh). */
  contact: NameAddr | string;
  /** Sent-by of our Vias (`host[:port]`); default: the Contact's host and port. */
  sentBy?: string;
  /** Event packages served, by name (`dialog`, `message-summary`…); matched case-insensitively. */
  packages: Record<string, EventPackage>;
  /** Who may subscribe (§4.2.1.1; called for new subscriptions only). Default: everyone, active at once. */
  authorize?(request: SipRequest, inbound: InboundMessage): SubscriptionAuthorization;
  /** Shortest subscription accepted (423 below it, §4.2.1.1). Default 60 s. */
  minExpires?: number;
  /** Longest subscription granted (longer requests are lowered). Default 3600 s. */
  maxExpires?: number;
  /** Most subscriptions held (default 10,000). */
  maxSubscriptions?: number;
  /** Answer to a new SUBSCRIBE when the table is full: 503 with Retry-After (default) or 480. */
  whenFull?: 503 | 480;
  /** Retry-After (seconds) of the 503 when full (default 5). */
  retryAfter?: number;
  /** Time for expiry timers (default: the layer's clock). */
  clock?: TimerClock;
  /** Randomness for To tags and CSeq starts (default `crypto.randomBytes`). */
  random?: (bytes: number) => Uint8Array;
  /** Where a request whose next hop is `uri` goes (default: no DNS, the URI's host and port). */
  resolve?: (uri: Uri, dialog: Dialog | undefined) => Destination;
  events?: NotifierEvents;
}

/** A state still to be sent in a NOTIFY. */
interface PendingNotify {
  state: SubscriptionStateValue;
  body: string | Uint8Array | undefined;
}

/**
 * One subscription held by the notifier.
 *
 * @example
 * ```ts
 * notifier.events.onSubscribed = (sub) => console.log(sub.event, String(sub.resource), sub.state, sub.expiresAt);
 * ```
 */
export class NotifierSubscription {
  /** `pending` until authorized, `active`, `terminated` once out of the table. */
  state: 'pending' | 'active' | 'terminated' = 'active';
  /** Clock time (ms) at which the subscription expires. */
  expiresAt = 0;
  /** @internal */ timer: TimerHandle | undefined;
  /** @internal A NOTIFY is outstanding. */ inFlight = false;
  /** @internal The state to send once the outstanding NOTIFY is answered. */ queued: PendingNotify | undefined;

  constructor(
    /** The subscription dialog (RFC 6665 §4.2.1.2: created by our 200). */
    readonly dialog: Dialog,
    /** The event package, lower case. */
    readonly event: string,
    /** The Event header's `id` parameter (§8.2.1), if any. */
    readonly eventId: string | undefined,
    /** The subscribed resource: the Request-URI of the initial SUBSCRIBE. */
    readonly resource: Uri,
    /** The subscriber: the From of the initial SUBSCRIBE. */
    readonly subscriber: NameAddr,
    /** The package serving it. */
    readonly eventPackage: EventPackage,
  ) {}

  /** Whether a NOTIFY of this subscription is waiting for its answer. */
  get notifying(): boolean {
    return this.inFlight;
  }

  /** {@link dialogKey} of the dialog: the key of the notifier's table. */
  get key(): string {
    return this.dialog.key;
  }
}

/**
 * The subscription server. Give it to a DialogManager (`externalDialogs: notifier`) or call
 * {@link handle} from the transaction layer's `onRequest` (see `SubscriptionRouter`).
 *
 * @example
 * ```ts
 * const notifier = new Notifier({
 *   layer, contact: '<sip:pbx@192.0.2.1:5060>',
 *   packages: { dialog: { contentType: 'application/dialog-info+xml', state: (sub) => blf.xml(sub.resource) } },
 *   authorize: (req) => (tenant.knows(req.from.uri) ? 'accept' : 'reject'),
 * });
 * const manager = new DialogManager({ layer, contact, externalDialogs: notifier });
 * // the watched extension starts ringing:
 * for (const sub of notifier.subscriptions()) if (sameUser(sub.resource, ext)) notifier.notify(sub);
 * ```
 */
export class Notifier implements SubscriptionRequestHandler {
  readonly layer: TransactionLayer;
  readonly clock: TimerClock;
  events: NotifierEvents;
  readonly minExpires: number;
  readonly maxExpires: number;
  readonly maxSubscriptions: number;
  private readonly contact: NameAddr;
  private readonly sentBy: string;
  private readonly random: (bytes: number) => Uint8Array;
  private readonly resolve: ((uri: Uri, dialog: Dialog | undefined) => Destination) | undefined;
  private readonly packages = new Map<string, EventPackage>();
  private readonly allowEvents: string;
  private readonly authorize: (request: SipRequest, inbound: InboundMessage) => SubscriptionAuthorization;
  private readonly whenFull: 503 | 480;
  private readonly retryAfter: number;
  private readonly table = new Map<string, NotifierSubscription>();
  private readonly initialSeq: () => number;

  constructor(options: NotifierOptions) {
    this.layer = options.layer;
    this.clock = options.clock ?? options.layer.clock;
    this.events = options.events ?? {};
    this.minExpires = options.minExpires ?? 60;
    this.maxExpires = options.maxExpires ?? 3600;
    this.maxSubscriptions = options.maxSubscriptions ?? 10_000;
    if (!Number.isInteger(this.maxSubscriptions) || this.maxSubscriptions < 1) throw new RangeError('maxSubscriptions must be a positive integer');
    // The expiry is a timer: keep it within Node's setTimeout range (~24.8 days).
    if (!(this.minExpires >= 1 && this.maxExpires >= this.minExpires && this.maxExpires * 1000 <= 2 ** 31 - 1)) {
      throw new RangeError('Need 1 <= minExpires <= maxExpires <= 2147483 (seconds)');
    }
    this.contact = toContact(options.contact);
    this.sentBy = sentByOf(this.contact, options.sentBy);
    this.random = options.random ?? defaultRandom;
    this.resolve = options.resolve;
    for (const [name, pkg] of Object.entries(options.packages)) this.packages.set(name.toLowerCase(), pkg);
    if (this.packages.size === 0) throw new RangeError('A notifier needs at least one event package');
    this.allowEvents = [...this.packages.keys()].join(', ');
    this.authorize = options.authorize ?? (() => 'accept');
    this.whenFull = options.whenFull ?? 503;
    this.retryAfter = options.retryAfter ?? 5;
    this.initialSeq = initialSeqOf(this.random);
  }

  /** Number of subscriptions held. */
  get size(): number {
    return this.table.size;
  }

  /** The subscriptions held. */
  subscriptions(): IterableIterator<NotifierSubscription> {
    return this.table.values();
  }

  /** The subscription whose dialog has this {@link dialogKey}, if held. */
  get(key: string): NotifierSubscription | undefined {
    return this.table.get(key);
  }

  /**
   * Takes a SUBSCRIBE outside any dialog (a new subscription) and any request inside one of
   * its subscription dialogs; returns false for everything else (the caller answers it: a
   * DialogManager with 481 for unknown dialogs).
   */
  handle(tx: ServerTransaction, inbound: InboundMessage): boolean {
    const req = tx.request;
    let toTag: string | undefined;
    try {
      toTag = req.to.tag;
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
      return false;
    }
    if (toTag === undefined) {
      if (req.method !== 'SUBSCRIBE') return false;
      this.guard(tx, () => this.newSubscription(tx, inbound));
      return true;
    }
    const id = dialogIdOfIncoming(req);
    const sub = id === undefined ? undefined : this.table.get(dialogKey(id));
    if (sub === undefined) return false;
    this.guard(tx, () => this.inDialog(sub, tx));
    return true;
  }

  /**
   * Sends a NOTIFY with the current state (§4.2.2): `body` or, when omitted, the package's
   * `state(subscription)`. Returns false when the subscription is no longer held. A pending
   * subscription gets `pending` and no body.
   */
  notify(subscription: NotifierSubscription, body?: string | Uint8Array): boolean {
    if (this.table.get(subscription.key) !== subscription) return false;
    if (subscription.state === 'pending') this.send(subscription, { state: { state: 'pending', expires: this.remaining(subscription) }, body: undefined });
    else this.send(subscription, { state: { state: 'active', expires: this.remaining(subscription) }, body: body ?? subscription.eventPackage.state(subscription) });
    return true;
  }

  /** A pending subscription is authorized now (§4.2.1.1): it becomes active and gets a NOTIFY with the state. */
  activate(subscription: NotifierSubscription): boolean {
    if (this.table.get(subscription.key) !== subscription) return false;
    subscription.state = 'active';
    return this.notify(subscription);
  }

  /**
   * Ends a subscription from our side with a final NOTIFY `terminated;reason=…` (§4.2.2):
   * `noresource` when the resource is gone, `rejected` when authorization is withdrawn,
   * `deactivated` or `probation` to have the subscriber come back (with `retryAfter`),
   * `giveup`, `invariant`. The body is sent when given.
   */
  terminate(subscription: NotifierSubscription, reason = 'noresource', options: { retryAfter?: number; body?: string | Uint8Array } = {}): boolean {
    if (this.table.get(subscription.key) !== subscription) return false;
    this.finish(subscription, 'terminated', { state: 'terminated', reason, ...(options.retryAfter === undefined ? {} : { retryAfter: options.retryAfter }) }, options.body);
    return true;
  }

  /** Forgets every subscription without sending anything and stops every timer (shutdown). */
  close(): void {
    for (const sub of [...this.table.values()]) this.remove(sub, 'closed');
  }

  // ------------------------------------------------------------------ incoming SUBSCRIBE

  /** A header read late turned out malformed: 400 with the reason (§8.2). */
  private guard(tx: ServerTransaction, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
      reply(tx, 400, this.random, undefined, e.message);
    }
  }

  /** The package of a SUBSCRIBE, or undefined after answering 400/489. */
  private packageOf(tx: ServerTransaction): { type: string; id: string | undefined; pkg: EventPackage } | undefined {
    const ev = eventOf(tx.request);
    if (ev === undefined) {
      reply(tx, 400, this.random, undefined, 'Missing Event header'); // §8.2.1: exactly one Event
      return undefined;
    }
    const pkg = this.packages.get(ev.type);
    if (pkg === undefined) {
      reply(tx, 489, this.random, [['Allow-Events', this.allowEvents]]); // §4.2.1.1, §8.3.1
      return undefined;
    }
    return { ...ev, pkg };
  }

  /** The Expires to grant, or undefined after answering 423 (§4.2.1.1). 0 stays 0. */
  private grant(tx: ServerTransaction, pkg: EventPackage): number | undefined {
    const asked = tx.request.expires ?? pkg.defaultExpires ?? 3600;
    if (asked === 0) return 0;
    if (asked < this.minExpires) {
      reply(tx, 423, this.random, [['Min-Expires', String(this.minExpires)]]);
      return undefined;
    }
    return Math.min(asked, this.maxExpires);
  }

  private accepts(request: SipRequest, contentType: string): boolean {
    const accept = request.list('Accept');
    if (accept.length === 0) return true;
    const [type = '', subtype = ''] = contentType.toLowerCase().split(';')[0]!.trim().split('/');
    return accept.some((a) => {
      const [t = '', s = ''] = a.toLowerCase().split(';')[0]!.trim().split('/');
      return (t === '*' || t === type) && (s === '*' || s === subtype);
    });
  }

  private newSubscription(tx: ServerTransaction, inbound: InboundMessage): void {
    const req = tx.request;
    const found = this.packageOf(tx);
    if (found === undefined) return;
    if (req.from.tag === undefined) {
      reply(tx, 400, this.random, undefined, 'Missing From tag');
      return;
    }
    if (!this.accepts(req, found.pkg.contentType)) {
      reply(tx, 406, this.random, [['Accept', found.pkg.contentType]]); // §4.2.1.1: no acceptable body format
      return;
    }
    const expires = this.grant(tx, found.pkg);
    if (expires === undefined) return;
    // Read now what the dialog is built from, so a malformed value gets its 400 before anything is created.
    void req.recordRoutes;
    void req.contacts;
    const resource = req.uri;
    if (expires > 0 && this.table.size >= this.maxSubscriptions) {
      if (this.whenFull === 503) reply(tx, 503, this.random, [['Retry-After', String(this.retryAfter)]]);
      else reply(tx, 480, this.random);
      return;
    }
    const decision = this.authorize(req, inbound);
    if (decision === 'reject') {
      reply(tx, 403, this.random); // §4.2.1.1
      return;
    }
    const ok = createResponse(req, 200, undefined, {
      random: this.random,
      headers: [
        ['Contact', this.contact.toString()],
        ['Expires', String(expires)],
      ],
    });
    const dialog = Dialog.fromUasResponse(req, ok, this.contact, resource.kind === 'sip' && resource.scheme === 'sips');
    const sub = new NotifierSubscription(dialog, found.type, found.id, resource, req.from.clone(), found.pkg);
    sub.state = decision === 'pending' ? 'pending' : 'active';
    tx.respond(ok);
    if (expires === 0) {
      // A fetch (§4.4.3): the state once, in a final NOTIFY; nothing is kept.
      sub.state = 'terminated';
      this.send(sub, { state: { state: 'terminated', reason: 'timeout' }, body: decision === 'pending' ? undefined : found.pkg.state(sub) });
      return;
    }
    this.table.set(sub.key, sub);
    this.schedule(sub, expires);
    this.events.onSubscribed?.(sub);
    this.notify(sub); // §4.2.1.2: an immediate NOTIFY
  }

  private inDialog(sub: NotifierSubscription, tx: ServerTransaction): void {
    const req = tx.request;
    if (req.method !== 'SUBSCRIBE') {
      reply(tx, 405, this.random, [['Allow', 'SUBSCRIBE']]);
      return;
    }
    if (sub.dialog.receiveRequest(req) === 'out-of-order') {
      reply(tx, 500, this.random, undefined, 'CSeq Out of Order'); // RFC 3261 §12.2.2
      return;
    }
    const ev = eventOf(req);
    if (ev === undefined || ev.type !== sub.event || ev.id !== sub.eventId) {
      reply(tx, 481, this.random, undefined, 'Subscription Does Not Exist'); // §4.2.1.2: another subscription
      return;
    }
    const expires = this.grant(tx, sub.eventPackage);
    if (expires === undefined) return;
    sub.dialog.refreshTarget(req); // SUBSCRIBE is a target refresh request (§4.1.2.2)
    reply(tx, 200, this.random, [
      ['Contact', this.contact.toString()],
      ['Expires', String(expires)],
    ]);
    if (expires === 0) {
      // Unsubscribe (§4.1.2.3): a final NOTIFY.
      this.finish(sub, 'unsubscribed', { state: 'terminated', reason: 'timeout' }, sub.state === 'active' ? sub.eventPackage.state(sub) : undefined);
      return;
    }
    this.schedule(sub, expires);
    this.events.onRefreshed?.(sub);
    this.notify(sub); // §4.2.1.2: a refresh gets the current state too
  }

  // ------------------------------------------------------------------ expiry, NOTIFY

  private remaining(sub: NotifierSubscription): number {
    return Math.max(0, Math.ceil((sub.expiresAt - this.clock.now()) / 1000));
  }

  private schedule(sub: NotifierSubscription, seconds: number): void {
    if (sub.timer !== undefined) this.clock.clearTimer(sub.timer);
    sub.expiresAt = this.clock.now() + seconds * 1000;
    sub.timer = this.clock.setTimer(() => {
      sub.timer = undefined;
      // Not refreshed in time (§4.2.2): the final NOTIFY says so.
      this.finish(sub, 'expired', { state: 'terminated', reason: 'timeout' }, undefined);
    }, seconds * 1000);
  }

  /** Removes `sub` and sends its final NOTIFY. */
  private finish(sub: NotifierSubscription, why: NotifierTerminationReason, state: SubscriptionStateValue, body: string | Uint8Array | undefined): void {
    if (!this.remove(sub, why)) return;
    this.send(sub, { state, body });
  }

  private remove(sub: NotifierSubscription, why: NotifierTerminationReason): boolean {
    if (this.table.get(sub.key) !== sub) return false;
    this.table.delete(sub.key);
    if (sub.timer !== undefined) this.clock.clearTimer(sub.timer);
    sub.timer = undefined;
    sub.state = 'terminated';
    this.events.onTerminated?.(sub, why);
    return true;
  }

  /** Sends a NOTIFY now, or queues it behind the outstanding one (the latest state wins; a final one is kept). */
  private send(sub: NotifierSubscription, next: PendingNotify): void {
    if (sub.inFlight) {
      if (sub.queued?.state.state !== 'terminated') sub.queued = next;
      return;
    }
    const destination = destinationOf(sub.dialog, this.resolve);
    if (destination === undefined) {
      this.remove(sub, 'unroutable');
      return;
    }
    const event = sub.eventId === undefined ? sub.event : `${sub.event};id=${sub.eventId}`;
    const headers: [string, string][] = [
      ['Event', event],
      ['Subscription-State', formatSubscriptionState(next.state)],
    ];
    if (next.body !== undefined) headers.push(['Content-Type', sub.eventPackage.contentType]);
    const notify = sub.dialog.createRequest(
      'NOTIFY',
      { via: viaFor(this.sentBy, destination.protocol), headers, ...(next.body === undefined ? {} : { body: next.body }) },
      this.initialSeq,
    );
    const final = next.state.state === 'terminated';
    if (final) sub.dialog.state = 'terminated'; // nothing more is sent in it (§4.4.1)
    sub.inFlight = true;
    const failed = (res: SipResponse | undefined): void => {
      sub.inFlight = false;
      sub.queued = undefined;
      this.remove(sub, 'notify-failed'); // §4.2.2: 481, an error or a timeout ends the subscription
      this.events.onNotifyAnswered?.(sub, res);
    };
    try {
      this.layer.sendRequest(notify, destination, {
        onFinal: (res: SipResponse) => {
          if (res.status >= 300) return failed(res);
          sub.inFlight = false;
          const queued = sub.queued;
          sub.queued = undefined;
          if (queued !== undefined) this.send(sub, queued.state.state === 'terminated' ? queued : this.refreshed(sub, queued));
          this.events.onNotifyAnswered?.(sub, res);
        },
        onTimeout: () => failed(undefined),
        onTransportError: () => failed(undefined),
      });
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      failed(undefined);
    }
  }

  /** A queued non-final state with its `expires` recomputed at the time it is sent. */
  private refreshed(sub: NotifierSubscription, queued: PendingNotify): PendingNotify {
    if (sub.state === 'terminated') return queued;
    return { state: { ...queued.state, expires: this.remaining(sub) }, body: queued.body };
  }
}
