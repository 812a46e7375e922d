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
