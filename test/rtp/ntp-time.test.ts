import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { NTP_UNIX_OFFSET_SECONDS, ntpFromUnixMs, ntpMiddle32, ntpMiddle32FromUnixMs, unixMsFromNtp } from '../../src/rtp/index.js';

describe('NTP timestamps (RFC 3550 §4)', () => {
  it('converts the Unix epoch and half seconds exactly', () => {
    expect(ntpFromUnixMs(0)).toEqual({ seconds: NTP_UNIX_OFFSET_SECONDS, fraction: 0 });
    expect(ntpFromUnixMs(1500)).toEqual({ seconds: NTP_UNIX_OFFSET_SECONDS + 1, fraction: 0x80000000 });
  });

  it('takes the middle 32 bits for LSR (16.16 fixed point)', () => {
    expect(ntpMiddle32(0x0001_abcd, 0x8000_1234)).toBe(0xabcd_8000);
    expect(ntpMiddle32FromUnixMs(1500)).toBe((((NTP_UNIX_OFFSET_SECONDS + 1) & 0xffff) << 16 | 0x8000) >>> 0);
  });

  it('property: Unix ms → NTP → Unix ms round-trips within a microsecond', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 2_000_000_000_000, noNaN: true }), (ms) => {
        const t = ntpFromUnixMs(ms);
        expect(Math.abs(unixMsFromNtp(t.seconds, t.fraction) - ms)).toBeLessThan(0.001);
      }),
    );
  });
});
