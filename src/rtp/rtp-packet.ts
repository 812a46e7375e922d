import { readU32, writeU32 } from './byte-order.js';
import { RtpParseError } from './errors.js';
import {
  type HeaderExtensionElement,
  headerExtensionProfileFor,
  headerExtensionSize,
  writeHeaderExtension,
} from './rtp-header-extension.js';

/**
 * A zero-copy view of one RTP packet (RFC 3550 §5.1) over received bytes.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |            contributing source (CSRC) identifiers             |
 * |                             ....                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   profile-defined (X=1)       |    extension length (words)   |
 * |                  header extension ....                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     payload ....                              |
 * |                               | padding ...   | pad count (P) |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * Hot path: {@link RtpPacket.wrap} re-targets an existing view at new bytes and reads fields
 * straight from the byte array (no `DataView`, no copies), so a relay can parse every
 * datagram with one long-lived `RtpPacket` and allocate nothing per packet. The setters for
 * SSRC, sequence number, timestamp, marker and payload type write into the viewed bytes, which
 * is what a relay rewriting those fields wants. Only `payload`, `csrcs` and `extensionData`
 * allocate (a `subarray` view object); `payloadOffset`/`payloadLength` do not.
 *
 * Validity checks are those of RFC 3550 §A.1 that a single packet can show: version 2,
 * CSRC list, extension and padding within the datagram, and a payload type that is not in
 * the RTCP-conflict range (marker + PT 72–76 = RTCP 200–204; §A.1, RFC 5761 §4).
 *
 * @example
 * ```ts
 * const view = new RtpPacket();
 * socket.on('message', (msg) => {
 *   view.wrap(msg);            // throws RtpParseError on bad bytes
 *   view.ssrc = mySsrc;        // rewrite in place
 *   socket.send(msg, port, host);
 * });
 * ```
 */
export class RtpPacket {
  /** The viewed bytes (the whole datagram buffer). */
  bytes: Uint8Array = EMPTY;
  /** Offset of the packet in `bytes`. */
  offset = 0;
  /** Length of the packet (the datagram) in bytes. */
  length = 0;
  /** Offset of the payload in `bytes`. */
  payloadOffset = 0;
  /** Length of the payload, excluding padding. */
  payloadLength = 0;
  private extOffset = -1;
  private extLength = 0;

  /** Parses `bytes` into a new view. Throws {@link RtpParseError}. */
  static parse(bytes: Uint8Array, offset = 0, length = bytes.length - offset): RtpPacket {
    return new RtpPacket().wrap(bytes, offset, length);
  }

  /**
   * Re-targets this view at `bytes[offset, offset+length)` after RFC 3550 §A.1 checks;
   * allocation-free. Throws {@link RtpParseError} (the view is then unusable until the next
   * successful `wrap`).
   */
  wrap(bytes: Uint8Array, offset = 0, length = bytes.length - offset): this {
    if (length < 12 || offset < 0 || offset + length > bytes.length) {
      throw new RtpParseError('too-short', `RTP packet of ${length} bytes is shorter than the 12-byte header`);
    }
    const b0 = bytes[offset]!;
    if (b0 >> 6 !== 2) throw new RtpParseError('bad-version', `RTP version ${b0 >> 6}, expected 2`);
    const b1 = bytes[offset + 1]!;
    // RFC 3550 §A.1: "the payload type must not be equal to SR or RR" — with the marker bit,
    // PT 72-76 reads as RTCP SR/RR/SDES/BYE/APP (200-204), which RFC 5761 §4 demuxes as RTCP.
    if (b1 >= 200 && b1 <= 204) {
      throw new RtpParseError('rtcp-payload-type', `second byte ${b1} is an RTCP packet type, not RTP`);
    }
    let hdr = 12 + (b0 & 0x0f) * 4;
    if (hdr > length) throw new RtpParseError('bad-csrc-count', `CSRC count ${b0 & 0x0f} overruns the ${length}-byte packet`);
    let extOffset = -1;
    let extLength = 0;
    if (b0 & 0x10) {
      if (hdr + 4 > length) throw new RtpParseError('bad-extension', 'header extension header overruns the packet');
      extLength = ((bytes[offset + hdr + 2]! << 8) | bytes[offset + hdr + 3]!) * 4;
      extOffset = offset + hdr + 4;
      hdr += 4 + extLength;
      if (hdr > length) throw new RtpParseError('bad-extension', `header extension of ${extLength} bytes overruns the packet`);
    }
    let pad = 0;
    if (b0 & 0x20) {
      pad = bytes[offset + length - 1]!;
      // §A.1: the padding count must be non-zero and fit after the header.
      if (pad === 0 || hdr + pad > length) throw new RtpParseError('bad-padding', `padding count ${pad} is invalid`);
    }
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    this.payloadOffset = offset + hdr;
    this.payloadLength = length - hdr - pad;
    this.extOffset = extOffset;
    this.extLength = extLength;
    return this;
  }

  /** Version field (always 2 after a successful wrap). */
  get version(): number {
    return this.bytes[this.offset]! >> 6;
  }
  /** Padding bit. */
  get padding(): boolean {
    return (this.bytes[this.offset]! & 0x20) !== 0;
  }
  /** Number of padding bytes (0 when the padding bit is clear). */
  get paddingLength(): number {
    return this.padding ? this.bytes[this.offset + this.length - 1]! : 0;
  }
  /** Extension bit. */
  get extension(): boolean {
    return (this.bytes[this.offset]! & 0x10) !== 0;
  }
  /** CSRC count. */
  get csrcCount(): number {
    return this.bytes[this.offset]! & 0x0f;
  }
  /** Marker bit (first packet of a talkspurt for audio, RFC 3551 §4.1). */
  get marker(): boolean {
    return (this.bytes[this.offset + 1]! & 0x80) !== 0;
  }
  set marker(v: boolean) {
    const i = this.offset + 1;
    this.bytes[i] = (this.bytes[i]! & 0x7f) | (v ? 0x80 : 0);
  }
  /** Payload type, 0..127. */
  get payloadType(): number {
    return this.bytes[this.offset + 1]! & 0x7f;
  }
  set payloadType(v: number) {
    const i = this.offset + 1;
    this.bytes[i] = (this.bytes[i]! & 0x80) | (v & 0x7f);
  }
  /** Sequence number, 0..65535. */
  get sequenceNumber(): number {
    const b = this.bytes;
    const o = this.offset;
    return (b[o + 2]! << 8) | b[o + 3]!;
  }
  set sequenceNumber(v: number) {
    const b = this.bytes;
    const o = this.offset;
    b[o + 2] = (v >>> 8) & 0xff;
    b[o + 3] = v & 0xff;
  }
  /** Timestamp, 0..2^32-1. */
  get timestamp(): number {
    return readU32(this.bytes, this.offset + 4);
  }
  set timestamp(v: number) {
    writeU32(this.bytes, this.offset + 4, v);
  }
  /** Synchronization source. */
  get ssrc(): number {
    return readU32(this.bytes, this.offset + 8);
  }
  set ssrc(v: number) {
    writeU32(this.bytes, this.offset + 8, v);
  }
  /** The `i`th contributing source (no bounds check beyond the CSRC count). */
  csrc(i: number): number {
    if (i < 0 || i >= this.csrcCount) throw new RangeError(`CSRC index ${i} out of range`);
    return readU32(this.bytes, this.offset + 12 + 4 * i);
  }
  /** All CSRCs (allocates). */
  get csrcs(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.csrcCount; i++) out.push(readU32(this.bytes, this.offset + 12 + 4 * i));
    return out;
  }
  /** The 16-bit "defined by profile" field of the extension block, or -1 without one. */
  get extensionProfile(): number {
    if (this.extOffset < 0) return -1;
    return (this.bytes[this.extOffset - 4]! << 8) | this.bytes[this.extOffset - 3]!;
  }
  /** The extension block body (a view; empty without one). */
  get extensionData(): Uint8Array {
    if (this.extOffset < 0) return EMPTY;
    return this.bytes.subarray(this.extOffset, this.extOffset + this.extLength);
  }
  /** The payload (a view into the packet, excluding padding). */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.payloadOffset, this.payloadOffset + this.payloadLength);
  }
  /** Header length: fixed header, CSRCs and extension block. */
  get headerLength(): number {
    return this.payloadOffset - this.offset;
  }
  /** The packet's bytes (a view). */
  get view(): Uint8Array {
    return this.bytes.subarray(this.offset, this.offset + this.length);
  }

  /** Copies the packet into `out[offset]` (a reusable buffer); returns bytes written. */
  copyTo(out: Uint8Array, offset = 0): number {
    out.set(this.bytes.subarray(this.offset, this.offset + this.length), offset);
    return this.length;
  }

  /** A plain-object snapshot of the header fields (allocates; for logs and tests). */
  toJSON(): RtpHeaderFields & { payloadLength: number } {
    return {
      marker: this.marker,
      payloadType: this.payloadType,
      sequenceNumber: this.sequenceNumber,
      timestamp: this.timestamp,
      ssrc: this.ssrc,
      csrcs: this.csrcs,
      payloadLength: this.payloadLength,
    };
  }
}

const EMPTY = new Uint8Array(0);

/** Header fields for {@link serializeRtp}. */
export interface RtpHeaderFields {
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  marker?: boolean;
  csrcs?: readonly number[];
  /** RFC 8285 elements; the form is chosen by {@link headerExtensionProfileFor}. */
  extensions?: readonly HeaderExtensionElement[];
  /** An opaque extension block (profile + body, body a multiple of 4 bytes). */
  rawExtension?: { profile: number; data: Uint8Array };
  /** Padding bytes to append (1..255), e.g. to reach an SRTP block size. */
  paddingLength?: number;
}

/** Bytes {@link serializeRtp} writes for `header` and a payload of `payloadLength` bytes. */
export function rtpPacketSize(header: RtpHeaderFields, payloadLength: number): number {
  let n = 12 + 4 * (header.csrcs?.length ?? 0) + payloadLength + (header.paddingLength ?? 0);
  if (header.extensions && header.extensions.length > 0) {
    n += 4 + headerExtensionSize(headerExtensionProfileFor(header.extensions), header.extensions);
  } else if (header.rawExtension) {
    n += 4 + header.rawExtension.data.length;
  }
  return n;
}

/**
 * Serializes an RTP packet into `out` at `offset` (a caller-owned, reusable buffer: nothing is
 * allocated for the common header-plus-payload case) and returns the number of bytes written.
 * Throws `RangeError` if `out` is too small, {@link RtpParseError} for an invalid extension.
 *
 * @example
 * ```ts
 * const out = new Uint8Array(1500);
 * const n = serializeRtp({ payloadType: 0, sequenceNumber: seq, timestamp: ts, ssrc }, frame, out);
 * socket.send(out.subarray(0, n), port, host);
 * ```
 */
export function serializeRtp(header: RtpHeaderFields, payload: Uint8Array, out: Uint8Array, offset = 0): number {
  const csrcs = header.csrcs;
  const cc = csrcs ? csrcs.length : 0;
  if (cc > 15) throw new RangeError(`${cc} CSRCs: at most 15 fit the CC field`);
  const pad = header.paddingLength ?? 0;
  if (pad < 0 || pad > 255) throw new RangeError(`padding length ${pad} must be 0..255`);
  const size = rtpPacketSize(header, payload.length);
  if (offset + size > out.length) throw new RangeError(`output buffer too small: need ${size} bytes`);
  const exts = header.extensions;
  const hasExt = (exts !== undefined && exts.length > 0) || header.rawExtension !== undefined;
  out[offset] = 0x80 | (pad > 0 ? 0x20 : 0) | (hasExt ? 0x10 : 0) | cc;
  out[offset + 1] = (header.marker ? 0x80 : 0) | (header.payloadType & 0x7f);
  out[offset + 2] = (header.sequenceNumber >>> 8) & 0xff;
  out[offset + 3] = header.sequenceNumber & 0xff;
  writeU32(out, offset + 4, header.timestamp);
  writeU32(out, offset + 8, header.ssrc);
  let i = offset + 12;
  for (let c = 0; c < cc; c++, i += 4) writeU32(out, i, csrcs![c]!);
  if (exts !== undefined && exts.length > 0) {
    const profile = headerExtensionProfileFor(exts);
    const body = writeHeaderExtension(profile, exts, out, i + 4);
    out[i] = profile >>> 8;
    out[i + 1] = profile & 0xff;
    out[i + 2] = (body >>> 10) & 0xff;
    out[i + 3] = (body >>> 2) & 0xff;
    i += 4 + body;
  } else if (header.rawExtension) {
    const { profile, data } = header.rawExtension;
    if (data.length & 3) throw new RtpParseError('bad-extension', 'raw extension body must be a multiple of 4 bytes');
    out[i] = (profile >>> 8) & 0xff;
    out[i + 1] = profile & 0xff;
    out[i + 2] = (data.length >>> 10) & 0xff;
    out[i + 3] = (data.length >>> 2) & 0xff;
    out.set(data, i + 4);
    i += 4 + data.length;
  }
  out.set(payload, i);
  i += payload.length;
  if (pad > 0) {
    out.fill(0, i, i + pad - 1);
    out[i + pad - 1] = pad;
    i += pad;
  }
  return i - offset;
}

/**
 * RFC 5761 §4 demultiplexing of RTP and RTCP on one port: RTCP packet types 192–223 in the
 * second byte mean RTCP (RTP payload types 64–95 are avoided for that reason).
 */
export function isRtcpPacket(bytes: Uint8Array): boolean {
  if (bytes.length < 2) return false;
  const pt = bytes[1]!;
  return pt >= 192 && pt <= 223;
}
