/**
 * Target-delay rules for {@link JitterBuffer}: given every packet's *transit* (arrival time
 * minus media time, in ms on an arbitrary origin), a rule says which playout offset the
 * buffer should aim for. A frame with media time `m` is played at `m + offset`, so a packet
 * is on time exactly when its transit ≤ offset, and its buffer delay is offset − transit.
 *
 * The default {@link QuantileTargetRule} is Switchboard's own design:
 *
 * - **Baseline**: the minimum transit over a short sliding window (2 s, in 250 ms buckets) —
 *   the delay of the fastest recent packet. Clock drift (±100 ppm moves transit by 0.1 ms/s)
 *   and slow route changes move the baseline, so drift never accumulates into the target.
 * - **Spread**: each packet's delay above the baseline goes into a 1 ms-bin histogram with
 *   exponential forgetting (weight grows by 1/0.9995 per packet, memory ≈ 40 s, rescaled
 *   lazily so an update is O(1)).
 * - **Cost, not a fixed quantile**: the target spread `d` minimises
 *   `d + lateCostMs × (% of packets later than d)` over the histogram (default: 1% late
 *   costs as much as 20 ms of delay — NetEq's `ms_per_loss_percent` exchange rate, which it
 *   applies only to reordered packets), capped at the `quantile` (0.985). A fixed quantile
 *   (NetEq's main rule, Asterisk) cannot tell a rare 400 ms spike — where 120 ms more delay
 *   saves a handful of packets — from a wide stationary spread, where a few ms more delay
 *   saves many; the cost does: it buys delay only where the histogram is dense. Recomputed every 8
 *   packets (O(bins)), so the per-packet cost stays O(1).
 * - **Fast attack on level shifts**: if *every* one of the last 16 packets (320 ms) was at
 *   least S ms above the baseline and S exceeds the long-memory quantile, the target follows
 *   S at once — a route change is not noise — while a one-off spike (whose drain brings
 *   packets back near the baseline) does not trigger it. The release is gradual: the shifted
 *   packets enter the long-memory histogram, which forgets them over tens of seconds, and the
 *   buffer gives back delay one frame at a time (see {@link JitterBuffer}).
 *
 * Compared with the buffers this was measured against (see docs/rtp.md): NetEq puts the
 * maximum relative delay of each 500 ms into a 20 ms-bucket histogram and takes its 95%
 * quantile (safe, but every spike counts as a whole interval, so it chases spikes);
 * Asterisk's jitterbuf takes the 97th − 3rd percentile of the last 500 delays plus a fixed
 * 40 ms (safe but deep); PJMEDIA's jbuf tracks the burst level of arrivals per get (coarse:
 * whole frames). Ours is finer (1 ms bins), weighs delay against lateness, and is drift-free
 * by construction.
 *
 * @example
 * ```ts
 * const rule = new QuantileTargetRule({ quantile: 0.99 });
 * const jb = new JitterBuffer({ targetRule: rule });
 * ```
 */
export interface JitterTargetRule {
  /** Called for every packet the buffer accepts (including late ones). */
  onPacket(transitMs: number, arrivalMs: number): void;
  /** The fastest recent transit (ms): where a packet that met no queue would land. */
  baseline(nowMs: number): number;
  /** The buffer delay (ms above the baseline) to aim for; target offset = baseline + this. */
  targetDelay(): number;
  /** Forgets the transit origin (SSRC change: a new timestamp base); may keep what it learned about the network. */
  rebase(): void;
  /** True while the rule has seen too little to be trusted (the buffer then uses its initial delay). */
  readonly warmingUp: boolean;
}

/** Options of {@link QuantileTargetRule}. */
export interface QuantileTargetRuleOptions {
  /** Never cover more than this quantile of the delay spread; 0.985 by default. */
  quantile?: number;
  /** Delay (ms) worth 1% fewer late packets; 20 by default. */
  lateCostMs?: number;
  /** Per-packet forgetting factor of the histogram; 0.9995 by default (≈ 40 s at 50 packets/s). */
  forgetFactor?: number;
  /** Sliding window of the baseline minimum; 2000 ms by default. */
  baselineWindowMs?: number;
  /** Added to the target, ms; 1 by default. */
  marginMs?: number;
  /** Largest spread tracked, ms (values above count in the top bin); 1000 by default. */
  maxSpreadMs?: number;
}

/** Switchboard's target rule: baseline minimum + a decaying-histogram quantile + fast attack. */
export class QuantileTargetRule implements JitterTargetRule {
  private readonly q: number;
  private readonly lateCost: number;
  private maxBin = 0;
  private sinceCompute = 0;
  private readonly growth: number;
  private readonly bins: Float64Array;
  private total = 0;
  private weight = 1;
  private readonly margin: number;
  private readonly bucketMs = 250;
  private readonly buckets: Float64Array;
  private readonly bucketIds: Float64Array;
  private packets = 0;
  private readonly recent = new Float64Array(16);
  private recentCount = 0;
  private lastBase = 0;
  private cachedQuantile = 0;
  private cacheValid = false;

  constructor(options: QuantileTargetRuleOptions = {}) {
    this.q = options.quantile ?? 0.985;
    this.lateCost = (options.lateCostMs ?? 20) * 100;
    this.growth = 1 / (options.forgetFactor ?? 0.9995);
    this.bins = new Float64Array(Math.max(16, Math.ceil(options.maxSpreadMs ?? 1000)) + 1);
    this.margin = options.marginMs ?? 1;
    const n = Math.max(1, Math.ceil((options.baselineWindowMs ?? 2000) / this.bucketMs));
    this.buckets = new Float64Array(n).fill(Infinity);
    this.bucketIds = new Float64Array(n).fill(-1);
  }

  get warmingUp(): boolean {
    return this.packets < 8;
  }

  onPacket(transitMs: number, arrivalMs: number): void {
    // Baseline: per-bucket minimum over the last `buckets.length` buckets.
    const id = Math.floor(arrivalMs / this.bucketMs);
    const slot = ((id % this.buckets.length) + this.buckets.length) % this.buckets.length;
    if (this.bucketIds[slot] !== id) {
      this.bucketIds[slot] = id;
      this.buckets[slot] = transitMs;
    } else if (transitMs < this.buckets[slot]!) {
      this.buckets[slot] = transitMs;
    }
    const base = this.windowMin(id);
    this.lastBase = base;
    const spread = Math.max(0, transitMs - base);
    // Lazy exponential forgetting: instead of scaling every bin by f, grow the new weight by 1/f.
    this.weight *= this.growth;
    if (this.weight > 1e200) this.renormalise();
    const bin = Math.min(this.bins.length - 1, Math.ceil(spread));
    this.bins[bin]! += this.weight;
    if (bin > this.maxBin) this.maxBin = bin;
    this.total += this.weight;
    this.recent[this.recentCount++ & 15] = spread;
    this.packets++;
    if (++this.sinceCompute >= 8) this.cacheValid = false;
  }

  private renormalise(): void {
    const s = 1 / this.weight;
    for (let i = 0; i < this.bins.length; i++) this.bins[i]! *= s;
    this.total *= s;
    this.weight = 1;
  }

  private windowMin(currentId: number): number {
    let m = Infinity;
    for (let i = 0; i < this.buckets.length; i++) {
      if (currentId - this.bucketIds[i]! < this.buckets.length && this.buckets[i]! < m) m = this.buckets[i]!;
    }
    return m;
  }

  /** The target spread (ms): the cost-minimising delay over the long-memory histogram. */
  spreadQuantile(): number {
    if (this.cacheValid) return this.cachedQuantile;
    this.sinceCompute = 0;
    // late(d) = mass above bin d / total; cost(d) = d + lateCost × late(d). Walk d upwards
    // with a running tail mass; stop at the quantile cap.
    const total = this.total;
    let tail = total;
    let best = 0;
    let bestCost = Infinity;
    const cap = total * (1 - this.q);
    for (let d = 0; d <= this.maxBin; d++) {
      tail -= this.bins[d]!;
      const cost = d + (this.lateCost * tail) / total;
      if (cost < bestCost) {
        bestCost = cost;
        best = d;
      }
      if (tail <= cap) break;
    }
    const i = best;
    // Fast attack: a level shift (every recent packet delayed) wins over the long memory.
    let recent = 0;
    if (this.recentCount >= 16) {
      recent = Infinity;
      for (let k = 0; k < 16; k++) if (this.recent[k]! < recent) recent = this.recent[k]!;
    }
    this.cachedQuantile = Math.max(i, recent);
    this.cacheValid = true;
    return this.cachedQuantile;
  }

  baseline(nowMs: number): number {
    const base = this.windowMin(Math.floor(nowMs / this.bucketMs));
    // No packet in the window (an outage or a silence): keep the last known baseline.
    return base === Infinity ? this.lastBase : base;
  }

  targetDelay(): number {
    return this.spreadQuantile() + this.margin;
  }

  rebase(): void {
    this.buckets.fill(Infinity);
    this.bucketIds.fill(-1);
    this.recentCount = 0;
    this.packets = 0;
    this.cacheValid = false;
  }
}
