import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RtcpParseError, parseRtcp, rtcpSize, serializeRtcp } from '../../src/rtp/index.js';
import type { RtcpPacket, RtcpReportBlock, VoipMetrics } from '../../src/rtp/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function roundTrip(bytes: Uint8Array): RtcpPacket[] {
  const packets = parseRtcp(bytes);
  const out = new Uint8Array(rtcpSize(packets));
  expect(serializeRtcp(packets, out)).toBe(bytes.length);
  expect(toHex(out)).toBe(toHex(bytes));
  return packets;
}

const SR = '80 c8 00 06 11 22 33 44 e5 a1 b2 c3 80 00 00 00 00 00 1f 40 00 00 00 64 00 00 3e 80';
const SDES = '81 ca 00 03 11 22 33 44 01 04 61 62 63 64 00 00';
const RR = '81 c9 00 07 11 22 33 44 55 66 77 88 40 ff ff ff 00 01 00 05 00 00 00 20 b2 c3 80 00 00 01 00 00';
const BYE = '81 cb 00 02 11 22 33 44 03 62 79 65';
const APP = '82 cc 00 03 11 22 33 44 54 45 53 54 de ad be ef';
const XR =
  '80 cf 00 0a 11 22 33 44' +
  '07 00 00 08 55 66 77 88' + // BT=7, length 8, SSRC of source
  '0d 03 40 02 00 78 07 d0' + // loss 13/256, discard 3/256, burst density 64, gap density 2, burst 120 ms, gap 2000 ms
  '00 2a 00 50 ec 7f 7f 10' + // RTT 42 ms, end system 80 ms, signal -20 dBm0, noise unavailable, RERL unavailable, Gmin 16
  '5d 7f 29 2b a3 00 00 3c' + // R 93, ext R unavailable, MOS-LQ 4.1, MOS-CQ 4.3, RX config 0xa3, JB nominal 60
  '00 c8 01 f4'; // JB max 200, abs max 500
const NACK = '81 cd 00 03 11 22 33 44 55 66 77 88 00 05 00 00';

describe('RTCP packets (byte vectors)', () => {
  it('SR + SDES compound', () => {
    const [sr, sdes] = roundTrip(hex(SR + SDES));
    expect(sr).toEqual({ type: 'sr', ssrc: 0x11223344, ntpSeconds: 0xe5a1b2c3, ntpFraction: 0x80000000, rtpTimestamp: 8000, packetCount: 100, octetCount: 16000, reports: [] });
    expect(sdes).toEqual({ type: 'sdes', chunks: [{ ssrc: 0x11223344, items: [{ type: 1, text: 'abcd' }] }] });
  });

  it('RR with a report block (negative cumulative loss)', () => {
    const [rr] = roundTrip(hex(RR));
    const block: RtcpReportBlock = {
      ssrc: 0x55667788,
      fractionLost: 64,
      cumulativeLost: -1,
      highestSequence: 0x10005,
      jitter: 32,
      lastSenderReport: 0xb2c38000,
      delaySinceLastSenderReport: 65536,
    };
    expect(rr).toEqual({ type: 'rr', ssrc: 0x11223344, reports: [block] });
  });

  it('BYE with a reason, APP passed through, generic NACK kept as unknown', () => {
    const [bye, app, nack] = roundTrip(hex(RR + BYE + APP + NACK).subarray(32));
    expect(bye).toEqual({ type: 'bye', ssrcs: [0x11223344], reason: 'bye' });
    expect(app).toMatchObject({ type: 'app', subtype: 2, ssrc: 0x11223344, name: 'TEST' });
    expect(toHex((app as { data: Uint8Array }).data)).toBe('deadbeef');
    expect(nack).toMatchObject({ type: 'unknown', packetType: 205, count: 1 });
  });

  it('XR with the RFC 3611 VoIP metrics block', () => {
    const [xr] = roundTrip(hex(XR));
    const m: VoipMetrics = {
      ssrc: 0x55667788,
      lossRate: 13,
      discardRate: 3,
      burstDensity: 64,
      gapDensity: 2,
      burstDuration: 120,
      gapDuration: 2000,
      roundTripDelay: 42,
      endSystemDelay: 80,
      signalLevel: -20,
      noiseLevel: 127,
      rerl: 127,
      gmin: 16,
      rFactor: 93,
      extRFactor: 127,
      mosLq: 41,
      mosCq: 43,
      rxConfig: 0xa3,
      jbNominal: 60,
      jbMaximum: 200,
      jbAbsMax: 500,
    };
    expect(xr).toEqual({ type: 'xr', ssrc: 0x11223344, blocks: [{ blockType: 7, metrics: m }] });
  });

  it('accepts padding on the last packet only', () => {
    // BYE without reason, padded by 4 bytes: length 2 words + 1.
    const padded = hex('a1 cb 00 02 11 22 33 44 00 00 00 04');
    expect(parseRtcp(padded)).toEqual([{ type: 'bye', ssrcs: [0x11223344] }]);
    const e = (() => {
      try {
        parseRtcp(hex('a1 cb 00 02 11 22 33 44 00 00 00 04' + BYE));
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(RtcpParseError);
    expect((e as RtcpParseError).code).toBe('bad-padding');
  });

  it.each([
    ['too-short', '80 c8'],
    ['bad-version', '40 c8 00 00'],
    ['bad-length', '80 c9 00 05 11 22 33 44'],
    ['bad-report-count', '81 c9 00 01 11 22 33 44'],
    ['bad-sdes', '81 ca 00 02 11 22 33 44 01 08 61 62'],
    ['not-rtcp', '80 00 00 00'],
    ['bad-xr-block', '80 cf 00 03 11 22 33 44 07 00 00 01 00 00 00 00'],
  ])('rejects %s', (code, h) => {
    try {
      parseRtcp(hex(h));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RtcpParseError);
      expect((e as RtcpParseError).code).toBe(code);
    }
  });
});

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u8 = fc.integer({ min: 0, max: 255 });
const block = fc.record({
  ssrc: u32,
  fractionLost: u8,
  cumulativeLost: fc.integer({ min: -0x800000, max: 0x7fffff }),
  highestSequence: u32,
  jitter: u32,
  lastSenderReport: u32,
  delaySinceLastSenderReport: u32,
});
const text = fc.string({ maxLength: 60 });
const words = fc.integer({ min: 0, max: 8 }).chain((n) => fc.uint8Array({ minLength: n * 4, maxLength: n * 4 }));
const metrics = fc.record({
  ssrc: u32,
  lossRate: u8,
  discardRate: u8,
  burstDensity: u8,
  gapDensity: u8,
  burstDuration: u16,
  gapDuration: u16,
  roundTripDelay: u16,
  endSystemDelay: u16,
  signalLevel: fc.integer({ min: -128, max: 127 }),
  noiseLevel: fc.integer({ min: -128, max: 127 }),
  rerl: u8,
  gmin: u8,
  rFactor: u8,
  extRFactor: u8,
  mosLq: u8,
  mosCq: u8,
  rxConfig: u8,
  jbNominal: u16,
  jbMaximum: u16,
  jbAbsMax: u16,
});
const packetArb: fc.Arbitrary<RtcpPacket> = fc.oneof(
  fc.record({ type: fc.constant('sr' as const), ssrc: u32, ntpSeconds: u32, ntpFraction: u32, rtpTimestamp: u32, packetCount: u32, octetCount: u32, reports: fc.array(block, { maxLength: 3 }) }),
  fc.record({ type: fc.constant('rr' as const), ssrc: u32, reports: fc.array(block, { maxLength: 31 }) }),
  fc.record({
    type: fc.constant('sdes' as const),
    chunks: fc.array(fc.record({ ssrc: u32, items: fc.array(fc.record({ type: fc.integer({ min: 1, max: 8 }), text }), { maxLength: 3 }) }), { maxLength: 3 }),
  }),
  fc.record({ type: fc.constant('bye' as const), ssrcs: fc.array(u32, { maxLength: 4 }), reason: text }),
  fc.record({ type: fc.constant('app' as const), subtype: fc.integer({ min: 0, max: 31 }), ssrc: u32, name: fc.constantFrom('TEST', 'abcd', 'PoC1'), data: words }),
  fc.record({
    type: fc.constant('xr' as const),
    ssrc: u32,
    blocks: fc.array(
      fc.oneof(
        fc.record({ blockType: fc.constant(7 as const), metrics }),
        fc.record({ blockType: fc.constantFrom(1, 2, 4, 5, 6), typeSpecific: u8, data: words }),
      ),
      { maxLength: 3 },
    ),
  }),
  fc.record({ type: fc.constant('unknown' as const), packetType: fc.constantFrom(192, 205, 206, 208), count: fc.integer({ min: 0, max: 31 }), body: words }),
);

describe('RTCP properties', () => {
  it('serialize → parse round-trips compound packets', () => {
    fc.assert(
      fc.property(fc.array(packetArb, { minLength: 1, maxLength: 4 }), (packets) => {
        const out = new Uint8Array(rtcpSize(packets));
        expect(serializeRtcp(packets, out)).toBe(out.length);
        const back = JSON.parse(JSON.stringify(parseRtcp(out), (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v)));
        const want = JSON.parse(JSON.stringify(packets, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v)));
        expect(back).toEqual(want);
      }),
      { numRuns: 500 },
    );
  });

  it('parse throws only RtcpParseError on random and mutated bytes', () => {
    const valid = hex(SR + SDES + BYE + XR);
    const check = (b: Uint8Array): void => {
      try {
        parseRtcp(b);
      } catch (e) {
        if (!(e instanceof RtcpParseError)) throw e;
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), check), { numRuns: 2000 });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), u8), { maxLength: 6 }), fc.nat(valid.length), (muts, cut) => {
        const b = valid.slice(0, cut);
        for (const [i, v] of muts) if (i < b.length) b[i] = v;
        check(b);
      }),
      { numRuns: 3000 },
    );
  });
});
