import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIPv6 } from 'node:net';
import { RtpSessionError } from './errors.js';
import { JitterBuffer, type JitterBufferOptions, type JitterBufferOutput } from './jitter-buffer.js';
import { ntpFromUnixMs } from './ntp-time.js';
import { PortPool } from './port-pool.js';
import { type RtcpPacket, type RtcpReportBlock, parseRtcp, rtcpSize, serializeRtcp } from './rtcp.js';
import { RtcpScheduler } from './rtcp-interval.js';
import { ReceptionStatistics, roundTripTime } from './rtcp-stats.js';
import { RtpPacket, isRtcpPacket, serializeRtp } from './rtp-packet.js';
import { VoipMetricsCollector } from './voip-metrics.js';
import { type TelephoneEventReport, TelephoneEventReceiver, digitToEvent, planTelephoneEvent, writeTelephoneEvent } from './telephone-event.js';

/** The payload {@link serializeRtp} gets when the caller copies the payload in itself. */
const NO_PAYLOAD = new Uint8Array(0);

/** Reusable send buffers per session (a power of two; see the send path in {@link RtpSession}). */
const SEND_RING = 8;

/** Where to send media: the address and ports from the peer's SDP. */
export interface RtpRemote {
  address: string;
  port: number;
  /** RTCP port; port + 1 by default (RFC 3550 §11), ignored with rtcp-mux. */
  rtcpPort?: number;
}

/**
 * Where a session relays its packets (see {@link RtpSession.forwardTo}).
 *
 * @example
 * ```ts
 * const forward: RtpForward = { target: otherLeg, payloadType: 8, transcode: muToATable };
 * ```
 */
export interface RtpForward {
  /** The session that sends the packets on. */
  target: RtpSession;
  /** Payload type of the audio on the target's stream. */
  payloadType: number;
  /** Payload type of telephone-events there; undefined drops them (the digits are still reported here). */
  telephoneEventPayloadType?: number;
  /** A 256-entry byte map applied to audio payloads (µ-law ↔ A-law); undefined copies them. */
  transcode?: Uint8Array;
}

/** Options of {@link RtpSession.open}. */
export interface RtpSessionOptions {
  /** Local address to bind; '0.0.0.0' by default ('::' or an IPv6 address for IPv6). */
  address?: string;
  /**
   * Port pool for the RTP/RTCP pair; without one, two ephemeral ports (port 0) are bound and
   * RTCP is usually not RTP + 1 — announce `localRtcpPort` in SDP (`a=rtcp`, RFC 3605).
   */
  portPool?: PortPool;
  /** Bind attempts before giving up on EADDRINUSE; 16 by default. */
  bindAttempts?: number;
  /** RTP and RTCP on one port (RFC 5761); false by default. */
  rtcpMux?: boolean;
  /** The peer, from SDP (can be set later with {@link RtpSession.setRemote}). */
  remote?: RtpRemote;
  /** Audio payload type; 0 (PCMU) by default. */
  payloadType?: number;
  /** Media clock rate; 8000 by default. */
  clockRate?: number;
  /** Frame duration; 20 ms by default. */
  frameMs?: number;
  /** Payload type of telephone-event (RFC 4733); 101 by default. */
  telephoneEventPayloadType?: number;
  /** Symmetric RTP: send to where the peer's packets come from (with safe latching); true by default. */
  symmetric?: boolean;
  /** Emit 'timeout' after this long without RTP; 0 disables; 30 000 ms by default. */
  mediaTimeoutMs?: number;
  /** RTCP bandwidth in octets/s (5% of the session bandwidth, RFC 3550 §6.2); 500 by default. */
  rtcpBandwidth?: number;
  /** Minimum RTCP interval; 5000 ms by default (RFC 3550 §6.2). */
  rtcpMinIntervalMs?: number;
  /** SDES CNAME; a random one by default. */
  cname?: string;
  /** Add an RFC 3611 XR VoIP-metrics block (from what {@link RtpSession.readFrame} played) to each report; false by default. */
  xrVoipMetrics?: boolean;
  /** Jitter-buffer options, or false to skip buffering (a relay reads 'rtp' events instead). */
  jitterBuffer?: JitterBufferOptions | false;
  /** Wall clock in ms since the Unix epoch (sub-ms precision helps jitter); injected for tests. */
  clock?: () => number;
  /** Uniform [0, 1) randomness for SSRC, sequence, timestamp and RTCP timing; injected for tests. */
  random?: () => number;
}

/** Events of {@link RtpSession}. */
export interface RtpSessionEvents {
  /** Every accepted RTP packet, before the jitter buffer (the view and its datagram are not reused: keep them if you like). */
  rtp: [packet: RtpPacket, from: RemoteInfo];
  /** A completed telephone-event (key press). */
  dtmf: [report: Extract<TelephoneEventReport, { kind: 'end' }>];
  /** The start of a telephone-event. */
  'dtmf-begin': [report: Extract<TelephoneEventReport, { kind: 'begin' }>];
  /** Every received RTCP compound packet. */
  rtcp: [packets: RtcpPacket[], from: RemoteInfo];
  /** The peer said goodbye (RTCP BYE). */
  bye: [reason: string | undefined];
  /** Symmetric RTP latched to a source. */
  latch: [address: string, port: number];
  /** No RTP for `mediaTimeoutMs`: the call is probably dead. Emitted once per silence. */
  timeout: [silentMs: number];
  /** A socket error (the session stays open). */
  error: [error: Error];
  close: [];
}

/**
 * One RTP stream endpoint: a UDP port pair (or one port with rtcp-mux), sending 20 ms frames
 * with correct sequence numbers and timestamps, receiving into a {@link JitterBuffer},
 * RFC 4733 digits both ways, RTCP SR/RR/SDES/BYE on the RFC 3550 §6.3 schedule, symmetric
 * RTP with safe latching, and a media timeout for dead-call detection.
 *
 * Symmetric RTP (for phones behind NAT, which send from a different address than their SDP
 * says): the session sends to the source of the peer's packets — but only *latches* to a
 * source that is plausible: the first packets after an SDP change (open / {@link setRemote}),
 * or the SDP address itself, carrying a negotiated payload type. Once latched, packets from
 * any other source are dropped and
 * counted (`strangerPackets`), so a stranger who learns the port cannot hijack the stream.
 *
 * ```
 *   peer (SDP: 198.51.100.7:4000)      NAT 203.0.113.9:61000           us
 *   ───────── RTP ────────────────────► src 203.0.113.9:61000 ───────► first packet after SDP: latch
 *   ◄──────── RTP ───────────────────── dst 203.0.113.9:61000 ◄─────── send to the latched source
 *   stranger 192.0.2.66:5555 ─── RTP ──────────────────────────────► dropped (not plausible)
 * ```
 *
 * @example
 * ```ts
 * const session = await RtpSession.open({ portPool, remote: { address: '192.0.2.10', port: 4000 } });
 * session.on('dtmf', (d) => console.log('digit', d.digit));
 * setInterval(() => session.sendFrame(nextMuLawFrame()), 20);
 * // ... put session.localPort in the SDP answer; later:
 * await session.close();
 * ```
 */
export class RtpSession extends EventEmitter<RtpSessionEvents> {
  /** Our SSRC (random). */
  readonly ssrc: number;
  /** The jitter buffer frames are received into (undefined with `jitterBuffer: false`). */
  readonly jitterBuffer: JitterBuffer | undefined;
  /** Packets received from a source the session would not latch to. */
  strangerPackets = 0;
  /** Datagrams that failed to parse as RTP/RTCP. */
  malformedPackets = 0;
  packetsSent = 0;
  octetsSent = 0;
  /** Last round-trip time from RTCP (seconds), if known. */
  roundTripTime: number | undefined;
  /** Reception statistics for the current remote source. */
  receptionStats: ReceptionStatistics | undefined;
  /** The local RTP port (put it in the SDP). */
  readonly localPort: number;
  /** The local RTCP port (equal to localPort with rtcp-mux). */
  readonly localRtcpPort: number;

  private readonly rtpSocket: Socket;
  private readonly rtcpSocket: Socket | undefined;
  private readonly pool: PortPool | undefined;
  private readonly pooledPort: number | undefined;
  private readonly mux: boolean;
  private pt: number;
  private tePt: number;
  private readonly rate: number;
  private readonly frameTs: number;
  private readonly symmetric: boolean;
  private readonly timeoutMs: number;
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly cname: string;
  private readonly te = new TelephoneEventReceiver();
  private readonly xr: VoipMetricsCollector | undefined;
  private readonly scheduler: RtcpScheduler;
  private remote: RtpRemote | undefined;
  private latched: { address: string; port: number } | undefined;
  private rtcpTarget: { address: string; port: number } | undefined;
  private seq: number;
  private ts: number;
  private lastSendWallMs = 0;
  private sentSinceReport = false;
  private remoteSending = false;
  private lastRtpMs: number;
  private timedOut = false;
  private closed = false;
  private rtcpTimer: NodeJS.Timeout | undefined;
  private readonly watchdog: NodeJS.Timeout | undefined;
  /** Pending digit timers and the step that resumes each (run on close so its promise settles). */
  private readonly digitTimers = new Map<NodeJS.Timeout, () => void>();
  // Send path: a ring of reusable datagram buffers; a slot still in flight (its send
  // callback not yet run) is never overwritten — a fresh buffer is used instead. A UDP send
  // usually completes at once and frees its slot on the next tick, so a few slots do: only a
  // burst of more than SEND_RING sends in one tick takes fresh buffers. (32 slots were 48 KB
  // per session, 96 KB of every relayed call.) One completion callback per slot, made once:
  // no closure per packet.
  private readonly sendRing: Buffer[] = [];
  private readonly inFlight = new Uint8Array(SEND_RING);
  private readonly sendDone: ((err: Error | null) => void)[] = [];
  private readonly sendDoneFresh = (err: Error | null): void => {
    if (err && !this.closed) this.emit('error', err);
  };
  private ringNext = 0;
  private readonly rtcpOut = Buffer.allocUnsafe(1500);
  /** Where accepted packets go instead of the jitter buffer while relaying (see {@link forwardTo}). */
  private forward: RtpForward | undefined;
  /** Relay continuity: the source SSRC last relayed and the offsets mapping it onto our numbering. */
  private relaySource = -1;
  private relaySeqOffset = 0;
  private relayTsOffset = 0;
  private relayMaxSeq = 0;

  private constructor(
    options: RtpSessionOptions,
    rtpSocket: Socket,
    rtcpSocket: Socket | undefined,
    pooledPort: number | undefined,
  ) {
    super();
    this.clock = options.clock ?? (() => performance.timeOrigin + performance.now());
    this.random = options.random ?? Math.random;
    this.rtpSocket = rtpSocket;
    this.rtcpSocket = rtcpSocket;
    this.localPort = rtpSocket.address().port;
    this.localRtcpPort = (rtcpSocket ?? rtpSocket).address().port;
    this.pool = options.portPool;
    this.pooledPort = pooledPort;
    this.mux = options.rtcpMux ?? false;
    this.pt = options.payloadType ?? 0;
    this.tePt = options.telephoneEventPayloadType ?? 101;
    this.rate = options.clockRate ?? 8000;
    this.frameTs = Math.round(((options.frameMs ?? 20) * this.rate) / 1000);
    this.symmetric = options.symmetric ?? true;
    this.timeoutMs = options.mediaTimeoutMs ?? 30000;
    // RFC 3550 §5.1: random initial sequence number and timestamp; §8: random SSRC.
    this.ssrc = Math.floor(this.random() * 0x1_0000_0000) >>> 0;
    this.seq = Math.floor(this.random() * 0x10000) & 0xffff;
    this.ts = Math.floor(this.random() * 0x1_0000_0000) >>> 0;
    this.cname = options.cname ?? `sb-${Math.floor(this.random() * 0x1_0000_0000).toString(16)}@switchboard`;
    this.jitterBuffer = options.jitterBuffer === false ? undefined : new JitterBuffer({ clockRate: this.rate, frameMs: options.frameMs ?? 20, ...options.jitterBuffer });
    this.xr = options.xrVoipMetrics ? new VoipMetricsCollector({ frameMs: options.frameMs ?? 20 }) : undefined;
    for (let i = 0; i < SEND_RING; i++) {
      this.sendRing.push(Buffer.allocUnsafe(1500));
      this.sendDone.push((err) => {
        this.inFlight[i] = 0;
        if (err && !this.closed) this.emit('error', err);
      });
    }
    this.lastRtpMs = this.clock();
    if (options.remote) this.setRemote(options.remote);

    rtpSocket.on('message', (msg, rinfo) => this.onRtpSocket(msg, rinfo));
    rtpSocket.on('error', (e) => this.emit('error', e));
    if (rtcpSocket) {
      rtcpSocket.on('message', (msg, rinfo) => this.onRtcp(msg, rinfo));
      rtcpSocket.on('error', (e) => this.emit('error', e));
    }
    const minSeconds = (options.rtcpMinIntervalMs ?? 5000) / 1000;
    this.scheduler = new RtcpScheduler(this.clock() / 1000, options.rtcpBandwidth ?? 500, this.random, 100, minSeconds);
    this.armRtcp();
    if (this.timeoutMs > 0) {
      this.watchdog = setInterval(() => this.checkTimeout(), Math.max(10, Math.min(1000, this.timeoutMs / 4)));
      this.watchdog.unref();
    }
  }

  /**
   * Binds the socket(s) and starts the session. With a port pool, tries pairs from the pool
   * and moves on when a port is taken (EADDRINUSE); without one, binds ephemeral ports.
   * Throws {@link RtpSessionError} `no-free-port` when every attempt failed.
   */
  static async open(options: RtpSessionOptions = {}): Promise<RtpSession> {
    const address = options.address ?? '0.0.0.0';
    const type = isIPv6(address) ? 'udp6' : 'udp4';
    const mux = options.rtcpMux ?? false;
    const pool = options.portPool;
    if (!pool) {
      const rtp = await bind(type, address, 0);
      const rtcp = mux ? undefined : await bind(type, address, 0).catch((e: unknown) => {
        rtp.close();
        throw e;
      });
      return new RtpSession(options, rtp, rtcp, undefined);
    }
    const busy: number[] = [];
    try {
      const attempts = options.bindAttempts ?? 16;
      for (let a = 0; a < attempts; a++) {
        const port = pool.acquire();
        if (port === undefined) break;
        let rtp: Socket | undefined;
        try {
          rtp = await bind(type, address, port);
          const rtcp = mux ? undefined : await bind(type, address, port + 1);
          return new RtpSession(options, rtp, rtcp, port);
        } catch (e) {
          rtp?.close();
          if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' && (e as NodeJS.ErrnoException).code !== 'EACCES') {
            pool.release(port);
            throw e;
          }
          busy.push(port); // keep it out of this search, give it back afterwards
        }
      }
    } finally {
      for (const p of busy) pool.release(p);
    }
    throw new RtpSessionError('no-free-port', `no free RTP port pair in ${pool.min}-${pool.max}`);
  }


  /** The address media is sent to now (latched source or SDP address), if any. */
  get sendTarget(): { address: string; port: number } | undefined {
    return this.latched ?? (this.remote ? { address: this.remote.address, port: this.remote.port } : undefined);
  }

  /**
   * Sets the peer from a (new) SDP offer/answer. Symmetric RTP may latch again to the first
   * packets that follow (RFC 3264 re-INVITE / UPDATE).
   */
  setRemote(remote: RtpRemote): void {
    this.remote = remote;
    this.latched = undefined;
    this.rtcpTarget = { address: remote.address, port: this.mux ? remote.port : remote.rtcpPort ?? remote.port + 1 };
  }

  /**
   * Sends one frame (e.g. 160 bytes of µ-law for 20 ms) with the next sequence number and a
   * timestamp advanced by one frame. `marker` flags the first frame of a talkspurt.
   */
  sendFrame(payload: Uint8Array, options: { marker?: boolean; payloadType?: number } = {}): void {
    this.sendRtp(options.payloadType ?? this.pt, options.marker ?? false, this.ts, payload);
    this.ts = (this.ts + this.frameTs) >>> 0;
  }

  /** Advances the timestamp by `frames` without sending (DTX silence; the next frame should carry the marker). */
  skipFrames(frames: number): void {
    this.ts = (this.ts + frames * this.frameTs) >>> 0;
  }

  /**
   * Changes the negotiated payload types (after an SDP offer/answer picked them): audio frames
   * are sent with `payloadType`, RFC 4733 events with `telephoneEventPayloadType`, and only
   * these two can latch symmetric RTP.
   *
   * @example
   * ```ts
   * session.setPayloadTypes(8, 96); // PCMA, telephone-event on 96 as the peer's offer said
   * ```
   */
  setPayloadTypes(payloadType: number, telephoneEventPayloadType = this.tePt): void {
    this.pt = payloadType;
    this.tePt = telephoneEventPayloadType;
  }

  /**
   * Relays every accepted packet of this session to another one (a bridge, or a B2BUA's
   * anchored media) instead of the jitter buffer: audio with `forward.payloadType` (µ-law ↔
   * A-law through `forward.transcode`, a 256-entry table, when the legs differ),
   * telephone-events with `forward.telephoneEventPayloadType` (dropped when the other leg has
   * none; `dtmf` events are still emitted here). `undefined` stops relaying. Reception
   * statistics (for RTCP) and the media timeout keep running.
   *
   * @example
   * ```ts
   * a.forwardTo({ target: b, payloadType: 0, telephoneEventPayloadType: 101 });
   * b.forwardTo({ target: a, payloadType: 8, telephoneEventPayloadType: 101, transcode: MU_TO_A });
   * ```
   */
  forwardTo(forward: RtpForward | undefined): void {
    this.forward = forward;
  }

  /**
   * Sends a packet received elsewhere as part of our stream: payload untouched (or mapped
   * byte by byte through `transcode`), our SSRC, and sequence numbers and timestamps offset so
   * they continue ours — gaps and reordering in the source stay visible to the receiver, as
   * they should (RFC 3550 §7.1 on translators keeping the timing). A new source SSRC starts a
   * new mapping with the marker bit set. Allocates no buffer: the datagram is built in the send
   * ring.
   *
   * @example
   * ```ts
   * a.on('rtp', (packet) => b.relay(packet, 0));
   * ```
   */
  relay(packet: RtpPacket, payloadType: number, transcode?: Uint8Array): void {
    let marker = packet.marker;
    const seqIn = packet.sequenceNumber;
    if (packet.ssrc !== this.relaySource) {
      this.relaySource = packet.ssrc;
      this.relaySeqOffset = (this.seq - seqIn) & 0xffff;
      this.relayTsOffset = (this.ts - packet.timestamp) >>> 0;
      this.relayMaxSeq = (this.seq - 1) & 0xffff;
      marker = true;
    }
    const seq = (seqIn + this.relaySeqOffset) & 0xffff;
    const ts = (packet.timestamp + this.relayTsOffset) >>> 0;
    // The payload goes from the received datagram into the send buffer (one pass).
    const map = payloadType !== this.tePt ? transcode : undefined;
    const { bytes, payloadOffset, payloadLength } = packet;
    // Our own numbering resumes after the newest relayed packet when the relay stops.
    if (((seq - this.relayMaxSeq) & 0xffff) < 0x8000) {
      this.relayMaxSeq = seq;
      this.seq = seq;
      this.ts = ts;
      this.sendRtp(payloadType, marker, ts, bytes, payloadOffset, payloadLength, map);
      if (payloadType !== this.tePt) this.ts = (ts + this.frameTs) >>> 0;
      else this.ts = ts;
      return;
    }
    // A late (reordered) packet: send it with its mapped numbers, leave ours alone.
    const seqSave = this.seq;
    this.seq = seq;
    this.sendRtp(payloadType, marker, ts, bytes, payloadOffset, payloadLength, map);
    this.seq = seqSave;
  }

  /** Forget the relay mapping: the next relayed packet starts a new one (after an unbridge). */
  resetRelay(): void {
    this.relaySource = -1;
  }

  /**
   * Sends a DTMF digit as RFC 4733 telephone-events: one update per frame interval, the
   * marker on the first, three end packets. Resolves when the last packet is sent. The event
   * starts at the current media timestamp; keep sending audio frames meanwhile or not.
   */
  sendDigit(digit: string, durationMs = 100, volume = 10): Promise<void> {
    const event = digitToEvent(digit);
    const plan = planTelephoneEvent({ event, durationMs, timestamp: this.ts, clockRate: this.rate, packetIntervalMs: (this.frameTs * 1000) / this.rate, volume });
    const payload = new Uint8Array(4);
    const start = this.clock();
    return new Promise((resolve) => {
      let i = 0;
      const step = (): void => {
        while (i < plan.length && !this.closed) {
          const p = plan[i]!;
          const due = start + (p.sendOffset * 1000) / this.rate;
          const wait = due - this.clock();
          if (wait > 1) {
            const t = setTimeout(() => {
              this.digitTimers.delete(t);
              step();
            }, wait);
            this.digitTimers.set(t, step);
            return;
          }
          writeTelephoneEvent(p.payload, payload);
          this.sendRtp(this.tePt, p.marker, p.timestamp, payload);
          i++;
        }
        resolve();
      };
      step();
    });
  }

  /** The next playout frame from the jitter buffer (call every frame interval). */
  readFrame(nowMs = this.clock()): JitterBufferOutput {
    if (!this.jitterBuffer) throw new RtpSessionError('bad-option', 'this session has no jitter buffer');
    const out = this.jitterBuffer.pull(nowMs);
    this.xr?.onPlayout(out);
    return out;
  }

  /**
   * Sends `payload[start, start + length)` (each byte mapped through `transcode` when given)
   * as our next packet, built in a slot of the send ring.
   */
  private sendRtp(pt: number, marker: boolean, timestamp: number, payload: Uint8Array, start = 0, length = payload.length, transcode?: Uint8Array): void {
    if (this.closed) throw new RtpSessionError('closed', 'the RTP session is closed');
    const target = this.sendTarget;
    if (!target) throw new RtpSessionError('no-remote', 'no remote address yet: call setRemote() or wait for the peer to send');
    const slot = this.ringNext;
    this.ringNext = (this.ringNext + 1) & (SEND_RING - 1);
    let buf: Buffer;
    let done = this.sendDoneFresh;
    if (this.inFlight[slot] === 0) {
      buf = this.sendRing[slot]!;
      this.inFlight[slot] = 1;
      done = this.sendDone[slot]!;
    } else {
      buf = Buffer.allocUnsafe(1500);
    }
    const header = serializeRtp({ payloadType: pt, marker, sequenceNumber: this.seq, timestamp, ssrc: this.ssrc }, NO_PAYLOAD, buf);
    const n = header + length;
    if (n > buf.length) throw new RangeError(`output buffer too small: need ${n} bytes`);
    // A transcoded payload is mapped straight into the send buffer (no scratch copy). A plain
    // one is copied with set(): a byte loop would save the subarray view but costs ~4x the
    // time (V8 makes set() a memcpy; measured on 160-byte payloads).
    if (transcode !== undefined) for (let i = 0; i < length; i++) buf[header + i] = transcode[payload[start + i]!]!;
    else buf.set(start === 0 && length === payload.length ? payload : payload.subarray(start, start + length), header);
    this.seq = (this.seq + 1) & 0xffff;
    this.packetsSent++;
    this.octetsSent += length;
    this.sentSinceReport = true;
    this.lastSendWallMs = this.clock();
    this.lastSentTs = timestamp;
    this.rtpSocket.send(buf, 0, n, target.port, target.address, done);
  }

  private lastSentTs = 0;

  private onRtpSocket(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.mux && isRtcpPacket(msg)) {
      this.onRtcp(msg, rinfo);
      return;
    }
    let packet: RtpPacket;
    try {
      // One view per datagram: the jitter buffer keeps it (and the datagram's Buffer).
      packet = RtpPacket.parse(msg);
    } catch {
      this.malformedPackets++;
      return;
    }
    if (!this.acceptSource(rinfo, packet.payloadType)) {
      this.strangerPackets++;
      return;
    }
    const now = this.clock();
    this.lastRtpMs = now;
    this.timedOut = false;
    this.remoteSending = true;
    if (this.listenerCount('rtp') > 0) this.emit('rtp', packet, rinfo);
    const fwd = this.forward;
    if (packet.payloadType === this.tePt) {
      try {
        for (const r of this.te.onPacket(packet.payload, packet.timestamp, packet.marker, now)) this.emitDtmf(r);
      } catch {
        this.malformedPackets++;
        return;
      }
      if (fwd !== undefined && fwd.telephoneEventPayloadType !== undefined) this.relayTo(fwd, packet, fwd.telephoneEventPayloadType);
      return;
    }
    if (!this.receptionStats || this.receptionStats.ssrc !== packet.ssrc) {
      this.receptionStats = new ReceptionStatistics(packet.ssrc, this.rate);
    }
    this.receptionStats.onPacket(packet.sequenceNumber, packet.timestamp, now);
    if (fwd !== undefined) {
      if (packet.payloadType === this.pt) this.relayTo(fwd, packet, fwd.payloadType, fwd.transcode);
      return;
    }
    this.jitterBuffer?.push(packet, now);
  }

  private relayTo(fwd: RtpForward, packet: RtpPacket, payloadType: number, transcode?: Uint8Array): void {
    try {
      fwd.target.relay(packet, payloadType, transcode);
    } catch {
      // The other leg is closed or has no address yet: the packet is lost, as on the wire.
    }
  }

  private emitDtmf(r: TelephoneEventReport): void {
    if (r.kind === 'end') this.emit('dtmf', r);
    else this.emit('dtmf-begin', r);
  }

  /**
   * Symmetric-RTP latching. Plausible sources: the latched one; the SDP address (re-latch to
   * it); or, before any latch since the last SDP change, whoever sends first — with a
   * negotiated payload type (audio or telephone-event).
   */
  private acceptSource(rinfo: RemoteInfo, payloadType: number): boolean {
    const l = this.latched;
    if (l && l.address === rinfo.address && l.port === rinfo.port) return true;
    const r = this.remote;
    const fromSdp = r !== undefined && r.address === rinfo.address && r.port === rinfo.port;
    if (!this.symmetric) return fromSdp || r === undefined;
    // Only media the SDP negotiated can latch: junk with another payload type cannot.
    const negotiated = payloadType === this.pt || payloadType === this.tePt;
    if (negotiated && (l === undefined || fromSdp)) {
      this.latched = { address: rinfo.address, port: rinfo.port };
      // RTCP follows the latch: the same port with rtcp-mux, else the SDP's RTCP port when the
      // latch is the SDP address, else port + 1 — until RTCP arrives and shows its real source.
      this.rtcpTarget = this.mux
        ? { address: rinfo.address, port: rinfo.port }
        : fromSdp && r
          ? { address: r.address, port: r.rtcpPort ?? r.port + 1 }
          : { address: rinfo.address, port: rinfo.port + 1 };
      this.emit('latch', rinfo.address, rinfo.port);
      return true;
    }
    return false;
  }

  private onRtcp(msg: Buffer, rinfo: RemoteInfo): void {
    let packets: RtcpPacket[];
    try {
      packets = parseRtcp(msg);
    } catch {
      this.malformedPackets++;
      return;
    }
    const l = this.latched;
    const known = (l && l.address === rinfo.address) || (this.remote && this.remote.address === rinfo.address);
    if (!known) {
      this.strangerPackets++;
      return;
    }
    if (this.symmetric && !this.mux) this.rtcpTarget = { address: rinfo.address, port: rinfo.port };
    this.scheduler.onPacketSize(msg.length + 28);
    const now = this.clock();
    for (const p of packets) {
      if (p.type === 'sr') {
        if (this.receptionStats && this.receptionStats.ssrc === p.ssrc) this.receptionStats.onSenderReport(p, now);
        this.onReports(p.reports, now);
      } else if (p.type === 'rr') {
        this.onReports(p.reports, now);
      } else if (p.type === 'bye') {
        this.emit('bye', p.reason);
      }
    }
    this.emit('rtcp', packets, rinfo);
  }

  private onReports(reports: RtcpReportBlock[], now: number): void {
    for (const b of reports) {
      if (b.ssrc !== this.ssrc) continue;
      const rtt = roundTripTime(b, now);
      if (rtt !== undefined) this.roundTripTime = rtt;
    }
  }

  private armRtcp(): void {
    if (this.closed) return;
    const delay = Math.max(0, this.scheduler.tn * 1000 - this.clock());
    this.rtcpTimer = setTimeout(() => this.onRtcpTimer(), delay);
    this.rtcpTimer.unref();
  }

  private onRtcpTimer(): void {
    if (this.closed) return;
    const members = 1 + (this.receptionStats ? 1 : 0);
    const senders = (this.sentSinceReport ? 1 : 0) + (this.remoteSending ? 1 : 0);
    const r = this.scheduler.onExpire(this.clock() / 1000, members, senders, this.sentSinceReport);
    if (r.send && this.rtcpTarget) this.sendReport([]);
    this.armRtcp();
  }

  /** Builds and sends SR (if we sent since the last report) or RR, plus SDES CNAME and `extra`. */
  sendReport(extra: RtcpPacket[]): void {
    const target = this.rtcpTarget;
    if (!target || this.closed) return;
    const now = this.clock();
    const reports = this.receptionStats ? [this.receptionStats.makeReportBlock(now)] : [];
    const packets: RtcpPacket[] = [];
    if (this.sentSinceReport || this.packetsSent > 0) {
      const ntp = ntpFromUnixMs(now);
      // RTP timestamp of "now" on our media clock (§6.4.1), extrapolated from the last packet.
      const rtpTs = (this.lastSentTs + Math.round(((now - this.lastSendWallMs) * this.rate) / 1000)) >>> 0;
      packets.push({ type: 'sr', ssrc: this.ssrc, ntpSeconds: ntp.seconds, ntpFraction: ntp.fraction, rtpTimestamp: rtpTs, packetCount: this.packetsSent >>> 0, octetCount: this.octetsSent >>> 0, reports });
    } else {
      packets.push({ type: 'rr', ssrc: this.ssrc, reports });
    }
    packets.push({ type: 'sdes', chunks: [{ ssrc: this.ssrc, items: [{ type: 1, text: this.cname }] }] });
    if (this.xr && this.receptionStats) {
      const metrics = this.xr.report({
        ssrc: this.receptionStats.ssrc,
        reception: this.receptionStats,
        ...(this.jitterBuffer ? { jitterBuffer: this.jitterBuffer.stats } : {}),
        ...(this.roundTripTime !== undefined ? { roundTripTime: this.roundTripTime } : {}),
        capacityFrames: this.jitterBuffer?.capacity ?? 0,
      });
      packets.push({ type: 'xr', ssrc: this.ssrc, blocks: [{ blockType: 7, metrics }] });
    }
    packets.push(...extra);
    const n = serializeRtcp(packets, this.rtcpOut);
    this.sentSinceReport = false;
    this.remoteSending = false;
    this.scheduler.onPacketSize(n + 28);
    // A fresh copy: RTCP is rare, and the shared output buffer may be rewritten before the send completes.
    (this.rtcpSocket ?? this.rtpSocket).send(Buffer.from(this.rtcpOut.subarray(0, n)), target.port, target.address, (err) => {
      if (err && !this.closed) this.emit('error', err);
    });
  }

  private checkTimeout(): void {
    const silent = this.clock() - this.lastRtpMs;
    if (!this.timedOut && silent >= this.timeoutMs) {
      this.timedOut = true;
      this.emit('timeout', silent);
    }
    const end = this.te.onTick(this.clock());
    if (end) this.emitDtmf(end);
  }

  /**
   * Sends RTCP BYE (best effort), stops the timers, closes the sockets and releases the
   * ports to the pool. Idempotent.
   */
  async close(reason?: string): Promise<void> {
    if (this.closed) return;
    try {
      if (this.rtcpTarget) {
        const packets: RtcpPacket[] = [
          { type: 'rr', ssrc: this.ssrc, reports: [] },
          { type: 'bye', ssrcs: [this.ssrc], ...(reason !== undefined ? { reason } : {}) },
        ];
        const buf = Buffer.allocUnsafe(rtcpSize(packets));
        serializeRtcp(packets, buf);
        await new Promise<void>((resolve) => (this.rtcpSocket ?? this.rtpSocket).send(buf, this.rtcpTarget!.port, this.rtcpTarget!.address, () => resolve()));
      }
    } catch {
      // best effort
    }
    this.closed = true;
    if (this.rtcpTimer) clearTimeout(this.rtcpTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    // Stop digits in progress; their promises resolve (the step sees the session closed).
    const pending = [...this.digitTimers];
    this.digitTimers.clear();
    for (const [t, step] of pending) {
      clearTimeout(t);
      step();
    }
    await Promise.all([closeSocket(this.rtpSocket), this.rtcpSocket ? closeSocket(this.rtcpSocket) : Promise.resolve()]);
    if (this.pool && this.pooledPort !== undefined) this.pool.release(this.pooledPort);
    this.emit('close');
  }
}

function bind(type: 'udp4' | 'udp6', address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type, ipv6Only: type === 'udp6' });
    const onError = (e: Error): void => {
      try {
        s.close();
      } catch {
        // already closed
      }
      reject(e);
    };
    s.once('error', onError);
    s.bind(port, address, () => {
      s.off('error', onError);
      resolve(s);
    });
  });
}

function closeSocket(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      s.close(() => resolve());
    } catch {
      resolve();
    }
  });
}
