/**
 * A telephone call: one SIP INVITE session ({@link AnyInviteSession}) joined to its RTP media
 * ({@link CallMedia}) through SDP offer/answer ({@link SdpNegotiator}). This is the object an
 * application works with — answer, play, record, collect digits, hold, transfer, bridge,
 * hang up — and what the PBX builds every leg from.
 *
 * ```
 *  incoming:  ringing ──answer()──► answered ──hangup() / BYE──► ended
 *               │  └─progress()─► early ─┘                      ▲
 *               └──reject() / CANCEL────────────────────────────┘
 *  outgoing:  calling ──1xx──► early ──2xx──► answered ──► ended
 *               └──────── failure / cancel ──────────────────► ended
 * ```
 *
 * Digits arrive three ways and the application sees one `dtmf` event: RFC 4733 telephone
 * events, SIP INFO (`application/dtmf-relay`, `application/dtmf`), and in-band tones found by
 * the detector (by default only when the peer did not negotiate telephone-event, since many
 * phones send both and the digit would count twice). Digits nobody is waiting for are kept
 * (type-ahead, at most 64) for the next {@link Call.collectDigits}.
 *
 * Operations started or running when the call ends resolve with reason `hangup` rather than
 * reject, so an IVR script needs no try/catch for the caller who hangs up.
 *
 * @example
 * ```ts
 * agent.on('call', async (call) => {
 *   await call.answer();
 *   await call.play(promptPath('welcome'));
 *   const { digits } = await call.collectDigits({ max: 1, timeoutMs: 5000 });
 *   await call.hangup();
 * });
 * ```
 */
import { EventEmitter } from 'node:events';
import { open } from 'node:fs/promises';
import { VoiceActivityDetector, WavStreamWriter, type TonePlan, type WavEncoding } from '../codecs/index.js';
import type { RtpSession } from '../rtp/index.js';
import {
  SdpNegotiationError,
  SdpNegotiator,
  type AnyInviteSession,
  type IncomingRefer,
  type IncomingReinvite,
  type IncomingSession,
  type NegotiatedMedia,
  type OutgoingSession,
  type SdpNegotiatorOptions,
  type SessionBody,
  type SessionEnd,
  type SipRequest,
  type SipResponse,
  type TimerClock,
} from '../sip/index.js';
import { openSource, type PlaySource, type WavCache } from './audio-source.js';
import { CallError } from './call-error.js';
import { Bridge, type BridgeOptions } from './bridge.js';
import { CallMedia } from './call-media.js';
import { DTMF_INFO_TYPES, formatDtmfInfo, parseDtmfInfo } from './dtmf-info.js';
import type { MediaTicker } from './media-ticker.js';

/**
 * Where a call stands (see the file comment's diagram).
 *
 * @example
 * ```ts
 * if (call.state === 'answered') await call.hangup();
 * ```
 */
export type CallState = 'ringing' | 'calling' | 'early' | 'answered' | 'ended';

/**
 * Why a call ended.
 * - `hangup`: we hung up; `remote-hangup`: the peer sent BYE.
 * - `rejected`: refused with a final status (either side); `cancelled`: the caller gave up
 *   before the answer (either side); `no-answer`: our ring timeout.
 * - `failed`: timeout or transport failure of the INVITE; `media-timeout`: no RTP for too
 *   long; `session-expired`: RFC 4028 refresh missing.
 * - `transferred`: a transfer completed; `replaced`: an INVITE with Replaces took over.
 *
 * @example
 * ```ts
 * call.on('ended', ({ reason, status }) => console.log(reason, status));
 * ```
 */
export type CallEndReason = 'hangup' | 'remote-hangup' | 'rejected' | 'cancelled' | 'no-answer' | 'failed' | 'media-timeout' | 'session-expired' | 'transferred' | 'replaced';

/**
 * How a call ended.
 *
 * @example
 * ```ts
 * const { reason, status } = await call.ended;
 * ```
 */
export interface CallEnd {
  reason: CallEndReason;
  /** The SIP status that decided it (486, 487, 603…), when there was one. */
  status?: number;
}

/**
 * How a digit arrived.
 *
 * @example
 * ```ts
 * call.on('dtmf', (digit, method: DtmfMethod) => log(digit, method));
 * ```
 */
export type DtmfMethod = 'rfc4733' | 'info' | 'inband';

/**
 * Events of a {@link Call}.
 *
 * @example
 * ```ts
 * call.on('hold', () => console.log('the caller put us on hold'));
 * ```
 */
export interface CallEvents {
  /** Every provisional response of an outgoing call (180, 183…). */
  progress: [status: number];
  /** The call was answered (the 2xx was received, or we answered). */
  answered: [];
  /** A digit, however it arrived. */
  dtmf: [digit: string, method: DtmfMethod];
  /** The peer put the call on hold (re-INVITE with sendonly/inactive or c=0.0.0.0). */
  hold: [];
  /** The peer took it off hold. */
  unhold: [];
  /** The media changed (codec, address, direction) after an offer/answer. */
  'media-updated': [media: NegotiatedMedia];
  /** No RTP from the peer for the media timeout (the call is hung up unless `hangupOnMediaTimeout` is false). */
  'media-timeout': [];
  /** Received audio, one 20 ms frame of 8 kHz PCM (a reused view: copy it to keep it). */
  audio: [pcm: Int16Array];
  /** The peer asks us to call someone (REFER). Without a listener the request is declined (603). */
  'transfer-request': [refer: IncomingRefer];
  /** The call ended. */
  ended: [end: CallEnd];
  /** Errors nobody awaits (a failed re-INVITE answer, a listener that threw). */
  error: [error: unknown];
}

/**
 * How a {@link Call.play} ended.
 *
 * @example
 * ```ts
 * const { reason, digit } = await call.play(menu, { bargeIn: true });
 * ```
 */
export interface PlayResult {
  reason: 'finished' | 'stopped' | 'digit' | 'hangup';
  /** The digit that interrupted a barge-in playback (it stays queued for collectDigits). */
  digit?: string;
}

/**
 * Options of {@link Call.play}.
 *
 * @example
 * ```ts
 * call.play(musicOnHoldPath(), { loop: true, signal: controller.signal });
 * ```
 */
export interface PlayOptions {
  /** Stop at the first digit (which stays queued for {@link Call.collectDigits}). */
  bargeIn?: boolean;
  /** Start over at the end, until stopped (files, samples and tones). */
  loop?: boolean;
  /** Stops the playback when aborted. */
  signal?: AbortSignal;
}

/**
 * Options of {@link Call.collectDigits}.
 *
 * @example
 * ```ts
 * await call.collectDigits({ max: 4, timeoutMs: 10_000, interDigitTimeoutMs: 3000, terminators: '#' });
 * ```
 */
export interface CollectOptions {
  /** Stop after this many digits (default 1). */
  max?: number;
  /** How long to wait for the first digit, ms (default 5000). */
  timeoutMs?: number;
  /** How long to wait for each further digit, ms (default 3000). */
  interDigitTimeoutMs?: number;
  /** Digits that end the input and are not part of it (default `#`; '' for none). */
  terminators?: string;
  /** Discard digits pressed before this call (default false: type-ahead counts). */
  flush?: boolean;
}

/**
 * What {@link Call.collectDigits} got.
 *
 * @example
 * ```ts
 * const { digits, reason } = await call.collectDigits({ max: 4 });
 * if (reason === 'timeout' && digits === '') await call.play(promptPath('goodbye'));
 * ```
 */
export interface CollectResult {
  digits: string;
  reason: 'max' | 'terminator' | 'timeout' | 'hangup';
  terminator?: string;
}

/**
 * Options of {@link Call.record}.
 *
 * @example
 * ```ts
 * await call.record('/var/spool/vm/1001/msg0001.wav', { maxSeconds: 180, stopOnDigits: '#', stopOnSilence: 5 });
 * ```
 */
export interface RecordOptions {
  /** Longest recording in seconds (default 300; 0 for no limit). */
  maxSeconds?: number;
  /** Digits that stop the recording (default `#`; '' for none). The digit is consumed. */
  stopOnDigits?: string;
  /** Stop after this many seconds without voice (default: never). */
  stopOnSilence?: number;
  /** File encoding (default `mulaw`: the call's own G.711, so nothing is lost). */
  format?: WavEncoding;
  /** Stops the recording when aborted. */
  signal?: AbortSignal;
}

/**
 * How a {@link Call.record} ended. The file is a valid WAV whatever the reason (its header is
 * kept current as it grows), including `hangup` and `error` (whatever was written before).
 *
 * @example
 * ```ts
 * const { durationMs, reason } = await call.record(path);
 * ```
 */
export interface RecordResult {
  path: string;
  durationMs: number;
  reason: 'digit' | 'silence' | 'max' | 'hangup' | 'stopped' | 'error';
  digit?: string;
  /** The write error, for `error`. */
  error?: Error;
}

/**
 * Options of {@link Call.sendDigits}.
 *
 * @example
 * ```ts
 * await call.sendDigits('1234#', { method: 'info' });
 * ```
 */
export interface SendDigitsOptions {
  /** Default `rfc4733` (falls back to `inband` when the peer has no telephone-event). */
  method?: DtmfMethod;
  /** Tone length per digit, ms (default 100). */
  durationMs?: number;
  /** Pause between digits, ms (default 100). */
  gapMs?: number;
}

/**
 * How a transfer ended.
 *
 * @example
 * ```ts
 * const { status } = await call.transfer('sip:1002@pbx.example.com');
 * ```
 */
export interface TransferResult {
  /** The final status of the transferee's new call, from the NOTIFY sipfrag. */
  status: number;
  reason: string;
}

/** @internal What a call needs from its {@link CallAgent}. */
export interface CallContext {
  readonly ticker: MediaTicker;
  readonly clock: TimerClock;
  readonly wavCache: WavCache;
  readonly tonePlan: TonePlan;
  readonly inbandDtmf: 'auto' | 'always' | 'never';
  readonly hangupOnMediaTimeout: boolean;
  /** Opens an RTP session for a new call. */
  openRtp(): Promise<RtpSession>;
  /** The negotiator options for a session (our address and port, codecs). */
  negotiatorOptions(rtp: RtpSession): SdpNegotiatorOptions;
  /** The call ended (drop it from the agent). */
  release(call: Call): void;
}

const SDP = 'application/sdp';
const MAX_TYPE_AHEAD = 64;

interface DigitWaiter {
  (digit: string): boolean; // true: consumed
}

function sessionEndToCall(end: SessionEnd): CallEnd {
  const status = end.status;
  const withStatus = (reason: CallEndReason): CallEnd => (status === undefined ? { reason } : { reason, status });
  switch (end.reason) {
    case 'local-bye':
      return withStatus('hangup');
    case 'remote-bye':
      return withStatus('remote-hangup');
    case 'cancelled':
      return withStatus('cancelled');
    case 'rejected':
    case 'redirected':
      return withStatus('rejected');
    case 'session-expired':
      return withStatus('session-expired');
    default:
      return withStatus('failed');
  }
}

/**
 * One call (see the file comment).
 *
 * @example
 * ```ts
 * const call = await agent.call('sip:1002@127.0.0.1:5060');
 * await call.play({ tone: 'confirmation' });
 * await call.hangup();
 * ```
 */
export class Call extends EventEmitter<CallEvents> {
  /** `incoming` (we were called) or `outgoing`. */
  readonly direction: 'incoming' | 'outgoing';
  /** The SIP session underneath (for headers, the dialog, and anything the Call API does not cover). */
  readonly session: AnyInviteSession;
  /** Resolves when the call ends (never rejects). */
  readonly ended: Promise<CallEnd>;
  /** When the call was created, answered and ended (ms since the epoch, from the agent's clock). */
  readonly startTime: number;
  answerTime: number | undefined;
  endTime: number | undefined;
  /** How the call ended, once it has. */
  end: CallEnd | undefined;
  /** @internal The media engine (undefined until answer or early media). */
  media: CallMedia | undefined;
  /** The negotiator (undefined until media was opened). */
  negotiator: SdpNegotiator | undefined;
  /** The call this one replaces (an INVITE with Replaces: attended transfer, pickup). */
  replaces: Call | undefined;
  /** True while the peer holds us. */
  remoteHold = false;
  private state_: CallState;
  private readonly ctx: CallContext;
  private resolveEnded!: (end: CallEnd) => void;
  private readonly typeAhead: string[] = [];
  private readonly waiters = new Set<DigitWaiter>();
  /** Undo functions run when the call ends (timers, listeners). */
  private readonly onEnd = new Set<() => void>();
  private lastDigit = { digit: '', at: -Infinity, method: 'rfc4733' as DtmfMethod };
  private mediaOpening: Promise<CallMedia> | undefined;
  /** The SDP answer last taken from a response (a 183 and its 2xx carry the same one). */
  private lastAnswer: Buffer | undefined;
  private endReasonOverride: CallEndReason | undefined;

  /** @internal Created by {@link CallAgent}. */
  constructor(ctx: CallContext, session: AnyInviteSession, media?: { rtp: RtpSession; negotiator: SdpNegotiator }) {
    super({ captureRejections: true });
    this.ctx = ctx;
    this.session = session;
    this.direction = session.direction;
    this.state_ = session.direction === 'incoming' ? 'ringing' : 'calling';
    this.startTime = ctx.clock.now();
    this.ended = new Promise<CallEnd>((resolve) => (this.resolveEnded = resolve));
    if (media !== undefined) {
      this.negotiator = media.negotiator;
      this.media = this.createMedia(media.rtp);
      this.mediaOpening = Promise.resolve(this.media);
    }
    session.on('terminated', (end) => this.finish(sessionEndToCall(end)));
    session.on('reinvite', (r) => this.onReinvite(r));
    session.on('info', (req) => this.onInfo(req));
    session.on('refer', (refer) => {
      if (this.listenerCount('transfer-request') > 0) this.emit('transfer-request', refer);
      else refer.reject(603);
    });
    if (session.direction === 'outgoing') this.watchOutgoing(session);
  }

  /** @internal Rejections of async listeners become 'error' events (or a log line without a listener). */
  [Symbol.for('nodejs.rejection')](error: unknown, event: string | symbol): void {
    if (event !== 'error' && this.listenerCount('error') > 0) this.emit('error', error);
    else console.error(`switchboard: a call '${String(event)}' listener failed:`, error);
  }

  /**
   * Reports an error nobody awaits: the `error` event when someone listens. Without a
   * listener Node would throw from emit('error') — inside a SIP or socket callback — so
   * the error is dropped instead: the call goes on or ends through its own events.
   */
  private reportError(error: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  /** True while we hold the peer (our hold() succeeded, unhold() not yet). */
  get onHold(): boolean {
    return this.session.onHold;
  }

  /** True once the call has ended (a getter, so TypeScript does not narrow it across awaits). */
  get hasEnded(): boolean {
    return this.state_ === 'ended';
  }

  /** Where the call stands. */
  get state(): CallState {
    return this.state_;
  }

  /** The Call-ID. */
  get id(): string {
    return this.session.callId;
  }

  /** The other party's URI (From of an incoming call, To of an outgoing one). */
  get remoteUri(): string {
    return this.session.remoteIdentity.uri.toString();
  }

  /** The other party's display name, if it sent one. */
  get remoteName(): string | undefined {
    return this.session.remoteIdentity.displayName;
  }

  /** The user part of the other party's URI (`1001` of `sip:1001@pbx`), or the whole URI. */
  get remoteUser(): string {
    const uri = this.session.remoteIdentity.uri;
    return 'user' in uri && typeof uri.user === 'string' ? uri.user : uri.toString();
  }

  /** The URI the caller dialled (Request-URI of an incoming call, the target of an outgoing one). */
  get calledUri(): string {
    return this.session.request.uri.toString();
  }

  /** What offer/answer settled on: codec, payload types, remote address, directions. */
  get negotiated(): NegotiatedMedia | undefined {
    return this.media?.negotiated;
  }

  // ------------------------------------------------------------------ answering

  /** Sends 180 Ringing (incoming calls). */
  ring(): void {
    if (this.state_ !== 'ringing') return;
    (this.session as IncomingSession).ringing();
  }

  /**
   * Sends 183 Session Progress with our SDP answer, so what we play is heard before the
   * answer (early media: announcements, ringback, music). Incoming calls only.
   */
  async progress(): Promise<void> {
    if (this.state_ !== 'ringing' && this.state_ !== 'early') throw new CallError('bad-state', `progress() on a call that is ${this.state_}`);
    const incoming = this.session as IncomingSession;
    const body = await this.prepareAnswer(incoming);
    if (this.hasEnded) return;
    incoming.progress({ body, contentType: SDP });
    this.state_ = 'early';
  }

  /**
   * Answers an incoming call (200 OK with our SDP) and resolves when the caller's ACK
   * arrives. Throws {@link CallError} `incompatible-media` (after answering 488) when the
   * offer has no audio we speak, and `bad-state` when the call has ended.
   */
  async answer(): Promise<void> {
    if (this.direction !== 'incoming') throw new CallError('bad-state', 'answer() is for incoming calls');
    if (this.state_ === 'answered') return;
    if (this.state_ !== 'ringing' && this.state_ !== 'early') throw new CallError('bad-state', `the call is ${this.state_}`);
    const incoming = this.session as IncomingSession;
    const body = await this.prepareAnswer(incoming);
    if (this.hasEnded) throw new CallError('bad-state', 'the caller hung up before the answer');
    const lateOffer = incoming.offer === undefined;
    const acked = incoming.accept({ body, contentType: SDP });
    this.markAnswered();
    try {
      await acked;
    } catch (e) {
      throw new CallError('bad-state', 'the call ended before the caller acknowledged the answer', { cause: e });
    }
    // RFC 3264 §5 late offer: the INVITE had no SDP, ours went in the 200, the answer is in the ACK.
    if (lateOffer) this.takeAckAnswer(incoming);
  }

  private takeAckAnswer(incoming: IncomingSession): void {
    const answer = incoming.remoteBody;
    if (answer === undefined || this.negotiator === undefined) return;
    try {
      this.applyMedia(this.negotiator.receiveAnswer(answer.body));
    } catch (e) {
      this.reportError(e);
      void this.hangup();
    }
  }

  /** Refuses an incoming call (486 Busy Here by default; 603 Decline, 480, 404…). */
  reject(status = 486): void {
    if (this.direction !== 'incoming' || (this.state_ !== 'ringing' && this.state_ !== 'early')) return;
    (this.session as IncomingSession).reject(status);
  }

  /** Opens media and builds the SDP of an answer (or of our offer, for a late-offer INVITE). */
  private async prepareAnswer(incoming: IncomingSession): Promise<string> {
    const media = await this.openMedia();
    const negotiator = this.negotiator!;
    const offer = incoming.offer;
    if (this.media === undefined || this.hasEnded) return '';
    if (offer === undefined) return negotiator.createOffer();
    if (offer.contentType !== SDP) {
      incoming.reject(415);
      throw new CallError('incompatible-media', `the offer is ${offer.contentType}, not SDP`);
    }
    // An answer already given in a 183 is repeated unchanged in the 200 (RFC 3264 §4: one offer, one answer).
    if (this.state_ === 'early' && media.negotiated !== undefined && incoming.localBody !== undefined) return incoming.localBody.body.toString('utf8');
    try {
      const { answer, media: negotiated } = negotiator.receiveOffer(offer.body);
      this.applyMedia(negotiated);
      return answer;
    } catch (e) {
      if (e instanceof SdpNegotiationError) {
        incoming.reject(e.status);
        throw new CallError('incompatible-media', e.message, { status: e.status, cause: e });
      }
      throw e;
    }
  }

  private async openMedia(): Promise<CallMedia> {
    if (this.mediaOpening === undefined) {
      this.mediaOpening = (async () => {
        let rtp: RtpSession;
        try {
          rtp = await this.ctx.openRtp();
        } catch (e) {
          if (this.direction === 'incoming') (this.session as IncomingSession).reject(503);
          throw new CallError('io', `no RTP port for the call: ${(e as Error).message}`, { cause: e });
        }
        if (this.hasEnded) {
          await rtp.close();
          throw new CallError('bad-state', 'the call ended while its media was being set up');
        }
        this.negotiator = new SdpNegotiator(this.ctx.negotiatorOptions(rtp));
        this.media = this.createMedia(rtp);
        return this.media;
      })();
    }
    return this.mediaOpening;
  }

  private createMedia(rtp: RtpSession): CallMedia {
    const media = new CallMedia(rtp, this.ctx.ticker, {
      onInbandDigit: (d) => this.digit(d, 'inband'),
      onError: (e) => this.reportError(e),
    });
    rtp.on('dtmf', (r) => {
      if (r.digit !== undefined) this.digit(r.digit, 'rfc4733');
    });
    rtp.on('timeout', () => this.onMediaTimeout());
    rtp.on('error', (e) => this.reportError(e));
    media.addSink((pcm) => {
      if (this.listenerCount('audio') > 0) this.emit('audio', pcm);
    });
    return media;
  }

  private onMediaTimeout(): void {
    if (this.state_ !== 'answered') return;
    // A peer that holds us with `inactive` (or sends nothing on recvonly) is silent on purpose.
    const d = this.media?.negotiated?.remoteDirection;
    if (d === 'inactive' || d === 'recvonly' || this.remoteHold) return;
    this.emit('media-timeout');
    if (this.ctx.hangupOnMediaTimeout) {
      this.endReasonOverride = 'media-timeout';
      void this.hangup();
    }
  }

  private markAnswered(): void {
    if (this.state_ === 'answered' || this.hasEnded) return;
    this.state_ = 'answered';
    this.answerTime = this.ctx.clock.now();
    this.emit('answered');
  }

  /** Takes a negotiation result into the media and reports hold changes. */
  private applyMedia(negotiated: NegotiatedMedia): void {
    const media = this.media;
    if (media === undefined) return;
    media.apply(negotiated);
    const mode = this.ctx.inbandDtmf;
    media.inbandDtmf = mode === 'always' || (mode === 'auto' && negotiated.telephoneEvent === undefined);
    const held = negotiated.remoteHold;
    if (held !== this.remoteHold) {
      this.remoteHold = held;
      this.emit(held ? 'hold' : 'unhold');
    }
    this.emit('media-updated', negotiated);
  }

  // ------------------------------------------------------------------ outgoing

  private watchOutgoing(session: OutgoingSession): void {
    session.on('progress', (res) => {
      if (res.status > 100 && this.state_ === 'calling') this.state_ = 'early';
      this.emit('progress', res.status);
    });
    session.on('early-media', (res) => this.takeAnswer(res.body, res));
    session.on('established', (res) => {
      // The state is 'answered' before the answer's media is applied, so listeners of
      // 'media-updated' do not mistake the 2xx's SDP for early media.
      if (this.state_ === 'calling' || this.state_ === 'early') this.state_ = 'answered';
      if (res.body.length > 0) this.takeAnswer(res.body, res);
      this.answerTime = this.ctx.clock.now();
      this.emit('answered');
    });
  }

  /** The answer to our offer (from a 183 or the 2xx); a second identical answer changes nothing. */
  private takeAnswer(body: Buffer, res: SipResponse): void {
    const negotiator = this.negotiator;
    if (negotiator === undefined || this.media === undefined) return;
    let type = SDP;
    try {
      type = res.contentType?.essence ?? SDP;
    } catch {
      // an unreadable Content-Type: try SDP
    }
    if (type !== SDP) return;
    // The 2xx repeats the answer a 183 already gave (RFC 3264 §4: one answer per offer):
    // nothing changes. A different body without an offer pending is the peer's mistake.
    const last = this.lastAnswer;
    if (last !== undefined && last.equals(body)) return;
    if (last !== undefined && !negotiator.hasPendingOffer) {
      this.reportError(new CallError('incompatible-media', 'the peer sent a second, different SDP answer; keeping the first'));
      return;
    }
    this.lastAnswer = Buffer.from(body);
    try {
      this.applyMedia(negotiator.receiveAnswer(body));
    } catch (e) {
      this.reportError(e);
      if (res.status >= 200) void this.hangup();
    }
  }

  /**
   * Cancels an outgoing call that has not been answered. `headers` go on the CANCEL, e.g.
   * `[['Reason', 'SIP;cause=200;text="Call completed elsewhere"']]` (RFC 3326) when another
   * phone took the call.
   *
   * @example
   * ```ts
   * setTimeout(() => call.cancel(), 30_000);
   * ```
   */
  cancel(headers?: Iterable<[string, string]>): void {
    if (this.direction === 'outgoing' && (this.state_ === 'calling' || this.state_ === 'early')) (this.session as OutgoingSession).cancel(headers);
  }

  /** @internal Marks the end reason a later hang-up should report (ring timeout). */
  setEndReason(reason: CallEndReason): void {
    this.endReasonOverride = reason;
  }

  // ------------------------------------------------------------------ digits

  private digit(digit: string, method: DtmfMethod): void {
    if (this.hasEnded) return;
    const now = this.ctx.clock.now();
    // The same key reported by two methods (a phone sending RFC 4733 and INFO, or tones as
    // well as events) within 200 ms counts once.
    if (digit === this.lastDigit.digit && method !== this.lastDigit.method && now - this.lastDigit.at < 200) return;
    this.lastDigit = { digit, at: now, method };
    this.emit('dtmf', digit, method);
    for (const w of [...this.waiters]) if (w(digit)) return;
    if (this.typeAhead.length < MAX_TYPE_AHEAD) this.typeAhead.push(digit);
  }

  private onInfo(req: SipRequest): void {
    let type: string | undefined;
    try {
      type = req.contentType?.essence;
    } catch {
      return;
    }
    if (type === undefined || !DTMF_INFO_TYPES.includes(type)) return;
    const parsed = parseDtmfInfo(type, req.body.toString('latin1'));
    if (parsed !== undefined) this.digit(parsed.digit, 'info');
  }

  /**
   * Waits for digits: up to `max`, until a terminator, or until a timeout. Digits pressed
   * earlier (during a prompt) count first unless `flush` is set.
   *
   * @example
   * ```ts
   * const { digits, reason } = await call.collectDigits({ max: 4, terminators: '#' });
   * ```
   */
  collectDigits(options: CollectOptions = {}): Promise<CollectResult> {
    const max = options.max ?? 1;
    const terminators = options.terminators ?? '#';
    const first = options.timeoutMs ?? 5000;
    const inter = options.interDigitTimeoutMs ?? 3000;
    if (options.flush) this.typeAhead.length = 0;
    if (this.hasEnded) return Promise.resolve({ digits: '', reason: 'hangup' });
    return new Promise<CollectResult>((resolve) => {
      let digits = '';
      let timer: ReturnType<TimerClock['setTimer']> | undefined;
      const clock = this.ctx.clock;
      const done = (result: CollectResult): void => {
        if (timer !== undefined) clock.clearTimer(timer);
        this.waiters.delete(waiter);
        this.onEnd.delete(onEnd);
        resolve(result);
      };
      const arm = (ms: number): void => {
        if (timer !== undefined) clock.clearTimer(timer);
        timer = clock.setTimer(() => done({ digits, reason: 'timeout' }), ms);
      };
      const take = (d: string): boolean => {
        if (terminators.includes(d)) {
          done({ digits, reason: 'terminator', terminator: d });
          return true;
        }
        digits += d;
        if (digits.length >= max) done({ digits, reason: 'max' });
        else arm(inter);
        return true;
      };
      const waiter: DigitWaiter = (d) => take(d);
      const onEnd = (): void => done({ digits, reason: 'hangup' });
      this.onEnd.add(onEnd);
      this.waiters.add(waiter);
      arm(first);
      while (this.typeAhead.length > 0 && this.waiters.has(waiter)) take(this.typeAhead.shift()!);
    });
  }

  /**
   * Sends digits: RFC 4733 events by default (in-band tones when the peer has no
   * telephone-event), or SIP INFO (`application/dtmf-relay`), or in-band tones.
   *
   * @example
   * ```ts
   * await call.sendDigits('123#');
   * ```
   */
  async sendDigits(digits: string, options: SendDigitsOptions = {}): Promise<void> {
    for (const d of digits) if (!'0123456789*#ABCDabcd'.includes(d)) throw new CallError('bad-source', `not a DTMF digit: ${JSON.stringify(d)}`);
    if (this.state_ !== 'answered' && this.state_ !== 'early') throw new CallError('bad-state', `sendDigits() on a call that is ${this.state_}`);
    const duration = options.durationMs ?? 100;
    const gap = options.gapMs ?? 100;
    let method = options.method ?? 'rfc4733';
    if (method === 'rfc4733' && this.media?.negotiated?.telephoneEvent === undefined) method = 'inband';
    if (method === 'inband') {
      await this.play({ dtmf: digits.toUpperCase(), toneMs: duration, gapMs: gap });
      return;
    }
    for (const d of digits.toUpperCase()) {
      if (this.hasEnded) return;
      if (method === 'info') await this.session.sendRequest('INFO', { body: formatDtmfInfo(d, duration), contentType: 'application/dtmf-relay' });
      else await this.media!.session.sendDigit(d, duration);
      await this.sleep(gap);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = this.ctx.clock.setTimer(() => {
        this.onEnd.delete(stop);
        resolve();
      }, ms);
      const stop = (): void => {
        this.ctx.clock.clearTimer(t);
        resolve();
      };
      this.onEnd.add(stop);
    });
  }

  // ------------------------------------------------------------------ play and record

  private needMedia(op: string): CallMedia | undefined {
    if (this.hasEnded) return undefined;
    const media = this.media;
    if (media === undefined || (this.state_ !== 'answered' && this.state_ !== 'early')) {
      throw new CallError('bad-state', `${op}() needs an answered call (or early media); the call is ${this.state_}`);
    }
    if (this.bridge_ !== undefined) throw new CallError('bad-state', `${op}() on a bridged call: unbridge() first`);
    return media;
  }

  /**
   * Plays something to the peer and resolves when it has been sent in full, stopped, or
   * interrupted by a digit (`bargeIn`). A new play() stops the one running. A bridged call
   * cannot play (the bridge owns its media): unbridge first.
   *
   * @example
   * ```ts
   * await call.play([promptPath('you-pressed'), ...digitPrompts(digits)]);
   * ```
   */
  async play(source: PlaySource, options: PlayOptions = {}): Promise<PlayResult> {
    const media = this.needMedia('play');
    if (media === undefined) return { reason: 'hangup' };
    if (options.signal?.aborted) return { reason: 'stopped' };
    const frames = await openSource(source, this.ctx.wavCache, this.ctx.tonePlan, options.loop ?? false);
    if (this.hasEnded) {
      frames.close();
      return { reason: 'hangup' };
    }
    let digit: string | undefined;
    const cleanups: (() => void)[] = [];
    if (options.bargeIn) {
      const onDigit = (d: string): void => {
        digit ??= d;
        media.stopPlayback();
      };
      this.on('dtmf', onDigit);
      cleanups.push(() => this.off('dtmf', onDigit));
      if (this.typeAhead.length > 0) digit = this.typeAhead[0];
    }
    if (options.signal !== undefined) {
      const onAbort = (): void => media.stopPlayback();
      options.signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => options.signal!.removeEventListener('abort', onAbort));
    }
    const onEnd = (): void => media.stopPlayback();
    this.onEnd.add(onEnd);
    cleanups.push(() => this.onEnd.delete(onEnd));
    try {
      if (digit !== undefined) {
        frames.close();
        return { reason: 'digit', digit };
      }
      const finished = await media.play(frames);
      if (finished) return { reason: 'finished' };
      if (this.hasEnded) return { reason: 'hangup' };
      return digit !== undefined ? { reason: 'digit', digit } : { reason: 'stopped' };
    } finally {
      for (const c of cleanups) c();
    }
  }

  /** Stops what play() is playing (it resolves `stopped`). */
  stopPlayback(): void {
    this.media?.stopPlayback();
  }

  /**
   * Records what the peer says into a WAV file until a stop digit, silence, the maximum
   * length, stopRecording(), or the end of the call. The file's header is rewritten after
   * every write, so even a crash leaves a playable file.
   *
   * @example
   * ```ts
   * await call.play(promptPath('beep'));
   * const { durationMs } = await call.record('message.wav', { maxSeconds: 120, stopOnSilence: 5 });
   * ```
   */
  async record(path: string, options: RecordOptions = {}): Promise<RecordResult> {
    const media = this.needMedia('record');
    if (media === undefined) return { path, durationMs: 0, reason: 'hangup' };
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, 'w');
    } catch (e) {
      throw new CallError('record-failed', `cannot create ${path}: ${(e as Error).message}`, { cause: e });
    }
    const fh = handle;
    let failure: Error | undefined;
    const writer = new WavStreamWriter(
      {
        write: async (data, position) => void (await fh.write(data, 0, data.length, position)),
        sync: () => fh.sync(),
        close: () => fh.close(),
      },
      { format: options.format ?? 'mulaw', sampleRate: 8000, onError: (e) => (failure = e) },
    );
    const maxFrames = (options.maxSeconds ?? 300) > 0 ? Math.round(((options.maxSeconds ?? 300) * 1000) / 20) : Infinity;
    const stopDigits = options.stopOnDigits ?? '#';
    const vad = options.stopOnSilence !== undefined ? new VoiceActivityDetector() : undefined;
    const silenceMs = (options.stopOnSilence ?? 0) * 1000;
    let frames = 0;
    let result: Omit<RecordResult, 'path' | 'durationMs'> | undefined;
    let stop!: (r: Omit<RecordResult, 'path' | 'durationMs'>) => void;
    const stopped = new Promise<Omit<RecordResult, 'path' | 'durationMs'>>((resolve) => (stop = resolve));
    const finish = (r: Omit<RecordResult, 'path' | 'durationMs'>): void => {
      if (result !== undefined) return;
      result = r;
      stop(r);
    };
    const removeSink = media.addSink((pcm) => {
      if (result !== undefined) return;
      if (failure !== undefined) return finish({ reason: 'error', error: failure });
      writer.write(pcm);
      frames++;
      if (frames >= maxFrames) return finish({ reason: 'max' });
      if (vad !== undefined) {
        vad.process(pcm);
        if (vad.silenceMs >= silenceMs) finish({ reason: 'silence' });
      }
    });
    const waiter: DigitWaiter = (d) => {
      if (!stopDigits.includes(d)) return false;
      finish({ reason: 'digit', digit: d });
      return true;
    };
    this.waiters.add(waiter);
    this.recordStop = () => finish({ reason: 'stopped' });
    const onEnd = (): void => finish({ reason: 'hangup' });
    this.onEnd.add(onEnd);
    const onAbort = (): void => finish({ reason: 'stopped' });
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    const r = await stopped;
    removeSink();
    this.waiters.delete(waiter);
    this.onEnd.delete(onEnd);
    options.signal?.removeEventListener('abort', onAbort);
    this.recordStop = undefined;
    try {
      await writer.close();
    } catch (e) {
      failure ??= e as Error;
    }
    const durationMs = frames * 20;
    if (failure !== undefined && r.reason !== 'error') return { path, durationMs, reason: 'error', error: failure };
    return { path, durationMs, ...r };
  }

  private recordStop: (() => void) | undefined;

  // ------------------------------------------------------------------ bridging

  /** @internal The bridge this call is in. */
  bridge_: Bridge | undefined;

  /** The bridge this call is in, if any. */
  get bridged(): Bridge | undefined {
    return this.bridge_;
  }

  /**
   * Connects this call's media to `other`'s: packets are relayed both ways (transcoded
   * µ-law ↔ A-law when the two differ), see {@link Bridge}. Playback on both stops; a bridge
   * either call was in ends first. By default, when one call ends the other is hung up.
   *
   * @example
   * ```ts
   * const agentCall = await agent.call('sip:1002@pbx');
   * caller.bridge(agentCall);
   * ```
   */
  bridge(other: Call, options: BridgeOptions = {}): Bridge {
    if (other === this) throw new CallError('bad-state', 'a call cannot be bridged to itself');
    for (const c of [this, other]) {
      if (c.state_ !== 'answered' && c.state_ !== 'early') throw new CallError('bad-state', `cannot bridge a call that is ${c.state_}`);
      if (c.media === undefined) throw new CallError('bad-state', 'cannot bridge a call without media');
    }
    this.bridge_?.unbridge();
    other.bridge_?.unbridge();
    const bridge = new Bridge(this, other, this.media!, other.media!, options);
    this.bridge_ = bridge;
    other.bridge_ = bridge;
    return bridge;
  }

  /** Stops a running record() (it resolves `stopped`). */
  stopRecording(): void {
    this.recordStop?.();
  }

  // ------------------------------------------------------------------ hold, transfer

  /**
   * Puts the peer on hold: a re-INVITE offering `sendonly` (RFC 3264 §8.4). Play music to
   * them afterwards if you like — we still send.
   *
   * @example
   * ```ts
   * await call.hold();
   * void call.play(musicOnHoldPath(), { loop: true });
   * ```
   */
  async hold(): Promise<void> {
    await this.reoffer(true);
  }

  /** Takes the peer off hold (re-INVITE with `sendrecv`). */
  async unhold(): Promise<void> {
    await this.reoffer(false);
  }

  private async reoffer(hold: boolean): Promise<void> {
    if (this.state_ !== 'answered' || this.negotiator === undefined) throw new CallError('bad-state', `hold/unhold on a call that is ${this.state_}`);
    this.negotiator.hold = hold;
    const offer = this.negotiator.createOffer();
    let res: SipResponse;
    try {
      // The session's hold()/unhold() send our offer as it is and keep its onHold.
      res = await (hold ? this.session.hold(offer) : this.session.unhold(offer));
    } catch (e) {
      this.negotiator.hold = !hold;
      throw new CallError('bad-state', `the re-INVITE failed: ${(e as Error).message}`, { cause: e });
    }
    if (res.body.length > 0) this.applyMedia(this.negotiator.receiveAnswer(res.body));
  }

  private onReinvite(r: IncomingReinvite): void {
    const negotiator = this.negotiator;
    if (negotiator === undefined) {
      r.reject(488);
      return;
    }
    const offer: SessionBody | undefined = r.offer;
    if (offer === undefined) {
      // No offer (a refresh, or a peer asking for ours): offer in the 200, answer in the ACK.
      if (r.request.method !== 'INVITE') {
        r.accept();
        return;
      }
      r.accept({ body: negotiator.createOffer(), contentType: SDP });
      this.session.once('confirmed', (ack) => {
        if (ack.body.length === 0) return;
        try {
          this.applyMedia(negotiator.receiveAnswer(ack.body));
        } catch (e) {
          this.reportError(e);
        }
      });
      return;
    }
    if (offer.contentType !== SDP) {
      r.reject(488);
      return;
    }
    try {
      const { answer, media } = negotiator.receiveOffer(offer.body);
      r.accept({ body: answer, contentType: SDP });
      this.applyMedia(media);
    } catch (e) {
      if (e instanceof SdpNegotiationError) r.reject(e.status);
      else {
        r.reject(500);
        this.reportError(e);
      }
    }
  }

  /**
   * Blind transfer (RFC 3515): asks the peer to call `target`, waits for the outcome from the
   * NOTIFYs, and hangs up once the new call is answered (RFC 5589 §6). Throws
   * {@link CallError} `transfer-failed` (the call stays up) when the peer refuses or the new
   * call fails.
   *
   * @example
   * ```ts
   * await call.transfer('sip:1002@pbx.example.com');
   * ```
   */
  async transfer(target: string): Promise<TransferResult> {
    return this.referAndEnd(target);
  }

  /**
   * Attended transfer (RFC 5589 §7): we have this call and `other`; the peer of this call is
   * asked to call `other`'s peer with `Replaces`, which takes over our leg there. Both our
   * calls end when it succeeds.
   *
   * @example
   * ```ts
   * await caller.hold();
   * const consult = await agent.call('sip:1003@pbx');
   * await caller.attendedTransfer(consult);
   * ```
   */
  async attendedTransfer(other: Call): Promise<TransferResult> {
    if (other.state !== 'answered' && other.state !== 'early') throw new CallError('bad-state', `the other call is ${other.state}`);
    const result = await this.referAndEnd(other.session);
    // The target ends its dialog with us when the Replaces INVITE lands; make sure it goes.
    if (!other.hasEnded) {
      const t = this.ctx.clock.setTimer(() => void other.hangup(), 5000);
      void other.ended.then(() => this.ctx.clock.clearTimer(t));
    }
    return result;
  }

  private async referAndEnd(target: string | AnyInviteSession): Promise<TransferResult> {
    if (this.state_ !== 'answered') throw new CallError('bad-state', `transfer on a call that is ${this.state_}`);
    let refer;
    try {
      refer = this.session.refer(target);
    } catch (e) {
      throw new CallError('transfer-failed', (e as Error).message, { cause: e });
    }
    const result = await refer.result;
    if (!result.accepted || result.status < 200 || result.status >= 300) {
      throw new CallError('transfer-failed', `transfer failed: ${result.status} ${result.reason}`.trim(), { status: result.status });
    }
    this.endReasonOverride = 'transferred';
    await this.hangup();
    return { status: result.status, reason: result.reason };
  }

  // ------------------------------------------------------------------ ending

  /**
   * Ends the call, whatever its state: BYE when answered, CANCEL when ringing out, 603 when
   * ringing in. Resolves once it has ended.
   *
   * @example
   * ```ts
   * await call.hangup();
   * ```
   */
  async hangup(): Promise<CallEnd> {
    if (this.hasEnded) return this.end!;
    if (this.direction === 'outgoing' && (this.state_ === 'calling' || this.state_ === 'early')) {
      this.endReasonOverride ??= 'cancelled';
      (this.session as OutgoingSession).cancel();
    } else if (this.direction === 'incoming' && (this.state_ === 'ringing' || this.state_ === 'early')) {
      (this.session as IncomingSession).reject(603);
    } else {
      this.endReasonOverride ??= 'hangup';
      void this.session.bye();
    }
    return this.ended;
  }

  /** @internal The session ended: release everything, settle what waits. */
  finish(end: CallEnd): void {
    if (this.hasEnded) return;
    const override = this.endReasonOverride;
    const final: CallEnd = override !== undefined && (end.reason === 'hangup' || end.reason === 'cancelled' || end.reason === 'failed') ? { ...end, reason: override } : end;
    this.state_ = 'ended';
    this.end = final;
    this.endTime = this.ctx.clock.now();
    for (const f of [...this.onEnd]) f();
    this.onEnd.clear();
    this.waiters.clear();
    void this.media?.close();
    void this.mediaOpening?.catch(() => undefined);
    this.ctx.release(this);
    this.resolveEnded(final);
    this.emit('ended', final);
  }
}
