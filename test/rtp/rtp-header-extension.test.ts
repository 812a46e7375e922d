import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ONE_BYTE_PROFILE,
  RtpPacket,
  RtpParseError,
  TWO_BYTE_PROFILE,
  findHeaderExtension,
  headerExtensionProfileFor,
  headerExtensionSize,
  parseHeaderExtension,
  serializeRtp,
  writeHeaderExtension,
} from '../../src/rtp/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('RFC 8285 header extensions', () => {
  it('parses the one-byte form with padding between elements (RFC 8285 §4.2 example layout)', () => {
    // id 1 len 1 (aa), padding, id 2 len 3 (01 02 03), padding to a word
    const els = parseHeaderExtension(ONE_BYTE_PROFILE, hex('10 aa 00 22 01 02 03 00'));
    expect(els.map((e) => [e.id, Buffer.from(e.data).toString('hex')])).toEqual([
      [1, 'aa'],
      [2, '010203'],
    ]);
  });

  it('stops at the reserved ID 15 in the one-byte form', () => {
    const els = parseHeaderExtension(ONE_BYTE_PROFILE, hex('10 aa f0 20 bb 00 00 00'));
    expect(els.map((e) => e.id)).toEqual([1]);
  });

  it('parses the two-byte form including zero-length elements', () => {
    const els = parseHeaderExtension(0x1005, hex('01 00 00 ff 02 ab cd 00'));
    expect(els.map((e) => [e.id, e.data.length])).toEqual([
      [1, 0],
      [255, 2],
    ]);
    expect(Array.from(findHeaderExtension(0x1005, hex('01 00 00 ff 02 ab cd 00'), 255)!)).toEqual([0xab, 0xcd]);
  });

  it('treats other profiles as opaque', () => {
    expect(parseHeaderExtension(0x1234, hex('10 aa 00 00'))).toEqual([]);
  });

  it('rejects overrunning elements with RtpParseError', () => {
    expect(() => parseHeaderExtension(ONE_BYTE_PROFILE, hex('13 aa 00 00'))).toThrow(RtpParseError);
    expect(() => parseHeaderExtension(TWO_BYTE_PROFILE, hex('01 05 00 00'))).toThrow(RtpParseError);
    expect(() => parseHeaderExtension(TWO_BYTE_PROFILE, hex('00 00 00 01'))).toThrow(RtpParseError);
  });

  it('chooses the two-byte form only when needed', () => {
    expect(headerExtensionProfileFor([{ id: 14, data: new Uint8Array(16) }])).toBe(ONE_BYTE_PROFILE);
    expect(headerExtensionProfileFor([{ id: 15, data: new Uint8Array(1) }])).toBe(TWO_BYTE_PROFILE);
    expect(headerExtensionProfileFor([{ id: 1, data: new Uint8Array(17) }])).toBe(TWO_BYTE_PROFILE);
    expect(headerExtensionProfileFor([{ id: 1, data: new Uint8Array(0) }])).toBe(TWO_BYTE_PROFILE);
  });

  it('serializes a packet with two-byte elements that a parse reads back', () => {
    const out = new Uint8Array(100);
    const n = serializeRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 2, ssrc: 3, extensions: [{ id: 200, data: hex('0102') }] }, hex('ff'), out);
    const p = RtpPacket.parse(out.subarray(0, n));
    expect(p.extensionProfile).toBe(TWO_BYTE_PROFILE);
    expect(Buffer.from(p.extensionData).toString('hex')).toBe('c8020102');
    expect(parseHeaderExtension(p.extensionProfile, p.extensionData)).toEqual([{ id: 200, data: hex('0102') }]);
  });

  it('property: write → parse round-trips in both forms; parse throws only RtpParseError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(fc.record({ id: fc.integer({ min: 1, max: 14 }), data: fc.uint8Array({ minLength: 1, maxLength: 16 }) }), { maxLength: 6 }),
          fc.array(fc.record({ id: fc.integer({ min: 1, max: 255 }), data: fc.uint8Array({ maxLength: 64 }) }), { maxLength: 6 }),
        ),
        (els) => {
          const profile = headerExtensionProfileFor(els);
          const out = new Uint8Array(headerExtensionSize(profile, els));
          expect(writeHeaderExtension(profile, els, out, 0)).toBe(out.length);
          const back = parseHeaderExtension(profile, out).map((e) => ({ id: e.id, data: Uint8Array.from(e.data) }));
          expect(back).toEqual(els.map((e) => ({ id: e.id, data: Uint8Array.from(e.data) })));
        },
      ),
    );
    fc.assert(
      fc.property(fc.constantFrom(ONE_BYTE_PROFILE, TWO_BYTE_PROFILE), fc.uint8Array({ maxLength: 40 }), (profile, data) => {
        try {
          for (const e of parseHeaderExtension(profile, data)) expect(e.data.byteOffset + e.data.length).toBeLessThanOrEqual(data.byteOffset + data.length);
        } catch (e) {
          if (!(e instanceof RtpParseError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
