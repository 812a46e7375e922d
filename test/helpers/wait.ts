/**
 * Waiting in tests that run real sockets: {@link until} polls a condition, {@link nextCall}
 * resolves with the next call offered to a CallAgent, {@link connectCalls} sets up an
 * answered call between two agents (directly or through a PBX).
 *
 * @example
 * ```ts
 * const { caller, callee } = await connectCalls(alice, bob, t.uri('1002'), { ring: true });
 * await caller.hangup();
 * await until(() => t.pbx.b2bua.calls.size === 0, 5000, 'the PBX to clear its calls');
 * ```
 */
import type { Call, CallAgent } from '../../src/call/index.js';

/**
 * Resolves once `predicate` holds, checking it every `intervalMs` — the first time after one
 * interval, not at once: what a test has just set going gets a moment to finish (an answered
 * call's ACK to arrive) even when the predicate already holds. An async predicate is awaited
 * before the next check. Rejects after `ms` with "timed out waiting for <what>" (`what` may be
 * a function, read only on timeout, to report the state at that moment).
 */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  ms = 5000,
  what?: string | (() => string),
  intervalMs = 10,
): Promise<void> {
  const start = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, intervalMs));
    if (await predicate()) return;
    if (Date.now() - start > ms) {
      const said = typeof what === 'function' ? what() : what;
      throw new Error(said === undefined ? `timed out waiting (${ms} ms)` : `timed out waiting for ${said} (${ms} ms)`);
    }
  }
}

/** The next call offered to `agent` (its next `call` event). */
export function nextCall(agent: CallAgent): Promise<Call> {
  return new Promise((resolve) => agent.once('call', resolve));
}

export interface ConnectOptions {
  /** The callee rings first (180), as a real phone does, then answers after `ringMs`. */
  ring?: boolean;
  /** How long it rings before answering (default 20 ms; only with `ring`). */
  ringMs?: number;
}

/** `from` calls `target`; the call offered to `to` is answered: both ends of the answered call. */
export async function connectCalls(from: CallAgent, to: CallAgent, target: string, options: ConnectOptions = {}): Promise<{ caller: Call; callee: Call }> {
  const incoming = nextCall(to);
  const callerP = from.call(target);
  const callee = await incoming;
  if (options.ring === true) {
    callee.ring();
    await new Promise((r) => setTimeout(r, options.ringMs ?? 20));
  }
  await callee.answer();
  return { caller: await callerP, callee };
}
