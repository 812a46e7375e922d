import { PortPool } from '../../src/rtp/index.js';
import { seededRandom } from '../../bench/network-trace.js';

/**
 * A port pool over a 400-port range picked pseudo-randomly (seeded by the test name and the
 * process id) in the high ephemeral range, so parallel runs rarely meet; RtpSession retries
 * on EADDRINUSE anyway.
 */
export function testPortPool(name: string): PortPool {
  let h = process.pid;
  for (const c of name) h = (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0;
  const rnd = seededRandom(h);
  const min = 40000 + 2 * Math.floor(rnd() * 10000); // 40000..59998
  return new PortPool({ min, max: Math.min(65535, min + 399), random: rnd });
}

/** Resolves when `cond()` is true, polling every 5 ms; rejects after `ms`. */
export async function waitFor(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Sends `n` frames from `send` every 20 ms (real time) and resolves after the last. */
export function paced(n: number, send: (i: number) => void, intervalMs = 20): Promise<void> {
  return new Promise((resolve) => {
    let i = 0;
    const t = setInterval(() => {
      send(i++);
      if (i >= n) {
        clearInterval(t);
        resolve();
      }
    }, intervalMs);
  });
}
