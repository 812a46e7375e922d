/**
 * The bundled prompts (`prompts/en/`, made by scripts/make-prompts) and music on hold: every
 * prompt the PBX relies on exists and is 8 kHz mono µ-law with real sound in it; the folder holds
 * nothing unlisted; `promptPath`, `digitPrompts` and `musicOnHoldPath` resolve them from the
 * sources and throw naming the path for what is not there.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeWavSamples, readWav } from '../../src/codecs/index.js';
import { digitPrompts, musicOnHoldPath, promptPath } from '../../src/call/prompts.js';

const PROMPTS = [
  'digits/0',
  'digits/1',
  'digits/2',
  'digits/3',
  'digits/4',
  'digits/5',
  'digits/6',
  'digits/7',
  'digits/8',
  'digits/9',
  'digits/star',
  'digits/pound',
  'thank-you-for-calling-press-a-digit',
  'you-pressed',
  'please-leave-a-message',
  'goodbye',
  'invalid-choice',
  'please-hold',
  'number-not-in-service',
  'extension-unavailable',
  'all-lines-busy',
  'welcome',
  'vm-the-person-at-extension',
  'vm-is-unavailable',
  'vm-is-busy',
  'vm-enter-pin',
  'vm-invalid-pin',
  'vm-you-have',
  'vm-new',
  'vm-saved-messages',
  'vm-message',
  'vm-messages',
  'vm-no-messages',
  'vm-main-menu',
  'vm-message-menu',
  'vm-deleted',
  'vm-undeleted',
  'vm-saved',
  'vm-received-from',
  'vm-options-menu',
  'vm-record-after-tone',
  'vm-pin-changed',
  'vm-enter-mailbox',
  'vm-first-message',
  'vm-last-message',
  'vm-message-number',
  'incoming-call-for-group',
  'press-1-to-accept',
  'vm-mailbox-full',
  'vm-no-more-messages',
  'vm-advanced-menu',
  'vm-received-at',
  'vm-unknown-caller',
  'vm-enter-new-pin',
  'vm-reenter-new-pin',
  'vm-pins-do-not-match',
  'vm-recording-saved',
  'numbers/0',
  'numbers/1',
  'numbers/2',
  'numbers/3',
  'numbers/4',
  'numbers/5',
  'numbers/6',
  'numbers/7',
  'numbers/8',
  'numbers/9',
  'numbers/10',
  'numbers/11',
  'numbers/12',
  'numbers/13',
  'numbers/14',
  'numbers/15',
  'numbers/16',
  'numbers/17',
  'numbers/18',
  'numbers/19',
  'numbers/20',
  'numbers/30',
  'numbers/40',
  'numbers/50',
  'numbers/60',
  'numbers/70',
  'numbers/80',
  'numbers/90',
  'numbers/hundred',
  'numbers/oh',
  'time/am',
  'time/pm',
  'time/today',
  'time/yesterday',
  'time/sunday',
  'time/monday',
  'time/tuesday',
  'time/wednesday',
  'time/thursday',
  'time/friday',
  'time/saturday',
  'time/january',
  'time/february',
  'time/march',
  'time/april',
  'time/may',
  'time/june',
  'time/july',
  'time/august',
  'time/september',
  'time/october',
  'time/november',
  'time/december',
  'beep',
];

/** Root-mean-square level in dBFS (0 dB = a full-scale square wave). */
function rmsDbfs(pcm: Int16Array): number {
  let sum = 0;
  for (const s of pcm) sum += s * s;
  return 10 * Math.log10(sum / pcm.length / (32768 * 32768));
}

function load(path: string) {
  const wav = readWav(new Uint8Array(readFileSync(path)));
  return { wav, pcm: decodeWavSamples(wav) };
}

function listWavs(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.wav'))
    .map((f) => f.slice(0, -4).split(sep).join('/'))
    .sort();
}

describe('bundled prompts', () => {
  it.each(PROMPTS)('%s is 8 kHz mono µ-law, 0.2–10 s, not silent', (name) => {
    const path = promptPath(name);
    expect(path.endsWith(join('prompts', 'en', ...`${name}.wav`.split('/')))).toBe(true);
    const { wav, pcm } = load(path);
    expect([wav.format, wav.sampleRate, wav.channels, wav.repaired]).toEqual(['mulaw', 8000, 1, false]);
    const seconds = wav.frames / wav.sampleRate;
    expect(seconds).toBeGreaterThanOrEqual(0.2);
    expect(seconds).toBeLessThanOrEqual(10);
    expect(rmsDbfs(pcm)).toBeGreaterThan(-35);
    // Normalised near -3 dBFS peak (the beep at -6): loud enough, never clipped.
    const peak = pcm.reduce((m, s) => Math.max(m, Math.abs(s)), 0);
    expect(20 * Math.log10(peak / 32768)).toBeGreaterThan(-7);
    expect(peak).toBeLessThan(32000);
  });

  it('the folder holds exactly the listed prompts', () => {
    const root = promptPath('welcome').slice(0, -'welcome.wav'.length);
    expect(listWavs(root)).toEqual([...PROMPTS].sort());
  });

  it('speech starts and ends within about 50 ms of the file edges', () => {
    for (const name of ['welcome', 'goodbye', 'digits/7', 'vm-enter-pin']) {
      const { pcm } = load(promptPath(name));
      const loud = (s: number) => Math.abs(s) > 300;
      const first = pcm.findIndex(loud);
      const last = pcm.length - 1 - [...pcm].reverse().findIndex(loud);
      expect(first, name).toBeLessThan(0.08 * 8000);
      expect(pcm.length - 1 - last, name).toBeLessThan(0.08 * 8000);
    }
  });

  it('beep is 250 ms of 1 kHz', () => {
    const { wav, pcm } = load(promptPath('beep'));
    expect(wav.frames).toBe(2000);
    let crossings = 0;
    for (let i = 1; i < pcm.length; i++) if ((pcm[i - 1]! < 0) !== (pcm[i]! < 0)) crossings++;
    expect(crossings / 2 / 0.25).toBeGreaterThan(980);
    expect(crossings / 2 / 0.25).toBeLessThan(1020);
  });

  it('music on hold is about 30 s of 8 kHz mono µ-law with sound throughout', () => {
    const path = musicOnHoldPath();
    // moh/ sits beside prompts/ at the package root.
    expect(dirname(dirname(path))).toBe(dirname(dirname(dirname(promptPath('welcome')))));
    expect(path.split(sep).slice(-2)).toEqual(['moh', 'default.wav']);
    const { wav, pcm } = load(path);
    expect([wav.format, wav.sampleRate, wav.channels]).toEqual(['mulaw', 8000, 1]);
    expect(wav.frames / 8000).toBeCloseTo(30, 1);
    for (let s = 0; s + 8000 <= pcm.length; s += 8000) expect(rmsDbfs(pcm.subarray(s, s + 8000)), `second ${s / 8000}`).toBeGreaterThan(-35);
  });
});

describe('promptPath', () => {
  it('throws naming the path for a prompt that does not exist', () => {
    expect(() => promptPath('no-such-prompt')).toThrow(/no-such-prompt.*prompts[/\\]en[/\\]no-such-prompt\.wav does not exist/);
    expect(() => promptPath('welcome', 'xx')).toThrow(/prompts[/\\]xx[/\\]welcome\.wav does not exist/);
  });

  it('refuses names that are not plain prompt names', () => {
    for (const bad of ['../package', 'welcome.wav', '/etc/passwd', 'digits/../welcome', '', 'Welcome']) {
      expect(() => promptPath(bad), bad).toThrow(/invalid prompt name/);
    }
    expect(() => promptPath('welcome', '../en')).toThrow(/invalid prompt language/);
  });
});

describe('digitPrompts', () => {
  it("maps '12*#' to the digit prompts in order", () => {
    expect(digitPrompts('12*#')).toEqual([promptPath('digits/1'), promptPath('digits/2'), promptPath('digits/star'), promptPath('digits/pound')]);
    expect(digitPrompts('0987').map((p) => p.slice(-5))).toEqual(['0.wav', '9.wav', '8.wav', '7.wav']);
    expect(digitPrompts('')).toEqual([]);
  });

  it('throws for keys with no prompt', () => {
    expect(() => digitPrompts('12A')).toThrow(/no prompt for key "A"/);
    expect(() => digitPrompts('1 2')).toThrow(/no prompt for key " "/);
  });
});
