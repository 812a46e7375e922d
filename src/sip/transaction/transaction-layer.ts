/**
 * The transaction layer (RFC 3261 §17): owns every client and server transaction, matches
 * each arriving message to one (§17.1.3, §17.2.3), creates server transactions for new
 * requests, and hands the transaction user (TU) what is meant for it.
 *
 * ```
 *          TU (UA core, dialogs)     onRequest / onAck / onCancel / onStray
 *             |  sendRequest  ^
 *             v               |
 *   +------------------------------------------+
 *   | TransactionLayer                         |
 *   |   clients: branch+method      -> ICT/NICT|
 *   |   servers: branch+sent-by+method          |
 *   |            (or the RFC 2543 tuple) -> IST/NIST
 *   +------------------------------------------+
 *             |  transport.send   ^ receive(inbound)
 *             v                   |
 *                 transports (UDP, TCP, …)
 * ```
 *
 * Nothing a peer sends can make `receive` throw or grow memory without bound: malformed
 * messages are answered 400 (requests) or dropped, server transactions are capped at
 * `maxTransactions` (a request beyond it gets a stateless 503 with Retry-After and is not
 * stored), and every transaction is removed from the maps when it terminates.
 */
import { randomBytes } from 'node:crypto';
import { SipParseError, createResponse, type Via, type SipMessage, type SipRequest, type SipResponse } from '../message/index.js';
import { systemClock, type TimerClock } from '../timer-clock.js';
import type { Destination, InboundMessage, SipTransport } from '../transport/types.js';
import { createCancel } from './cancel-request.js';
import { TransactionError } from './errors.js';
import { InviteClientTransaction } from './invite-client-transaction.js';
import { InviteServerTransaction } from './invite-server-transaction.js';
import { NonInviteClientTransaction } from './non-invite-client-transaction.js';
import { NonInviteServerTransaction } from './non-invite-server-transaction.js';
import { responseDestination } from './response-routing.js';
import type { Transaction, TransactionContext } from './transaction.js';
import { clientTransactionKey, createBranch, serverTransactionKey, transactionMethod } from './transaction-matching.js';
import { resolveTimers, type TransactionTimers } from './transaction-timers.js';
import type { ClientTransaction, ClientTransactionUser, ServerTransaction } from './transaction-user.js';

/**
 * What the transaction layer hands the TU. Callbacks run synchronously inside `receive`.
 *
 * @example
 * ```ts
 * const user: TransactionLayerUser = {
 *   onRequest: (tx) => tx.respond(createResponse(tx.request, 501)),
 *   onStray: (inbound) => dialogs.handle(inbound),
 * };
 * ```
 */
export interface TransactionLayerUser {
  /**
   * A new request (not ACK, not CANCEL) created a server transaction: answer it with
   * `tx.respond(...)`, and set `tx.user` to hear about timeouts and transport errors.
   */
  onRequest(tx: ServerTransaction, inbound: InboundMessage): void;
  /**
   * An ACK that matched an INVITE server transaction in the Accepted state (RFC 6026 §7.1: an
   * ACK for the 2xx carrying the INVITE's branch, or an RFC 2543 ACK). ACKs for 2xx with a
   * branch of their own match no transaction and arrive in {@link onStray}.
   */
  onAck?(inbound: InboundMessage, tx: InviteServerTransaction): void;
  /**
   * A CANCEL matched an INVITE server transaction that has not sent a final response yet
   * (§9.2). The layer has already answered the CANCEL 200; the TU should now answer the
   * INVITE 487. Without this callback the layer sends the 487 itself.
   */
  onCancel?(tx: InviteServerTransaction, cancel: InboundMessage): void;
  /**
   * A message that matched no transaction and starts none:
   * - an ACK that matched no INVITE transaction: normally the ACK for a 2xx, which carries a
   *   branch of its own (§17.2.3), for the dialog;
   * - a response for no client transaction. Since the INVITE client transaction keeps
   *   passing 2xx retransmissions up for 64*T1 in Accepted (RFC 6026), a user agent or a
   *   stateful proxy should drop these (§18.1.2 as updated by RFC 6026: accepting them would
   *   let anyone inject responses); a stateless proxy forwards them.
   */
  onStray?(inbound: InboundMessage): void;
}

/**
 * Options of {@link TransactionLayer}.
 *
 * @example
 * ```ts
 * const options: TransactionLayerOptions = { transport, user, clock: new ManualClock(), maxTransactions: 1000, tryingDelay: 0 };
 * ```
 */
export interface TransactionLayerOptions {
  /** Sends messages; says which protocols are reliable. */
  transport: SipTransport;
  /** Receives requests, ACKs, CANCELs and strays. */
  user: TransactionLayerUser;
  /** Time for every timer (default: the system clock). */
  clock?: TimerClock;
  /** T1, T2, T4 and D in ms (defaults: 500, 4000, 5000, 32000). */
  timers?: Partial<TransactionTimers>;
  /** Most live server transactions (default 10,000); beyond it requests get 503. */
  maxTransactions?: number;
  /** The Retry-After of that 503, in seconds (default 5). */
  retryAfter?: number;
  /**
   * How long an INVITE server transaction waits for the TU's first response before sending
   * 100 Trying itself (§17.2.1): default 200 ms; 0 sends it at once; `null` never (for a TU
   * that always answers within 200 ms).
   */
  tryingDelay?: number | null;
  /** Randomness for branches and To tags (default: `crypto.randomBytes`). */
  random?: (bytes: number) => Uint8Array;
}

/**
 * The RFC 3261 transaction layer.
 *
 * @example
 * ```ts
 * const layer = new TransactionLayer({
 *   transport,
 *   user: {
 *     onRequest(tx) {
 *       tx.respond(createResponse(tx.request, tx.request.method === 'INVITE' ? 486 : 200));
 *     },
 *     onStray(inbound) { dialogs.handle(inbound); },
 *   },
 * });
 * socket.on('message', (inbound) => layer.receive(inbound));
 * layer.sendRequest(options, { protocol: 'udp', address: '192.0.2.4', port: 5060 }, {
 *   onFinal: (res) => console.log(res.status),
 * });
 * ```
 */
export class TransactionLayer {
  /** The TU; may be replaced. */
  user: TransactionLayerUser;
  readonly transport: SipTransport;
  readonly clock: TimerClock;
  readonly timers: Readonly<TransactionTimers>;
  readonly maxTransactions: number;
  private readonly retryAfter: number;
  private readonly tryingDelay: number | null;
  private readonly random: (bytes: number) => Uint8Array;
  private readonly clients = new Map<string, ClientTransaction>();
  private readonly servers = new Map<string, ServerTransaction>();
  private readonly ctx: TransactionContext;

  constructor(options: TransactionLayerOptions) {
    this.transport = options.transport;
    this.user = options.user;
    this.clock = options.clock ?? systemClock;
    this.timers = resolveTimers(options.timers);
    this.maxTransactions = options.maxTransactions ?? 10_000;
    if (!Number.isInteger(this.maxTransactions) || this.maxTransactions < 1) throw new RangeError('maxTransactions must be a positive integer');
    this.retryAfter = options.retryAfter ?? 5;
    const trying = options.tryingDelay === undefined ? 200 : options.tryingDelay;
    if (trying !== null && !(trying >= 0 && Number.isFinite(trying))) throw new RangeError('tryingDelay must be a number of ms >= 0, or null');
    this.tryingDelay = trying;
    this.random = options.random ?? randomBytes;
    this.ctx = {
      transport: this.transport,
      clock: this.clock,
      timers: this.timers,
      forget: (tx) => this.forget(tx),
    };
  }

  /** Live client transactions. */
  get clientTransactionCount(): number {
    return this.clients.size;
  }

  /** Live server transactions (bounded by `maxTransactions`). */
  get serverTransactionCount(): number {
    return this.servers.size;
  }

  private forget(tx: Transaction<string>): void {
    if (this.clients.get(tx.key) === tx) this.clients.delete(tx.key);
    else if (this.servers.get(tx.key) === tx) this.servers.delete(tx.key);
  }

  /**
   * Sends `request` in a new client transaction (INVITE or non-INVITE, by its method) to
   * `destination`, adding an RFC 3261 branch to its top Via when it has none. Throws
   * {@link TransactionError} for an ACK, a request without Via, or a branch already in use
   * by a live client transaction with the same method.
   *
   * @example
   * ```ts
   * const tx = layer.sendRequest(bye, { protocol: 'udp', address: '192.0.2.4', port: 5060 }, {
   *   onFinal: (res) => console.log('BYE answered', res.status),
   *   onTimeout: () => console.log('Timer F'),
   * });
   * ```
   */
  sendRequest(request: SipRequest, destination: Destination, user: ClientTransactionUser = {}): ClientTransaction {
    const method = request.method;
    if (method === 'ACK') {
      throw new TransactionError(
        'An ACK has no client transaction: the INVITE transaction sends the ACK for a non-2xx itself (§17.1.1.3), and the ACK for a 2xx goes out with sendStateless (§13.2.2.4)',
      );
    }
    const via = request.topVia;
    if (via === undefined) throw new TransactionError(`The ${method} request has no Via header`);
    let branch = via.branch;
    if (branch === undefined) {
      branch = createBranch(this.random);
      const v = via.clone();
      v.params.set('branch', branch);
      request.removeFirstValue('Via');
      request.prepend('Via', v.toString());
    }
    const key = clientTransactionKey(branch, method);
    if (this.clients.has(key)) throw new TransactionError(`A ${method} client transaction with branch ${branch} is already running`);
    const reliable = this.transport.isReliable(destination.protocol);
    const tx =
      method === 'INVITE'
        ? new InviteClientTransaction(key, request, destination, user, reliable, this.ctx)
        : new NonInviteClientTransaction(key, request, destination, user, reliable, this.ctx);
    this.clients.set(key, tx);
    tx.start();
    return tx;
  }

  /**
   * The CANCEL for a pending INVITE client transaction (§9.1); send it with
   * {@link sendRequest} to `tx.destination` once the INVITE got a provisional response.
   *
   * @example
   * ```ts
   * if (inviteTx.state === 'proceeding') layer.sendRequest(layer.createCancel(inviteTx), inviteTx.destination);
   * ```
   */
  createCancel(tx: InviteClientTransaction): SipRequest {
    return createCancel(tx.request);
  }

  /**
   * Sends a message outside any transaction: the ACK for a 2xx (§13.2.2.4) or a stateless
   * response. The promise rejects with the transport's error.
   *
   * @example
   * ```ts
   * await layer.sendStateless(ackFor2xx, { protocol: 'udp', address: '192.0.2.4', port: 5060 });
   * ```
   */
  sendStateless(message: SipMessage, destination: Destination): Promise<void> {
    try {
      return this.transport.send(message, destination);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Takes every message the transports receive. Never throws for anything the peer sent.
   *
   * @example
   * ```ts
   * udp.on('message', (buf, rinfo) => layer.receive({ message: parseMessage(buf), source, local }));
   * ```
   */
  receive(inbound: InboundMessage): void {
    const msg = inbound.message;
    if (msg.isRequest) this.receiveRequest(inbound, msg);
    else this.receiveResponse(inbound, msg);
  }

  /**
   * Terminates every transaction at once without telling their users (their timers are
   * cancelled): for shutting down.
   */
  close(): void {
    for (const tx of [...this.clients.values(), ...this.servers.values()]) tx.enterTerminated();
    this.clients.clear();
    this.servers.clear();
  }

  private receiveResponse(inbound: InboundMessage, res: SipResponse): void {
    let key: string | undefined;
    try {
      const branch = res.topVia?.branch;
      if (branch !== undefined) key = clientTransactionKey(branch, res.cseq.method);
    } catch (e) {
      if (e instanceof SipParseError) return; // a response we cannot read is dropped (§18.1.2)
      throw e;
    }
    const tx = key === undefined ? undefined : this.clients.get(key);
    if (tx === undefined) this.user.onStray?.(inbound);
    else tx.receiveResponse(res);
  }

  private receiveRequest(inbound: InboundMessage, req: SipRequest): void {
    const method = req.method;
    let key: string;
    let inviteKey: string | undefined; // a CANCEL's INVITE
    let rfc2543: boolean;
    let toTag: string | undefined;
    let ack2543: InviteServerTransaction | undefined;
    try {
      const via = req.topVia;
      if (via === undefined) throw new SipParseError('Missing Via header');
      rfc2543 = !via.hasRfc3261Branch;
      const to = req.to;
      toTag = rfc2543 ? to.tag : undefined;
      if (rfc2543 && method === 'ACK') ack2543 = this.find2543AckTransaction(req, via);
      // Read what every TU reads (cached on the message, so cheap; parseMessage's validation
      // normally did it already) so that a request it could not read is refused here with 400.
      void req.from;
      void req.callId;
      if (req.cseq.method !== method) throw new SipParseError('CSeq method does not match the request method');
      key = serverTransactionKey(req, via, transactionMethod(method), toTag);
      if (method === 'CANCEL') inviteKey = serverTransactionKey(req, via, 'INVITE', toTag);
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
      if (method !== 'ACK') this.sendStatelessResponse(inbound, this.buildResponse(req, 400, e.message));
      return;
    }
    if (rfc2543 && method === 'ACK') {
      if (ack2543 === undefined) this.user.onStray?.(inbound);
      else if (ack2543.receiveAck()) this.user.onAck?.(inbound, ack2543);
      return;
    }

    const existing = this.servers.get(key);
    if (existing !== undefined) {
      if (method === 'ACK') {
        if (existing.kind === 'invite-server' && existing.receiveAck()) this.user.onAck?.(inbound, existing);
      } else if (existing.kind === 'invite-server') existing.receiveInvite();
      else existing.receiveRequest();
      return;
    }
    if (method === 'ACK') {
      this.user.onStray?.(inbound);
      return;
    }
    if (this.servers.size >= this.maxTransactions) {
      // A CANCEL for a call in progress is still honoured, statelessly: answering it again when
      // it is retransmitted gives the same result, and the call it ends frees a slot.
      if (inviteKey !== undefined && this.servers.get(inviteKey)?.kind === 'invite-server') {
        this.receiveCancel(req, inviteKey, inbound, (res) => this.sendStatelessResponse(inbound, res));
      } else {
        this.sendStatelessResponse(inbound, this.buildResponse(req, 503, undefined, [['Retry-After', String(this.retryAfter)]]));
      }
      return;
    }

    const destination = responseDestination(inbound);
    const reliable = this.transport.isReliable(inbound.source.protocol);
    if (method === 'INVITE') {
      const tx = new InviteServerTransaction(key, inbound, destination, reliable, this.ctx);
      this.servers.set(key, tx);
      tx.start(this.tryingDelay);
      this.user.onRequest(tx, inbound);
      return;
    }
    const tx = new NonInviteServerTransaction(key, inbound, destination, reliable, this.ctx);
    this.servers.set(key, tx);
    if (inviteKey !== undefined) this.receiveCancel(req, inviteKey, inbound, (res) => tx.respond(res));
    else this.user.onRequest(tx, inbound);
  }

  /**
   * An ACK without the magic cookie (§17.2.3): it matches the INVITE with the same
   * Request-URI, From tag, Call-ID, CSeq number and top Via whose final response carried the
   * ACK's To tag. The INVITE had that To tag too (a re-INVITE) or none (an initial INVITE).
   */
  private find2543AckTransaction(ack: SipRequest, via: Via): InviteServerTransaction | undefined {
    const tag = ack.to.tag;
    let tx = tag === undefined ? undefined : this.servers.get(serverTransactionKey(ack, via, 'INVITE', tag));
    if (tx === undefined) tx = this.servers.get(serverTransactionKey(ack, via, 'INVITE', undefined));
    if (tx !== undefined && tx.kind === 'invite-server' && tx.finalResponse !== undefined && tx.finalToTag() === tag) return tx;
    return undefined;
  }

  /** §9.2: 200 to a CANCEL that matches an INVITE (which the TU then answers 487), else 481. */
  private receiveCancel(cancel: SipRequest, inviteKey: string, inbound: InboundMessage, respond: (res: SipResponse) => void): void {
    const invite = this.servers.get(inviteKey);
    if (invite === undefined || invite.kind !== 'invite-server') {
      respond(createResponse(cancel, 481, undefined, { random: this.random }));
      return;
    }
    // §9.2: the To tag of the CANCEL's response SHOULD be the one of the INVITE's responses.
    const sent = invite.finalResponse ?? invite.lastProvisional;
    let toTag: string | undefined;
    try {
      toTag = sent !== undefined && sent.status > 100 ? sent.to.tag : undefined;
    } catch {
      toTag = undefined;
    }
    // One tag for both, so the 200 to the CANCEL and the 487 agree even when nothing was sent yet.
    const tagOption = { toTag: toTag ?? Buffer.from(this.random(8)).toString('hex') };
    respond(createResponse(cancel, 200, undefined, tagOption));
    if (invite.state !== 'proceeding') return; // a final response went out already: no effect
    if (this.user.onCancel !== undefined) this.user.onCancel(invite, inbound);
    else invite.respond(createResponse(invite.request, 487, undefined, tagOption));
  }

  /** A response built outside a transaction, or undefined when the request is too broken for one. */
  private buildResponse(req: SipRequest, status: number, reason?: string, headers?: [string, string][]): SipResponse | undefined {
    try {
      return createResponse(req, status, reason, { random: this.random, ...(headers === undefined ? {} : { headers }) });
    } catch {
      return undefined;
    }
  }

  private sendStatelessResponse(inbound: InboundMessage, res: SipResponse | undefined): void {
    if (res === undefined) return;
    this.sendStateless(res, responseDestination(inbound)).then(undefined, () => {
      // A stateless response has nobody to report a failure to (§17.2.4 applies to transactions).
    });
  }
}
