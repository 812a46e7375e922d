/**
 * Typed errors of the RTP layer. Parsers throw only these (never a `RangeError` from an
 * out-of-bounds read), so a caller can drop a bad datagram with one `instanceof` check.
 *
 * @example
 * ```ts
 * try { RtpPacket.parse(datagram); } catch (e) { if (e instanceof RtpParseError) dropped++; else throw e; }
 * ```
 */

/** Why an RTP packet was rejected (RFC 3550 §A.1 validity checks and framing). */
export type RtpParseErrorCode =
  | 'too-short'
  | 'bad-version'
  | 'bad-csrc-count'
  | 'bad-extension'
  | 'bad-padding'
  | 'rtcp-payload-type';

/** An RTP packet (or RTP header extension) that fails RFC 3550 / RFC 8285 validity checks. */
export class RtpParseError extends Error {
  override readonly name = 'RtpParseError';
  constructor(
    readonly code: RtpParseErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Why an RTCP packet was rejected (RFC 3550 §6.4–6.7, §A.2). */
export type RtcpParseErrorCode =
  | 'too-short'
  | 'bad-version'
  | 'bad-length'
  | 'bad-padding'
  | 'bad-report-count'
  | 'bad-sdes'
  | 'bad-xr-block'
  | 'not-rtcp';

/** An RTCP packet (or compound packet) that fails RFC 3550 §A.2 validity checks. */
export class RtcpParseError extends Error {
  override readonly name = 'RtcpParseError';
  constructor(
    readonly code: RtcpParseErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A telephone-event payload (RFC 4733 §2.3) that is not 4 bytes or is otherwise invalid. */
export class TelephoneEventParseError extends Error {
  override readonly name = 'TelephoneEventParseError';
  constructor(message: string) {
    super(message);
  }
}

/** Misuse of an RTP session or the port pool (no free port, sending before a peer is known…). */
export class RtpSessionError extends Error {
  override readonly name = 'RtpSessionError';
  constructor(
    readonly code: 'no-free-port' | 'closed' | 'no-remote' | 'bad-option',
    message: string,
  ) {
    super(message);
  }
}
