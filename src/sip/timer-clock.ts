/**
 * Time for the SIP state machines: "now" and one-shot timers, injected so that tests drive
 * every RFC 3261 timer (A–K, refreshes, session timers) without real waiting.
 */

/** An opaque handle for a scheduled callback. */
export type TimerHandle = { readonly id: number };

export interface TimerClock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /** Calls `fn` once, `ms` from now. */
  setTimer(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; harmless for one that fired or was cancelled already. */
  clearTimer(handle: TimerHandle): void;
}

/** The real clock: `performance.now()` and Node's timers (unref'd: timers never keep a process alive). */
export const systemClock: TimerClock = (() => {
  const live = new Map<number, NodeJS.Timeout>();
  let next = 1;
  return {
    now: () => performance.now(),
    setTimer(fn, ms) {
      const id = next++;
      const t = setTimeout(() => {
        live.delete(id);
        fn();
      }, ms);
      t.unref();
      live.set(id, t);
      return { id };
    },
    clearTimer(h) {
      const t = live.get(h.id);
      if (t !== undefined) {
        clearTimeout(t);
        live.delete(h.id);
      }
    },
  };
})();

/**
 * A clock that only moves when told to: `advance(ms)` runs every timer that falls due, in
 * time order (timers scheduled by callbacks included), so a test can assert exactly when
 * each retransmission and timeout happens.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * clock.setTimer(() => console.log('A fired at', clock.now()), 500);
 * clock.advance(499); // nothing
 * clock.advance(1);   // "A fired at 500"
 * ```
 */
export class ManualClock implements TimerClock {
  private t: number;
  private seq = 0;
  private timers: { at: number; seq: number; fn: () => void; id: number }[] = [];

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.push({ at: this.t + Math.max(0, ms), seq: id, fn, id });
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    const i = this.timers.findIndex((x) => x.id === handle.id);
    if (i >= 0) this.timers.splice(i, 1);
  }

  /** Number of timers still pending. */
  get pending(): number {
    return this.timers.length;
  }

  /** Time of the earliest pending timer, or undefined. */
  nextDue(): number | undefined {
    let best: number | undefined;
    for (const x of this.timers) if (best === undefined || x.at < best) best = x.at;
    return best;
  }

  /** Moves time forward by `ms`, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let k = -1;
      for (let i = 0; i < this.timers.length; i++) {
        const x = this.timers[i]!;
        if (x.at <= end && (k < 0 || x.at < this.timers[k]!.at || (x.at === this.timers[k]!.at && x.seq < this.timers[k]!.seq))) k = i;
      }
      if (k < 0) break;
      const due = this.timers.splice(k, 1)[0]!;
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
}
