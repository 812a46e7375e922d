/**
 * The UAC side of registration (RFC 3261 §10.2): registers one Contact for one
 * address-of-record with a registrar, keeps the binding alive, and removes it on stop.
 *
 * ```
 *                register()                 2xx (granted expires E)
 *   unregistered ───────────► registering ──────────────────────────► registered
 *        ▲                      │  401/407: answer once per challenge     │ timer: refresh at
 *        │                      │  423: retry once with Min-Expires       │ max(E/2, E−32 s)
 *        │                      ▼  other / timeout / transport error      │
 *        │                    failed ── retry after retryInterval ──►     │
 *        │        2xx                                                     │
 *        └──────────────── unregistering ◄──── unregister() / stop() ─────┘
 * ```
 *
 * - One Call-ID for the life of the client, CSeq + 1 for every REGISTER (§10.2.4); the
 *   retry after a challenge is a new transaction with CSeq + 1 too (§22.2).
 * - Digest: a 401/407 is answered through a {@link DigestClient}, which gives up when the
 *   same credentials were just rejected (no loops); refreshes reuse the last nonce with the
 *   next nonce count (`authorizeRequest`), saving the 401 round trip.
 * - 423 Interval Too Brief: one retry with the registrar's Min-Expires (§10.2.8).
 * - The refresh is scheduled at max(E/2, E − 32) seconds after the 2xx, E being the expiry
 *   the registrar granted (our Contact's `expires` in the 200, else its Expires header, else
 *   what we asked for). 32 s is Timer F (64·T1): a refresh that goes unanswered times out
 *   before the binding expires; for short expiries (E < 64 s) half the interval is used.
 * - After a failure (error response, timeout, transport error) it tries again after
 *   `retryInterval` seconds (default 60) until unregister() or stop().
 *
 * @example
 * ```ts
 * const client = new RegistrationClient({
 *   layer: endpoint.layer,
 *   destination: { protocol: 'udp', address: '192.0.2.10', port: 5060 },
 *   registrar: 'sip:example.com',
 *   aor: 'sip:alice@example.com',
 *   contact: endpoint.contact('udp', 'alice'),
 *   sentBy: endpoint.sentBy('udp'),
 *   credentials: { username: 'alice', password: 'secret' },
 *   events: { onRegistered: ({ expires }) => console.log('registered for', expires, 's') },
 * });
 * await client.register();
 * // … later
 * await client.stop(); // Expires: 0, timers cancelled
 * ```
 */
import { randomBytes } from 'node:crypto';
import { DigestClient, type DigestCredentials } from '../auth/index.js';
import { NameAddr, SipRequest, parseNameAddr, parseUri, uriEquals, type HeaderValue, type SipResponse, type SipUri } from '../message/index.js';
import type { TimerClock, TimerHandle } from '../timer-clock.js';
import type { TransactionLayer } from '../transaction/index.js';
import type { Destination } from '../transport/index.js';
import { sendAuthenticated, type RequestOutcome } from './authenticated-request.js';

/** Where a registration stands. */
export type RegistrationState = 'unregistered' | 'registering' | 'registered' | 'unregistering' | 'failed' | 'stopped';

/** What {@link RegistrationClient.register} and {@link RegistrationClient.unregister} resolve with. */
export type RegistrationResult =
  | { ok: true; expires: number; response: SipResponse }
  | { ok: false; status: number | undefined; reason: string; response: SipResponse | undefined };

/** Events of a {@link RegistrationClient}; each optional, called synchronously. */
export interface RegistrationEvents {
  /** A REGISTER (first or refresh) succeeded; `expires` is what the registrar granted, in seconds. */
  onRegistered?(info: { expires: number; contacts: NameAddr[]; response: SipResponse }): void;
  /** A REGISTER failed: `status` of the final response, or undefined for a timeout or transport error. */
  onFailed?(info: { status: number | undefined; reason: string; response: SipResponse | undefined }): void;
  /** The binding was removed (2xx to Expires: 0). */
  onUnregistered?(info: { response: SipResponse }): void;
}

/** Options of {@link RegistrationClient}. */
export interface RegistrationClientOptions {
  /** The transaction layer to send through. */
  layer: TransactionLayer;
  /** Where the registrar is (no DNS here: resolve first, e.g. with `resolveSipTargets`). */
  destination: Destination;
  /** Request-URI: the registrar's domain, e.g. `sip:example.com` (§10.2). */
  registrar: string | SipUri;
  /** The address-of-record (From and To). */
  aor: string;
  /** Our Contact. */
  contact: NameAddr | string;
  /** The sent-by of our Via, `host:port`. */
  sentBy: string;
  /** Expiry to ask for, in seconds (default 3600). */
  expires?: number;
  /** Credentials for 401/407, or a {@link DigestClient} to use. */
  credentials?: DigestCredentials | readonly DigestCredentials[] | DigestClient;
  /** Seconds before trying again after a failure (default 60; `null`: never). */
  retryInterval?: number | null;
  /** Extra headers on every REGISTER (Supported, User-Agent, Route…). */
  headers?: readonly [string, HeaderValue][];
  events?: RegistrationEvents;
  /** Time for the refresh and retry timers (default: the layer's clock). */
  clock?: TimerClock;
  /** Randomness for Call-ID, tag, branches and cnonces (default `crypto.randomBytes`). */
  random?: (bytes: number) => Uint8Array;
}

/**
 * When to refresh a binding granted for `expires` seconds: max(E/2, E − 32) seconds,
 * returned in milliseconds (see the file comment).
 *
 * @example
 * ```ts
 * refreshDelay(3600); // 3_568_000
 * refreshDelay(60);   // 30_000
 * ```
 */
export function refreshDelay(expires: number): number {
  return Math.max(expires / 2, expires - 32) * 1000;
}

/**
 * A registration kept alive (see the file comment).
 *
 * @example
 * ```ts
 * const result = await client.register();
 * if (!result.ok) console.log('registration failed:', result.status, result.reason);
 * ```
 */
export class RegistrationClient {
  private current: RegistrationState = 'unregistered';
  private readonly layer: TransactionLayer;
  private readonly destination: Destination;
  private readonly requestUri: SipUri;
  private readonly aor: string;
  private readonly contact: NameAddr;
  private readonly sentBy: string;
  private expires: number;
  private readonly digest: DigestClient | undefined;
  private readonly retryInterval: number | null;
  private readonly headers: readonly [string, HeaderValue][];
  private readonly events: RegistrationEvents;
  private readonly clock: TimerClock;
  private readonly random: (bytes: number) => Uint8Array;
  private readonly callId: string;
  private readonly fromTag: string;
  private cseq = 0;
  private timer: TimerHandle | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** Whether the client should keep a binding (register() called, no unregister()/stop() since). */
  private active = false;
  private grantedExpires: number | undefined;

  constructor(options: RegistrationClientOptions) {
    this.layer = options.layer;
    this.destination = options.destination;
    const ruri = typeof options.registrar === 'string' ? parseUri(options.registrar) : options.registrar;
    if (ruri.kind !== 'sip') throw new TypeError('the registrar URI must be a sip: or sips: URI');
    this.requestUri = ruri;
    this.aor = options.aor;
    this.contact = typeof options.contact === 'string' ? parseNameAddr(options.contact) : options.contact.clone();
    this.contact.params.delete('expires');
    this.sentBy = options.sentBy;
    this.expires = options.expires ?? 3600;
    if (!(Number.isInteger(this.expires) && this.expires > 0)) throw new RangeError('expires must be a positive integer');
    this.random = options.random ?? randomBytes;
    const c = options.credentials;
    this.digest = c === undefined ? undefined : c instanceof DigestClient ? c : new DigestClient({ credentials: c, random: this.random });
    this.retryInterval = options.retryInterval === undefined ? 60 : options.retryInterval;
    this.headers = options.headers ?? [];
    this.events = options.events ?? {};
    this.clock = options.clock ?? options.layer.clock;
    this.callId = `${this.hex(12)}@${this.sentBy.replace(/:\d+$/, '')}`;
    this.fromTag = this.hex(6);
  }

  /** Where the registration stands. */
  get state(): RegistrationState {
    return this.current;
  }

  /** The expiry the registrar granted last, in seconds (undefined before the first 2xx). */
  get expiresGranted(): number | undefined {
    return this.grantedExpires;
  }

  /** The Call-ID used by every REGISTER of this client. */
  get registrationCallId(): string {
    return this.callId;
  }

  /**
   * Registers (or refreshes now) and keeps the binding refreshed until
   * {@link unregister} or {@link stop}. Resolves with the outcome of this REGISTER.
   */
  register(): Promise<RegistrationResult> {
    if (this.current === 'stopped') return Promise.resolve(failure(undefined, 'client stopped'));
    this.active = true;
    return this.enqueue(() => this.doRegister());
  }

  /** Removes our binding (Expires: 0) and stops refreshing. */
  unregister(): Promise<RegistrationResult> {
    this.active = false;
    this.cancelTimer();
    return this.enqueue(() => this.doUnregister());
  }

  /**
   * Unregisters when registered, cancels every timer, and refuses further use. Resolves once
   * the unregistration ended (whatever its outcome).
   */
  async stop(): Promise<void> {
    if (this.current === 'stopped') return;
    const wasRegistered = this.current === 'registered' || this.current === 'registering' || this.active;
    this.active = false;
    this.cancelTimer();
    if (wasRegistered) await this.enqueue(() => this.doUnregister());
    else await this.queue;
    this.cancelTimer();
    this.current = 'stopped';
  }

  private isStopped(): boolean {
    return this.current === 'stopped';
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const next = this.queue.then(job, job);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async doRegister(): Promise<RegistrationResult> {
    if (!this.active || this.current === 'stopped') return failure(undefined, 'registration cancelled');
    this.cancelTimer();
    this.current = 'registering';
    const outcome = await this.exchange(this.expires);
    if (this.isStopped()) return failure(undefined, 'client stopped');
    if (outcome.kind === 'response' && outcome.response.status >= 200 && outcome.response.status < 300) {
      const response = outcome.response;
      const granted = this.granted(response, this.expires);
      this.grantedExpires = granted;
      this.current = 'registered';
      if (this.active) this.schedule(refreshDelay(granted));
      this.events.onRegistered?.({ expires: granted, contacts: safeContacts(response), response });
      return { ok: true, expires: granted, response };
    }
    const result = describeFailure(outcome);
    this.current = 'failed';
    if (this.active && this.retryInterval !== null) this.schedule(this.retryInterval * 1000);
    this.events.onFailed?.({ status: result.status, reason: result.reason, response: result.response });
    return result;
  }

  private async doUnregister(): Promise<RegistrationResult> {
    this.cancelTimer();
    if (this.current === 'stopped') return failure(undefined, 'client stopped');
    this.current = 'unregistering';
    const outcome = await this.exchange(0);
    this.grantedExpires = undefined;
    if (outcome.kind === 'response' && outcome.response.status >= 200 && outcome.response.status < 300) {
      this.current = 'unregistered';
      this.events.onUnregistered?.({ response: outcome.response });
      return { ok: true, expires: 0, response: outcome.response };
    }
    const result = describeFailure(outcome);
    this.current = 'failed';
    this.events.onFailed?.({ status: result.status, reason: result.reason, response: result.response });
    return result;
  }

  /** One REGISTER with digest answered, and one 423 retry (§10.2.8). */
  private async exchange(expires: number): Promise<RequestOutcome> {
    let asked = expires;
    for (let attempt = 0; ; attempt++) {
      const request = this.build(asked);
      if (this.digest !== undefined) for (const [name, value] of this.digest.authorizeRequest(request)) request.append(name, value);
      const outcome = await sendAuthenticated(this.layer, request, this.destination, this.digest === undefined ? { random: this.random } : { digest: this.digest, random: this.random });
      this.cseq = Math.max(this.cseq, outcome.request.cseq.seq);
      if (outcome.kind !== 'response' || outcome.response.status !== 423 || asked === 0 || attempt > 0) return outcome;
      let min: number | undefined;
      try {
        min = outcome.response.minExpires;
      } catch {
        min = undefined;
      }
      if (min === undefined || min <= asked) return outcome;
      asked = min;
      this.expires = min; // later refreshes ask for what the registrar accepts
    }
  }

  private build(expires: number): SipRequest {
    const contact = this.contact.clone();
    contact.params.set('expires', String(expires));
    const request = new SipRequest('REGISTER', this.requestUri.clone(), [
      ['Via', `SIP/2.0/${this.destination.protocol.toUpperCase()} ${this.sentBy}`],
      ['Max-Forwards', '70'],
      ['From', `<${this.aor}>;tag=${this.fromTag}`],
      ['To', `<${this.aor}>`],
      ['Call-ID', this.callId],
      ['CSeq', `${++this.cseq} REGISTER`],
      ['Contact', contact],
      ['Expires', String(expires)],
      ...this.headers,
    ]);
    return request;
  }

  /** What the registrar granted: our Contact's expires in the 2xx, else its Expires, else what we asked. */
  private granted(response: SipResponse, asked: number): number {
    try {
      for (const c of response.contacts) {
        if (!uriEquals(c.uri, this.contact.uri)) continue;
        const e = c.params.get('expires');
        if (typeof e === 'string' && /^\d+$/.test(e)) return Number(e);
      }
      return response.expires ?? asked;
    } catch {
      return asked;
    }
  }

  private schedule(ms: number): void {
    this.cancelTimer();
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      if (this.active) void this.enqueue(() => this.doRegister());
    }, ms);
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) {
      this.clock.clearTimer(this.timer);
      this.timer = undefined;
    }
  }

  private hex(n: number): string {
    return Buffer.from(this.random(n)).toString('hex');
  }
}

function failure(status: number | undefined, reason: string, response?: SipResponse): RegistrationResult {
  return { ok: false, status, reason, response };
}

function describeFailure(outcome: RequestOutcome): Extract<RegistrationResult, { ok: false }> {
  switch (outcome.kind) {
    case 'response':
      return { ok: false, status: outcome.response.status, reason: outcome.response.reason, response: outcome.response };
    case 'timeout':
      return { ok: false, status: undefined, reason: 'no response (timeout)', response: undefined };
    default:
      return { ok: false, status: undefined, reason: `transport error: ${outcome.error.message}`, response: undefined };
  }
}

function safeContacts(response: SipResponse): NameAddr[] {
  try {
    return response.contacts;
  } catch {
    return [];
  }
}
