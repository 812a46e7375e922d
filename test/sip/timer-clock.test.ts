import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../src/sip/timer-clock.js';

describe('ManualClock', () => {
  it('fires timers in time order, including ones scheduled by callbacks, and only when due', () => {
    const c = new ManualClock(1000);
    const log: string[] = [];
    c.setTimer(() => log.push(`b@${c.now()}`), 200);
    c.setTimer(() => {
      log.push(`a@${c.now()}`);
      c.setTimer(() => log.push(`c@${c.now()}`), 50);
    }, 100);
    const d = c.setTimer(() => log.push('d'), 120);
    c.clearTimer(d);
    c.advance(99);
    expect(log).toEqual([]);
    expect(c.nextDue()).toBe(1100);
    c.advance(1);
    expect(log).toEqual(['a@1100']);
    c.advance(1000);
    expect(log).toEqual(['a@1100', 'c@1150', 'b@1200']);
    expect(c.now()).toBe(2100);
    expect(c.pending).toBe(0);
  });

  it('keeps insertion order for timers due at the same time', () => {
    const c = new ManualClock();
    const log: number[] = [];
    for (let i = 0; i < 5; i++) c.setTimer(() => log.push(i), 10);
    c.advance(10);
    expect(log).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('systemClock', () => {
  it('runs a real timer and can cancel one', async () => {
    let fired = false;
    const h = systemClock.setTimer(() => {
      fired = true;
    }, 1);
    const cancelled = systemClock.setTimer(() => {
      throw new Error('cancelled timer fired');
    }, 1);
    systemClock.clearTimer(cancelled);
    await new Promise((r) => setTimeout(r, 20));
    expect(fired).toBe(true);
    systemClock.clearTimer(h);
    expect(systemClock.now()).toBeGreaterThan(0);
  });
});
