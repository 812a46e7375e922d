/**
 * The load generator for `bench/pbx.bench.ts`, in its own process (`child_process.fork`) so
 * that its CPU is not the PBX's. Two phones made with our own SIP stack: a UserAgent as
 * extension A (the caller, answering the PBX's 407 with digest) and one as extension B
 * (registered, answering every INVITE with 180 and 200). Media is not the Call layer's: each
 * media call has one plain dgram socket per phone, named in that phone's SDP, sending a
 * pre-built 172-byte PCMU packet every 20 ms (sequence number and timestamp advancing) to the
 * port in the PBX's SDP, and counting what the PBX relays back.
 *
 * Control channel: IPC requests `{ id, cmd, ... }`, answered `{ id, ...reply }`:
 * - `start` { pbxPort, domain, caller, callee: { number, password } }: both phones up, B registered.
 * - `calls` { rate?, window?, durationMs, holdMs }: complete calls (INVITE → 407 → INVITE →
 *   180 → 200 → ACK → hold → BYE → 200), open loop at `rate` calls/s or closed loop with
 *   `window` calls in flight, for `durationMs`; waits for every call started to end.
 * - `media-setup` { count }: media calls up until `count` are up.
 * - `media-direct` { pairs }: media legs with no SIP, one per port of each `[port, port]` pair
 *   (the bare relay baseline).
 * - `media-send` { ms }: every media call sends 50 packets/s each way for `ms`, then a
 *   300 ms drain; packets sent and received in that run.
 * - `idle-calls` { count }: calls answered and left up with no media (heap measurement).
 * - `hangup-all`, `stop`.
 * Every reply carries the generator's own cpuUsage over the command.
 */
import { createSocket, type Socket } from 'node:dgram';
import { UserAgent, type OutgoingSession, type SessionFailedError } from '../src/sip/ua/session-index.js';

interface Request {
  id: number;
  cmd: 'start' | 'calls' | 'media-setup' | 'media-direct' | 'media-send' | 'idle-calls' | 'hangup-all' | 'stop';
  [key: string]: unknown;
}

interface Phone {
  number: string;
  password: string;
}

/** One phone's end of a media call. */
interface MediaLeg {
  socket: Socket;
  target: number;
  packet: Buffer;
  seq: number;
  ts: number;
  received: number;
}

const offerFor = (port: number): string =>
  `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n`;

let caller: UserAgent | undefined;
let callee: UserAgent | undefined;
let target = '';
/** Where signalling-only calls point their media: bound, never read. */
let sink: Socket | undefined;
/** Media sockets for the callee's next answers (bound ahead: answering is synchronous). */
const calleeSockets: Socket[] = [];
const mediaLegs: MediaLeg[] = [];
const upCalls: OutgoingSession[] = [];

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
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

function audioPort(body: Buffer | string | undefined): number {
  const m = /m=audio (\d+)/.exec(body === undefined ? '' : body.toString());
  if (m === null) throw new Error('no m=audio line in the SDP');
  return Number(m[1]);
}

function mediaLeg(socket: Socket, targetPort: number): MediaLeg {
  const packet = Buffer.alloc(172, 0xff); // µ-law silence
  packet[0] = 0x80;
  packet[1] = 0; // PCMU
  packet.writeUInt32BE((Math.random() * 0x1_0000_0000) >>> 0, 8);
  const leg: MediaLeg = { socket, target: targetPort, packet, seq: (Math.random() * 0x10000) & 0xffff, ts: (Math.random() * 0x1_0000_0000) >>> 0, received: 0 };
  // Only our 172-byte RTP packets: the PBX's RTCP goes to port + 1, which may be another leg's socket.
  socket.on('message', (msg) => {
    if (msg.length === 172) leg.received++;
  });
  return leg;
}

async function start(req: Request): Promise<Record<string, unknown>> {
  const pbxPort = req.pbxPort as number;
  const domain = req.domain as string;
  const a = req.caller as Phone;
  const b = req.callee as Phone;
  const common = {
    listen: [{ protocol: 'udp' as const, address: '127.0.0.1', port: 0 }],
    outboundProxy: `sip:127.0.0.1:${pbxPort};lr`,
    sessionTimer: false as const,
    maxDialogs: 100_000,
    stopTimeoutMs: 3000,
    transaction: { maxTransactions: 1_000_000 },
  };
  caller = await UserAgent.start({ ...common, aor: `sip:${a.number}@${domain}`, credentials: { username: a.number, password: a.password } });
  callee = await UserAgent.start({ ...common, aor: `sip:${b.number}@${domain}`, credentials: { username: b.number, password: b.password } });
  sink = await bindSocket();
  const sinkPort = sink.address().port;
  callee.on('invite', (call) => {
    call.ringing();
    const socket = calleeSockets.pop();
    if (socket === undefined) {
      void call.accept({ body: offerFor(sinkPort) }).catch(() => undefined);
      return;
    }
    mediaLegs.push(mediaLeg(socket, audioPort(call.request.body)));
    void call.accept({ body: offerFor(socket.address().port) }).catch(() => undefined);
  });
  await callee.register({ registrar: `sip:${domain}`, expires: 3600 });
  target = `sip:${b.number}@${domain}`;
  return {};
}

/** One complete call: undefined when it was answered and the BYE got 200, else what failed (`INVITE 503`, `BYE 408`…). */
async function oneCall(holdMs: number, setupMs: number[], byeMs: number[]): Promise<string | undefined> {
  const t0 = performance.now();
  const call = caller!.invite(target, { body: offerFor(sink!.address().port) });
  try {
    await call.answered;
  } catch (e) {
    return `INVITE ${(e as SessionFailedError).status ?? (e as Error).message}`;
  }
  setupMs.push(performance.now() - t0);
  if (holdMs > 0) await sleep(holdMs);
  const t1 = performance.now();
  const res = await call.bye().catch(() => undefined);
  byeMs.push(performance.now() - t1);
  return res?.status === 200 ? undefined : `BYE ${res?.status ?? 'no answer'}`;
}

async function calls(req: Request): Promise<Record<string, unknown>> {
  const durationMs = req.durationMs as number;
  const holdMs = (req.holdMs as number | undefined) ?? 0;
  let started = 0;
  let completed = 0;
  let failed = 0;
  const failures: Record<string, number> = {};
  const setupMs: number[] = [];
  const byeMs: number[] = [];
  const t0 = performance.now();
  const run = (): Promise<void> => {
    started++;
    return oneCall(holdMs, setupMs, byeMs).then((failure) => {
      if (failure === undefined) completed++;
      else {
        failed++;
        failures[failure] = (failures[failure] ?? 0) + 1;
      }
    });
  };
  const all: Promise<void>[] = [];
  if (typeof req.rate === 'number') {
    // Open loop: calls start on schedule whatever happens to the ones before.
    const rate = req.rate;
    while (performance.now() - t0 < durationMs) {
      const due = Math.floor(((performance.now() - t0) / 1000) * rate);
      while (started < due) all.push(run());
      await sleep(2);
    }
  } else {
    const window = (req.window as number | undefined) ?? 64;
    const worker = async (): Promise<void> => {
      while (performance.now() - t0 < durationMs) await run();
    };
    for (let i = 0; i < window; i++) all.push(worker());
  }
  const launchMs = performance.now() - t0;
  await Promise.all(all);
  const p = (xs: number[], q: number): number => xs.sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;
  return { started, completed, failed, failures, launchMs, elapsedMs: performance.now() - t0, setupP50: p(setupMs, 0.5), setupP99: p(setupMs, 0.99), byeP50: p(byeMs, 0.5) };
}

async function mediaSetup(req: Request): Promise<Record<string, unknown>> {
  const count = req.count as number;
  const need = count - upCalls.length;
  for (let i = 0; i < need; i++) calleeSockets.push(await bindSocket());
  let failed = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < need) {
      next++;
      const socket = await bindSocket();
      const call = caller!.invite(target, { body: offerFor(socket.address().port) });
      try {
        await call.answered;
        mediaLegs.push(mediaLeg(socket, audioPort(call.remoteBody?.body)));
        upCalls.push(call);
      } catch {
        failed++;
        socket.close();
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 32 }, worker));
  return { up: upCalls.length, legs: mediaLegs.length, failed, setupMs: performance.now() - t0 };
}

async function mediaDirect(req: Request): Promise<Record<string, unknown>> {
  for (const pair of req.pairs as [number, number][]) {
    for (const port of pair) mediaLegs.push(mediaLeg(await bindSocket(), port));
  }
  return { legs: mediaLegs.length };
}

/** 50 packets/s from every media leg for `ms`, in four 5 ms slots per 20 ms; then a drain. */
async function mediaSend(req: Request): Promise<Record<string, unknown>> {
  const ms = req.ms as number;
  for (const l of mediaLegs) l.received = 0;
  let sent = 0;
  const legs = mediaLegs;
  const slots = 4;
  const t0 = performance.now();
  let tick = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - t0;
      const due = Math.min(Math.floor(elapsed / 5) + 1, Math.floor(ms / 5));
      // Catch up on any slot a late timer missed, so the rate is exact.
      for (; tick < due; tick++) {
        const slot = tick % slots;
        for (let i = slot; i < legs.length; i += slots) {
          const l = legs[i]!;
          l.seq = (l.seq + 1) & 0xffff;
          l.ts = (l.ts + 160) >>> 0;
          l.packet.writeUInt16BE(l.seq, 2);
          l.packet.writeUInt32BE(l.ts, 4);
          l.socket.send(l.packet, l.target, '127.0.0.1');
          sent++;
        }
      }
      if (tick >= Math.floor(ms / 5)) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  const sendMs = performance.now() - t0;
  await sleep(300);
  let received = 0;
  let silentLegs = 0;
  for (const l of legs) {
    received += l.received;
    if (l.received === 0) silentLegs++;
  }
  return { sent, received, sendMs, legs: legs.length, silentLegs };
}

async function idleCalls(req: Request): Promise<Record<string, unknown>> {
  const count = req.count as number;
  let next = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      const call = caller!.invite(target, { body: offerFor(sink!.address().port) });
      try {
        await call.answered;
        upCalls.push(call);
      } catch {
        failed++;
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 32 }, worker));
  return { up: upCalls.length, failed, setupMs: performance.now() - t0 };
}

async function hangupAll(): Promise<Record<string, unknown>> {
  const calls = upCalls.splice(0);
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < calls.length) {
        const res = await calls[next++]!.bye().catch(() => undefined);
        if (res?.status !== 200) failed++;
      }
    }),
  );
  for (const l of mediaLegs.splice(0)) l.socket.close();
  for (const s of calleeSockets.splice(0)) s.close();
  return { hungUp: calls.length, failed };
}

process.on('message', (raw) => {
  const req = raw as Request;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  void (async (): Promise<Record<string, unknown>> => {
    switch (req.cmd) {
      case 'start':
        return start(req);
      case 'calls':
        return calls(req);
      case 'media-setup':
        return mediaSetup(req);
      case 'media-direct':
        return mediaDirect(req);
      case 'media-send':
        return mediaSend(req);
      case 'idle-calls':
        return idleCalls(req);
      case 'hangup-all':
        return hangupAll();
      case 'stop':
        await caller?.stop();
        await callee?.stop();
        sink?.close();
        setTimeout(() => process.exit(0), 50);
        return {};
    }
  })().then(
    (body) => process.send?.({ id: req.id, ...body, cpu: process.cpuUsage(cpu0), wallMs: performance.now() - t0 }),
    (e: unknown) => process.send?.({ id: req.id, error: (e as Error).stack ?? String(e) }),
  );
});
process.send?.({ type: 'ready' });
