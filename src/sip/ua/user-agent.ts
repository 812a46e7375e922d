/**
 * The `UserAgent`: a SIP phone in a Node process. It listens on the transports you configure
 * and offers what an application needs, built on the layers below:
 *
 * ```
 *   UserAgent ── register() ───────────── RegistrationClient (refresh before expiry, unregister on stop)
 *       │     ── invite() / 'invite' ──── OutgoingSession / IncomingSession (invite-session.ts)
 *       │                                   re-INVITE hold/unhold, BYE, REFER + NOTIFY (refer.ts)
 *       │     ── message() / 'message' ── MESSAGE (RFC 3428); OPTIONS answered by the endpoint (§11)
 *       │     ── subscribe() ─────────── SubscriptionClient (RFC 6665: refresh, NOTIFY, unsubscribe)
 *       │     ── 'subscribe' / notify() ─ Notifier (the `eventPackages` we serve; 489 for others)
 *   DialogManager (dialogs, ACK, PRACK, session timers, glare; subscription dialogs
 *                  go to a SubscriptionRouter through its `externalDialogs` hook)
 *   SipEndpoint   (request checks, OPTIONS, MESSAGE) ── TransactionLayer ── SipTransportSet
 * ```
 *
 * - **Digest**: 401/407 to our INVITE, REGISTER, MESSAGE, REFER (and other in-dialog
 *   requests) are answered once per challenge with `credentials` (RFC 3261 §22.2).
 * - **Outbound proxy**: with `outboundProxy`, every request we start goes there with a
 *   `Route: <proxy;lr>` (§8.1.2), and so do in-dialog requests.
 * - **Incoming calls** are the `invite` event; without a listener they get 480. An INVITE
 *   with `Replaces` (RFC 3891 §3) is matched to our sessions first: 481 when it names none
 *   (or an early dialog we did not start), 486 for `early-only` and a confirmed dialog;
 *   otherwise the event's session has `replaces` set and accepting it ends the replaced one.
 *   An early dialog of our own INVITE (call pickup) is matched with its tags in either order.
 * - **Subscriptions** (RFC 6665): `subscribe()` is a `ClientSubscription` (digest answered,
 *   refreshed before expiry); with `eventPackages`, SUBSCRIBE to us is accepted, `Allow`
 *   lists SUBSCRIBE and `Allow-Events` is advertised in OPTIONS and INVITE responses. NOTIFYs
 *   of a REFER arrive in the INVITE dialog and stay with the session (refer.ts); a NOTIFY
 *   matching no subscription gets 481.
 * - `stop()` unregisters, unsubscribes, ends every session (BYE, CANCEL or 480), sends the
 *   final NOTIFY of every subscription to us, and closes the sockets.
 *
 * @example
 * ```ts
 * const ua = await UserAgent.start({
 *   listen: [{ protocol: 'udp', address: '0.0.0.0', port: 5060 }],
 *   aor: 'sip:1001@pbx.example.com',
 *   credentials: { username: '1001', password: 'secret' },
 * });
 * await ua.register({ registrar: 'sip:pbx.example.com', expires: 600 });
 * ua.on('invite', (call) => { call.ringing(); void call.accept({ body: answerSdp }); });
 * const call = ua.invite('sip:1002@pbx.example.com', { body: offerSdp });
 * await call.answered;
 * await call.bye();
 * await ua.stop();
 * ```
 */
import { randomFillSync } from 'node:crypto';
import { DigestClient, type DigestCredentials } from '../auth/index.js';
import {
  NameAddr,
  SipParseError,
  parseUri,
  type HeaderValue,
  type SipRequest,
  type SipResponse,
  type SipUri,
  type Uri,
} from '../message/index.js';
import type { InviteServerTransaction, ServerTransaction, TransactionLayerOptions } from '../transaction/index.js';
import type { Destination, InboundMessage, ListenOptions, SipTransportSetOptions, TransportProtocol } from '../transport/index.js';
import { DialogManager, dialogIdOfIncoming, dialogKey, resolveUriDirectly, type Dialog, type InviteOptions, type SessionTimerConfig } from '../dialog/index.js';
import { RegistrationClient, type RegistrationResult } from './registration-client.js';
import type { RegisterHandler } from './registrar.js';
import { SipEndpoint, directDestination } from './sip-endpoint.js';
import { IncomingSession, OutgoingSession, type AnyInviteSession, type SessionBody, type SessionHost } from './invite-session.js';
import { TypedEmitter } from './typed-emitter.js';
import { SubscriptionClient, type ClientSubscription } from './subscription-client.js';
import { Notifier, type EventPackage, type NotifierOptions, type NotifierSubscription, type NotifierTerminationReason, type SubscriptionAuthorization } from './notifier.js';
import { SubscriptionRouter } from './subscription-router.js';

/**
 * Options of {@link UserAgent.start}.
 *
 * @example
 * ```ts
 * const options: UserAgentOptions = {
 *   listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }],
 *   aor: 'sip:alice@example.com',
 *   outboundProxy: 'sip:proxy.example.com:5060',
 * };
 * ```
 */
export interface UserAgentOptions {
  /** Where to listen (port 0: an ephemeral port, see {@link UserAgent.port}). */
  listen: ListenOptions[];
  /** Our address-of-record: From of our requests, user part of our Contact (default `sip:switchboard@<host>`). */
  aor?: string;
  /** Display name in From. */
  displayName?: string;
  /** For answering 401/407 (RFC 3261 §22). */
  credentials?: DigestCredentials | readonly DigestCredentials[];
  /** Send every request we start through this proxy (`Route: <uri;lr>`, §8.1.2). */
  outboundProxy?: string;
  /** User-Agent / Server header (default `Switchboard`). */
  userAgent?: string;
  /** Host for our Via, Contact and default identity (default: the first listener's address). */
  advertisedHost?: string;
  /** Session timers (RFC 4028), `false` to turn off (default: 1800 s, Min-SE 90). */
  sessionTimer?: Partial<SessionTimerConfig> | false;
  /** Most dialogs at once (default 10,000). */
  maxDialogs?: number;
  /** Content types accepted in MESSAGE (default `text/plain`). */
  messageContentTypes?: readonly string[];
  /** Act as a registrar too: REGISTER requests to us go to it (§10.3); absent: 405. */
  registrar?: RegisterHandler;
  /** How long stop() waits for the answers to its BYEs and un-REGISTER (default 2000 ms). */
  stopTimeoutMs?: number;
  /** Transport options (limits, TLS client, keep-alive). */
  transport?: Omit<SipTransportSetOptions, 'listen' | 'onMessage'>;
  /** Transaction layer options (clock, timers…) — tests pass a ManualClock here. */
  transaction?: Omit<TransactionLayerOptions, 'transport' | 'user'>;
  /** Randomness for tags, Call-IDs, branches (default: `crypto.randomFillSync` through a 4 KB pool). */
  random?: (bytes: number) => Uint8Array;
  /**
   * Event packages we serve as a notifier (RFC 6665), by name (`dialog`, `message-summary`…):
   * a SUBSCRIBE for one of them is accepted (the `subscribe` event), one for another package
   * gets 489 with `Allow-Events`. Absent: SUBSCRIBE gets 405.
   */
  eventPackages?: Record<string, EventPackage>;
  /**
   * Who may subscribe (§4.2.1.1), asked for each new subscription: `accept`, `pending` (until
   * `ua.notifier.activate(sub)`) or `reject` (403). Default: everyone, active at once.
   */
  authorizeSubscription?: (request: SipRequest, inbound: InboundMessage) => SubscriptionAuthorization;
  /** Notifier limits: `minExpires` (60 s), `maxExpires` (3600 s), `maxSubscriptions` (10,000), `whenFull` (503), `retryAfter` (5 s). */
  notifierLimits?: Pick<NotifierOptions, 'minExpires' | 'maxExpires' | 'maxSubscriptions' | 'whenFull' | 'retryAfter'>;
  /** Most subscriptions of ours at once (default 1,000): {@link UserAgent.subscribe} throws `SubscriptionError` beyond. */
  maxSubscriptions?: number;
}

/**
 * Options of {@link UserAgent.invite}.
 *
 * @example
 * ```ts
 * ua.invite('sip:bob@example.com', { body: offer, headers: [['Subject', 'lunch?']] });
 * ```
 */
export interface CallOptions {
  /** The offer. Without one the callee offers in its 2xx and `answerLateOffer` gives the answer for the ACK (RFC 3264 §5). */
  body?: string | Uint8Array;
  /** For an INVITE without a body: the answer to the offer in the 2xx, sent in the ACK. */
  answerLateOffer?: (offer: SessionBody) => string | Uint8Array;
  /** Default `application/sdp`. */
  contentType?: string;
  headers?: Iterable<[string, HeaderValue]>;
  /** Where to send it (default: the outbound proxy, or the target URI's host, port and transport). */
  destination?: Destination;
  /** Ask for reliable provisionals (`Require: 100rel`, RFC 3262). */
  require100rel?: boolean;
  /** Credentials for this call's challenges instead of the UA's (a PBX trunk's account). */
  credentials?: DigestCredentials | readonly DigestCredentials[];
  /** The From identity of this call (default: our address-of-record and display name) — a B2BUA presents its caller here. */
  from?: { uri: string; displayName?: string };
  /** The To of this call (default: the target URI without its parameters and headers). */
  to?: { uri: string; displayName?: string };
}

/**
 * Options of {@link UserAgent.subscribe}.
 *
 * @example
 * ```ts
 * const blf = ua.subscribe('sip:201@pbx.example.com', { event: 'dialog', accept: ['application/dialog-info+xml'], expires: 600 });
 * ```
 */
export interface SubscriptionOptions {
  /** The event package (`dialog`, `message-summary`, `presence`…). */
  event: string;
  /** Requested duration in seconds (default 3600; 0 fetches the state once, RFC 6665 §4.4.3). */
  expires?: number;
  /** Body formats we understand (`Accept`). */
  accept?: string[];
  /** The Event `id` parameter (§8.2.1). */
  eventId?: string;
  /** Extra headers of the initial SUBSCRIBE. */
  headers?: Iterable<[string, HeaderValue]>;
  /** Where to send it (default: the outbound proxy, or the target URI's host, port and transport). */
  destination?: Destination;
}

/**
 * Options of {@link UserAgent.register}.
 *
 * @example
 * ```ts
 * await ua.register({ registrar: 'sip:pbx.example.com', expires: 600 });
 * ```
 */
export interface RegisterOptions {
  /** The registrar's URI: Request-URI of the REGISTER, and where it goes unless `destination` or an outbound proxy says otherwise. */
  registrar: string;
  /** Expiry to ask for, in seconds (default 3600). */
  expires?: number;
  destination?: Destination;
}

/**
 * Events of a {@link UserAgent}.
 *
 * @example
 * ```ts
 * ua.on('message', (req) => console.log(req.from.uri.toString(), req.body.toString()));
 * ```
 */
export interface UserAgentEvents {
  [event: string]: unknown[];
  /** A new incoming call. */
  invite: [session: IncomingSession];
  /** A MESSAGE (RFC 3428) outside a dialog, answered 200 after the listeners. */
  message: [request: SipRequest];
  /** A REGISTER (first or refresh) succeeded. */
  registered: [expires: number];
  /** A REGISTER (first or refresh) failed. */
  'registration-failed': [status: number | undefined, reason: string];
  /** A new subscription to one of our `eventPackages` was accepted; its first NOTIFY is on its way. */
  subscribe: [subscription: NotifierSubscription];
  /** A subscription to us ended (expired, unsubscribed, terminated by us, NOTIFY failed…). */
  'subscription-terminated': [subscription: NotifierSubscription, reason: NotifierTerminationReason];
  /** Errors no caller awaits (a listener that threw, a socket error). */
  error: [error: unknown, context: string];
}

/**
 * A request ended without a final response, or a REGISTER failed.
 *
 * @example
 * ```ts
 * try { await ua.register({ registrar: 'sip:pbx' }); } catch (e) { if (e instanceof UserAgentError) console.log(e.status); }
 * ```
 */
export class UserAgentError extends Error {
  override readonly name = 'UserAgentError';
  constructor(
    message: string,
    readonly status?: number,
    readonly response?: SipResponse,
  ) {
    super(message);
  }
}

/**
 * Randomness for tags, Call-IDs, branches and CSeq starts, drawn from a 4 KB pool refilled
 * by `crypto.randomFillSync`: a call takes a dozen small random values, and one system call
 * per value (what `randomBytes` costs) was 7% of the time of a call in the benchmark.
 * Each value is a copy, so callers may keep it.
 */
function pooledRandom(): (bytes: number) => Uint8Array {
  const pool = new Uint8Array(4096);
  let offset = pool.length;
  return (bytes: number): Uint8Array => {
    if (bytes > pool.length) return randomFillSync(new Uint8Array(bytes));
    if (offset + bytes > pool.length) {
      randomFillSync(pool);
      offset = 0;
    }
    const out = pool.slice(offset, offset + bytes);
    offset += bytes;
    return out;
  };
}

/** Header components of a URI that must not become headers of a request (RFC 3261 §19.1.5). */
const UNSAFE_URI_HEADERS = new Set(['via', 'from', 'to', 'call-id', 'cseq', 'max-forwards', 'contact', 'record-route', 'route', 'content-length', 'body']);

/**
 * The user agent (see the file comment).
 *
 * @example
 * ```ts
 * const ua = await UserAgent.start({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }] });
 * console.log('listening on', ua.port);
 * await ua.stop();
 * ```
 */
export class UserAgent extends TypedEmitter<UserAgentEvents> {
  /** Transports, transactions, OPTIONS and MESSAGE. */
  readonly endpoint: SipEndpoint;
  /** The dialog layer. */
  readonly dialogs: DialogManager;
  /** Our address-of-record. */
  readonly aor: string;
  /** Our Contact. */
  readonly contact: NameAddr;
  /** Our subscriptions (RFC 6665 subscriber): {@link subscribe} starts them. */
  readonly subscriber: SubscriptionClient;
  /** The notifier serving `eventPackages` (undefined without them). */
  readonly notifier: Notifier | undefined;
  private readonly options: UserAgentOptions;
  private readonly protocol: TransportProtocol;
  private readonly proxy: { uri: SipUri; destination: Destination } | undefined;
  /** Sessions by the key of each dialog they hold (early forks included). */
  private readonly byDialog = new Map<string, AnyInviteSession>();
  /** Incoming INVITEs by transaction (for CANCEL); weak, so answered ones cost nothing. */
  private readonly pending = new WeakMap<InviteServerTransaction, IncomingSession>();
  /** Every session not terminated. */
  private readonly live = new Set<AnyInviteSession>();
  private readonly host: SessionHost;
  private registration: RegistrationClient | undefined;
  private stopped = false;
  private readonly subscriptionRouter: SubscriptionRouter;
  /** stop() waiting for the final NOTIFY of a subscription to us to be answered. */
  private readonly finalNotifies = new Map<NotifierSubscription, () => void>();

  private constructor(endpoint: SipEndpoint, options: UserAgentOptions) {
    super();
    this.endpoint = endpoint;
    this.options = options;
    this.aor = endpoint.identity;
    const first = endpoint.transports.endpoints()[0];
    this.protocol = first?.protocol ?? 'udp';
    const id = parseUri(this.aor);
    this.contact = endpoint.contact(this.protocol, id.kind === 'sip' ? id.user : undefined);
    if (options.outboundProxy !== undefined) {
      const p = parseUri(options.outboundProxy);
      if (p.kind !== 'sip') throw new TypeError('outboundProxy must be a sip or sips URI');
      this.proxy = { uri: p, destination: directDestination(p) };
    }
    const proxy = this.proxy;
    const resolve =
      proxy === undefined ? undefined : (uri: Uri, dialog: Dialog | undefined): Destination => (dialog !== undefined && dialog.routeSet.length > 0 ? resolveUriDirectly(uri) : proxy.destination);
    const common = {
      layer: endpoint.layer,
      contact: this.contact,
      sentBy: endpoint.sentBy(this.protocol),
      ...(options.random === undefined ? {} : { random: options.random }),
      ...(resolve === undefined ? {} : { resolve }),
    };
    this.subscriber = new SubscriptionClient({
      ...common,
      ...(endpoint.digest === undefined ? {} : { digest: endpoint.digest }),
      ...(options.maxSubscriptions === undefined ? {} : { maxSubscriptions: options.maxSubscriptions }),
    });
    // A package's state() is application code: an exception is reported like a listener's,
    // and the NOTIFY goes without a body instead of the notifier's work stopping half-way.
    const packages: Record<string, EventPackage> = {};
    for (const [name, pkg] of Object.entries(options.eventPackages ?? {})) {
      packages[name] = {
        ...pkg,
        state: (sub) => {
          try {
            return pkg.state(sub);
          } catch (e) {
            this.reportError(e, `${name} package state listener`);
            return undefined;
          }
        },
      };
    }
    const served = [...new Set(Object.keys(packages).map((name) => name.toLowerCase()))];
    this.notifier =
      served.length === 0
        ? undefined
        : new Notifier({
            ...common,
            ...options.notifierLimits,
            packages,
            ...(options.authorizeSubscription === undefined ? {} : { authorize: options.authorizeSubscription }),
            events: {
              onSubscribed: (sub) => this.emit('subscribe', sub),
              onTerminated: (sub, reason) => this.emit('subscription-terminated', sub, reason),
              onNotifyAnswered: (sub) => {
                if (!sub.notifying) this.finalNotifies.get(sub)?.();
              },
            },
          });
    this.subscriptionRouter = new SubscriptionRouter(this.notifier === undefined ? [this.subscriber] : [this.subscriber, this.notifier]);
    const subscribeMethods = this.notifier === undefined ? [] : ['SUBSCRIBE'];
    this.dialogs = new DialogManager({
      layer: endpoint.layer,
      contact: this.contact,
      sessionTimer: options.sessionTimer ?? {},
      ...(options.maxDialogs === undefined ? {} : { maxDialogs: options.maxDialogs }),
      ...(options.random === undefined ? {} : { random: options.random }),
      allow: ['INVITE', 'ACK', 'CANCEL', 'BYE', 'PRACK', 'UPDATE', 'OPTIONS', 'INFO', 'REFER', 'NOTIFY', 'MESSAGE', ...subscribeMethods],
      extensions: ['replaces'], // RFC 3891: checked in incomingInvite
      ...(resolve === undefined ? {} : { resolve }),
      // Requests in dialogs the manager does not hold (and new SUBSCRIBEs) go to the
      // subscriptions first; NOTIFYs of a REFER arrive in the INVITE dialog and reach the session.
      externalDialogs: { handle: (tx, inbound) => this.routeSubscription(tx, inbound) },
      events: {
        onIncomingRequest: (tx, inbound) => this.incoming(tx, inbound),
        onRequest: (dialog, tx) => {
          const s = this.byDialog.get(dialog.key);
          if (s === undefined) this.dialogs.respond(tx, 481);
          else s.receiveRequest(tx);
        },
        onAck: (dialog, ack) => this.byDialog.get(dialog.key)?.receiveAck(ack),
        onCancel: (tx) => {
          const s = this.pending.get(tx);
          this.pending.delete(tx);
          s?.receiveCancel();
        },
        onTerminated: (dialog, reason) => this.byDialog.get(dialog.key)?.dialogTerminated(dialog, reason),
        sessionRefreshBody: (dialog) => {
          const b = this.byDialog.get(dialog.key)?.localBody;
          return b === undefined ? undefined : { contentType: b.contentType, body: b.body };
        },
      },
    });
    // The DialogManager took layer.user; chain it behind the endpoint's request checks.
    endpoint.setFallback({ methods: ['INVITE', 'BYE', 'PRACK', 'UPDATE', 'INFO', 'REFER', 'NOTIFY', ...subscribeMethods], ...endpoint.layer.user });
    if (served.length > 0) {
      // RFC 6665 §4.4.4: advertise the packages we serve in what the endpoint (OPTIONS) and the
      // dialog layer (INVITE) answer; neither knows about event packages.
      const user = endpoint.layer.user;
      const allowEvents = served.join(', ');
      endpoint.layer.user = {
        ...user,
        onRequest: (tx, inbound) => {
          if (tx.request.method === 'OPTIONS' || tx.request.method === 'INVITE') advertiseEvents(tx, allowEvents);
          user.onRequest(tx, inbound);
        },
      };
    }
    const live = this.live;
    const byDialog = this.byDialog;
    this.host = {
      dialogs: this.dialogs,
      digest: endpoint.digest,
      identity: this.aor,
      bind: (dialog, session) => {
        byDialog.set(dialog.key, session);
      },
      unbind: (dialog, session) => {
        if (byDialog.get(dialog.key) === session) byDialog.delete(dialog.key);
      },
      release: (session) => {
        live.delete(session);
      },
      error: (e, context) => this.reportError(e, context),
    };
  }

  /**
   * Binds the listeners and returns a running user agent.
   *
   * @example
   * ```ts
   * const ua = await UserAgent.start({ listen: [{ protocol: 'tcp', address: '127.0.0.1', port: 5070 }], aor: 'sip:bob@127.0.0.1' });
   * ```
   */
  static async start(userOptions: UserAgentOptions): Promise<UserAgent> {
    const options: UserAgentOptions = { ...userOptions, random: userOptions.random ?? pooledRandom() };
    let ua: UserAgent | undefined;
    const endpoint = await SipEndpoint.listen({
      listen: options.listen,
      ...(options.transport === undefined ? {} : { transport: options.transport }),
      ...(options.transaction === undefined ? {} : { transaction: options.transaction }),
      ...(options.advertisedHost === undefined ? {} : { advertisedHost: options.advertisedHost }),
      ...(options.aor === undefined ? {} : { identity: options.aor }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      ...(options.random === undefined ? {} : { random: options.random }),
      ...(options.messageContentTypes === undefined ? {} : { messageContentTypes: options.messageContentTypes }),
      ...(options.registrar === undefined ? {} : { registrar: options.registrar }),
      userAgent: options.userAgent ?? 'Switchboard',
      supportedExtensions: ['100rel', 'timer', 'replaces'],
      onMessage: (req) => ua?.emit('message', req),
      onError: (e, context) => ua?.reportError(e, context),
    });
    ua = new UserAgent(endpoint, options);
    return ua;
  }

  /** The port of the first listener (useful with port 0). */
  get port(): number {
    return this.endpoint.transports.endpoints()[0]?.port ?? 0;
  }

  /** Sessions not ended yet. */
  get sessions(): ReadonlySet<AnyInviteSession> {
    return this.live;
  }

  /** The DigestClient answering challenges, when credentials were given. */
  get digest(): DigestClient | undefined {
    return this.endpoint.digest;
  }

  /** @internal */
  protected override onListenerError(error: unknown): void {
    this.reportError(error, 'listener');
  }

  /**
   * Errors go to the `error` event. Without a listener, an exception thrown by application
   * code (an event listener) is rethrown on a later tick — a bug should be seen — while
   * errors from the network side (a socket, a peer's message) are dropped.
   */
  private reportError(e: unknown, context: string): void {
    if (this.listenerCount('error') > 0) this.emit('error', e, context);
    else if (context.endsWith('listener'))
      queueMicrotask(() => {
        throw e;
      });
  }

  // ------------------------------------------------------------------ registration

  /**
   * Registers our Contact for our AOR (RFC 3261 §10.2) and keeps it refreshed before it
   * expires, until {@link unregister} or {@link stop}. Resolves on the 2xx with the expiry
   * granted; rejects with {@link UserAgentError} on failure (refreshes are still retried).
   * A second call replaces the first registration (its binding is removed first).
   *
   * @example
   * ```ts
   * const seconds = await ua.register({ registrar: 'sip:pbx.example.com', expires: 600 });
   * ```
   */
  async register(options: RegisterOptions): Promise<number> {
    await this.registration?.stop();
    const registrar = parseUri(options.registrar);
    if (registrar.kind !== 'sip') throw new TypeError('registrar must be a sip or sips URI');
    const protocol = this.protocolFor(registrar);
    const headers: [string, HeaderValue][] = [['User-Agent', this.options.userAgent ?? 'Switchboard']];
    if (this.proxy !== undefined) headers.push(['Route', this.routeToProxy()]);
    const destination = options.destination ?? this.proxy?.destination ?? { ...directDestination(registrar), protocol };
    const client = new RegistrationClient({
      layer: this.endpoint.layer,
      destination,
      registrar,
      aor: this.aor,
      contact: this.contact,
      sentBy: this.endpoint.sentBy(destination.protocol),
      ...(options.expires === undefined ? {} : { expires: options.expires }),
      ...(this.endpoint.digest === undefined ? {} : { credentials: this.endpoint.digest }),
      ...(this.options.random === undefined ? {} : { random: this.options.random }),
      headers,
      events: {
        onRegistered: ({ expires }) => this.emit('registered', expires),
        onFailed: ({ status, reason }) => this.emit('registration-failed', status, reason),
      },
    });
    this.registration = client;
    const result: RegistrationResult = await client.register();
    if (!result.ok) throw new UserAgentError(`REGISTER failed: ${result.status ?? ''} ${result.reason}`.replace('  ', ' '), result.status, result.response);
    return result.expires;
  }

  /** Removes our registration (Expires: 0) and stops refreshing it. */
  async unregister(): Promise<void> {
    const r = this.registration;
    this.registration = undefined;
    await r?.stop();
  }

  // ------------------------------------------------------------------ calls

  /**
   * Calls `target` (RFC 3261 §13.2.1). Header components of the URI (`?Replaces=…`, as in a
   * REFER's Refer-To) become headers of the INVITE (§19.1.5). Returns at once; follow the
   * session's events and `answered`.
   *
   * @example
   * ```ts
   * const call = ua.invite('sip:bob@192.0.2.4:5060', { body: offer });
   * call.on('progress', (res) => console.log(res.status));
   * await call.answered;
   * ```
   */
  invite(target: string, options: CallOptions = {}): OutgoingSession {
    if (this.stopped) throw new UserAgentError('the user agent is stopped');
    const { uri, headers } = targetOf(target, 'call');
    if (this.proxy !== undefined) headers.push(['Route', this.routeToProxy()]);
    headers.push(['User-Agent', this.options.userAgent ?? 'Switchboard']);
    if (options.body !== undefined) headers.push(['Content-Type', options.contentType ?? 'application/sdp']);
    if (options.headers !== undefined) headers.push(...options.headers);
    const to = options.to === undefined ? new NameAddr(stripForTo(uri)) : new NameAddr(options.to.uri, options.to.displayName);
    const destination = options.destination ?? this.proxy?.destination ?? { ...directDestination(uri), protocol: this.protocolFor(uri) };
    const invite: InviteOptions = {
      requestUri: uri,
      from: options.from === undefined ? new NameAddr(this.aor, this.options.displayName) : new NameAddr(options.from.uri, options.from.displayName),
      to,
      destination,
      headers,
      ...(options.body === undefined ? {} : { body: options.body }),
      ...(options.require100rel === undefined ? {} : { require100rel: options.require100rel }),
    };
    const session = new OutgoingSession(this.host, invite, options.answerLateOffer, options.credentials === undefined ? undefined : new DigestClient({ credentials: options.credentials, ...(this.options.random === undefined ? {} : { random: this.options.random }) }));
    if (session.state !== 'terminated') this.live.add(session);
    return session;
  }

  /**
   * Sends a MESSAGE (RFC 3428) and resolves with its final response (after one digest
   * challenge per realm); rejects with {@link UserAgentError} when none came.
   *
   * @example
   * ```ts
   * const res = await ua.message('sip:bob@192.0.2.4', 'are you there?');
   * ```
   */
  async message(target: string, body: string | Uint8Array, contentType = 'text/plain'): Promise<SipResponse> {
    const uri = parseUri(target);
    if (uri.kind !== 'sip') throw new TypeError(`cannot send to ${target}`);
    const destination = this.proxy?.destination ?? { ...directDestination(uri), protocol: this.protocolFor(uri) };
    const outcome = await this.endpoint.sendMessage(uri, body, contentType, {
      destination,
      from: this.aor,
      ...(this.proxy === undefined ? {} : { headers: [['Route', this.routeToProxy()]] }),
    });
    if (outcome.kind === 'response') return outcome.response;
    throw new UserAgentError(outcome.kind === 'timeout' ? 'MESSAGE timed out' : `MESSAGE could not be sent: ${outcome.error.message}`);
  }

  // ------------------------------------------------------------------ subscriptions

  /**
   * Subscribes to `event` at `target` (RFC 6665 §4.1): sends the SUBSCRIBE at once and returns
   * the subscription, which answers digest challenges with our credentials, refreshes itself
   * before it expires, and emits `accepted`, `notify` (every NOTIFY: `state`, `contentType`,
   * `body`) and `terminated`. Destination as for {@link invite}. Throws `SubscriptionError`
   * when `maxSubscriptions` are held. {@link stop} unsubscribes.
   *
   * @example
   * ```ts
   * const blf = ua.subscribe('sip:201@pbx.example.com', { event: 'dialog', accept: ['application/dialog-info+xml'] });
   * blf.on('notify', (n) => lamp(n.state, n.body.toString()));
   * blf.on('terminated', (t) => console.log('BLF over:', t.reason));
   * // later: blf.unsubscribe();
   * ```
   */
  subscribe(target: string, options: SubscriptionOptions): ClientSubscription {
    if (this.stopped) throw new UserAgentError('the user agent is stopped');
    const { uri, headers } = targetOf(target, 'subscribe to');
    if (this.proxy !== undefined) headers.push(['Route', this.routeToProxy()]);
    headers.push(['User-Agent', this.options.userAgent ?? 'Switchboard']);
    if (options.headers !== undefined) headers.push(...options.headers);
    const destination = options.destination ?? this.proxy?.destination ?? { ...directDestination(uri), protocol: this.protocolFor(uri) };
    return this.subscriber.subscribe({
      target: uri,
      from: new NameAddr(this.aor, this.options.displayName),
      to: new NameAddr(stripForTo(uri)),
      destination,
      event: options.event,
      headers,
      ...(options.expires === undefined ? {} : { expires: options.expires }),
      ...(options.accept === undefined ? {} : { accept: options.accept }),
      ...(options.eventId === undefined ? {} : { eventId: options.eventId }),
    });
  }

  /**
   * Sends a NOTIFY with the current state to a subscriber of ours (the `subscribe` event's
   * subscription): `body`, or the package's `state(subscription)` when omitted. Returns false
   * when the subscription has ended. Changes made while a NOTIFY is outstanding are coalesced.
   *
   * @example
   * ```ts
   * ua.on('subscribe', (sub) => watchers.add(sub));
   * // the watched extension rings:
   * for (const sub of watchers) ua.notify(sub); // the package renders the new state
   * ```
   */
  notify(subscription: NotifierSubscription, body?: string | Uint8Array): boolean {
    return this.notifier?.notify(subscription, body) ?? false;
  }

  /**
   * Unregisters, unsubscribes, ends every session (BYE when established, CANCEL or 480
   * before), ends every subscription to us (final NOTIFY `terminated;reason=probation`: come
   * back later), waits up to `stopTimeoutMs` for the answers, and closes every socket.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const waits: Promise<unknown>[] = [];
    if (this.registration !== undefined) waits.push(this.unregister());
    for (const sub of [...this.subscriber.subscriptions()]) {
      waits.push(new Promise<void>((resolve) => sub.on('terminated', () => resolve())));
      sub.unsubscribe();
    }
    const notifier = this.notifier;
    if (notifier !== undefined) {
      for (const sub of [...notifier.subscriptions()]) {
        if (!notifier.terminate(sub, 'probation') || !sub.notifying) continue;
        waits.push(new Promise<void>((resolve) => this.finalNotifies.set(sub, resolve)));
      }
    }
    for (const s of [...this.live]) waits.push(s.bye().catch(() => undefined));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(waits),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.options.stopTimeoutMs ?? 2000);
      }),
    ]);
    clearTimeout(timer);
    this.finalNotifies.clear();
    this.subscriber.close();
    this.notifier?.close();
    this.dialogs.close();
    await this.endpoint.close();
  }

  // ------------------------------------------------------------------ incoming

  /** The DialogManager's `externalDialogs`: our subscriptions and the notifier's; new SUBSCRIBEs get 503 once we are stopping. */
  private routeSubscription(tx: ServerTransaction, inbound: InboundMessage): boolean {
    if (this.stopped && tx.request.method === 'SUBSCRIBE' && this.notifier !== undefined && dialogIdOfIncoming(tx.request) === undefined) {
      this.dialogs.respond(tx, 503);
      return true;
    }
    return this.subscriptionRouter.handle(tx, inbound);
  }

  private incoming(tx: ServerTransaction, _inbound: InboundMessage): void {
    const req = tx.request;
    switch (req.method) {
      case 'INVITE':
        this.incomingInvite(tx as InviteServerTransaction);
        return;
      case 'NOTIFY':
        this.dialogs.respond(tx, 481); // no subscription outside a dialog (RFC 6665 §4.1.3)
        return;
      case 'REFER':
        this.dialogs.respond(tx, 403, { reason: 'REFER outside a session is not accepted' });
        return;
      default:
        this.dialogs.respond(tx, 501);
    }
  }

  private incomingInvite(tx: InviteServerTransaction): void {
    if (this.stopped) {
      this.dialogs.respond(tx, 503);
      return;
    }
    let replaced: AnyInviteSession | undefined;
    let replaces;
    try {
      replaces = tx.request.replaces;
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
      this.dialogs.respond(tx, 400, { reason: 'Invalid Replaces' });
      return;
    }
    if (replaces !== undefined) {
      // RFC 3891 §3: to-tag is our local tag, from-tag the remote one.
      let key = dialogKey({ callId: replaces.callId, localTag: replaces.toTag, remoteTag: replaces.fromTag });
      if (this.byDialog.get(key) === undefined) {
        // Call pickup (§3: an early dialog we initiated may be replaced): phones build the
        // Replaces from an RFC 4235 dialog-info of the ringing phone, and some put its tags
        // the wrong way round. Only an early dialog of our own INVITE is matched that way,
        // where no other dialog can have the swapped pair (both tags are random).
        const swapped = dialogKey({ callId: replaces.callId, localTag: replaces.fromTag, remoteTag: replaces.toTag });
        const d = this.byDialog.get(swapped) === undefined ? undefined : this.dialogs.get(swapped);
        if (d !== undefined && d.state === 'early' && d.role === 'uac') key = swapped;
      }
      const old = this.byDialog.get(key);
      const dialog = old === undefined ? undefined : this.dialogs.get(key);
      if (old === undefined || dialog === undefined || dialog.state === 'terminated' || old.state === 'terminated') {
        this.dialogs.respond(tx, 481);
        return;
      }
      if (dialog.state === 'confirmed' && replaces.earlyOnly) {
        this.dialogs.respond(tx, 486);
        return;
      }
      if (dialog.state === 'early' && dialog.role === 'uas') {
        this.dialogs.respond(tx, 481); // an early dialog we did not initiate cannot be replaced
        return;
      }
      replaced = old;
    }
    const session = new IncomingSession(this.host, tx, replaced);
    this.live.add(session);
    this.pending.set(tx, session);
    if (!this.emit('invite', session) && session.state === 'incoming') session.reject(480);
  }

  // ------------------------------------------------------------------ helpers

  private routeToProxy(): string {
    const uri = this.proxy!.uri.clone();
    uri.params.set('lr');
    return `<${uri.toString()}>`;
  }

  /** The target's transport, or ours when it names none and we do not listen on UDP. */
  private protocolFor(uri: SipUri): TransportProtocol {
    const d = directDestination(uri);
    if (uri.transport !== undefined || uri.scheme === 'sips') return d.protocol;
    return this.endpoint.transports.endpoint('udp') !== undefined ? 'udp' : this.protocol;
  }
}

/**
 * The Request-URI of a new request to `target` (`sip:…` or `<sip:…>`), and the headers its
 * header components name (§19.1.5; Via, From, To, Call-ID, CSeq, Contact, Route… excepted).
 */
function targetOf(target: string, verb: string): { uri: SipUri; headers: [string, HeaderValue][] } {
  const parsed = parseUri(target.startsWith('<') && target.endsWith('>') ? target.slice(1, -1) : target);
  if (parsed.kind !== 'sip') throw new TypeError(`cannot ${verb} ${target}: only sip and sips URIs are supported`);
  const headers: [string, HeaderValue][] = [];
  let uri = parsed;
  if (parsed.headers.size > 0) {
    uri = parsed.clone();
    for (const [name, value] of parsed.headers.entries()) {
      if (!UNSAFE_URI_HEADERS.has(name.toLowerCase()) && value !== null) headers.push([name, value]);
      uri.headers.delete(name);
    }
  }
  return { uri, headers };
}

/**
 * Adds `Allow-Events` (RFC 6665 §4.4.4) to the 2xx of an OPTIONS and the 1xx/2xx of an INVITE
 * that `tx` will send: the endpoint and the dialog layer build those responses.
 */
function advertiseEvents(tx: ServerTransaction, allowEvents: string): void {
  const respond = tx.respond.bind(tx);
  tx.respond = (res: SipResponse): boolean => {
    if (res.status > 100 && res.status < 300 && !res.has('Allow-Events')) res.append('Allow-Events', allowEvents);
    return respond(res);
  };
}

/** The To URI of a new request: the target without headers and without `method` (§8.1.1.2). */
function stripForTo(uri: SipUri): SipUri {
  const u = uri.clone();
  for (const [name] of [...u.headers.entries()]) u.headers.delete(name);
  u.params.delete('method');
  return u;
}
