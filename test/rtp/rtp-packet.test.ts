import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RtpPacket, RtpParseError, isRtcpPacket, rtpPacketSize, serializeRtp } from '../../src/rtp/index.js';
import type { RtpHeaderFields } from '../../src/rtp/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('RtpPacket', () => {
  it('parses a minimal G.711 packet (byte vector) and serializes it back', () => {
    // V=2, PT=0 (PCMU), seq 0x1234, ts 0x000000a0, SSRC 0xdeadbeef, 4-byte payload.
    const bytes = hex('80 00 12 34 00 00 00 a0 de ad be ef ff fe fd fc');
    const p = RtpPacket.parse(bytes);
    expect(p.version).toBe(2);
    expect(p.padding).toBe(false);
    expect(p.extension).toBe(false);
    expect(p.csrcCount).toBe(0);
    expect(p.marker).toBe(false);
    expect(p.payloadType).toBe(0);
    expect(p.sequenceNumber).toBe(0x1234);
    expect(p.timestamp).toBe(0xa0);
    expect(p.ssrc).toBe(0xdeadbeef);
    expect(toHex(p.payload)).toBe('fffefdfc');
    expect(p.headerLength).toBe(12);
    const out = new Uint8Array(64);
    const n = serializeRtp({ payloadType: 0, sequenceNumber: 0x1234, timestamp: 0xa0, ssrc: 0xdeadbeef }, p.payload, out);
    expect(toHex(out.subarray(0, n))).toBe(toHex(bytes));
  });

  it('parses marker, CSRCs, a one-byte extension and padding (byte vector)', () => {
    const bytes = hex(
      'b2 e5 ff ff 80 00 00 00 00 00 00 01' + // V=2 P=1 X=1 CC=2, M=1 PT=101, seq 65535, ts 2^31, SSRC 1
        '00 00 00 02 00 00 00 03' + // CSRCs 2 and 3
        'be de 00 01 10 aa 00 00' + // one-byte extension: id 1, len 1, data aa, padding
        '01 02 03' + // payload
        '00 00 03', // 3 padding bytes
    );
    const p = RtpPacket.parse(bytes);
    expect(p.marker).toBe(true);
    expect(p.payloadType).toBe(101);
    expect(p.sequenceNumber).toBe(65535);
    expect(p.timestamp).toBe(0x80000000);
    expect(p.csrcs).toEqual([2, 3]);
    expect(p.csrc(1)).toBe(3);
    expect(p.extensionProfile).toBe(0xbede);
    expect(toHex(p.extensionData)).toBe('10aa0000');
    expect(toHex(p.payload)).toBe('010203');
    expect(p.paddingLength).toBe(3);
    const out = new Uint8Array(64);
    const n = serializeRtp(
      { payloadType: 101, marker: true, sequenceNumber: 65535, timestamp: 0x80000000, ssrc: 1, csrcs: [2, 3], extensions: [{ id: 1, data: hex('aa') }], paddingLength: 3 },
      p.payload,
      out,
    );
    expect(toHex(out.subarray(0, n))).toBe(toHex(bytes));
  });

  it('rewrites SSRC, sequence number, timestamp, marker and PT in place', () => {
    const bytes = hex('80 00 12 34 00 00 00 a0 de ad be ef ff');
    const p = new RtpPacket().wrap(bytes);
    p.ssrc = 0x01020304;
    p.sequenceNumber = 0xfffe;
    p.timestamp = 0xffffffff;
    p.marker = true;
    p.payloadType = 8;
    expect(toHex(bytes)).toBe('8088fffeffffffff01020304ff');
  });

  it('views a packet at an offset inside a larger buffer', () => {
    const bytes = hex('00 00 80 00 00 01 00 00 00 02 00 00 00 03 aa bb 99');
    const p = new RtpPacket().wrap(bytes, 2, 14);
    expect(p.sequenceNumber).toBe(1);
    expect(p.ssrc).toBe(3);
    expect(toHex(p.payload)).toBe('aabb');
    const out = new Uint8Array(20);
    expect(p.copyTo(out, 1)).toBe(14);
    expect(toHex(out.subarray(1, 15))).toBe(toHex(bytes.subarray(2, 16)));
  });

  it.each([
    ['too-short', '80 00 00 01 00 00 00 00 00 00 00'],
    ['bad-version', '40 00 00 01 00 00 00 00 00 00 00 01'],
    ['bad-csrc-count', '81 00 00 01 00 00 00 00 00 00 00 01'],
    ['bad-extension', '90 00 00 01 00 00 00 00 00 00 00 01 be de 00 02 10 aa 00 00'],
    ['bad-padding', 'a0 00 00 01 00 00 00 00 00 00 00 01 00'],
    ['bad-padding', 'a0 00 00 01 00 00 00 00 00 00 00 01 ff 05'],
    ['rtcp-payload-type', '80 c8 00 01 00 00 00 00 00 00 00 01'],
  ])('rejects %s with a typed error', (code, h) => {
    try {
      RtpPacket.parse(hex(h));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RtpParseError);
      expect((e as RtpParseError).code).toBe(code);
    }
  });

  it('tells RTCP from RTP on a multiplexed port (RFC 5761 §4)', () => {
    expect(isRtcpPacket(hex('80 c8 00 06'))).toBe(true);
    expect(isRtcpPacket(hex('81 c9 00 07'))).toBe(true);
    expect(isRtcpPacket(hex('80 00 00 01'))).toBe(false);
    expect(isRtcpPacket(hex('80 e5 00 01'))).toBe(false); // marker + PT 101
  });

  it('throws RangeError when the output buffer is too small', () => {
    expect(() => serializeRtp({ payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0 }, new Uint8Array(160), new Uint8Array(100))).toThrow(RangeError);
  });

  const headerArb: fc.Arbitrary<RtpHeaderFields> = fc.record({
    payloadType: fc.integer({ min: 0, max: 127 }),
    sequenceNumber: fc.integer({ min: 0, max: 65535 }),
    timestamp: fc.integer({ min: 0, max: 0xffffffff }),
    ssrc: fc.integer({ min: 0, max: 0xffffffff }),
    marker: fc.boolean(),
    csrcs: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 15 }),
    extensions: fc.oneof(
      fc.array(fc.record({ id: fc.integer({ min: 1, max: 14 }), data: fc.uint8Array({ minLength: 1, maxLength: 16 }) }), { maxLength: 4 }),
      fc.array(fc.record({ id: fc.integer({ min: 1, max: 255 }), data: fc.uint8Array({ maxLength: 40 }) }), { maxLength: 4 }),
    ),
    paddingLength: fc.integer({ min: 0, max: 255 }),
  });

  it('property: serialize → parse round-trips every field', () => {
    fc.assert(
      fc.property(headerArb, fc.uint8Array({ maxLength: 300 }), (h, payload) => {
        fc.pre(!(h.marker && h.payloadType >= 72 && h.payloadType <= 76));
        const out = new Uint8Array(rtpPacketSize(h, payload.length));
        const n = serializeRtp(h, payload, out);
        expect(n).toBe(out.length);
        const p = RtpPacket.parse(out);
        expect(p.payloadType).toBe(h.payloadType);
        expect(p.sequenceNumber).toBe(h.sequenceNumber);
        expect(p.timestamp).toBe(h.timestamp);
        expect(p.ssrc).toBe(h.ssrc);
        expect(p.marker).toBe(h.marker);
        expect(p.csrcs).toEqual(h.csrcs);
        expect(Array.from(p.payload)).toEqual(Array.from(payload));
        expect(p.paddingLength).toBe(h.paddingLength);
        // and re-serializing the parsed view gives the same bytes
        const again = new Uint8Array(n);
        p.copyTo(again);
        expect(again).toEqual(out);
      }),
    );
  });

  it('property: parse never throws anything but RtpParseError on random and mutated bytes', () => {
    const valid = hex('b2 e5 ff ff 80 00 00 00 00 00 00 01 00 00 00 02 00 00 00 03 be de 00 01 10 aa 00 00 01 02 03 00 00 03');
    const check = (b: Uint8Array): void => {
      try {
        const p = RtpPacket.parse(b);
        // Every accessor stays inside the datagram.
        expect(p.payloadOffset + p.payloadLength).toBeLessThanOrEqual(b.length);
        void p.csrcs;
        void p.extensionData;
      } catch (e) {
        if (!(e instanceof RtpParseError)) throw e;
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), check), { numRuns: 2000 });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(valid.length), (muts, cut) => {
        const b = valid.slice(0, Math.max(cut, 1));
        for (const [i, v] of muts) if (i < b.length) b[i] = v;
        check(b);
      }),
      { numRuns: 2000 },
    );
  });
});
