/**
 * The Call API against a real phone (Debian `baresip-core` 1.0), with audio checked at both
 * ends by correlation (test/helpers/audio-compare.ts):
 * 1. baresip calls the README's IVR bot (examples/ivr-bot.ts): it barges into the greeting
 *    with an RFC 4733 `7`, hears "you pressed seven", the message prompt and the beep, speaks
 *    a message (a prompt the bot never plays) that the bot records, hears goodbye, and the bot
 *    hangs up.
 * 2. A CallAgent calls baresip (auto-answer), plays a prompt and hangs up: the prompt arrives
 *    intact, and what baresip sent arrives in our call.record() file.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CallAgent, type Call } from '../../src/call/index.js';
import { digitPrompts, promptPath } from '../../src/call/prompts.js';
import { startIvrBot } from '../../examples/ivr-bot.js';
import { bestCorrelation, readWavPcm, segmentedCorrelation } from '../helpers/audio-compare.js';
import { startBaresip, waitFor, type Baresip } from '../helpers/baresip.js';
import { hasCommand, stopAll } from '../helpers/peer-process.js';

beforeAll(() => {
  if (!hasCommand('baresip')) throw new Error('baresip is not installed: apt-get install baresip-core (.ci/run does this)');
});

const RATE = 8000;
const seconds = (pcm: Int16Array): number => pcm.length / RATE;

const started: Baresip[] = [];
const agents: CallAgent[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
  await Promise.all(started.splice(0).map((b) => b.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
afterAll(async () => {
  await stopAll();
});

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** Whether a process id is gone (signal 0 fails with ESRCH). */
function gone(pid: number | undefined): boolean {
  if (pid === undefined) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

describe('baresip and the Call API', () => {
  it('baresip calls the IVR bot: barge-in digit, read-back, message recorded, goodbye, bot hangs up', async () => {
    const messageDir = tempDir('sb-ivr-');
    const bot = await startIvrBot('127.0.0.1', 0, messageDir);
    agents.push(bot);

    // The bot's script, in seconds of call time, from the prompts' real lengths. baresip
    // presses 7 at DIGIT_AT, which stops the greeting; collectDigits takes it at once; then
    // "you pressed" "seven", the message prompt and the beep play before record() starts.
    const greeting = readWavPcm(promptPath('thank-you-for-calling-press-a-digit'));
    const youPressed = readWavPcm(promptPath('you-pressed'));
    const seven = readWavPcm(digitPrompts('7')[0]!);
    const leaveMessage = readWavPcm(promptPath('please-leave-a-message'));
    const beep = readWavPcm(promptPath('beep'));
    const goodbye = readWavPcm(promptPath('goodbye'));
    const DIGIT_AT = 1.0;
    expect(DIGIT_AT).toBeLessThan(seconds(greeting) - 0.5); // the digit really barges in
    const recordAt = DIGIT_AT + 0.2 + seconds(youPressed) + seconds(seven) + seconds(leaveMessage) + seconds(beep);
    // The caller speaks a second after the recording starts (the bot's silence detector needs
    // 4 s without voice to stop, so the lead-in is safe), and the message is a prompt the bot
    // never plays.
    const messagePath = promptPath('vm-enter-pin');
    const message = readWavPcm(messagePath);
    const speakAt = recordAt + 1.0;

    const b = await startBaresip({
      accounts: ['<sip:caller@127.0.0.1>;regint=0'],
      audioSource: messagePath,
      audioSourceDelaySeconds: speakAt,
      record: true,
      control: true,
      timeoutMs: 30_000,
    });
    started.push(b);
    const ctl = await b.control();
    const context = () => `events ${JSON.stringify(ctl.events)}\nbaresip:\n${b.output().slice(-6000)}`;

    await ctl.dial(`sip:bot@127.0.0.1:${bot.port}`);
    await ctl.waitForEvent('CALL_ESTABLISHED', 1, 10_000, context);
    const established = Date.now();
    await new Promise((r) => setTimeout(r, DIGIT_AT * 1000));
    await ctl.sendDigits('7');

    // Greeting cut short, read-back, prompt, beep, ~1 s lead-in, the message, 4 s of silence,
    // goodbye: the bot hangs up by itself.
    const expectedEnd = recordAt + 1.0 + seconds(message) + 4 + seconds(goodbye);
    const closed = await ctl.waitForEvent('CALL_CLOSED', 1, (expectedEnd + 5) * 1000 - (Date.now() - established), context);
    const callSeconds = (Date.now() - established) / 1000;
    // baresip reports a BYE it received as "Connection reset by peer"; one it sent would not
    // come before our CALL_CLOSED.
    expect(b.output(), context()).toMatch(/BYE sip:caller[^@\s]*@127\.0\.0\.1/);
    expect(closed.param, context()).not.toMatch(/end of file/);
    await waitFor(() => bot.calls.size === 0, 5000, context);

    // (a) What baresip heard. The greeting was cut by the digit: compare its first 0.8 s.
    const [decoded] = b.recordings().decoded;
    expect(decoded, context()).toBeDefined();
    const heard = readWavPcm(decoded!);
    const all = { maxLagSamples: heard.length };
    const greetingMatch = bestCorrelation(greeting, heard, { ...all, windowSamples: 0.8 * RATE });
    const youPressedMatch = bestCorrelation(youPressed, heard, all);
    const sevenMatch = bestCorrelation(seven, heard, all);
    const beepMatch = bestCorrelation(beep, heard, all);
    const goodbyeMatch = bestCorrelation(goodbye, heard, all);
    // A control: in the slot after "you pressed", no other digit's prompt matches as well
    // ("eight" shares the vowel of "seven" and reaches 0.49; the rest stay under 0.3).
    const slotStart = Math.max(0, youPressedMatch.lag + youPressed.length - 0.25 * RATE);
    const slot = heard.subarray(slotStart, slotStart + seven.length + 0.5 * RATE);
    const otherDigits = Math.max(
      ...'012345689'.split('').map((d) => bestCorrelation(readWavPcm(digitPrompts(d)[0]!), slot, { maxLagSamples: 0.5 * RATE }).correlation),
    );
    const sevenInSlot = bestCorrelation(seven, slot, { maxLagSamples: 0.5 * RATE }).correlation;
    const matches = { callSeconds, greetingMatch, youPressedMatch, sevenMatch, sevenInSlot, otherDigits, beepMatch, goodbyeMatch };
    const report = () => `${JSON.stringify(matches)}\n${context()}`;
    expect(greetingMatch.correlation, report()).toBeGreaterThanOrEqual(0.7);
    expect(youPressedMatch.correlation, report()).toBeGreaterThanOrEqual(0.7);
    // "seven", not another digit: the RFC 4733 event reached collectDigits as '7'.
    expect(sevenMatch.correlation, report()).toBeGreaterThanOrEqual(0.7);
    expect(sevenInSlot, report()).toBeGreaterThanOrEqual(0.7);
    expect(otherDigits, report()).toBeLessThan(0.6);
    expect(beepMatch.correlation, report()).toBeGreaterThanOrEqual(0.7);
    expect(goodbyeMatch.correlation, report()).toBeGreaterThanOrEqual(0.7);
    // In that order, and the greeting stopped at the digit (long before its 3 s end).
    expect(greetingMatch.lag, report()).toBeLessThan(youPressedMatch.lag);
    expect(youPressedMatch.lag, report()).toBeLessThan(sevenMatch.lag);
    expect(sevenMatch.lag, report()).toBeLessThan(beepMatch.lag);
    expect(beepMatch.lag, report()).toBeLessThan(goodbyeMatch.lag);
    expect((youPressedMatch.lag - greetingMatch.lag) / RATE, report()).toBeLessThan(DIGIT_AT + 1);

    // (b) The message the bot recorded is what baresip said.
    const files = readdirSync(messageDir).filter((f) => /^message-\d+\.wav$/.test(f));
    expect(files, report()).toHaveLength(1);
    const recorded = readWavPcm(join(messageDir, files[0]!));
    // Our jitter buffer may slip a frame under load (see the next test): compare in pieces.
    const messageMatch = segmentedCorrelation(message, recorded, { maxLagSamples: recorded.length });
    const messageReport = () => `${JSON.stringify(messageMatch)} (recorded ${seconds(recorded)} s)\n${report()}`;
    expect(messageMatch.correlation, messageReport()).toBeGreaterThanOrEqual(0.8);
    expect(Math.abs(messageMatch.whole.lag / RATE - 1.0), messageReport()).toBeLessThan(1.0);
    // Stopped by 4 s of silence, not by the 30 s limit.
    expect(seconds(recorded), report()).toBeLessThan(1.0 + seconds(message) + 4 + 1.5);
    console.log('IVR correlations', JSON.stringify({ ...matches, message: { segmented: messageMatch.correlation, whole: messageMatch.whole }, recordedSeconds: seconds(recorded) }));

    // (c) Nothing is left running.
    const pid = b.peer.child.pid;
    const result = await b.stop();
    expect(result.signal === 'SIGKILL', context()).toBe(false);
    expect(gone(pid)).toBe(true);
  }, 28_000);

  it('a CallAgent calls baresip (auto-answer), plays a prompt intact, and records what baresip sends', async () => {
    const dir = tempDir('sb-uac-');
    // baresip speaks SPEAK_AT s into the call. Our jitter buffer starts at 40 ms and, on a
    // loss-free loopback, shrinks towards its few-ms target by removing one 20 ms frame a
    // second (twice, at ~1 s and ~2 s): a frame removed inside the compared speech shifts the
    // rest by 20 ms and halves a whole-file correlation (0.42 measured with the speech at
    // 0.5 s), so the speech comes after that, and is compared in pieces that may each sit a
    // frame or two apart (a loaded machine makes the buffer insert or remove one later too).
    const SPEAK_AT = 3;
    const speechPath = promptPath('extension-unavailable');
    const speech = readWavPcm(speechPath);
    const b = await startBaresip({
      accounts: ['<sip:phone@127.0.0.1>;regint=0;answermode=auto'],
      audioSource: speechPath,
      audioSourceDelaySeconds: SPEAK_AT,
      record: true,
      control: true,
      timeoutMs: 20_000,
    });
    started.push(b);
    const ctl = await b.control();
    const context = () => `events ${JSON.stringify(ctl.events)}\nbaresip:\n${b.output().slice(-6000)}`;
    const agent = await CallAgent.start({ listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }], aor: 'sip:switchboard@127.0.0.1', sessionTimer: false });
    agents.push(agent);

    let call: Call;
    try {
      call = await agent.call(`sip:phone@127.0.0.1:${b.sipPort}`, { ringTimeoutMs: 10_000 });
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${context()}`);
    }
    const answered = Date.now();
    const recordingPath = join(dir, 'from-baresip.wav');
    const recording = call.record(recordingPath, { maxSeconds: 20, stopOnDigits: '' });
    const sentPath = promptPath('please-leave-a-message');
    const played = await call.play(sentPath);
    expect(played.reason, context()).toBe('finished');
    // Hang up once baresip's speech is over, with half a second for the last packets.
    await new Promise((r) => setTimeout(r, Math.max(0, answered + (SPEAK_AT + seconds(speech) + 0.5) * 1000 - Date.now())));
    const jitter = call.media?.session.jitterBuffer?.stats;
    await call.hangup();
    const recorded = await recording;
    expect(recorded.reason).toBe('hangup');
    await ctl.waitForEvent('CALL_CLOSED', 1, 10_000, context);

    const [decoded] = b.recordings().decoded;
    expect(decoded, context()).toBeDefined();
    const heard = readWavPcm(decoded!);
    const ours = readWavPcm(recordingPath);
    const toBaresip = bestCorrelation(readWavPcm(sentPath), heard, { maxLagSamples: 2 * RATE });
    const fromBaresip = segmentedCorrelation(speech, ours, { maxLagSamples: ours.length });
    const report = (r: object) =>
      `${JSON.stringify(r)} (recorded ${recorded.durationMs} ms; jitter buffer ${JSON.stringify(jitter)})\n${context()}`;
    console.log(
      'UAC correlations',
      JSON.stringify({
        toBaresip,
        fromBaresip: { segmented: fromBaresip.correlation, whole: fromBaresip.whole },
        recordedMs: recorded.durationMs,
        framesRemoved: jitter?.framesRemoved,
        framesInserted: jitter?.framesInserted,
      }),
    );
    expect(toBaresip.correlation, report(toBaresip)).toBeGreaterThanOrEqual(0.9);
    expect(fromBaresip.correlation, report(fromBaresip)).toBeGreaterThanOrEqual(0.8);
    // The speech sits where it was sent (lag in our file ≈ SPEAK_AT), not somewhere else.
    expect(Math.abs(fromBaresip.whole.lag / RATE - SPEAK_AT), report(fromBaresip)).toBeLessThan(0.5);

    const pid = b.peer.child.pid;
    await b.stop();
    expect(gone(pid)).toBe(true);
  }, 25_000);
});
