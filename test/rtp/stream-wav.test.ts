import { afterEach, describe, expect, it } from 'vitest';
import { encodeMuLaw, encodeWav } from '../../src/codecs/index.js';
import { RtpSession } from '../../src/rtp/index.js';
import { streamWav, wavToMuLaw } from '../../examples/stream-wav.js';
import { waitFor } from './helpers.js';

const sessions: RtpSession[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
});

describe('examples/stream-wav', () => {
  it('streams a 16 kHz PCM WAV to a peer as 20 ms µ-law packets that arrive complete and in order, then BYE', async () => {
    // 0.3 s of a 440 Hz tone at 16 kHz: the example resamples to 8 kHz and encodes µ-law.
    const pcm = new Int16Array(4800);
    for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16000));
    const wav = encodeWav(pcm, { sampleRate: 16000 });
    const expected = wavToMuLaw(wav);
    expect(expected.length).toBe(2400);

    const rx = await RtpSession.open({ address: '127.0.0.1', mediaTimeoutMs: 0 });
    sessions.push(rx);
    const got: Uint8Array[] = [];
    let bye = false;
    rx.on('rtp', (p) => got.push(Uint8Array.from(p.payload)));
    rx.on('bye', () => (bye = true));
    const sent = await streamWav(wav, { address: '127.0.0.1', port: rx.localPort, rtcpPort: rx.localRtcpPort }, { address: '127.0.0.1' });
    expect(sent).toBe(15);
    await waitFor(() => got.length === 15 && bye, 3000, 'all packets and BYE');
    const joined = new Uint8Array(2400);
    got.forEach((g, i) => joined.set(g, i * 160));
    expect(joined).toEqual(expected);
  });

  it('passes 8 kHz µ-law WAV data through unchanged', () => {
    const pcm = new Int16Array(320).map((_, i) => (i * 97) % 4000);
    const mu = new Uint8Array(320);
    encodeMuLaw(pcm, mu);
    expect(wavToMuLaw(encodeWav(pcm, { sampleRate: 8000, format: 'mulaw' }))).toEqual(mu);
  });
});
