/**
 * Typed errors of the SDP module. {@link parseSdp} throws only {@link SdpParseError},
 * {@link serializeSdp} only {@link SdpSerializeError}, and the offer/answer negotiator only
 * {@link SdpNegotiationError}, whose `status` is the SIP response code to reject with.
 *
 * @example
 * ```ts
 * try { parseSdp(body); } catch (e) { if (e instanceof SdpParseError) return reply(400); throw e; }
 * ```
 */

/**
 * Why an SDP body was rejected by {@link parseSdp} (see docs/sdp.md for each case).
 *
 * @example
 * ```ts
 * const reason: SdpParseErrorReason = 'misplaced-field'; // e.g. s= inside a media section
 * ```
 */
export type SdpParseErrorReason =
  | 'too-large'
  | 'too-many-media'
  | 'bad-encoding'
  | 'no-version'
  | 'bad-line'
  | 'bad-field'
  | 'duplicate-field'
  | 'misplaced-field'
  | 'missing-field';

/**
 * An SDP body that cannot be read as RFC 8866 (or exceeds the size bounds: 64 KB, 64 media
 * sections). `line` is the 1-based line number when one line is to blame.
 *
 * @example
 * ```ts
 * try { parseSdp('o=- 1 1 IN IP4 h\r\n'); } catch (e) { if (e instanceof SdpParseError) console.log(e.reason, e.line); } // 'no-version' 1
 * ```
 */
export class SdpParseError extends Error {
  override readonly name = 'SdpParseError';
  constructor(
    readonly reason: SdpParseErrorReason,
    message: string,
    readonly line?: number,
  ) {
    super(line === undefined ? message : `SDP line ${line}: ${message}`);
  }
}

/**
 * A {@link SessionDescription} that {@link serializeSdp} refuses to write: a value with CR, LF
 * or NUL, an empty or malformed token, a number out of range, a media section without formats.
 * `field` names the offending field (`'origin.username'`, `'media[1].port'`, ...).
 *
 * @example
 * ```ts
 * try { serializeSdp({ ...sd, sessionName: 'a\r\nb' }); } catch (e) { if (e instanceof SdpSerializeError) console.log(e.field); } // 'sessionName'
 * ```
 */
export class SdpSerializeError extends Error {
  override readonly name = 'SdpSerializeError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`SDP ${field}: ${message}`);
  }
}

/**
 * An offer or answer that cannot be negotiated (RFC 3264). `status` is the SIP response code
 * to use: 488 (Not Acceptable Here) when no audio stream can be accepted or an answer does not
 * fit our offer, 400 when the body is not SDP at all, 491 when an offer arrives while ours is
 * pending, 500 when an answer arrives with no offer pending.
 *
 * @example
 * ```ts
 * try { negotiator.receiveOffer(body); } catch (e) { if (e instanceof SdpNegotiationError) return reply(e.status); throw e; }
 * ```
 */
export class SdpNegotiationError extends Error {
  override readonly name = 'SdpNegotiationError';
  constructor(
    message: string,
    readonly status: number = 488,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
