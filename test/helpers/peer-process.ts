/**
 * Starting a third-party peer (sipp, baresip, tshark) from a test: output collected, a hard
 * time limit, and guaranteed clean-up (`stopAll()` in afterEach kills whatever is left).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

export interface PeerResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const running = new Set<ChildProcess>();

export interface Peer {
  child: ChildProcess;
  /** Resolves when the process exits (or is killed at `timeoutMs`). */
  done: Promise<PeerResult>;
  /** Output so far. */
  output(): { stdout: string; stderr: string };
  kill(signal?: NodeJS.Signals): void;
}

/** Starts `cmd args` with no stdin; kills it with SIGKILL after `timeoutMs`. */
export function startPeer(cmd: string, args: string[], opts: { timeoutMs: number; cwd?: string; env?: NodeJS.ProcessEnv }): Peer {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
  const done = new Promise<PeerResult>((resolve) => {
    child.on('error', (err) => {
      stderr += String(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    done,
    output: () => ({ stdout, stderr }),
    kill: (signal: NodeJS.Signals = 'SIGTERM') => {
      child.kill(signal);
    },
  };
}

/** Kills every peer a test left running. */
export async function stopAll(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const child of running) {
    waits.push(new Promise((r) => child.once('close', r)));
    child.kill('SIGKILL');
  }
  await Promise.all(waits);
}

/** Whether a command is on PATH. */
export function hasCommand(cmd: string): boolean {
  const paths = (process.env.PATH ?? '').split(':');
  return paths.some((p) => {
    try {
      accessSync(`${p}/${cmd}`, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
