import { describe, expect, it } from 'vitest';
import { COMPENSATION, RtcpScheduler, rtcpInterval, updateAvgRtcpSize } from '../../src/rtp/index.js';

const half = (): number => 0.5;

describe('RTCP transmission interval (RFC 3550 §6.3, §A.7)', () => {
  it('uses the 5 s minimum (halved before the first report) for a two-party call', () => {
    const base = { members: 2, senders: 2, rtcpBandwidth: 400, weSent: true, avgRtcpSize: 100 };
    expect(rtcpInterval({ ...base, initial: false }, half)).toBeCloseTo(5 / COMPENSATION, 9);
    expect(rtcpInterval({ ...base, initial: true }, half)).toBeCloseTo(2.5 / COMPENSATION, 9);
  });

  it('randomises to [0.5, 1.5) × T', () => {
    const base = { members: 2, senders: 2, rtcpBandwidth: 400, weSent: true, avgRtcpSize: 100, initial: false };
    expect(rtcpInterval(base, () => 0)).toBeCloseTo(2.5 / COMPENSATION, 9);
    expect(rtcpInterval(base, () => 0.999999)).toBeCloseTo(7.5 / COMPENSATION, 4);
  });

  it('scales with membership and splits bandwidth 25/75 between few senders and receivers', () => {
    // A receiver among 1000 members with 1 sender: 75% of the bandwidth over 999 receivers.
    const rx = rtcpInterval({ members: 1000, senders: 1, rtcpBandwidth: 400, weSent: false, avgRtcpSize: 100, initial: false }, half);
    expect(rx).toBeCloseTo((100 * 999) / 300 / COMPENSATION, 6);
    // The one sender: 25% of the bandwidth over 1 sender → the minimum applies.
    const tx = rtcpInterval({ members: 1000, senders: 1, rtcpBandwidth: 400, weSent: true, avgRtcpSize: 100, initial: false }, half);
    expect(tx).toBeCloseTo(5 / COMPENSATION, 6);
  });

  it('updates the average size with gain 1/16', () => {
    expect(updateAvgRtcpSize(100, 260)).toBe(110);
  });

  it('reconsiders the timer: sends when due, postpones when membership grew', () => {
    const s = new RtcpScheduler(0, 400, half);
    expect(s.tn).toBeCloseTo(2.5 / COMPENSATION, 6);
    const first = s.onExpire(s.tn, 2, 2, true);
    expect(first.send).toBe(true);
    expect(first.next - s.tp).toBeCloseTo(5 / COMPENSATION, 6);
    // Membership jumps to 2000 receivers before the next expiry: the new T is far later.
    const second = s.onExpire(first.next, 2000, 1, false);
    expect(second.send).toBe(false);
    expect(second.next).toBeGreaterThan(first.next + 100);
  });
});
