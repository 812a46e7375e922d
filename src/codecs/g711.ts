/**
 * G.711 µ-law and A-law (ITU-T G.711), bit-exact with the ITU-T G.191 Software Tools Library
 * reference (`g711.c`: `ulaw_compress`, `ulaw_expand`, `alaw_compress`, `alaw_expand`).
 *
 * Why G.191 and not "textbook" code: G.191 takes the magnitude of a negative sample as its
 * one's complement (`~x`, i.e. `-x - 1`), not its negation, so `encode(~x) == encode(x) ^ 0x80`
 * holds for every input. Most other implementations (audioop, sox, npm `g711`/`alawmulaw`)
 * negate and land one code step away at a few hundred decision thresholds.
 *
 * Hot-path design: every conversion is a table lookup. G.191 reads only the top 14 bits of a
 * sample for µ-law and the top 12 for A-law, so the encode tables have 16,384 and 4,096 entries
 * (indexed `(x >> 2) & 0x3FFF` and `(x >> 4) & 0xFFF`), small enough to stay in L1 cache. The
 * `(src, dst)` functions allocate nothing per call; where both buffers are 4-byte aligned they
 * move four samples per 32-bit access (two `Int32` reads of PCM, one `Uint32` write of codes;
 * for decoding one `Uint32` read of codes and two lookups in a code-pair table, each giving two
 * samples as one `Int32` write), with a scalar loop for the unaligned head and tail.
 */
import { CodecRangeError } from './errors.js';

// --- Reference (scalar) definitions, used once to build the tables ---------------------------

/** G.191 `ulaw_compress` for one 16-bit sample. */
function muLawCompressReference(x: number): number {
  // 14-bit magnitude, one's complement for negative samples, biased by 33 (G.191).
  let absno = (x < 0 ? ~x >> 2 : x >> 2) + 33;
  if (absno > 0x1fff) absno = 0x1fff;
  let i = absno >> 6;
  let segno = 1;
  while (i !== 0) {
    segno++;
    i >>= 1;
  }
  const high = 8 - segno;
  const low = 0x0f - ((absno >> segno) & 0x0f);
  let code = (high << 4) | low;
  if (x >= 0) code |= 0x80;
  return code;
}

/** G.191 `ulaw_expand` for one code. */
function muLawExpandReference(code: number): number {
  const sign = code < 0x80 ? -1 : 1;
  const inverted = ~code;
  const exponent = (inverted >> 4) & 0x07;
  const mantissa = inverted & 0x0f;
  const step = 4 << (exponent + 1);
  return sign * ((0x80 << exponent) + step * mantissa + step / 2 - 4 * 33);
}

/** G.191 `alaw_compress` for one 16-bit sample (result has the even bits toggled, as sent). */
function aLawCompressReference(x: number): number {
  let ix = x < 0 ? ~x >> 4 : x >> 4; // 0 <= ix < 2048, one's complement for negatives
  if (ix > 15) {
    let exp = 1;
    while (ix > 16 + 15) {
      ix >>= 1;
      exp++;
    }
    ix -= 16;
    ix += exp << 4;
  }
  if (x >= 0) ix |= 0x80;
  return ix ^ 0x55;
}

/** G.191 `alaw_expand` for one code. */
function aLawExpandReference(code: number): number {
  const ix = (code ^ 0x55) & 0x7f;
  const exp = ix >> 4;
  let mant = ix & 0x0f;
  if (exp > 0) mant += 16;
  mant = (mant << 4) + 8; // left-justify and add half a quantisation step
  if (exp > 1) mant <<= exp - 1;
  return code > 127 ? mant : -mant;
}

// --- Tables, built once at module load -------------------------------------------------------

/** µ-law code for a 16-bit sample `x`, indexed by `(x >> 2) & 0x3FFF`. */
const MULAW_ENCODE = new Uint8Array(1 << 14);
/** A-law code for a 16-bit sample `x`, indexed by `(x >> 4) & 0xFFF`. */
const ALAW_ENCODE = new Uint8Array(1 << 12);
/** Decoded sample for each µ-law / A-law code. */
const MULAW_DECODE = new Int16Array(256);
const ALAW_DECODE = new Int16Array(256);
/**
 * Decode tables for the 32-bit fast path: entry `c0 | c1 << 8` holds the samples of the code
 * pair (c0, c1) packed as one little-endian 32-bit word, so two codes become two samples in
 * one lookup and one store. 256 KiB each, built once.
 */
const MULAW_DECODE_PAIR = new Uint32Array(1 << 16);
const ALAW_DECODE_PAIR = new Uint32Array(1 << 16);
/** Transcoding tables: `MULAW_TO_ALAW[µ-law code]` is the A-law code, and back. */
const MULAW_TO_ALAW = new Uint8Array(256);
const ALAW_TO_MULAW = new Uint8Array(256);

for (let i = 0; i < 1 << 14; i++) {
  // Index i holds bits 2..15 of the sample; sign-extend it back to a representative sample.
  MULAW_ENCODE[i] = muLawCompressReference(((i << 18) >> 16) | 0);
}
for (let i = 0; i < 1 << 12; i++) {
  ALAW_ENCODE[i] = aLawCompressReference(((i << 20) >> 16) | 0);
}
for (let c = 0; c < 256; c++) {
  const mu = muLawExpandReference(c);
  const a = aLawExpandReference(c);
  MULAW_DECODE[c] = mu;
  ALAW_DECODE[c] = a;
}
for (let pair = 0; pair < 1 << 16; pair++) {
  const c0 = pair & 0xff;
  const c1 = pair >>> 8;
  MULAW_DECODE_PAIR[pair] = (MULAW_DECODE[c0]! & 0xffff) | (MULAW_DECODE[c1]! << 16);
  ALAW_DECODE_PAIR[pair] = (ALAW_DECODE[c0]! & 0xffff) | (ALAW_DECODE[c1]! << 16);
}
for (let c = 0; c < 256; c++) {
  // Transcode through the linear domain: decode with one law (G.191 expand), re-encode with the
  // other (G.191 compress). See docs/codecs.md for how this relates to G.711 Tables 3 and 4.
  MULAW_TO_ALAW[c] = ALAW_ENCODE[(MULAW_DECODE[c]! >> 4) & 0xfff]!;
  ALAW_TO_MULAW[c] = MULAW_ENCODE[(ALAW_DECODE[c]! >> 2) & 0x3fff]!;
}

// --- 32-bit views for the fast path ----------------------------------------------------------

/**
 * The fast path reads/writes 32-bit words, assuming little-endian byte order inside a word
 * (sample 0 in the low half). On a big-endian host it is simply not used.
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A one-entry cache per role of the 32-bit view over a caller's ArrayBuffer, so callers that
 * reuse their frame buffers (the normal case) cause no allocation per call. A different buffer
 * costs one view allocation, once.
 */
let wideBuffer: ArrayBufferLike | null = null;
let wideView: Int32Array<ArrayBufferLike> = new Int32Array(0);
let byteBuffer: ArrayBufferLike | null = null;
let byteView: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

function wideWords(buffer: ArrayBufferLike): Int32Array<ArrayBufferLike> {
  if (buffer !== wideBuffer || wideView.length !== buffer.byteLength >>> 2) {
    wideView = new Int32Array(buffer, 0, buffer.byteLength >>> 2);
    wideBuffer = buffer;
  }
  return wideView;
}

function byteWords(buffer: ArrayBufferLike): Uint32Array<ArrayBufferLike> {
  if (buffer !== byteBuffer || byteView.length !== buffer.byteLength >>> 2) {
    byteView = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
    byteBuffer = buffer;
  }
  return byteView;
}

function checkLengths(what: string, inLength: number, outLength: number): void {
  if (outLength < inLength) {
    throw new CodecRangeError(`${what}: output holds ${outLength} samples, input has ${inLength}`);
  }
}

/**
 * Number of leading samples to process one at a time so the code buffer reaches a 4-byte
 * boundary; returns -1 when the PCM buffer would then not be 4-byte aligned (relative
 * misalignment), meaning the whole call takes the scalar path.
 */
function alignedHead(pcm: Int16Array, codes: Uint8Array, n: number): number {
  if (!LITTLE_ENDIAN || n < 8) return -1;
  const head = (4 - (codes.byteOffset & 3)) & 3;
  return ((pcm.byteOffset + 2 * head) & 3) === 0 ? head : -1;
}

// --- Public API ------------------------------------------------------------------------------

/**
 * Encodes 16-bit linear PCM to G.711 µ-law, bit-exact with G.191. Writes `pcm.length` codes to
 * the start of `out`; allocates nothing (4 samples per 32-bit access when aligned).
 *
 * @throws {CodecRangeError} if `out` is shorter than `pcm`.
 * @example
 * ```ts
 * const frame = new Int16Array(160);       // 20 ms at 8 kHz
 * const payload = new Uint8Array(160);     // reused for every packet
 * encodeMuLaw(frame, payload);
 * ```
 */
export function encodeMuLaw(pcm: Int16Array, out: Uint8Array): void {
  // One specialised loop per law (constant shifts and masks, one table): measurably faster in
  // V8 than a shared loop taking the table and shift as parameters.
  const n = pcm.length;
  checkLengths('encodeMuLaw', n, out.length);
  const t = MULAW_ENCODE;
  let i = 0;
  const head = alignedHead(pcm, out, n);
  if (head >= 0) {
    for (; i < head; i++) out[i] = t[(pcm[i]! >> 2) & 0x3fff]!;
    const src = wideWords(pcm.buffer);
    const dst = byteWords(out.buffer);
    let s = (pcm.byteOffset + 2 * i) >>> 2;
    let d = (out.byteOffset + i) >>> 2;
    const words = (n - i) >>> 2;
    const end = d + words;
    // Sample 0 is the low half of a word: bits 2..15 are its index, bits 18..31 sample 1's.
    for (; d < end; d++, s += 2) {
      const a = src[s]!;
      const b = src[s + 1]!;
      dst[d] = t[(a >>> 2) & 0x3fff]! | (t[a >>> 18]! << 8) | (t[(b >>> 2) & 0x3fff]! << 16) | (t[b >>> 18]! << 24);
    }
    i += words << 2;
  }
  for (; i < n; i++) out[i] = t[(pcm[i]! >> 2) & 0x3fff]!;
}

/**
 * Encodes 16-bit linear PCM to G.711 A-law (as sent on the wire, even bits toggled),
 * bit-exact with G.191. Same contract as {@link encodeMuLaw}.
 *
 * @throws {CodecRangeError} if `out` is shorter than `pcm`.
 * @example
 * ```ts
 * encodeALaw(new Int16Array([0, -1, 32767]), out); // out: d5 55 aa
 * ```
 */
export function encodeALaw(pcm: Int16Array, out: Uint8Array): void {
  const n = pcm.length;
  checkLengths('encodeALaw', n, out.length);
  const t = ALAW_ENCODE;
  let i = 0;
  const head = alignedHead(pcm, out, n);
  if (head >= 0) {
    for (; i < head; i++) out[i] = t[(pcm[i]! >> 4) & 0xfff]!;
    const src = wideWords(pcm.buffer);
    const dst = byteWords(out.buffer);
    let s = (pcm.byteOffset + 2 * i) >>> 2;
    let d = (out.byteOffset + i) >>> 2;
    const words = (n - i) >>> 2;
    const end = d + words;
    // Bits 4..15 of a word index sample 0, bits 20..31 sample 1.
    for (; d < end; d++, s += 2) {
      const a = src[s]!;
      const b = src[s + 1]!;
      dst[d] = t[(a >>> 4) & 0xfff]! | (t[a >>> 20]! << 8) | (t[(b >>> 4) & 0xfff]! << 16) | (t[b >>> 20]! << 24);
    }
    i += words << 2;
  }
  for (; i < n; i++) out[i] = t[(pcm[i]! >> 4) & 0xfff]!;
}

/**
 * Decodes G.711 µ-law codes to 16-bit linear PCM (G.191 `ulaw_expand`, full 16-bit scale,
 * extremes ±32124). Writes `codes.length` samples; allocates nothing.
 *
 * @throws {CodecRangeError} if `out` is shorter than `codes`.
 * @example
 * ```ts
 * const pcm = new Int16Array(160);
 * decodeMuLaw(payload, pcm);
 * ```
 */
export function decodeMuLaw(codes: Uint8Array, out: Int16Array): void {
  decodeWith(MULAW_DECODE, MULAW_DECODE_PAIR, codes, out, 'decodeMuLaw');
}

/**
 * Decodes G.711 A-law codes to 16-bit linear PCM (G.191 `alaw_expand`, extremes ±32256).
 * Same contract as {@link decodeMuLaw}.
 *
 * @throws {CodecRangeError} if `out` is shorter than `codes`.
 * @example
 * ```ts
 * decodeALaw(new Uint8Array([0xd5]), out); // out[0] === 8
 * ```
 */
export function decodeALaw(codes: Uint8Array, out: Int16Array): void {
  decodeWith(ALAW_DECODE, ALAW_DECODE_PAIR, codes, out, 'decodeALaw');
}

/**
 * Transcodes µ-law codes to A-law through a 256-byte table (decode with G.191 µ-law, re-encode
 * with G.191 A-law). `out` may be the same array as `codes` (in-place).
 *
 * @throws {CodecRangeError} if `out` is shorter than `codes`.
 * @example
 * ```ts
 * muLawToALaw(pcmuPayload, pcmaPayload);
 * ```
 */
export function muLawToALaw(codes: Uint8Array, out: Uint8Array): void {
  transcodeWith(MULAW_TO_ALAW, codes, out, 'muLawToALaw');
}

/**
 * Transcodes A-law codes to µ-law through a 256-byte table. `out` may be `codes` (in-place).
 *
 * @throws {CodecRangeError} if `out` is shorter than `codes`.
 * @example
 * ```ts
 * aLawToMuLaw(pcmaPayload, pcmuPayload);
 * ```
 */
export function aLawToMuLaw(codes: Uint8Array, out: Uint8Array): void {
  transcodeWith(ALAW_TO_MULAW, codes, out, 'aLawToMuLaw');
}

/**
 * Allocating convenience: returns a new array of µ-law codes for `pcm`.
 *
 * @example
 * ```ts
 * const codes = muLawEncode(samples);
 * ```
 */
export function muLawEncode(pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm.length);
  encodeMuLaw(pcm, out);
  return out;
}

/**
 * Allocating convenience: returns new PCM samples decoded from µ-law `codes`.
 *
 * @example
 * ```ts
 * const samples = muLawDecode(codes);
 * ```
 */
export function muLawDecode(codes: Uint8Array): Int16Array {
  const out = new Int16Array(codes.length);
  decodeMuLaw(codes, out);
  return out;
}

/**
 * Allocating convenience: returns a new array of A-law codes for `pcm`.
 *
 * @example
 * ```ts
 * const codes = aLawEncode(samples);
 * ```
 */
export function aLawEncode(pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm.length);
  encodeALaw(pcm, out);
  return out;
}

/**
 * Allocating convenience: returns new PCM samples decoded from A-law `codes`.
 *
 * @example
 * ```ts
 * const samples = aLawDecode(codes);
 * ```
 */
export function aLawDecode(codes: Uint8Array): Int16Array {
  const out = new Int16Array(codes.length);
  decodeALaw(codes, out);
  return out;
}

/**
 * µ-law code of one sample (table lookup; for per-sample use outside a buffer loop).
 *
 * @example
 * ```ts
 * muLawEncodeSample(0) === 0xff;
 * ```
 */
export function muLawEncodeSample(sample: number): number {
  return MULAW_ENCODE[(sample >> 2) & 0x3fff]!;
}

/**
 * Linear value of one µ-law code.
 *
 * @example
 * ```ts
 * muLawDecodeSample(0x80) === 32124;
 * ```
 */
export function muLawDecodeSample(code: number): number {
  return MULAW_DECODE[code & 0xff]!;
}

/**
 * A-law code of one sample.
 *
 * @example
 * ```ts
 * aLawEncodeSample(0) === 0xd5;
 * ```
 */
export function aLawEncodeSample(sample: number): number {
  return ALAW_ENCODE[(sample >> 4) & 0xfff]!;
}

/**
 * Linear value of one A-law code.
 *
 * @example
 * ```ts
 * aLawDecodeSample(0xaa) === 32256;
 * ```
 */
export function aLawDecodeSample(code: number): number {
  return ALAW_DECODE[code & 0xff]!;
}

// --- Loops -----------------------------------------------------------------------------------

/**
 * Shared decode loop (the table lookups dominate, so sharing it costs nothing measurable):
 * one 32-bit read of four codes, two pair-table lookups, two 32-bit writes.
 */
function decodeWith(table: Int16Array, pairs: Uint32Array, codes: Uint8Array, out: Int16Array, what: string): void {
  const n = codes.length;
  checkLengths(what, n, out.length);
  let i = 0;
  const head = alignedHead(out, codes, n);
  if (head >= 0) {
    for (; i < head; i++) out[i] = table[codes[i]!]!;
    const src = byteWords(codes.buffer);
    const dst = wideWords(out.buffer);
    let s = (codes.byteOffset + i) >>> 2;
    let d = (out.byteOffset + 2 * i) >>> 2;
    const words = (n - i) >>> 2;
    const end = s + words;
    for (; s < end; s++, d += 2) {
      const w = src[s]!;
      dst[d] = pairs[w & 0xffff]!;
      dst[d + 1] = pairs[w >>> 16]!;
    }
    i += words << 2;
  }
  for (; i < n; i++) out[i] = table[codes[i]!]!;
}

function transcodeWith(table: Uint8Array, codes: Uint8Array, out: Uint8Array, what: string): void {
  const n = codes.length;
  checkLengths(what, n, out.length);
  for (let i = 0; i < n; i++) out[i] = table[codes[i]!]!;
}
