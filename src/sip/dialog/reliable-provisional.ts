/**
 * Reliable provisional responses (RFC 3262, "100rel").
 *
 * UAS side (§3): a 101–199 response sent reliably carries `Require: 100rel` and an `RSeq`
 * (random start in 1..2^31-1, one more for each further reliable provisional); it is
 * retransmitted from T1, doubling, until a PRACK with a matching `RAck` (RSeq, CSeq number,
 * method) arrives; after 64*T1 without one the INVITE is rejected with a 5xx. Only one reliable
 * provisional is outstanding at a time: later ones wait for the PRACK (a short, bounded queue).
 *
 * UAC side (§4): the first reliable provisional sets the expected RSeq; afterwards only the
 * one with the next RSeq is processed and PRACKed; retransmissions (same or lower RSeq) and
 * responses that skip ahead are ignored (the UAS retransmits them until acknowledged).
 */
import type { RAck, SipResponse } from '../message/index.js';
import type { TimerClock } from '../timer-clock.js';
import { RetransmissionTimer } from './retransmission-timer.js';

/**
 * Most reliable provisionals waiting behind an unacknowledged one (RFC 3262 §3 allows one
 * outstanding at a time); beyond it {@link ReliableProvisionalSender.send} returns false.
 *
 * @example
 * ```ts
 * if (!sender.send(progress)) console.log(`more than ${MAX_QUEUED_PROVISIONALS} provisionals waiting`);
 * ```
 */
export const MAX_QUEUED_PROVISIONALS = 4;

/**
 * What the sender needs: how to hand a response to the INVITE server transaction, time, T1,
 * the transport's reliability and what to do when no PRACK comes.
 *
 * @example
 * ```ts
 * const opts: ReliableProvisionalOptions = { clock, T1: 500, retransmit: true, initialRSeq: 1, send: (r) => tx.respond(r), onGiveUp: () => reject() };
 * ```
 */
export interface ReliableProvisionalOptions {
  clock: TimerClock;
  T1: number;
  retransmit: boolean;
  /** The first RSeq (1..2^31-1). */
  initialRSeq: number;
  send(response: SipResponse): void;
  onGiveUp(): void;
}

/**
 * The UAS half: numbers, sends and retransmits reliable provisionals of one INVITE.
 *
 * @example
 * ```ts
 * const sender = new ReliableProvisionalSender({ clock, T1: 500, retransmit: true, initialRSeq: 4711, send, onGiveUp });
 * sender.send(ringing);         // Require: 100rel, RSeq: 4711; resent at 500, 1500, 3500 ms…
 * sender.receivePrack({ rseq: 4711, cseq: 1, method: 'INVITE' }, 1); // true: stops
 * ```
 */
export class ReliableProvisionalSender {
  private nextRSeq: number;
  private pending: { rseq: number; response: SipResponse; timer: RetransmissionTimer } | undefined;
  private readonly queue: SipResponse[] = [];

  constructor(private readonly options: ReliableProvisionalOptions) {
    this.nextRSeq = options.initialRSeq;
  }

  /** The RSeq awaiting its PRACK, if any. */
  get unacknowledged(): number | undefined {
    return this.pending?.rseq;
  }

  /**
   * Sends `response` reliably (adding `Require: 100rel` and `RSeq`), or queues it behind the
   * unacknowledged one. Returns false when the queue is full and the response was dropped.
   */
  send(response: SipResponse): boolean {
    if (this.pending !== undefined) {
      if (this.queue.length >= MAX_QUEUED_PROVISIONALS) return false;
      this.queue.push(response);
      return true;
    }
    const rseq = this.nextRSeq;
    this.nextRSeq = rseq >= 0x7fffffff ? 1 : rseq + 1;
    if (!response.require.some((t) => t.toLowerCase() === '100rel')) response.append('Require', '100rel');
    response.set('RSeq', String(rseq));
    const timer = new RetransmissionTimer({
      clock: this.options.clock,
      T1: this.options.T1,
      cap: Infinity,
      retransmit: this.options.retransmit,
      resend: () => this.options.send(response),
      onGiveUp: () => {
        this.stop();
        this.options.onGiveUp();
      },
    });
    this.pending = { rseq, response, timer };
    timer.start();
    this.options.send(response);
    return true;
  }

  /**
   * A PRACK's RAck: true when it acknowledges the outstanding response of the INVITE with CSeq
   * number `inviteSeq` (then the next queued one, if any, is sent); false otherwise (answer 481).
   */
  receivePrack(rack: RAck, inviteSeq: number): boolean {
    const p = this.pending;
    if (p === undefined || rack.rseq !== p.rseq || rack.cseq !== inviteSeq || rack.method !== 'INVITE') return false;
    p.timer.stop();
    this.pending = undefined;
    const next = this.queue.shift();
    if (next !== undefined) this.send(next);
    return true;
  }

  /** Stops retransmitting and drops the queue (a final response was sent). */
  stop(): void {
    this.pending?.timer.stop();
    this.pending = undefined;
    this.queue.length = 0;
  }
}

/**
 * The UAC half (§4): which reliable provisionals to process and PRACK.
 *
 * @example
 * ```ts
 * const r = new ReliableProvisionalReceiver();
 * r.accept(10); // true: first one
 * r.accept(10); // false: a retransmission
 * r.accept(12); // false: out of order (11 is missing)
 * r.accept(11); // true
 * ```
 */
export class ReliableProvisionalReceiver {
  /** The RSeq of the last in-order reliable provisional. */
  last: number | undefined;

  accept(rseq: number): boolean {
    if (this.last !== undefined && rseq !== this.last + 1) return false;
    this.last = rseq;
    return true;
  }
}
