/**
 * One connection of a connection-oriented transport (TCP, TLS, WebSocket; RFC 3261 §18,
 * RFC 7118) and what every kind shares: an id that responses and in-dialog requests name to
 * go back on it (§18.2.2), an idle timeout, a bounded write queue, and keep-alive pings with
 * a pong deadline (RFC 5626 §4.4.1). Subclasses turn bytes into messages
 * ({@link StreamConnection}: the SIP stream framer; {@link WebSocketConnection}: RFC 6455
 * frames) and messages into bytes.
 */
import type { Socket } from 'node:net';
import { serializeMessage, type SipMessage, type SipParseError } from '../message/index.js';
import type { TransportLimits, TransportStats } from './transport-limits.js';
import { TransportError, type Endpoint, type SipTrace, type TransportProtocol } from './types.js';

/** What a connection reports to the transport set that owns it. */
export interface ConnectionHooks {
  limits: TransportLimits;
  stats: TransportStats;
  /** A complete, parsed message. */
  onMessage(connection: SipConnection, message: SipMessage): void;
  /** A message that did not parse; `fatal` when the connection is being closed for it. */
  onMalformed(connection: SipConnection, error: SipParseError, fatal: boolean): void;
  /** The connection is gone (called once). */
  onClose(connection: SipConnection): void;
  /** Something worth logging; never thrown. */
  onError(error: unknown, context: string): void;
  /** The SIP trace: every message received (after framing, before parsing) and sent; must not throw. */
  trace?: SipTrace | undefined;
}

/** A socket's address with IPv4-mapped IPv6 (`::ffff:192.0.2.1`) written as IPv4. */
export function plainAddress(address: string | undefined): string {
  if (address === undefined) return '';
  return address.toLowerCase().startsWith('::ffff:') && address.indexOf('.') > 0 ? address.slice(7) : address;
}

/**
 * The shared part of a SIP connection.
 *
 * @example
 * ```ts
 * const conn = set.connection(inbound.connectionId!);
 * conn?.startKeepAlive(30_000); // CRLF pings every 30 s; closed when a pong is 10 s late
 * ```
 */
export abstract class SipConnection {
  readonly local: Endpoint;
  readonly remote: Endpoint;
  private closing = false;
  private isClosed = false;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private pongTimer: NodeJS.Timeout | undefined;

  constructor(
    /** Unique within its transport set; `InboundMessage.connectionId`. */
    readonly id: string,
    readonly protocol: TransportProtocol,
    protected readonly socket: Socket,
    /** True for connections we opened, false for accepted ones. */
    readonly outbound: boolean,
    protected readonly hooks: ConnectionHooks,
  ) {
    this.local = { protocol, address: plainAddress(socket.localAddress), port: socket.localPort ?? 0 };
    this.remote = { protocol, address: plainAddress(socket.remoteAddress), port: socket.remotePort ?? 0 };
    const limits = hooks.limits;
    socket.setNoDelay(true);
    socket.setTimeout(outbound ? limits.clientIdleTimeoutMs : limits.idleTimeoutMs);
    socket.on('timeout', () => {
      hooks.stats.timeouts++;
      this.close();
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        this.receive(chunk);
      } catch (e) {
        // Subclasses catch what the peer can cause; this is a bug, and still must not escape.
        hooks.onError(e, `connection ${this.id}: receive`);
        this.destroy();
      }
    });
    socket.on('error', (err) => hooks.onError(err, `connection ${this.id}`));
    socket.on('close', () => this.closed());
  }

  /** True once closed or closing: sends are refused. */
  get isOpen(): boolean {
    return !this.closing && !this.isClosed;
  }

  /** Bytes received and not yet a complete message. */
  abstract get buffered(): number;

  /** Turns received bytes into messages (and pings, pongs, errors). */
  protected abstract receive(chunk: Buffer): void;

  /** The wire form, on this connection, of a serialized message. */
  protected abstract encode(sip: Buffer): Buffer;

  /** The wire form of a keep-alive ping. */
  protected abstract pingBytes(): Buffer;

  /**
   * Sends a message. Resolves when the bytes are written to the socket; rejects with
   * {@link TransportError} when the connection is closed or fails.
   */
  send(message: SipMessage): Promise<void> {
    let bytes: Buffer;
    try {
      const sip = serializeMessage(message);
      const trace = this.hooks.trace;
      if (trace !== undefined && this.isOpen) trace('out', this.protocol, this.remote, sip);
      bytes = this.encode(sip);
    } catch (e) {
      return Promise.reject(new TransportError(`Cannot serialize: ${e instanceof Error ? e.message : String(e)}`, this.destination()));
    }
    return this.write(bytes).then(() => {
      this.hooks.stats.sent++;
    });
  }

  /** A destination naming this connection. */
  destination(): { protocol: TransportProtocol; address: string; port: number; connectionId: string } {
    return { ...this.remote, connectionId: this.id };
  }

  /** Writes raw bytes, bounding the write queue (`maxWriteBufferBytes`). */
  protected write(bytes: Buffer): Promise<void> {
    if (!this.isOpen) return Promise.reject(new TransportError(`Connection ${this.id} is closed`, this.destination()));
    return new Promise((resolve, reject) => {
      this.socket.write(bytes, (err) => {
        if (err) reject(new TransportError(`Connection ${this.id}: ${err.message}`, this.destination()));
        else resolve();
      });
      if (this.socket.writableLength > this.hooks.limits.maxWriteBufferBytes) {
        // The peer is not reading: holding more would grow memory without bound.
        this.hooks.stats.overflows++;
        this.destroy();
      }
    });
  }

  /**
   * RFC 5626 §4.4.1 keep-alive: sends a ping every `intervalMs`; a ping not answered within
   * `limits.pongTimeoutMs` closes the connection. `0` stops it.
   */
  startKeepAlive(intervalMs: number): void {
    clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
    if (intervalMs <= 0 || !this.isOpen) return;
    this.keepAliveTimer = setInterval(() => this.ping(), intervalMs);
    this.keepAliveTimer.unref();
  }

  /** Sends one keep-alive ping now and arms the pong deadline (unless one is pending). */
  ping(): void {
    if (!this.isOpen || this.pongTimer !== undefined) return;
    this.pongTimer = setTimeout(() => {
      this.pongTimer = undefined;
      this.hooks.stats.timeouts++;
      this.hooks.onError(new TransportError(`Connection ${this.id}: no keep-alive pong`, this.destination()), 'keep-alive');
      this.destroy();
    }, this.hooks.limits.pongTimeoutMs);
    this.pongTimer.unref();
    this.write(this.pingBytes()).catch(() => undefined);
  }

  /** A pong arrived: the peer is alive. */
  protected pongReceived(): void {
    clearTimeout(this.pongTimer);
    this.pongTimer = undefined;
  }

  /** Whether a pong is awaited. */
  get awaitingPong(): boolean {
    return this.pongTimer !== undefined;
  }

  /** Closes gracefully (ends the stream; destroyed if the peer does not finish within a second). */
  close(): void {
    if (this.closing || this.isClosed) return;
    this.closing = true;
    this.stopTimers();
    this.beforeClose();
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), 1000);
    t.unref();
    this.socket.once('close', () => clearTimeout(t));
  }

  /** Closes at once. */
  destroy(): void {
    this.closing = true;
    this.stopTimers();
    this.socket.destroy();
  }

  /** Last words before a graceful close (a WebSocket close frame). */
  protected beforeClose(): void {}

  private stopTimers(): void {
    clearInterval(this.keepAliveTimer);
    clearTimeout(this.pongTimer);
    this.keepAliveTimer = undefined;
    this.pongTimer = undefined;
  }

  private closed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.stopTimers();
    this.hooks.stats.closed++;
    try {
      this.hooks.onClose(this);
    } catch (e) {
      this.hooks.onError(e, `connection ${this.id}: close`);
    }
  }
}
