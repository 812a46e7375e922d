/**
 * Running baresip (Debian `baresip-core`, 1.0) from a test, the way PEERS.md says works: its
 * own config folder in a temp dir (`baresip -f DIR` with `config` and `accounts`),
 * `module_path /usr/lib/baresip/modules`, `net_interface 127.0.0.1`, SIP on an ephemeral
 * port, only the modules asked for. `stop()` sends SIGTERM (baresip then unregisters), waits,
 * SIGKILLs if needed, and removes the folder; `stopAll()` from peer-process.ts kills what a
 * failed test left.
 *
 * @example
 * ```ts
 * const bs = await startBaresip({ accounts: [`<sip:1001@127.0.0.1:${port};transport=udp>;auth_pass=secret;regint=60`] });
 * await waitFor(() => location.lookup('sip:1001@127.0.0.1').length > 0, 10_000, () => bs.output());
 * await bs.stop();
 * ```
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPeer, type Peer, type PeerResult } from './peer-process.js';
import { freeUdpPort } from './ports.js';

export interface BaresipOptions {
  /** Lines of the `accounts` file. */
  accounts: string[];
  /** Modules to load (default: `g711.so`, and `account.so` as the app module that reads `accounts`). */
  modules?: string[];
  /** Extra `config` lines. */
  config?: string[];
  /** SIP port (default: a free UDP port pair: baresip also binds the next port). */
  sipPort?: number;
  /** `-s`: print SIP messages as sent and received (in `output()`). Default true. */
  sipTrace?: boolean;
  /** Hard limit before SIGKILL (default 30 s). */
  timeoutMs?: number;
}

export interface Baresip {
  dir: string;
  sipPort: number;
  peer: Peer;
  /** stdout and stderr so far, for failure messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs` (default 3000); removes the config folder. */
  stop(graceMs?: number): Promise<PeerResult>;
}

/** Writes the config folder and starts baresip. */
export async function startBaresip(options: BaresipOptions): Promise<Baresip> {
  const dir = mkdtempSync(join(tmpdir(), 'baresip-'));
  const sipPort = options.sipPort ?? (await freeUdpPort(true));
  const modules = options.modules ?? ['g711.so'];
  const config = [
    'poll_method epoll',
    `sip_listen 127.0.0.1:${sipPort}`,
    'net_interface 127.0.0.1',
    'module_path /usr/lib/baresip/modules',
    ...modules.map((m) => `module ${m}`),
    'module_app account.so',
    ...(options.config ?? []),
  ];
  writeFileSync(join(dir, 'config'), `${config.join('\n')}\n`);
  writeFileSync(join(dir, 'accounts'), `${options.accounts.join('\n')}\n`);
  const args = ['-f', dir];
  if (options.sipTrace ?? true) args.push('-s');
  const peer = startPeer('baresip', args, { timeoutMs: options.timeoutMs ?? 30_000, cwd: dir, env: { ...process.env, HOME: dir } });
  let stopped: Promise<PeerResult> | undefined;
  return {
    dir,
    sipPort,
    peer,
    output: () => {
      const o = peer.output();
      return `${o.stdout}\n${o.stderr}`;
    },
    stop: (graceMs = 3000) => {
      stopped ??= (async () => {
        peer.kill('SIGTERM');
        const timer = setTimeout(() => peer.kill('SIGKILL'), graceMs);
        const result = await peer.done;
        clearTimeout(timer);
        rmSync(dir, { recursive: true, force: true });
        return result;
      })();
      return stopped;
    },
  };
}

/** Polls `cond` every 20 ms until it holds; rejects after `timeoutMs` with `context()` in the message. */
export async function waitFor(cond: () => boolean, timeoutMs: number, context: () => string = () => ''): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms\n${context()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
