/**
 * RIFF WAVE read and write for telephony audio: 16-bit linear PCM (format tag 1), A-law
 * (format 6) and µ-law (format 7), any channel count and sample rate (8 and 16 kHz mono are
 * what the PBX uses).
 *
 * ```
 * offset  PCM 16-bit (44-byte header)      G.711 (58-byte header)
 *  0      "RIFF" <riff size> "WAVE"        "RIFF" <riff size> "WAVE"
 * 12      "fmt " 16 <WAVEFORMAT, 16 B>     "fmt " 18 <WAVEFORMATEX, cbSize = 0>
 * 36/38   "data" <data size> <samples>     "fact" 4 <sample frames>
 * 50                                       "data" <data size> <codes>
 * ```
 *
 * Non-PCM formats carry a `fact` chunk with the number of sample frames (the WAVE spec requires
 * it for every non-PCM format; some players refuse G.711 files without it).
 *
 * The reader is deliberately tolerant, because recordings come from many writers: it walks the
 * chunks of the whole buffer and ignores the RIFF size, skips unknown chunks (`LIST`, `cue `,
 * `bext`…), accepts odd-size chunks with or without their pad byte, and when the `data` size
 * is 0, 0xFFFFFFFF or larger than the bytes present (a streaming writer that never came back to
 * fix its header) it takes the data to the end of the buffer. Anything it cannot make sense of
 * is a {@link WavFormatError}; no other exception escapes it.
 */
import { CodecRangeError, WavFormatError } from './errors.js';
import { decodeALaw, decodeMuLaw, encodeALaw, encodeMuLaw } from './g711.js';

/**
 * Sample encodings this layer reads and writes.
 *
 * @example
 * ```ts
 * const format: WavEncoding = payloadType === 0 ? 'mulaw' : 'alaw';
 * ```
 */
export type WavEncoding = 'pcm16' | 'mulaw' | 'alaw';

/**
 * A parsed WAV file. `data` is a view into the bytes given to {@link readWav} (no copy), trimmed
 * to whole sample frames; use {@link decodeWavSamples} to get 16-bit samples whatever the
 * encoding.
 *
 * @example
 * ```ts
 * const { format, sampleRate, frames } = readWav(bytes);
 * ```
 */
export interface WavAudio {
  /** Sample encoding: 16-bit little-endian PCM, µ-law or A-law. */
  format: WavEncoding;
  /** Sample frames per second. */
  sampleRate: number;
  /** Interleaved channels (1 = mono). */
  channels: number;
  /** Bits per sample as stored: 16 for PCM, 8 for G.711. */
  bitsPerSample: 16 | 8;
  /** Bytes per sample frame (`channels * bitsPerSample / 8`). */
  blockAlign: number;
  /** The raw sample bytes (little-endian for PCM; codes for G.711). */
  data: Uint8Array;
  /** Sample frames in `data`. */
  frames: number;
  /** True when the header sizes disagreed with the bytes present and the reader repaired them. */
  repaired: boolean;
}

/**
 * What {@link encodeWav} and {@link encodeWavData} need to know.
 *
 * @example
 * ```ts
 * encodeWav(samples, { format: 'pcm16', sampleRate: 16000, channels: 1 });
 * ```
 */
export interface WavEncodeOptions {
  /** Encoding of the file to produce; default `'pcm16'`. */
  format?: WavEncoding;
  /** Sample frames per second, e.g. 8000. */
  sampleRate: number;
  /** Interleaved channels; default 1. */
  channels?: number;
}

const FORMAT_PCM = 1;
const FORMAT_ALAW = 6;
const FORMAT_MULAW = 7;
const FORMAT_EXTENSIBLE = 0xfffe;
/** The tail shared by every KSDATAFORMAT_SUBTYPE GUID: xxxxxxxx-0000-0010-8000-00aa00389b71. */
const GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

const ID_RIFF = 0x46464952; // "RIFF" read little-endian
const ID_RIFX = 0x58464952;
const ID_WAVE = 0x45564157;
const ID_FMT = 0x20746d66;
const ID_DATA = 0x61746164;
const ID_FACT = 0x74636166;

function u16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}
function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}
function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
}
function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}

/** Chunk ids seen in the wild; used only to detect a missing pad byte after an odd chunk. */
const KNOWN_CHUNK_IDS = new Set(
  ['data', 'fmt ', 'fact', 'LIST', 'JUNK', 'junk', 'PAD ', 'bext', 'cue ', 'smpl', 'inst', 'id3 ', 'ID3 ', 'iXML', 'plst', 'DISP', 'acid', 'afsp', 'PEAK', 'cart', 'wavl', 'slnt'].map(
    (s) => (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) >>> 0,
  ),
);

/** True for four printable ASCII bytes: what a real chunk id looks like. */
function looksLikeChunkId(b: Uint8Array, at: number): boolean {
  if (at + 4 > b.length) return false;
  for (let i = 0; i < 4; i++) {
    const c = b[at + i]!;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

function idString(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);
}

interface FmtChunk {
  tag: number;
  channels: number;
  sampleRate: number;
  bits: number;
}

function parseFmt(b: Uint8Array, body: number, size: number): FmtChunk {
  if (size < 16 || body + 16 > b.length) {
    throw new WavFormatError('truncated', `fmt chunk is ${Math.min(size, b.length - body)} bytes, needs at least 16`);
  }
  let tag = u16(b, body);
  const channels = u16(b, body + 2);
  const sampleRate = u32(b, body + 4);
  const bits = u16(b, body + 14);
  if (tag === FORMAT_EXTENSIBLE) {
    // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the SubFormat GUID.
    if (size < 40 || body + 40 > b.length) {
      throw new WavFormatError('invalid-fmt', 'WAVE_FORMAT_EXTENSIBLE fmt chunk is shorter than 40 bytes');
    }
    const guid = body + 24;
    for (let i = 0; i < GUID_TAIL.length; i++) {
      if (b[guid + 2 + i] !== GUID_TAIL[i]) {
        throw new WavFormatError('unsupported-format', 'WAVE_FORMAT_EXTENSIBLE with a non-standard SubFormat GUID');
      }
    }
    tag = u16(b, guid);
  }
  return { tag, channels, sampleRate, bits };
}

function encodingOf(fmt: FmtChunk): WavEncoding {
  if (fmt.tag === FORMAT_PCM && fmt.bits === 16) return 'pcm16';
  if (fmt.tag === FORMAT_MULAW && fmt.bits === 8) return 'mulaw';
  if (fmt.tag === FORMAT_ALAW && fmt.bits === 8) return 'alaw';
  const name =
    fmt.tag === FORMAT_PCM ? `PCM ${fmt.bits}-bit` : fmt.tag === 3 ? 'IEEE float' : `format tag ${fmt.tag}`;
  throw new WavFormatError(
    'unsupported-format',
    `${name} (${fmt.bits} bits) is not supported: only 16-bit PCM, µ-law (7) and A-law (6) are`,
  );
}

/**
 * Parses a WAV file held in memory. Never copies the samples: `data` is a view into `bytes`.
 *
 * @throws {WavFormatError} when the bytes are not a readable WAV file (the only exception).
 * @example
 * ```ts
 * const wav = readWav(new Uint8Array(await readFile('prompt.wav')));
 * console.log(wav.format, wav.sampleRate, wav.frames);
 * const samples = decodeWavSamples(wav); // Int16Array whatever the encoding
 * ```
 */
export function readWav(bytes: Uint8Array): WavAudio {
  if (bytes.length < 12) throw new WavFormatError('truncated', `${bytes.length} bytes is too short for a WAV header`);
  const riff = u32(bytes, 0);
  if (riff === ID_RIFX) throw new WavFormatError('unsupported-format', 'big-endian RIFX files are not supported');
  if (riff !== ID_RIFF) throw new WavFormatError('not-riff', `starts with "${idString(bytes, 0)}", not "RIFF"`);
  if (u32(bytes, 8) !== ID_WAVE) throw new WavFormatError('not-wave', `RIFF form is "${idString(bytes, 8)}", not "WAVE"`);

  let fmt: FmtChunk | undefined;
  let dataStart = -1;
  let dataEnd = -1;
  let repaired = false;
  const riffSize = u32(bytes, 4);
  if (riffSize + 8 !== bytes.length && riffSize + 9 !== bytes.length) repaired = true;

  let pos = 12;
  while (pos + 8 <= bytes.length) {
    const id = u32(bytes, pos);
    const size = u32(bytes, pos + 4);
    const body = pos + 8;
    const available = bytes.length - body;
    if (id === ID_FMT && fmt === undefined) {
      fmt = parseFmt(bytes, body, size);
    } else if (id === ID_DATA && dataStart < 0) {
      dataStart = body;
      const followedByChunk = size === 0 && available >= 8 && looksLikeChunkId(bytes, body);
      if (size === 0xffffffff || size > available || (size === 0 && available > 0 && !followedByChunk)) {
        // A streaming writer's placeholder or a file cut short: take what is there.
        dataEnd = bytes.length;
        repaired = true;
        break;
      }
      dataEnd = body + size;
    }
    if (size > available) break; // a truncated trailing chunk: nothing more to find
    let next = body + size;
    if (size & 1) {
      // RIFF pads odd chunks to even length, but some writers forget the pad byte: follow the
      // spec unless a well-known chunk id starts right at the unpadded position.
      if (!(next + 4 <= bytes.length && KNOWN_CHUNK_IDS.has(u32(bytes, next)))) next += 1;
    }
    pos = next;
  }

  if (fmt === undefined) throw new WavFormatError('missing-fmt', 'no fmt chunk before the end of the file');
  if (dataStart < 0) throw new WavFormatError('missing-data', 'no data chunk before the end of the file');
  const format = encodingOf(fmt);
  if (fmt.channels < 1) throw new WavFormatError('invalid-fmt', 'fmt chunk declares 0 channels');
  if (fmt.sampleRate < 1) throw new WavFormatError('invalid-fmt', 'fmt chunk declares a sample rate of 0');
  const bitsPerSample = format === 'pcm16' ? 16 : 8;
  // Computed rather than trusted: a wrong nBlockAlign is a common writer bug.
  const blockAlign = (fmt.channels * bitsPerSample) >>> 3;
  const frames = Math.floor((dataEnd - dataStart) / blockAlign);
  if (dataStart + frames * blockAlign !== dataEnd) repaired = true;
  return {
    format,
    sampleRate: fmt.sampleRate,
    channels: fmt.channels,
    bitsPerSample,
    blockAlign,
    data: bytes.subarray(dataStart, dataStart + frames * blockAlign),
    frames,
    repaired,
  };
}

/**
 * Decodes a WAV file's samples to 16-bit linear PCM (interleaved when there are several
 * channels). µ-law and A-law go through the G.191-exact decoders. Allocates the result.
 *
 * @example
 * ```ts
 * const samples = decodeWavSamples(readWav(bytes));
 * ```
 */
export function decodeWavSamples(wav: WavAudio): Int16Array {
  const { data } = wav;
  switch (wav.format) {
    case 'mulaw': {
      const out = new Int16Array(data.length);
      decodeMuLaw(data, out);
      return out;
    }
    case 'alaw': {
      const out = new Int16Array(data.length);
      decodeALaw(data, out);
      return out;
    }
    case 'pcm16': {
      const n = data.length >>> 1;
      const out = new Int16Array(n);
      // Explicit little-endian assembly: correct on any host and on unaligned views.
      for (let i = 0, j = 0; i < n; i++, j += 2) out[i] = ((data[j]! | (data[j + 1]! << 8)) << 16) >> 16;
      return out;
    }
  }
}

/**
 * Decodes a WAV file's samples to mono 16-bit PCM: {@link decodeWavSamples}, then each
 * frame's channels averaged (rounded). A mono file is returned as decoded. Allocates the result.
 *
 * @example
 * ```ts
 * const mono = decodeWavMono(readWav(stereoBytes)); // wav.frames samples
 * ```
 */
export function decodeWavMono(wav: WavAudio): Int16Array {
  const pcm = decodeWavSamples(wav);
  const channels = wav.channels;
  if (channels === 1) return pcm;
  const mono = new Int16Array(wav.frames);
  for (let f = 0; f < wav.frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += pcm[f * channels + c]!;
    mono[f] = Math.round(sum / channels);
  }
  return mono;
}

/**
 * Byte length of the header {@link wavHeader} produces for `format` (where the samples start).
 *
 * @example
 * ```ts
 * wavHeaderLength('pcm16'); // 44
 * wavHeaderLength('mulaw'); // 58
 * ```
 */
export function wavHeaderLength(format: WavEncoding): number {
  return format === 'pcm16' ? 44 : 58;
}

/**
 * Builds the canonical header for `dataBytes` bytes of samples (44 bytes for PCM, 58 for G.711
 * with its `fact` chunk). The RIFF size includes the pad byte an odd-sized data chunk needs.
 *
 * @throws {CodecRangeError} for a channel count, rate or size a WAV header cannot hold.
 * @example
 * ```ts
 * const header = wavHeader({ format: 'mulaw', sampleRate: 8000 }, codes.length);
 * ```
 */
export function wavHeader(options: WavEncodeOptions, dataBytes: number): Uint8Array {
  const format = options.format ?? 'pcm16';
  const channels = options.channels ?? 1;
  const { sampleRate } = options;
  if (!Number.isInteger(channels) || channels < 1 || channels > 0xffff) {
    throw new CodecRangeError(`channels must be an integer in 1..65535, got ${channels}`);
  }
  if (!Number.isInteger(sampleRate) || sampleRate < 1 || sampleRate > 0xffffffff) {
    throw new CodecRangeError(`sampleRate must be a positive integer, got ${sampleRate}`);
  }
  const headerLength = wavHeaderLength(format);
  if (!Number.isInteger(dataBytes) || dataBytes < 0 || dataBytes + headerLength + 1 > 0xffffffff) {
    throw new CodecRangeError(`${dataBytes} data bytes do not fit in a WAV file (4 GiB limit)`);
  }
  const bits = format === 'pcm16' ? 16 : 8;
  const blockAlign = (channels * bits) >>> 3;
  const h = new Uint8Array(headerLength);
  put32(h, 0, ID_RIFF);
  put32(h, 4, headerLength - 8 + dataBytes + (dataBytes & 1));
  put32(h, 8, ID_WAVE);
  put32(h, 12, ID_FMT);
  const fmtSize = format === 'pcm16' ? 16 : 18;
  put32(h, 16, fmtSize);
  put16(h, 20, format === 'pcm16' ? FORMAT_PCM : format === 'mulaw' ? FORMAT_MULAW : FORMAT_ALAW);
  put16(h, 22, channels);
  put32(h, 24, sampleRate);
  put32(h, 28, sampleRate * blockAlign);
  put16(h, 32, blockAlign);
  put16(h, 34, bits);
  let at = 36;
  if (format !== 'pcm16') {
    put16(h, 36, 0); // cbSize: no extra format bytes
    put32(h, 38, ID_FACT);
    put32(h, 42, 4);
    put32(h, 46, Math.floor(dataBytes / blockAlign));
    at = 50;
  }
  put32(h, at, ID_DATA);
  put32(h, at + 4, dataBytes);
  return h;
}

/**
 * Wraps already-encoded sample bytes (little-endian PCM, or G.711 codes) in a WAV file.
 *
 * @throws {CodecRangeError} if `data` is not a whole number of sample frames.
 * @example
 * ```ts
 * const file = encodeWavData(rtpPayloads, { format: 'alaw', sampleRate: 8000 });
 * ```
 */
export function encodeWavData(data: Uint8Array, options: WavEncodeOptions): Uint8Array {
  const format = options.format ?? 'pcm16';
  const blockAlign = ((options.channels ?? 1) * (format === 'pcm16' ? 16 : 8)) >>> 3;
  if (data.length % blockAlign !== 0) {
    throw new CodecRangeError(`${data.length} bytes is not a whole number of ${blockAlign}-byte sample frames`);
  }
  const header = wavHeader(options, data.length);
  const out = new Uint8Array(header.length + data.length + (data.length & 1));
  out.set(header);
  out.set(data, header.length);
  return out;
}

/**
 * Encodes 16-bit samples (interleaved if `channels > 1`) into a complete WAV file in the
 * requested format (PCM 16-bit, or µ-law / A-law through the G.191-exact encoders).
 *
 * @throws {CodecRangeError} if `samples` is not a whole number of frames, or the header cannot hold the values.
 * @example
 * ```ts
 * const file = encodeWav(samples, { format: 'mulaw', sampleRate: 8000 });
 * await writeFile('out.wav', file);
 * ```
 */
export function encodeWav(samples: Int16Array, options: WavEncodeOptions): Uint8Array {
  const format = options.format ?? 'pcm16';
  const channels = options.channels ?? 1;
  if (samples.length % channels !== 0) {
    throw new CodecRangeError(`${samples.length} samples is not a whole number of ${channels}-channel frames`);
  }
  const dataBytes = format === 'pcm16' ? samples.length * 2 : samples.length;
  const header = wavHeader(options, dataBytes);
  const out = new Uint8Array(header.length + dataBytes + (dataBytes & 1));
  out.set(header);
  encodeWavBody(samples, format, out.subarray(header.length, header.length + dataBytes));
  return out;
}

/**
 * Writes `samples` in `format` into `out` (which must hold exactly the encoded bytes): the
 * shared body of {@link encodeWav} and the streaming writer.
 *
 * @example
 * ```ts
 * encodeWavBody(frame, 'mulaw', fileBytes.subarray(58, 58 + frame.length));
 * ```
 */
export function encodeWavBody(samples: Int16Array, format: WavEncoding, out: Uint8Array): void {
  if (format === 'mulaw') encodeMuLaw(samples, out);
  else if (format === 'alaw') encodeALaw(samples, out);
  else {
    for (let i = 0, j = 0; i < samples.length; i++, j += 2) {
      const s = samples[i]!;
      out[j] = s & 0xff;
      out[j + 1] = (s >> 8) & 0xff;
    }
  }
}
