/**
 * What a person on a call would notice, as checks on `Call`s: do two phones hear each other
 * (a DTMF tone played in-band by one is detected by the other, both ways — the phones need
 * `media: { inbandDtmf: 'always' }`), and how loud is what a phone hears (music on hold,
 * ringback, or silence).
 *
 * @example
 * ```ts
 * await talking(alice, bob);
 * expect(await loudest(alice, 500)).toBeLessThan(-50); // nobody left on hold music
 * ```
 */
import type { Call } from '../../src/call/index.js';
import { generateDtmf, levelDbov } from '../../src/codecs/index.js';
import { until } from './wait.js';

/** Phones hear each other: a tone played by one is detected at the other, both ways. */
export async function talking(a: Call, b: Call): Promise<void> {
  const atA: string[] = [];
  const atB: string[] = [];
  const onA = (d: string): number => atA.push(d);
  const onB = (d: string): number => atB.push(d);
  a.on('dtmf', onA);
  b.on('dtmf', onB);
  try {
    await a.play(generateDtmf('3', { toneMs: 80, pauseMs: 80 }));
    await until(() => atB.includes('3'), 8000, 'the tone 3 at b');
    await b.play(generateDtmf('8', { toneMs: 80, pauseMs: 80 }));
    await until(() => atA.includes('8'), 8000, 'the tone 8 at a');
    // A digit is detected halfway through its tone: let the rest of it and the jitter
    // buffer's delay pass, so a level check that follows hears only what comes after.
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    a.off('dtmf', onA);
    b.off('dtmf', onB);
  }
}

/** The loudest 20 ms frame `call` hears during the next `ms`, in dBov (−120 for silence). */
export async function loudest(call: Call, ms = 800): Promise<number> {
  let max = -120;
  const on = (pcm: Int16Array): void => void (max = Math.max(max, levelDbov(pcm)));
  call.on('audio', on);
  await new Promise((r) => setTimeout(r, ms));
  call.off('audio', on);
  return max;
}
