/**
 * The process under test for `bench/pbx.bench.ts`, started with `child_process.fork` so its
 * CPU time is measured apart from the load generator's. Two modes (first argument):
 *
 * - `pbx`: a real {@link Pbx} on 127.0.0.1 (UDP, ephemeral SIP port) from the configuration
 *   file given as the second argument, logging off, keep-alive off.
 * - `relay`: the baseline — a bare dgram relay with no SIP and no RTP parsing: socket pairs,
 *   each socket latched to the first source that sends to it, every datagram sent on
 *   unchanged from its partner socket to the partner's latched source.
 *
 * Control channel: IPC messages. The child sends `{ type: 'ready', port }` once it is up and
 * answers every request `{ id, cmd }` with `{ id, ...reply }`:
 * `usage` (process.cpuUsage, memoryUsage, calls and transactions in progress), `gc` (forced
 * garbage collection twice, then usage — run with `--expose-gc`), `relay-pairs` (relay mode:
 * bind `count` more pairs, reply with their ports), `profile-start` / `profile-stop` (a V8 CPU
 * profile of what happens in between, written to `file`), `stop`.
 */
import { createSocket, type Socket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadConfig } from '../src/pbx/config/index.js';
import { Logger } from '../src/pbx/logger.js';
import { Pbx } from '../src/pbx/pbx.js';

interface Request {
  id: number;
  cmd: 'usage' | 'gc' | 'relay-pairs' | 'profile-start' | 'profile-stop' | 'stop';
  count?: number;
  file?: string;
}

const mode = process.argv[2];
let pbx: Pbx | undefined;
const relaySockets: Socket[] = [];
let inspector: Session | undefined;

function reply(id: number, body: Record<string, unknown>): void {
  process.send?.({ id, ...body });
}

function usage(): Record<string, unknown> {
  const layer = pbx?.ua.endpoint.layer;
  return {
    cpu: process.cpuUsage(),
    memory: process.memoryUsage(),
    calls: pbx?.b2bua.calls.size ?? 0,
    transactions: layer === undefined ? 0 : layer.clientTransactionCount + layer.serverTransactionCount,
  };
}

function bindSocket(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

/** One relay pair: what arrives on one socket leaves from the other, to that one's latched peer. */
async function relayPair(): Promise<[number, number]> {
  const a = await bindSocket();
  const b = await bindSocket();
  let peerA: { port: number; address: string } | undefined;
  let peerB: { port: number; address: string } | undefined;
  a.on('message', (msg, r) => {
    peerA ??= { port: r.port, address: r.address };
    if (peerB !== undefined) b.send(msg, peerB.port, peerB.address);
  });
  b.on('message', (msg, r) => {
    peerB ??= { port: r.port, address: r.address };
    if (peerA !== undefined) a.send(msg, peerA.port, peerA.address);
  });
  relaySockets.push(a, b);
  return [a.address().port, b.address().port];
}

process.on('message', (raw) => {
  const req = raw as Request;
  void (async () => {
    switch (req.cmd) {
      case 'usage':
        reply(req.id, usage());
        break;
      case 'gc': {
        const gc = (globalThis as { gc?: () => void }).gc;
        if (gc === undefined) throw new Error('run with --expose-gc');
        gc();
        await new Promise((r) => setImmediate(r));
        gc();
        reply(req.id, usage());
        break;
      }
      case 'relay-pairs': {
        const pairs: [number, number][] = [];
        for (let i = 0; i < (req.count ?? 0); i++) pairs.push(await relayPair());
        reply(req.id, { pairs });
        break;
      }
      case 'profile-start':
        inspector ??= new Session();
        inspector.connect();
        await inspector.post('Profiler.enable');
        await inspector.post('Profiler.setSamplingInterval', { interval: 100 });
        await inspector.post('Profiler.start');
        reply(req.id, {});
        break;
      case 'profile-stop': {
        const { profile } = await inspector!.post('Profiler.stop');
        writeFileSync(req.file!, JSON.stringify(profile));
        inspector!.disconnect();
        reply(req.id, {});
        break;
      }
      case 'stop':
        await pbx?.stop(0);
        for (const s of relaySockets) s.close();
        reply(req.id, {});
        // process.exit (not just letting the loop end) so that --cpu-prof writes its profile.
        setTimeout(() => process.exit(0), 50);
        break;
    }
  })().catch((e: unknown) => reply(req.id, { error: (e as Error).message }));
});

if (mode === 'pbx') {
  const config = await loadConfig(process.argv[3]!);
  pbx = await Pbx.start({ config, logger: Logger.silent(), keepaliveSeconds: 0, listen: [{ transport: 'udp', address: '127.0.0.1', port: 0 }] });
  process.send?.({ type: 'ready', port: pbx.port });
} else if (mode === 'relay') {
  process.send?.({ type: 'ready', port: 0 });
} else {
  console.error('usage: pbx-server.js pbx CONFIG.json | relay');
  process.exit(2);
}
