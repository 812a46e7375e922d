import { readU16, readU32, writeU16, writeU32 } from './byte-order.js';
import { RtcpParseError } from './errors.js';

/**
 * RTCP packets (RFC 3550 §6.4–6.7) and compound packets (§6.1), plus the RFC 3611 extended
 * report (XR) with its VoIP metrics block (§4.7). Packets are plain objects discriminated by
 * `type`; {@link parseRtcp} turns a datagram into a list and {@link serializeRtcp} writes a
 * list back into a reusable buffer. Types this module does not model (RTPFB, PSFB, …) are
 * kept as {@link RtcpUnknown} with their body bytes so they pass through a relay unchanged.
 *
 * ```
 * Common header (all types):
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|  RC/SC  |      PT       |  length (32-bit words - 1)    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * SR (PT=200) body:                       RR (PT=201) body:
 * |                SSRC of sender             |   |      SSRC of packet sender     |
 * |     NTP timestamp, most significant word  |   |   report blocks (RC x 24 bytes) |
 * |     NTP timestamp, least significant word |
 * |                 RTP timestamp             |
 * |             sender's packet count         |
 * |             sender's octet count          |
 * |       report blocks (RC x 24 bytes)       |
 *
 * Report block (§6.4.1):
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |                 SSRC_n (SSRC of source)                       |
 * | fraction lost |       cumulative number of packets lost       |
 * |           extended highest sequence number received           |
 * |                      interarrival jitter                      |
 * |                         last SR (LSR)                         |
 * |                   delay since last SR (DLSR)                  |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *
 * SDES (PT=202): SC chunks of { SSRC/CSRC, items (type, length, text)..., END (0) } padded
 * to 32 bits. BYE (PT=203): SC SSRCs, then optional { length, reason }. APP (PT=204):
 * subtype in the RC field, SSRC, 4-character name, application data.
 *
 * XR (PT=207, RFC 3611 §2): SSRC, then blocks { BT, type-specific, block length }.
 * VoIP metrics block (BT=7, §4.7.1):
 * |     BT=7      |   reserved    |       block length = 8        |
 * |                        SSRC of source                         |
 * |   loss rate   | discard rate  | burst density |  gap density  |
 * |       burst duration          |         gap duration          |
 * |     round trip delay          |       end system delay        |
 * | signal level  |  noise level  |     RERL      |     Gmin      |
 * |   R factor    | ext. R factor |    MOS-LQ     |    MOS-CQ     |
 * |   RX config   |   reserved    |          JB nominal           |
 * |          JB maximum           |          JB abs max           |
 * ```
 *
 * @example
 * ```ts
 * for (const p of parseRtcp(datagram)) {
 *   if (p.type === 'sr') stats.onSenderReport(p, arrivalMs);
 * }
 * const n = serializeRtcp([{ type: 'rr', ssrc, reports: [] }, { type: 'sdes', chunks: [{ ssrc, items: [{ type: 1, text: cname }] }] }], out);
 * ```
 */
export type RtcpPacket = RtcpSenderReport | RtcpReceiverReport | RtcpSdes | RtcpBye | RtcpApp | RtcpXr | RtcpUnknown;

/** RTCP packet type numbers. */
export const RtcpType = { SR: 200, RR: 201, SDES: 202, BYE: 203, APP: 204, XR: 207 } as const;

/** One reception report block (RFC 3550 §6.4.1). */
export interface RtcpReportBlock {
  ssrc: number;
  /** Fraction lost since the previous report, in 1/256 units (0..255). */
  fractionLost: number;
  /** Cumulative packets lost (24-bit signed: duplicates can make it negative). */
  cumulativeLost: number;
  /** Extended highest sequence number received (cycles << 16 | max seq). */
  highestSequence: number;
  /** Interarrival jitter in timestamp units (§A.8). */
  jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last SR received from this source, or 0. */
  lastSenderReport: number;
  /** Delay since that SR, in 1/65536 s, or 0. */
  delaySinceLastSenderReport: number;
}

/** Sender report (PT 200). */
export interface RtcpSenderReport {
  type: 'sr';
  ssrc: number;
  /** NTP timestamp, seconds since 1900 (most significant word). */
  ntpSeconds: number;
  /** NTP timestamp, fraction of a second in 1/2^32 units. */
  ntpFraction: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
  reports: RtcpReportBlock[];
  /** Profile-specific extension bytes after the report blocks (usually empty). */
  extension?: Uint8Array;
}

/** Receiver report (PT 201). */
export interface RtcpReceiverReport {
  type: 'rr';
  ssrc: number;
  reports: RtcpReportBlock[];
  extension?: Uint8Array;
}

/** SDES item types (RFC 3550 §6.5). */
export const SdesItemType = { CNAME: 1, NAME: 2, EMAIL: 3, PHONE: 4, LOC: 5, TOOL: 6, NOTE: 7, PRIV: 8 } as const;

/** One SDES item; `text` is UTF-8 (at most 255 bytes encoded). */
export interface SdesItem {
  type: number;
  text: string;
}

/** One SDES chunk. */
export interface SdesChunk {
  ssrc: number;
  items: SdesItem[];
}

/** Source description (PT 202). */
export interface RtcpSdes {
  type: 'sdes';
  chunks: SdesChunk[];
}

/** Goodbye (PT 203). */
export interface RtcpBye {
  type: 'bye';
  ssrcs: number[];
  reason?: string;
}

/** Application-defined (PT 204), passed through as bytes. */
export interface RtcpApp {
  type: 'app';
  subtype: number;
  ssrc: number;
  /** Four ASCII characters. */
  name: string;
  /** Application data, a multiple of 4 bytes. */
  data: Uint8Array;
}

/** RFC 3611 §4.7 VoIP metrics. Unavailable values use the RFC's "unavailable" codes (127, 255…). */
export interface VoipMetrics {
  ssrc: number;
  /** Fraction of packets lost, 1/256 units. */
  lossRate: number;
  /** Fraction of packets discarded (late/early) by the jitter buffer, 1/256 units. */
  discardRate: number;
  burstDensity: number;
  gapDensity: number;
  /** ms */
  burstDuration: number;
  /** ms */
  gapDuration: number;
  /** ms */
  roundTripDelay: number;
  /** ms */
  endSystemDelay: number;
  /** dBm0, signed; 127 = unavailable. */
  signalLevel: number;
  /** dBm0, signed; 127 = unavailable. */
  noiseLevel: number;
  /** Residual echo return loss, dB; 127 = unavailable. */
  rerl: number;
  /** Gap threshold (16 recommended). */
  gmin: number;
  /** 0..100, 127 = unavailable. */
  rFactor: number;
  extRFactor: number;
  /** MOS × 10, 127 = unavailable. */
  mosLq: number;
  mosCq: number;
  /** PLC (2 bits), JBA (2 bits), JB rate (4 bits). */
  rxConfig: number;
  /** ms */
  jbNominal: number;
  /** ms */
  jbMaximum: number;
  /** ms */
  jbAbsMax: number;
}

/** An XR report block: the VoIP metrics block decoded, any other kind kept as bytes. */
export type XrBlock = { blockType: 7; metrics: VoipMetrics } | { blockType: number; typeSpecific: number; data: Uint8Array };

/** Extended report (PT 207, RFC 3611). */
export interface RtcpXr {
  type: 'xr';
  ssrc: number;
  blocks: XrBlock[];
}

/** Any other RTCP packet type, kept as bytes (header count field and body after the length word). */
export interface RtcpUnknown {
  type: 'unknown';
  packetType: number;
  /** The 5-bit RC/SC/FMT field. */
  count: number;
  body: Uint8Array;
}

const textDecoder = new TextDecoder('utf-8', { fatal: false });
const textEncoder = new TextEncoder();

/**
 * Parses an RTCP compound packet (RFC 3550 §A.2 checks: version 2 everywhere, lengths that add
 * up exactly to the datagram, padding only in the last packet). Throws {@link RtcpParseError}.
 * Body views (`data`, `body`, `extension`) point into `bytes`.
 */
export function parseRtcp(bytes: Uint8Array): RtcpPacket[] {
  const out: RtcpPacket[] = [];
  let i = 0;
  const n = bytes.length;
  if (n < 4) throw new RtcpParseError('too-short', `RTCP datagram of ${n} bytes is shorter than a header`);
  while (i < n) {
    if (i + 4 > n) throw new RtcpParseError('bad-length', 'trailing bytes after the last RTCP packet');
    const b0 = bytes[i]!;
    if (b0 >> 6 !== 2) throw new RtcpParseError('bad-version', `RTCP version ${b0 >> 6}, expected 2`);
    const pt = bytes[i + 1]!;
    const len = (readU16(bytes, i + 2) + 1) * 4;
    if (i + len > n) throw new RtcpParseError('bad-length', `RTCP packet length ${len} overruns the datagram`);
    let end = i + len;
    if (b0 & 0x20) {
      // §A.2: only the last packet of a compound may be padded.
      if (end !== n) throw new RtcpParseError('bad-padding', 'padding bit set on a packet that is not the last');
      const pad = bytes[end - 1]!;
      if (pad === 0 || pad > len - 4) throw new RtcpParseError('bad-padding', `padding count ${pad} is invalid`);
      end -= pad;
    }
    out.push(parseOne(bytes, i, end, b0 & 0x1f, pt));
    i += len;
  }
  return out;
}

function parseOne(b: Uint8Array, start: number, end: number, count: number, pt: number): RtcpPacket {
  let i = start + 4;
  switch (pt) {
    case RtcpType.SR: {
      if (i + 24 + count * 24 > end) throw new RtcpParseError('bad-report-count', `SR with ${count} reports overruns its length`);
      const p: RtcpSenderReport = {
        type: 'sr',
        ssrc: readU32(b, i),
        ntpSeconds: readU32(b, i + 4),
        ntpFraction: readU32(b, i + 8),
        rtpTimestamp: readU32(b, i + 12),
        packetCount: readU32(b, i + 16),
        octetCount: readU32(b, i + 20),
        reports: readReports(b, i + 24, count),
      };
      i += 24 + count * 24;
      if (i < end) p.extension = b.subarray(i, end);
      return p;
    }
    case RtcpType.RR: {
      if (i + 4 + count * 24 > end) throw new RtcpParseError('bad-report-count', `RR with ${count} reports overruns its length`);
      const p: RtcpReceiverReport = { type: 'rr', ssrc: readU32(b, i), reports: readReports(b, i + 4, count) };
      i += 4 + count * 24;
      if (i < end) p.extension = b.subarray(i, end);
      return p;
    }
    case RtcpType.SDES: {
      const chunks: SdesChunk[] = [];
      for (let c = 0; c < count; c++) {
        if (i + 4 > end) throw new RtcpParseError('bad-sdes', `SDES chunk ${c} overruns the packet`);
        const chunk: SdesChunk = { ssrc: readU32(b, i), items: [] };
        i += 4;
        for (;;) {
          if (i >= end) throw new RtcpParseError('bad-sdes', 'SDES chunk has no END item');
          const t = b[i]!;
          if (t === 0) {
            // END item, then pad to the next 32-bit boundary (relative to the packet start).
            i++;
            while ((i - start) & 3) i++;
            break;
          }
          if (i + 2 > end) throw new RtcpParseError('bad-sdes', 'SDES item header overruns the packet');
          const l = b[i + 1]!;
          if (i + 2 + l > end) throw new RtcpParseError('bad-sdes', `SDES item of ${l} bytes overruns the packet`);
          chunk.items.push({ type: t, text: textDecoder.decode(b.subarray(i + 2, i + 2 + l)) });
          i += 2 + l;
        }
        if (i > end) throw new RtcpParseError('bad-sdes', 'SDES chunk padding overruns the packet');
        chunks.push(chunk);
      }
      return { type: 'sdes', chunks };
    }
    case RtcpType.BYE: {
      if (i + 4 * count > end) throw new RtcpParseError('bad-report-count', `BYE with ${count} sources overruns its length`);
      const ssrcs: number[] = [];
      for (let c = 0; c < count; c++, i += 4) ssrcs.push(readU32(b, i));
      const p: RtcpBye = { type: 'bye', ssrcs };
      if (i < end) {
        const l = b[i]!;
        if (i + 1 + l > end) throw new RtcpParseError('bad-length', `BYE reason of ${l} bytes overruns the packet`);
        p.reason = textDecoder.decode(b.subarray(i + 1, i + 1 + l));
      }
      return p;
    }
    case RtcpType.APP: {
      if (i + 8 > end) throw new RtcpParseError('too-short', 'APP packet shorter than SSRC and name');
      return {
        type: 'app',
        subtype: count,
        ssrc: readU32(b, i),
        name: String.fromCharCode(b[i + 4]!, b[i + 5]!, b[i + 6]!, b[i + 7]!),
        data: b.subarray(i + 8, end),
      };
    }
    case RtcpType.XR: {
      if (i + 4 > end) throw new RtcpParseError('too-short', 'XR packet shorter than its SSRC');
      const p: RtcpXr = { type: 'xr', ssrc: readU32(b, i), blocks: [] };
      i += 4;
      while (i < end) {
        if (i + 4 > end) throw new RtcpParseError('bad-xr-block', 'XR block header overruns the packet');
        const bt = b[i]!;
        const blen = (readU16(b, i + 2) + 1) * 4;
        if (i + blen > end) throw new RtcpParseError('bad-xr-block', `XR block of ${blen} bytes overruns the packet`);
        if (bt === 7) {
          if (blen !== 36) throw new RtcpParseError('bad-xr-block', `VoIP metrics block length ${blen}, expected 36`);
          p.blocks.push({ blockType: 7, metrics: readVoipMetrics(b, i + 4) });
        } else {
          p.blocks.push({ blockType: bt, typeSpecific: b[i + 1]!, data: b.subarray(i + 4, i + blen) });
        }
        i += blen;
      }
      return p;
    }
    default:
      if (pt < 192 || pt > 223) throw new RtcpParseError('not-rtcp', `packet type ${pt} is not an RTCP type (192-223)`);
      return { type: 'unknown', packetType: pt, count, body: b.subarray(i, end) };
  }
}

function readReports(b: Uint8Array, i: number, count: number): RtcpReportBlock[] {
  const out: RtcpReportBlock[] = [];
  for (let c = 0; c < count; c++, i += 24) {
    out.push({
      ssrc: readU32(b, i),
      fractionLost: b[i + 4]!,
      // 24-bit two's complement (RFC 3550 §6.4.1: "signed").
      cumulativeLost: ((b[i + 5]! << 24) | (b[i + 6]! << 16) | (b[i + 7]! << 8)) >> 8,
      highestSequence: readU32(b, i + 8),
      jitter: readU32(b, i + 12),
      lastSenderReport: readU32(b, i + 16),
      delaySinceLastSenderReport: readU32(b, i + 20),
    });
  }
  return out;
}

function readVoipMetrics(b: Uint8Array, i: number): VoipMetrics {
  const s8 = (v: number): number => (v << 24) >> 24;
  return {
    ssrc: readU32(b, i),
    lossRate: b[i + 4]!,
    discardRate: b[i + 5]!,
    burstDensity: b[i + 6]!,
    gapDensity: b[i + 7]!,
    burstDuration: readU16(b, i + 8),
    gapDuration: readU16(b, i + 10),
    roundTripDelay: readU16(b, i + 12),
    endSystemDelay: readU16(b, i + 14),
    signalLevel: s8(b[i + 16]!),
    noiseLevel: s8(b[i + 17]!),
    rerl: b[i + 18]!,
    gmin: b[i + 19]!,
    rFactor: b[i + 20]!,
    extRFactor: b[i + 21]!,
    mosLq: b[i + 22]!,
    mosCq: b[i + 23]!,
    rxConfig: b[i + 24]!,
    jbNominal: readU16(b, i + 26),
    jbMaximum: readU16(b, i + 28),
    jbAbsMax: readU16(b, i + 30),
  };
}

/** Bytes {@link serializeRtcp} writes for `packets` (each padded to 32 bits). */
export function rtcpSize(packets: readonly RtcpPacket[]): number {
  let n = 0;
  for (const p of packets) n += packetSize(p);
  return n;
}

function packetSize(p: RtcpPacket): number {
  switch (p.type) {
    case 'sr':
      return 28 + 24 * p.reports.length + pad4(p.extension?.length ?? 0);
    case 'rr':
      return 8 + 24 * p.reports.length + pad4(p.extension?.length ?? 0);
    case 'sdes': {
      let n = 4;
      for (const c of p.chunks) {
        let m = 4;
        for (const it of c.items) m += 2 + Math.min(255, textEncoder.encode(it.text).length);
        n += pad4(m + 1);
      }
      return n;
    }
    case 'bye':
      return 4 + 4 * p.ssrcs.length + (p.reason !== undefined ? pad4(1 + Math.min(255, textEncoder.encode(p.reason).length)) : 0);
    case 'app':
      return 12 + pad4(p.data.length);
    case 'xr': {
      let n = 8;
      for (const bl of p.blocks) n += 'metrics' in bl ? 36 : 4 + pad4(bl.data.length);
      return n;
    }
    case 'unknown':
      return 4 + pad4(p.body.length);
  }
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * Writes `packets` as one compound packet into `out` at `offset` and returns the bytes
 * written. Texts longer than 255 UTF-8 bytes are truncated; report and source counts above 31
 * throw `RangeError` (split such reports across packets). Throws `RangeError` if `out` is
 * too small.
 */
export function serializeRtcp(packets: readonly RtcpPacket[], out: Uint8Array, offset = 0): number {
  const total = rtcpSize(packets);
  if (offset + total > out.length) throw new RangeError(`output buffer too small: need ${total} bytes`);
  let i = offset;
  for (const p of packets) {
    const size = packetSize(p);
    out.fill(0, i, i + size);
    writeU16(out, i + 2, size / 4 - 1);
    let j = i + 4;
    switch (p.type) {
      case 'sr':
        header(out, i, p.reports.length, RtcpType.SR);
        writeU32(out, j, p.ssrc);
        writeU32(out, j + 4, p.ntpSeconds);
        writeU32(out, j + 8, p.ntpFraction);
        writeU32(out, j + 12, p.rtpTimestamp);
        writeU32(out, j + 16, p.packetCount);
        writeU32(out, j + 20, p.octetCount);
        j = writeReports(out, j + 24, p.reports);
        if (p.extension) out.set(p.extension, j);
        break;
      case 'rr':
        header(out, i, p.reports.length, RtcpType.RR);
        writeU32(out, j, p.ssrc);
        j = writeReports(out, j + 4, p.reports);
        if (p.extension) out.set(p.extension, j);
        break;
      case 'sdes':
        header(out, i, p.chunks.length, RtcpType.SDES);
        for (const c of p.chunks) {
          writeU32(out, j, c.ssrc);
          j += 4;
          for (const it of c.items) {
            const t = textEncoder.encode(it.text).subarray(0, 255);
            out[j] = it.type;
            out[j + 1] = t.length;
            out.set(t, j + 2);
            j += 2 + t.length;
          }
          j++; // END item (already zero)
          while ((j - i) & 3) j++;
        }
        break;
      case 'bye':
        header(out, i, p.ssrcs.length, RtcpType.BYE);
        for (const s of p.ssrcs) {
          writeU32(out, j, s);
          j += 4;
        }
        if (p.reason !== undefined) {
          const t = textEncoder.encode(p.reason).subarray(0, 255);
          out[j] = t.length;
          out.set(t, j + 1);
        }
        break;
      case 'app':
        header(out, i, p.subtype, RtcpType.APP);
        writeU32(out, j, p.ssrc);
        for (let k = 0; k < 4; k++) out[j + 4 + k] = p.name.charCodeAt(k) & 0xff;
        out.set(p.data, j + 8);
        break;
      case 'xr':
        header(out, i, 0, RtcpType.XR);
        writeU32(out, j, p.ssrc);
        j += 4;
        for (const bl of p.blocks) {
          if ('metrics' in bl) {
            out[j] = 7;
            writeU16(out, j + 2, 8);
            writeVoipMetrics(out, j + 4, bl.metrics);
            j += 36;
          } else {
            out[j] = bl.blockType;
            out[j + 1] = bl.typeSpecific;
            writeU16(out, j + 2, pad4(bl.data.length) / 4);
            out.set(bl.data, j + 4);
            j += 4 + pad4(bl.data.length);
          }
        }
        break;
      case 'unknown':
        header(out, i, p.count, p.packetType);
        out.set(p.body, j);
        break;
    }
    i += size;
  }
  return i - offset;
}

function header(out: Uint8Array, i: number, count: number, pt: number): void {
  if (count < 0 || count > 31) throw new RangeError(`RTCP count ${count} does not fit 5 bits`);
  out[i] = 0x80 | count;
  out[i + 1] = pt;
}

function writeReports(out: Uint8Array, j: number, reports: readonly RtcpReportBlock[]): number {
  for (const r of reports) {
    writeU32(out, j, r.ssrc);
    out[j + 4] = r.fractionLost & 0xff;
    const cl = Math.max(-0x800000, Math.min(0x7fffff, r.cumulativeLost)) & 0xffffff;
    out[j + 5] = cl >>> 16;
    out[j + 6] = (cl >>> 8) & 0xff;
    out[j + 7] = cl & 0xff;
    writeU32(out, j + 8, r.highestSequence);
    writeU32(out, j + 12, r.jitter);
    writeU32(out, j + 16, r.lastSenderReport);
    writeU32(out, j + 20, r.delaySinceLastSenderReport);
    j += 24;
  }
  return j;
}

function writeVoipMetrics(b: Uint8Array, i: number, m: VoipMetrics): void {
  writeU32(b, i, m.ssrc);
  b[i + 4] = m.lossRate;
  b[i + 5] = m.discardRate;
  b[i + 6] = m.burstDensity;
  b[i + 7] = m.gapDensity;
  writeU16(b, i + 8, m.burstDuration);
  writeU16(b, i + 10, m.gapDuration);
  writeU16(b, i + 12, m.roundTripDelay);
  writeU16(b, i + 14, m.endSystemDelay);
  b[i + 16] = m.signalLevel & 0xff;
  b[i + 17] = m.noiseLevel & 0xff;
  b[i + 18] = m.rerl;
  b[i + 19] = m.gmin;
  b[i + 20] = m.rFactor;
  b[i + 21] = m.extRFactor;
  b[i + 22] = m.mosLq;
  b[i + 23] = m.mosCq;
  b[i + 24] = m.rxConfig;
  b[i + 25] = 0;
  writeU16(b, i + 26, m.jbNominal);
  writeU16(b, i + 28, m.jbMaximum);
  writeU16(b, i + 30, m.jbAbsMax);
}
