/**
 * The PBX under load, in its own process (bench/pbx-server.ts) so that its CPU time is its
 * own, driven by a generator in another process (bench/pbx-load-generator.ts: our SIP stack for
 * the phones, plain dgram sockets for their media). Three tables:
 *
 * 1. CPU per call: complete authenticated calls (INVITE → 407 → INVITE → 180 → 200 → ACK →
 *    BYE → 200, both legs, media anchored, CDR written) at a fixed 100 calls/s, then closed
 *    loop with a window of calls in flight (the most this pair of processes sustains).
 *    PBX `process.cpuUsage()` over the run ÷ calls completed.
 * 2. RTP relay: N concurrent G.711 calls, 20 ms packets both ways (50 packets/s per phone),
 *    N stepped up until more than 0.1% of the packets are lost; PBX CPU per relayed packet,
 *    with a bare dgram relay (no SIP, no RTP parsing, same generator) as the baseline.
 * 3. Heap per active call: heapUsed over N answered idle calls after forced GC, first with
 *    the calls' transactions still lingering (RFC 6026 Timer L, 32 s), then once they ended.
 *
 * Both children share the 2-core machine with each other (and with whatever else runs): the
 * generator's CPU is printed too, so a generator that saturates first shows.
 *
 * About 4 minutes (two 32 s waits for lingering transactions to end). `PBX_BENCH_ONLY=calls,rtp,heap`
 * runs some of the tables; `PBX_BENCH_PROF=DIR` writes a V8 CPU profile of the PBX process
 * over each measured run into DIR (open it in Chrome DevTools).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printGrid } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const FIXED_RATE = 100;
const CALL_RUN_MS = 10_000;
const MAX_WINDOW = 100;
// Closed loop runs 5 s: each call leaves server transactions behind for 32 s (the INVITE's,
// RFC 6026 Timer L, and the BYE's, Timer J; ≈ 69 transaction-seconds per call) and the PBX's
// UserAgent holds at most 10,000 (503 beyond: the transaction layer's default), which 300–400
// calls/s reach within ~8 s. Sustained, that cap limits the PBX to ≈ 145 calls/s.
const MAX_RUN_MS = 5000;
const RTP_STEPS = [100, 250, 500, 750, 1000, 1250, 1500, 1750, 2000];
const RTP_WARM_MS = 1000;
const RTP_RUN_MS = 5000;
const LOSS_LIMIT = 0.001;
const BASELINE_CALLS = 500;
const IDLE_CALLS = 1000;

interface CpuUsage {
  user: number;
  system: number;
}
interface Usage {
  cpu: CpuUsage;
  memory: NodeJS.MemoryUsage;
  calls: number;
  transactions: number;
}
type Reply = Record<string, unknown> & { cpu?: CpuUsage; wallMs?: number; error?: string };

/** A forked child with a request/reply channel over IPC. */
class Child {
  private next = 1;
  private readonly waiting = new Map<number, (r: Reply) => void>();
  readonly ready: Promise<Reply>;

  constructor(readonly proc: ChildProcess) {
    let onReady!: (r: Reply) => void;
    this.ready = new Promise((r) => (onReady = r));
    proc.on('message', (raw) => {
      const m = raw as Reply & { id?: number; type?: string };
      if (m.type === 'ready') onReady(m);
      else if (m.id !== undefined) {
        this.waiting.get(m.id)?.(m);
        this.waiting.delete(m.id);
      }
    });
    proc.on('exit', (code) => {
      for (const w of this.waiting.values()) w({ error: `child exited with ${code}` });
    });
  }

  static start(file: string, args: string[], execArgv: string[] = []): Child {
    return new Child(fork(join(here, file), args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  async request(cmd: string, params: Record<string, unknown> = {}): Promise<Reply> {
    const id = this.next++;
    const reply = await new Promise<Reply>((resolve) => {
      this.waiting.set(id, resolve);
      this.proc.send({ id, cmd, ...params });
    });
    if (reply.error !== undefined) throw new Error(`${cmd}: ${reply.error}`);
    return reply;
  }

  async usage(cmd: 'usage' | 'gc' = 'usage'): Promise<Usage> {
    return (await this.request(cmd)) as unknown as Usage;
  }
}

const profDir = process.env.PBX_BENCH_PROF;

/** Runs `fn` with the server's CPU profiled (PBX_BENCH_PROF) into `<dir>/<name>.cpuprofile`. */
async function profiled<T>(server: Child, name: string, fn: () => Promise<T>): Promise<T> {
  if (profDir === undefined) return fn();
  await server.request('profile-start');
  try {
    return await fn();
  } finally {
    await server.request('profile-stop', { file: join(profDir, `${name.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`) });
  }
}

const cpuMs = (a: CpuUsage, b: CpuUsage): number => (b.user - a.user + b.system - a.system) / 1000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pct = (cpu: number, wall: number): string => `${((cpu / wall) * 100).toFixed(0)}%`;

/** Waits until the server's transactions are down to `floor` (the 32 s timers), at most `maxMs`. */
async function settle(server: Child, floor: number, maxMs = 45_000): Promise<number> {
  const end = Date.now() + maxMs;
  let u = await server.usage();
  while (u.transactions > floor && Date.now() < end) {
    await sleep(500);
    u = await server.usage();
  }
  return u.transactions;
}

const dir = mkdtempSync(join(tmpdir(), 'switchboard-bench-pbx-'));
const domain = 'bench.test';
const a = { number: '1001', password: 'bench-1001-pass' };
const b = { number: '1002', password: 'bench-1002-pass' };
writeFileSync(
  join(dir, 'pbx.json'),
  JSON.stringify({
    dataDir: join(dir, 'data'),
    logLevel: 'error',
    rtp: { address: '127.0.0.1', portMin: 10000, portMax: 29999, timeoutSeconds: 300 },
    limits: { maxCalls: 10_000 },
    tenants: [{ domain, name: 'Bench', default: true, extensions: [{ number: a.number, name: 'A', password: a.password }, { number: b.number, name: 'B', password: b.password }] }],
  }),
);

/** Table 1: PBX CPU per complete call, at a fixed rate and closed loop. */
async function callsTable(server: Child, gen: Child): Promise<void> {
  const callRows: string[][] = [];
  const notes: string[] = [];
  const runCalls = async (label: string, params: Record<string, unknown>): Promise<void> => {
    await settle(server, 50);
    const u0 = await server.usage();
    const r = await profiled(server, `calls ${label}`, () => gen.request('calls', params));
    const u1 = await server.usage();
    const completed = r.completed as number;
    const wall = r.elapsedMs as number;
    const pbxCpu = cpuMs(u0.cpu, u1.cpu);
    const failures = Object.entries(r.failures as Record<string, number>);
    if (failures.length > 0) notes.push(`${label}: failed calls: ${failures.map(([k, v]) => `${v} × ${k}`).join(', ')}`);
    callRows.push([
      label,
      // Open loop: the rate calls were started at; closed loop: calls completed over the run.
      (params.rate !== undefined ? ((r.started as number) / (r.launchMs as number)) * 1000 : (completed / wall) * 1000).toFixed(0),
      String(completed),
      String(r.failed),
      completed > 0 ? ((pbxCpu * 1000) / completed).toFixed(0) : '-',
      pct(pbxCpu, wall),
      pct(cpuMs({ user: 0, system: 0 }, r.cpu!), r.wallMs!),
      `${(r.setupP50 as number).toFixed(1)} / ${(r.setupP99 as number).toFixed(1)} / ${(r.byeP50 as number).toFixed(1)}`,
      String(u1.transactions),
      '≤ 300 µs, 0 failed',
    ]);
  };
  await runCalls(`fixed ${FIXED_RATE} calls/s, 1 s calls`, { rate: FIXED_RATE, durationMs: CALL_RUN_MS, holdMs: 1000 });
  await runCalls(`closed loop, ${MAX_WINDOW} in flight, no hold, ${MAX_RUN_MS / 1000} s`, { window: MAX_WINDOW, durationMs: MAX_RUN_MS, holdMs: 0 });
  printGrid(
    'PBX: CPU per call (authenticated INVITE → BYE, two legs, media anchored, CDR)',
    ['load', 'calls/s', 'completed', 'failed', 'PBX CPU µs/call', 'PBX CPU', 'generator CPU', 'setup p50/p99, BYE p50 ms', 'transactions after', 'target'],
    callRows,
  );
  for (const n of notes) console.log(`(${n})`);
}

/** Table 2: PBX CPU per relayed RTP packet and loss, N concurrent calls stepped up; the bare relay first. */
async function rtpTable(server: Child, gen: Child): Promise<void> {
  await settle(server, 50);
  const relay = Child.start('pbx-server.js', ['relay']);
  await relay.ready;
  const pairs = (await relay.request('relay-pairs', { count: BASELINE_CALLS })).pairs as [number, number][];
  await gen.request('media-direct', { pairs });
  await gen.request('media-send', { ms: RTP_WARM_MS });
  const r0 = await relay.usage();
  const base = await gen.request('media-send', { ms: RTP_RUN_MS });
  const r1 = await relay.usage();
  const baseCpu = cpuMs(r0.cpu, r1.cpu);
  const baseReceived = base.received as number;
  const basePerPacket = (baseCpu * 1000) / baseReceived;
  const baseWall = (base.sendMs as number) + 300;
  await gen.request('hangup-all');
  await relay.request('stop');
  const rtpRows: string[][] = [
    [
      `bare dgram relay, ${BASELINE_CALLS} calls`,
      ((baseReceived / baseWall) * 1000).toFixed(0),
      (((base.sent as number) - baseReceived) / (base.sent as number) * 100).toFixed(3),
      basePerPacket.toFixed(2),
      'baseline',
      pct(baseCpu, baseWall),
      pct(cpuMs({ user: 0, system: 0 }, base.cpu!), base.wallMs!),
      '',
    ],
  ];
  let best = 0;
  let stopReason = `all steps up to ${RTP_STEPS[RTP_STEPS.length - 1]} within the loss limit`;
  for (const n of RTP_STEPS) {
    const setup = await gen.request('media-setup', { count: n });
    if ((setup.failed as number) > 0) {
      stopReason = `${setup.failed as number} of the calls to reach ${n} failed to set up`;
      break;
    }
    await gen.request('media-send', { ms: RTP_WARM_MS });
    const u0 = await server.usage();
    const r = await profiled(server, `rtp ${n}`, () => gen.request('media-send', { ms: RTP_RUN_MS }));
    const u1 = await server.usage();
    const sent = r.sent as number;
    const received = r.received as number;
    const loss = (sent - received) / sent;
    const wall = (r.sendMs as number) + 300;
    const pbxCpu = cpuMs(u0.cpu, u1.cpu);
    const genCpu = cpuMs({ user: 0, system: 0 }, r.cpu!);
    const perPacket = (pbxCpu * 1000) / received;
    const genBusy = genCpu / (r.wallMs as number);
    rtpRows.push([
      `PBX, ${n} calls`,
      ((received / wall) * 1000).toFixed(0),
      (loss * 100).toFixed(3),
      perPacket.toFixed(2),
      `${(perPacket / basePerPacket).toFixed(2)}x`,
      pct(pbxCpu, wall),
      pct(genCpu, r.wallMs as number),
      [genBusy > 0.9 ? 'generator saturated' : '', (r.silentLegs as number) > 0 ? `${r.silentLegs as number} legs got nothing` : '', (r.sendMs as number) > RTP_RUN_MS * 1.05 ? `sending took ${(r.sendMs as number).toFixed(0)} ms` : ''].filter((x) => x !== '').join('; '),
    ]);
    if (loss > LOSS_LIMIT) {
      stopReason = `loss ${(loss * 100).toFixed(3)}% at ${n} calls${genBusy > 0.9 ? ' (generator saturated: the limit may be the generator)' : ''}`;
      break;
    }
    best = n;
  }
  printGrid(
    `PBX: RTP relay, G.711 20 ms both ways (highest with loss ≤ 0.1%: ${best} calls; ${stopReason})`,
    ['load', 'relayed pkt/s', 'loss %', 'CPU µs/packet', 'vs baseline', 'relay CPU', 'generator CPU', 'note'],
    rtpRows,
  );
  console.log('targets: ≤ 3 µs CPU per relayed packet, ≥ 1,000 concurrent relayed calls');
}

/** Table 3: PBX memory per answered idle call. */
async function heapTable(server: Child, gen: Child): Promise<void> {
  const hung = await gen.request('hangup-all');
  if ((hung.failed as number) > 0) console.log(`(${hung.failed as number} of ${hung.hungUp as number} BYEs ending the relay calls failed)`);
  const floor = await settle(server, 10);
  const h0 = await server.usage('gc');
  const idle = await gen.request('idle-calls', { count: IDLE_CALLS });
  const up = idle.up as number;
  const h1 = await server.usage('gc');
  const left = await settle(server, floor + 5);
  const h2 = await server.usage('gc');
  const per = (x: Usage, key: 'heapUsed' | 'external' | 'rss'): string => ((x.memory[key] - h0.memory[key]) / up / 1024).toFixed(1);
  printGrid('PBX: memory per active call (answered, idle, two legs each; forced GC)', ['measure', 'with transactions', 'after they ended', 'target'], [
    ['calls up (measured from a base of ' + String(h0.calls) + ')', String(h1.calls), String(h2.calls), ''],
    ['server + client transactions', String(h1.transactions), String(left), ''],
    ['heapUsed KB per call', per(h1, 'heapUsed'), per(h2, 'heapUsed'), ''],
    ['external (buffers) KB per call', per(h1, 'external'), per(h2, 'external'), ''],
    ['rss KB per call', per(h1, 'rss'), per(h2, 'rss'), ''],
  ]);
}

console.log(`\n(PBX benchmark: load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
const only = (process.env.PBX_BENCH_ONLY ?? 'calls,rtp,heap').split(',');
const server = Child.start('pbx-server.js', ['pbx', join(dir, 'pbx.json')], ['--expose-gc']);
const gen = Child.start('pbx-load-generator.js', []);
try {
  const { port } = (await server.ready) as { port: number };
  await gen.ready;
  await gen.request('start', { pbxPort: port, domain, caller: a, callee: b });
  await gen.request('calls', { rate: 50, durationMs: 2000, holdMs: 100 }); // warm-up (JIT)
  if (only.includes('calls')) await callsTable(server, gen);
  if (only.includes('rtp')) await rtpTable(server, gen);
  if (only.includes('heap')) await heapTable(server, gen);
  await gen.request('hangup-all');
  console.log(`(load average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
} finally {
  const within = (p: Promise<unknown>, ms: number): Promise<unknown> => Promise.race([p.catch(() => undefined), sleep(ms)]);
  await within(gen.request('stop'), 5000);
  await within(server.request('stop'), 10_000);
  await within(new Promise((r) => server.proc.once('exit', r)), 5000);
  gen.proc.kill();
  server.proc.kill();
  rmSync(dir, { recursive: true, force: true });
}
