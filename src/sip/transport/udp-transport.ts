/**
 * SIP over UDP (RFC 3261 §18): one `dgram` socket, IPv4 or IPv6. Each datagram is one
 * message (§18.3: no Content-Length needed). A datagram that does not parse is answered 400
 * (505) when it is a request with a readable Via, else dropped; requests too large for UDP
 * are refused so the caller can switch to TCP (§18.1.1).
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { parseMessage, serializeMessage, SipParseError, type SipMessage } from '../message/index.js';
import { datagramResponseDestination, rejectionFor } from './malformed-message.js';
import type { TransportLimits, TransportStats } from './transport-limits.js';
import { TransportError, type Destination, type Endpoint, type SipTrace } from './types.js';
import { plainAddress } from './connection.js';

/** The largest UDP payload over IPv4 (65,535 − 8 − 20). */
const MAX_UDP_PAYLOAD = 65_507;

/** What a UDP transport reports to its owner. */
export interface UdpHooks {
  limits: TransportLimits;
  stats: TransportStats;
  onMessage(message: SipMessage, source: Endpoint, local: Endpoint): void;
  onError(error: unknown, context: string): void;
  /** The SIP trace: every datagram received (before parsing) and sent; must not throw. */
  trace?: SipTrace | undefined;
}

/**
 * A bound UDP socket carrying SIP.
 *
 * @example
 * ```ts
 * const udp = await UdpTransport.bind('127.0.0.1', 0, hooks);
 * await udp.send(request, { protocol: 'udp', address: '127.0.0.1', port: 5060 });
 * ```
 */
export class UdpTransport {
  private constructor(
    private readonly socket: Socket,
    readonly local: Endpoint,
    private readonly hooks: UdpHooks,
  ) {
    socket.on('message', (data, rinfo) => {
      try {
        this.receive(data, { protocol: 'udp', address: plainAddress(rinfo.address), port: rinfo.port });
      } catch (e) {
        hooks.onError(e, 'udp receive');
      }
    });
    socket.on('error', (err) => hooks.onError(err, 'udp socket'));
  }

  /** Binds a socket (`port` 0: an ephemeral port); the family follows the address. */
  static bind(address: string, port: number, hooks: UdpHooks): Promise<UdpTransport> {
    const socket = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4', ipv6Only: isIPv6(address) });
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(new TransportError(`Cannot bind UDP ${address}:${port}: ${err.message}`));
      };
      socket.once('error', onError);
      socket.bind(port, address, () => {
        socket.off('error', onError);
        try {
          socket.setRecvBufferSize(hooks.limits.udpReceiveBufferBytes);
        } catch (e) {
          // The OS refused the size: keep its default, say so once.
          hooks.onError(e, 'udp receive buffer');
        }
        const a = socket.address();
        resolve(new UdpTransport(socket, { protocol: 'udp', address: a.address, port: a.port }, hooks));
      });
    });
  }

  /** The address family of the socket. */
  get ipv6(): boolean {
    return isIPv6(this.local.address);
  }

  /**
   * Sends one message as one datagram. Rejects with {@link TransportError} for a request
   * over `maxUdpRequestBytes` ("message too large for UDP", §18.1.1) or any message over
   * the UDP maximum, and for socket errors.
   */
  send(message: SipMessage, destination: Destination): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = serializeMessage(message);
    } catch (e) {
      return Promise.reject(new TransportError(`Cannot serialize: ${e instanceof Error ? e.message : String(e)}`, destination));
    }
    const max = this.hooks.limits.maxUdpRequestBytes;
    if (message.isRequest && bytes.length > max) {
      return Promise.reject(new TransportError(`message too large for UDP (${bytes.length} bytes > ${max}): send it over TCP (RFC 3261 §18.1.1)`, destination));
    }
    if (bytes.length > MAX_UDP_PAYLOAD) return Promise.reject(new TransportError(`message too large for UDP (${bytes.length} bytes)`, destination));
    const trace = this.hooks.trace;
    if (trace !== undefined) trace('out', 'udp', destination, bytes);
    return this.sendBytes(bytes, destination).then(() => {
      this.hooks.stats.sent++;
    });
  }

  private sendBytes(bytes: Buffer, destination: Destination): Promise<void> {
    return new Promise((resolve, reject) => {
      try {
        this.socket.send(bytes, destination.port, destination.address, (err) => {
          if (err) reject(new TransportError(`UDP send to ${destination.address}:${destination.port} failed: ${err.message}`, destination));
          else resolve();
        });
      } catch (e) {
        reject(new TransportError(`UDP send to ${destination.address}:${destination.port} failed: ${e instanceof Error ? e.message : String(e)}`, destination));
      }
    });
  }

  private receive(data: Buffer, source: Endpoint): void {
    const hooks = this.hooks;
    // A keep-alive (RFC 5626 §4.4.2 uses STUN; CRLF datagrams are common too): ignore.
    if (data.length <= 4 && data.every((b) => b === 0x0d || b === 0x0a || b === 0x00)) return;
    const trace = hooks.trace;
    if (trace !== undefined) trace('in', 'udp', source, data);
    let message: SipMessage;
    try {
      message = parseMessage(data, { limits: { maxMessageBytes: hooks.limits.maxMessageBytes } });
    } catch (e) {
      hooks.stats.malformed++;
      const err = e instanceof SipParseError ? e : new SipParseError(String(e));
      const res = rejectionFor(err, source);
      if (res === undefined) {
        hooks.stats.dropped++;
        return;
      }
      hooks.stats.rejected++;
      let via;
      try {
        via = res.topVia;
      } catch {
        via = undefined;
      }
      this.send(res, datagramResponseDestination(via, source)).catch((err2: unknown) => hooks.onError(err2, 'udp 400'));
      return;
    }
    hooks.onMessage(message, source, this.local);
  }

  /** Closes the socket. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
  }
}
