import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CodecRangeError,
  decodeWavMono,
  decodeWavSamples,
  encodeWav,
  encodeWavData,
  muLawDecode,
  muLawEncode,
  aLawDecode,
  aLawEncode,
  readWav,
  WavFormatError,
  WavStreamWriter,
  type WavEncoding,
} from '../../src/codecs/index.js';
import { MemorySink } from './memory-sink.js';

const FORMATS: WavEncoding[] = ['pcm16', 'mulaw', 'alaw'];

/** What a sample becomes after a trip through `format` (G.711 is lossy). */
function quantised(samples: Int16Array, format: WavEncoding): Int16Array {
  if (format === 'mulaw') return muLawDecode(muLawEncode(samples));
  if (format === 'alaw') return aLawDecode(aLawEncode(samples));
  return samples;
}

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const le16 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff];
const chunk = (id: string, body: number[], declared = body.length): number[] => [
  ...ascii(id),
  ...le32(declared),
  ...body,
];
const fmtPcm = (rate = 8000, channels = 1): number[] =>
  chunk('fmt ', [...le16(1), ...le16(channels), ...le32(rate), ...le32(rate * 2 * channels), ...le16(2 * channels), ...le16(16)]);
const riff = (chunks: number[], declared?: number): Uint8Array =>
  new Uint8Array([...ascii('RIFF'), ...le32(declared ?? chunks.length + 4), ...ascii('WAVE'), ...chunks]);
const pcmBytes = (...samples: number[]): number[] => samples.flatMap((s) => le16(s & 0xffff));

describe('encodeWav / readWav', () => {
  it('writes the canonical 44-byte PCM header', () => {
    const file = encodeWav(new Int16Array([1, -2]), { sampleRate: 8000 });
    expect([...file]).toEqual([...riff([...fmtPcm(8000), ...chunk('data', pcmBytes(1, -2))])]);
  });

  it('writes G.711 with an 18-byte fmt and a fact chunk (58-byte header)', () => {
    const file = encodeWav(new Int16Array([0, -1, 32767]), { sampleRate: 8000, format: 'mulaw' });
    const fmt = chunk('fmt ', [...le16(7), ...le16(1), ...le32(8000), ...le32(8000), ...le16(1), ...le16(8), ...le16(0)]);
    // 3 data bytes are odd: one pad byte, counted in the RIFF size.
    const expected = riff([...fmt, ...chunk('fact', le32(3)), ...chunk('data', [0xff, 0x7f, 0x80]), 0]);
    expect([...file]).toEqual([...expected]);
    expect(readWav(file).repaired).toBe(false);
  });

  it('round-trips every format, rate and channel count (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...FORMATS),
        fc.constantFrom(8000, 16000, 11025),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 200 }),
        (format, sampleRate, channels, values) => {
          const samples = Int16Array.from(values.slice(0, values.length - (values.length % channels)));
          const wav = readWav(encodeWav(samples, { format, sampleRate, channels }));
          expect(wav.format).toBe(format);
          expect(wav.sampleRate).toBe(sampleRate);
          expect(wav.channels).toBe(channels);
          expect(wav.frames).toBe(samples.length / channels);
          expect(wav.repaired).toBe(false);
          expect([...decodeWavSamples(wav)]).toEqual([...quantised(samples, format)]);
        },
      ),
      { seed: 7, numRuns: 300 },
    );
  });

  it('encodeWavData wraps already-encoded bytes', () => {
    const codes = new Uint8Array([0xd5, 0x55, 0xaa, 0x2a]);
    const wav = readWav(encodeWavData(codes, { format: 'alaw', sampleRate: 8000 }));
    expect(wav.format).toBe('alaw');
    expect([...wav.data]).toEqual([...codes]);
    expect(() => encodeWavData(new Uint8Array(3), { sampleRate: 8000 })).toThrow(CodecRangeError);
  });

  it('rejects options a header cannot hold', () => {
    expect(() => encodeWav(new Int16Array(3), { sampleRate: 8000, channels: 2 })).toThrow(CodecRangeError);
    expect(() => encodeWav(new Int16Array(2), { sampleRate: 0 })).toThrow(CodecRangeError);
    expect(() => encodeWav(new Int16Array(2), { sampleRate: 8000, channels: 0 })).toThrow(CodecRangeError);
  });
});

describe('readWav tolerance', () => {
  it('skips LIST and unknown chunks before and after data', () => {
    const list = chunk('LIST', [...ascii('INFOISFT'), ...le32(4), ...ascii('sox\0')]);
    const wav = readWav(riff([...list, ...fmtPcm(), ...chunk('JUNK', [0, 0, 0, 0]), ...chunk('data', pcmBytes(5, 6)), ...list]));
    expect([...decodeWavSamples(wav)]).toEqual([5, 6]);
    expect(wav.repaired).toBe(false);
  });

  it('handles odd-size chunks with and without their pad byte', () => {
    const odd = chunk('note', [1, 2, 3]);
    const padded = readWav(riff([...fmtPcm(), ...odd, 0, ...chunk('data', pcmBytes(9))]));
    expect([...decodeWavSamples(padded)]).toEqual([9]);
    const unpadded = readWav(riff([...fmtPcm(), ...odd, ...chunk('data', pcmBytes(9))]));
    expect([...decodeWavSamples(unpadded)]).toEqual([9]);
  });

  it('repairs the sizes a streaming writer leaves behind', () => {
    const body = pcmBytes(1, 2, 3, 4);
    for (const [riffSize, dataSize] of [
      [0, 0],
      [0xffffffff, 0xffffffff],
      [36, 0],
      [1000, 1000],
      [12, 2],
    ] as const) {
      const file = riff([...fmtPcm(), ...chunk('data', body, dataSize)], riffSize);
      const wav = readWav(file);
      // A declared size of 2 is trusted (it fits); every placeholder is repaired.
      expect([...decodeWavSamples(wav)]).toEqual(dataSize === 2 ? [1] : [1, 2, 3, 4]);
      expect(wav.repaired).toBe(true);
    }
  });

  it('treats data size 0 followed by another chunk as an empty data chunk', () => {
    const wav = readWav(riff([...fmtPcm(), ...chunk('data', []), ...chunk('LIST', ascii('INFO'))]));
    expect(wav.frames).toBe(0);
  });

  it('drops a trailing partial frame (file cut mid-sample)', () => {
    const file = riff([...fmtPcm(8000, 2), ...chunk('data', [...pcmBytes(1, 2, 3), 7])]);
    const wav = readWav(file);
    expect(wav.frames).toBe(1);
    expect([...decodeWavSamples(wav)]).toEqual([1, 2]);
    expect(wav.repaired).toBe(true);
  });

  it('reads WAVE_FORMAT_EXTENSIBLE with a standard SubFormat', () => {
    const guid = [...le16(7), 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];
    const fmt = chunk('fmt ', [
      ...le16(0xfffe), ...le16(1), ...le32(8000), ...le32(8000), ...le16(1), ...le16(8),
      ...le16(22), ...le16(8), ...le32(4), ...guid,
    ]);
    const wav = readWav(riff([...fmt, ...chunk('data', [0xff, 0x80])]));
    expect(wav.format).toBe('mulaw');
    expect([...decodeWavSamples(wav)]).toEqual([0, 32124]);
  });

  it('computes blockAlign instead of trusting a wrong one', () => {
    const fmt = chunk('fmt ', [...le16(1), ...le16(1), ...le32(8000), ...le32(0), ...le16(0), ...le16(16)]);
    expect(decodeWavSamples(readWav(riff([...fmt, ...chunk('data', pcmBytes(3, 4))])))).toEqual(new Int16Array([3, 4]));
  });
});

describe('readWav errors are WavFormatError with a reason', () => {
  const cases: [string, Uint8Array, string][] = [
    ['short', new Uint8Array(5), 'truncated'],
    ['not RIFF', new Uint8Array([...ascii('OggS'), 0, 0, 0, 0, ...ascii('WAVE')]), 'not-riff'],
    ['RIFX', new Uint8Array([...ascii('RIFX'), 0, 0, 0, 0, ...ascii('WAVE')]), 'unsupported-format'],
    ['not WAVE', new Uint8Array([...ascii('RIFF'), 0, 0, 0, 0, ...ascii('AVI ')]), 'not-wave'],
    ['no fmt', riff(chunk('data', [1, 2])), 'missing-fmt'],
    ['no data', riff(fmtPcm()), 'missing-data'],
    ['short fmt', riff(chunk('fmt ', [1, 0, 1, 0])), 'truncated'],
    [
      '8-bit PCM',
      riff([...chunk('fmt ', [...le16(1), ...le16(1), ...le32(8000), ...le32(8000), ...le16(1), ...le16(8)]), ...chunk('data', [1])]),
      'unsupported-format',
    ],
    [
      'float',
      riff([...chunk('fmt ', [...le16(3), ...le16(1), ...le32(8000), ...le32(32000), ...le16(4), ...le16(32)]), ...chunk('data', [1])]),
      'unsupported-format',
    ],
    [
      '0 channels',
      riff([...chunk('fmt ', [...le16(1), ...le16(0), ...le32(8000), ...le32(0), ...le16(0), ...le16(16)]), ...chunk('data', [])]),
      'invalid-fmt',
    ],
  ];
  for (const [name, bytes, reason] of cases) {
    it(name, () => {
      let caught: unknown;
      try {
        readWav(bytes);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(WavFormatError);
      expect((caught as WavFormatError).reason).toBe(reason);
    });
  }
});

describe('readWav never throws anything but WavFormatError (fuzz)', () => {
  const check = (bytes: Uint8Array): void => {
    try {
      const wav = readWav(bytes);
      // Whatever it returns is self-consistent and inside the input.
      expect(wav.data.length).toBe(wav.frames * wav.blockAlign);
      expect(wav.data.buffer).toBe(bytes.buffer);
      expect(decodeWavSamples(wav).length).toBe(wav.frames * wav.channels);
    } catch (e) {
      if (!(e instanceof WavFormatError)) throw e;
    }
  };

  it('on random bytes after a RIFF/WAVE preamble', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => {
        check(new Uint8Array([...ascii('RIFF'), 0, 0, 0, 0, ...ascii('WAVE'), ...tail]));
        check(tail);
      }),
      { seed: 1, numRuns: 1000 },
    );
  });

  it('on mutated and truncated valid files', () => {
    const seeds = FORMATS.map((format) => encodeWav(Int16Array.from({ length: 33 }, (_, i) => i * 999), { format, sampleRate: 8000 }));
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(),
        (seed, mutations, cut) => {
          const bytes = seed.slice();
          for (const [at, v] of mutations) bytes[at % bytes.length] = v;
          check(bytes);
          check(bytes.subarray(0, cut % (bytes.length + 1)));
        },
      ),
      { seed: 2, numRuns: 2000 },
    );
  });
});

describe('WavStreamWriter', () => {
  it('keeps the header current after every write', async () => {
    const sink = new MemorySink();
    const writer = new WavStreamWriter(sink, { format: 'alaw', sampleRate: 8000 });
    const frame = Int16Array.from({ length: 160 }, (_, i) => Math.round(8000 * Math.sin(i / 5)));
    for (let n = 1; n <= 4; n++) {
      expect(writer.write(frame)).toBe(true);
      await writer.flush();
      const wav = readWav(sink.bytes);
      expect(wav.repaired).toBe(false);
      expect(wav.frames).toBe(160 * n);
    }
    await writer.close();
    expect(sink.closed).toBe(1);
    expect(sink.syncs).toBeGreaterThan(0);
    expect([...decodeWavSamples(readWav(sink.bytes)).subarray(480)]).toEqual([...quantised(frame, 'alaw')]);
  });

  it('pads an odd data size on close, and the result equals encodeWav', async () => {
    const sink = new MemorySink();
    const writer = new WavStreamWriter(sink, { format: 'mulaw', sampleRate: 8000 });
    const samples = Int16Array.from({ length: 81 }, (_, i) => i * 100 - 4000);
    writer.write(samples.subarray(0, 40));
    writer.write(samples.subarray(40));
    await writer.close();
    expect([...sink.bytes]).toEqual([...encodeWav(samples, { format: 'mulaw', sampleRate: 8000 })]);
    expect(writer.frames).toBe(81);
    expect(writer.write(samples)).toBe(false);
  });

  it('copies the samples, so the caller may reuse its buffer at once', async () => {
    const sink = new MemorySink();
    const writer = new WavStreamWriter(sink, { sampleRate: 16000 });
    const buf = new Int16Array([1, 2, 3]);
    writer.write(buf);
    buf.fill(9);
    writer.write(buf);
    await writer.close();
    expect([...decodeWavSamples(readWav(sink.bytes))]).toEqual([1, 2, 3, 9, 9, 9]);
  });

  it('on a full disk: reports once, stops, and leaves a playable file of what was written', async () => {
    // Property over which write the disk fills up on. With a flush after every frame the
    // sink sees: header, then (data, header) x 5, then the final header = 12 writes.
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 11 }), fc.constantFrom(...FORMATS), async (failAt, format) => {
        const sink = new MemorySink();
        sink.failAtWrite = failAt;
        const errors: Error[] = [];
        const writer = new WavStreamWriter(sink, { format, sampleRate: 8000, onError: (e) => errors.push(e) });
        const frame = new Int16Array(160).fill(1000);
        let accepted = 0;
        for (let i = 0; i < 5; i++) {
          if (writer.write(frame)) accepted++;
          await writer.flush().catch(() => undefined);
        }
        await expect(writer.close()).rejects.toThrow('ENOSPC');
        await expect(writer.flush()).rejects.toThrow('ENOSPC');
        expect(errors.length).toBe(1);
        expect(sink.closed).toBe(1);
        expect(writer.write(frame)).toBe(false);
        // Writes after the failure are refused: the failing write is data (odd index) or header.
        // (The first write is queued before the failed header write has reported.)
        expect(accepted).toBe(Math.max(1, Math.min(5, Math.ceil(failAt / 2))));
        if (failAt === 0) return; // not even the header got out
        const wav = readWav(sink.bytes);
        // The header covers exactly the frames whose data and header both reached the disk.
        // (failAt 2: the header still says 0 bytes, which readWav treats as a streaming
        // placeholder and recovers the one frame that did reach the disk.)
        expect(wav.frames).toBe(failAt === 2 ? 160 : 160 * (Math.ceil(failAt / 2) - 1));
        expect(writer.bytesWritten).toBeGreaterThanOrEqual(wav.data.length);
      }),
      { seed: 3, numRuns: 36 },
    );
  });

  it('does not fail when the disk survives, and reports no error', async () => {
    const sink = new MemorySink();
    const errors: Error[] = [];
    const writer = new WavStreamWriter(sink, { sampleRate: 8000, onError: (e) => errors.push(e) });
    writer.write(new Int16Array(10));
    await writer.close();
    await writer.close(); // idempotent
    expect(errors).toEqual([]);
    expect(sink.closed).toBe(1);
  });

  it('refuses writes past the 4 GiB WAV limit, after writing what was queued before', async () => {
    const sink = new MemorySink();
    const errors: Error[] = [];
    const writer = new WavStreamWriter(sink, { sampleRate: 8000, onError: (e) => errors.push(e) });
    expect(writer.write(new Int16Array([1, 2]))).toBe(true);
    // White-box: pretend 4 GiB minus a little has already been queued.
    (writer as unknown as { queuedBytes: number }).queuedBytes = 0xffffffff - 50;
    expect(writer.write(new Int16Array(100))).toBe(false);
    expect(writer.write(new Int16Array(1))).toBe(false);
    await expect(writer.close()).rejects.toThrow(CodecRangeError);
    expect(errors.length).toBe(1);
    expect(sink.closed).toBe(1);
    expect([...decodeWavSamples(readWav(sink.bytes))]).toEqual([1, 2]);
  });

  it('routes a sink that throws synchronously to onError, and flush after close is a no-op', async () => {
    const errors: Error[] = [];
    const bad = new WavStreamWriter(
      {
        write: () => {
          throw new Error('EBADF');
        },
      },
      { sampleRate: 8000, onError: (e) => errors.push(e) },
    );
    bad.write(new Int16Array(4));
    await expect(bad.close()).rejects.toThrow('EBADF');
    expect(errors.map((e) => e.message)).toEqual(['EBADF']);

    const sink = new MemorySink();
    const good = new WavStreamWriter(sink, { sampleRate: 8000 });
    good.write(new Int16Array(4));
    await good.close();
    const syncs = sink.syncs;
    await good.flush();
    expect(sink.syncs).toBe(syncs);
  });

  it('rejects a partial frame synchronously', () => {
    const writer = new WavStreamWriter(new MemorySink(), { sampleRate: 8000, channels: 2 });
    expect(() => writer.write(new Int16Array(3))).toThrow(CodecRangeError);
    expect(() => writer.writeEncoded(new Uint8Array(3))).toThrow(CodecRangeError);
  });
});

describe('decodeWavMono', () => {
  it('averages each frame of a stereo file and returns a mono file as decoded', () => {
    const stereo = readWav(encodeWav(new Int16Array([100, 201, -300, -301, 32767, 32767]), { format: 'pcm16', sampleRate: 8000, channels: 2 }));
    expect([...decodeWavMono(stereo)]).toEqual([151, -300, 32767]);
    const mono = readWav(encodeWav(new Int16Array([1, -2, 3]), { format: 'pcm16', sampleRate: 8000 }));
    expect([...decodeWavMono(mono)]).toEqual([1, -2, 3]);
  });
});
