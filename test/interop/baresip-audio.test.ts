/**
 * Two baresips (Debian `baresip-core` 1.0) call each other directly over G.711 µ-law, to prove
 * the audio helpers work and to show the pattern for interop tests that carry real audio:
 * A auto-answers and sends prompts/en/welcome.wav, B dials A over ctrl_tcp and sends
 * prompts/en/goodbye.wav, each records what it receives with the `sndfile` filter, B sends
 * RFC 4733 digits (`sndcode`) that A reports as CALL_DTMF_START events, then B hangs up. What
 * each side received must correlate with what the other sent.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readWav } from '../../src/codecs/index.js';
import { promptPath } from '../../src/call/prompts.js';
import { bestCorrelation, readWavPcm } from '../helpers/audio-compare.js';
import { startBaresip, waitFor, type Baresip } from '../helpers/baresip.js';
import { hasCommand, stopAll } from '../helpers/peer-process.js';

beforeAll(() => {
  if (!hasCommand('baresip')) throw new Error('baresip is not installed: apt-get install baresip-core (.ci/run does this)');
});

const started: Baresip[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((b) => b.stop()));
  await stopAll();
});

describe('baresip calls baresip with audio from WAV files', () => {
  it('each side receives the other side’s prompt, and RFC 4733 digits arrive', async () => {
    const a = await startBaresip({
      accounts: ['<sip:a@127.0.0.1>;regint=0;answermode=auto'],
      audioSource: promptPath('welcome'),
      record: true,
      control: true,
    });
    started.push(a);
    const b = await startBaresip({
      accounts: ['<sip:b@127.0.0.1>;regint=0'],
      audioSource: promptPath('goodbye'),
      record: true,
      control: true,
    });
    started.push(b);
    const [ca, cb] = await Promise.all([a.control(), b.control()]);
    const context = () => `A events ${JSON.stringify(ca.events)}\nB events ${JSON.stringify(cb.events)}\nA:\n${a.output().slice(-3000)}\nB:\n${b.output().slice(-3000)}`;

    await cb.dial(`sip:a@127.0.0.1:${a.sipPort}`);
    await ca.waitForEvent('CALL_ESTABLISHED', 1, 10_000, context);
    await cb.waitForEvent('CALL_ESTABLISHED', 1, 10_000, context);
    const established = Date.now();
    // Both ends offer and answer telephone-event, the only DTMF method baresip 1.0 has. (The
    // SIP trace reaches stdout through a pipe, possibly after the ctrl_tcp event: wait for it.)
    const telephoneEvent = /a=rtpmap:\d+ telephone-event\/8000/;
    await waitFor(() => telephoneEvent.test(a.output()) && telephoneEvent.test(b.output()), 5000, context);

    // welcome.wav is 1.5 s: let it play out, then send digits while the call is up.
    await new Promise((r) => setTimeout(r, 2500));
    await cb.sendDigits('1');
    await ca.waitForEvent('CALL_DTMF_START', 1, 5000, context);
    await cb.sendDigits('2#');
    await ca.waitForEvent('CALL_DTMF_START', 3, 5000, context);
    expect(ca.receivedDigits(), context()).toBe('12#');
    expect(ca.events.find((e) => e.type === 'CALL_DTMF_END'), context()).toBeDefined();

    // Hang up 4 s into the call.
    await new Promise((r) => setTimeout(r, Math.max(0, established + 4000 - Date.now())));
    await cb.hangup();
    await cb.waitForEvent('CALL_CLOSED', 1, 10_000, context);
    await ca.waitForEvent('CALL_CLOSED', 1, 10_000, context);

    // sndfile writes 8 kHz 16-bit mono for a G.711 call: what the codec carried, not resampled.
    const [bGot] = b.recordings().decoded;
    const [aGot] = a.recordings().decoded;
    expect(bGot, context()).toBeDefined();
    expect(aGot, context()).toBeDefined();
    const bWav = readWav(new Uint8Array(readFileSync(bGot!)));
    expect([bWav.format, bWav.sampleRate, bWav.channels]).toEqual(['pcm16', 8000, 1]);
    expect(bWav.frames / 8000).toBeGreaterThan(3.5);

    const toB = bestCorrelation(readWavPcm(promptPath('welcome')), readWavPcm(bGot!), { maxLagSamples: 3 * 8000 });
    const toA = bestCorrelation(readWavPcm(promptPath('goodbye')), readWavPcm(aGot!), { maxLagSamples: 3 * 8000 });
    expect(toB.correlation, JSON.stringify(toB)).toBeGreaterThan(0.7);
    expect(toA.correlation, JSON.stringify(toA)).toBeGreaterThan(0.7);
    // The wrong prompt does not match: the comparison tells sources apart. (Short unrelated
    // speech can still reach 0.3 or so somewhere in a long recording: keep thresholds high.)
    expect(bestCorrelation(readWavPcm(promptPath('goodbye')), readWavPcm(bGot!)).correlation).toBeLessThan(0.5);
  }, 30_000);

  it('-e commands dial at start-up, and the end of an unpadded source ends the call', async () => {
    const a = await startBaresip({
      accounts: ['<sip:a@127.0.0.1>;regint=0;answermode=auto'],
      audioSource: promptPath('vm-new'),
      audioSourcePadSeconds: 0,
      control: true,
    });
    started.push(a);
    const ca = await a.control();
    const b = await startBaresip({
      accounts: ['<sip:b@127.0.0.1>;regint=0'],
      audioSource: promptPath('goodbye'),
      commands: [`/dial sip:a@127.0.0.1:${a.sipPort}`],
    });
    started.push(b);
    const context = () => `A:\n${a.output().slice(-3000)}\nB:\n${b.output().slice(-3000)}`;
    await ca.waitForEvent('CALL_ESTABLISHED', 1, 10_000, context);
    // vm-new.wav is half a second long: when it runs out, aufile reports an audio error and
    // A's menu module hangs up.
    expect((await ca.waitForEvent('AUDIO_ERROR', 1, 5000, context)).param).toBe('0,end of file');
    expect((await ca.waitForEvent('CALL_CLOSED', 1, 5000, context)).param).toBe('end of file');
    await waitFor(() => /menu: audio error \(0,end of file\)/.test(a.output()), 5000, context);
  }, 30_000);
});
