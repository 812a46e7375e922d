/**
 * Interop with SoX (Debian `sox`): sox reads every format we write, decodes it to the same
 * samples, and we read what sox writes. Calls the real `sox` binary on files in a temp dir.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  aLawDecode,
  aLawEncode,
  decodeWavSamples,
  encodeWav,
  muLawDecode,
  muLawEncode,
  readWav,
  WavStreamWriter,
  type WavEncoding,
} from '../../src/codecs/index.js';
import { MemorySink } from './memory-sink.js';

const dir = mkdtempSync(join(tmpdir(), 'switchboard-sox-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sox(...args: string[]): string {
  const r = spawnSync('sox', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sox ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}
function soxi(file: string, flag: string): string {
  return sox('--i', flag, file).trim();
}
/** Asks sox to decode any file to raw signed 16-bit little-endian samples. */
function soxDecode(file: string): Int16Array {
  const raw = join(dir, 'decoded.raw');
  sox(file, '-t', 'raw', '-e', 'signed-integer', '-b', '16', '-L', raw);
  const b = readFileSync(raw);
  const out = new Int16Array(b.length >>> 1);
  for (let i = 0; i < out.length; i++) out[i] = b.readInt16LE(2 * i);
  return out;
}

/** A deterministic test signal: a chirp plus a few full-scale extremes. */
function signal(n: number): Int16Array {
  const s = new Int16Array(n);
  for (let i = 0; i < n; i++) s[i] = Math.round(20000 * Math.sin((i * i) / 4000) + 3000 * Math.sin(i / 3));
  s[1] = 32767;
  s[2] = -32768;
  s[3] = -1;
  return s;
}

const quantise = (s: Int16Array, f: WavEncoding): Int16Array =>
  f === 'mulaw' ? muLawDecode(muLawEncode(s)) : f === 'alaw' ? aLawDecode(aLawEncode(s)) : s;

const soxEncoding: Record<WavEncoding, { name: string; bits: string; e: string }> = {
  pcm16: { name: 'Signed Integer PCM', bits: '16', e: 'signed-integer' },
  mulaw: { name: 'u-law', bits: '8', e: 'u-law' },
  alaw: { name: 'A-law', bits: '8', e: 'a-law' },
};

describe('sox reads what we write', () => {
  for (const format of ['pcm16', 'mulaw', 'alaw'] as const) {
    for (const sampleRate of [8000, 16000]) {
      it(`${format} ${sampleRate} Hz mono (odd length, so the pad byte is exercised)`, () => {
        const samples = signal(1601);
        const file = join(dir, `ours-${format}-${sampleRate}.wav`);
        writeFileSync(file, encodeWav(samples, { format, sampleRate }));
        expect(soxi(file, '-r')).toBe(String(sampleRate));
        expect(soxi(file, '-c')).toBe('1');
        expect(soxi(file, '-s')).toBe('1601');
        expect(soxi(file, '-b')).toBe(soxEncoding[format].bits);
        expect(soxi(file, '-e')).toBe(soxEncoding[format].name);
        // sox's G.711 decoders agree with G.191's (only the encoders differ).
        expect([...soxDecode(file)]).toEqual([...quantise(samples, format)]);
      });
    }
  }

  it('a recording cut off mid-stream (disk full) is still a file sox plays', async () => {
    const sink = new MemorySink();
    sink.failAtWrite = 7; // header, then data+header x3, then the 4th header fails
    const writer = new WavStreamWriter(sink, { format: 'mulaw', sampleRate: 8000, onError: () => undefined });
    const frame = signal(160);
    for (let i = 0; i < 5; i++) {
      writer.write(frame);
      await writer.flush().catch(() => undefined);
    }
    await writer.close().catch(() => undefined);
    const file = join(dir, 'cut.wav');
    writeFileSync(file, sink.bytes);
    expect(soxi(file, '-s')).toBe('480');
    expect(soxDecode(file).length).toBe(480);
  });
});

describe('we read what sox writes', () => {
  for (const format of ['pcm16', 'mulaw', 'alaw'] as const) {
    for (const sampleRate of [8000, 16000]) {
      it(`${format} ${sampleRate} Hz`, () => {
        const raw = join(dir, 'in.raw');
        const samples = signal(999);
        writeFileSync(raw, Buffer.from(samples.buffer));
        const file = join(dir, `sox-${format}-${sampleRate}.wav`);
        sox('-t', 'raw', '-r', String(sampleRate), '-e', 'signed-integer', '-b', '16', '-c', '1', '-L', raw,
          '-e', soxEncoding[format].e, '-b', soxEncoding[format].bits, file);
        const wav = readWav(new Uint8Array(readFileSync(file)));
        expect(wav.format).toBe(format);
        expect(wav.sampleRate).toBe(sampleRate);
        expect(wav.channels).toBe(1);
        expect(wav.frames).toBe(999);
        // Same samples as sox itself decodes from its own file.
        expect([...decodeWavSamples(wav)]).toEqual([...soxDecode(file)]);
      });
    }
  }

  it('a sox file with a comment (LIST chunk) and stereo', () => {
    const file = join(dir, 'sox-stereo.wav');
    sox('-n', '-r', '8000', '-c', '2', '-b', '16', '--comment', 'switchboard test', file, 'synth', '0.05', 'sine', '440');
    const bytes = new Uint8Array(readFileSync(file));
    const wav = readWav(bytes);
    expect(wav.channels).toBe(2);
    expect(wav.frames).toBe(400);
    expect([...decodeWavSamples(wav)]).toEqual([...soxDecode(file)]);
  });
});
