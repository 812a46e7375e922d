/**
 * The retransmissions a UA core does itself, above the transaction layer, each starting at
 * T1 and doubling, and giving up after 64*T1:
 *
 * - a 2xx to an INVITE until its ACK arrives (RFC 3261 §13.3.1.4: interval capped at T2);
 * - a reliable provisional response until its PRACK arrives (RFC 3262 §3: no cap).
 *
 * ```
 *   send ──T1──> resend ──2T1──> resend ──4T1──> … (≤ cap) … ──> 64*T1: give up
 *      \______________________ stop() (ACK / PRACK) ______________________/
 * ```
 *
 * On a reliable transport nothing is resent, but the give-up timer still runs.
 */
import type { TimerClock, TimerHandle } from '../timer-clock.js';

/**
 * Options of {@link RetransmissionTimer}.
 *
 * @example
 * ```ts
 * const opts: RetransmissionOptions = { clock, T1: 500, cap: 4000, resend: () => tx.respond(ok), onGiveUp: () => bye() };
 * ```
 */
export interface RetransmissionOptions {
  clock: TimerClock;
  /** First interval and the unit of the 64*T1 limit, in ms. */
  T1: number;
  /** Largest interval (T2 for a 2xx; `Infinity` for a reliable provisional). */
  cap: number;
  /** Whether to resend at all (false on reliable transports). */
  retransmit: boolean;
  resend(): void;
  onGiveUp(): void;
}

/**
 * Resends a message with exponential back-off until stopped, and gives up after 64*T1.
 *
 * @example
 * ```ts
 * const r = new RetransmissionTimer({ clock, T1: 500, cap: 4000, retransmit: true, resend, onGiveUp });
 * r.start();  // resends at 500, 1500, 3500, 7500, 11500, … ms; onGiveUp at 32000 ms
 * r.stop();   // the ACK arrived
 * ```
 */
export class RetransmissionTimer {
  private resendHandle: TimerHandle | undefined;
  private giveUpHandle: TimerHandle | undefined;
  private interval: number;
  private active = false;

  constructor(private readonly options: RetransmissionOptions) {
    this.interval = options.T1;
  }

  /** Whether it is still waiting for the acknowledgement. */
  get running(): boolean {
    return this.active;
  }

  start(): void {
    if (this.active) return;
    this.active = true;
    const { clock, T1 } = this.options;
    if (this.options.retransmit) this.resendHandle = clock.setTimer(this.fire, this.interval);
    this.giveUpHandle = clock.setTimer(() => {
      this.giveUpHandle = undefined;
      if (!this.active) return;
      this.stop();
      this.options.onGiveUp();
    }, 64 * T1);
  }

  private readonly fire = (): void => {
    this.resendHandle = undefined;
    if (!this.active) return;
    this.interval = Math.min(2 * this.interval, this.options.cap);
    this.resendHandle = this.options.clock.setTimer(this.fire, this.interval);
    this.options.resend();
  };

  stop(): void {
    this.active = false;
    if (this.resendHandle !== undefined) this.options.clock.clearTimer(this.resendHandle);
    if (this.giveUpHandle !== undefined) this.options.clock.clearTimer(this.giveUpHandle);
    this.resendHandle = this.giveUpHandle = undefined;
  }
}
