/**
 * The 20 ms heartbeat of terminated media. Every call that plays, records or listens for
 * digits does its work once per frame interval; one timer drives all of them, so a thousand
 * calls cost one timer, not a thousand. The real ticker corrects for timer drift by counting
 * frames against the clock (Node's timers are late by a millisecond or more each time), and
 * catches up at most {@link MAX_CATCH_UP} frames after a stall: beyond that, a frame would
 * be sent so late that the receiver's jitter buffer drops it anyway.
 *
 * @example
 * ```ts
 * const ticker = new IntervalTicker();
 * const stop = ticker.add((nowMs) => sendNextFrame(nowMs));
 * // ...
 * stop();
 * ```
 */

/** Something called once per frame interval with the current time in ms. */
export type TickListener = (nowMs: number) => void;

/**
 * A source of frame ticks: {@link IntervalTicker} in production, {@link ManualTicker} in tests.
 *
 * @example
 * ```ts
 * function attach(ticker: MediaTicker): () => void { return ticker.add(() => {}); }
 * ```
 */
export interface MediaTicker {
  /** Calls `listener` every frame interval until the returned function is called. */
  add(listener: TickListener): () => void;
  /** The frame interval in ms. */
  readonly frameMs: number;
}

/** Most frames run back to back after a stall (100 ms at 20 ms frames). */
export const MAX_CATCH_UP = 5;

/**
 * The production ticker: one self-correcting timer while at least one listener exists.
 *
 * @example
 * ```ts
 * const ticker = new IntervalTicker({ frameMs: 20 });
 * ```
 */
export class IntervalTicker implements MediaTicker {
  readonly frameMs: number;
  private readonly listeners = new Set<TickListener>();
  private readonly clock: () => number;
  private timer: NodeJS.Timeout | undefined;
  private next = 0;
  /** Listeners snapshot reused across ticks; rebuilt only when the set changes. */
  private snapshot: TickListener[] = [];
  private dirty = true;

  constructor(options: { frameMs?: number; clock?: () => number } = {}) {
    this.frameMs = options.frameMs ?? 20;
    this.clock = options.clock ?? (() => performance.timeOrigin + performance.now());
  }

  add(listener: TickListener): () => void {
    this.listeners.add(listener);
    this.dirty = true;
    if (this.timer === undefined) {
      this.next = this.clock() + this.frameMs;
      this.arm();
    }
    return () => {
      if (this.listeners.delete(listener)) this.dirty = true;
      if (this.listeners.size === 0 && this.timer !== undefined) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
    };
  }

  private arm(): void {
    const wait = Math.max(0, this.next - this.clock());
    this.timer = setTimeout(() => this.fire(), wait);
  }

  private fire(): void {
    this.timer = undefined;
    let now = this.clock();
    let frames = 0;
    while (this.next <= now && frames < MAX_CATCH_UP) {
      this.run(this.next);
      this.next += this.frameMs;
      frames++;
      now = this.clock();
    }
    // Still behind after the catch-up: skip the lost time rather than run a burst.
    if (this.next <= now) this.next = now + this.frameMs;
    if (this.listeners.size > 0) this.arm();
  }

  private run(at: number): void {
    if (this.dirty) {
      this.snapshot = [...this.listeners];
      this.dirty = false;
    }
    for (const l of this.snapshot) {
      if (!this.listeners.has(l)) continue;
      try {
        l(at);
      } catch {
        // A listener's failure is its own (each Call catches and reports its errors).
      }
    }
  }
}

/**
 * A ticker driven by the test: {@link ManualTicker.tick} runs one frame for every listener.
 *
 * @example
 * ```ts
 * const ticker = new ManualTicker();
 * ticker.tick(50); // one second of frames
 * ```
 */
export class ManualTicker implements MediaTicker {
  readonly frameMs: number;
  nowMs: number;
  private readonly listeners = new Set<TickListener>();

  constructor(options: { frameMs?: number; startMs?: number } = {}) {
    this.frameMs = options.frameMs ?? 20;
    this.nowMs = options.startMs ?? 0;
  }

  add(listener: TickListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Runs `frames` frame intervals. */
  tick(frames = 1): void {
    for (let i = 0; i < frames; i++) {
      this.nowMs += this.frameMs;
      for (const l of [...this.listeners]) l(this.nowMs);
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}
