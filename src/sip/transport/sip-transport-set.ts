/**
 * The transports of one SIP stack behind a single {@link SipTransport}: the UDP sockets,
 * TCP/TLS listeners and WebSocket servers it listens on, and every connection it accepted
 * or opened. `send()` picks the way out by `destination.protocol` and `connectionId`;
 * every message that arrives is delivered to `onMessage` as an {@link InboundMessage}
 * (wire it to `TransactionLayer.receive`).
 *
 * ```
 *        TransactionLayer.receive(inbound)          transport.send(message, destination)
 *                    ^                                            |
 *   +----------------+--------------------------------------------v---------------------+
 *   | SipTransportSet: received/rport on requests (§18.2.1, RFC 3581); malformed → 400  |
 *   |   udp sockets | tcp/tls listeners | ws/wss servers | connections by id and remote |
 *   +-----------------------------------------------------------------------------------+
 * ```
 *
 * Connection-oriented sends (§18.1.1, §18.2.2): the connection named by `connectionId` when
 * it is still open (responses, and in-dialog requests that reuse the connection the dialog
 * came in on); else an open connection to the same remote endpoint (reuse, keyed by
 * protocol, address and port); else a new connection — for a response whose connection
 * closed, to the `received` address and sent-by port of its top Via (§18.2.2). Bounds: `maxConnections`, a framer
 * limit on bytes buffered per connection, a write-queue cap, idle timeouts, keep-alive pong
 * deadlines (see {@link TransportLimits}).
 */
import { randomBytes } from 'node:crypto';
import { isIPv6, type Socket } from 'node:net';
import type { SipMessage, SipParseError } from '../message/index.js';
import { SipConnection, type ConnectionHooks } from './connection.js';
import { rejectionFor } from './malformed-message.js';
import { requestRport, stampReceived } from './received-rport.js';
import { StreamConnection } from './stream-connection.js';
import { connectStream, StreamListener, type TlsClientOptions, type TlsServerCredentials } from './stream-transport.js';
import { emptyStats, resolveTransportLimits, type TransportLimits, type TransportStats } from './transport-limits.js';
import { TransportError, type Destination, type Endpoint, type InboundMessage, type SipTrace, type SipTransport, type TransportProtocol } from './types.js';
import { UdpTransport, type UdpHooks } from './udp-transport.js';
import { WebSocketConnection } from './websocket-connection.js';
import { connectWebSocket, WebSocketListener } from './websocket-transport.js';

/** One address to listen on. */
export interface ListenOptions {
  protocol: TransportProtocol;
  /** An IPv4 or IPv6 address (no brackets); `0.0.0.0` / `::` for all. */
  address: string;
  /** 0 for an ephemeral port (read it back from `endpoints()`). */
  port: number;
  /** Certificate and key: required for `tls` and `wss`. */
  tls?: TlsServerCredentials;
}

/** Options of {@link SipTransportSet}. */
export interface SipTransportSetOptions {
  /** What to listen on. A set with no listeners can still open client connections (no UDP, though). */
  listen: ListenOptions[];
  /** Every message that arrives (may also be set later through the property). */
  onMessage?: (inbound: InboundMessage) => void;
  /** Errors worth logging (socket errors, refused connections, a callback that threw). Default: ignored. */
  onError?: (error: unknown, context: string) => void;
  /** Limits and timeouts (defaults in `DEFAULT_TRANSPORT_LIMITS`). */
  limits?: Partial<TransportLimits>;
  /** How to verify servers on connections we open over TLS and WSS. */
  tlsClient?: TlsClientOptions;
  /** The HTTP path of WebSocket connections we open (default `/`). */
  webSocketPath?: string;
  /**
   * RFC 3581 §3: add an empty `rport` to the top Via of requests sent over UDP that have
   * none (the request object is updated in place, so its CANCEL and ACK copy it). Default true.
   */
  rport?: boolean;
  /**
   * RFC 5626 §4.4.1 keep-alive on every connection we open: a ping every this many ms (the
   * RFC suggests 95–120 s for TCP). Default: none (call {@link SipTransportSet.keepAlive}).
   */
  keepAliveIntervalMs?: number;
  /**
   * The SIP trace (`--sip-trace`): every SIP message received — after framing, before
   * parsing, so malformed ones too — and every message sent, retransmissions and stateless
   * 400s included, on every transport; not keep-alive pings or pongs. WebSocket: the
   * message, not the frame. See {@link SipTrace}. Default: none (and no cost).
   */
  trace?: SipTrace;
}

/** A connection, as {@link SipTransportSet.connections} lists it. */
export interface ConnectionInfo {
  id: string;
  protocol: TransportProtocol;
  local: Endpoint;
  remote: Endpoint;
  outbound: boolean;
}

type Listener = UdpTransport | StreamListener | WebSocketListener;

/** §18.2.2: where a response goes when the connection its request came on has closed. */
function responseFallback(message: SipMessage, destination: Destination): Endpoint {
  let via;
  try {
    via = message.topVia;
  } catch {
    via = undefined;
  }
  const { protocol } = destination;
  if (via === undefined) return { protocol, address: destination.address, port: destination.port };
  return { protocol, address: via.received ?? destination.address, port: via.port ?? (protocol === 'tls' || protocol === 'wss' ? 5061 : 5060) };
}

const remoteKey = (protocol: TransportProtocol, address: string, port: number): string => `${protocol}|${address.toLowerCase()}|${port}`;

/**
 * Every transport of a stack, as one {@link SipTransport}.
 *
 * @example
 * ```ts
 * const transports = await SipTransportSet.listen({
 *   listen: [
 *     { protocol: 'udp', address: '0.0.0.0', port: 5060 },
 *     { protocol: 'tcp', address: '0.0.0.0', port: 5060 },
 *     { protocol: 'tls', address: '0.0.0.0', port: 5061, tls: { key, cert } },
 *     { protocol: 'ws', address: '0.0.0.0', port: 8080 },
 *   ],
 *   limits: { maxConnections: 5000 },
 * });
 * const layer = new TransactionLayer({ transport: transports, user });
 * transports.onMessage = (inbound) => layer.receive(inbound);
 * // …
 * await transports.close();
 * ```
 */
export class SipTransportSet implements SipTransport {
  /** Receives every inbound message; exceptions it throws are logged through `onError`, never propagated to a socket. */
  onMessage: (inbound: InboundMessage) => void;
  readonly limits: Readonly<TransportLimits>;
  readonly stats: TransportStats = emptyStats();
  private readonly onError: (error: unknown, context: string) => void;
  private readonly tlsClient: TlsClientOptions | undefined;
  private readonly webSocketPath: string;
  private readonly udp: UdpTransport[] = [];
  private readonly listeners: Listener[] = [];
  private readonly connectionsById = new Map<string, SipConnection>();
  private readonly connectionsByRemote = new Map<string, SipConnection>();
  private readonly connecting = new Map<string, Promise<SipConnection>>();
  private readonly tag = randomBytes(3).toString('hex');
  private seq = 0;
  private closed = false;
  /** Aborts connection attempts in progress when the set closes. */
  private readonly closing = new AbortController();
  private readonly hooks: ConnectionHooks;
  /** `options.trace`, with its exceptions reported instead of thrown; undefined when none. */
  private readonly trace: SipTrace | undefined;

  /** Creates a set that listens on nothing yet: call {@link start}, or use {@link SipTransportSet.listen}. */
  constructor(private readonly options: SipTransportSetOptions) {
    this.onMessage = options.onMessage ?? (() => undefined);
    this.onError = options.onError ?? (() => undefined);
    this.limits = resolveTransportLimits(options.limits);
    this.tlsClient = options.tlsClient;
    this.webSocketPath = options.webSocketPath ?? '/';
    const trace = options.trace;
    this.trace =
      trace === undefined
        ? undefined
        : (direction, protocol, remote, bytes) => {
            try {
              trace(direction, protocol, remote, bytes);
            } catch (e) {
              this.report(e, 'sip trace');
            }
          };
    this.hooks = {
      limits: this.limits,
      stats: this.stats,
      onMessage: (conn, message) => this.deliver(message, conn.remote, conn.local, conn.id),
      onMalformed: (conn, error, fatal) => this.malformedOnConnection(conn, error, fatal),
      onClose: (conn) => this.forget(conn),
      onError: (error, context) => this.report(error, context),
      trace: this.trace,
    };
  }

  /** Creates a set and binds every listener in `options.listen`. */
  static async listen(options: SipTransportSetOptions): Promise<SipTransportSet> {
    const set = new SipTransportSet(options);
    await set.start();
    return set;
  }

  /** Binds every listener; on failure closes what was bound and rejects with {@link TransportError}. */
  async start(): Promise<void> {
    try {
      for (const l of this.options.listen) await this.bind(l);
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  private async bind(l: ListenOptions): Promise<void> {
    const onError = (e: unknown, c: string): void => this.report(e, c);
    switch (l.protocol) {
      case 'udp': {
        const udpHooks: UdpHooks = {
          limits: this.limits,
          stats: this.stats,
          onMessage: (message, source, local) => this.deliver(message, source, local, undefined),
          onError,
          trace: this.trace,
        };
        const u = await UdpTransport.bind(l.address, l.port, udpHooks);
        this.udp.push(u);
        this.listeners.push(u);
        return;
      }
      case 'tcp':
      case 'tls': {
        const protocol = l.protocol;
        const s = await StreamListener.listen(protocol, l.address, l.port, l.tls, (socket) => this.accepted(protocol, socket, undefined), onError, {
          maxConnections: this.limits.maxConnections,
          handshakeTimeoutMs: this.limits.connectTimeoutMs,
          onDrop: () => this.stats.refused++,
        });
        this.listeners.push(s);
        return;
      }
      case 'ws':
      case 'wss': {
        const protocol = l.protocol;
        const w = await WebSocketListener.listen(
          protocol,
          l.address,
          l.port,
          l.tls,
          {
            accept: () => {
              if (this.closed || this.connectionsById.size >= this.limits.maxConnections) {
                this.stats.refused++;
                return false;
              }
              return true;
            },
            onUpgrade: (socket, head) => this.accepted(protocol, socket, head),
            onError,
            onDrop: () => this.stats.refused++,
          },
          this.limits.connectTimeoutMs,
          this.limits.maxConnections,
        );
        this.listeners.push(w);
        return;
      }
    }
  }

  /** The bound local endpoints, in `listen` order (ephemeral ports filled in). */
  endpoints(): Endpoint[] {
    return this.listeners.map((l) => ({ ...l.local }));
  }

  /** The first bound endpoint of a protocol. */
  endpoint(protocol: TransportProtocol): Endpoint | undefined {
    return this.endpoints().find((e) => e.protocol === protocol);
  }

  /** Connections not yet closed (one that is closing stays listed until its socket has closed). */
  connections(): ConnectionInfo[] {
    return [...this.connectionsById.values()].map((c) => ({ id: c.id, protocol: c.protocol, local: { ...c.local }, remote: { ...c.remote }, outbound: c.outbound }));
  }

  /** A connection by id (e.g. `inbound.connectionId`), while open. */
  connection(id: string): SipConnection | undefined {
    return this.connectionsById.get(id);
  }

  /**
   * RFC 5626 §4.4.1 keep-alive on a connection: a ping (CRLFCRLF, or a WebSocket ping)
   * every `intervalMs`; no pong within `limits.pongTimeoutMs` closes it. 0 stops. Returns
   * false when no such connection is open.
   */
  keepAlive(connectionId: string, intervalMs: number): boolean {
    const c = this.connectionsById.get(connectionId);
    if (c === undefined) return false;
    c.startKeepAlive(intervalMs);
    return true;
  }

  /** UDP is the only unreliable protocol (§17.1.1.2, §17.1.2.2). */
  isReliable(protocol: TransportProtocol): boolean {
    return protocol !== 'udp';
  }

  /**
   * Sends a message (see the class comment for the way out). Rejects with
   * {@link TransportError}: no UDP socket of the destination's family, a request too large
   * for UDP, a connection that cannot be opened, the connection cap, a closed set.
   */
  send(message: SipMessage, destination: Destination): Promise<void> {
    try {
      if (this.closed) return Promise.reject(new TransportError('The transport set is closed', destination));
      if (destination.protocol === 'udp') {
        const v6 = isIPv6(destination.address);
        const u = this.udp.find((x) => x.ipv6 === v6);
        if (u === undefined) return Promise.reject(new TransportError(`No UDP ${v6 ? 'IPv6' : 'IPv4'} socket to send from`, destination));
        if (message.isRequest && this.options.rport !== false) requestRport(message);
        return u.send(message, destination);
      }
      if (destination.connectionId === undefined) return this.connectionTo(destination).then((c) => c.send(message));
      const pinned = this.connectionsById.get(destination.connectionId);
      if (pinned !== undefined && pinned.isOpen && pinned.protocol === destination.protocol) return pinned.send(message);
      // The connection is gone. §18.2.2: a response then goes to the `received` address and
      // the sent-by port of its top Via on a new connection; a request to the endpoint given.
      const target = message.isRequest ? destination : responseFallback(message, destination);
      return this.connectionTo(target).then((c) => c.send(message));
    } catch (e) {
      return Promise.reject(e instanceof TransportError ? e : new TransportError(e instanceof Error ? e.message : String(e), destination));
    }
  }

  /**
   * An open connection to an endpoint: one already open (accepted or opened) to that exact
   * remote, or a new one (concurrent callers share the attempt).
   */
  connectionTo(destination: Endpoint): Promise<SipConnection> {
    const { protocol, address, port } = destination;
    const key = remoteKey(protocol, address, port);
    const open = this.connectionsByRemote.get(key);
    if (open !== undefined && open.isOpen) return Promise.resolve(open);
    const pending = this.connecting.get(key);
    if (pending !== undefined) return pending;
    if (this.connectionsById.size + this.connecting.size >= this.limits.maxConnections) {
      this.stats.refused++;
      return Promise.reject(new TransportError(`Too many connections (${this.limits.maxConnections})`, { protocol, address, port }));
    }
    const attempt = this.open(protocol, address, port).finally(() => this.connecting.delete(key));
    this.connecting.set(key, attempt);
    return attempt;
  }

  private async open(protocol: TransportProtocol, address: string, port: number): Promise<SipConnection> {
    const timeout = this.limits.connectTimeoutMs;
    let conn: SipConnection;
    if (protocol === 'ws' || protocol === 'wss') {
      const { socket, head } = await connectWebSocket(protocol, address, port, this.webSocketPath, this.tlsClient, timeout, { signal: this.closing.signal });
      conn = new WebSocketConnection(this.nextId(protocol), protocol, socket, true, this.hooks, head);
    } else if (protocol === 'tcp' || protocol === 'tls') {
      const socket = await connectStream(protocol, address, port, this.tlsClient, timeout, this.closing.signal);
      conn = new StreamConnection(this.nextId(protocol), protocol, socket, true, this.hooks);
    } else {
      throw new TransportError(`Unsupported protocol ${String(protocol)}`, { protocol, address, port });
    }
    if (this.closed) {
      conn.destroy();
      throw new TransportError('The transport set is closed', { protocol, address, port });
    }
    this.stats.opened++;
    this.track(conn, remoteKey(protocol, address, port));
    const keepAlive = this.options.keepAliveIntervalMs;
    if (keepAlive !== undefined && keepAlive > 0) conn.startKeepAlive(keepAlive);
    return conn;
  }

  private nextId(protocol: TransportProtocol): string {
    return `${protocol}-${this.tag}-${++this.seq}`;
  }

  private track(conn: SipConnection, key?: string): void {
    this.connectionsById.set(conn.id, conn);
    this.connectionsByRemote.set(key ?? remoteKey(conn.protocol, conn.remote.address, conn.remote.port), conn);
  }

  private accepted(protocol: TransportProtocol, socket: Socket, head: Buffer | undefined): void {
    try {
      if (this.closed || (protocol !== 'ws' && protocol !== 'wss' && this.connectionsById.size >= this.limits.maxConnections)) {
        this.stats.refused++;
        socket.destroy();
        return;
      }
      this.stats.accepted++;
      const id = this.nextId(protocol);
      const conn = protocol === 'ws' || protocol === 'wss' ? new WebSocketConnection(id, protocol, socket, false, this.hooks, head) : new StreamConnection(id, protocol, socket, false, this.hooks);
      this.track(conn);
    } catch (e) {
      this.report(e, `${protocol} accept`);
      socket.destroy();
    }
  }

  private forget(conn: SipConnection): void {
    if (this.connectionsById.get(conn.id) === conn) this.connectionsById.delete(conn.id);
    for (const [k, c] of this.connectionsByRemote) {
      if (c === conn) {
        this.connectionsByRemote.delete(k);
        break;
      }
    }
  }

  /** Hands a parsed message up, with received/rport on requests (§18.2.1, RFC 3581 §4). */
  private deliver(message: SipMessage, source: Endpoint, local: Endpoint, connectionId: string | undefined): void {
    try {
      if (message.isRequest) stampReceived(message, source);
      const inbound: InboundMessage = connectionId === undefined ? { message, source: { ...source }, local: { ...local } } : { message, source: { ...source }, local: { ...local }, connectionId };
      this.stats.received++;
      this.onMessage(inbound);
    } catch (e) {
      this.report(e, 'onMessage');
    }
  }

  private malformedOnConnection(conn: SipConnection, error: SipParseError, fatal: boolean): void {
    this.stats.malformed++;
    this.report(error, `malformed message on ${conn.id}${fatal ? ' (closing)' : ''}`);
    const res = rejectionFor(error, conn.remote);
    if (res === undefined) {
      this.stats.dropped++;
      return;
    }
    this.stats.rejected++;
    conn.send(res).catch((e: unknown) => this.report(e, `400 on ${conn.id}`));
  }

  private report(error: unknown, context: string): void {
    try {
      this.onError(error, context);
    } catch {
      // a logger that throws must not take a socket callback down with it
    }
  }

  /** Closes every listener and connection and clears every timer. */
  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    const waits: Promise<unknown>[] = [];
    for (const c of [...this.connectionsById.values()]) c.destroy();
    for (const p of this.connecting.values()) waits.push(p.then((c) => c.destroy(), () => undefined));
    for (const l of this.listeners) waits.push(l.close());
    await Promise.all(waits);
    this.listeners.length = 0;
    this.udp.length = 0;
  }
}
