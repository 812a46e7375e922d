/**
 * The README / docs example (examples/convert-wav.ts) with real files and the real `sox`, plus
 * the streaming writer over a real file handle: a recording whose process "dies" before
 * close() is still a file sox plays, holding what was written.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertWavFile, fileSink } from '../../examples/convert-wav.js';
import { decodeWavSamples, levelDbov, readWav, WavStreamWriter } from '../../src/codecs/index.js';

const dir = mkdtempSync(join(tmpdir(), 'switchboard-example-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sox(...args: string[]): string {
  const r = spawnSync('sox', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sox ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

describe('examples/convert-wav.ts', () => {
  it('converts a 16 kHz stereo PCM file to 8 kHz mono µ-law that sox reads, keeping the level', async () => {
    const input = join(dir, 'in.wav');
    sox('-n', '-r', '16000', '-c', '2', '-b', '16', input, 'synth', '1', 'sine', '1000', 'vol', '0.5');
    const output = join(dir, 'out.wav');
    expect(await convertWavFile(input, output)).toBe(8000);
    expect(sox('--i', '-r', output)).toBe('8000');
    expect(sox('--i', '-c', output)).toBe('1');
    expect(sox('--i', '-e', output)).toBe('u-law');
    expect(sox('--i', '-s', output)).toBe('8000');
    const inLevel = levelDbov(decodeWavSamples(readWav(new Uint8Array(readFileSync(input)))));
    const outLevel = levelDbov(decodeWavSamples(readWav(new Uint8Array(readFileSync(output)))));
    expect(Math.abs(outLevel - inLevel)).toBeLessThan(0.2);
  });

  it('drops content above 4 kHz instead of aliasing it', async () => {
    const input = join(dir, 'high.wav');
    sox('-n', '-r', '16000', '-c', '1', '-b', '16', input, 'synth', '0.5', 'sine', '6000', 'vol', '0.5');
    const output = join(dir, 'high-out.wav');
    await convertWavFile(input, output, 'alaw');
    // A 6 kHz tone at -9 dBov would alias to 2 kHz at -9 dBov. Away from the abrupt start and
    // end of the tone (broadband clicks), what remains is below -60 dBov.
    const out = decodeWavSamples(readWav(new Uint8Array(readFileSync(output))));
    expect(levelDbov(out, 160, out.length - 160)).toBeLessThan(-60);
  });
});

describe('WavStreamWriter over a real file', () => {
  it('leaves a playable file when the writer is abandoned without close()', async () => {
    const path = join(dir, 'crashed.wav');
    const handle = await open(path, 'w');
    const writer = new WavStreamWriter(fileSink(handle), { format: 'mulaw', sampleRate: 8000 });
    const frame = Int16Array.from({ length: 160 }, (_, i) => Math.round(8000 * Math.sin(i / 3)));
    for (let i = 0; i < 25; i++) writer.write(frame);
    await writer.flush();
    // "Crash": the process would die here; the handle is closed under the writer.
    await handle.close();
    expect(sox('--i', '-s', path)).toBe('4000');
    expect(sox('--i', '-D', path)).toBe('0.500000');
  });
});
