/**
 * The non-dialog half of a SIP user agent core (RFC 3261 §8): transports and a transaction
 * layer wired together, every new request checked by {@link checkRequest}, and the requests
 * that need no dialog handled here:
 *
 * - **OPTIONS** (§11) answered 200 with `Allow`, `Accept`, `Supported`;
 * - **REGISTER** (§10.3) given to an optional {@link Registrar};
 * - **MESSAGE** (RFC 3428) delivered to a callback and answered 200 (415 with `Accept` for a
 *   content type not in `messageContentTypes`); `sendMessage` sends one, answering digest
 *   challenges;
 * - anything else (INVITE, BYE, SUBSCRIBE…) goes to the `fallback` — the dialog layer — for
 *   the methods it declares; other known methods get 405 with `Allow`, unknown ones 501.
 *
 * ```
 *            SipEndpoint ── onMessage(MESSAGE), Registrar(REGISTER), fallback(INVITE, BYE, …)
 *   checkRequest ─┤ OPTIONS → 200
 *            TransactionLayer (503 + Retry-After when full; 400 for unreadable requests)
 *            SipTransportSet  (400 with the parse error for malformed requests with a Via)
 * ```
 *
 * Nothing a peer sends throws out of it: a handler that throws gets the request answered 500
 * (the error goes to `onError`).
 *
 * @example
 * ```ts
 * const endpoint = await SipEndpoint.listen({
 *   listen: [{ protocol: 'udp', address: '127.0.0.1', port: 5060 }],
 *   registrar: new Registrar({ location: new LocationService({ clock: systemClock }) }),
 *   onMessage: (req) => console.log('MESSAGE', req.body.toString()),
 * });
 * await endpoint.sendMessage('sip:bob@127.0.0.1:5070', 'hello');
 * await endpoint.close();
 * ```
 */
import { randomBytes } from 'node:crypto';
import { DigestClient, type DigestCredentials } from '../auth/index.js';
import {
  NameAddr,
  SipRequest,
  SipUri,
  createResponse,
  parseUri,
  type HeaderValue,
  type Uri,
  type SipResponse,
} from '../message/index.js';
import { createBranch, TransactionLayer, type ServerTransaction, type TransactionLayerOptions, type TransactionLayerUser } from '../transaction/index.js';
import {
  SipTransportSet,
  type Destination,
  type InboundMessage,
  type ListenOptions,
  type SipTransportSetOptions,
  type TransportProtocol,
} from '../transport/index.js';
import { sendAuthenticated, type RequestOutcome } from './authenticated-request.js';
import type { RegisterHandler } from './registrar.js';
import { checkRequest } from './request-policy.js';

/**
 * Where requests the endpoint does not handle itself go: the dialog layer, typically.
 * `methods` are the methods it takes (they are advertised in Allow).
 *
 * @example
 * ```ts
 * const dialogs = new DialogManager({ layer: endpoint.layer, contact });   // takes layer.user …
 * endpoint.setFallback({ methods: ['INVITE', 'BYE', 'UPDATE', 'PRACK', 'INFO'], ...endpoint.layer.user }); // … and chains it
 * ```
 */
export interface EndpointFallback extends Partial<TransactionLayerUser> {
  methods: readonly string[];
}

/** Options of {@link SipEndpoint}. */
export interface SipEndpointOptions {
  /** What to listen on (port 0 for an ephemeral one). */
  listen: ListenOptions[];
  /** Further transport options (limits, TLS client, keep-alive…). */
  transport?: Omit<SipTransportSetOptions, 'listen' | 'onMessage'>;
  /** Transaction layer options (clock, timers, maxTransactions, retryAfter, tryingDelay…). */
  transaction?: Omit<TransactionLayerOptions, 'transport' | 'user'>;
  /** Host written in our Vias, Contacts and From (default: the first listener's address, or 127.0.0.1 for a wildcard one). */
  advertisedHost?: string;
  /** The registrar for REGISTER requests; absent: REGISTER gets 405. */
  registrar?: RegisterHandler;
  /** Receives MESSAGE requests (answered 200 after it returns); absent: MESSAGE gets 405. */
  onMessage?: (request: SipRequest, inbound: InboundMessage) => void;
  /** Content types accepted in MESSAGE (default `['text/plain']`); others get 415. */
  messageContentTypes?: readonly string[];
  /** Our identity: the From of requests we send (default `sip:switchboard@<advertisedHost>`). */
  identity?: string;
  /** Credentials for answering 401/407 to requests we send. */
  credentials?: DigestCredentials | readonly DigestCredentials[];
  /** Handler for other methods (the dialog layer). */
  fallback?: EndpointFallback;
  /** Option tags we support (default: `path` with a registrar; the fallback's are added by the caller). */
  supportedExtensions?: readonly string[];
  /** User-Agent / Server header value (default `Switchboard`). */
  userAgent?: string;
  /** Answer requests whose Via list holds our own sent-by with 482 (default true). */
  loopDetection?: boolean;
  /** Randomness for tags, Call-IDs and branches (default `crypto.randomBytes`). */
  random?: (bytes: number) => Uint8Array;
  /** Errors thrown by handlers and transport errors worth logging. */
  onError?: (error: unknown, context: string) => void;
}

/** Options of {@link SipEndpoint.sendMessage}. */
export interface SendMessageOptions {
  /** Where to send (default: from the target URI: `maddr` or host, port or 5060, `transport` or UDP). */
  destination?: Destination;
  /** From URI (default: the endpoint's identity). */
  from?: string;
  /** Extra headers (Route, Subject…). */
  headers?: Iterable<[string, HeaderValue]>;
}

/** Options of {@link SipEndpoint.request}. */
export interface SendRequestOptions extends SendMessageOptions {
  /** Body of the request (with `contentType`). */
  body?: string | Uint8Array;
  /** Content-Type of `body` (required with a body). */
  contentType?: string;
  /** Answer 401/407 with the endpoint's credentials (default true; without credentials a challenge is the outcome). */
  authenticate?: boolean;
}

const CORE_METHODS = ['OPTIONS'];

/**
 * Where a request for `uri` goes without DNS: `maddr` or host, the port or 5060 (5061 for
 * sips), `transport` or UDP (TLS for sips).
 *
 * @example
 * ```ts
 * directDestination(parseUri('sip:bob@192.0.2.4:5070;transport=tcp') as SipUri); // { protocol: 'tcp', address: '192.0.2.4', port: 5070 }
 * ```
 */
export function directDestination(uri: SipUri): Destination {
  const maddr = uri.params.get('maddr');
  const t = uri.transport;
  const protocol: TransportProtocol =
    t === 'tcp' || t === 'tls' || t === 'ws' || t === 'wss' || t === 'udp' ? t : uri.scheme === 'sips' ? 'tls' : 'udp';
  const secure = protocol === 'tls' || protocol === 'wss';
  return { protocol, address: typeof maddr === 'string' ? maddr : uri.host, port: uri.port ?? (secure ? 5061 : 5060) };
}

/**
 * A SIP endpoint for everything outside dialogs (see the file comment).
 *
 * @example
 * ```ts
 * const endpoint = await SipEndpoint.listen({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }] });
 * endpoint.contact('udp').toString(); // '<sip:switchboard@127.0.0.1:40123>'
 * ```
 */
export class SipEndpoint {
  readonly transports: SipTransportSet;
  readonly layer: TransactionLayer;
  readonly registrar: RegisterHandler | undefined;
  readonly advertisedHost: string;
  readonly identity: string;
  /** The client that answers 401/407 for requests this endpoint sends (when credentials were given). */
  readonly digest: DigestClient | undefined;
  private fallback: EndpointFallback | undefined;
  private readonly options: SipEndpointOptions;
  private readonly random: (bytes: number) => Uint8Array;
  private readonly userAgent: string;
  private readonly onError: (error: unknown, context: string) => void;
  private readonly ownUser: TransactionLayerUser;
  private closed = false;

  private constructor(transports: SipTransportSet, options: SipEndpointOptions) {
    this.transports = transports;
    this.options = options;
    this.registrar = options.registrar;
    this.fallback = options.fallback;
    this.random = options.random ?? randomBytes;
    this.userAgent = options.userAgent ?? 'Switchboard';
    this.onError = options.onError ?? (() => undefined);
    const first = transports.endpoints()[0];
    const address = first?.address ?? '127.0.0.1';
    this.advertisedHost = options.advertisedHost ?? (address === '0.0.0.0' || address === '::' ? '127.0.0.1' : address);
    this.identity = options.identity ?? `sip:switchboard@${hostPart(this.advertisedHost)}`;
    this.digest = options.credentials === undefined ? undefined : new DigestClient({ credentials: options.credentials, random: this.random });
    this.ownUser = {
      onRequest: (tx, inbound) => this.receiveRequest(tx, inbound),
      onAck: (inbound, tx) => this.fallback?.onAck?.(inbound, tx),
      onCancel: (tx, cancel) => {
        if (this.fallback?.onCancel !== undefined) this.fallback.onCancel(tx, cancel);
        else tx.respond(createResponse(tx.request, 487, undefined, { random: this.random }));
      },
      onStray: (inbound) => this.fallback?.onStray?.(inbound),
    };
    this.layer = new TransactionLayer({ random: this.random, ...options.transaction, transport: transports, user: this.ownUser });
    transports.onMessage = (inbound) => {
      if (!this.closed) this.layer.receive(inbound);
    };
  }

  /** Binds the listeners and returns a running endpoint. */
  static async listen(options: SipEndpointOptions): Promise<SipEndpoint> {
    const transportOptions: SipTransportSetOptions = { ...options.transport, listen: options.listen };
    if (options.onError !== undefined && transportOptions.onError === undefined) transportOptions.onError = options.onError;
    const transports = await SipTransportSet.listen(transportOptions);
    return new SipEndpoint(transports, options);
  }

  /**
   * Sets (or clears) the handler for methods the endpoint does not own, and makes the
   * endpoint the transaction layer's user again (a `DialogManager` takes `layer.user` when
   * built: pass its callbacks here).
   */
  setFallback(fallback: EndpointFallback | undefined): void {
    this.fallback = fallback;
    this.layer.user = this.ownUser;
  }

  /** The methods we accept (what `Allow` lists). */
  get allowedMethods(): string[] {
    const methods = new Set(CORE_METHODS);
    if (this.registrar !== undefined) methods.add('REGISTER');
    if (this.options.onMessage !== undefined) methods.add('MESSAGE');
    for (const m of this.fallback?.methods ?? []) methods.add(m);
    if (methods.has('INVITE')) {
      methods.add('ACK');
      methods.add('CANCEL');
    }
    return [...methods];
  }

  /** Option tags we support. */
  get supportedExtensions(): string[] {
    const tags = new Set(this.options.supportedExtensions ?? []);
    if (this.registrar !== undefined) tags.add('path');
    return [...tags];
  }

  /** Our sent-by (`host:port`) for a protocol, as written in our Vias. */
  sentBy(protocol: TransportProtocol = 'udp'): string {
    const e = this.transports.endpoint(protocol) ?? this.transports.endpoints()[0];
    return `${hostPart(this.advertisedHost)}:${e?.port ?? 5060}`;
  }

  /** A Contact for us on `protocol` (user part `user`, default the identity's user). */
  contact(protocol: TransportProtocol = 'udp', user?: string): NameAddr {
    const e = this.transports.endpoint(protocol);
    const id = parseUri(this.identity);
    const uri = new SipUri({
      user: user ?? (id.kind === 'sip' ? id.user : undefined),
      host: this.advertisedHost,
      port: e?.port,
      params: protocol === 'udp' ? {} : { transport: protocol },
    });
    return new NameAddr(uri);
  }

  /**
   * Sends a MESSAGE (RFC 3428) to `target` and resolves with its outcome (the final response,
   * after answering one digest challenge per realm with the endpoint's credentials). Never
   * rejects; throws `TypeError` for a target that is not a `sip:`/`sips:` URI when no
   * `destination` is given.
   *
   * @example
   * ```ts
   * const outcome = await endpoint.sendMessage('sip:bob@192.0.2.4', 'Watson, come here.');
   * if (outcome.kind === 'response' && outcome.response.status < 300) console.log('delivered');
   * ```
   */
  sendMessage(target: string | SipUri, body: string | Uint8Array, contentType = 'text/plain', options: SendMessageOptions = {}): Promise<RequestOutcome> {
    return this.request('MESSAGE', target, { ...options, body, contentType });
  }

  /**
   * Sends one out-of-dialog request (OPTIONS, MESSAGE, NOTIFY, INFO…: not INVITE, which needs
   * a dialog, nor ACK/CANCEL) to `target` and resolves with its outcome: the final response
   * (after answering digest challenges with the endpoint's credentials, unless `authenticate`
   * is false), a timeout (Timer F) or a transport error. Never rejects; throws `TypeError` for
   * a target that is not a `sip:`/`sips:` URI when no `destination` is given, for a body
   * without `contentType`, and for INVITE, ACK and CANCEL.
   *
   * @example
   * ```ts
   * // A keep-alive through a NAT: the Request-URI is the registered Contact, the packet goes to where the REGISTER came from.
   * const outcome = await endpoint.request('OPTIONS', binding.contact.uri, { destination: binding.source, authenticate: false });
   * const alive = outcome.kind === 'response';
   * ```
   */
  request(method: string, target: string | SipUri, options: SendRequestOptions = {}): Promise<RequestOutcome> {
    if (method === 'INVITE' || method === 'ACK' || method === 'CANCEL') throw new TypeError(`${method} is not sent with request()`);
    const uri = typeof target === 'string' ? parseUri(target) : target;
    if (uri.kind !== 'sip' && options.destination === undefined) throw new TypeError(`cannot send to a ${uri.kind} URI without a destination`);
    if (options.body !== undefined && options.contentType === undefined) throw new TypeError('a body needs a contentType');
    const destination = options.destination ?? directDestination(uri as SipUri);
    const request = this.createRequest(method, uri, destination.protocol, options.from, options.headers);
    if (options.body !== undefined && options.contentType !== undefined) {
      request.set('Content-Type', options.contentType);
      request.body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : Buffer.from(options.body);
    }
    const digest = options.authenticate === false ? undefined : this.digest;
    return sendAuthenticated(this.layer, request, destination, digest === undefined ? { random: this.random } : { digest, random: this.random });
  }

  /**
   * A new out-of-dialog request from us (§8.1.1): Via with our sent-by and a fresh branch,
   * Max-Forwards 70, From with a fresh tag, To the target, a fresh Call-ID, CSeq 1.
   */
  createRequest(method: string, target: Uri, protocol: TransportProtocol = 'udp', from?: string, headers?: Iterable<[string, HeaderValue]>): SipRequest {
    const hex = (n: number): string => Buffer.from(this.random(n)).toString('hex');
    const request = new SipRequest(method, target, [
      ['Via', `SIP/2.0/${protocol.toUpperCase()} ${this.sentBy(protocol)};branch=${createBranch(this.random)}`],
      ['Max-Forwards', '70'],
      ['From', `<${from ?? this.identity}>;tag=${hex(6)}`],
      ['To', `<${target.toString()}>`],
      ['Call-ID', `${hex(12)}@${hostPart(this.advertisedHost)}`],
      ['CSeq', `1 ${method}`],
      ['User-Agent', this.userAgent],
    ]);
    for (const [name, value] of headers ?? []) request.append(name, value);
    return request;
  }

  /** Stops everything: transactions (silently) and sockets. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.layer.close();
    await this.transports.close();
  }

  private receiveRequest(tx: ServerTransaction, inbound: InboundMessage): void {
    try {
      const request = tx.request;
      const error = checkRequest(request, {
        allowedMethods: this.allowedMethods,
        supportedExtensions: this.supportedExtensions,
        loopDetection: this.options.loopDetection === false ? undefined : { sentBy: this.transports.endpoints().map((e) => `${this.advertisedHost}:${e.port}`) },
        random: this.random,
      });
      if (error !== undefined) {
        this.respond(tx, error);
        return;
      }
      switch (request.method) {
        case 'OPTIONS':
          this.respond(tx, this.optionsResponse(request));
          return;
        case 'REGISTER':
          if (this.registrar !== undefined) {
            void this.registrar.handle(tx, inbound);
            return;
          }
          break;
        case 'MESSAGE':
          if (this.options.onMessage !== undefined) {
            this.receiveMessage(tx, inbound, this.options.onMessage);
            return;
          }
          break;
        default:
          break;
      }
      const fallback = this.fallback;
      if (fallback?.onRequest !== undefined && fallback.methods.includes(request.method)) fallback.onRequest(tx, inbound);
      else this.respond(tx, this.reply(request, 501));
    } catch (e) {
      this.onError(e, `handling ${tx.request.method}`);
      if (tx.kind === 'invite-server' ? tx.finalResponse === undefined : tx.lastResponse === undefined || tx.lastResponse.status < 200) {
        const reason = e instanceof Error && e.name === 'SipParseError' ? e.message : undefined;
        this.respond(tx, createResponse(tx.request, reason === undefined ? 500 : 400, reason, { random: this.random }));
      }
    }
  }

  private receiveMessage(tx: ServerTransaction, inbound: InboundMessage, deliver: (request: SipRequest, inbound: InboundMessage) => void): void {
    const request = tx.request;
    const accepted = this.options.messageContentTypes ?? ['text/plain'];
    const type = request.contentType;
    if (request.body.length > 0 && (type === undefined || !accepted.includes(type.essence))) {
      this.respond(tx, this.reply(request, 415, [['Accept', accepted.join(', ')]]));
      return;
    }
    deliver(request, inbound);
    this.respond(tx, this.reply(request, 200));
  }

  /** §11.2: what we allow, accept and support; a 200 whatever the Max-Forwards (§11, §16.3). */
  private optionsResponse(request: SipRequest): SipResponse {
    const headers: [string, HeaderValue][] = [['Allow', this.allowedMethods.join(', ')]];
    const accept = this.accepted();
    if (accept.length > 0) headers.push(['Accept', accept.join(', ')]);
    const supported = this.supportedExtensions;
    if (supported.length > 0) headers.push(['Supported', supported.join(', ')]);
    return this.reply(request, 200, headers);
  }

  private accepted(): string[] {
    const types = new Set<string>();
    if (this.fallback?.methods.includes('INVITE') === true) types.add('application/sdp');
    if (this.options.onMessage !== undefined) for (const t of this.options.messageContentTypes ?? ['text/plain']) types.add(t);
    return [...types];
  }

  private reply(request: SipRequest, status: number, headers: [string, HeaderValue][] = []): SipResponse {
    return createResponse(request, status, undefined, { random: this.random, headers: [...headers, ['Server', this.userAgent]] });
  }

  private respond(tx: ServerTransaction, response: SipResponse): void {
    tx.respond(response);
  }
}

function hostPart(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
