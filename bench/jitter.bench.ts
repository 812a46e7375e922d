/**
 * Jitter-buffer scenarios: every scenario of bench/network-trace.ts through our adaptive
 * buffer, a fixed 60 ms buffer, and simple models of the target-delay rules of WebRTC NetEq,
 * PJMEDIA jbuf and Asterisk jitterbuf (each model is only its *target rule*, run in our
 * buffer's playout engine, so the rows compare how each decides its delay).
 */
import { printGrid } from './harness.js';
import { type JitterTargetRule, JitterBuffer } from '../src/rtp/index.js';
import { makeTrace, SCENARIOS, simulate } from './network-trace.js';

/** Sliding-window minimum of transit over `windowMs` (250 ms buckets). */
class WindowMin {
  private readonly mins: Float64Array;
  private readonly ids: Float64Array;
  last = 0;
  constructor(windowMs: number) {
    this.mins = new Float64Array(Math.ceil(windowMs / 250)).fill(Infinity);
    this.ids = new Float64Array(this.mins.length).fill(-1);
  }
  add(v: number, t: number): number {
    const id = Math.floor(t / 250);
    const i = id % this.mins.length;
    if (this.ids[i] !== id) {
      this.ids[i] = id;
      this.mins[i] = v;
    } else if (v < this.mins[i]!) this.mins[i] = v;
    return (this.last = this.get(t));
  }
  get(t: number): number {
    const id = Math.floor(t / 250);
    let m = Infinity;
    for (let k = 0; k < this.mins.length; k++) if (id - this.ids[k]! < this.mins.length && this.mins[k]! < m) m = this.mins[k]!;
    return m === Infinity ? this.last : m;
  }
}

/**
 * NetEq model (libwebrtc `DelayManager` defaults): relative delay over the 2 s minimum; every
 * 500 ms the *maximum* relative delay of the interval goes into a 20 ms-bucket histogram with
 * forget factor 0.983 per insertion; target = (1 + 95% quantile bucket) × 20 ms. Not modelled:
 * the reorder optimizer (20 ms per 1% loss) and time-stretching (our engine inserts/removes
 * whole frames for every rule).
 */
class NetEqModelRule implements JitterTargetRule {
  private readonly base = new WindowMin(2000);
  private readonly hist = new Float64Array(100);
  private n = 0;
  private intervalStart = Number.NaN;
  private intervalMax = 0;
  private target = 80; // kStartDelayMs
  get warmingUp(): boolean {
    return this.n < 8;
  }
  onPacket(transit: number, arrival: number): void {
    const b = this.base.add(transit, arrival);
    this.n++;
    this.intervalMax = Math.max(this.intervalMax, transit - b);
    if (Number.isNaN(this.intervalStart)) this.intervalStart = arrival;
    if (arrival - this.intervalStart >= 500) {
      const bucket = Math.min(99, Math.floor(this.intervalMax / 20));
      for (let i = 0; i < 100; i++) this.hist[i]! *= 0.983;
      this.hist[bucket]! += 1 - 0.983;
      this.intervalMax = 0;
      this.intervalStart = arrival;
      let total = 0;
      for (const v of this.hist) total += v;
      let acc = 0;
      for (let i = 0; i < 100; i++) {
        acc += this.hist[i]!;
        if (acc >= 0.95 * total) {
          this.target = (i + 1) * 20;
          break;
        }
      }
    }
  }
  baseline(now: number): number {
    return this.base.get(now);
  }
  targetDelay(): number {
    return this.target;
  }
  rebase(): void {}
}

/**
 * Asterisk jitterbuf model: the last 500 delays; drop the top and bottom 3% (JB_HISTORY_DROPPCT);
 * target = min + jitter + 40 ms (JB_TARGET_EXTRA), jitter = max − min of what is left.
 */
class AsteriskModelRule implements JitterTargetRule {
  private readonly hist = new Float64Array(500);
  private n = 0;
  private min = 0;
  private spread = 0;
  get warmingUp(): boolean {
    return this.n < 8;
  }
  onPacket(transit: number): void {
    this.hist[this.n++ % 500] = transit;
    if (this.n % 10 === 0 || this.n < 50) {
      const xs = Array.from(this.hist.subarray(0, Math.min(this.n, 500))).sort((a, b) => a - b);
      const drop = Math.floor((xs.length * 3) / 100);
      this.min = xs[drop]!;
      this.spread = xs[xs.length - 1 - drop]! - this.min;
    }
  }
  baseline(): number {
    return this.min;
  }
  targetDelay(): number {
    return this.spread + 40;
  }
  rebase(): void {}
}

/**
 * PJMEDIA jbuf model (`jbuf_calculate_jitter`): the burst level is the number of frames that
 * arrived between two gets (20 ms); a higher level raises the effective level at once; after
 * 20 gets below it (STABLE_HISTORY_LIMIT) the effective level drops by max(1, (eff − max
 * recent level) / 3); target = effective level × 20 ms.
 */
class PjmediaModelRule implements JitterTargetRule {
  private readonly base = new WindowMin(2000);
  private n = 0;
  private window = -1;
  private count = 0;
  private eff = 1;
  private maxHist = 0;
  private stable = 0;
  get warmingUp(): boolean {
    return this.n < 8;
  }
  private get(level: number): void {
    this.maxHist = Math.max(this.maxHist, level);
    if (level < this.eff) {
      if (++this.stable > 20) {
        this.eff = Math.max(1, this.eff - Math.max(1, Math.floor((this.eff - this.maxHist) / 3)));
        this.maxHist = 0;
        this.stable = 0;
      }
    } else if (level > this.eff) {
      this.eff = level;
      this.stable = 0;
      this.maxHist = 0;
    }
  }
  onPacket(transit: number, arrival: number): void {
    this.base.add(transit, arrival);
    this.n++;
    const w = Math.floor(arrival / 20);
    if (this.window < 0) this.window = w;
    // Close the gets since the last packet (empty ones have level 0), at most 500 of them.
    for (let k = 0; this.window < w && k < 500; k++) {
      this.get(this.count);
      this.count = 0;
      this.window++;
    }
    this.window = w;
    this.count++;
  }
  baseline(now: number): number {
    return this.base.get(now);
  }
  targetDelay(): number {
    return this.eff * 20;
  }
  rebase(): void {}
}

const buffers: [string, () => JitterBuffer][] = [
  ['ours', () => new JitterBuffer()],
  ['fixed 60 ms', () => new JitterBuffer({ fixedDelayMs: 60 })],
  ['NetEq model', () => new JitterBuffer({ targetRule: new NetEqModelRule() })],
  ['PJMEDIA model', () => new JitterBuffer({ targetRule: new PjmediaModelRule() })],
  ['Asterisk model', () => new JitterBuffer({ targetRule: new AsteriskModelRule() })],
];

const only = process.env.JITTER_SCENARIOS?.split(',');
const rows: (string | number)[][] = [];
const started = performance.now();
for (const scenario of SCENARIOS) {
  if (only && !only.includes(scenario)) continue;
  const trace = makeTrace(scenario, 1);
  for (const [name, make] of buffers) {
    const r = simulate(trace, make());
    rows.push([
      scenario,
      name,
      r.playedPct,
      r.latePct,
      r.concealPct,
      r.meanPlayoutMs,
      r.p95PlayoutMs,
      r.meanBufferMs,
      `${r.late}/${r.inserted}/${r.removed}`,
    ]);
  }
}
printGrid(
  `Jitter buffer scenarios (seed 1; 300 s each, drift 900 s; ${((performance.now() - started) / 1000).toFixed(1)} s to simulate)`,
  ['scenario', 'buffer', 'played %', 'late %', 'conceal %', 'mean playout ms', 'p95 playout ms', 'mean buffer ms', 'late/ins/rem'],
  rows,
);
console.log('conceal % = jitter-induced concealment: late + inserted + removed frames, % of packets sent.');
console.log('playout = play time − send time (includes the 30 ms network base delay); buffer = play time − arrival time.');
