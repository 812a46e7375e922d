/**
 * RTP packet rates: parse, serialize and relay (parse, rewrite SSRC/sequence/timestamp,
 * serialize) of a 172-byte G.711 packet against a same-run baseline that only copies the
 * 172 bytes; RTCP and jitter-buffer costs for scale; and the loopback UDP forwarding rate one
 * process sustains between two sockets (a worker thread generates and sinks the traffic on
 * the other core), which bounds how many calls one core can relay.
 */
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { consume, measure, printTable } from './harness.js';
import { JitterBuffer, RtpPacket, parseRtcp, rtcpSize, serializeRtcp, serializeRtp } from '../src/rtp/index.js';
import type { RtcpPacket } from '../src/rtp/index.js';

const PAYLOAD = new Uint8Array(160).fill(0xd5);
const HEADER = { payloadType: 0, sequenceNumber: 4242, timestamp: 0x12345678, ssrc: 0xcafebabe, marker: false };

if (isMainThread) {
  await runMain();
} else {
  runTrafficWorker();
}

async function runMain(): Promise<void> {
  const packet = new Uint8Array(172);
  serializeRtp(HEADER, PAYLOAD, packet);
  const out = new Uint8Array(1500);
  const view = new RtpPacket();

  const baseline = measure(() => {
    out.set(packet);
    consume(out[11]!);
  }, 1);

  const parse = measure(() => {
    view.wrap(packet);
    consume(view.sequenceNumber ^ view.timestamp ^ view.ssrc ^ view.payloadLength ^ view.payloadType);
  }, 1);

  let seq = 0;
  const serialize = measure(() => {
    HEADER.sequenceNumber = seq = (seq + 1) & 0xffff;
    consume(serializeRtp(HEADER, PAYLOAD, out));
  }, 1);

  // Relay: parse the received datagram, rewrite SSRC/sequence/timestamp in place, write the
  // packet into the reusable output buffer. No allocation per packet.
  const relayIn = packet.slice();
  let seqOffset = 1000;
  const relay = measure(() => {
    view.wrap(relayIn);
    view.ssrc = 0x0badf00d;
    view.sequenceNumber = (view.sequenceNumber + seqOffset) & 0xffff;
    view.timestamp = (view.timestamp + 160) >>> 0;
    consume(view.copyTo(out));
    seqOffset ^= 1;
  }, 1);

  const rtcp: RtcpPacket[] = [
    { type: 'sr', ssrc: 1, ntpSeconds: 2, ntpFraction: 3, rtpTimestamp: 4, packetCount: 5, octetCount: 6, reports: [{ ssrc: 7, fractionLost: 0, cumulativeLost: 0, highestSequence: 9, jitter: 10, lastSenderReport: 11, delaySinceLastSenderReport: 12 }] },
    { type: 'sdes', chunks: [{ ssrc: 1, items: [{ type: 1, text: 'bench@switchboard' }] }] },
  ];
  const rtcpBytes = new Uint8Array(rtcpSize(rtcp));
  serializeRtcp(rtcp, rtcpBytes);
  const rtcpParse = measure(() => consume(parseRtcp(rtcpBytes).length), 1);

  // Jitter buffer: one push and one pull per 20 ms frame, in order.
  const jb = new JitterBuffer();
  let t = 0;
  let s = 0;
  let ts = 0;
  const jbPkt = { sequenceNumber: 0, timestamp: 0, ssrc: 1, marker: false, payload: PAYLOAD };
  const jbRate = measure(() => {
    jbPkt.sequenceNumber = s = (s + 1) & 0xffff;
    jbPkt.timestamp = ts = (ts + 160) >>> 0;
    jb.push({ ...jbPkt }, t + 3);
    consume(jb.pull(t).kind.length);
    t += 20;
  }, 1);

  const udp = await loopbackForwarding(2000);

  printTable('RTP packets (172-byte G.711 packet)', 'packets/s', { name: 'copy 172 bytes (baseline)', rate: baseline }, [
    { name: 'parse (RtpPacket.wrap + header fields)', rate: parse, note: 'target ≥ 10 M/s' },
    { name: 'serialize (serializeRtp, reused buffer)', rate: serialize },
    { name: 'relay (parse, rewrite SSRC/seq/ts, write)', rate: relay, note: 'target ≥ 5 M/s' },
    { name: 'RTCP SR+SDES compound parse', rate: rtcpParse },
    { name: 'jitter buffer push + pull (per frame)', rate: jbRate },
    { name: 'loopback UDP relay, one process (2 sockets)', rate: udp, note: `≈ ${Math.floor(udp / 100)} calls/core at 2 × 50 packets/s` },
  ]);
}

/**
 * The relay runs here, on the main thread: socket A receives, the packet is parsed and
 * rewritten in place, socket B sends it on. A worker thread generates the traffic and sinks
 * it, keeping a bounded window of packets in flight.
 */
async function loopbackForwarding(durationMs: number): Promise<number> {
  const inbound = createSocket('udp4');
  const outbound = createSocket('udp4');
  await new Promise<void>((r) => inbound.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => outbound.bind(0, '127.0.0.1', () => r()));
  inbound.setRecvBufferSize(1 << 20);
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { relayPort: inbound.address().port } });
  const sinkPort = await new Promise<number>((r) => worker.once('message', (m: { sinkPort: number }) => r(m.sinkPort)));
  const view = new RtpPacket();
  let forwarded = 0;
  inbound.on('message', (msg) => {
    try {
      view.wrap(msg);
    } catch {
      return;
    }
    view.ssrc = 0x0badf00d;
    view.sequenceNumber = (view.sequenceNumber + 7) & 0xffff;
    // The received Buffer is ours until the send completes: forward it in place, no copy.
    outbound.send(msg, sinkPort, '127.0.0.1');
    forwarded++;
  });
  worker.postMessage('go');
  await new Promise((r) => setTimeout(r, 300)); // warm-up
  const start = performance.now();
  const startCount = forwarded;
  await new Promise((r) => setTimeout(r, durationMs));
  const rate = ((forwarded - startCount) * 1000) / (performance.now() - start);
  worker.postMessage('stop');
  await new Promise((r) => worker.once('exit', r));
  await Promise.all([new Promise<void>((r) => inbound.close(() => r())), new Promise<void>((r) => outbound.close(() => r()))]);
  return rate;
}

function runTrafficWorker(): void {
  const { relayPort } = workerData as { relayPort: number };
  const gen = createSocket('udp4');
  const sink = createSocket('udp4');
  const packet = new Uint8Array(172);
  serializeRtp(HEADER, PAYLOAD, packet);
  let sent = 0;
  let received = 0;
  let running = false;
  const WINDOW = 256;
  const pump = (): void => {
    if (!running) return;
    // Keep at most WINDOW packets between generator and sink so no queue overflows.
    let burst = 0;
    while (sent - received < WINDOW && burst < 64) {
      gen.send(packet, relayPort, '127.0.0.1');
      sent++;
      burst++;
    }
    setImmediate(pump);
  };
  sink.on('message', () => received++);
  // Packets lost on the way (a full socket buffer) must not stall the window forever.
  const unstick = setInterval(() => {
    if (sent - received >= WINDOW) received = sent - WINDOW / 2;
  }, 50);
  sink.bind(0, '127.0.0.1', () => {
    gen.bind(0, '127.0.0.1', () => {
      sink.setRecvBufferSize(1 << 20);
      parentPort!.postMessage({ sinkPort: sink.address().port });
    });
  });
  parentPort!.on('message', (m: string) => {
    if (m === 'go') {
      running = true;
      pump();
    } else {
      running = false;
      clearInterval(unstick);
      gen.close();
      sink.close();
      parentPort!.close();
    }
  });
}
