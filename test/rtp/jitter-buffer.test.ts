import { describe, expect, it } from 'vitest';
import { JitterBuffer, QuantileTargetRule } from '../../src/rtp/index.js';
import type { JitterBufferOutput, JitterBufferPacket } from '../../src/rtp/index.js';
import { SCENARIOS, makeTrace, simulate } from '../../bench/network-trace.js';

function pkt(i: number, opts: Partial<JitterBufferPacket> & { seq0?: number; ts0?: number } = {}): JitterBufferPacket {
  const seq0 = opts.seq0 ?? 1000;
  const ts0 = opts.ts0 ?? 50000;
  return {
    sequenceNumber: opts.sequenceNumber ?? (seq0 + i) & 0xffff,
    timestamp: opts.timestamp ?? (ts0 + i * 160) >>> 0,
    ssrc: opts.ssrc ?? 7,
    marker: opts.marker ?? i === 0,
    payload: opts.payload ?? Uint8Array.of(i & 0xff),
  };
}

/** Pushes `arrivals` ([index, arrivalMs]) and pulls every 20 ms from `start` for `n` slots. */
function run(jb: JitterBuffer, arrivals: [number, number, Partial<JitterBufferPacket>?][], start: number, n: number): JitterBufferOutput[] {
  const sorted = [...arrivals].sort((a, b) => a[1] - b[1]);
  const out: JitterBufferOutput[] = [];
  let k = 0;
  for (let s = 0; s < n; s++) {
    const t = start + s * 20;
    while (k < sorted.length && sorted[k]![1] <= t) {
      const [i, at, o] = sorted[k++]!;
      jb.push(pkt(i, o), at);
    }
    out.push(jb.pull(t));
  }
  return out;
}

const frames = (out: JitterBufferOutput[]): number[] => out.flatMap((o) => (o.kind === 'frame' ? [o.payload[0]!] : []));

describe('JitterBuffer mechanics', () => {
  it('canRemove: shrinks its delay only in quiet frames while the excess is under 100 ms', () => {
    const jb = new JitterBuffer({ initialDelayMs: 90, canRemove: (p) => p.payload[1] === 0 });
    const quiet = (i: number): boolean => i % 15 === 14;
    const arrivals = Array.from({ length: 300 }, (_, i) => [i, i * 20 + 2, { payload: Uint8Array.of(i & 0xff, quiet(i) ? 0 : 1) }] as [number, number, Partial<JitterBufferPacket>]);
    const out = run(jb, arrivals, 0, 310);
    const played = new Set(frames(out));
    const removed = Array.from({ length: 250 }, (_, i) => i).filter((i) => !played.has(i & 0xff));
    expect(jb.stats.framesRemoved).toBeGreaterThan(0);
    expect(removed.length).toBe(jb.stats.framesRemoved);
    for (const i of removed) expect(quiet(i)).toBe(true);
  });

  it('waits for its initial delay, then plays frames in order', () => {
    const jb = new JitterBuffer({ initialDelayMs: 40 });
    const out = run(jb, Array.from({ length: 20 }, (_, i) => [i, i * 20 + 5] as [number, number]), 0, 25);
    expect(out[0]!.kind).toBe('silence');
    expect(out[1]!.kind).toBe('silence');
    expect(frames(out)).toEqual([...Array(20).keys()]);
    const first = out.find((o) => o.kind === 'frame')!;
    expect(first.kind === 'frame' && first.bufferDelayMs).toBeGreaterThanOrEqual(40);
  });

  it('reorders, drops duplicates and counts them', () => {
    const jb = new JitterBuffer();
    const arrivals: [number, number][] = Array.from({ length: 30 }, (_, i) => [i, i * 20 + 5]);
    arrivals[10]![1] = 11 * 20 + 8; // 10 arrives after 11
    arrivals.push([12, 12 * 20 + 9], [12, 12 * 20 + 10]); // two duplicates
    const out = run(jb, arrivals, 0, 40);
    expect(frames(out)).toEqual([...Array(30).keys()]);
    expect(jb.stats.packetsDuplicated).toBe(2);
    expect(jb.stats.packetsLate).toBe(0);
  });

  it('conceals a lost frame and counts a late one that comes after its slot', () => {
    const jb = new JitterBuffer({ initialDelayMs: 20 });
    const arrivals: [number, number][] = Array.from({ length: 30 }, (_, i) => [i, i * 20 + 5]);
    arrivals.splice(8, 1); // frame 8 lost
    arrivals[14]![1] = 15 * 20 + 200; // frame 15 arrives 200 ms late
    const out = run(jb, arrivals, 0, 40);
    const played = frames(out);
    expect(played).not.toContain(8);
    expect(played).not.toContain(15);
    expect(played.filter((x) => x > 15)).toEqual([...Array(14).keys()].map((k) => k + 16));
    expect(out.filter((o) => o.kind === 'conceal' && !o.inserted).length).toBeGreaterThanOrEqual(2);
    expect(jb.stats.packetsLate).toBe(1);
    expect(jb.stats.concealmentEvents).toBeGreaterThanOrEqual(2);
  });

  it('plays straight through sequence-number and timestamp wrap', () => {
    const jb = new JitterBuffer();
    const opts = { seq0: 65530, ts0: 0xfffffd00 };
    const arrivals: [number, number, Partial<JitterBufferPacket>][] = Array.from({ length: 30 }, (_, i) => [i, i * 20 + 3, { ...pkt(i, opts) }]);
    const out = run(jb, arrivals, 0, 40);
    expect(frames(out)).toEqual([...Array(30).keys()]);
    expect(jb.stats.packetsLate + jb.stats.packetsDiscarded).toBe(0);
  });

  it('resynchronises on an SSRC change and plays the new stream', () => {
    const jb = new JitterBuffer();
    const arrivals: [number, number, Partial<JitterBufferPacket>][] = [];
    for (let i = 0; i < 20; i++) arrivals.push([i, i * 20 + 3, {}]);
    for (let i = 20; i < 40; i++) arrivals.push([i, i * 20 + 3, { ...pkt(i - 20, { seq0: 9, ts0: 123 }), ssrc: 99, payload: Uint8Array.of(100 + i) }]);
    const out = run(jb, arrivals, 0, 50);
    const played = frames(out);
    expect(played.slice(0, 18)).toEqual([...Array(18).keys()]);
    expect(played.filter((x) => x >= 120)).toEqual([...Array(20).keys()].map((k) => k + 120));
    expect(jb.stats.resyncs).toBe(1);
  });

  it('treats a timestamp gap after silence as a talkspurt and re-anchors at its start', () => {
    const jb = new JitterBuffer();
    const arrivals: [number, number, Partial<JitterBufferPacket>][] = [];
    for (let i = 0; i < 100; i++) arrivals.push([i, i * 20 + 2, {}]);
    // 2 s of silence (DTX): the next talkspurt continues the sequence but jumps the timestamp.
    for (let i = 100; i < 150; i++) arrivals.push([i, (i + 100) * 20 + 2, { ...pkt(i), timestamp: 50000 + (i + 100) * 160, marker: i === 100 }]);
    const out = run(jb, arrivals, 0, 260);
    // Every frame plays except those the buffer removed to shrink its start-up delay.
    expect(frames(out).length).toBe(150 - jb.stats.framesRemoved);
    expect(jb.stats.framesRemoved).toBeLessThanOrEqual(2);
    expect(frames(out).filter((x) => x >= 100)).toEqual([...Array(50).keys()].map((k) => k + 100));
    // The silence cost no inserted frames: it was not a stall.
    expect(jb.stats.framesInserted).toBe(0);
    const spurt = out.findIndex((o) => o.kind === 'frame' && o.payload[0] === 100);
    const o = out[spurt]!;
    // The first frame of the new talkspurt plays at the target delay (≤ one frame above it).
    expect(o.kind === 'frame' && o.bufferDelayMs).toBeLessThanOrEqual(jb.stats.targetDelayMs + 20);
    expect(jb.stats.packetsLate).toBe(0);
  });

  it('bounds what a peer can make it hold, and resynchronises after a sender jump', () => {
    const jb = new JitterBuffer({ capacity: 64 });
    for (let i = 0; i < 5000; i++) jb.push(pkt(i), 0); // a flood, never pulled
    expect(jb.stats.bufferedFrames).toBeLessThanOrEqual(64);
    const jb2 = new JitterBuffer();
    const arrivals: [number, number, Partial<JitterBufferPacket>][] = [];
    for (let i = 0; i < 20; i++) arrivals.push([i, i * 20 + 3, {}]);
    for (let i = 20; i < 60; i++) arrivals.push([i, i * 20 + 3, { ...pkt(i + 30000), payload: Uint8Array.of(i) }]);
    const out = run(jb2, arrivals, 0, 80);
    expect(jb2.stats.resyncs).toBe(1);
    expect(frames(out).filter((x) => x >= 23)).toEqual([...Array(37).keys()].map((k) => k + 23));
  });

  it('honours minDelayMs and maxDelayMs around the rule', () => {
    const clean = makeTrace('clean', 6, 60);
    const floor = simulate(clean, new JitterBuffer({ minDelayMs: 80 }));
    expect(floor.meanBufferMs).toBeGreaterThanOrEqual(80);
    expect(floor.meanBufferMs).toBeLessThan(110);
    const jittery = makeTrace('iid-jitter', 6, 60);
    const capped = simulate(jittery, new JitterBuffer({ maxDelayMs: 10 }));
    expect(capped.meanBufferMs).toBeLessThan(35);
    expect(capped.latePct).toBeGreaterThan(5); // the cap is obeyed even though it costs lateness
  });

  it('a fixed buffer never adapts', () => {
    const jb = new JitterBuffer({ fixedDelayMs: 60 });
    run(jb, Array.from({ length: 100 }, (_, i) => [i, i * 20 + 3 + (i % 7) * 10] as [number, number]), 0, 120);
    expect(jb.stats.framesInserted + jb.stats.framesRemoved).toBe(0);
    expect(jb.stats.targetDelayMs).toBe(60);
  });
});

describe('JitterBuffer on the seeded network scenarios', () => {
  const stationary = new Set(['clean', 'iid-jitter', 'slow-wander', 'reorder', 'random-loss', 'bursty-loss', 'drift+100ppm', 'drift-100ppm', 'level-shift', 'talkspurts']);
  for (const seed of [1, 2]) {
    for (const scenario of SCENARIOS) {
      it(`${scenario} (seed ${seed}): concealment within target and lower delay than a fixed 60 ms buffer`, () => {
        const trace = makeTrace(scenario, seed);
        const ours = simulate(trace, new JitterBuffer());
        const fixed = simulate(trace, new JitterBuffer({ fixedDelayMs: 60 }));
        expect(ours.concealPct).toBeLessThanOrEqual(stationary.has(scenario) ? 1 : 2);
        expect(ours.meanBufferMs).toBeLessThan(fixed.meanBufferMs);
        if (scenario === 'clean') expect(ours.meanBufferMs).toBeLessThanOrEqual(40);
        if (scenario.startsWith('drift')) {
          // No drift-induced growth or underrun over 900 s.
          expect(ours.late).toBe(0);
          expect(Math.abs(ours.tailBufferMs - ours.headBufferMs)).toBeLessThan(15);
          expect(ours.inserted + ours.removed).toBeLessThanOrEqual(12);
        }
        if (scenario === 'drift-100ppm' || scenario === 'level-shift') expect(ours.concealPct).toBeLessThan(fixed.concealPct);
      });
    }
  }

  it('returns to its normal delay within 10 s of every 400 ms spike', () => {
    const r = simulate(makeTrace('spikes', 3), new JitterBuffer());
    const normal = r.bufferBySecond.slice(5, 14).reduce((a, b) => a + b, 0) / 9;
    for (let spike = 15; spike < 290; spike += 30) {
      const after = r.bufferBySecond.slice(spike + 10, spike + 14).filter((x) => !Number.isNaN(x));
      for (const x of after) expect(Math.abs(x - normal)).toBeLessThan(10);
    }
  });

  it('is deterministic for a seed', () => {
    const a = simulate(makeTrace('iid-jitter', 5, 60), new JitterBuffer());
    const b = simulate(makeTrace('iid-jitter', 5, 60), new JitterBuffer());
    expect(a).toEqual(b);
  });

  it('the target rule follows a level shift quickly and forgets it gradually', () => {
    const rule = new QuantileTargetRule();
    let t = 0;
    for (let i = 0; i < 1000; i++, t += 20) rule.onPacket(30 + (i % 3), t);
    const before = rule.targetDelay();
    for (let i = 0; i < 40; i++, t += 20) rule.onPacket(130 + (i % 3), t);
    // Within 0.8 s the spread above the (not yet moved) baseline is followed.
    expect(rule.targetDelay()).toBeGreaterThan(before + 90);
    expect(rule.baseline(t)).toBeLessThan(40);
  });
});

describe('JitterBuffer properties', () => {
  it('under any arrival order, duplicates and SSRC changes: never throws, plays each frame of a stream at most once and in order, stays bounded', async () => {
    const fc = (await import('fast-check')).default;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            i: fc.integer({ min: 0, max: 300 }),
            delay: fc.integer({ min: 0, max: 400 }),
            ssrc: fc.constantFrom(1, 1, 1, 1, 2),
          }),
          { maxLength: 400 },
        ),
        fc.integer({ min: 0, max: 65535 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (arrivals, seq0, ts0) => {
          const jb = new JitterBuffer({ capacity: 32 });
          const events = arrivals
            .map((a) => ({ ...a, at: a.i * 20 + a.delay }))
            .sort((x, y) => x.at - y.at);
          let k = 0;
          let lastSsrc = -1;
          let lastSeq = -Infinity;
          let resyncs = 0;
          const seen = new Set<string>();
          for (let t = 0; t < 7000; t += 20) {
            while (k < events.length && events[k]!.at <= t) {
              const e = events[k++]!;
              jb.push({ sequenceNumber: (seq0 + e.i) & 0xffff, timestamp: (ts0 + e.i * 160) >>> 0, ssrc: e.ssrc, marker: false, payload: Uint8Array.of(e.i & 0xff) }, e.at);
              expect(jb.stats.bufferedFrames).toBeLessThanOrEqual(32);
            }
            const out = jb.pull(t);
            if (out.kind === 'frame') {
              if (out.ssrc !== lastSsrc || jb.stats.resyncs !== resyncs) {
                // A new SSRC, or a resynchronisation after a sender jump, starts a new stream
                // (extended sequence numbers restart; the buffer keeps no per-SSRC history).
                lastSsrc = out.ssrc;
                resyncs = jb.stats.resyncs;
                lastSeq = -Infinity;
                seen.clear();
              }
              expect(out.sequenceNumber).toBeGreaterThan(lastSeq);
              lastSeq = out.sequenceNumber;
              const key = `${out.ssrc}:${out.sequenceNumber}`;
              expect(seen.has(key)).toBe(false);
              seen.add(key);
              expect(out.bufferDelayMs).toBeGreaterThanOrEqual(0);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('JitterBuffer with a consumer off real time', () => {
  for (const pullEvery of [20.5, 19.5]) {
    it(`stays bounded and keeps playing when pulled every ${pullEvery} ms`, () => {
      const trace = makeTrace('clean', 4, 120);
      const jb = new JitterBuffer();
      const arrivals = trace.packets;
      let k = 0;
      let frames = 0;
      let maxBuffered = 0;
      for (let t = 0; t < 120000; t += pullEvery) {
        while (k < arrivals.length && arrivals[k]!.arrivalMs <= t) {
          const p = arrivals[k++]!;
          jb.push({ sequenceNumber: p.sequenceNumber, timestamp: p.timestamp, ssrc: 1, marker: false, payload: new Uint8Array(0) }, p.arrivalMs);
        }
        if (jb.pull(t).kind === 'frame') frames++;
        maxBuffered = Math.max(maxBuffered, jb.stats.bufferedFrames);
      }
      const st = jb.stats;
      // 2.5% off real time = 150 frames over 120 s, corrected one frame at a time.
      expect(maxBuffered).toBeLessThanOrEqual(5);
      expect(st.resyncs).toBe(0);
      if (pullEvery > 20) expect(st.framesRemoved).toBeGreaterThan(100);
      else expect(st.framesInserted).toBeGreaterThan(100);
      expect(frames).toBeGreaterThan(5700);
    });
  }
});
