/**
 * Complete SIP calls between two in-process UserAgents over loopback UDP: INVITE → 100 →
 * 180 → 200 → ACK → BYE → 200, with a window of concurrent calls; setup time (INVITE sent →
 * 200 received) p50/p99; and heap bytes per idle confirmed dialog, 10,000 calls held open.
 * Baseline: bare UDP request/response round trips between two sockets over loopback with the
 * same window, no SIP.
 *
 * Heap is measured after forced garbage collection (`--expose-gc` set at run time through
 * `v8.setFlagsFromString`, `gc` taken from a new context), once every transaction of the
 * set-up has ended (T1 is shortened to 50 ms for that phase so their timers run out in 3.2 s).
 */
import { createSocket, type Socket } from 'node:dgram';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { UserAgent, type UserAgentOptions } from '../src/sip/ua/session-index.js';
import { printGrid, printTable } from './harness.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const WINDOW = 32;
const MEASURE_MS = 3000;
const WARMUP_MS = 500;
const IDLE_CALLS = 10_000;

const answer = 'v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
const offer = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

async function bind(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

/** Bare UDP: `WINDOW` request/response pairs in flight, for `ms`. Returns round trips/s. */
async function udpRoundTrips(ms: number): Promise<number> {
  const client = await bind();
  const server = await bind();
  const request = Buffer.alloc(600, 1); // about an INVITE with SDP
  const response = Buffer.alloc(400, 2);
  server.on('message', (_m, r) => server.send(response, r.port, r.address));
  const port = server.address().port;
  let done = 0;
  let counting = false;
  let stop = false;
  const finished = new Promise<void>((resolve) => {
    let inFlight = 0;
    client.on('message', () => {
      inFlight--;
      if (counting) done++;
      if (!stop) {
        inFlight++;
        client.send(request, port, '127.0.0.1');
      } else if (inFlight === 0) resolve();
    });
    for (let i = 0; i < WINDOW; i++) {
      inFlight++;
      client.send(request, port, '127.0.0.1');
    }
  });
  await sleep(WARMUP_MS);
  counting = true;
  const t0 = performance.now();
  await sleep(ms);
  counting = false;
  const elapsed = performance.now() - t0;
  stop = true;
  await finished;
  client.close();
  server.close();
  return (done / elapsed) * 1000;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function pair(extra: Partial<UserAgentOptions>): Promise<{ alice: UserAgent; bob: UserAgent; target: string }> {
  const base = (name: string): UserAgentOptions => ({
    listen: [{ protocol: 'udp', address: '127.0.0.1', port: 0 }],
    aor: `sip:${name}@127.0.0.1`,
    maxDialogs: 3 * IDLE_CALLS,
    stopTimeoutMs: 3000,
    ...extra,
  });
  const alice = await UserAgent.start(base('alice'));
  // tryingDelay 0: the callee's transaction sends 100 Trying at once, so every call is the full ladder.
  const bob = await UserAgent.start({ ...base('bob'), transaction: { ...extra.transaction, tryingDelay: 0 } });
  bob.on('invite', (call) => {
    call.ringing();
    void call.accept({ body: answer }).catch(() => undefined);
  });
  return { alice, bob, target: `sip:bob@127.0.0.1:${bob.port}` };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Complete calls with `WINDOW` in flight, for `ms`. */
async function calls(ms: number): Promise<{ rate: number; p50: number; p99: number; failed: number }> {
  // Lingering transactions (Timer J/L/M, 32 s) of a few thousand calls: lift the 10,000 cap.
  const { alice, bob, target } = await pair({ transaction: { maxTransactions: 1_000_000 } });
  const setup: number[] = [];
  let completed = 0;
  let failed = 0;
  let counting = false;
  let stop = false;
  const one = async (): Promise<void> => {
    const t0 = performance.now();
    const call = alice.invite(target, { body: offer });
    try {
      await call.answered;
    } catch {
      failed++;
      return;
    }
    const t1 = performance.now();
    const res = await call.bye();
    if (res?.status !== 200) failed++;
    else if (counting) {
      completed++;
      setup.push(t1 - t0);
    }
  };
  const workers = Array.from({ length: WINDOW }, async () => {
    while (!stop) await one();
  });
  await sleep(WARMUP_MS);
  counting = true;
  const t0 = performance.now();
  await sleep(ms);
  counting = false;
  const elapsed = performance.now() - t0;
  stop = true;
  await Promise.all(workers);
  await alice.stop();
  await bob.stop();
  setup.sort((a, b) => a - b);
  return { rate: (completed / elapsed) * 1000, p50: percentile(setup, 50), p99: percentile(setup, 99), failed };
}

/** Heap per idle confirmed dialog: IDLE_CALLS calls answered and left up (a dialog on each side). */
async function idleDialogHeap(): Promise<{ perDialog: number; dialogs: number; setupMs: number }> {
  const { alice, bob, target } = await pair({ transaction: { timers: { T1: 50, T2: 400, T4: 500, D: 1000 }, maxTransactions: 1_000_000 } });
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 300; i++) {
      const layers = [alice.endpoint.layer, bob.endpoint.layer];
      if (layers.every((l) => l.clientTransactionCount + l.serverTransactionCount === 0)) return;
      await sleep(25);
    }
  };
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  let next = 0;
  const sessions: ReturnType<UserAgent['invite']>[] = [];
  await Promise.all(
    Array.from({ length: WINDOW }, async () => {
      while (next < IDLE_CALLS) {
        next++;
        const call = alice.invite(target, { body: offer });
        sessions.push(call);
        await call.answered.catch(() => undefined);
      }
    }),
  );
  const setupMs = performance.now() - t0;
  await settle();
  await sleep(100);
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  const dialogs = alice.dialogs.size + bob.dialogs.size;
  // Tear down without 20,000 BYEs: end the dialogs silently, then close.
  alice.dialogs.close();
  bob.dialogs.close();
  await alice.stop();
  await bob.stop();
  sessions.length = 0;
  return { perDialog: (after - before) / dialogs, dialogs, setupMs };
}

const udp = await udpRoundTrips(MEASURE_MS);
const c = await calls(MEASURE_MS);
printTable('SIP calls: two UserAgents in one process, loopback UDP', 'per second', { name: 'bare UDP round trip (no SIP)', rate: udp }, [
  {
    name: 'complete call INVITE→100→180→200→ACK→BYE→200',
    rate: c.rate,
    note: `setup p50 ${c.p50.toFixed(2)} ms, p99 ${c.p99.toFixed(2)} ms; ${WINDOW} in flight; ${c.failed} failed; target ≥ 2,000/s`,
  },
]);
const m = await idleDialogHeap();
printGrid('SIP calls: heap per idle confirmed dialog (forced GC)', ['measure', 'value', 'target'], [
  ['idle confirmed dialogs held (both sides)', String(m.dialogs), ''],
  ['heap bytes per dialog', m.perDialog.toFixed(0), '≤ 10,240'],
  ['set-up rate of those calls (answered/s)', ((IDLE_CALLS / m.setupMs) * 1000).toFixed(0), ''],
]);
