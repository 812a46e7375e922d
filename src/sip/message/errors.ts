import type { SipMessage } from './message.js';

/**
 * The one error the message layer throws. Its `message` is short and printable so it can be
 * used as the reason phrase of a `400 Bad Request` (RFC 3261 §21.4.1); `status` says which
 * response fits (400, or 505 for an unsupported SIP version, §21.5.6).
 */
export class SipParseError extends Error {
  override readonly name = 'SipParseError';
  /** The SIP status a server should answer with: 400, or 505 for a wrong SIP version. */
  readonly status: number;
  /**
   * When the start line and header section could be framed but a header failed validation,
   * the structurally parsed message, so a server can still build its 400 response from its
   * Via, From, To, Call-ID and CSeq (§8.2.6). Undefined when framing itself failed.
   */
  partial?: SipMessage;

  constructor(reason: string, status = 400) {
    super(reason);
    this.status = status;
  }
}
