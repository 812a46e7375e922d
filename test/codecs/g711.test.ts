import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  aLawDecode,
  aLawDecodeSample,
  aLawEncode,
  aLawEncodeSample,
  aLawToMuLaw,
  CodecRangeError,
  decodeALaw,
  decodeMuLaw,
  encodeALaw,
  encodeMuLaw,
  muLawDecode,
  muLawDecodeSample,
  muLawEncode,
  muLawEncodeSample,
  muLawToALaw,
} from '../../src/codecs/index.js';

const fixture = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(fileURLToPath(new URL(`../fixtures/g711/${name}`, import.meta.url))));

/** The reference vectors computed with ITU-T G.191 g711.c (see test/fixtures/g711/README.md). */
const ULAW_ENC = fixture('ulaw_enc.bin');
const ALAW_ENC = fixture('alaw_enc.bin');
const decTable = (name: string): Int16Array => {
  const b = fixture(name);
  const out = new Int16Array(256);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let c = 0; c < 256; c++) out[c] = view.getInt16(2 * c, true);
  return out;
};
const ULAW_DEC = decTable('ulaw_dec.bin');
const ALAW_DEC = decTable('alaw_dec.bin');

/** Every int16 value, in the fixtures' order (index x + 32768). */
const ALL_SAMPLES = new Int16Array(65536).map((_, i) => i - 32768);
const ALL_CODES = new Uint8Array(256).map((_, i) => i);

/** Copies `src` into a fresh buffer at byte offset `offset` (to force either code path). */
function atOffset<T extends Int16Array | Uint8Array>(src: T, offset: number): T {
  const bytes = src.length * src.BYTES_PER_ELEMENT;
  const buf = new ArrayBuffer(bytes + offset + 8);
  const out = (src instanceof Int16Array ? new Int16Array(buf, offset, src.length) : new Uint8Array(buf, offset, src.length)) as T;
  out.set(src);
  return out;
}

const laws = [
  { name: 'µ-law', encode: encodeMuLaw, decode: decodeMuLaw, enc: ULAW_ENC, dec: ULAW_DEC },
  { name: 'A-law', encode: encodeALaw, decode: decodeALaw, enc: ALAW_ENC, dec: ALAW_DEC },
] as const;

describe('G.711 is bit-exact with ITU-T G.191', () => {
  for (const law of laws) {
    // Offsets: 0 = both aligned (32-bit fast path); 2 = PCM aligned after a 2-sample head;
    // odd code offsets make PCM and codes relatively misaligned (scalar path).
    for (const [pcmOffset, codeOffset] of [
      [0, 0],
      [2, 2],
      [2, 1],
      [0, 3],
      [4, 1],
    ] as const) {
      it(`${law.name} encodes all 65,536 inputs (pcm offset ${pcmOffset}, code offset ${codeOffset})`, () => {
        const pcm = atOffset(ALL_SAMPLES, pcmOffset);
        const out = atOffset(new Uint8Array(65536), codeOffset);
        law.encode(pcm, out);
        expect(Buffer.from(out).equals(Buffer.from(law.enc))).toBe(true);
      });
      it(`${law.name} decodes all 256 codes (pcm offset ${pcmOffset}, code offset ${codeOffset})`, () => {
        // 4 copies of the 256 codes so the fast path runs over all of them too.
        const codes = atOffset(new Uint8Array(1024).map((_, i) => i & 0xff), codeOffset);
        const out = atOffset(new Int16Array(1024), pcmOffset);
        law.decode(codes, out);
        for (let i = 0; i < 1024; i++) expect(out[i]).toBe(law.dec[i & 0xff]);
      });
    }
  }

  it('per-sample helpers match the vectors', () => {
    for (let x = -32768; x < 32768; x++) {
      expect(muLawEncodeSample(x)).toBe(ULAW_ENC[x + 32768]);
      expect(aLawEncodeSample(x)).toBe(ALAW_ENC[x + 32768]);
    }
    for (let c = 0; c < 256; c++) {
      expect(muLawDecodeSample(c)).toBe(ULAW_DEC[c]);
      expect(aLawDecodeSample(c)).toBe(ALAW_DEC[c]);
    }
  });

  it('has the documented invariants', () => {
    const mu = muLawEncode(new Int16Array([0, -1, 32767, -32768]));
    expect([...mu]).toEqual([0xff, 0x7f, 0x80, 0x00]);
    const a = aLawEncode(new Int16Array([0, -1, 32767, -32768]));
    expect([...a]).toEqual([0xd5, 0x55, 0xaa, 0x2a]);
    expect(Math.max(...muLawDecode(ALL_CODES))).toBe(32124);
    expect(Math.min(...muLawDecode(ALL_CODES))).toBe(-32124);
    expect(Math.max(...aLawDecode(ALL_CODES))).toBe(32256);
    expect(Math.min(...aLawDecode(ALL_CODES))).toBe(-32256);
  });

  it('follows G.191 one\'s complement symmetry: encode(~x) == encode(x) ^ 0x80', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 32767 }), (x) => {
        expect(muLawEncodeSample(~x)).toBe(muLawEncodeSample(x) ^ 0x80);
        expect(aLawEncodeSample(~x)).toBe(aLawEncodeSample(x) ^ 0x80);
      }),
      { seed: 711, numRuns: 2000 },
    );
  });

  it('round-trips every code through decode then encode (µ-law 0x7F is negative zero)', () => {
    const mu = muLawEncode(muLawDecode(ALL_CODES));
    const a = aLawEncode(aLawDecode(ALL_CODES));
    for (let c = 0; c < 256; c++) {
      expect(a[c]).toBe(c);
      expect(mu[c]).toBe(c === 0x7f ? 0xff : c);
    }
  });
});

describe('G.711 buffer handling', () => {
  it('fast and scalar paths agree on random buffers, offsets and lengths', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 300 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 7 }),
        (values, pcmOffsetHalf, codeOffset) => {
          const pcm = atOffset(Int16Array.from(values), pcmOffsetHalf * 2);
          for (const law of laws) {
            const out = atOffset(new Uint8Array(values.length), codeOffset);
            law.encode(pcm, out);
            for (let i = 0; i < values.length; i++) expect(out[i]).toBe(law.enc[values[i]! + 32768]);
            const back = atOffset(new Int16Array(values.length), pcmOffsetHalf * 2);
            law.decode(out, back);
            for (let i = 0; i < values.length; i++) expect(back[i]).toBe(law.dec[out[i]!]);
          }
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });

  it('writes only the first n outputs of a longer buffer and leaves the rest alone', () => {
    const out = new Uint8Array(12).fill(0x11);
    encodeMuLaw(new Int16Array(9), out);
    expect([...out.subarray(9)]).toEqual([0x11, 0x11, 0x11]);
    const pcm = new Int16Array(12).fill(7);
    decodeALaw(new Uint8Array(10), pcm);
    expect([...pcm.subarray(10)]).toEqual([7, 7]);
  });

  it('throws CodecRangeError when the output is too short, before writing', () => {
    const out = new Uint8Array(4);
    expect(() => encodeMuLaw(new Int16Array(5), out)).toThrow(CodecRangeError);
    expect(() => decodeMuLaw(new Uint8Array(5), new Int16Array(4))).toThrow(CodecRangeError);
    expect(() => muLawToALaw(new Uint8Array(5), out)).toThrow(CodecRangeError);
    expect([...out]).toEqual([0, 0, 0, 0]);
  });

  it('handles empty input', () => {
    expect(muLawEncode(new Int16Array(0)).length).toBe(0);
    expect(aLawDecode(new Uint8Array(0)).length).toBe(0);
  });
});

describe('µ-law <-> A-law transcoding', () => {
  it('equals decoding with one law and re-encoding with the other', () => {
    const a = new Uint8Array(256);
    muLawToALaw(ALL_CODES, a);
    const mu = new Uint8Array(256);
    aLawToMuLaw(ALL_CODES, mu);
    for (let c = 0; c < 256; c++) {
      expect(a[c]).toBe(ALAW_ENC[ULAW_DEC[c]! + 32768]);
      expect(mu[c]).toBe(ULAW_ENC[ALAW_DEC[c]! + 32768]);
    }
  });

  it('keeps sign and stays within one quantisation step of the source value', () => {
    for (let c = 0; c < 256; c++) {
      const a = new Uint8Array(1);
      muLawToALaw(new Uint8Array([c]), a);
      const from = ULAW_DEC[c]!;
      const to = ALAW_DEC[a[0]!]!;
      if (from !== 0) expect(Math.sign(to)).toBe(Math.sign(from));
      // Half of the coarser of the two steps around this value, plus the half step G.191 adds.
      expect(Math.abs(to - from)).toBeLessThanOrEqual(Math.max(16, Math.abs(from) / 16));
    }
  });

  it('round-trips A->µ->A and µ->A->µ for 240 of 256 codes each (the rest one step away)', () => {
    const mu = new Uint8Array(256);
    const back = new Uint8Array(256);
    aLawToMuLaw(ALL_CODES, mu);
    muLawToALaw(mu, back);
    expect(ALL_CODES.filter((c) => back[c] === c).length).toBe(240);
    const a = new Uint8Array(256);
    muLawToALaw(ALL_CODES, a);
    aLawToMuLaw(a, back);
    expect(ALL_CODES.filter((c) => back[c] === c).length).toBe(240);
    for (let c = 0; c < 256; c++) expect(Math.abs(ULAW_DEC[back[c]!]! - ULAW_DEC[c]!)).toBeLessThanOrEqual(Math.max(16, Math.abs(ULAW_DEC[c]!) / 8));
  });

  it('works in place', () => {
    const codes = ALL_CODES.slice();
    muLawToALaw(codes, codes);
    const expected = new Uint8Array(256);
    muLawToALaw(ALL_CODES, expected);
    expect([...codes]).toEqual([...expected]);
  });
});
