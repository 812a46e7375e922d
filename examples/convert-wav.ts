/**
 * Converts a WAV file for telephony: e.g. a 16 kHz PCM prompt into the 8 kHz µ-law file a PCMU
 * call plays without transcoding. Any input this layer reads works (PCM 16-bit, µ-law, A-law;
 * 8 or 16 kHz; mono or stereo, which is mixed down).
 *
 *   npm run examples && node .examples-build/examples/convert-wav.js <in.wav> <out.wav> [mulaw|alaw|pcm16]
 *
 * The output is written through a WavStreamWriter over a FileHandle (`fileSink` below), 20 ms
 * at a time, the way a call recording is written; the codecs layer itself never touches `fs`.
 */
import type { FileHandle } from 'node:fs/promises';
import { open, readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import {
  decodeWavSamples,
  readWav,
  resample,
  WavStreamWriter,
  type WavEncoding,
  type WavSink,
} from '../src/codecs/index.js';

/** A {@link WavSink} over a file handle: positional writes (header at 0, samples at the end). */
export function fileSink(handle: FileHandle): WavSink {
  return {
    async write(data, position) {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
        done += bytesWritten;
      }
    },
    sync: () => handle.sync(),
    close: () => handle.close(),
  };
}

/** Decodes any supported WAV to 8 kHz mono 16-bit samples (mix-down, then 16 -> 8 kHz FIR). */
export function toNarrowbandMono(bytes: Uint8Array): Int16Array {
  const wav = readWav(bytes);
  let samples = decodeWavSamples(wav);
  if (wav.channels > 1) {
    const mono = new Int16Array(wav.frames);
    for (let f = 0; f < wav.frames; f++) {
      let sum = 0;
      for (let c = 0; c < wav.channels; c++) sum += samples[f * wav.channels + c]!;
      mono[f] = Math.round(sum / wav.channels);
    }
    samples = mono;
  }
  if (wav.sampleRate === 16000) return resample(samples, 16000, 8000);
  if (wav.sampleRate === 8000) return samples;
  throw new Error(`${wav.sampleRate} Hz input: only 8 and 16 kHz are supported`);
}

/** Converts `inPath` to an 8 kHz mono WAV in `format` at `outPath`; returns the frame count. */
export async function convertWavFile(inPath: string, outPath: string, format: WavEncoding = 'mulaw'): Promise<number> {
  const samples = toNarrowbandMono(new Uint8Array(await readFile(inPath)));
  const writer = new WavStreamWriter(fileSink(await open(outPath, 'w')), { format, sampleRate: 8000 });
  for (let i = 0; i < samples.length; i += 160) writer.write(samples.subarray(i, i + 160));
  await writer.close(); // rejects with the first write error (e.g. ENOSPC), if any
  return writer.frames;
}

// Run as a script: convert-wav <in.wav> <out.wav> [format]
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [inPath, outPath, format = 'mulaw'] = process.argv.slice(2);
  if (inPath === undefined || outPath === undefined || !['mulaw', 'alaw', 'pcm16'].includes(format)) {
    console.error('usage: convert-wav <in.wav> <out.wav> [mulaw|alaw|pcm16]');
    process.exit(2);
  }
  const frames = await convertWavFile(inPath, outPath, format as WavEncoding);
  console.log(`${outPath}: ${frames} samples, 8000 Hz mono ${format}`);
}
