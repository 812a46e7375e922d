/**
 * The front door of the Call API: a {@link UserAgent} whose INVITE sessions become
 * {@link Call}s with media. `agent.on('call', …)` for incoming calls, `agent.call(target)`
 * for outgoing ones. It owns what calls share: the RTP port pool, the 20 ms media ticker,
 * the cache of decoded prompts, and the codec preferences for SDP.
 *
 * @example
 * ```ts
 * import { CallAgent } from 'switchboard/call';
 *
 * const agent = await CallAgent.start({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 5060 }] });
 * agent.on('call', async (call) => {
 *   await call.answer();
 *   await call.play({ tone: 'confirmation' });
 *   await call.hangup();
 * });
 * ```
 */
import { EventEmitter } from 'node:events';
import { NORTH_AMERICAN_TONES, type TonePlan } from '../codecs/index.js';
import { PortPool, RtpSession, type JitterBufferOptions } from '../rtp/index.js';
import {
  SdpNegotiator,
  UserAgent,
  systemClock,
  type CallOptions,
  type CodecPreference,
  type Destination,
  type HeaderValue,
  type IncomingRefer,
  type IncomingSession,
  type SdpNegotiatorOptions,
  type TimerClock,
  type UserAgentOptions,
} from '../sip/index.js';
import { WavCache } from './audio-source.js';
import { Call, type CallContext } from './call.js';
import { CallError } from './call-error.js';
import { quietG711Frame } from './call-media.js';
import { IntervalTicker, type MediaTicker } from './media-ticker.js';

/**
 * Media settings of a {@link CallAgent}.
 *
 * @example
 * ```ts
 * const media: CallMediaSettings = { address: '0.0.0.0', advertisedAddress: '203.0.113.5', portMin: 20000, portMax: 29999 };
 * ```
 */
export interface CallMediaSettings {
  /** Address RTP sockets bind to (default: the first SIP listener's address). */
  address?: string;
  /** Address written in SDP (default: `address`, or the SIP advertised host when binding to 0.0.0.0). */
  advertisedAddress?: string;
  /** RTP port range (even RTP ports, RTCP on the next odd one); without it, ephemeral ports. */
  portMin?: number;
  portMax?: number;
  /** Codec preference (default PCMU, then PCMA). */
  codecs?: CodecPreference[];
  /** Payload type of telephone-event in our offers (default 101). */
  telephoneEventPayloadType?: number;
  /** No RTP for this long ends the call (default 30 000 ms; 0 turns it off). */
  mediaTimeoutMs?: number;
  /** Hang up on a media timeout (default true); otherwise only the event. */
  hangupOnMediaTimeout?: boolean;
  /** In-band DTMF detection: `auto` (only without telephone-event, the default), `always`, `never`. */
  inbandDtmf?: 'auto' | 'always' | 'never';
  /** Jitter buffer settings of terminated media. */
  jitterBuffer?: JitterBufferOptions;
}

/**
 * Options of {@link CallAgent.start}: the {@link UserAgentOptions} (listeners, identity,
 * credentials…) plus media settings.
 *
 * @example
 * ```ts
 * await CallAgent.start({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }], media: { portMin: 20000, portMax: 20999 } });
 * ```
 */
export interface CallAgentOptions extends UserAgentOptions {
  media?: CallMediaSettings;
  /** Most calls at once (default 1000); more incoming calls get 503. */
  maxCalls?: number;
  /** Call-progress tones (default North American). */
  tonePlan?: TonePlan;
  /** Frame ticks (tests pass a ManualTicker). */
  ticker?: MediaTicker;
  /** Timers of digit collection and the like (tests pass a ManualClock). Default: the transaction clock or the system clock. */
  clock?: TimerClock;
  /** Decoded prompt cache size in samples (default 8 M, 16 MB). */
  promptCacheSamples?: number;
}

/**
 * Options of {@link CallAgent.call} and {@link CallAgent.dial}.
 *
 * @example
 * ```ts
 * await agent.call('sip:1002@pbx', { from: { uri: 'sip:1001@pbx', displayName: 'Alice' }, ringTimeoutMs: 30_000 });
 * ```
 */
export interface DialOptions {
  /** From of the INVITE (default: the agent's identity). */
  from?: CallOptions['from'];
  /** To of the INVITE (default: the target). */
  to?: CallOptions['to'];
  /** Extra headers. */
  headers?: Iterable<[string, HeaderValue]>;
  /** Credentials for this call's digest challenges (default: the agent's). */
  credentials?: CallOptions['credentials'];
  /** Where to send the INVITE (default: the outbound proxy or the target's host). */
  destination?: Destination;
  /** Give up (CANCEL) after this long without an answer; the call ends `no-answer`. */
  ringTimeoutMs?: number;
  /** Cancels the call when aborted before the answer. */
  signal?: AbortSignal;
}

/**
 * Events of a {@link CallAgent}.
 *
 * @example
 * ```ts
 * agent.on('error', (e, context) => log.warn(context, e));
 * ```
 */
export interface CallAgentEvents {
  /** A new incoming call. Without a listener it is refused with 480. */
  call: [call: Call];
  /** Errors nobody awaits. */
  error: [error: unknown, context: string];
}

/**
 * Incoming and outgoing calls with media (see the file comment).
 *
 * @example
 * ```ts
 * const agent = await CallAgent.start({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }] });
 * const call = await agent.call(`sip:echo@127.0.0.1:${otherPort}`);
 * ```
 */
export class CallAgent extends EventEmitter<CallAgentEvents> {
  /** The SIP user agent underneath (register, subscribe, message…). */
  readonly ua: UserAgent;
  private readonly ownsUa: boolean;
  private readonly live = new Set<Call>();
  private readonly bySession = new WeakMap<object, Call>();
  private readonly ctx: CallContext;
  private readonly settings: CallMediaSettings;
  private readonly sdpAddress: string;
  private readonly maxCalls: number;

  private constructor(ua: UserAgent, ownsUa: boolean, options: Omit<CallAgentOptions, 'listen'> & { listen?: UserAgentOptions['listen'] }) {
    // An async 'call' listener that rejects (the caller hung up mid-answer…) must not take
    // the process down: its rejection becomes an 'error' event (or a log line without one).
    super({ captureRejections: true });
    this.ua = ua;
    this.ownsUa = ownsUa;
    this.settings = options.media ?? {};
    this.maxCalls = options.maxCalls ?? 1000;
    const first = options.listen?.[0];
    const listenAddress = first?.address ?? '0.0.0.0';
    const bindAddress = this.settings.address ?? listenAddress;
    const unspecified = bindAddress === '0.0.0.0' || bindAddress === '::';
    this.sdpAddress = this.settings.advertisedAddress ?? (unspecified ? (options.advertisedHost ?? '127.0.0.1') : bindAddress);
    const pool = this.settings.portMin !== undefined || this.settings.portMax !== undefined ? new PortPool({ min: this.settings.portMin ?? 20000, max: this.settings.portMax ?? 29999 }) : undefined;
    const clock = options.clock ?? options.transaction?.clock ?? systemClock;
    const settings = this.settings;
    this.ctx = {
      ticker: options.ticker ?? new IntervalTicker(),
      clock,
      wavCache: new WavCache(options.promptCacheSamples),
      tonePlan: options.tonePlan ?? NORTH_AMERICAN_TONES,
      inbandDtmf: settings.inbandDtmf ?? 'auto',
      hangupOnMediaTimeout: settings.hangupOnMediaTimeout ?? true,
      openRtp: () =>
        RtpSession.open({
          address: bindAddress,
          ...(pool === undefined ? {} : { portPool: pool }),
          mediaTimeoutMs: settings.mediaTimeoutMs ?? 30_000,
          // Shrink the delay in pauses, not in the middle of a word.
          jitterBuffer: { canRemove: quietG711Frame, ...settings.jitterBuffer },
          ...(settings.telephoneEventPayloadType === undefined ? {} : { telephoneEventPayloadType: settings.telephoneEventPayloadType }),
        }),
      negotiatorOptions: (rtp) => this.negotiatorOptions(rtp),
      release: (call) => {
        this.live.delete(call);
      },
    };
    ua.on('invite', (session) => this.incoming(session));
  }

  /**
   * Starts a user agent with `options` and the Call API on top of it.
   *
   * @example
   * ```ts
   * const agent = await CallAgent.start({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 5060 }] });
   * ```
   */
  static async start(options: CallAgentOptions): Promise<CallAgent> {
    const ua = await UserAgent.start(options);
    return new CallAgent(ua, true, options);
  }

  /**
   * Puts the Call API on an existing user agent (its `invite` events become calls).
   *
   * @example
   * ```ts
   * const agent = CallAgent.attach(ua, { media: { portMin: 30000, portMax: 30999 } });
   * ```
   */
  static attach(ua: UserAgent, options: Omit<CallAgentOptions, 'listen'> & { listen?: UserAgentOptions['listen'] } = {}): CallAgent {
    return new CallAgent(ua, false, options);
  }

  /** @internal Where rejections of async listeners go (Node's captureRejections). */
  [Symbol.for('nodejs.rejection')](error: unknown, event: string | symbol): void {
    if (this.listenerCount('error') > 0) this.emit('error', error, `${String(event)} listener`);
    else console.error(`switchboard: a '${String(event)}' listener failed:`, error);
  }

  /** The SIP port (the first listener's). */
  get port(): number {
    return this.ua.port;
  }

  /** Calls in progress. */
  get calls(): ReadonlySet<Call> {
    return this.live;
  }

  /** The call of a SIP session, if it is one of ours. */
  callOf(session: object): Call | undefined {
    return this.bySession.get(session);
  }

  /** The negotiator options for a new RTP session. */
  private negotiatorOptions(rtp: RtpSession): SdpNegotiatorOptions {
    const o: SdpNegotiatorOptions = { address: this.sdpAddress, port: rtp.localPort };
    if (rtp.localRtcpPort !== rtp.localPort + 1) o.rtcpPort = rtp.localRtcpPort;
    if (this.settings.codecs !== undefined) o.codecs = this.settings.codecs;
    o.telephoneEvent = { payloadType: this.settings.telephoneEventPayloadType ?? 101 };
    return o;
  }

  private incoming(session: IncomingSession): void {
    if (this.live.size >= this.maxCalls) {
      session.reject(503);
      return;
    }
    const call = new Call(this.ctx, session);
    this.track(call);
    const replaced = session.replaces === undefined ? undefined : this.bySession.get(session.replaces);
    if (replaced !== undefined) {
      call.replaces = replaced;
      replaced.setEndReason('replaced');
    }
    if (this.listenerCount('call') === 0) {
      session.reject(480);
      return;
    }
    this.emit('call', call);
  }

  private track(call: Call): void {
    this.live.add(call);
    this.bySession.set(call.session, call);
  }

  /**
   * Starts an outgoing call and resolves once the INVITE is on its way (the call is
   * `calling`); follow its events. For a call you simply want answered, use {@link call}.
   *
   * @example
   * ```ts
   * const call = await agent.dial('sip:1002@pbx');
   * call.on('progress', (status) => console.log(status));
   * ```
   */
  async dial(target: string, options: DialOptions = {}): Promise<Call> {
    if (this.live.size >= this.maxCalls) throw new CallError('io', `too many calls (${this.maxCalls})`);
    let rtp: RtpSession;
    try {
      rtp = await this.ctx.openRtp();
    } catch (e) {
      throw new CallError('io', `no RTP port for the call: ${(e as Error).message}`, { cause: e });
    }
    const negotiator = new SdpNegotiator(this.negotiatorOptions(rtp));
    const invite: CallOptions = { body: negotiator.createOffer(), contentType: 'application/sdp' };
    if (options.from !== undefined) invite.from = options.from;
    if (options.to !== undefined) invite.to = options.to;
    if (options.headers !== undefined) invite.headers = options.headers;
    if (options.credentials !== undefined) invite.credentials = options.credentials;
    if (options.destination !== undefined) invite.destination = options.destination;
    let session;
    try {
      session = this.ua.invite(target, invite);
    } catch (e) {
      await rtp.close();
      throw new CallError('io', `cannot call ${target}: ${(e as Error).message}`, { cause: e });
    }
    const call = new Call(this.ctx, session, { rtp, negotiator });
    this.track(call);
    if (session.state === 'terminated') call.finish({ reason: 'failed' });
    if (options.ringTimeoutMs !== undefined) {
      const clock = this.ctx.clock;
      const t = clock.setTimer(() => {
        if (call.state === 'calling' || call.state === 'early') {
          call.setEndReason('no-answer');
          call.cancel();
        }
      }, options.ringTimeoutMs);
      void call.ended.then(() => clock.clearTimer(t));
      call.once('answered', () => clock.clearTimer(t));
    }
    const signal = options.signal;
    if (signal !== undefined) {
      const onAbort = (): void => call.cancel();
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        void call.ended.then(() => signal.removeEventListener('abort', onAbort));
        call.once('answered', () => signal.removeEventListener('abort', onAbort));
      }
    }
    return call;
  }

  /**
   * Calls `target` and resolves with the answered call; rejects with {@link CallError}
   * (`rejected` with the status, `timeout`, `cancelled`, `no-answer`…) when it is not answered.
   *
   * @example
   * ```ts
   * const call = await agent.call('sip:1002@127.0.0.1:5070', { ringTimeoutMs: 20_000 });
   * await call.play(promptPath('welcome'));
   * ```
   */
  async call(target: string, options: DialOptions = {}): Promise<Call> {
    const call = await this.dial(target, options);
    if (call.state === 'answered') return call;
    await new Promise<void>((resolve, reject) => {
      const onAnswered = (): void => {
        call.off('ended', onEnded);
        resolve();
      };
      const onEnded = (end: { reason: string; status?: number }): void => {
        call.off('answered', onAnswered);
        const code = end.reason === 'rejected' ? 'rejected' : end.reason === 'cancelled' ? 'cancelled' : end.reason === 'no-answer' ? 'timeout' : 'timeout';
        reject(new CallError(code, `call to ${target} ended: ${end.reason}${end.status === undefined ? '' : ` (${end.status})`}`, end.status === undefined ? {} : { status: end.status }));
      };
      call.once('answered', onAnswered);
      call.once('ended', onEnded);
    });
    return call;
  }

  /**
   * Acts on a transfer request as the transferee (RFC 3515 §2.4, RFC 5589): accepts the REFER,
   * calls the target (with the `Replaces` header an attended transfer carries), reports the
   * new call's progress to the transferor in NOTIFYs, and hangs up `call` (reason
   * `transferred`) once the new call is answered. Resolves with the new call, answered;
   * rejects with {@link CallError} when it fails (the old call stays up).
   *
   * @example
   * ```ts
   * call.on('transfer-request', (refer) => void agent.followTransfer(call, refer).then(onNewCall));
   * ```
   */
  async followTransfer(call: Call, refer: IncomingRefer, options: Omit<DialOptions, 'signal'> = {}): Promise<Call> {
    refer.accept();
    let next: Call;
    try {
      // Refer-To's URI keeps its header components (?Replaces=…); the UA turns them into headers.
      next = await this.dial(refer.referTo.uri.toString(), options);
    } catch (e) {
      void refer.notify(503, 'Service Unavailable');
      throw e;
    }
    // Progress goes to the transferor as NOTIFY sipfrag (RFC 3515 §2.4.5); the final one is
    // awaited before we hang up, or the BYE would end the dialog the NOTIFY travels in.
    next.on('progress', (status) => {
      if (status > 100) void refer.notify(status, status === 180 ? 'Ringing' : 'Session Progress');
    });
    await new Promise<void>((resolve, reject) => {
      next.once('answered', () => resolve());
      next.once('ended', (end) => {
        void refer.notify(end.status ?? 487, end.reason);
        reject(new CallError('transfer-failed', `the transfer target did not answer: ${end.reason}`, end.status === undefined ? {} : { status: end.status }));
      });
    });
    await refer.notify(200, 'OK');
    call.setEndReason('transferred');
    await call.hangup();
    return next;
  }

  /**
   * Hangs up every call, then stops the user agent (when the agent started it).
   *
   * @example
   * ```ts
   * process.on('SIGTERM', () => void agent.stop());
   * ```
   */
  async stop(): Promise<void> {
    // BYEs are answered in milliseconds; a dead peer must not hold the shutdown for 32 s.
    await Promise.race([Promise.all([...this.live].map((c) => c.hangup())), new Promise((r) => setTimeout(r, 3000).unref())]);
    if (this.ownsUa) await this.ua.stop();
  }
}
