/**
 * A seeded network-trace simulator for jitter-buffer evaluation: each scenario yields, per
 * 20 ms packet, its send time and its arrival time (NaN = lost) on the receiver's clock, plus
 * the RTP sequence number and timestamp the sender's clock stamps on it. `simulate` replays a
 * trace through a {@link JitterBuffer} pulled every 20 ms and returns the figures the jitter
 * bench prints. Deterministic for a given seed, so tests use it too.
 */
import type { JitterBuffer } from '../src/rtp/index.js';

/** One packet of a trace. */
export interface TracePacket {
  /** Index 0..n-1 in sending order. */
  index: number;
  sequenceNumber: number;
  timestamp: number;
  /** Send time on the receiver's (true) clock, ms. */
  sendMs: number;
  /** Arrival time on the receiver's clock, ms; NaN if the network lost it. */
  arrivalMs: number;
  /** Marker bit: first packet of a talkspurt. */
  marker: boolean;
}

/** A generated trace. */
export interface NetworkTrace {
  name: string;
  description: string;
  packets: TracePacket[];
}

/** Scenario names. */
export type ScenarioName =
  | 'clean'
  | 'iid-jitter'
  | 'slow-wander'
  | 'pareto-bursts'
  | 'reorder'
  | 'random-loss'
  | 'bursty-loss'
  | 'drift+100ppm'
  | 'drift-100ppm'
  | 'spikes'
  | 'level-shift'
  | 'talkspurts';

/** The scenarios the bench prints, in order. */
export const SCENARIOS: readonly ScenarioName[] = [
  'clean',
  'iid-jitter',
  'slow-wander',
  'pareto-bursts',
  'reorder',
  'random-loss',
  'bursty-loss',
  'drift+100ppm',
  'drift-100ppm',
  'spikes',
  'level-shift',
  'talkspurts',
];

/** mulberry32: a small, fast, seedable PRNG returning [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(rnd: () => number): number {
  // Box–Muller.
  const u = Math.max(rnd(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
}

const BASE_DELAY_MS = 30;
const FRAME_MS = 20;

/**
 * Builds a scenario's trace. `durationS` defaults to 300 s (900 s for the drift scenarios).
 * The first sequence number and timestamp are random (seeded) and near their wrap points half
 * the time, so wrap-around is always exercised.
 */
export function makeTrace(name: ScenarioName, seed = 1, durationS?: number): NetworkTrace {
  const rnd = seededRandom(seed * 7919 + name.length * 104729 + name.charCodeAt(0));
  const isDrift = name.startsWith('drift');
  const seconds = durationS ?? (isDrift ? 900 : 300);
  const n = Math.round((seconds * 1000) / FRAME_MS);
  const ppm = name === 'drift+100ppm' ? 100 : name === 'drift-100ppm' ? -100 : 0;
  // A sender clock that runs fast by `ppm` emits its 20 ms frames every 20/(1+ppm) true ms.
  const period = FRAME_MS / (1 + ppm * 1e-6);
  const seq0 = rnd() < 0.5 ? 65535 - Math.floor(rnd() * 500) : Math.floor(rnd() * 65536);
  const ts0 = rnd() < 0.5 ? 0xffffffff - Math.floor(rnd() * 160000) : Math.floor(rnd() * 0xffffffff);
  const packets: TracePacket[] = [];
  let description = '';
  // Scenario state.
  let geBad = false;
  let burstExtra = 0;
  let nextBurstMs = 5000 + rnd() * 10000;
  let lastArrival = -Infinity;
  let talking = true;
  let spurtEndMs = 0;
  let sent = 0;
  let marker = true;
  for (let i = 0; i < n; i++) {
    const sendMs = i * period;
    if (name === 'talkspurts') {
      // Voice activity: talkspurts of mean 1.5 s, silences of mean 1 s (exponential, RFC 3551
      // DTX: nothing is sent in silence, the next packet carries the marker bit).
      if (sendMs >= spurtEndMs) {
        talking = !talking;
        spurtEndMs = sendMs - Math.log(Math.max(rnd(), 1e-9)) * (talking ? 1500 : 1000);
        if (talking) marker = true;
      }
      if (!talking) continue;
    }
    let delay = BASE_DELAY_MS;
    let lost = false;
    let fifo = false;
    switch (name) {
      case 'clean':
        description = '30 ms + U(0,2) ms';
        delay += rnd() * 2;
        break;
      case 'iid-jitter':
        description = '30 ms + |N(0, 20 ms)| i.i.d. (reorders)';
        delay += Math.abs(normal(rnd)) * 20;
        break;
      case 'slow-wander':
        description = '30 + 30 + 30·sin(2πt/60 s) ms + U(0,3)';
        delay += 30 + 30 * Math.sin((2 * Math.PI * sendMs) / 60000) + rnd() * 3;
        break;
      case 'pareto-bursts': {
        description = 'bursts every ~10 s, Pareto(30 ms, α=1.5) peak ≤ 300 ms, draining at 0.5 ms/ms, FIFO';
        if (sendMs >= nextBurstMs) {
          const peak = Math.min(300, 30 / Math.pow(Math.max(rnd(), 1e-9), 1 / 1.5));
          burstExtra = Math.max(burstExtra, peak);
          nextBurstMs = sendMs - Math.log(Math.max(rnd(), 1e-9)) * 10000;
        }
        delay += burstExtra + rnd() * 3;
        burstExtra = Math.max(0, burstExtra - 0.5 * period);
        fifo = true;
        break;
      }
      case 'reorder':
        description = '5% of packets +U(20,60) ms (reordered), else U(0,2)';
        delay += rnd() < 0.05 ? 20 + rnd() * 40 : rnd() * 2;
        break;
      case 'random-loss':
        description = '5% i.i.d. loss, U(0,5) ms jitter';
        lost = rnd() < 0.05;
        delay += rnd() * 5;
        break;
      case 'bursty-loss':
        description = 'Gilbert–Elliott 5% loss, mean burst 3, U(0,5) ms jitter';
        geBad = geBad ? rnd() >= 1 / 3 : rnd() < 0.05 / 0.95 / 3;
        lost = geBad;
        delay += rnd() * 5;
        break;
      case 'drift+100ppm':
      case 'drift-100ppm':
        description = `sender clock ${ppm > 0 ? '+' : ''}${ppm} ppm for ${seconds} s, U(0,10) ms jitter`;
        delay += rnd() * 10;
        break;
      case 'level-shift':
        description = 'route change: +100 ms from 60 s to 180 s, i.i.d. |N(0,5 ms)|';
        if (sendMs >= 60000 && sendMs < 180000) delay += 100;
        delay += Math.abs(normal(rnd)) * 5;
        fifo = true;
        break;
      case 'talkspurts':
        description = 'DTX talkspurts (1.5 s on / 1 s off, marker bit) with |N(0, 20 ms)| jitter';
        delay += Math.abs(normal(rnd)) * 20;
        break;
      case 'spikes': {
        description = '400 ms spike every 30 s (queue drains at 1 ms/ms), U(0,2) otherwise, FIFO';
        const phase = (sendMs - 15000) % 30000;
        if (sendMs >= 15000 && phase < 400) delay += 400 - phase;
        delay += rnd() * 2;
        fifo = true;
        break;
      }
    }
    let arrivalMs = sendMs + delay;
    if (fifo) {
      // A FIFO queue never lets a packet overtake the one before it.
      if (arrivalMs < lastArrival) arrivalMs = lastArrival;
      lastArrival = arrivalMs;
    }
    packets.push({
      index: sent,
      sequenceNumber: (seq0 + sent) & 0xffff,
      timestamp: (ts0 + i * 160) >>> 0,
      sendMs,
      arrivalMs: lost ? Number.NaN : arrivalMs,
      marker,
    });
    sent++;
    marker = false;
  }
  return { name, description, packets };
}

/** Figures of one simulated run. */
export interface SimulationResult {
  sent: number;
  /** Frames played from received packets, % of sent. */
  playedPct: number;
  /** Packets that arrived after their slot, % of sent. */
  latePct: number;
  /** Jitter-induced concealment: late + removed + inserted frames, % of sent. */
  concealPct: number;
  /** Play time − send time of played frames, ms. */
  meanPlayoutMs: number;
  p95PlayoutMs: number;
  /** Play time − arrival time of played frames, ms. */
  meanBufferMs: number;
  /** Mean buffer delay over the last 10% of the run (drift growth check), ms. */
  tailBufferMs: number;
  /** Mean buffer delay over the first 10% of the run (after 5 s), ms. */
  headBufferMs: number;
  late: number;
  inserted: number;
  removed: number;
  /** Per-second mean buffer delay, for spike-recovery checks. */
  bufferBySecond: number[];
  /** Per-second count of jitter-induced events (late + removed + inserted). */
  eventsBySecond: number[];
}

/**
 * Replays `trace` into `jb`: packets are pushed as their arrival time passes and the buffer is
 * pulled every 20 ms starting `pullPhaseMs` after the first send.
 */
export function simulate(trace: NetworkTrace, jb: JitterBuffer, pullPhaseMs = 7): SimulationResult {
  const pk = trace.packets;
  const arrivals = pk.filter((p) => !Number.isNaN(p.arrivalMs)).sort((a, b) => a.arrivalMs - b.arrivalMs || a.index - b.index);
  const seq0 = pk[0]!.sequenceNumber;
  const end = (arrivals[arrivals.length - 1]?.arrivalMs ?? 0) + 2000;
  const playout: number[] = [];
  let bufferSum = 0;
  let played = 0;
  const seconds = Math.ceil(end / 1000) + 1;
  const bufBySec = new Float64Array(seconds);
  const bufCount = new Float64Array(seconds);
  const events = new Float64Array(seconds);
  let prevEvents = 0;
  let a = 0;
  const view = { sequenceNumber: 0, timestamp: 0, ssrc: 0x1234, marker: false, payload: new Uint8Array(0) };
  const tailStart = end * 0.9;
  const headEnd = Math.max(15000, end * 0.1);
  let tailSum = 0;
  let tailN = 0;
  let headSum = 0;
  let headN = 0;
  for (let t = pullPhaseMs; t < end; t += FRAME_MS) {
    while (a < arrivals.length && arrivals[a]!.arrivalMs <= t) {
      const p = arrivals[a++]!;
      jb.push({ ...view, sequenceNumber: p.sequenceNumber, timestamp: p.timestamp, marker: p.marker }, p.arrivalMs);
    }
    const out = jb.pull(t);
    const sec = Math.floor(t / 1000);
    if (out.kind === 'frame') {
      const idx = out.sequenceNumber - seq0;
      const sent = pk[idx];
      if (sent) playout.push(t - sent.sendMs);
      bufferSum += out.bufferDelayMs;
      played++;
      bufBySec[sec]! += out.bufferDelayMs;
      bufCount[sec]!++;
      if (t >= tailStart) {
        tailSum += out.bufferDelayMs;
        tailN++;
      }
      if (t >= 5000 && t < headEnd) {
        headSum += out.bufferDelayMs;
        headN++;
      }
    }
    const st = jb.stats;
    const ev = st.packetsLate + st.framesInserted + st.framesRemoved;
    events[sec]! += ev - prevEvents;
    prevEvents = ev;
  }
  const st = jb.stats;
  playout.sort((x, y) => x - y);
  const n = pk.length;
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
  return {
    sent: n,
    playedPct: (100 * played) / n,
    latePct: (100 * st.packetsLate) / n,
    concealPct: (100 * (st.packetsLate + st.framesInserted + st.framesRemoved)) / n,
    meanPlayoutMs: mean(playout),
    p95PlayoutMs: playout[Math.floor(playout.length * 0.95)] ?? 0,
    meanBufferMs: bufferSum / Math.max(1, played),
    tailBufferMs: tailSum / Math.max(1, tailN),
    headBufferMs: headSum / Math.max(1, headN),
    late: st.packetsLate,
    inserted: st.framesInserted,
    removed: st.framesRemoved,
    bufferBySecond: Array.from(bufBySec, (v, i) => (bufCount[i]! > 0 ? v / bufCount[i]! : Number.NaN)),
    eventsBySecond: Array.from(events),
  };
}
