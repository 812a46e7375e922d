import { createSocket, type Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { RtpPacket, RtpSession, RtpSessionError, serializeRtp } from '../../src/rtp/index.js';
import type { RtcpPacket, RtpSessionOptions } from '../../src/rtp/index.js';
import { paced, testPortPool, waitFor } from './helpers.js';

const open: RtpSession[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
  for (const s of sockets.splice(0)) s.close();
});

async function session(options: RtpSessionOptions): Promise<RtpSession> {
  const s = await RtpSession.open({ address: '127.0.0.1', mediaTimeoutMs: 0, ...options });
  open.push(s);
  return s;
}

async function pair(name: string, extra: RtpSessionOptions = {}): Promise<[RtpSession, RtpSession]> {
  const pool = testPortPool(name);
  const a = await session({ portPool: pool, ...extra });
  const b = await session({ portPool: pool, ...extra });
  a.setRemote({ address: '127.0.0.1', port: b.localPort, rtcpPort: b.localRtcpPort });
  b.setRemote({ address: '127.0.0.1', port: a.localPort, rtcpPort: a.localRtcpPort });
  return [a, b];
}

function frame(i: number): Uint8Array {
  return new Uint8Array(160).fill(i & 0xff);
}

describe('RtpSession over loopback', () => {
  it('binds an even/odd pair from the pool and exchanges 20 ms audio frames with correct headers', async () => {
    const [a, b] = await pair('audio');
    expect(a.localPort % 2).toBe(0);
    expect(a.localRtcpPort).toBe(a.localPort + 1);
    const seen: { seq: number; ts: number; ssrc: number; marker: boolean; first: number }[] = [];
    b.on('rtp', (p) => seen.push({ seq: p.sequenceNumber, ts: p.timestamp, ssrc: p.ssrc, marker: p.marker, first: p.payload[0]! }));
    const played: number[] = [];
    const reader = setInterval(() => {
      const out = b.readFrame();
      if (out.kind === 'frame') played.push(out.payload[0]!);
    }, 20);
    try {
      await paced(30, (i) => a.sendFrame(frame(i), { marker: i === 0 }));
      // Timers on a loaded machine are irregular, so the buffer may conceal or drop a few
      // frames; what must hold is order and that most of the stream plays.
      await waitFor(() => played.length >= 20 && seen.length === 30, 5000, 'playout');
    } finally {
      clearInterval(reader);
    }
    expect(seen).toHaveLength(30);
    for (let i = 1; i < 30; i++) {
      expect(seen[i]!.seq).toBe((seen[0]!.seq + i) & 0xffff);
      expect(seen[i]!.ts).toBe((seen[0]!.ts + 160 * i) >>> 0);
      expect(seen[i]!.ssrc).toBe(a.ssrc);
    }
    expect(seen[0]!.marker).toBe(true);
    // Frames come out of the jitter buffer in order (a start-up frame may be removed to shrink delay).
    for (let i = 1; i < played.length; i++) expect(played[i]!).toBeGreaterThan(played[i - 1]!);
    expect(b.receptionStats?.ssrc).toBe(a.ssrc);
  });

  it('sends and receives RFC 4733 digits', async () => {
    const [a, b] = await pair('dtmf');
    const digits: { digit: string | undefined; durationMs: number; endLost: boolean }[] = [];
    const begins: string[] = [];
    b.on('dtmf', (d) => digits.push({ digit: d.digit, durationMs: d.durationMs, endLost: d.endLost }));
    b.on('dtmf-begin', (d) => begins.push(d.digit!));
    const packets: RtpPacket[] = [];
    b.on('rtp', (p) => {
      if (p.payloadType === 101) packets.push(RtpPacket.parse(Uint8Array.from(p.view)));
    });
    await a.sendDigit('5', 100);
    a.sendFrame(frame(0)); // audio between digits moves the timestamp on
    await a.sendDigit('#', 60);
    await waitFor(() => digits.length === 2, 2000, 'two digits');
    expect(begins).toEqual(['5', '#']);
    expect(digits).toEqual([
      { digit: '5', durationMs: 100, endLost: false },
      { digit: '#', durationMs: 60, endLost: false },
    ]);
    // 7 packets for '5' (4 updates + 3 ends), marker only on the first of each digit.
    const five = packets.filter((p) => p.payload[0] === 5);
    expect(five).toHaveLength(7);
    expect(five.map((p) => p.marker)).toEqual([true, false, false, false, false, false, false]);
    expect(five.filter((p) => (p.payload[1]! & 0x80) !== 0)).toHaveLength(3);
  });

  it('exchanges RTCP SR/RR with SDES and measures the round-trip time', async () => {
    const [a, b] = await pair('rtcp', { rtcpMinIntervalMs: 100, cname: 'peer@test' });
    const got: RtcpPacket[][] = [];
    b.on('rtcp', (p) => got.push(p));
    const sender = setInterval(() => {
      a.sendFrame(frame(1));
      b.sendFrame(frame(2));
    }, 20);
    try {
      await waitFor(() => a.roundTripTime !== undefined && got.length >= 2, 5000, 'RTT from RTCP');
    } finally {
      clearInterval(sender);
    }
    expect(a.roundTripTime!).toBeGreaterThanOrEqual(0);
    expect(a.roundTripTime!).toBeLessThan(1);
    const sr = got.flat().find((p) => p.type === 'sr');
    expect(sr).toMatchObject({ type: 'sr', ssrc: a.ssrc });
    expect(got.flat().find((p) => p.type === 'sdes')).toMatchObject({ chunks: [{ ssrc: a.ssrc, items: [{ type: 1, text: 'peer@test' }] }] });
  });

  it('adds an RFC 3611 VoIP-metrics block to its reports when asked', async () => {
    const [a, b] = await pair('xr', { rtcpMinIntervalMs: 100, xrVoipMetrics: true });
    const xrs: RtcpPacket[] = [];
    a.on('rtcp', (p) => xrs.push(...p.filter((x) => x.type === 'xr')));
    const sender = setInterval(() => {
      a.sendFrame(frame(1));
      b.readFrame();
    }, 20);
    try {
      await waitFor(() => xrs.length >= 1, 5000, 'XR from b');
    } finally {
      clearInterval(sender);
    }
    expect(xrs[0]).toMatchObject({ type: 'xr', ssrc: b.ssrc, blocks: [{ blockType: 7, metrics: { ssrc: a.ssrc, gmin: 16, rxConfig: 0x30, jbAbsMax: 2560 } }] });
  });

  it('multiplexes RTP and RTCP on one port (RFC 5761) and delivers BYE on close', async () => {
    const [a, b] = await pair('mux', { rtcpMux: true, rtcpMinIntervalMs: 100 });
    expect(a.localRtcpPort).toBe(a.localPort);
    let rtcp = 0;
    let bye: string | undefined | null = null;
    b.on('rtcp', () => rtcp++);
    b.on('bye', (r) => (bye = r));
    const sender = setInterval(() => a.sendFrame(frame(3)), 20);
    try {
      await waitFor(() => rtcp >= 1, 5000, 'muxed RTCP');
    } finally {
      clearInterval(sender);
    }
    expect(b.malformedPackets).toBe(0);
    await a.close('hangup');
    await waitFor(() => bye !== null, 2000, 'BYE');
    expect(bye).toBe('hangup');
  });

  it('latches to the peer behind NAT but not to a stranger', async () => {
    const pool = testPortPool('latch');
    const phone = await session({ portPool: pool });
    const pbx = await session({ portPool: pool });
    // The phone's SDP names a port nobody uses (as if NAT rewrote its source port).
    const sdpPort = phone.localPort + 2;
    pbx.setRemote({ address: '127.0.0.1', port: sdpPort });
    phone.setRemote({ address: '127.0.0.1', port: pbx.localPort });
    const latches: number[] = [];
    pbx.on('latch', (_addr, port) => latches.push(port));
    let phoneGot = 0;
    phone.on('rtp', () => phoneGot++);
    // Before the phone's first packet, a stranger's junk with a payload type nobody
    // negotiated cannot take the latch.
    const early = createSocket('udp4');
    sockets.push(early);
    await new Promise<void>((r) => early.bind(0, '127.0.0.1', () => r()));
    const junk = new Uint8Array(200);
    const jn = serializeRtp({ payloadType: 99, sequenceNumber: 1, timestamp: 1, ssrc: 667 }, frame(7), junk);
    early.send(junk.subarray(0, jn), pbx.localPort, '127.0.0.1');
    await waitFor(() => pbx.strangerPackets === 1, 2000, 'junk dropped');
    expect(latches).toEqual([]);
    phone.sendFrame(frame(1));
    await waitFor(() => latches.length === 1, 2000, 'latch');
    expect(latches).toEqual([phone.localPort]);
    expect(pbx.sendTarget).toEqual({ address: '127.0.0.1', port: phone.localPort });
    pbx.sendFrame(frame(2));
    await waitFor(() => phoneGot === 1, 2000, 'media back through the latch');
    // A stranger sends well-formed RTP to the PBX port: dropped, no re-latch.
    const stranger = createSocket('udp4');
    sockets.push(stranger);
    await new Promise<void>((r) => stranger.bind(0, '127.0.0.1', () => r()));
    const buf = new Uint8Array(200);
    const n = serializeRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 1, ssrc: 666 }, frame(9), buf);
    for (let i = 0; i < 5; i++) stranger.send(buf.subarray(0, n), pbx.localPort, '127.0.0.1');
    await waitFor(() => pbx.strangerPackets === 6, 2000, 'stranger packets dropped');
    expect(pbx.sendTarget).toEqual({ address: '127.0.0.1', port: phone.localPort });
    expect(latches).toHaveLength(1);
    // An SDP change (re-INVITE) opens the latch again for the first packets that follow.
    pbx.setRemote({ address: '127.0.0.1', port: sdpPort });
    phone.sendFrame(frame(3));
    await waitFor(() => latches.length === 2, 2000, 're-latch after SDP change');
  });

  it('emits a media timeout when RTP stops, once per silence', async () => {
    const pool = testPortPool('timeout');
    const a = await session({ portPool: pool });
    const b = await session({ portPool: pool, mediaTimeoutMs: 150 });
    a.setRemote({ address: '127.0.0.1', port: b.localPort });
    let timeouts = 0;
    b.on('timeout', () => timeouts++);
    await paced(3, (i) => a.sendFrame(frame(i)));
    await waitFor(() => timeouts === 1, 3000, 'timeout');
    await new Promise((r) => setTimeout(r, 300));
    expect(timeouts).toBe(1);
    a.sendFrame(frame(9)); // media resumes: re-armed
    await waitFor(() => timeouts === 2, 3000, 'second timeout');
  });

  it('releases its ports on close and retries past a port another process holds', async () => {
    const pool = testPortPool('release');
    const s = await session({ portPool: pool });
    const port = s.localPort;
    expect(pool.allocated).toBe(1);
    await s.close();
    await s.close(); // idempotent
    expect(pool.allocated).toBe(0);
    // The port is free again at the OS level.
    const probe = createSocket('udp4');
    sockets.push(probe);
    await new Promise<void>((r, j) => {
      probe.once('error', j);
      probe.bind(port, '127.0.0.1', () => r());
    });
    // Now `port` is held by "another process": a pool whose first pick is that pair moves on.
    const { PortPool } = await import('../../src/rtp/index.js');
    const tight = new PortPool({ min: port, max: port + 3, random: () => 0 });
    const t = await session({ portPool: tight });
    expect(t.localPort).toBe(port + 2);
    expect(tight.allocated).toBe(1);
    const full = new PortPool({ min: port, max: port + 1, random: () => 0 });
    await expect(RtpSession.open({ address: '127.0.0.1', portPool: full })).rejects.toBeInstanceOf(RtpSessionError);
    expect(full.allocated).toBe(0);
  });

  it('settles a digit in progress when the session closes', async () => {
    const [a] = await pair('digit-close');
    const digit = a.sendDigit('9', 2000);
    await new Promise((r) => setTimeout(r, 50));
    await a.close();
    await expect(digit).resolves.toBeUndefined();
  });

  it('refuses to send without a remote, and after close', async () => {
    const s = await session({});
    expect(() => s.sendFrame(frame(0))).toThrow(RtpSessionError);
    await s.close();
    expect(() => s.sendFrame(frame(0))).toThrow(RtpSessionError);
  });

  const hasIpv6 = Object.values(networkInterfaces()).some((l) => l?.some((i) => i.family === 'IPv6' && i.address === '::1'));
  it.skipIf(!hasIpv6)('works over IPv6 loopback', async () => {
    const a = await session({ address: '::1' });
    const b = await session({ address: '::1' });
    a.setRemote({ address: '::1', port: b.localPort });
    let got = 0;
    b.on('rtp', () => got++);
    a.sendFrame(frame(1));
    await waitFor(() => got === 1, 2000, 'IPv6 packet');
  });
});
