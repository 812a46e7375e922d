/**
 * Session timers (RFC 4028): a keep-alive for dialogs. The two sides agree on a session
 * interval (Session-Expires) of at least Min-SE seconds and on a refresher; the refresher
 * sends a re-INVITE or UPDATE every half interval, and whichever side sees no refresh by
 * `interval - min(32, interval/3)` sends BYE (§10).
 *
 * ```
 *  UAC                                   UAS
 *   | INVITE  Session-Expires: 1800       |   too small for the UAS? 422 + Min-SE (§8.1),
 *   |         Min-SE: 90                  |   and the UAC retries with a larger value (§7.4)
 *   |------------------------------------>|
 *   | 200     Session-Expires: 1800;      |   refresher chosen by the UAS when the request
 *   |           refresher=uac             |   left it open; Require: timer when it is the UAC
 *   |<------------------------------------|
 *   |  ... 900 s: refresher sends UPDATE/re-INVITE; 1768 s without one: BYE ...
 * ```
 */
import type { SipRequest, SipResponse } from '../message/index.js';
import type { TimerClock, TimerHandle } from '../timer-clock.js';

/**
 * The smallest session interval the RFC allows (§4, §5: Min-SE is never below 90 s).
 *
 * @example
 * ```ts
 * const minSE = Math.max(MIN_SESSION_EXPIRES, configured);
 * ```
 */
export const MIN_SESSION_EXPIRES = 90;
/**
 * The recommended session interval (§4): 30 minutes.
 *
 * @example
 * ```ts
 * new DialogManager({ layer, contact, sessionTimer: { interval: DEFAULT_SESSION_EXPIRES } });
 * ```
 */
export const DEFAULT_SESSION_EXPIRES = 1800;

/**
 * Session timer configuration.
 *
 * @example
 * ```ts
 * const config: SessionTimerConfig = { interval: 1800, minSE: 90 };
 * ```
 */
export interface SessionTimerConfig {
  /** The interval we ask for, in seconds (default 1800). */
  interval: number;
  /** The smallest interval we accept, in seconds (default and minimum 90). */
  minSE: number;
}

/**
 * What two sides agreed: the interval and whether we are the refresher.
 *
 * @example
 * ```ts
 * const s: NegotiatedSession = { interval: 1800, weRefresh: true };
 * ```
 */
export interface NegotiatedSession {
  interval: number;
  weRefresh: boolean;
}

/**
 * The outcome of checking a request as its UAS (§9): reject with 422 and our Min-SE, use a
 * timer (and put these values in the 2xx), or none.
 *
 * @example
 * ```ts
 * const n = negotiateAsUas(invite, config);
 * if (n.kind === 'too-small') tx.respond(createResponse(invite, 422, undefined, { headers: [['Min-SE', n.minSE]] }));
 * ```
 */
export type UasNegotiation =
  | { kind: 'too-small'; minSE: number }
  | { kind: 'use'; interval: number; refresher: 'uac' | 'uas' }
  | { kind: 'none' };

/**
 * Completes a partial configuration with the defaults; Min-SE is at least 90 s and the
 * interval at least Min-SE.
 *
 * @example
 * ```ts
 * resolveSessionTimerConfig({ interval: 60 }); // { interval: 90, minSE: 90 }
 * ```
 */
export function resolveSessionTimerConfig(c: Partial<SessionTimerConfig> | undefined): SessionTimerConfig {
  const minSE = Math.max(MIN_SESSION_EXPIRES, Math.floor(c?.minSE ?? MIN_SESSION_EXPIRES));
  const interval = Math.max(minSE, Math.floor(c?.interval ?? DEFAULT_SESSION_EXPIRES));
  return { interval, minSE };
}

/** Whether a message lists `timer` in Supported or Require. */
function supportsTimer(m: SipRequest | SipResponse): boolean {
  return m.supported.some((t) => t.toLowerCase() === 'timer') || m.require.some((t) => t.toLowerCase() === 'timer');
}

/**
 * The UAS side of the negotiation for an INVITE or UPDATE (§9): a Session-Expires below our
 * Min-SE gets 422; otherwise the interval is the requested one, lowered to ours but never
 * below the request's Min-SE; the refresher is the one requested, else the UAC when it
 * supports `timer`, else us. A request without Session-Expires from a UAC that supports
 * `timer` gets our interval with the UAC as refresher; from one that does not, a timer we
 * refresh ourselves. Throws `SipParseError` for malformed headers.
 *
 * @example
 * ```ts
 * negotiateAsUas(parse('INVITE …\r\nSession-Expires: 60\r\n…'), { interval: 1800, minSE: 90 }); // { kind: 'too-small', minSE: 90 }
 * ```
 */
export function negotiateAsUas(request: SipRequest, config: SessionTimerConfig): UasNegotiation {
  const se = request.sessionExpires;
  const uacSupports = supportsTimer(request);
  if (se === undefined) {
    return { kind: 'use', interval: config.interval, refresher: uacSupports ? 'uac' : 'uas' };
  }
  if (se.seconds < config.minSE) return { kind: 'too-small', minSE: config.minSE };
  const floor = Math.max(request.minSE ?? MIN_SESSION_EXPIRES, config.minSE);
  const interval = Math.max(floor, Math.min(se.seconds, config.interval));
  const refresher = se.refresher ?? (uacSupports ? 'uac' : 'uas');
  return { kind: 'use', interval, refresher: refresher === 'uac' && !uacSupports ? 'uas' : refresher };
}

/**
 * The UAC side (§7.2): the 2xx's Session-Expires and refresher decide; a 2xx without one to a
 * request that asked for a timer means the UAS does not do session timers, and we refresh
 * ourselves at the interval we asked for. Undefined: no session timer.
 *
 * @example
 * ```ts
 * negotiateAsUac(invite, ok); // { interval: 1800, weRefresh: true } for "Session-Expires: 1800;refresher=uac"
 * ```
 */
export function negotiateAsUac(request: SipRequest, response: SipResponse): NegotiatedSession | undefined {
  const se = response.sessionExpires;
  if (se !== undefined) return { interval: se.seconds, weRefresh: (se.refresher ?? 'uac') === 'uac' };
  const asked = request.sessionExpires;
  if (asked !== undefined) return { interval: asked.seconds, weRefresh: true };
  return undefined;
}

/**
 * When the side that does not refresh gives up (§10): `interval - min(32, interval/3)` seconds.
 *
 * @example
 * ```ts
 * expiryDelay(1800); // 1768
 * expiryDelay(90);   // 60
 * ```
 */
export function expiryDelay(interval: number): number {
  return interval - Math.min(32, interval / 3);
}

/**
 * The running timers of one negotiated session: a refresh at half the interval when we are
 * the refresher, and the expiry at {@link expiryDelay} either way (for the refresher it
 * only fires when its refreshes failed). `restart` after every successful refresh.
 *
 * @example
 * ```ts
 * const t = new SessionTimer(clock, () => manager.refresh(dialog), () => manager.bye(dialog));
 * t.restart({ interval: 1800, weRefresh: true }); // refresh at 900 s, expiry at 1768 s
 * ```
 */
export class SessionTimer {
  /** The session in force, if any. */
  session: NegotiatedSession | undefined;
  private refreshHandle: TimerHandle | undefined;
  private expiryHandle: TimerHandle | undefined;

  constructor(
    private readonly clock: TimerClock,
    private readonly onRefresh: () => void,
    private readonly onExpire: () => void,
  ) {}

  restart(session: NegotiatedSession): void {
    this.stop();
    this.session = session;
    if (session.weRefresh) {
      this.refreshHandle = this.clock.setTimer(() => {
        this.refreshHandle = undefined;
        this.onRefresh();
      }, (session.interval * 1000) / 2);
    }
    this.expiryHandle = this.clock.setTimer(() => {
      this.expiryHandle = undefined;
      this.onExpire();
    }, expiryDelay(session.interval) * 1000);
  }

  /** Tries the refresh again after `ms` (another offer was in progress). */
  retryRefresh(ms: number): void {
    if (this.refreshHandle !== undefined) this.clock.clearTimer(this.refreshHandle);
    this.refreshHandle = this.clock.setTimer(() => {
      this.refreshHandle = undefined;
      this.onRefresh();
    }, ms);
  }

  stop(): void {
    if (this.refreshHandle !== undefined) this.clock.clearTimer(this.refreshHandle);
    if (this.expiryHandle !== undefined) this.clock.clearTimer(this.expiryHandle);
    this.refreshHandle = this.expiryHandle = undefined;
  }
}
