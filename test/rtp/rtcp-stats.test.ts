import { describe, expect, it } from 'vitest';
import { ReceptionStatistics, ntpFromUnixMs, ntpMiddle32, roundTripTime, unixMsFromNtp } from '../../src/rtp/index.js';

describe('ReceptionStatistics (RFC 3550 §A.1, §A.3, §A.8)', () => {
  it('holds the first packet on probation, then counts expected and lost across the sequence wrap', () => {
    const st = new ReceptionStatistics(0xabc, 8000);
    const start = 65500;
    const lost = new Set([10, 11, 12, 40, 41, 42, 43, 70, 71, 99]);
    let accepted = 0;
    for (let i = 0; i < 100; i++) {
      if (lost.has(i)) continue;
      if (st.onPacket((start + i) & 0xffff, i * 160, i * 20)) accepted++;
    }
    expect(accepted).toBe(89); // first packet is on probation
    expect(st.extendedHighestSequence).toBe(start + 98); // 65598 = 1 cycle + 62
    expect(st.expected).toBe(98); // from start+1 to start+98
    expect(st.cumulativeLost).toBe(9);
    const block = st.makeReportBlock(2000);
    expect(block.highestSequence).toBe(65536 + 62);
    expect(block.fractionLost).toBe(Math.floor((9 * 256) / 98));
    expect(block.cumulativeLost).toBe(9);
    // Next interval: 50 more packets; packet 99 (lost) now counts as expected in it.
    for (let i = 100; i < 150; i++) st.onPacket((start + i) & 0xffff, i * 160, i * 20);
    expect(st.makeReportBlock(3000).fractionLost).toBe(Math.floor(256 / 51));
    for (let i = 150; i < 200; i++) st.onPacket((start + i) & 0xffff, i * 160, i * 20);
    expect(st.makeReportBlock(4000).fractionLost).toBe(0);
  });

  it('counts duplicates as received, so cumulative loss can go negative', () => {
    const st = new ReceptionStatistics(1, 8000);
    for (let i = 0; i < 10; i++) st.onPacket(i, i * 160, i * 20);
    for (let i = 5; i < 10; i++) st.onPacket(i, i * 160, 300);
    expect(st.cumulativeLost).toBe(-5);
    expect(st.makeReportBlock(400).cumulativeLost).toBe(-5);
  });

  it('restarts after two sequential packets following a large jump (§A.1 bad_seq)', () => {
    const st = new ReceptionStatistics(1, 8000);
    for (let i = 0; i < 10; i++) st.onPacket(i, i * 160, i * 20);
    expect(st.onPacket(40000, 0, 300)).toBe(false);
    expect(st.onPacket(40001, 160, 320)).toBe(true);
    expect(st.extendedHighestSequence).toBe(40001);
    expect(st.expected).toBe(1);
  });

  it('estimates interarrival jitter: zero for constant transit, ~|D| for alternating delay', () => {
    const flat = new ReceptionStatistics(1, 8000);
    for (let i = 0; i < 200; i++) flat.onPacket(i, 0xfffff000 + i * 160, 1000 + i * 20); // timestamp wraps
    expect(flat.jitter).toBeCloseTo(0, 6);
    const alt = new ReceptionStatistics(1, 8000);
    for (let i = 0; i < 400; i++) alt.onPacket(i, i * 160, 1000 + i * 20 + (i % 2) * 10);
    // |D| = 10 ms = 80 timestamp units every packet, so J converges to 80.
    expect(alt.jitter).toBeGreaterThan(79);
    expect(alt.jitter).toBeLessThan(80.01);
    expect(alt.makeReportBlock(0).jitter).toBe(79);
  });

  it('fills LSR/DLSR and the sender computes the round-trip time from them', () => {
    const t0 = Date.UTC(2026, 0, 1);
    const ntp = ntpFromUnixMs(t0);
    expect(Math.abs(unixMsFromNtp(ntp.seconds, ntp.fraction) - t0)).toBeLessThan(0.001);
    const rx = new ReceptionStatistics(1, 8000);
    rx.onPacket(0, 0, 0);
    rx.onPacket(1, 160, 20);
    // SR sent at t0, arrives 30 ms later (receiver clock: 5000); RR made 50 ms after that.
    rx.onSenderReport({ ntpSeconds: ntp.seconds, ntpFraction: ntp.fraction }, 5000);
    const block = rx.makeReportBlock(5050);
    expect(block.lastSenderReport).toBe(ntpMiddle32(ntp.seconds, ntp.fraction));
    expect(block.delaySinceLastSenderReport).toBe(Math.round(0.05 * 65536));
    // RR arrives back at the sender 30 ms later: t0 + 110 ms. RTT = 110 - 50 = 60 ms.
    expect(roundTripTime(block, t0 + 110)).toBeCloseTo(0.06, 3);
    expect(roundTripTime({ lastSenderReport: 0, delaySinceLastSenderReport: 0 }, t0)).toBeUndefined();
  });
});
