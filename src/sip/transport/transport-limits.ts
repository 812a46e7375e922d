/**
 * The bounds a transport set keeps, so that nothing a peer sends can grow memory without
 * bound or keep sockets open forever. Every field has a default; tests shrink them.
 */

/**
 * Limits and timeouts of a {@link SipTransportSet}.
 *
 * @example
 * ```ts
 * const limits: Partial<TransportLimits> = { maxConnections: 100, idleTimeoutMs: 60_000 };
 * ```
 */
export interface TransportLimits {
  /** Most open connections (accepted and opened), all protocols together. More are refused. Default 1024. */
  maxConnections: number;
  /**
   * Largest SIP message accepted (header section and body), in bytes: a stream's framer and
   * a WebSocket message never buffer more than this. Default 65,535.
   */
  maxMessageBytes: number;
  /** Bytes waiting to be written on one connection before it is destroyed (a peer that stops reading). Default 1 MiB. */
  maxWriteBufferBytes: number;
  /** An accepted connection with no traffic for this long is closed. Default 300,000 ms. */
  idleTimeoutMs: number;
  /** A connection we opened with no traffic for this long is closed (unless kept alive). Default 300,000 ms. */
  clientIdleTimeoutMs: number;
  /** How long to wait for a TCP/TLS connect and a WebSocket handshake. Default 10,000 ms. */
  connectTimeoutMs: number;
  /**
   * Largest request sent over UDP (RFC 3261 §18.1.1: a request within 200 bytes of the path
   * MTU, or over 1300 bytes when the MTU is unknown, goes over a congestion-controlled
   * transport). Default 1300.
   */
  maxUdpRequestBytes: number;
  /** RFC 5626 §4.4.1: a keep-alive ping unanswered for this long closes the connection. Default 10,000 ms. */
  pongTimeoutMs: number;
  /**
   * Receive buffer asked of the OS for each UDP socket (SO_RCVBUF; Linux caps it at
   * `net.core.rmem_max`). A burst of requests beyond the buffer is dropped by the kernel and
   * costs a retransmission (T1 later). Default 4 MiB.
   */
  udpReceiveBufferBytes: number;
}

/** The defaults of {@link TransportLimits}. */
export const DEFAULT_TRANSPORT_LIMITS: Readonly<TransportLimits> = Object.freeze({
  maxConnections: 1024,
  maxMessageBytes: 65_535,
  maxWriteBufferBytes: 1024 * 1024,
  idleTimeoutMs: 300_000,
  clientIdleTimeoutMs: 300_000,
  connectTimeoutMs: 10_000,
  maxUdpRequestBytes: 1300,
  pongTimeoutMs: 10_000,
  udpReceiveBufferBytes: 4 * 1024 * 1024,
});

/** Fills in defaults and checks values. */
export function resolveTransportLimits(limits: Partial<TransportLimits> | undefined): TransportLimits {
  const l = { ...DEFAULT_TRANSPORT_LIMITS, ...limits };
  for (const [k, v] of Object.entries(l)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new RangeError(`Transport limit ${k} must be a positive number, got ${String(v)}`);
  }
  return l;
}

/** Counters a transport set keeps (read `set.stats`). */
export interface TransportStats {
  /** Messages handed to `onMessage`. */
  received: number;
  /** Messages handed to a socket. */
  sent: number;
  /** Datagrams or stream messages that did not parse (each is also counted below). */
  malformed: number;
  /** Malformed requests answered 400 (or 505). */
  rejected: number;
  /** Malformed messages dropped without an answer (unreadable Via, responses, ACKs). */
  dropped: number;
  /** Connections accepted from peers. */
  accepted: number;
  /** Connections refused at `maxConnections`. */
  refused: number;
  /** Connections opened to peers. */
  opened: number;
  /** Connections closed, for any reason. */
  closed: number;
  /** Connections closed for a fatal framing or WebSocket protocol error. */
  protocolErrors: number;
  /** Connections closed for idleness or a missing keep-alive pong. */
  timeouts: number;
  /** Connections destroyed because their write queue passed `maxWriteBufferBytes`. */
  overflows: number;
  /** CRLF keep-alive pings answered. */
  pings: number;
}

export function emptyStats(): TransportStats {
  return { received: 0, sent: 0, malformed: 0, rejected: 0, dropped: 0, accepted: 0, refused: 0, opened: 0, closed: 0, protocolErrors: 0, timeouts: 0, overflows: 0, pings: 0 };
}
