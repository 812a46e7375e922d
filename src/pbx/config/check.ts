/**
 * `switchboard check-config FILE`: load the file and say, per tenant, what it holds, or list
 * every problem, one per line. The command line (bin/switchboard.ts) only prints the result.
 */
import { loadConfig } from './load.js';
import { ConfigError, renderProblem } from './problems.js';

export interface CheckConfigResult {
  readonly ok: boolean;
  /** Lines ending in "\n": a summary per tenant when ok, else the problems. */
  readonly output: string;
}

export async function checkConfig(file: string): Promise<CheckConfigResult> {
  try {
    const config = await loadConfig(file);
    const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;
    const lines = config.tenants.map(
      (t) => `${t.domain}: ${count(t.extensions.length, 'extension')}, ${count(t.groups.length, 'group')}, ${count(t.trunks.length, 'trunk')}`,
    );
    return { ok: true, output: `${lines.join('\n')}\n` };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { ok: false, output: `${e.problems.map(renderProblem).join('\n')}\n` };
  }
}
