/**
 * What the layers above the transports (transactions, dialogs, the user agent) know about
 * them: where a message came from, where one should go, and one method to send it.
 * Concrete transports (UDP, TCP, TLS, WebSocket) implement {@link SipTransport}.
 */
import type { SipMessage } from '../message/index.js';

/** Transport protocols, lower-case as in URI `transport=` parameters. */
export type TransportProtocol = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

/** A transport address. IPv6 addresses are written without brackets. */
export interface Endpoint {
  protocol: TransportProtocol;
  address: string;
  port: number;
}

/**
 * The SIP trace hook (`--sip-trace`, sngrep-style logs): called with the bytes of every SIP
 * message a transport sends or receives. Inbound: after framing (one datagram, one framed
 * stream message, one WebSocket message) and before parsing, so malformed messages are
 * traced too. Outbound: the serialized message as handed to the socket (a WebSocket frame's
 * payload, not the frame), retransmissions included. Keep-alives (CRLF, WebSocket ping and
 * pong) are not SIP messages and are not traced. `remote` and `bytes` belong to the
 * transport: read them during the call, copy what you keep. Exceptions it throws are caught
 * and reported through `onError`.
 */
export type SipTrace = (direction: 'in' | 'out', protocol: TransportProtocol, remote: Endpoint, bytes: Uint8Array) => void;

/** A message as it arrived. */
export interface InboundMessage {
  message: SipMessage;
  /** Where it came from (the packet's source, not what Via claims). */
  source: Endpoint;
  /** The local address it arrived on. */
  local: Endpoint;
  /**
   * The connection it arrived on, for connection-oriented transports: responses and
   * in-dialog requests go back on it (RFC 3261 §18.2.2, RFC 5923 style reuse).
   */
  connectionId?: string;
}

/** Where to send: an endpoint, optionally pinned to an existing connection. */
export interface Destination extends Endpoint {
  connectionId?: string;
}

/** A transport failure the transaction layer reports to its user (RFC 3261 §17.1.4, §17.2.4). */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    message: string,
    readonly destination?: Destination,
  ) {
    super(message);
  }
}

/** What the transaction layer needs from the transports. */
export interface SipTransport {
  /**
   * Sends a message. Resolves once it is handed to the socket; rejects with a
   * {@link TransportError} when it cannot be (connection refused, no route, too large for UDP…).
   */
  send(message: SipMessage, destination: Destination): Promise<void>;
  /** Whether a protocol is reliable (no retransmissions needed: §17.1.1.2, §17.1.2.2). */
  isReliable(protocol: TransportProtocol): boolean;
}
