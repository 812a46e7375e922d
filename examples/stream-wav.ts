/**
 * Streams a WAV file to a peer over RTP as G.711 µ-law (PT 0), 20 ms per packet, paced by a
 * drift-free timer, with an RTCP sender report schedule and a BYE at the end. Any WAV the
 * codecs layer reads works: 16-bit PCM (resampled to 8 kHz if needed), µ-law or A-law.
 *
 * Run it:
 *   npm run examples && node .examples-build/examples/stream-wav.js hello.wav 192.0.2.10 4000
 * and listen with e.g. `ffplay -protocol_whitelist file,udp,rtp -i peer.sdp`, or capture with
 * `tshark -i lo -d udp.port==4000,rtp`.
 */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { aLawToMuLaw, decodeWavSamples, encodeMuLaw, readWav, resample } from '../src/codecs/index.js';
import { type RtpRemote, RtpSession, type RtpSessionOptions } from '../src/rtp/index.js';

/** Converts any readable WAV to 8 kHz mono µ-law bytes (160 per 20 ms frame). */
export function wavToMuLaw(bytes: Uint8Array): Uint8Array {
  const wav = readWav(bytes);
  if (wav.format === 'mulaw' && wav.sampleRate === 8000 && wav.channels === 1) return wav.data;
  if (wav.format === 'alaw' && wav.sampleRate === 8000 && wav.channels === 1) {
    const out = new Uint8Array(wav.data.length);
    aLawToMuLaw(wav.data, out);
    return out;
  }
  let pcm = decodeWavSamples(wav);
  if (wav.channels > 1) {
    // Keep the first channel.
    const mono = new Int16Array(wav.frames);
    for (let i = 0; i < wav.frames; i++) mono[i] = pcm[i * wav.channels]!;
    pcm = mono;
  }
  if (wav.sampleRate !== 8000) pcm = resample(pcm, wav.sampleRate, 8000);
  const out = new Uint8Array(pcm.length);
  encodeMuLaw(pcm, out);
  return out;
}

/**
 * Streams `wav` to `remote` and resolves with the number of packets sent when done.
 * The session is closed (RTCP BYE) at the end.
 */
export async function streamWav(
  wav: Uint8Array,
  remote: RtpRemote,
  options: RtpSessionOptions = {},
): Promise<number> {
  const audio = wavToMuLaw(wav);
  const session = await RtpSession.open({ jitterBuffer: false, mediaTimeoutMs: 0, ...options, remote });
  const frames = Math.ceil(audio.length / 160);
  const frame = new Uint8Array(160);
  const start = performance.now();
  try {
    for (let i = 0; i < frames; i++) {
      // Pace against the start time, not the previous tick, so timer lateness never accumulates.
      const due = start + i * 20;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      frame.fill(0xff); // µ-law silence pads the last frame
      frame.set(audio.subarray(i * 160, Math.min(audio.length, (i + 1) * 160)));
      session.sendFrame(frame, { marker: i === 0 });
    }
  } finally {
    await session.close('end of file');
  }
  return frames;
}

// CLI: node stream-wav.js FILE.wav HOST PORT
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [file, host, port] = process.argv.slice(2);
  if (!file || !host || !port) {
    console.error('usage: stream-wav FILE.wav HOST PORT');
    process.exit(2);
  }
  const sent = await streamWav(await readFile(file), { address: host, port: Number(port) }, { address: host.includes(':') ? '::' : '0.0.0.0' });
  console.log(`sent ${sent} packets (${(sent * 20) / 1000} s) to ${host}:${port}`);
}
