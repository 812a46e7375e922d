import { describe, expect, it } from 'vitest';
import { JitterBuffer, ReceptionStatistics, VoipMetricsCollector, parseRtcp, rtcpSize, serializeRtcp } from '../../src/rtp/index.js';
import type { RtcpPacket } from '../../src/rtp/index.js';

/** Feeds a pattern: 'r' received, 'l' lost. */
function feed(c: VoipMetricsCollector, pattern: string): void {
  for (const ch of pattern) {
    if (ch === 'r') c.onReceived();
    else c.onLost();
  }
}

describe('VoipMetricsCollector (RFC 3611 §4.7)', () => {
  it('books isolated losses to gaps and close losses to bursts (Gmin 16)', () => {
    const c = new VoipMetricsCollector({ gmin: 16 });
    // 100 received, an isolated loss, 50 received, a burst l r l r r l, 40 received.
    feed(c, 'r'.repeat(100) + 'l' + 'r'.repeat(50) + 'lrlrrl' + 'r'.repeat(40));
    const m = c.report({ ssrc: 1 });
    // Burst: "lrlrrl" = 6 frames, 3 lost → density 128/256, duration 120 ms.
    expect(m.burstDensity).toBe(128);
    expect(m.burstDuration).toBe(120);
    // Gaps: 100 + 1 + 50 + 40 = 191 frames with 1 loss, in 2 gap periods.
    expect(m.gapDensity).toBe(Math.floor(256 / 191));
    expect(m.gapDuration).toBe(Math.round((191 * 20) / 2));
    expect(m.gmin).toBe(16);
  });

  it('keeps losses Gmin or more apart in the gap', () => {
    const c = new VoipMetricsCollector({ gmin: 4 });
    feed(c, 'rrrrlrrrrlrrrr');
    const m = c.report({ ssrc: 1 });
    expect(m.burstDensity).toBe(0);
    expect(m.burstDuration).toBe(0);
    expect(m.gapDensity).toBe(Math.floor((2 * 256) / 14));
  });

  it('counts an open burst at report time', () => {
    const c = new VoipMetricsCollector();
    feed(c, 'rrrllrl');
    expect(c.report({ ssrc: 1 })).toMatchObject({ burstDensity: Math.floor((3 * 256) / 4), burstDuration: 80 });
  });

  it('fills rates, delays and buffer sizes from the statistics, and serializes as an XR block', () => {
    const rx = new ReceptionStatistics(9, 8000);
    const jb = new JitterBuffer();
    for (let i = 0; i < 200; i++) {
      if (i % 10 === 5) continue; // 10% lost
      rx.onPacket(i, i * 160, i * 20);
      jb.push({ sequenceNumber: i, timestamp: i * 160, ssrc: 9, marker: false, payload: new Uint8Array(0) }, i * 20 + 2);
    }
    const c = new VoipMetricsCollector();
    for (let t = 0; t < 4200; t += 20) c.onPlayout(jb.pull(t));
    const m = c.report({ ssrc: 9, reception: rx, jitterBuffer: jb.stats, roundTripTime: 0.042 });
    expect(m.lossRate).toBe(Math.floor((20 * 256) / 199));
    expect(m.roundTripDelay).toBe(42);
    expect(m.jbAbsMax).toBe(2560);
    expect(m.rxConfig).toBe(0x30);
    expect(m.endSystemDelay).toBeGreaterThanOrEqual(40);
    expect(m.gapDensity + m.burstDensity).toBeGreaterThan(0);
    const packets: RtcpPacket[] = [{ type: 'xr', ssrc: 1, blocks: [{ blockType: 7, metrics: m }] }];
    const out = new Uint8Array(rtcpSize(packets));
    serializeRtcp(packets, out);
    expect(parseRtcp(out)).toEqual(packets);
  });
});
