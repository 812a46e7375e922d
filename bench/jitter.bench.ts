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

/** NetEq model: relative delay over the 2 s minimum, 20 ms buckets, forget 0.983/packet, 95% quantile. */
class NetEqModelRule implements JitterTargetRule {
  private readonly base = new WindowMin(2000);
  private readonly hist = new Float64Array(100);
  private n = 0;
  get warmingUp(): boolean {
    return this.n < 8;
  }
  onPacket(transit: number, arrival: number): void {
    const b = this.base.add(transit, arrival);
    const bucket = Math.min(99, Math.floor((transit - b) / 20));
    for (let i = 0; i < 100; i++) this.hist[i]! *= 0.983;
    this.hist[bucket]! += 1 - 0.983;
    this.n++;
  }
  baseline(now: number): number {
    return this.base.get(now);
  }
  targetDelay(): number {
    let total = 0;
    for (const v of this.hist) total += v;
    let acc = 0;
    for (let i = 0; i < 100; i++) {
      acc += this.hist[i]!;
      if (acc >= 0.95 * total) return (i + 1) * 20;
    }
    return 2000;
  }
  rebase(): void {}
}

/** Asterisk jitterbuf model: last 500 delays, drop the top 3%, target = (P97 − min) + 40 ms. */
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
      this.min = xs[0]!;
      this.spread = xs[Math.floor((xs.length - 1) * 0.97)]! - this.min;
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

/** PJMEDIA jbuf model: burst level (packets per 20 ms) max over the last 50 frames, target = level × 20 ms, shrinking one level per stable second. */
class PjmediaModelRule implements JitterTargetRule {
  private readonly base = new WindowMin(2000);
  private n = 0;
  private frameId = -1;
  private count = 0;
  private level = 1;
  private stableSince = 0;
  get warmingUp(): boolean {
    return this.n < 8;
  }
  onPacket(transit: number, arrival: number): void {
    this.base.add(transit, arrival);
    this.n++;
    const id = Math.floor(arrival / 20);
    if (id !== this.frameId) {
      this.frameId = id;
      this.count = 0;
    }
    this.count++;
    if (this.count > this.level) {
      this.level = this.count;
      this.stableSince = arrival;
    } else if (arrival - this.stableSince > 1000 && this.level > 1) {
      this.level--;
      this.stableSince = arrival;
    }
  }
  baseline(now: number): number {
    return this.base.get(now);
  }
  targetDelay(): number {
    return this.level * 20;
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
